//! Honest determinism: the same seed gives byte-identical output from `compare`, `sweep`, `plan` and
//! `demo`; wall-clock decision times appear only with `--timings`.

use crate::ok_stdout;

fn twice(args: &[&str]) -> String {
    let a = ok_stdout(args);
    let b = ok_stdout(args);
    assert_eq!(a, b, "faastune {args:?}: same seed, different bytes");
    a
}

#[test]
fn compare_sweep_plan_and_demo_repeat_byte_for_byte() {
    let compare = twice(&[
        "compare",
        "--workflow",
        "examples/video.yaml",
        "--slo",
        "35",
        "--requests",
        "30",
        "--seed",
        "5",
        "--json",
    ]);
    assert!(!compare.contains("decision_us"), "{compare}");
    let sweep = twice(&[
        "sweep",
        "--workflow",
        "examples/video.yaml",
        "--slo-from",
        "25",
        "--slo-to",
        "45",
        "--steps",
        "2",
        "--requests",
        "20",
        "--seed",
        "5",
        "--json",
    ]);
    assert!(!sweep.contains("decision_us"), "{sweep}");
    let csv = twice(&[
        "sweep",
        "--workflow",
        "examples/video.yaml",
        "--slo-from",
        "25",
        "--slo-to",
        "45",
        "--steps",
        "2",
        "--requests",
        "10",
        "--model",
        "oracle",
        "--csv",
    ]);
    assert!(!csv.contains("decision_us"), "{csv}");
    twice(&[
        "plan",
        "--workflow",
        "examples/video.yaml",
        "--slo",
        "30",
        "--seed",
        "5",
        "--json",
    ]);
    let demo = twice(&["demo", "--requests", "20", "--seed", "5"]);
    assert!(!demo.contains("decision"), "{demo}");
}

#[test]
fn timings_flag_adds_the_wall_clock_columns() {
    let demo = ok_stdout(&["demo", "--requests", "5", "--model", "oracle", "--timings"]);
    assert!(demo.contains("decision p99 (us)"), "{demo}");
    let csv = ok_stdout(&[
        "sweep",
        "--workflow",
        "examples/video.yaml",
        "--slo-from",
        "25",
        "--slo-to",
        "45",
        "--steps",
        "2",
        "--requests",
        "5",
        "--model",
        "oracle",
        "--policies",
        "no-no",
        "--csv",
        "--timings",
    ]);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].ends_with(",decision_us_p99"), "{csv}");
    assert_eq!(lines[1].split(',').count(), 9, "{csv}");
}
