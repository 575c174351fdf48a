//! A missing file or a file that is not UTF-8 is reported once (workflows, profiles, configs, samples): its path, the operating system's
//! message or the byte offset and line of the first invalid byte, each printed a single time.

use std::path::PathBuf;

use crate::err_stderr;

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("cli-it-{name}"));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn a_missing_file_is_reported_once() {
    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-it-no-such-file.yaml");
    let missing = missing.to_str().unwrap();
    for args in [
        vec!["validate", missing],
        vec!["simulate", "--workflow", missing],
        vec![
            "simulate",
            "--workflow",
            "examples/video.yaml",
            "--platform",
            missing,
        ],
        vec![
            "simulate",
            "--workflow",
            "examples/video.yaml",
            "--config",
            missing,
        ],
        vec!["fit", "--samples", missing],
    ] {
        let e = err_stderr(&args);
        assert_eq!(count(&e, "No such file or directory"), 1, "{args:?}:\n{e}");
        assert!(
            e.starts_with("error: ") && e.contains(missing),
            "{args:?}:\n{e}"
        );
        assert_eq!(e.lines().count(), 1, "{args:?}:\n{e}");
    }
}

#[test]
fn invalid_utf8_names_its_byte_once() {
    // The 0xff is byte 23 of line 2.
    let bad = write("bad-utf8.yaml", b"name: x\nkeep_alive_s: 6\xff0\n");
    let bad = bad.to_str().unwrap();
    for args in [
        vec!["validate", bad],
        vec!["simulate", "--workflow", bad],
        vec!["fit", "--samples", bad],
        vec![
            "simulate",
            "--workflow",
            "examples/video.yaml",
            "--platform",
            bad,
        ],
        vec![
            "simulate",
            "--workflow",
            "examples/video.yaml",
            "--config",
            bad,
        ],
    ] {
        let e = err_stderr(&args);
        assert_eq!(
            count(&e, "not valid UTF-8 at byte 23 (line 2)"),
            1,
            "{args:?}:\n{e}"
        );
        assert!(e.contains(bad), "{args:?}:\n{e}");
    }
}
