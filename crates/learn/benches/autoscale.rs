//! Criterion benchmark of one autoscaling agent decision (issue 12 target: under 1 ms for a
//! 20-function workflow): `AutoscaleAgent::decide` on the first observation of an episode, for
//! workflows of 5, 20 and 50 single-job steps (one function each).
//! Run: `cargo bench -p learn --bench autoscale` (results: bench/autoscale.md).
//!
//! The agent is untrained (parameters from the config's seed, the shipped architecture: 2-layer
//! 64-wide GCN with typed edges, 64-wide heads); a decision costs the same with trained weights.

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use learn::Algo;
use learn::autoscale::{AutoscaleConfig, AutoscaleEnvFactory, AutoscaleScenario, AutoscaleTrainer};
use platform::autoscale::{AutoscaleEnv, AutoscaleObs, AutoscaleSettings};
use platform::{Arrivals, Platform, SimOptions, StepConfig};

/// A workflow of `n` single-job steps: a chain where every fifth step (from the third) forks off
/// its predecessor's parent and the next step joins both branches.
fn workflow_yaml(n: usize) -> String {
    let mut text = format!("name: bench{n}\nslo_s: {}\nsteps:\n", 1.0 + 0.2 * n as f64);
    for i in 0..n {
        let after = match i {
            0 => String::new(),
            i if i % 5 == 2 => format!(", after: [s{}]", i - 2),
            i if i % 5 == 3 => format!(", after: [s{}, s{}]", i - 1, i - 2),
            i => format!(", after: [s{}]", i - 1),
        };
        let work_s = 0.05 + 0.05 * (i % 4) as f64;
        text.push_str(&format!(
            "  - {{name: s{i}{after}, jobs: 1, work_s: {work_s}}}\n"
        ));
    }
    text
}

/// The observation after the first control interval of an episode at 5 requests per second.
fn observation(n: usize) -> AutoscaleObs {
    let wf = workflow::Workflow::from_str_auto(&workflow_yaml(n), "bench.yaml").expect("workflow");
    let n_steps = wf.steps().len();
    let mut env = AutoscaleEnv::new(
        Arc::new(wf),
        Arc::new(Platform::lambda()),
        vec![StepConfig::new(1024, 1, 1); n_steps],
        SimOptions {
            arrivals: Arrivals::poisson(5.0),
            seed: 1,
            horizon_s: Some(600.0),
            ..Default::default()
        },
        AutoscaleSettings::default(),
    )
    .expect("env");
    let obs = env.reset().expect("reset");
    assert_eq!(obs.n_functions(), n, "one function per step");
    obs
}

fn decide(c: &mut Criterion) {
    let scenario = AutoscaleScenario {
        workflows: vec!["bench.yaml".into()],
        patterns: vec!["steady".into()],
        rates_per_s: vec![5.0],
        horizon_s: 600.0,
        settings: AutoscaleSettings::default(),
    };
    // Never trained, so no environment is ever built.
    let factory: AutoscaleEnvFactory = Arc::new(|_| {
        Err(learn::Error::Env {
            context: "unused".into(),
        })
    });
    let trainer = AutoscaleTrainer::new(AutoscaleConfig::new(Algo::A3c, scenario, 1), factory)
        .expect("trainer");
    let mut group = c.benchmark_group("autoscale_decide");
    for n in [5usize, 20, 50] {
        let obs = observation(n);
        let mut agent = trainer.agent(true, 1);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("greedy", n), &obs, |b, obs| {
            b.iter(|| agent.decide(obs).expect("decide"))
        });
    }
    group.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
