//! `faastune alloc --cpu-model`: the shared-CPU model is a setting of the serverless scenario, named in
//! the JSON settings when chosen, and changes the outcome under contention.

use crate::{err_stderr, ok_stdout, root};

fn run(extra: &[&str]) -> serde_json::Value {
    let trace = root().join(
        "../shared/data/azure-functions-samples/example_at_a1df629/Azure2021/Azure2021_200.csv",
    );
    let trace = trace.to_str().unwrap().to_owned();
    let mut args = vec![
        "alloc",
        "--scenario",
        "serverless",
        "--trace",
        &trace,
        "--load",
        "30",
        "--policies",
        "fcfs",
        "--seed",
        "1",
        "--json",
    ];
    args.extend(extra);
    serde_json::from_str(&ok_stdout(&args)).unwrap()
}

#[test]
fn the_shared_cpu_model_is_a_named_setting_that_changes_contended_runs() {
    let reserved = run(&[]);
    let shared = run(&["--cpu-model", "shared"]);
    assert!(
        reserved["settings"].get("cpu_model").is_none(),
        "{reserved}"
    );
    assert_eq!(shared["settings"]["cpu_model"], "shared");
    assert_eq!(
        run(&["--cpu-model", "reserved"]),
        reserved,
        "the default, explicitly"
    );
    let (r, s) = (&reserved["runs"][0], &shared["runs"][0]);
    assert_eq!(r["n_finished"], s["n_finished"]);
    assert_ne!(
        r["slowdown_mean"], s["slowdown_mean"],
        "30x the trace contends for CPU: sharing it changes the slowdowns"
    );
    let e = err_stderr(&["alloc", "--scenario", "serverless", "--cpu-model", "fair"]);
    assert!(e.contains("--cpu-model"), "{e}");
}
