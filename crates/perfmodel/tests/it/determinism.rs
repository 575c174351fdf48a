//! Determinism: the same seed gives the same samples and the same model, bit for bit; a saved model
//! loads back identical.

use perfmodel::profile::{Grid, ProfileOptions, fit_workflow, probe_mapping_delay, profile_step};
use perfmodel::{FitOptions, PerfModel};

#[test]
fn profiling_is_deterministic_and_seeded() {
    let wf = crate::example("video");
    let platform = platform::Platform::lambda();
    let step = wf.step(wf.find("encode").unwrap());
    let grid = Grid::training();
    let a = profile_step(&platform, step, &grid, 5, 7);
    let b = profile_step(&platform, step, &grid, 5, 7);
    let c = profile_step(&platform, step, &grid, 5, 8);
    assert!(!a.is_empty());
    assert_eq!(a, b);
    let bits =
        |s: &[perfmodel::Sample]| s.iter().map(|x| x.duration_s.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a), bits(&b));
    assert_ne!(
        bits(&a),
        bits(&c),
        "another seed draws other storage latencies"
    );
    assert_eq!(
        probe_mapping_delay(&platform, 5, 7),
        probe_mapping_delay(&platform, 5, 7)
    );
}

#[test]
fn same_seed_same_model_bytes_and_json_round_trip() {
    let wf = crate::example("video");
    let platform = platform::Platform::lambda();
    let opts = ProfileOptions {
        seed: 3,
        reps_train: 5,
        ..ProfileOptions::default()
    };
    let m1 = fit_workflow(&platform, &wf, &opts, FitOptions::default()).unwrap();
    let m2 = fit_workflow(&platform, &wf, &opts, FitOptions::default()).unwrap();
    let json = m1.to_json();
    assert_eq!(json, m2.to_json());
    let back = PerfModel::from_json(&json, "m.json").unwrap();
    assert_eq!(back, m1);
    assert_eq!(back.to_json(), json);
    let e = PerfModel::from_json("{\"workflow\": 1}", "m.json")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("m.json: invalid model"), "{e}");
}
