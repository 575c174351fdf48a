//! Choice branches: one successor runs, the others are skipped, joins still run, fail steps count.

use platform::StepConfig;
use workflow::{ChoiceSpec, StepSpec};

use crate::{deterministic, run_fixed, task, workflow};

#[test]
fn choice_runs_one_branch_and_the_join_always_runs() {
    let choice = StepSpec {
        name: "c".into(),
        kind: Some("choice".into()),
        after: vec!["a".into()],
        choices: vec![
            ChoiceSpec {
                next: "x".into(),
                probability: Some(0.25),
            },
            ChoiceSpec {
                next: "y".into(),
                probability: None,
            },
        ],
        ..Default::default()
    };
    let wf = workflow(vec![
        task("a", &[], 1, 1.0, 0.0),
        choice,
        task("x", &["c"], 1, 2.0, 0.0),
        task("y", &["c"], 1, 4.0, 0.0),
        task("join", &["x", "y"], 1, 1.0, 0.0),
    ]);
    let platform = deterministic(|_| {});
    let cfg = vec![StepConfig::new(1769, 1, 1); 5];
    let n = 2000;
    let r = run_fixed(&wf, &platform, cfg, n, 10.0, 5);
    let x_runs = r.steps[2].n_runs;
    let y_runs = r.steps[3].n_runs;
    assert_eq!(x_runs + y_runs, n, "exactly one branch per request");
    assert_eq!(r.steps[4].n_runs, n, "the join runs in every request");
    // Binomial(2000, 0.25): mean 500, sd 19.4; 5 sd either side.
    assert!((403..=597).contains(&x_runs), "x ran {x_runs} times");
    for rec in &r.request_records {
        let expected = if rec.step_duration_s[2].is_some() {
            4.0
        } else {
            6.0
        };
        assert_eq!(rec.latency_s, expected);
        assert_eq!(
            rec.step_duration_s[2].is_some(),
            rec.step_duration_s[3].is_none()
        );
        // Transitions: a, c, one branch, join = 4; the choice step costs nothing else.
    }
}

#[test]
fn fail_steps_mark_requests_failed() {
    let choice = StepSpec {
        name: "c".into(),
        kind: Some("choice".into()),
        after: vec!["a".into()],
        ..Default::default()
    };
    let fail = StepSpec {
        name: "boom".into(),
        kind: Some("fail".into()),
        after: vec!["c".into()],
        ..Default::default()
    };
    let wf = workflow(vec![
        task("a", &[], 1, 1.0, 0.0),
        choice,
        fail,
        task("ok", &["c"], 1, 1.0, 0.0),
    ]);
    let platform = deterministic(|_| {});
    let r = run_fixed(
        &wf,
        &platform,
        vec![StepConfig::new(1769, 1, 1); 4],
        400,
        10.0,
        2,
    );
    assert_eq!(r.n_failed, r.steps[2].n_runs);
    assert_eq!(r.steps[2].n_runs + r.steps[3].n_runs, 400);
    assert!(
        r.n_failed > 120 && r.n_failed < 280,
        "uniform choice: {}",
        r.n_failed
    );
}
