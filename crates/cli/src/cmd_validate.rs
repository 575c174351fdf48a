//! `faastune validate FILE`: reads a native workflow file, reports every problem with its place, or
//! prints a one-paragraph summary (steps, edges, critical path by work).

use std::path::PathBuf;

use anyhow::Context;
use workflow::{StepKind, Workflow};

/// Check a workflow file and report every problem with its place, or summarize it.
#[derive(clap::Args)]
pub struct ValidateArgs {
    /// Workflow file in the native format (YAML, or JSON when it starts with `{`).
    pub file: PathBuf,
}

/// Validates the file; on failure the error lists every problem (and the binary exits non-zero).
pub fn run(args: ValidateArgs) -> anyhow::Result<()> {
    let wf = Workflow::load(&args.file)
        .with_context(|| format!("validating {}", args.file.display()))?;
    outln!("{}", summary(&wf, &args.file.display().to_string()))?;
    Ok(())
}

/// One paragraph: counts of steps by kind, edges, sources and sinks, total work, and the critical path
/// when every step takes its `work_s` (one job on one vCPU, plus any fixed `wait_s`).
fn summary(wf: &Workflow, file: &str) -> String {
    let count = |k: StepKind| wf.steps().iter().filter(|s| s.kind == k).count();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut kinds = vec![plural(count(StepKind::Task), "task", "tasks")];
    for (k, one, many) in [
        (StepKind::Choice, "choice", "choices"),
        (StepKind::Pass, "pass", "passes"),
        (StepKind::Fail, "fail", "fails"),
    ] {
        let n = count(k);
        if n > 0 {
            kinds.push(plural(n, one, many));
        }
    }
    let n_edges: usize = wf.step_ids().map(|id| wf.preds(id).len()).sum();
    let n_jobs: u64 = wf.steps().iter().map(|s| u64::from(s.jobs)).sum();
    let work_s_total: f64 = wf
        .steps()
        .iter()
        .map(|s| f64::from(s.jobs) * s.work_s)
        .sum();
    let durations_s: Vec<f64> = wf.steps().iter().map(|s| s.work_s + s.wait_s).collect();
    let (critical_s, path) = wf.critical_path(&durations_s);
    let path_names: Vec<&str> = path.iter().map(|id| wf.step(*id).name.as_str()).collect();
    let mut text = format!(
        "{file}: workflow '{}' is valid: {} steps ({}), {} edges, {} source(s), {} sink(s); {} jobs with {:.3} s of \
         single-core work in total; critical path by work_s (one job per step, plus wait_s): {:.3} s through {} step(s): {}.",
        wf.name,
        wf.n_steps(),
        kinds.join(", "),
        n_edges,
        wf.sources().count(),
        wf.sinks().count(),
        n_jobs,
        work_s_total,
        critical_s,
        path.len(),
        path_names.join(" -> "),
    );
    if let Some(slo_s) = wf.slo_s {
        text.push_str(&format!(" SLO: {slo_s} s."));
    }
    text
}
