//! `faastune train --scenario autoscale` and `faastune autoflow` end to end (with the `gnn` feature):
//! the training outputs, the agent beside every baseline, the reshape loop's switches and their cold
//! starts, determinism, and errors that name the file or flag.
#![cfg(feature = "gnn")]

use crate::{err_stderr, ok_stdout};

fn tmp(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("faastune-cli-autoflow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).display().to_string()
}

/// A small trained agent (2 iterations of 2 ten-minute episodes on pipeline5).
fn agent(name: &str) -> String {
    let out = tmp(name);
    let stdout = ok_stdout(&[
        "train",
        "--scenario",
        "autoscale",
        "--workflow",
        "examples/pipeline5.yaml",
        "--patterns",
        "steady,bursty",
        "--rates",
        "4",
        "--minutes",
        "10",
        "--algo",
        "a3c",
        "--hidden",
        "16",
        "--iterations",
        "2",
        "--episodes",
        "2",
        "--seed",
        "3",
        "--quiet",
        "--out",
        &out,
    ]);
    assert!(stdout.contains("iteration 2"), "{stdout}");
    out
}

#[test]
fn train_writes_the_agent_its_config_and_curve() {
    let out = agent("a.safetensors");
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.replace(".safetensors", ".json")).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["format"], "faastune-autoscale/1");
    assert_eq!(meta["config"]["algo"], "a3c");
    assert_eq!(meta["config"]["seed"], 3);
    assert_eq!(
        meta["config"]["scenario"]["settings"]["reward_baseline"],
        "initial"
    );
    assert_eq!(meta["iterations_done"], 2);
    let curve = std::fs::read_to_string(out.replace(".safetensors", ".csv")).unwrap();
    assert_eq!(curve.lines().count(), 3, "{curve}");
    assert!(curve.starts_with("iteration,episodes,decisions,mean_reward,cost_per_request_usd"));
}

#[test]
fn autoflow_runs_the_agent_beside_every_baseline_and_repeats_exactly() {
    let a = agent("b.safetensors");
    let args = [
        "autoflow",
        "--workflow",
        "examples/pipeline5.yaml",
        "--arrivals",
        "load:bursty",
        "--rate",
        "4",
        "--minutes",
        "15",
        "--agent",
        &a,
        "--json",
    ];
    let out = ok_stdout(&args);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["policy"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "agent",
            "static-mean",
            "static-peak",
            "stepconf",
            "target-tracking",
            "kpa"
        ]
    );
    for r in v["runs"].as_array().unwrap() {
        assert!(r["throughput_per_s"].as_f64().unwrap() > 3.0, "{r}");
        assert!(r["cost_usd_per_request"].as_f64().unwrap() > 0.0, "{r}");
        let u = r["utilisation"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&u), "{r}");
    }
    // Provisioned for the peak costs more than for the mean.
    let cost = |i: usize| v["runs"][i]["cost_usd_per_request"].as_f64().unwrap();
    assert!(cost(2) > cost(1));
    assert_eq!(out, ok_stdout(&args), "same seed, same bytes");
}

#[test]
fn the_reshape_loop_switches_topology_and_pays_fresh_cold_starts() {
    let a = agent("c.safetensors");
    let base = [
        "autoflow",
        "--workflow",
        "examples/pipeline5.yaml",
        "--rate",
        "4",
        "--minutes",
        "20",
        "--agent",
        &a,
        "--policies",
        "agent",
        "--json",
    ];
    let plain: serde_json::Value = serde_json::from_str(&ok_stdout(&base)).unwrap();
    let mut looped = base.to_vec();
    looped.extend([
        "--scorer",
        "models/topology-gcn.safetensors",
        "--reshape-every",
        "5",
        "--switch-margin=-1",
    ]);
    let v: serde_json::Value = serde_json::from_str(&ok_stdout(&looped)).unwrap();
    let switches = v["switches"].as_array().unwrap();
    assert!(!switches.is_empty(), "{v}");
    assert_eq!(switches[0]["at_s"], 300.0);
    assert!(!switches[0]["transforms"].as_array().unwrap().is_empty());
    // A new deployment starts with no warm instance: more cold starts than the run without switches.
    let cold = |x: &serde_json::Value| x["runs"][0]["cold_starts"].as_u64().unwrap();
    assert!(cold(&v) > cold(&plain), "{} vs {}", cold(&v), cold(&plain));
    // A margin no candidate can reach: no switch, and the run is the plain agent run.
    let mut never = base.to_vec();
    never.extend([
        "--scorer",
        "models/topology-gcn.safetensors",
        "--reshape-every",
        "5",
        "--switch-margin",
        "0.99",
    ]);
    let n: serde_json::Value = serde_json::from_str(&ok_stdout(&never)).unwrap();
    assert!(n["switches"].as_array().unwrap().is_empty());
    assert_eq!(n["runs"], plain["runs"]);
}

#[test]
fn bad_agents_and_flags_name_the_file_or_flag() {
    let e = err_stderr(&[
        "autoflow",
        "--workflow",
        "examples/pipeline5.yaml",
        "--agent",
        "no/such/agent.safetensors",
    ]);
    assert!(e.contains("no/such/agent.safetensors"), "{e}");
    // A topology scorer is not an agent.
    let e = err_stderr(&[
        "autoflow",
        "--workflow",
        "examples/pipeline5.yaml",
        "--agent",
        "models/topology-gcn.safetensors",
    ]);
    assert!(e.contains("topology-gcn.safetensors"), "{e}");
    let e = err_stderr(&[
        "autoflow",
        "--workflow",
        "examples/pipeline5.yaml",
        "--policies",
        "nonsense",
    ]);
    assert!(e.contains("nonsense"), "{e}");
    let e = err_stderr(&[
        "autoflow",
        "--workflow",
        "examples/pipeline5.yaml",
        "--minutes",
        "0",
    ]);
    assert!(e.contains("--minutes"), "{e}");
    let e = err_stderr(&[
        "train",
        "--scenario",
        "autoscale",
        "--patterns",
        "sideways",
        "--out",
        &tmp("x.safetensors"),
    ]);
    assert!(e.contains("sideways"), "{e}");
    let e = err_stderr(&[
        "train",
        "--scenario",
        "autoscale",
        "--reward-baseline",
        "median",
        "--out",
        &tmp("y.safetensors"),
    ]);
    assert!(
        e.contains("reward-baseline") || e.contains("reward_baseline"),
        "{e}"
    );
}

/// Issue 12's training target: the shipped agent's command (PPO, 600 iterations over pipeline5,
/// ecommerce, video and synthetic16 under all four load patterns; 197 s in a release build) gives an
/// agent that beats target tracking on the diurnal pattern on seeds never trained on: on video at each
/// of three seeds, and over video and synthetic16 together: cheaper, with p99 within 1% and SLO
/// attainment within 0.1 point. Minutes (more in a debug build); only with RUN_SLOW_TESTS=1.
#[test]
fn slow_training_beats_target_tracking_on_the_diurnal_pattern() {
    if std::env::var("RUN_SLOW_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: set RUN_SLOW_TESTS=1");
        return;
    }
    let out = tmp("diurnal.safetensors");
    ok_stdout(&[
        "train",
        "--scenario",
        "autoscale",
        "--workflow",
        "examples/pipeline5.yaml@5,examples/ecommerce.yaml@5,examples/video.yaml@0.5,examples/synthetic16.yaml@0.5",
        "--minutes",
        "30",
        "--algo",
        "ppo",
        "--iterations",
        "600",
        "--episodes",
        "8",
        "--workers",
        "2",
        "--entropy",
        "0.01",
        "--keep-prior",
        "1",
        "--k",
        "1.5",
        "--quiet",
        "--out",
        &out,
    ]);
    let f = |x: &serde_json::Value, k: &str| x[k].as_f64().unwrap();
    let (mut agent_cost, mut tt_cost) = (0.0, 0.0);
    for wf in ["examples/video.yaml", "examples/synthetic16.yaml"] {
        for seed in ["101", "102", "103"] {
            let v: serde_json::Value = serde_json::from_str(&ok_stdout(&[
                "autoflow",
                "--workflow",
                wf,
                "--arrivals",
                "load:diurnal",
                "--rate",
                "0.5",
                "--minutes",
                "60",
                "--seed",
                seed,
                "--agent",
                &out,
                "--policies",
                "agent,target-tracking",
                "--json",
            ]))
            .unwrap();
            let (a, t) = (&v["runs"][0], &v["runs"][1]);
            assert!(
                f(a, "latency_s_p99") <= 1.01 * f(t, "latency_s_p99")
                    && f(a, "slo_attainment") >= f(t, "slo_attainment") - 0.001,
                "{wf} seed {seed}: agent {a} vs target tracking {t}"
            );
            if wf.contains("video") {
                assert!(
                    f(a, "cost_usd_per_request") < f(t, "cost_usd_per_request"),
                    "{wf} seed {seed}: agent {a} vs target tracking {t}"
                );
            }
            agent_cost += f(a, "cost_usd_per_request");
            tt_cost += f(t, "cost_usd_per_request");
        }
    }
    assert!(
        agent_cost < tt_cost,
        "agent {agent_cost} vs target tracking {tt_cost}"
    );
}
