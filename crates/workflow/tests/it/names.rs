//! Step names: de-duplication at scale (linear, checked for correctness on large inputs), names YAML 1.1
//! readers take for booleans, and workflow names from double extensions.

use std::collections::BTreeSet;

use workflow::import::{Format, ImportOptions, import_str};
use workflow::{StepKind, Workflow};

use crate::{after, golden, round_trip, step};

/// A Parallel of `n` branches that all call their one state `f`.
fn wide_parallel(n: usize) -> String {
    let branch = r#"{"StartAt": "f", "States": {"f": {"Type": "Task", "Resource": "arn:aws:lambda:r:1:function:f", "End": true}}}"#;
    let branches = vec![branch; n].join(",");
    format!(
        r#"{{"StartAt": "P", "States": {{"P": {{"Type": "Parallel", "Branches": [{branches}], "Next": "f"}},
            "f": {{"Type": "Task", "Resource": "arn:aws:lambda:r:1:function:g", "End": true}}}}}}"#
    )
}

#[test]
fn sixteen_thousand_clashing_branch_names_are_unique_and_joined() {
    let n = 16_000;
    let spec = import_str(
        Format::Asl,
        &wide_parallel(n),
        "wide.json",
        &ImportOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let wf = Workflow::from_spec(&spec, "wide").unwrap();
    assert_eq!(wf.n_steps(), n + 2);
    let names: BTreeSet<&str> = wf.steps().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names.len(), n + 2, "names are unique");
    // The top-level `f` keeps its name; branch states yield: `P/f`, then `P/f~2` .. `P/f~16000`.
    assert!(names.contains("P/f") && names.contains("P/f~2") && names.contains("P/f~16000"));
    assert!(!names.contains("P/f~16001"));
    // The join waits for every branch, once each.
    let join = after(&wf, "f");
    assert_eq!(join.len(), n);
    assert_eq!(join.iter().collect::<BTreeSet<_>>().len(), n);
    assert_eq!(step(&wf, "P/f~77").function, "f");
}

#[test]
fn twenty_thousand_job_chain_of_one_type_groups_into_unique_steps() {
    let n = 20_000;
    let jobs: Vec<String> = (1..=n)
        .map(|i| {
            let parents = if i == 1 {
                String::new()
            } else {
                format!("\"t_{:08}\"", i - 1)
            };
            format!(r#"{{"name": "t_{i:08}", "runtime": 1, "parents": [{parents}], "files": []}}"#)
        })
        .collect();
    let trace = format!(
        r#"{{"name": "chain", "schemaVersion": "1.0", "workflow": {{"jobs": [{}]}}}}"#,
        jobs.join(",")
    );
    let spec = import_str(
        Format::WorkflowHub,
        &trace,
        "chain.json",
        &ImportOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // Each job waits for the one before, so no two can share a step: n steps of type `t`.
    let wf = Workflow::from_spec(&spec, "chain").unwrap();
    assert_eq!(wf.n_steps(), n);
    assert_eq!(wf.steps()[0].name, "t");
    assert_eq!(wf.steps()[1].name, "t~2");
    assert_eq!(wf.steps()[n - 1].name, format!("t~{n}"));
    assert_eq!(after(&wf, "t~3"), ["t~2"]);
    assert!(wf.steps().iter().all(|s| s.function == "t"));
}

#[test]
fn suffixes_skip_names_already_taken() {
    // A state literally called `P/f~2` must not be reused for the second clashing branch.
    let branch = |s: &str| {
        format!(r#"{{"StartAt": "{s}", "States": {{"{s}": {{"Type": "Pass", "End": true}}}}}}"#)
    };
    let asl = format!(
        r#"{{"StartAt": "P", "States": {{"P": {{"Type": "Parallel", "Branches": [{}, {}, {}], "Next": "f"}},
            "f": {{"Type": "Pass", "End": true}}, "P/f~2": {{"Type": "Pass", "End": true}}}}}}"#,
        branch("f"),
        branch("f"),
        branch("f")
    );
    let spec = import_str(Format::Asl, &asl, "s.json", &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let wf = round_trip(&spec);
    assert_eq!(after(&wf, "f"), ["P/f", "P/f~3", "P/f~4"]);
}

#[test]
fn yaml11_boolean_names_are_quoted_in_written_yaml() {
    let spec = workflow::import::import_file(
        Format::Asl,
        &golden("asl/hello.asl.json"),
        &ImportOptions::default(),
    )
    .unwrap();
    let yaml = spec.to_yaml();
    assert!(yaml.contains("- name: 'Yes'"), "{yaml}");
    assert!(yaml.contains("- name: 'on'"), "{yaml}");
    assert!(yaml.contains("  - 'Yes'"), "{yaml}");
    assert!(!yaml.contains(": Yes\n"), "{yaml}");
    let wf = round_trip(&spec);
    assert_eq!(step(&wf, "on").kind, StepKind::Pass);
}

#[test]
fn asl_double_extension_is_stripped_from_the_name() {
    let spec = workflow::import::import_file(
        Format::Asl,
        &golden("asl/hello.asl.json"),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(spec.name, "hello");
}
