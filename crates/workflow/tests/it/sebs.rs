//! SeBS-Flow import: all five published definitions and malformed definitions.

use workflow::StepKind;
use workflow::import::{Format, ImportOptions, import_file, import_str};

use crate::{after, files_in, names, round_trip, shared_data, step};

fn import(file: &str) -> (workflow::WorkflowSpec, workflow::Workflow) {
    let opts = ImportOptions {
        items: 8,
        ..Default::default()
    };
    let spec = import_file(
        Format::Sebs,
        &shared_data(&format!("sebs-workflows/{file}")),
        &opts,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let wf = round_trip(&spec);
    (spec, wf)
}

#[test]
fn every_definition_imports() {
    let files = files_in(&shared_data("sebs-workflows"), "", ".json");
    assert_eq!(files.len(), 5);
    let expected_steps = [7, 3, 6, 6, 3];
    for (f, n) in files.iter().zip(expected_steps) {
        let spec = import_file(Format::Sebs, f, &ImportOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let wf = round_trip(&spec);
        assert_eq!(wf.n_steps(), n, "{}: {:?}", f.display(), crate::names(&wf));
        assert!(spec.description.unwrap().contains("SeBS-Flow"));
    }
}

#[test]
fn video_map_is_a_fan_out_step() {
    let (spec, wf) = import("650.vid_definition.json");
    assert_eq!(spec.name, "650.vid");
    assert_eq!(names(&wf), ["decode", "analyse", "summarize"]);
    assert_eq!(step(&wf, "analyse").jobs, 8);
    assert_eq!(step(&wf, "decode").jobs, 1);
    assert_eq!(after(&wf, "summarize"), ["analyse"]);
}

#[test]
fn genome_parallel_branches_join() {
    let (_, wf) = import("6100.1000-genome_definition.json");
    assert_eq!(
        names(&wf),
        [
            "individuals",
            "merge_and_sifting",
            "individuals_merge",
            "sifting",
            "frequency_and_overlap",
            "frequency",
            "mutation_overlap"
        ]
    );
    assert_eq!(step(&wf, "merge_and_sifting").kind, StepKind::Pass);
    assert_eq!(
        after(&wf, "frequency_and_overlap"),
        ["individuals_merge", "sifting"]
    );
    assert_eq!(step(&wf, "frequency").jobs, 8);
    assert_eq!(step(&wf, "mutation_overlap").jobs, 8);
    assert_eq!(wf.sinks().count(), 2);
}

#[test]
fn nested_maps_and_sequential_loop() {
    let (spec, wf) = import("680.excamera_definition.json");
    // The map state and its task share the name `encode`: the nested one is prefixed.
    assert_eq!(
        names(&wf),
        [
            "split",
            "encode",
            "encode/encode",
            "reencode-state",
            "reencode",
            "rebase"
        ]
    );
    assert_eq!(step(&wf, "encode/encode").jobs, 8);
    assert_eq!(step(&wf, "encode/encode").function, "encode");
    assert_eq!(after(&wf, "reencode-state"), ["encode/encode"]);
    // The loop runs its 8 iterations one after another in one job.
    let rebase = step(&wf, "rebase");
    assert_eq!((rebase.jobs, rebase.work_s), (1, 8.0));
    assert!(spec.description.unwrap().contains("loop 'rebase'"));

    let (_, wf) = import("660.map-reduce_definition.json");
    assert_eq!(
        names(&wf),
        [
            "split",
            "map-state",
            "map",
            "shuffle",
            "reduce-state",
            "reduce"
        ]
    );
    assert_eq!(step(&wf, "reduce").jobs, 8);
}

#[test]
fn malformed_definitions_report_every_state() {
    let text = r#"{
        "root": "a",
        "states": {
            "a": { "type": "task", "next": "b" },
            "b": { "type": "teleport", "next": "c" },
            "c": { "type": "parallel", "parallel_functions": {}, "next": "d" },
            "d": { "type": "repeat", "func_name": "r", "count": 0 }
        }
    }"#;
    let err = import_str(Format::Sebs, text, "bad.json", &ImportOptions::default()).unwrap_err();
    let msg = err.to_string();
    for needle in [
        "state 'a': missing field 'func_name'",
        "state 'b': unsupported state type 'teleport'",
        "state 'c': parallel_functions is empty",
        "state 'd': count = 0",
    ] {
        assert!(msg.contains(needle), "missing {needle:?} in:\n{msg}");
    }
    assert_eq!(err.problems().len(), 4, "{msg}");

    let err = import_str(
        Format::Sebs,
        r#"{"root": "x", "states": {"a": {"type": "task", "func_name": "f"}}}"#,
        "r.json",
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("state machine: root: unknown step 'x'"),
        "{err}"
    );
}

#[test]
fn parallel_functions_as_a_list_of_sub_workflows() {
    let spec = import_file(
        Format::Sebs,
        &crate::golden("sebs/parallel_list.json"),
        &ImportOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let wf = round_trip(&spec);
    assert_eq!(
        names(&wf),
        ["start", "middle", "compute", "post", "sort", "end"]
    );
    assert_eq!(step(&wf, "middle").kind, StepKind::Pass);
    assert_eq!(after(&wf, "compute"), ["middle"]);
    assert_eq!(after(&wf, "post"), ["compute"]);
    assert_eq!(after(&wf, "sort"), ["middle"]);
    // The join waits for the last state of each sub-workflow.
    assert_eq!(after(&wf, "end"), ["post", "sort"]);
    assert_eq!(step(&wf, "post").function, "post");
}

#[test]
fn parallel_sub_workflow_problems_name_their_branch() {
    let text = r#"{"root": "p", "states": {"p": {"type": "parallel", "parallel_functions": [
        {"root": "a", "states": {"a": {"type": "task"}}}, {"states": {"b": {"type": "task", "func_name": "b"}}}]}}}"#;
    let err = import_str(Format::Sebs, text, "d.json", &ImportOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("state 'a' (in 'p' parallel_functions[0]): missing field 'func_name'"),
        "{msg}"
    );
    assert!(
        msg.contains("state machine in 'p' parallel_functions[1]: missing field 'root'"),
        "{msg}"
    );
}
