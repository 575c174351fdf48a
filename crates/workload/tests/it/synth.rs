//! Synthetic serverless workloads.

use workload::{Pattern, SyntheticSpec, SyntheticWorkload};

#[test]
fn patterns_generate_sorted_seeded_streams_at_the_mean_rate() {
    for pattern in [
        Pattern::Steady,
        Pattern::BURSTY,
        Pattern::PERIODIC_SECONDS,
        Pattern::Mixed,
    ] {
        let spec = SyntheticSpec {
            pattern,
            n_functions: 6,
            rate_per_s: 10.0,
            horizon_s: 7_200.0,
        };
        let w = SyntheticWorkload::generate(&spec, 3).unwrap();
        let n = w.invocations.len() as f64;
        // Every pattern keeps the mean rate; Mixed weights its two short functions 2 and the other four
        // 0.5, (2 * 2 + 4 * 0.5) / 6 = 1.
        let expected = 72_000.0;
        assert!(
            (n / expected - 1.0).abs() < 0.05,
            "{}: {n} invocations, expected {expected} +- 5%",
            pattern.name()
        );
        assert!(
            w.invocations
                .windows(2)
                .all(|p| p[0].arrival <= p[1].arrival)
        );
        assert_eq!(w, SyntheticWorkload::generate(&spec, 3).unwrap());
    }
    let bad = SyntheticSpec {
        rate_per_s: f64::NAN,
        ..SyntheticSpec::default()
    };
    assert!(SyntheticWorkload::generate(&bad, 0).is_err());
}
