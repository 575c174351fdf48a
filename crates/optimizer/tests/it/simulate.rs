//! Policies in the simulator (OraclePredictor, default noisy Lambda-like platform) on the example
//! workflows at their own SLOs, seed 1. Measured with `cargo run --release -p optimizer --example
//! measure -- 200 1` (numbers in `bench/optimizer.md`); the assertions keep margins below what was
//! measured and check only relations that held with room to spare. `RUN_SLOW_TESTS=1` adds seeds 2
//! and 3.

use std::collections::BTreeMap;

use optimizer::{OraclePredictor, POLICY_NAMES, policy_by_name};
use platform::{Platform, SimOptions, SimReport, Simulation};

use crate::example;

fn run_all(file: &str, n_requests: u64, names: &[&str]) -> BTreeMap<String, SimReport> {
    run_seed(file, n_requests, 1, names)
}

fn run_seed(file: &str, n_requests: u64, seed: u64, names: &[&str]) -> BTreeMap<String, SimReport> {
    let wf = example(file);
    let platform = Platform::lambda();
    let oracle = OraclePredictor::new(&wf, &platform);
    let slo = wf.slo_s.expect("examples have an SLO");
    let sim = Simulation::new(
        &wf,
        &platform,
        SimOptions {
            n_requests,
            seed,
            ..SimOptions::default()
        },
    )
    .unwrap();
    names
        .iter()
        .map(|&name| {
            let mut p = policy_by_name(name, &wf, &platform, &oracle, slo).unwrap();
            (name.to_owned(), sim.run(&mut p).unwrap())
        })
        .collect()
}

fn att(r: &BTreeMap<String, SimReport>, name: &str) -> f64 {
    r[name].slo_attainment.expect("an SLO is set")
}

fn cost(r: &BTreeMap<String, SimReport>, name: &str) -> f64 {
    r[name].cost_usd.mean
}

#[test]
fn video_dynamic_beats_static_and_replan_beats_stepconf() {
    let r = run_all("video.yaml", 200, &POLICY_NAMES);
    for (name, rep) in &r {
        eprintln!(
            "video {name:<11} attainment {:.3} cost {:.6}",
            rep.slo_attainment.unwrap(),
            rep.cost_usd.mean
        );
    }
    // Measured (seed 1, 200 requests): stepconf 0.795, static 0.685, replan 0.985, optimal 0.0, no-no 0.0.
    assert!(att(&r, "stepconf") >= att(&r, "static") + 0.05);
    assert!(att(&r, "replan") >= 0.95);
    assert!(att(&r, "replan") >= att(&r, "stepconf") + 0.1);
    assert!(
        att(&r, "optimal") < 0.2,
        "a plan tight to the SLO in predicted means misses under noise"
    );
    // Measured cost ratio replan / optimal: 1.149 (replan plans well inside the SLO; optimal misses it).
    assert!(cost(&r, "replan") <= 1.2 * cost(&r, "optimal"));
    // No-no cannot reach 30 s without parallelism and costs more than twice StepConf.
    assert_eq!(att(&r, "no-no"), 0.0);
    assert!(cost(&r, "no-no") > 2.0 * cost(&r, "stepconf"));
}

#[test]
fn synthetic16_dynamic_beats_static() {
    let r = run_all(
        "synthetic16.yaml",
        200,
        &["stepconf", "static", "optimal", "no-no", "replan"],
    );
    for (name, rep) in &r {
        eprintln!(
            "synthetic16 {name:<11} attainment {:.3} cost {:.6}",
            rep.slo_attainment.unwrap(),
            rep.cost_usd.mean
        );
    }
    // Measured (seed 1, 200 requests): stepconf 0.965, static 0.915, replan 0.99, optimal 0.0.
    assert!(att(&r, "stepconf") >= att(&r, "static") + 0.02);
    assert!(att(&r, "stepconf") >= 0.93);
    assert!(att(&r, "replan") >= 0.97);
    assert!(att(&r, "optimal") < 0.2);
    // Measured cost ratio replan / optimal: 1.027.
    assert!(cost(&r, "replan") <= 1.05 * cost(&r, "optimal"));
    assert!(cost(&r, "no-no") > 2.0 * cost(&r, "stepconf"));
}

#[test]
fn more_seeds_keep_the_relations() {
    if std::env::var("RUN_SLOW_TESTS").map_or(true, |v| v != "1") {
        return;
    }
    // Measured (seeds 2 and 3): video stepconf 0.865/0.835, static 0.715/0.680, replan 0.985/0.970
    // at 1.17x/1.16x optimal's cost; synthetic16 stepconf 0.970/0.980, static 0.920/0.895, replan
    // 0.990/0.980 at 1.02x/1.03x.
    for seed in [2, 3] {
        for file in ["video.yaml", "synthetic16.yaml"] {
            let r = run_seed(
                file,
                200,
                seed,
                &["stepconf", "static", "optimal", "replan"],
            );
            assert!(
                att(&r, "stepconf") > att(&r, "static"),
                "{file} seed {seed}"
            );
            assert!(att(&r, "replan") >= 0.95, "{file} seed {seed}");
            assert!(
                cost(&r, "replan") <= 1.25 * cost(&r, "optimal"),
                "{file} seed {seed}"
            );
        }
    }
}

#[test]
fn replan_is_deterministic() {
    let a = run_all("video.yaml", 40, &["replan", "stepconf"]);
    let b = run_all("video.yaml", 40, &["replan", "stepconf"]);
    assert_eq!(a, b);
}
