//! The dataset of "historical executions": the same for any thread count, and a file that reads
//! back to the same groups (so retraining skips the simulations); a bad file names itself.

use platform::Platform;
use topology::dataset::{DatasetOptions, build_dataset, load_dataset, save_dataset};

fn small(threads: usize) -> DatasetOptions {
    let mut o = DatasetOptions::new(Platform::lambda());
    o.n_workflows = 5;
    o.max_candidates = 4;
    o.n_requests = 10;
    o.generator.max_steps = 5;
    o.threads = threads;
    o
}

fn dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("topology-dataset-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn threads_do_not_change_the_dataset_and_a_file_reads_back_the_same() {
    let mut seen = Vec::new();
    let one = build_dataset(&small(1), 0, &mut |d, n| seen.push((d, n))).unwrap();
    let two = build_dataset(&small(2), 0, &mut |_, _| {}).unwrap();
    assert!(one.len() >= 2, "{}", one.len());
    assert_eq!(seen.last(), Some(&(5, 5)));
    let json = |g: &[topology::dataset::Group]| serde_json::to_string(g).unwrap();
    assert_eq!(json(&one), json(&two));

    let path = dir().join("d.json");
    save_dataset(&path, "settings", &one).unwrap();
    let back = load_dataset(&path).unwrap();
    assert_eq!(back.settings, "settings");
    assert_eq!(json(&back.groups), json(&one));
    for (a, b) in back.groups.iter().zip(&one) {
        for (x, y) in a.samples.iter().zip(&b.samples) {
            assert_eq!(x.features, y.features);
            assert_eq!(x.workflow.n_steps(), y.workflow.n_steps());
        }
    }
}

#[test]
fn a_bad_dataset_file_names_itself() {
    let path = dir().join("bad.json");
    std::fs::write(&path, "{\"settings\": 3}").unwrap();
    let e = load_dataset(&path).unwrap_err().to_string();
    assert!(
        e.contains("bad.json") && e.contains("not a topology dataset"),
        "{e}"
    );
    let missing = dir().join("missing.json");
    let e = load_dataset(&missing).unwrap_err().to_string();
    assert!(e.contains("missing.json"), "{e}");
}
