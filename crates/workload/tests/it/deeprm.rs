//! DeepRM job sets: determinism and the load formula.

use workload::{DeepRmJobDist, DeepRmJobSet, Pattern};

#[test]
fn same_seed_same_jobset_other_seed_differs() {
    let d = DeepRmJobDist::default();
    let a = DeepRmJobSet::generate(&d, 0.4, 500, Pattern::Steady, 11, 3).unwrap();
    let b = DeepRmJobSet::generate(&d, 0.4, 500, Pattern::Steady, 11, 3).unwrap();
    let c = DeepRmJobSet::generate(&d, 0.4, 500, Pattern::Steady, 11, 4).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.arrivals, c.arrivals);
}

#[test]
fn bursty_jobsets_keep_the_mean_rate() {
    let d = DeepRmJobDist::default();
    let steady = DeepRmJobSet::generate(&d, 0.3, 100_000, Pattern::Steady, 5, 0).unwrap();
    let bursty = DeepRmJobSet::generate(&d, 0.3, 100_000, Pattern::BURSTY, 5, 0).unwrap();
    let (ns, nb) = (steady.n_jobs() as f64, bursty.n_jobs() as f64);
    // Spikes are capped at one arrival per step, so the bursty set may have a little fewer jobs.
    assert!(
        (ns / 100_000.0 - 0.3).abs() < 0.01,
        "steady rate {}",
        ns / 1e5
    );
    assert!(
        nb / ns > 0.85 && nb / ns < 1.02,
        "bursty/steady job ratio {}",
        nb / ns
    );
}

#[test]
fn invalid_parameters_are_errors() {
    let d = DeepRmJobDist {
        dominant_slots: (5, 11),
        ..DeepRmJobDist::default()
    };
    assert!(d.validate().is_err());
    assert!(
        DeepRmJobSet::generate(&DeepRmJobDist::default(), 1.5, 10, Pattern::Steady, 0, 0).is_err()
    );
}
