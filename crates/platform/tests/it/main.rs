//! Integration tests of the platform model: hand-computed scenarios, warm reuse, mapping delay,
//! infeasible configurations, determinism and accounting properties.

mod accounting;
mod arrivals;
mod autoscale;
mod batch;
mod choice;
mod common_random_numbers;
mod determinism;
mod examples;
mod hand_computed;
mod huge_numbers;
mod load;
mod metrics_io;
mod profile_files;
mod sim_fuzz;

use platform::{
    Arrivals, Platform, PlatformSpec, SimOptions, SimReport, Simulation, StaticPolicy, StepConfig,
};
use workflow::{StepSpec, Workflow, WorkflowSpec};

/// A task step spec with the given work and no I/O.
pub fn task(
    name: &str,
    after: &[&str],
    jobs: u32,
    work_s: f64,
    parallel_fraction: f64,
) -> StepSpec {
    StepSpec {
        name: name.into(),
        after: after.iter().map(|s| s.to_string()).collect(),
        jobs: Some(jobs),
        work_s: Some(work_s),
        parallel_fraction: Some(parallel_fraction),
        memory_mb_per_worker: Some(256),
        ..Default::default()
    }
}

/// Validates a workflow from steps.
pub fn workflow(steps: Vec<StepSpec>) -> Workflow {
    Workflow::from_spec(
        &WorkflowSpec {
            name: "t".into(),
            steps,
            ..Default::default()
        },
        "test",
    )
    .expect("valid test workflow")
}

/// Runs `n` requests at fixed arrivals every `gap_s` under static configs.
pub fn run_fixed(
    wf: &Workflow,
    platform: &Platform,
    configs: Vec<StepConfig>,
    n: u64,
    gap_s: f64,
    seed: u64,
) -> SimReport {
    let opts = SimOptions {
        n_requests: n,
        arrivals: Arrivals::Fixed {
            rate_per_s: 1.0 / gap_s,
        },
        seed,
        keep_records: true,
        ..SimOptions::default()
    };
    Simulation::new(wf, platform, opts)
        .unwrap()
        .run(&mut StaticPolicy::new("static", configs))
        .unwrap()
}

/// The deterministic profile with edits.
pub fn deterministic(edit: impl FnOnce(&mut PlatformSpec)) -> Platform {
    let mut spec = PlatformSpec::deterministic();
    edit(&mut spec);
    Platform::from_spec(spec, "test").unwrap()
}
