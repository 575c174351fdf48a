//! End-to-end tests of the `faastune` binary: outputs, JSON shape, determinism and error messages.

mod alloc;
mod autoflow;
#[cfg(feature = "aws")]
mod aws;
mod broken_pipe;
mod file_errors;
mod fit_few_samples;
mod huge_numbers;
mod load;
mod model_file;
mod report;
mod reshape;
mod same_seed_same_bytes;
#[cfg(feature = "serve")]
mod serve;
mod simulate;
mod stepconf;
mod train;

use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the binary with `args` from the repository root.
pub fn faastune(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faastune"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("binary runs")
}

/// Stdout as text, asserting success.
pub fn ok_stdout(args: &[&str]) -> String {
    let out = faastune(args);
    assert!(
        out.status.success(),
        "faastune {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Stderr as text, asserting failure.
pub fn err_stderr(args: &[&str]) -> String {
    let out = faastune(args);
    assert!(!out.status.success(), "faastune {args:?} should fail");
    String::from_utf8(out.stderr).expect("utf-8 output")
}
