//! Helpers shared by the fuzz targets: per-process scratch files for readers that take a path, and one
//! short simulation of whatever a reader accepted (so a value that parses but breaks the model, such as
//! `work_s: 1e300`, is found too).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use platform::{Arrivals, Platform, SimOptions, Simulation, StaticPolicy, StepConfig};
use workflow::{StepSpec, Workflow, WorkflowSpec};

/// This process's scratch directory (`$TMPDIR/faastune-fuzz-<pid>`), created once. libFuzzer's
/// `-fork`/`-jobs` modes run several processes, so the directory is per process.
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("faastune-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the fuzz scratch directory");
        dir
    })
}

/// Writes `data` to `name` inside the scratch directory (sub-directories created) and returns the path.
pub fn write_scratch(name: &str, data: &[u8]) -> PathBuf {
    let path = scratch_dir().join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create a scratch sub-directory");
    }
    std::fs::write(&path, data).expect("write a scratch file");
    path
}

/// Splits `data` into `n` parts at the separator line `\n%%\n` (missing parts are empty), so one fuzz
/// input can hold several files.
pub fn split_files(data: &[u8], n: usize) -> Vec<&[u8]> {
    const SEP: &[u8] = b"\n%%\n";
    let mut parts = Vec::with_capacity(n);
    let mut rest = data;
    while parts.len() + 1 < n {
        match rest.windows(SEP.len()).position(|w| w == SEP) {
            Some(i) => {
                parts.push(&rest[..i]);
                rest = &rest[i + SEP.len()..];
            }
            None => break,
        }
    }
    parts.push(rest);
    parts.resize(n, &[][..]);
    parts
}

/// The smallest memory size `platform` offers that holds one worker of `step` (the largest offered
/// size if none does; the simulation then reports the step infeasible, which is an error, not a crash).
fn memory_for(platform: &Platform, need_mb: u32) -> u32 {
    let s = platform.spec();
    let need = need_mb.max(s.memory_mb_min);
    let steps = (need - s.memory_mb_min).div_ceil(s.memory_mb_step);
    let mem = u64::from(s.memory_mb_min) + u64::from(steps) * u64::from(s.memory_mb_step);
    if mem <= u64::from(s.memory_mb_max) {
        mem as u32
    } else {
        let top = (s.memory_mb_max - s.memory_mb_min) / s.memory_mb_step * s.memory_mb_step;
        s.memory_mb_min + top
    }
}

/// Runs two requests of `wf` on `platform`, every step at one instance, one worker and the smallest
/// memory that fits. Errors are fine (an infeasible step is a user error); panics are bugs. Numbers in
/// the report must be finite or the simulation should have refused the input.
pub fn simulate_briefly(wf: &Workflow, platform: &Platform) {
    // Bound the work of one fuzz execution: very large workflows are parsed but not simulated.
    if wf.n_steps() > 2_000 {
        return;
    }
    let configs = wf
        .steps()
        .iter()
        .map(|s| StepConfig::new(memory_for(platform, s.memory_mb_per_worker), 1, 1))
        .collect();
    let opts = SimOptions {
        n_requests: 2,
        arrivals: Arrivals::Fixed { rate_per_s: 1.0 },
        seed: 7,
        keep_records: true,
        ..SimOptions::default()
    };
    let Ok(sim) = Simulation::new(wf, platform, opts) else {
        return;
    };
    if let Ok(report) = sim.run(&mut StaticPolicy::new("fuzz", configs)) {
        // Serialising walks every number of the report (a NaN would show up as `null`).
        let _ = report.to_json();
    }
}

/// A two-step workflow (a task, then a fan-out task) for exercising a fuzzed platform profile.
pub fn small_workflow() -> Workflow {
    let step = |name: &str, after: &[&str], jobs: u32| StepSpec {
        name: name.into(),
        after: after.iter().map(|s| s.to_string()).collect(),
        jobs: Some(jobs),
        work_s: Some(0.5),
        parallel_fraction: Some(0.5),
        memory_mb_per_worker: Some(128),
        input_mb: Some(1.0),
        output_mb: Some(1.0),
        ..Default::default()
    };
    let spec = WorkflowSpec {
        name: "fuzz".into(),
        steps: vec![step("a", &[], 1), step("b", &["a"], 4)],
        ..Default::default()
    };
    Workflow::from_spec(&spec, "fuzz").expect("the built-in fuzz workflow is valid")
}

/// Fits every function of `samples`, as `faastune fit --samples` does, on the Lambda-like platform's
/// facts, with the leave-one-out error for functions of 2 to 8 samples. Bounded, since one fit takes
/// milliseconds: at most 3 functions of at most 32 samples each per input.
pub fn fit_samples(samples: &[perfmodel::Sample]) {
    let facts = perfmodel::PlatformFacts::of(&Platform::lambda());
    let opts = perfmodel::FitOptions::default();
    for (name, s) in perfmodel::fit::by_function(samples).into_iter().take(3) {
        if s.len() > 32 {
            continue;
        }
        if (2..=8).contains(&s.len()) {
            let _ = perfmodel::fit::cross_validate(&name, &s, &facts, opts, s.len());
        }
        if let Ok(fit) = perfmodel::fit::fit_function(&name, &s, &facts, opts) {
            let _ = fit.model.duration_s(&facts, StepConfig::new(1024, 1, 1));
        }
    }
}
