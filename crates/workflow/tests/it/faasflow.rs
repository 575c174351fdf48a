//! FaaSFlow import: the four published apps (fileprocessing, illgal_recognizer, video, wordcount) and
//! malformed workflows.

use std::str::FromStr;

use workflow::StepKind;
use workflow::import::{Format, ImportOptions, import_file, import_str};

use crate::{after, names, round_trip, shared_data, step};

const APPS: [&str; 4] = ["fileprocessing", "illgal_recognizer", "video", "wordcount"];

fn import(app: &str) -> (workflow::WorkflowSpec, workflow::Workflow) {
    let path = shared_data(&format!("faasflow-apps/{app}/flat_workflow.yaml"));
    let spec = import_file(Format::FaaSFlow, &path, &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let wf = round_trip(&spec);
    (spec, wf)
}

/// Names of the steps `name` reads from.
fn data_from<'a>(wf: &'a workflow::Workflow, name: &str) -> Vec<&'a str> {
    step(wf, name)
        .data_from
        .iter()
        .map(|d| wf.step(*d).name.as_str())
        .collect()
}

fn count(wf: &workflow::Workflow, kind: StepKind) -> usize {
    wf.steps().iter().filter(|s| s.kind == kind).count()
}

#[test]
fn format_names() {
    assert_eq!(Format::from_str("faasflow"), Ok(Format::FaaSFlow));
    assert_eq!(Format::from_str("FaaS-Flow"), Ok(Format::FaaSFlow));
    assert_eq!(Format::FaaSFlow.as_str(), "faasflow");
    assert!(Format::ALL.contains(&Format::FaaSFlow));
}

#[test]
fn every_app_imports_named_by_its_folder() {
    // (steps, tasks, choices, passes, fan-out steps)
    let expected = [
        (4, 4, 0, 0, 0),
        (10, 7, 2, 1, 0),
        (6, 5, 1, 0, 1),
        (3, 3, 0, 0, 1),
    ];
    for (app, (n, tasks, choices, passes, maps)) in APPS.iter().zip(expected) {
        let (spec, wf) = import(app);
        assert_eq!(spec.name, *app);
        assert_eq!(wf.n_steps(), n, "{app}: {:?}", names(&wf));
        assert_eq!(count(&wf, StepKind::Task), tasks, "{app}");
        assert_eq!(count(&wf, StepKind::Choice), choices, "{app}");
        assert_eq!(count(&wf, StepKind::Pass), passes, "{app}");
        let fan_out = wf.steps().iter().filter(|s| s.jobs > 1).count();
        assert_eq!(fan_out, maps, "{app}");
        let d = spec.description.unwrap();
        assert!(
            d.contains("Imported from FaaSFlow file flat_workflow.yaml"),
            "{d}"
        );
        // mem_usage 0.25 of FaaSFlow's 256 MB containers.
        for s in wf.steps().iter().filter(|s| s.kind == StepKind::Task) {
            assert_eq!(s.memory_mb_per_worker, 64, "{app} {}", s.name);
        }
    }
}

#[test]
fn fileprocessing_parallel_then_join() {
    let (_, wf) = import("fileprocessing");
    assert_eq!(names(&wf), ["start", "conversion", "sentiment", "upload"]);
    assert_eq!(after(&wf, "conversion"), ["start"]);
    assert_eq!(after(&wf, "sentiment"), ["start"]);
    assert_eq!(after(&wf, "upload"), ["conversion", "sentiment"]);
    assert_eq!(data_from(&wf, "upload"), ["conversion", "sentiment"]);
    assert_eq!(data_from(&wf, "conversion"), ["start"]);
    let conversion = step(&wf, "conversion");
    assert_eq!((conversion.jobs, conversion.work_s), (1, 19.0));
    // Sizes in bytes: reads start's 29,600,094-byte file, writes 29,600,099 bytes of html.
    assert!((conversion.input_mb - 29.600094).abs() < 1e-9);
    assert!((conversion.output_mb - 29.600099).abs() < 1e-9);
    assert_eq!(step(&wf, "start").work_s, 0.09);
}

#[test]
fn illgal_recognizer_switches_are_choices() {
    let (spec, wf) = import("illgal_recognizer");
    assert_eq!(
        names(&wf),
        [
            "upload",
            "adult",
            "violence",
            "virtual1",
            "mosaic",
            "extract",
            "translate",
            "word_censor",
            "virtual2",
            "END"
        ]
    );
    let v1 = step(&wf, "virtual1");
    assert_eq!(v1.kind, StepKind::Choice);
    let branches: Vec<(&str, f64)> = v1
        .choices
        .iter()
        .map(|(id, p)| (wf.step(*id).name.as_str(), *p))
        .collect();
    assert_eq!(branches, [("mosaic", 0.5), ("extract", 0.5)]);
    assert_eq!(step(&wf, "virtual2").kind, StepKind::Choice);
    assert_eq!(step(&wf, "END").kind, StepKind::Pass);
    assert_eq!(after(&wf, "virtual1"), ["adult", "violence"]);
    // Reached from either switch.
    assert_eq!(after(&wf, "mosaic"), ["virtual1", "virtual2"]);
    assert_eq!(after(&wf, "END"), ["virtual2"]);
    // adult, violence, mosaic and extract read only the workflow's input.
    for s in ["adult", "violence", "mosaic", "extract"] {
        assert!(data_from(&wf, s).is_empty(), "{s}");
    }
    assert_eq!(data_from(&wf, "translate"), ["extract"]);
    assert_eq!(data_from(&wf, "word_censor"), ["translate"]);
    let d = spec.description.unwrap();
    assert!(
        d.contains(
            "'virtual1' takes the first of 'mosaic' if INPUT.illegal_flag, 'extract' if default"
        ),
        "{d}"
    );
    assert!(d.contains("control-only: 'upload' -> 'adult'"), "{d}");
}

#[test]
fn video_foreach_is_a_map_and_merge_reads_split_and_upload() {
    let (spec, wf) = import("video");
    assert_eq!(
        names(&wf),
        [
            "upload",
            "virtual1",
            "simple_process",
            "split",
            "transcode",
            "merge"
        ]
    );
    assert_eq!(step(&wf, "virtual1").kind, StepKind::Choice);
    assert_eq!(after(&wf, "split"), ["virtual1"]);
    assert_eq!(after(&wf, "simple_process"), ["virtual1"]);
    // foreach: one fan-out step of split_ratio = 3 jobs.
    let transcode = step(&wf, "transcode");
    assert_eq!((transcode.jobs, transcode.work_s), (3, 1.74));
    assert_eq!(after(&wf, "transcode"), ["split"]);
    assert_eq!(data_from(&wf, "transcode"), ["split"]);
    assert_eq!(after(&wf, "merge"), ["transcode"]);
    assert_eq!(data_from(&wf, "merge"), ["split", "upload"]);
    assert_eq!(step(&wf, "merge").jobs, 1);
    let d = spec.description.unwrap();
    assert!(d.contains("jobs = split_ratio = 3"), "{d}");
    assert!(d.contains("'transcode' -> 'merge'"), "{d}");
}

#[test]
fn wordcount_foreach_without_split_ratio_uses_items() {
    let opts = ImportOptions {
        items: 16,
        ..Default::default()
    };
    let path = shared_data("faasflow-apps/wordcount/flat_workflow.yaml");
    let spec = import_file(Format::FaaSFlow, &path, &opts).unwrap_or_else(|e| panic!("{e}"));
    let wf = round_trip(&spec);
    assert_eq!(names(&wf), ["start", "count", "merge"]);
    assert_eq!(step(&wf, "count").jobs, 16);
    assert_eq!(step(&wf, "start").jobs, 1);
    assert_eq!(after(&wf, "merge"), ["count"]);
    assert_eq!(data_from(&wf, "merge"), ["start", "count"]);
    assert!(spec.description.unwrap().contains("assumed 16 keys"));
}

const SMALL: &str = "
functions:
- name: a
  source: a
  runtime: 2
  next:
    type: switch
    conditions: [INPUT.x, default]
    nodes: [b, c]
- name: b
  source: b
  input:
    p:
      value: {function: a, parameter: out}
      size: 2000000
- name: c
  source: c
  runtime: 0
";

#[test]
fn a_switch_after_a_task_gets_its_own_choice_step() {
    let spec = import_str(
        Format::FaaSFlow,
        SMALL,
        "x/small.yaml",
        &ImportOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spec.name, "small");
    let wf = round_trip(&spec);
    assert_eq!(names(&wf), ["a", "a (switch)", "b", "c"]);
    assert_eq!(step(&wf, "a (switch)").kind, StepKind::Choice);
    assert_eq!(after(&wf, "b"), ["a (switch)"]);
    assert_eq!(data_from(&wf, "b"), ["a"]);
    assert!(data_from(&wf, "c").is_empty());
    assert_eq!(step(&wf, "b").input_mb, 2.0);
    let d = spec.description.unwrap();
    assert!(d.contains("assumed: work_s = 1 for b (no runtime)"), "{d}");
    assert!(
        d.contains("assumed: work_s = 0.001 for c (runtime 0)"),
        "{d}"
    );
}

#[test]
fn unknown_functions_are_named_with_their_place() {
    let text = "
functions:
- name: a
  source: a
  runtime: 1
  next: {type: pass, nodes: [b, ghost]}
- name: b
  source: b
  runtime: 1
  input:
    p: {value: {function: phantom, parameter: x}, size: 8}
";
    let err = import_str(
        Format::FaaSFlow,
        text,
        "app/flat_workflow.yaml",
        &ImportOptions::default(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("app/flat_workflow.yaml: workflow 'app'"),
        "{msg}"
    );
    assert!(
        msg.contains("function 'a' (functions[0]): next.nodes[1]: unknown step 'ghost'"),
        "{msg}"
    );

    let text = text.replace(", ghost", "");
    let err = import_str(
        Format::FaaSFlow,
        &text,
        "app/flat_workflow.yaml",
        &ImportOptions::default(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("function 'b' (functions[1]): input.p.value.function: unknown step 'phantom'"),
        "{msg}"
    );
}

#[test]
fn malformed_input_names_the_file_and_the_function() {
    // Not YAML: the file with line and column.
    let err = import_str(
        Format::FaaSFlow,
        "functions:\n- name: a\n  next: [unclosed\n",
        "bad/flat_workflow.yaml",
        &ImportOptions::default(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("bad/flat_workflow.yaml:"), "{msg}");
    assert!(
        matches!(err, workflow::Error::Parse { line: Some(_), .. }),
        "{msg}"
    );

    // YAML of the wrong shape, bad numbers, a bad next type, data from a later function, a cycle.
    let text = "
functions:
- name: a
  source: a
  runtime: fast
- name: b
  source: b
  runtime: -1
  mem_usage: 3
  next: {type: loop, nodes: [c]}
- name: c
  source: c
  runtime: 1
  input:
    q: {value: {function: d, parameter: y}, size: 8}
  next: {type: pass, nodes: [d]}
- name: d
  source: d
  runtime: 1
";
    let err = import_str(
        Format::FaaSFlow,
        text,
        "bad.yaml",
        &ImportOptions::default(),
    )
    .unwrap_err();
    let msg = err.to_string();
    for needle in [
        "function 'a' (functions[0]): invalid type: string \"fast\"",
        "function 'b' (functions[1]): next.type 'loop'",
    ] {
        assert!(msg.contains(needle), "missing {needle:?} in:\n{msg}");
    }
    assert_eq!(err.problems().len(), 2, "{msg}");

    let text = text
        .replace("runtime: fast", "runtime: 1")
        .replace("loop", "pass");
    let err = import_str(
        Format::FaaSFlow,
        &text,
        "bad.yaml",
        &ImportOptions::default(),
    )
    .unwrap_err();
    let msg = err.to_string();
    for needle in [
        "function 'b' (functions[1]): runtime = -1",
        "function 'b' (functions[1]): mem_usage = 3",
        "function 'c' (functions[2]): input.q.value.function: 'd' does not run before 'c'",
    ] {
        assert!(msg.contains(needle), "missing {needle:?} in:\n{msg}");
    }

    let text = text.replace("nodes: [d]", "nodes: [b]");
    let err = import_str(
        Format::FaaSFlow,
        &text,
        "bad.yaml",
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("function 'b' (functions[1]): dependency cycle: b -> c -> b"),
        "{err}"
    );

    for (text, needle) in [
        ("", "workflow: expected a mapping with `functions`"),
        ("global_input: {}\n", "workflow: missing field 'functions'"),
        ("functions: []\n", "workflow: functions is empty"),
        (
            "functions:\n- {name: a, source: a, runtime: 1}\n- {name: a, source: a, runtime: 1}\n",
            "function 'a' (functions[1]): duplicate step name 'a'",
        ),
        (
            "functions:\n- {name: v, source: VIRTUAL, next: {type: switch, nodes: [a]}}\n- {name: a, source: a}\n",
            "function 'v' (functions[0]): missing field 'next.conditions'",
        ),
    ] {
        let err =
            import_str(Format::FaaSFlow, text, "w.yaml", &ImportOptions::default()).unwrap_err();
        assert!(
            err.to_string().contains(needle),
            "{needle:?} not in:\n{err}"
        );
    }
}
