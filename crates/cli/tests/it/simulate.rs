//! `simulate`, `demo`, `validate`, `import` and `bench sim` through the binary.

use crate::{err_stderr, ok_stdout, root};

#[test]
fn simulate_json_has_the_documented_fields_and_is_deterministic() {
    let args = [
        "simulate",
        "--workflow",
        "examples/video.yaml",
        "--requests",
        "50",
        "--rate",
        "1",
        "--slo",
        "40",
        "--seed",
        "9",
        "--json",
    ];
    let a = ok_stdout(&args);
    let b = ok_stdout(&args);
    assert_eq!(a, b, "same seed, same bytes");
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert_eq!(v["requests"], 50);
    assert_eq!(v["seed"], 9);
    assert_eq!(v["slo_s"], 40.0);
    for k in ["mean", "p50", "p95", "p99"] {
        assert!(v["latency_s"][k].as_f64().unwrap() > 0.0, "latency_s.{k}");
    }
    assert!(v["cost_usd"]["mean"].as_f64().unwrap() > 0.0);
    assert!(v["cost_usd"]["total"].as_f64().unwrap() > v["cost_usd"]["mean"].as_f64().unwrap());
    assert!(v["cold_start_rate"].as_f64().is_some());
    assert!((0.0..=1.0).contains(&v["slo_attainment"].as_f64().unwrap()));
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 5);
    assert_eq!(steps[0]["name"], "extract");
    assert!(
        steps[0]["duration_s_mean"].as_f64().unwrap() > 0.0
            && steps[0]["cost_usd_mean"].as_f64().unwrap() > 0.0
    );
}

#[test]
fn simulate_table_and_demo_print_aligned_tables() {
    let out = ok_stdout(&[
        "simulate",
        "--workflow",
        "examples/synthetic16.yaml",
        "--requests",
        "20",
    ]);
    assert!(
        out.contains("latency p99 (s)") && out.contains("s16") && out.contains("seed 0"),
        "{out}"
    );
    let demo = ok_stdout(&["demo", "--requests", "20"]);
    assert!(
        demo.contains("super_resolution") && demo.contains("replan") && demo.contains("p99 (s)"),
        "{demo}"
    );
}

#[test]
fn infeasible_and_bad_inputs_get_clear_errors() {
    let dir = std::env::temp_dir().join(format!("faastune-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("oom.yaml");
    std::fs::write(&cfg, "default: {memory_mb: 1024, fan_out: 1, workers: 1}\nsteps:\n  extract: {memory_mb: 512, fan_out: 1, workers: 4}\n").unwrap();
    let e = err_stderr(&[
        "simulate",
        "--workflow",
        "examples/video.yaml",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert!(
        e.contains("step 'extract'") && e.contains("out of memory"),
        "{e}"
    );
    let bad = dir.join("cyclic.yaml");
    std::fs::write(&bad, "name: c\nsteps:\n  - {name: a, after: [b], jobs: 1, work_s: 1}\n  - {name: b, after: [a], jobs: 1, work_s: -2}\n").unwrap();
    let e = err_stderr(&["validate", bad.to_str().unwrap()]);
    assert!(
        e.contains("dependency cycle: a -> b -> a") && e.contains("work_s = -2"),
        "{e}"
    );
    let e = err_stderr(&[
        "simulate",
        "--workflow",
        "examples/video.yaml",
        "--rate",
        "NaN",
    ]);
    assert!(e.contains("rate"), "{e}");
    let e = err_stderr(&["simulate", "--workflow", "does/not/exist.yaml"]);
    assert!(e.contains("does/not/exist.yaml"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn import_writes_a_workflow_that_simulates() {
    let data = root().join("../shared/data/slapp-perfcost/evaluations/model/App16/App16.json");
    let yaml = ok_stdout(&["import", "--from", "asl", data.to_str().unwrap()]);
    let dir = std::env::temp_dir().join(format!("faastune-cli-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("app16.yaml");
    std::fs::write(&path, &yaml).unwrap();
    let cfg = dir.join("app16.config.yaml");
    std::fs::write(&cfg, "default: {memory_mb: 1024, fan_out: 1, workers: 1}\n").unwrap();
    let out = ok_stdout(&[
        "simulate",
        "--workflow",
        path.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--requests",
        "30",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["requests"], 30);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bench_sim_reports_throughput() {
    let out = ok_stdout(&[
        "bench",
        "sim",
        "--workflow",
        "examples/video.yaml",
        "--requests",
        "200",
        "--repeat",
        "1",
        "--platform",
        "bench/profiles/lambda-no-limits.yaml",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["throttles"], 0);
    assert_eq!(v["instance_executions"], 200 * (8 + 16 + 16 + 16 + 4));
    assert!(
        v["instance_executions_per_s"].as_f64().unwrap() > 0.0
            && v["events_per_s"].as_f64().unwrap() > 0.0
    );
}
