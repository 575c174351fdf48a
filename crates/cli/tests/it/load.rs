//! `simulate` under load (issue 10): time-varying arrivals, a horizon, controllers and the monitoring
//! stream through the binary; bad load options are errors naming the option, before anything runs.

use crate::{err_stderr, ok_stdout};

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("faastune-cli-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn a_controlled_run_writes_the_same_summary_and_metrics_every_time() {
    let run = |file: &std::path::Path| {
        let json = ok_stdout(&[
            "simulate",
            "--workflow",
            "examples/pipeline5.yaml",
            "--arrivals",
            "pattern:bursty:20",
            "--minutes",
            "5",
            "--controller",
            "target-tracking",
            "--metrics",
            file.to_str().unwrap(),
            "--metrics-interval",
            "30",
            "--seed",
            "4",
            "--json",
        ]);
        (json, std::fs::read_to_string(file).unwrap())
    };
    let (a, ma) = run(&tmp("a.csv"));
    let (b, mb) = run(&tmp("b.csv"));
    assert_eq!(a, b, "same seed, same bytes");
    assert_eq!(ma, mb, "same seed, same metrics");
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    let load = &v["load"];
    assert_eq!(load["controller"], "target-tracking");
    assert_eq!(load["arrivals"], "pattern:bursty:20");
    let arrived = load["n_arrived"].as_u64().unwrap();
    assert!(arrived > 2_000, "{load}");
    assert_eq!(
        arrived,
        load["n_completed"].as_u64().unwrap()
            + load["n_failed_throttled"].as_u64().unwrap()
            + load["n_running"].as_u64().unwrap()
    );
    assert_eq!(v["makespan_s"], 300.0);
    // Ten 30-second windows, each a workflow row and one row per function (plus provisioned rows).
    let lines: Vec<&str> = ma.lines().collect();
    assert!(
        lines[0].starts_with("start_s,end_s,scope,name"),
        "{}",
        lines[0]
    );
    let workflow_rows = lines.iter().filter(|l| l.contains(",workflow,")).count();
    assert_eq!(workflow_rows, 10);
    let validate_rows = lines
        .iter()
        .filter(|l| l.contains(",function,validate,"))
        .count();
    assert_eq!(validate_rows, 10);
}

#[test]
fn the_summary_table_shows_load_figures() {
    let out = ok_stdout(&[
        "simulate",
        "--workflow",
        "examples/pipeline5.yaml",
        "--arrivals",
        "poisson:50",
        "--minutes",
        "1",
    ]);
    for row in [
        "throughput (requests/s)",
        "throttles",
        "retries",
        "failed by throttling",
    ] {
        assert!(out.contains(row), "{row}: {out}");
    }
}

#[test]
fn bad_load_options_are_errors_naming_the_option() {
    let base = ["simulate", "--workflow", "examples/pipeline5.yaml"];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        err_stderr(&args)
    };
    let e = with(&["--arrivals", "sometimes:3"]);
    assert!(e.contains("--arrivals sometimes:3"), "{e}");
    let e = with(&["--controller", "pid"]);
    assert!(
        e.contains("--controller pid") && e.contains("target-tracking"),
        "{e}"
    );
    let e = with(&["--metrics", "m.xlsx"]);
    assert!(e.contains("m.xlsx") && e.contains(".csv"), "{e}");
    let e = with(&["--metrics", "/no/such/dir/m.csv"]);
    assert!(
        e.contains("/no/such/dir") && e.contains("does not exist"),
        "{e}"
    );
    let e = with(&["--minutes=-1"]);
    assert!(e.contains("--minutes"), "{e}");
    let schedule = tmp("actions.txt");
    std::fs::write(
        &schedule,
        "10 validate reserved=5\n20 ghost provisioned=3 memory=1769\n",
    )
    .unwrap();
    let spec = format!("schedule:{}", schedule.display());
    let e = with(&["--controller", &spec, "--minutes", "1"]);
    assert!(
        e.contains("actions.txt") && e.contains(":2") && e.contains("ghost"),
        "{e}"
    );
    let rates = tmp("rates.txt");
    std::fs::write(&rates, "0 10\n60 lots\n").unwrap();
    let spec = format!("schedule:{}", rates.display());
    let e = with(&["--arrivals", &spec, "--minutes", "1"]);
    assert!(e.contains("rates.txt:2"), "{e}");
    let profile = tmp("neg.yaml");
    std::fs::write(&profile, "concurrency:\n  account_limit: -1\n").unwrap();
    let e = with(&["--platform", profile.to_str().unwrap()]);
    assert!(e.contains("neg.yaml") && e.contains("account_limit"), "{e}");
}
