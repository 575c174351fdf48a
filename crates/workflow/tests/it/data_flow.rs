//! Importers fill `data_from` where the source says: WorkflowHub/WfCommons file sharing, ASL
//! `"ResultPath": null`; real files keep the default except where their files say otherwise.

use workflow::import::{Format, ImportOptions, import_file, import_str};
use workflow::{Workflow, WorkflowSpec};

use crate::{after, files_in, round_trip, shared_data, step};

fn import(format: Format, text: &str, group_jobs: bool) -> (WorkflowSpec, Workflow) {
    let opts = ImportOptions {
        group_jobs,
        ..Default::default()
    };
    let spec = import_str(format, text, "tiny.json", &opts).unwrap_or_else(|e| panic!("{e}"));
    let wf = round_trip(&spec);
    (spec, wf)
}

/// Names of the steps `name` reads.
fn reads<'a>(wf: &'a Workflow, name: &str) -> Vec<&'a str> {
    step(wf, name)
        .data_from
        .iter()
        .map(|d| wf.step(*d).name.as_str())
        .collect()
}

/// `a` writes x; `b` reads x (data); `c` reads x but runs after `b` too (control-only from `b`);
/// `d` runs after `c` and lists no files (default).
const TRACE_1_0: &str = r#"{
  "name": "tiny", "schemaVersion": "1.0",
  "workflow": {"jobs": [
    {"name": "a", "runtime": 1, "parents": [],
     "files": [{"link": "output", "name": "x", "size": 1000000}]},
    {"name": "b", "runtime": 1, "parents": ["a"],
     "files": [{"link": "input", "name": "x", "size": 1000000},
               {"link": "output", "name": "y", "size": 10}]},
    {"name": "c", "runtime": 1, "parents": ["a", "b"],
     "files": [{"link": "input", "name": "x", "size": 1000000},
               {"link": "output", "name": "z", "size": 10}]},
    {"name": "d", "runtime": 1, "parents": ["c"]}
  ]}
}"#;

#[test]
fn workflowhub_edges_without_a_shared_file_are_control_only() {
    let (spec, wf) = import(Format::WorkflowHub, TRACE_1_0, false);
    assert_eq!(reads(&wf, "b"), ["a"]);
    assert_eq!(reads(&wf, "c"), ["a"]);
    assert_eq!(
        wf.preds(wf.find("c").unwrap()).len(),
        2,
        "the control order stays"
    );
    // No files listed: the default (every parent).
    assert_eq!(reads(&wf, "d"), ["c"]);
    let by_name = |n: &str| spec.steps.iter().find(|s| s.name == n).unwrap();
    assert_eq!(by_name("b").data_from, None);
    assert_eq!(by_name("c").data_from, Some(vec!["a".to_owned()]));
    assert_eq!(by_name("d").data_from, None);
    let description = spec.description.unwrap();
    assert!(
        description.contains("'b' -> 'c'"),
        "the note names the edge: {description}"
    );
}

#[test]
fn workflowhub_control_only_edges_keep_further_producers() {
    // c's one parent b writes nothing c reads; c reads x, which its grandparent a wrote.
    let text = r#"{"schemaVersion": "1.0", "workflow": {"jobs": [
        {"name": "a", "runtime": 1, "parents": [], "files": [{"link": "output", "name": "x", "size": 1}]},
        {"name": "b", "runtime": 1, "parents": ["a"],
         "files": [{"link": "input", "name": "x", "size": 1}, {"link": "output", "name": "y", "size": 1}]},
        {"name": "c", "runtime": 1, "parents": ["b"], "files": [{"link": "input", "name": "x", "size": 1}]},
        {"name": "d", "runtime": 1, "parents": ["a"], "files": [{"link": "input", "name": "q", "size": 1}]}
    ]}}"#;
    let (_, wf) = import(Format::WorkflowHub, text, false);
    assert_eq!(reads(&wf, "c"), ["a"]);
    assert_eq!(after(&wf, "c"), ["b"]);
    // d reads nothing a wrote (q comes from outside the workflow).
    assert!(reads(&wf, "d").is_empty());
}

#[test]
fn workflowhub_without_files_keeps_the_default() {
    let text = r#"{"schemaVersion": "1.0", "workflow": {"jobs": [
        {"name": "a", "runtime": 1, "parents": []},
        {"name": "b", "runtime": 1, "parents": ["a"]},
        {"name": "c", "runtime": 1, "parents": ["a", "b"],
         "files": [{"link": "input", "name": "q", "size": 1}]}
    ]}}"#;
    let (spec, wf) = import(Format::WorkflowHub, text, false);
    assert!(spec.steps.iter().all(|s| s.data_from.is_none()));
    assert_eq!(reads(&wf, "c"), ["a", "b"]);
    // A file without a name cannot be matched: the default too.
    let text = r#"{"schemaVersion": "1.0", "workflow": {"jobs": [
        {"name": "a", "runtime": 1, "parents": [], "files": [{"link": "output", "size": 1}]},
        {"name": "b", "runtime": 1, "parents": ["a"], "files": [{"link": "input", "name": "q", "size": 1}]}
    ]}}"#;
    let (spec, _) = import(Format::WorkflowHub, text, false);
    assert!(spec.steps.iter().all(|s| s.data_from.is_none()));
}

#[test]
fn workflowhub_schema_1_5_matches_file_ids() {
    let text = r#"{"name": "t", "schemaVersion": "1.5", "workflow": {
      "specification": {
        "tasks": [
          {"name": "a", "id": "a", "parents": [], "children": ["b", "c"], "inputFiles": [], "outputFiles": ["f1"]},
          {"name": "b", "id": "b", "parents": ["a"], "children": ["c"], "inputFiles": ["f1"], "outputFiles": ["f2"]},
          {"name": "c", "id": "c", "parents": ["a", "b"], "children": [], "inputFiles": ["f2"], "outputFiles": []}
        ],
        "files": [{"id": "f1", "sizeInBytes": 100}, {"id": "f2", "sizeInBytes": 200}]
      },
      "execution": {"tasks": [
        {"id": "a", "runtimeInSeconds": 1}, {"id": "b", "runtimeInSeconds": 2}, {"id": "c", "runtimeInSeconds": 3}
      ]}
    }}"#;
    let (_, wf) = import(Format::WorkflowHub, text, false);
    assert_eq!(reads(&wf, "b"), ["a"]);
    assert_eq!(reads(&wf, "c"), ["b"]);
}

#[test]
fn grouped_steps_read_a_parent_step_when_any_job_does() {
    // Two `map` jobs after `split`; `merge` after both maps and `split`, reading only map outputs.
    let text = r#"{"schemaVersion": "1.0", "workflow": {"jobs": [
        {"name": "split_00000001", "runtime": 1, "parents": [],
         "files": [{"link": "output", "name": "p1", "size": 1}, {"link": "output", "name": "p2", "size": 1}]},
        {"name": "map_00000002", "runtime": 1, "parents": ["split_00000001"],
         "files": [{"link": "input", "name": "p1", "size": 1}, {"link": "output", "name": "m1", "size": 1}]},
        {"name": "map_00000003", "runtime": 1, "parents": ["split_00000001"],
         "files": [{"link": "input", "name": "p2", "size": 1}, {"link": "output", "name": "m2", "size": 1}]},
        {"name": "merge_00000004", "runtime": 1, "parents": ["map_00000002", "map_00000003", "split_00000001"],
         "files": [{"link": "input", "name": "m1", "size": 1}, {"link": "input", "name": "m2", "size": 1}]}
    ]}}"#;
    let (_, wf) = import(Format::WorkflowHub, text, true);
    assert_eq!(wf.n_steps(), 3);
    assert_eq!(step(&wf, "map").jobs, 2);
    assert_eq!(reads(&wf, "map"), ["split"]);
    assert_eq!(reads(&wf, "merge"), ["map"]);
    assert_eq!(wf.preds(wf.find("merge").unwrap()).len(), 2);
}

#[test]
fn real_traces_keep_the_default_except_where_their_files_say() {
    for file in files_in(&shared_data("workflowhub"), "", ".json") {
        let opts = ImportOptions::default();
        let spec = import_file(Format::WorkflowHub, &file, &opts).unwrap();
        let control: Vec<&str> = spec
            .steps
            .iter()
            .filter(|s| s.data_from.is_some())
            .map(|s| s.name.as_str())
            .collect();
        let stem = file.file_stem().unwrap().to_string_lossy();
        if stem == "montage" {
            // mAdd reads the images mBackground wrote, not the table its one parent mImgtbl wrote
            // (montage.json gives the two tables different names).
            assert_eq!(control, ["mAdd"], "{stem}");
            let wf = round_trip(&spec);
            assert_eq!(reads(&wf, "mAdd"), ["mBackground"]);
            assert_eq!(after(&wf, "mAdd"), ["mImgtbl"]);
        } else {
            assert!(control.is_empty(), "{stem}: {control:?}");
        }
    }
    let one_five = shared_data("workflowhub/wfcommons-1.5/helloworld-forkjoin-10-chameleon.json");
    let spec = import_file(Format::WorkflowHub, &one_five, &ImportOptions::default()).unwrap();
    assert!(spec.steps.iter().all(|s| s.data_from.is_none()));
}

fn asl(states: &str) -> String {
    format!(r#"{{"StartAt": "a", "States": {{{states}}}}}"#)
}

const TASK: &str = r#""Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f""#;

#[test]
fn asl_result_path_null_passes_the_input_through() {
    let text = asl(&format!(
        r#""a": {{{TASK}, "Next": "b"}},
           "b": {{{TASK}, "ResultPath": null, "Next": "c"}},
           "c": {{{TASK}, "ResultPath": "$.c", "Next": "d"}},
           "d": {{{TASK}, "End": true}}"#
    ));
    let (spec, wf) = import(Format::Asl, &text, true);
    assert_eq!(reads(&wf, "b"), ["a"]);
    // c reads what b read (a's output), not b's discarded result.
    assert_eq!(reads(&wf, "c"), ["a"]);
    assert_eq!(after(&wf, "c"), ["b"]);
    // A ResultPath that names a field keeps the default.
    assert_eq!(reads(&wf, "d"), ["c"]);
    assert!(spec.description.unwrap().contains("'b' -> 'c'"));
}

#[test]
fn asl_result_path_null_chains_and_first_states() {
    // a and b both discard their results: c reads the execution input only.
    let text = asl(&format!(
        r#""a": {{{TASK}, "ResultPath": null, "Next": "b"}},
           "b": {{{TASK}, "ResultPath": null, "Next": "c"}},
           "c": {{{TASK}, "End": true}}"#
    ));
    let (_, wf) = import(Format::Asl, &text, true);
    assert!(reads(&wf, "b").is_empty());
    assert!(reads(&wf, "c").is_empty());
    assert_eq!(after(&wf, "c"), ["b"]);
}

#[test]
fn asl_result_path_null_outside_the_decidable_subset_keeps_the_default() {
    // A Pass successor, a Choice in between, a Parallel state: unchanged.
    let text = asl(&format!(
        r#""a": {{{TASK}, "ResultPath": null, "Next": "p"}},
           "p": {{"Type": "Pass", "Next": "ch"}},
           "ch": {{"Type": "Choice", "Choices": [{{"Next": "e"}}], "Default": "e"}},
           "e": {{"Type": "Parallel", "ResultPath": null, "Next": "f",
                  "Branches": [{{"StartAt": "x", "States": {{"x": {{{TASK}, "End": true}}}}}}]}},
           "f": {{{TASK}, "End": true}}"#
    ));
    let (spec, _) = import(Format::Asl, &text, true);
    assert!(
        spec.steps.iter().all(|s| s.data_from.is_none()),
        "{:?}",
        spec.steps
    );
    // A name used twice in the file is not matched to a step.
    let text = asl(&format!(
        r#""a": {{"Type": "Parallel", "Next": "z", "Branches": [
              {{"StartAt": "t", "States": {{"t": {{{TASK}, "ResultPath": null, "Next": "u"}}, "u": {{{TASK}, "End": true}}}}}},
              {{"StartAt": "t", "States": {{"t": {{{TASK}, "End": true}}}}}}]}},
           "z": {{{TASK}, "End": true}}"#
    ));
    let (spec, _) = import(Format::Asl, &text, true);
    assert!(spec.steps.iter().all(|s| s.data_from.is_none()));
    // Nested, with a unique name: rewired.
    let text = asl(&format!(
        r#""a": {{"Type": "Parallel", "Next": "z", "Branches": [
              {{"StartAt": "t", "States": {{"t": {{{TASK}, "ResultPath": null, "Next": "u"}}, "u": {{{TASK}, "End": true}}}}}}]}},
           "z": {{{TASK}, "End": true}}"#
    ));
    let (_, wf) = import(Format::Asl, &text, true);
    assert_eq!(reads(&wf, "u"), ["a"]);
}

#[test]
fn real_asl_files_keep_the_default() {
    for app in ["App8", "App10", "App12", "App14", "App16"] {
        let path = shared_data(&format!(
            "slapp-perfcost/evaluations/model/{app}/{app}.json"
        ));
        let spec = import_file(Format::Asl, &path, &ImportOptions::default()).unwrap();
        assert!(spec.steps.iter().all(|s| s.data_from.is_none()), "{app}");
    }
}
