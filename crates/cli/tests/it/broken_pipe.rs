//! Writing to a closed pipe (`faastune ... | head -1`) ends the run quietly: exit status 0 and nothing
//! on standard error, never a panic.

use std::process::{Command, Stdio};

use crate::root;

/// Runs the binary with standard output a pipe whose reading end is already closed, so its first
/// write fails with a broken pipe.
fn run_with_closed_stdout(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_faastune"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("binary runs")
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let asl = root().join("../shared/data/slapp-perfcost/evaluations/model/App16/App16.json");
    let asl = asl.to_str().unwrap();
    let commands: &[&[&str]] = &[
        &["import", "--from", "asl", asl],
        &["import", "--from", "asl", asl, "--json"],
        &["validate", "examples/video.yaml"],
        &[
            "simulate",
            "--workflow",
            "examples/video.yaml",
            "--requests",
            "5",
        ],
        &[
            "simulate",
            "--workflow",
            "examples/video.yaml",
            "--requests",
            "5",
            "--json",
        ],
        &[
            "plan",
            "--workflow",
            "examples/video.yaml",
            "--slo",
            "30",
            "--model",
            "oracle",
        ],
        &[
            "compare",
            "--workflow",
            "examples/video.yaml",
            "--slo",
            "30",
            "--requests",
            "5",
            "--model",
            "oracle",
            "--policies",
            "no-no",
            "--json",
        ],
        &[
            "sweep",
            "--workflow",
            "examples/video.yaml",
            "--slo-from",
            "20",
            "--slo-to",
            "40",
            "--steps",
            "2",
            "--requests",
            "5",
            "--model",
            "oracle",
            "--policies",
            "no-no",
            "--csv",
        ],
        &["demo", "--requests", "5", "--model", "oracle"],
        &[
            "alloc",
            "--scenario",
            "deeprm",
            "--load",
            "0.5",
            "--jobsets",
            "1",
            "--simu-len",
            "10",
            "--policies",
            "fcfs",
        ],
        &[
            "bench",
            "sim",
            "--workflow",
            "examples/video.yaml",
            "--requests",
            "10",
            "--repeat",
            "1",
        ],
        &["--help"],
    ];
    for args in commands {
        let out = run_with_closed_stdout(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "faastune {args:?} with a closed stdout: {:?}\n{stderr}",
            out.status
        );
    }
}
