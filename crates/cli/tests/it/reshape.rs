//! `faastune reshape` end to end: ranked topologies verified beside the original, the same bytes for
//! the same seed, the chosen topology written as a valid workflow, and errors naming the flag.

use crate::{err_stderr, ok_stdout};

#[test]
fn reshape_verifies_writes_a_valid_topology_and_repeats_its_bytes() {
    let dir = std::env::temp_dir().join(format!("faastune-cli-reshape-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("chosen.yaml").display().to_string();
    let args = [
        "reshape",
        "--workflow",
        "examples/pipeline5.yaml",
        "--rate",
        "2",
        "--requests",
        "60",
        "--depth",
        "2",
        "--width",
        "3",
        "--top",
        "3",
        "--seed",
        "5",
        "--json",
        "--out",
        &out,
    ];
    let a = ok_stdout(&args);
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert_eq!(v["seed"], 5);
    assert_eq!(v["ranked"].as_array().unwrap().len(), 3);
    assert!(
        v["original"]["measured"]["cost_usd_per_request"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(!v["verdict"].as_str().unwrap().is_empty());
    let written = std::fs::read_to_string(&out).unwrap();
    workflow::Workflow::from_str_auto(&written, "chosen.yaml").unwrap();
    assert_eq!(ok_stdout(&args), a, "same seed, same bytes");
    // The table names the original.
    let table = ok_stdout(&[
        "reshape",
        "--workflow",
        "examples/pipeline5.yaml",
        "--requests",
        "40",
    ]);
    assert!(
        table.contains("(original)") && table.contains("chosen:"),
        "{table}"
    );
}

#[test]
fn reshape_errors_name_the_flag() {
    let e = err_stderr(&[
        "reshape",
        "--workflow",
        "examples/pipeline5.yaml",
        "--scorer",
        "magic",
    ]);
    assert!(e.contains("--scorer magic"), "{e}");
    let e = err_stderr(&[
        "reshape",
        "--workflow",
        "examples/pipeline5.yaml",
        "--goal",
        "fame",
    ]);
    assert!(e.contains("--goal"), "{e}");
    let e = err_stderr(&[
        "reshape",
        "--workflow",
        "examples/pipeline5.yaml",
        "--rate=-1",
    ]);
    assert!(e.contains("--rate"), "{e}");
    let e = err_stderr(&["reshape", "--workflow", "no/such.yaml"]);
    assert!(e.contains("no/such.yaml"), "{e}");
}
