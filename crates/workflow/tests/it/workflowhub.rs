//! WorkflowHub import: all six published traces, grouping into fan-out steps, and malformed traces.

use workflow::import::{Format, ImportOptions, import_file};
use workflow::{ProblemKind, Workflow};

use crate::{after, files_in, golden, names, round_trip, shared_data, step};

fn import(path: &std::path::Path, group_jobs: bool) -> (workflow::WorkflowSpec, Workflow) {
    let opts = ImportOptions {
        group_jobs,
        ..Default::default()
    };
    let spec = import_file(Format::WorkflowHub, path, &opts).unwrap_or_else(|e| panic!("{e}"));
    let wf = round_trip(&spec);
    (spec, wf)
}

/// (file, jobs, dependency edges, grouped steps) as counted independently from the files.
const TRACES: [(&str, usize, usize, usize); 6] = [
    ("cycles.json", 46, 52, 7),
    ("epigenomics.json", 45, 50, 9),
    ("genome.json", 50, 74, 5),
    ("montage.json", 133, 371, 8),
    ("seismology.json", 50, 49, 2),
    ("soykb.json", 45, 77, 14),
];

#[test]
fn every_trace_imports_per_job_and_grouped() {
    let files = files_in(&shared_data("workflowhub"), "", ".json");
    let listed: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed, TRACES.map(|t| t.0));
    for (file, (_, n_jobs, n_edges, n_groups)) in files.iter().zip(TRACES) {
        let (_, per_job) = import(file, false);
        assert_eq!(per_job.n_steps(), n_jobs, "{}", file.display());
        let edges: usize = per_job.step_ids().map(|id| per_job.preds(id).len()).sum();
        assert_eq!(edges, n_edges, "{}", file.display());

        let (spec, grouped) = import(file, true);
        assert_eq!(grouped.n_steps(), n_groups, "{}", file.display());
        // Every job is in exactly one group, and the total work is kept.
        let jobs: u32 = grouped.steps().iter().map(|s| s.jobs).sum();
        assert_eq!(jobs as usize, n_jobs, "{}", file.display());
        let work = |wf: &Workflow| {
            wf.steps()
                .iter()
                .map(|s| f64::from(s.jobs) * s.work_s)
                .sum::<f64>()
        };
        let (a, b) = (work(&per_job), work(&grouped));
        // Group means are rounded to 1e-6 s.
        assert!(
            (a - b).abs() <= 1e-6 * n_jobs as f64,
            "{}: {a} vs {b}",
            file.display()
        );
        let d = spec.description.unwrap();
        assert!(d.contains("Imported from WorkflowHub file"), "{d}");
        assert!(d.contains("fan-out steps"), "{d}");
    }
}

#[test]
fn montage_groups_into_its_eight_stages() {
    let (_, wf) = import(&shared_data("workflowhub/montage.json"), true);
    assert_eq!(
        names(&wf),
        [
            "mProject",
            "mDiffFit",
            "mConcatFit",
            "mBgModel",
            "mBackground",
            "mImgtbl",
            "mAdd",
            "mViewer"
        ]
    );
    let diff = step(&wf, "mDiffFit");
    assert_eq!(diff.jobs, 120);
    assert_eq!(after(&wf, "mDiffFit"), ["mProject"]);
    assert_eq!(step(&wf, "mProject").jobs, 4);
    // mProject reads a 5.66 MB image and a small header, writes two 15.4 MB images.
    let p = step(&wf, "mProject");
    assert!((p.input_mb - 5.658_677).abs() < 1e-3, "{}", p.input_mb);
    assert!((p.output_mb - 30.746_88).abs() < 1e-3, "{}", p.output_mb);
    // A chain of stages: the critical path by work visits all eight.
    let durations: Vec<f64> = wf.steps().iter().map(|s| s.work_s).collect();
    let (_, path) = wf.critical_path(&durations);
    assert_eq!(path.len(), 8);
}

#[test]
fn epigenomics_keeps_two_map_merge_stages_apart() {
    let (_, wf) = import(&shared_data("workflowhub/epigenomics.json"), true);
    assert_eq!(step(&wf, "mapMerge").jobs, 3);
    assert_eq!(step(&wf, "mapMerge~2").jobs, 1);
    assert_eq!(after(&wf, "mapMerge~2"), ["mapMerge"]);
}

#[test]
fn golden_tiny_trace() {
    let (spec, wf) = import(&golden("workflowhub/tiny.json"), true);
    assert_eq!(spec.name, "tiny");
    // work_00000004 has no parents, so it is not grouped with the workers after split.
    assert_eq!(names(&wf), ["split", "work", "work~2", "merge"]);
    let w = step(&wf, "work");
    assert_eq!(
        (w.jobs, w.work_s, w.input_mb, w.function.as_str()),
        (2, 1.5, 1.5, "work")
    );
    assert_eq!(after(&wf, "merge"), ["work", "work~2"]);
    // A runtime of 0 gets a minimal positive work, and the description says so.
    assert_eq!(step(&wf, "merge").work_s, 1e-3);
    assert_eq!(step(&wf, "merge").output_mb, 0.5);
    let d = spec.description.unwrap();
    assert!(d.contains("1 job(s) with runtime 0"), "{d}");
    assert!(d.contains("Original description"), "{d}");

    let (_, per_job) = import(&golden("workflowhub/tiny.json"), false);
    assert_eq!(per_job.n_steps(), 5);
    // `children` is honoured as well as `parents`.
    assert_eq!(
        after(&per_job, "merge_00000005"),
        ["work_00000002", "work_00000003", "work_00000004"]
    );
    assert_eq!(step(&per_job, "work_00000003").function, "work");
}

#[test]
fn malformed_traces_report_every_job() {
    let err = import_file(
        Format::WorkflowHub,
        &golden("workflowhub/malformed.json"),
        &ImportOptions::default(),
    )
    .unwrap_err();
    let text = err.to_string();
    for needle in [
        "job 'work_00000002' (workflow.jobs[1]): runtime = -1",
        "job 'work_00000002' (workflow.jobs[2]): duplicate step name 'work_00000002'",
        "files[0].link = \"sideways\"",
        "workflow.jobs[3]: missing field 'name'",
        "workflow.jobs[3]: missing field 'runtime'",
        "job 'work_00000002' (workflow.jobs[1]): parents[1]: unknown step 'ghost_00000009'",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert_eq!(err.problems().len(), 6, "{text}");

    let err = import_file(
        Format::WorkflowHub,
        &golden("workflowhub/cycle.json"),
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&err.problems()[0].kind, ProblemKind::Cycle { path } if path.len() == 4),
        "{err}"
    );
    assert!(err.problems()[0].place.starts_with("job '"), "{err}");
}
