//! WfCommons instances of every schema version (1.0 to 1.5): the same fork-join in each layout imports
//! to the same steps; Pegasus `_ID` suffixes group; an unsupported version is named.

use workflow::import::{Format, ImportOptions, import_file, import_str};
use workflow::{StepKind, Workflow};

use crate::{after, golden, names, round_trip, shared_data, step};

fn import(path: &std::path::Path) -> (workflow::WorkflowSpec, Workflow) {
    let spec = import_file(Format::WorkflowHub, path, &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let wf = round_trip(&spec);
    (spec, wf)
}

#[test]
fn every_schema_version_imports_the_same_fork_join() {
    for (file, version) in [
        ("pegasus-ids-1.0.json", "1.0"),
        ("wfcommons-1.1.json", "1.1"),
        ("wfcommons-1.2.json", "1.2"),
        ("wfcommons-1.3.json", "1.3"),
        ("wfcommons-1.4.json", "1.4"),
        ("wfcommons-1.5.json", "1.5"),
    ] {
        let (spec, wf) = import(&golden(&format!("workflowhub/{file}")));
        assert_eq!(names(&wf), ["split", "work", "merge"], "{file}");
        let work = step(&wf, "work");
        assert_eq!(work.kind, StepKind::Task);
        assert_eq!(work.jobs, 3, "{file}");
        assert!((work.work_s - 2.0).abs() < 1e-9, "{file}: {}", work.work_s);
        assert!((work.input_mb - 1.0).abs() < 1e-9, "{file}");
        assert!((work.output_mb - 2.0).abs() < 1e-9, "{file}");
        assert!((step(&wf, "split").output_mb - 3.0).abs() < 1e-9, "{file}");
        assert!((step(&wf, "merge").work_s - 4.0).abs() < 1e-9, "{file}");
        assert_eq!(after(&wf, "merge"), ["work"], "{file}");
        let d = spec.description.unwrap();
        assert!(
            d.contains(&format!("WfCommons schema {version}")),
            "{file}: {d}"
        );
    }
}

#[test]
fn wfcommons_1_5_tasks_import() {
    let path = shared_data("workflowhub/wfcommons-1.5/helloworld-forkjoin-10-chameleon.json");
    if !path.exists() {
        eprintln!("skipped: {} is absent", path.display());
        return;
    }
    let (_, wf) = import(&path);
    // Task 1 forks to tasks 2..9, which task 10 joins: three groups of the one type `cpuhog_forkjoin`.
    assert_eq!(
        names(&wf),
        ["cpuhog_forkjoin", "cpuhog_forkjoin~2", "cpuhog_forkjoin~3"]
    );
    let jobs: Vec<u32> = wf.steps().iter().map(|s| s.jobs).collect();
    assert_eq!(jobs, [1, 8, 1]);
    // Runtimes come from workflow.execution.tasks (task 1 ran 100.187 s).
    assert!(
        (wf.steps()[0].work_s - 100.187).abs() < 1e-9,
        "{}",
        wf.steps()[0].work_s
    );
    // Sizes come from workflow.specification.files (task 1 reads 9,090,910 bytes).
    assert!((wf.steps()[0].input_mb - 9.09091).abs() < 1e-9);
    assert!(wf.steps().iter().all(|s| s.function == "cpuhog_forkjoin"));
}

#[test]
fn pegasus_id_suffix_jobs_group_into_fan_out() {
    let (spec, wf) = import(&golden("workflowhub/pegasus-ids-1.0.json"));
    assert_eq!(wf.n_steps(), 3, "{:?}", names(&wf));
    assert_eq!(step(&wf, "work").jobs, 3);
    assert!(
        spec.description
            .unwrap()
            .contains("grouped 5 jobs into 3 fan-out steps")
    );
    // Without grouping, one step per job whose function is the type.
    let opts = ImportOptions {
        group_jobs: false,
        ..Default::default()
    };
    let spec = import_file(
        Format::WorkflowHub,
        &golden("workflowhub/pegasus-ids-1.0.json"),
        &opts,
    )
    .unwrap();
    let wf = round_trip(&spec);
    assert_eq!(wf.n_steps(), 5);
    assert_eq!(step(&wf, "work_ID0000003").function, "work");
}

#[test]
fn unsupported_schema_version_is_named() {
    for v in ["\"2.0\"", "\"0.9\"", "1.5"] {
        let text = format!(r#"{{"name": "x", "schemaVersion": {v}, "workflow": {{"jobs": []}}}}"#);
        let err = import_str(
            Format::WorkflowHub,
            &text,
            "x.json",
            &ImportOptions::default(),
        )
        .unwrap_err();
        let msg = err.to_string();
        let shown = v.trim_matches('"');
        assert!(
            msg.contains(&format!("unsupported WfCommons schemaVersion '{shown}'")),
            "{msg}"
        );
    }
}

#[test]
fn schema_1_5_problems_name_their_task() {
    let text = r#"{"name": "x", "schemaVersion": "1.5", "workflow": {
        "specification": {"tasks": [
            {"name": "a_1", "id": "a_1", "parents": [], "children": [], "inputFiles": ["nope"], "outputFiles": []},
            {"name": "b_2", "id": "b_2", "parents": ["a_1", "ghost"], "children": [], "inputFiles": [], "outputFiles": []}],
          "files": []},
        "execution": {"tasks": [{"id": "a_1", "runtimeInSeconds": 1}]}}}"#;
    let err = import_str(
        Format::WorkflowHub,
        text,
        "x.json",
        &ImportOptions::default(),
    )
    .unwrap_err();
    let msg = err.to_string();
    for needle in [
        "job 'a_1' (workflow.specification.tasks[0]): inputFiles[0]: file 'nope' is not in workflow.specification.files",
        "job 'b_2' (workflow.specification.tasks[1]): missing field 'runtimeInSeconds",
        "job 'b_2' (workflow.specification.tasks[1]): parents[1]: unknown step 'ghost'",
    ] {
        assert!(msg.contains(needle), "{needle:?} not in {msg}");
    }
    assert_eq!(err.problems().len(), 3, "{msg}");
}
