//! AWS States Language import: the published SLApp state machines, a golden file with every state
//! type, loops, and malformed inputs.

use workflow::import::{Format, ImportOptions, import_file, import_str};
use workflow::{Error, ProblemKind, StepKind};

use crate::{after, files_in, golden, names, round_trip, shared_data, step};

fn import(path: &std::path::Path) -> workflow::WorkflowSpec {
    import_file(Format::Asl, path, &ImportOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_slapp_state_machine_imports_and_round_trips() {
    let model = shared_data("slapp-perfcost/evaluations/model");
    let mut files = Vec::new();
    for dir in files_in(&model, "", "").into_iter().filter(|p| p.is_dir()) {
        files.extend(files_in(&dir, "App", ".json"));
    }
    let stems: Vec<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(stems, ["App10", "App12", "App14", "App16", "App8"]);
    for f in &files {
        let spec = import(f);
        let wf = round_trip(&spec);
        let n_tasks = wf
            .steps()
            .iter()
            .filter(|s| s.kind == StepKind::Task)
            .count();
        // Every Task state of the file is one task step (no task is lost to loop cutting).
        let text = std::fs::read_to_string(f).unwrap();
        assert_eq!(
            n_tasks,
            text.matches("\"Type\": \"Task\"").count(),
            "{}",
            f.display()
        );
        // Functions come from the Lambda ARNs.
        assert_eq!(step(&wf, "f1").function, format!("{}_f1", spec.name));
        let d = spec.description.as_deref().unwrap();
        assert!(d.contains("loop cut"), "{d}");
        assert!(d.contains("work_s = 1"), "{d}");
    }
}

#[test]
fn app8_structure() {
    let spec = import(&shared_data(
        "slapp-perfcost/evaluations/model/App8/App8.json",
    ));
    let wf = round_trip(&spec);
    assert_eq!(spec.name, "App8");
    assert_eq!(
        names(&wf),
        [
            "f1",
            "Parallel State",
            "f2",
            "Choice State 1",
            "f4",
            "f5",
            "pass1",
            "f3",
            "f6",
            "Choice State 2",
            "pass2",
            "f7",
            "Choice State 3",
            "f8"
        ]
    );
    assert_eq!(step(&wf, "Parallel State").kind, StepKind::Pass);
    assert_eq!(after(&wf, "f2"), ["Parallel State"]);
    assert_eq!(after(&wf, "f3"), ["Parallel State"]);
    // The Parallel is joined by its Next state.
    assert_eq!(after(&wf, "f7"), ["pass1", "pass2"]);
    assert_eq!(after(&wf, "pass1"), ["f4", "f5"]);
    // Choice State 1: two rules and the Default, uniform; f4 is named twice.
    let ch = step(&wf, "Choice State 1");
    assert_eq!(ch.kind, StepKind::Choice);
    let probs: Vec<(&str, f64)> = ch
        .choices
        .iter()
        .map(|(id, p)| (wf.step(*id).name.as_str(), *p))
        .collect();
    assert_eq!(probs.len(), 2);
    assert_eq!(probs[0].0, "f4");
    assert!((probs[0].1 - 2.0 / 3.0).abs() < 1e-12, "{probs:?}");
    assert!((probs[1].1 - 1.0 / 3.0).abs() < 1e-12, "{probs:?}");
    // The loops back to f3 and f7 are cut; the exits remain with probability 1.
    for (choice, exit) in [("Choice State 2", "pass2"), ("Choice State 3", "f8")] {
        let c = step(&wf, choice);
        assert_eq!(c.choices.len(), 1, "{choice}");
        assert_eq!(wf.step(c.choices[0].0).name, exit);
        assert_eq!(c.choices[0].1, 1.0);
    }
    let d = spec.description.unwrap();
    assert!(d.contains("loop cut in 'Parallel State' branch 1: 'Choice State 2' Choices[0].Next -> 'f3' dropped"), "{d}");
    assert!(
        d.contains("loop cut: 'Choice State 3' Choices[0].Next -> 'f7' dropped"),
        "{d}"
    );
    // Critical path by work (1 s per task): f1, f3, f6, f7, f8 (via the longer branch).
    let durations: Vec<f64> = wf.steps().iter().map(|s| s.work_s).collect();
    let (len_s, _) = wf.critical_path(&durations);
    assert_eq!(len_s, 5.0);
}

#[test]
fn app16_nested_parallel_inside_a_branch() {
    let spec = import(&shared_data(
        "slapp-perfcost/evaluations/model/App16/App16.json",
    ));
    let wf = round_trip(&spec);
    assert_eq!(step(&wf, "Parallel State 2").kind, StepKind::Pass);
    assert_eq!(after(&wf, "f11"), ["Parallel State 2"]);
    assert_eq!(after(&wf, "f12"), ["Parallel State 2"]);
    // The inner Parallel is joined by pass1 (with f4, the other choice branch).
    let mut p1 = after(&wf, "pass1");
    p1.sort();
    assert_eq!(p1, ["f11", "f4", "pass3"]);
}

#[test]
fn golden_map_nested_parallel_wait_choice_fail() {
    let opts = ImportOptions {
        items: 4,
        ..Default::default()
    };
    let spec = import_file(Format::Asl, &golden("asl/map_nested.json"), &opts)
        .unwrap_or_else(|e| panic!("{e}"));
    let wf = round_trip(&spec);
    assert_eq!(spec.name, "map_nested");
    assert_eq!(
        names(&wf),
        [
            "Prepare",
            "Pause",
            "PerItem",
            "PerItem/Process",
            "Both",
            "Thumb",
            "Inner",
            "Tag",
            "Check",
            "Process",
            "Done",
            "Oops"
        ]
    );
    assert_eq!(step(&wf, "Pause").kind, StepKind::Pass);
    assert_eq!(step(&wf, "Pause").wait_s, 2.5);
    // The Map's tasks fan out: one job per item, at most MaxConcurrency at once.
    let p = step(&wf, "PerItem/Process");
    assert_eq!(
        (p.jobs, p.max_fan_out, p.function.as_str()),
        (4, Some(5), "process")
    );
    assert_eq!(after(&wf, "PerItem/Process"), ["PerItem"]);
    let t = step(&wf, "Thumb");
    assert_eq!(
        (t.jobs, t.max_fan_out, t.function.as_str()),
        (4, Some(5), "thumb")
    );
    // A Map inside the Map: items multiply; the unbounded inner Map runs all its items at once.
    let tag = step(&wf, "Tag");
    assert_eq!((tag.jobs, tag.max_fan_out), (16, Some(20)));
    assert_eq!(after(&wf, "Check"), ["Thumb", "Tag"]);
    let check = step(&wf, "Check");
    let probs: Vec<(&str, f64)> = check
        .choices
        .iter()
        .map(|(id, p)| (wf.step(*id).name.as_str(), *p))
        .collect();
    assert_eq!(probs.len(), 2);
    assert_eq!(probs[0].0, "Process");
    assert!(
        (probs[0].1 - 0.9).abs() < 1e-12 && (probs[1].1 - 0.1).abs() < 1e-12,
        "{probs:?}"
    );
    assert_eq!(step(&wf, "Oops").kind, StepKind::Fail);
    assert_eq!(step(&wf, "Process").function, "publish");
    assert!(wf.find("Orphan").is_none());
    let d = spec.description.unwrap();
    assert!(
        d.contains("warning: unreachable state(s) skipped: 'Orphan'"),
        "{d}"
    );
    assert!(d.contains("iterates over 4 items"), "{d}");
    assert!(d.contains("Original description: Golden: Map"), "{d}");
}

#[test]
fn loops_are_cut_and_duplicate_branches_add_up() {
    let spec = import(&golden("asl/loop.json"));
    let wf = round_trip(&spec);
    assert_eq!(names(&wf), ["Work", "Again", "Small", "Big", "End"]);
    let again = step(&wf, "Again");
    let probs: Vec<(&str, f64)> = again
        .choices
        .iter()
        .map(|(id, p)| (wf.step(*id).name.as_str(), *p))
        .collect();
    assert_eq!(probs.len(), 2, "{probs:?}");
    assert!(
        (probs[0].1 - 2.0 / 3.0).abs() < 1e-12 && (probs[1].1 - 1.0 / 3.0).abs() < 1e-12,
        "{probs:?}"
    );
    assert_eq!(after(&wf, "End"), ["Small", "Big"]);
}

#[test]
fn every_problem_is_reported_with_its_state() {
    let err = import_file(
        Format::Asl,
        &golden("asl/malformed.json"),
        &ImportOptions::default(),
    )
    .unwrap_err();
    let text = err.to_string();
    for needle in [
        "state 'A': Next: unknown step 'Nowhere'",
        "state 'B': missing field 'Type'",
        "state 'C': unsupported state type 'Activity'",
        "state machine in 'P' branch 0: missing field 'StartAt'",
        "state 'D': missing field 'Next (or \"End\": true)'",
        "state 'M': MaxConcurrency = -1",
        "state 'Y' (in 'M' iterator): Next: unknown step 'Z'",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert_eq!(err.problems().len(), 7, "{text}");
    let unsupported: Vec<_> = err
        .problems()
        .iter()
        .filter(|p| matches!(&p.kind, ProblemKind::UnsupportedState { .. }))
        .collect();
    assert_eq!(unsupported.len(), 1);
    assert_eq!(unsupported[0].place, "state 'C'");
    assert_eq!(
        unsupported[0].kind,
        ProblemKind::UnsupportedState {
            state_type: "Activity".into()
        }
    );
}

#[test]
fn missing_start_at_and_parse_errors() {
    let err = import_file(
        Format::Asl,
        &golden("asl/no_start.json"),
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string().lines().nth(1).unwrap().trim(),
        "- state machine: missing field 'StartAt'"
    );

    let err = import_str(
        Format::Asl,
        "{\n  \"StartAt\": 5\n}",
        "bad.json",
        &ImportOptions::default(),
    )
    .unwrap_err();
    match &err {
        Error::Parse {
            source_name, line, ..
        } => {
            assert_eq!(source_name, "bad.json");
            assert_eq!(*line, Some(2));
        }
        other => panic!("expected a parse error, got {other}"),
    }
    let err = import_str(Format::Asl, "not json", "x.json", &ImportOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Parse { .. }), "{err}");
}

#[test]
fn bad_options_are_reported() {
    let opts = ImportOptions {
        work_s: f64::NAN,
        jobs: 0,
        items: 0,
        ..Default::default()
    };
    let err = import_file(Format::Asl, &golden("asl/loop.json"), &opts).unwrap_err();
    assert_eq!(err.problems().len(), 3, "{err}");
    assert!(
        err.to_string().contains("import options: work_s = NaN"),
        "{err}"
    );
}

#[test]
fn options_set_task_sizes_and_name() {
    let opts = ImportOptions {
        name: Some("loopy".into()),
        work_s: 2.5,
        jobs: 3,
        memory_mb_per_worker: Some(512),
        slo_s: Some(10.0),
        ..Default::default()
    };
    let spec = import_file(Format::Asl, &golden("asl/loop.json"), &opts).unwrap();
    let wf = round_trip(&spec);
    assert_eq!(wf.name, "loopy");
    assert_eq!(wf.slo_s, Some(10.0));
    let w = step(&wf, "Work");
    assert_eq!((w.jobs, w.work_s, w.memory_mb_per_worker), (3, 2.5, 512));
    let d = spec.description.unwrap();
    assert!(d.contains("3 job(s) of work_s = 2.5"), "{d}");
    assert!(d.contains("memory_mb_per_worker = 512"), "{d}");
    assert!(!d.contains("items"), "no Map, so no items assumed: {d}");
}

#[test]
fn too_many_jobs_from_nested_maps_is_an_error_not_an_overflow() {
    let opts = ImportOptions {
        items: 100_000,
        ..Default::default()
    };
    let err = import_file(Format::Asl, &golden("asl/map_nested.json"), &opts).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(
            "state 'Tag' (in 'PerItem' iterator > 'Both' branch 1 > 'Inner' iterator): jobs"
        ),
        "{text}"
    );
    assert!(
        text.contains("= 10000000000: must be at most 1000000"),
        "{text}"
    );
    assert_eq!(err.problems().len(), 1, "{text}");
}
