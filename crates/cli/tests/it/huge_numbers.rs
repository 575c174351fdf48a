//! Huge but finite numbers on the command line are errors naming the flag and its bound, returned
//! before anything runs or allocates (never a panic, a hang or a wrapped value).

use crate::err_stderr;

fn rejects(args: &[&str], flag: &str) {
    let e = err_stderr(args);
    assert!(
        e.contains(flag) && !e.contains("panicked"),
        "faastune {args:?} should name {flag}:\n{e}"
    );
}

#[test]
fn flags_beyond_their_bounds_are_errors_naming_the_flag() {
    let sim = ["simulate", "--workflow", "examples/video.yaml"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        sim.iter().chain(extra).copied().collect()
    };
    rejects(&with(&["--requests", "18446744073709551615"]), "requests");
    rejects(
        &with(&["--requests", "18446744073709551615", "--json"]),
        "100000000",
    );
    rejects(&with(&["--rate", "1e300"]), "rate");
    rejects(&with(&["--rate", "1e-300"]), "rate");
    rejects(&with(&["--slo", "1e300"]), "slo");
    rejects(
        &[
            "compare",
            "--workflow",
            "examples/video.yaml",
            "--slo",
            "1e300",
            "--model",
            "oracle",
        ],
        "--slo 1e300",
    );
    rejects(
        &[
            "sweep",
            "--workflow",
            "examples/video.yaml",
            "--slo-from",
            "1",
            "--slo-to",
            "1e300",
        ],
        "--slo-to 1e300",
    );
    rejects(
        &[
            "sweep",
            "--workflow",
            "examples/video.yaml",
            "--slo-from",
            "1",
            "--slo-to",
            "2",
            "--steps",
            "18446744073709551615",
        ],
        "--steps",
    );
    rejects(
        &["demo", "--requests", "18446744073709551615"],
        "--requests",
    );
    rejects(&["demo", "--slo", "1e300"], "--slo");
    rejects(
        &[
            "bench",
            "sim",
            "--workflow",
            "examples/video.yaml",
            "--requests",
            "18446744073709551615",
        ],
        "requests",
    );
    let alloc = ["alloc", "--scenario", "deeprm", "--policies", "fcfs"];
    let alloc_with = |extra: &[&'static str]| -> Vec<&'static str> {
        alloc.iter().chain(extra).copied().collect()
    };
    rejects(&alloc_with(&["--load", "1e300"]), "--load");
    rejects(
        &alloc_with(&["--jobsets", "18446744073709551615"]),
        "--jobsets",
    );
    rejects(
        &alloc_with(&["--simu-len", "18446744073709551615"]),
        "--simu-len",
    );
    rejects(
        &alloc_with(&["--jobsets", "100000", "--simu-len", "100000"]),
        "arrival steps",
    );
    rejects(
        &[
            "alloc",
            "--scenario",
            "serverless",
            "--minutes",
            "18446744073709551615",
        ],
        "--minutes",
    );
}

#[test]
fn a_platform_profile_beyond_its_bounds_names_every_field() {
    let path =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-it-huge-profile.yaml");
    std::fs::write(
        &path,
        "memory_mb_max: 4294967295\nkeep_alive_s: 1e300\ncold_start: {mean_s: 1e300}\n",
    )
    .unwrap();
    let e = err_stderr(&[
        "simulate",
        "--workflow",
        "examples/video.yaml",
        "--platform",
        path.to_str().unwrap(),
    ]);
    for field in [
        "memory_mb_max = 4294967295",
        "keep_alive_s = 1e300",
        "cold_start.mean_s = 1e300",
    ] {
        assert!(e.contains(field), "{field}:\n{e}");
    }
}
