//! `plan`, `compare`, `sweep` and `fit` through the binary.

use crate::{err_stderr, ok_stdout, root};

#[test]
fn plan_json_has_the_documented_shape() {
    let out = ok_stdout(&[
        "plan",
        "--workflow",
        "examples/video.yaml",
        "--slo",
        "30",
        "--policy",
        "stepconf",
        "--model",
        "oracle",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["policy"], "stepconf");
    assert_eq!(v["slo_s"], 30.0);
    assert_eq!(v["feasible"], true);
    assert!(v["latency_s_pred"].as_f64().unwrap() <= 30.0 + 1e-9);
    assert!(v["cost_usd_pred"].as_f64().unwrap() > 0.0);
    assert!(!v["critical_path"].as_array().unwrap().is_empty());
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 5);
    for s in steps {
        for k in [
            "name",
            "memory_mb",
            "fan_out",
            "workers",
            "duration_s_pred",
            "cost_usd_pred",
            "sub_slo_s",
        ] {
            assert!(!s[k].is_null(), "missing {k} in {s}");
        }
    }
}

#[test]
fn impossible_slo_gives_a_flagged_best_effort_plan() {
    let out = ok_stdout(&[
        "plan",
        "--workflow",
        "examples/video.yaml",
        "--slo",
        "0.5",
        "--model",
        "oracle",
    ]);
    assert!(out.contains("INFEASIBLE"), "{out}");
    let e = err_stderr(&[
        "plan",
        "--workflow",
        "examples/video.yaml",
        "--slo",
        "30",
        "--policy",
        "fastest",
    ]);
    for name in [
        "stepconf",
        "no-no",
        "static",
        "intra-only",
        "inter-only",
        "optimal",
        "replan",
    ] {
        assert!(e.contains(name), "{e}");
    }
    let e = err_stderr(&["plan", "--workflow", "examples/video.yaml", "--slo=-3"]);
    assert!(e.to_lowercase().contains("slo"), "{e}");
}

#[test]
fn compare_runs_every_policy_on_one_stream() {
    let args = [
        "compare",
        "--workflow",
        "examples/video.yaml",
        "--slo",
        "35",
        "--requests",
        "40",
        "--seed",
        "3",
        "--json",
    ];
    let out = ok_stdout(&args);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = v["policies"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "stepconf",
            "no-no",
            "static",
            "intra-only",
            "inter-only",
            "optimal",
            "replan"
        ]
    );
    for r in rows {
        for k in [
            "slo_attainment",
            "cost_usd_mean",
            "latency_s_p50",
            "latency_s_p95",
            "latency_s_p99",
        ] {
            assert!(r[k].as_f64().is_some(), "missing {k}");
        }
        // Wall-clock decision times only with --timings.
        assert!(r.get("decision_us_p99").is_none(), "{r}");
    }
    assert_eq!(out, ok_stdout(&args), "same seed, same bytes");
    let mut timed = args.to_vec();
    timed.extend(["--timings", "--policies", "no-no,replan"]);
    let v: serde_json::Value = serde_json::from_str(&ok_stdout(&timed)).unwrap();
    for r in v["policies"].as_array().unwrap() {
        assert!(r["decision_us_p99"].as_f64().is_some(), "{r}");
    }
}

#[test]
fn sweep_csv_has_a_row_per_policy_and_slo() {
    let out = ok_stdout(&[
        "sweep",
        "--workflow",
        "examples/video.yaml",
        "--slo-from",
        "25",
        "--slo-to",
        "45",
        "--steps",
        "3",
        "--requests",
        "20",
        "--policies",
        "no-no,stepconf",
        "--model",
        "oracle",
        "--csv",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("slo_s,policy,slo_attainment,cost_usd_mean"));
    assert_eq!(lines.len(), 1 + 3 * 2, "{out}");
    let e = err_stderr(&[
        "sweep",
        "--workflow",
        "examples/video.yaml",
        "--slo-from",
        "40",
        "--slo-to",
        "20",
    ]);
    assert!(e.contains("--slo-from"), "{e}");
}

#[test]
fn fit_reads_aws_profiles() {
    let dot = root().join("../shared/data/slapp-perfcost/evaluations/alg/App3/App3_G.dot");
    let out = ok_stdout(&["fit", "--dot", dot.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let text = v.to_string();
    assert!(
        text.contains("max_rel_error") && text.contains("mean_rel_error"),
        "{text}"
    );
}
