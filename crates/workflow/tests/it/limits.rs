//! Huge but finite numbers are validation problems with their place, never an `inf` or a panic.

use workflow::import::{Format, ImportOptions, import_str};
use workflow::limits::{MAX_JOBS, MAX_WORK_S};
use workflow::{ProblemKind, Workflow};

fn problems(yaml: &str) -> Vec<String> {
    let err = Workflow::from_str_auto(yaml, "w.yaml").unwrap_err();
    err.problems().iter().map(|p| p.to_string()).collect()
}

#[test]
fn huge_numbers_are_problems_with_their_place() {
    let yaml = "name: w\nslo_s: 1e300\nsteps:\n\
        - {name: a, jobs: 4294967295, work_s: 1e300, input_mb: 1e308, output_mb: 1e20, wait_s: 1e300, \
           cold_start_s: 1e9, memory_mb_per_worker: 4294967295, max_fan_out: 4294967295}\n";
    let got = problems(yaml);
    for needle in [
        "workflow 'w': slo_s = 1e300",
        "step 'a' (steps[0]): jobs = 4294967295",
        "step 'a' (steps[0]): work_s = 1e300",
        "input_mb = 1e308",
        "output_mb = 1e20",
        "wait_s = 1e300",
        "cold_start_s = 1000000000",
        "memory_mb_per_worker = 4294967295",
        "max_fan_out = 4294967295",
    ] {
        assert!(
            got.iter().any(|p| p.contains(needle)),
            "{needle:?} not in {got:#?}"
        );
    }
    assert_eq!(got.len(), 9, "{got:#?}");
}

#[test]
fn numbers_at_their_bounds_are_accepted() {
    let yaml = format!(
        "name: w\nsteps:\n- {{name: a, jobs: {MAX_JOBS}, work_s: {MAX_WORK_S}, max_fan_out: {MAX_JOBS}}}\n"
    );
    let wf = Workflow::from_str_auto(&yaml, "w.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wf.steps()[0].jobs, MAX_JOBS);
    let over = format!(
        "name: w\nsteps:\n- {{name: a, jobs: {}, work_s: 1}}\n",
        MAX_JOBS + 1
    );
    assert_eq!(problems(&over).len(), 1);
}

#[test]
fn huge_trace_runtime_is_a_problem_of_its_job() {
    let trace = r#"{"name": "t", "schemaVersion": "1.0", "workflow": {"jobs": [
        {"name": "a_00000001", "runtime": 1e308, "parents": [], "files": []}]}}"#;
    let err = import_str(
        Format::WorkflowHub,
        trace,
        "t.json",
        &ImportOptions::default(),
    )
    .unwrap_err();
    let p = &err.problems()[0];
    assert!(p.place.contains("job 'a_00000001'"), "{err}");
    assert!(
        matches!(&p.kind, ProblemKind::BadNumber { field, .. } if field == "runtime"),
        "{err}"
    );
}
