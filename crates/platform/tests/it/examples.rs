//! The shipped examples load, their static configs are feasible, and they run with plausible results.

use platform::{Arrivals, Platform, SimOptions, Simulation, StaticConfig, StaticPolicy};
use workflow::Workflow;

#[test]
fn examples_simulate_with_their_configs() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for (name, n_steps) in [("video", 5), ("synthetic16", 16)] {
        let wf = Workflow::load(&dir.join(format!("{name}.yaml"))).unwrap();
        assert_eq!(wf.n_steps(), n_steps);
        let platform = Platform::lambda();
        let cfg = StaticConfig::load(&dir.join(format!("{name}.config.yaml")))
            .unwrap()
            .resolve(&wf, &platform, name)
            .unwrap();
        let opts = SimOptions {
            n_requests: 50,
            arrivals: Arrivals::Poisson { rate_per_s: 0.5 },
            seed: 3,
            ..SimOptions::default()
        };
        let r = Simulation::new(&wf, &platform, opts)
            .unwrap()
            .run(&mut StaticPolicy::new("static", cfg))
            .unwrap();
        assert_eq!(r.requests, 50);
        assert!(
            r.latency_s.p50 > 1.0 && r.latency_s.p50 < 120.0,
            "{name}: {:?}",
            r.latency_s
        );
        assert!(r.latency_s.p99 >= r.latency_s.p50);
        assert!(r.cost_usd.mean > 0.0 && r.cost_usd.mean < 1.0);
        assert!(
            r.cold_start_rate > 0.0 && r.cold_start_rate < 1.0,
            "{name}: {}",
            r.cold_start_rate
        );
        assert_eq!(r.slo_attainment.is_some(), wf.slo_s.is_some());
    }
}

#[test]
fn config_file_problems_are_all_listed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let wf = Workflow::load(&dir.join("video.yaml")).unwrap();
    let text = r#"{"steps": {"extract": {"memory_mb": 256, "fan_out": 8, "workers": 2},
                   "nope": {"memory_mb": 1024},
                   "encode": {"memory_mb": 99999}}}"#;
    let e = StaticConfig::from_str_auto(text, "bad.json")
        .unwrap()
        .resolve(&wf, &Platform::lambda(), "bad.json")
        .unwrap_err()
        .to_string();
    for needle in [
        "unknown step 'nope'",
        "step 'extract': infeasible configuration 256MB/p8/q2: out of memory",
        "step 'super_resolution': no configuration",
        "step 'encode': infeasible configuration 99999MB/p1/q1: memory 99999 MB is not offered",
    ] {
        assert!(e.contains(needle), "missing {needle:?} in {e}");
    }
    let e = StaticConfig::from_str_auto("steps: {extract: {memory_mb: lots}}", "bad.yaml")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("bad.yaml:1"), "{e}");
}

#[test]
fn the_shipped_profile_file_is_the_built_in_default() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let p = Platform::load(&dir.join("platform-lambda.yaml")).unwrap();
    assert_eq!(p, Platform::lambda());
    let e = platform::Platform::from_spec(
        serde_yaml_ng::from_str("storage: {latency_sigma: -1}\nstraggler: {probability: 2}")
            .unwrap(),
        "bad.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("storage.latency_sigma = -1") && e.contains("straggler.probability = 2"),
        "{e}"
    );
}
