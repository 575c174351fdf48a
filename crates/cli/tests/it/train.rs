//! `faastune train` and `alloc --policies rl:FILE` end to end (with the `gnn` feature), and the error a
//! build without it gives.

use crate::err_stderr;
#[cfg(feature = "gnn")]
use crate::ok_stdout;

fn tmp(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("faastune-cli-train-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).display().to_string()
}

#[cfg(feature = "gnn")]
#[test]
fn train_writes_checkpoint_config_and_curve_and_alloc_evaluates_it() {
    let out = tmp("ppo.safetensors");
    let args = [
        "train",
        "--scenario",
        "deeprm",
        "--load",
        "1.3",
        "--algo",
        "ppo",
        "--hidden",
        "16",
        "--iterations",
        "2",
        "--episodes",
        "2",
        "--seed",
        "4",
        "--quiet",
        "--out",
        &out,
    ];
    let stdout = ok_stdout(&args);
    assert!(stdout.contains("iteration 2"), "{stdout}");
    let json = std::fs::read_to_string(out.replace(".safetensors", ".json")).unwrap();
    let meta: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(meta["config"]["seed"], 4);
    assert_eq!(meta["config"]["algo"], "ppo");
    assert_eq!(meta["config"]["scenario"]["scenario"], "deeprm");
    assert_eq!(meta["iterations_done"], 2);
    assert!(
        meta["command"]
            .as_str()
            .unwrap()
            .starts_with("faastune train")
    );
    let curve = std::fs::read_to_string(out.replace(".safetensors", ".csv")).unwrap();
    let lines: Vec<&str> = curve.lines().collect();
    assert_eq!(lines.len(), 3, "{curve}");
    assert!(lines[0].starts_with("iteration,episodes,decisions,mean_reward,mean_slowdown,entropy"));
    // Same seed, same bytes.
    let weights = std::fs::read(&out).unwrap();
    ok_stdout(&args);
    assert_eq!(weights, std::fs::read(&out).unwrap());
    // Resume to 3 iterations: the curve grows by one row.
    let resumed = ok_stdout(&[
        "train",
        "--resume",
        &out,
        "--iterations",
        "3",
        "--quiet",
        "--out",
        &out,
    ]);
    assert!(resumed.contains("iteration 3"), "{resumed}");
    let curve = std::fs::read_to_string(out.replace(".safetensors", ".csv")).unwrap();
    assert_eq!(curve.lines().count(), 4, "{curve}");
    // Evaluate next to the heuristics.
    let rl = format!("rl:{out}");
    let table = ok_stdout(&[
        "alloc",
        "--scenario",
        "deeprm",
        "--load",
        "1.3",
        "--jobsets",
        "3",
        "--simu-len",
        "30",
        "--policies",
        &format!("tetris,{rl}"),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&table).unwrap();
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1]["policy"], rl.as_str());
    assert!(runs[1]["slowdown_mean"].as_f64().unwrap() >= 1.0);
    // Both ran the same job sets.
    assert_eq!(runs[0]["n_arrived"], runs[1]["n_arrived"]);
}

#[cfg(feature = "gnn")]
#[test]
fn bad_train_and_rl_inputs_get_clear_errors() {
    let missing = tmp("nope.safetensors");
    let e = err_stderr(&[
        "alloc",
        "--scenario",
        "deeprm",
        "--load",
        "1",
        "--policies",
        &format!("tetris,rl:{missing}"),
    ]);
    assert!(e.contains("nope.safetensors") && e.contains("rl:"), "{e}");
    let e = err_stderr(&[
        "train",
        "--scenario",
        "deeprm",
        "--algo",
        "sarsa",
        "--out",
        &tmp("x.safetensors"),
    ]);
    assert!(e.contains("--algo") && e.contains("sarsa"), "{e}");
    let e = err_stderr(&[
        "train",
        "--scenario",
        "deeprm",
        "--load=-1",
        "--out",
        &tmp("x.safetensors"),
    ]);
    assert!(e.contains("loads"), "{e}");
    let e = err_stderr(&["train", "--algo", "ppo", "--out", &tmp("x.safetensors")]);
    assert!(e.contains("--scenario"), "{e}");
    // A DeepRM checkpoint refused in serverless mode.
    let out = tmp("deeprm.safetensors");
    ok_stdout(&[
        "train",
        "--scenario",
        "deeprm",
        "--hidden",
        "8",
        "--iterations",
        "1",
        "--episodes",
        "1",
        "--quiet",
        "--out",
        &out,
    ]);
    let e = err_stderr(&[
        "alloc",
        "--scenario",
        "serverless",
        "--policies",
        &format!("rl:{out}"),
    ]);
    assert!(e.contains("trained for --scenario deeprm"), "{e}");
}

#[cfg(not(feature = "gnn"))]
#[test]
fn train_without_the_gnn_feature_says_how_to_build_it() {
    let e = err_stderr(&[
        "train",
        "--scenario",
        "deeprm",
        "--out",
        &tmp("x.safetensors"),
    ]);
    assert!(e.contains("--features gnn"), "{e}");
    let e = err_stderr(&[
        "alloc",
        "--scenario",
        "deeprm",
        "--policies",
        "rl:x.safetensors",
    ]);
    assert!(e.contains("gnn"), "{e}");
}

/// The checkpoints shipped in `models/` come out of the commands recorded in them, weight for weight.
/// Minutes each; only with RUN_SLOW_TESTS=1.
#[cfg(feature = "gnn")]
#[test]
fn slow_shipped_models_reproduce_from_their_recorded_commands() {
    if std::env::var("RUN_SLOW_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: set RUN_SLOW_TESTS=1");
        return;
    }
    let root = crate::root();
    let mut n = 0;
    for entry in std::fs::read_dir(root.join("models")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("safetensors") {
            continue;
        }
        let (meta, weights) = learn::checkpoint::read(&path).unwrap();
        let command = meta.command.expect("recorded command");
        let mut args: Vec<String> = command
            .split_whitespace()
            .skip(1)
            .map(String::from)
            .collect();
        let out = tmp(&format!("repro-{n}.safetensors"));
        let at = args
            .iter()
            .position(|a| a == "--out")
            .expect("--out in the command");
        args[at + 1] = out.clone();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok_stdout(&args);
        let (_, again) = learn::checkpoint::read(std::path::Path::new(&out)).unwrap();
        assert!(
            weights == again,
            "{} does not reproduce from: {command}",
            path.display()
        );
        n += 1;
    }
    assert!(n >= 3, "expected the shipped checkpoints, found {n}");
}
