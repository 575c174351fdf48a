//! Workflows under load in the workflow format: per-step and workflow-level `retry` (Step Functions'
//! Retrier, its defaults and rules), `max_concurrency`, their validation with places, round trips, and
//! their import from ASL `Retry` blocks and Map `MaxConcurrency`.

use proptest::prelude::*;
use workflow::import::{Format, ImportOptions, import_str};
use workflow::limits::{MAX_RETRY_ATTEMPTS, MAX_RETRY_DELAY_S};
use workflow::{Error, Jitter, ProblemKind, RetryPolicy, RetrySpec, Workflow, WorkflowSpec};

use crate::{round_trip, step};

fn parse(yaml: &str) -> WorkflowSpec {
    WorkflowSpec::from_yaml_str(yaml, "w.yaml").unwrap_or_else(|e| panic!("{e}"))
}

fn load(yaml: &str) -> Workflow {
    Workflow::from_spec(&parse(yaml), "w.yaml").unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

/// The problems of an invalid workflow, as `place: kind` lines.
fn problems(yaml: &str) -> Vec<String> {
    match Workflow::from_spec(&parse(yaml), "w.yaml") {
        Err(Error::Invalid { problems, .. }) => problems.iter().map(|p| p.to_string()).collect(),
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

#[test]
fn missing_fields_take_step_functions_defaults() {
    let d = RetryPolicy::default();
    assert_eq!(
        d,
        RetryPolicy {
            interval_s: 1.0,
            backoff_rate: 2.0,
            max_attempts: 3,
            max_delay_s: None,
            jitter: Jitter::None,
        }
    );
    let wf = load("name: w\nsteps:\n- {name: a, jobs: 1, work_s: 1, retry: {}}\n");
    assert_eq!(step(&wf, "a").retry, Some(d));
    let wf = load("name: w\nsteps:\n- {name: a, jobs: 1, work_s: 1, retry: {max_attempts: 7}}\n");
    assert_eq!(
        step(&wf, "a").retry,
        Some(RetryPolicy {
            max_attempts: 7,
            ..d
        })
    );
}

#[test]
fn no_retry_anywhere_means_no_retrier_and_no_concurrency_bound() {
    let wf = load("name: w\nsteps:\n- {name: a, jobs: 4, work_s: 1}\n");
    assert_eq!(step(&wf, "a").retry, None);
    assert_eq!(step(&wf, "a").max_concurrency, None);
    assert_eq!(wf.retry, None);
}

const LOADED: &str = "\
name: w
retry: {interval_s: 2, backoff_rate: 1.5, max_attempts: 5, jitter: full}
steps:
- {name: a, jobs: 1, work_s: 1}
- {name: b, after: [a], jobs: 8, work_s: 1, max_concurrency: 2,
   retry: {interval_s: 0.25, max_attempts: 0, max_delay_s: 10}}
- {name: p, kind: pass, after: [b], wait_s: 1}
";

#[test]
fn the_workflow_retry_is_inherited_and_a_step_retry_overrides_it() {
    let wf = load(LOADED);
    let default = RetryPolicy {
        interval_s: 2.0,
        backoff_rate: 1.5,
        max_attempts: 5,
        max_delay_s: None,
        jitter: Jitter::Full,
    };
    assert_eq!(wf.retry, Some(default));
    assert_eq!(step(&wf, "a").retry, Some(default));
    // The step's own retrier replaces the default as a whole: its missing fields take Step Functions'
    // defaults, not the workflow's.
    assert_eq!(
        step(&wf, "b").retry,
        Some(RetryPolicy {
            interval_s: 0.25,
            backoff_rate: 2.0,
            max_attempts: 0,
            max_delay_s: Some(10.0),
            jitter: Jitter::None,
        })
    );
    assert_eq!(step(&wf, "b").max_concurrency, Some(2));
    // A pass step has no invocation to throttle.
    assert_eq!(step(&wf, "p").retry, None);
}

#[test]
fn retry_and_max_concurrency_round_trip_and_the_default_is_written_once() {
    let spec = parse(LOADED);
    let wf = round_trip(&spec);
    let back = wf.to_spec();
    assert_eq!(
        back.retry.as_ref().and_then(|r| r.jitter.as_deref()),
        Some("full")
    );
    assert_eq!(back.steps[0].retry, None, "a inherits the default");
    assert_eq!(
        back.steps[1].retry,
        Some(RetrySpec {
            interval_s: Some(0.25),
            backoff_rate: Some(2.0),
            max_attempts: Some(0),
            max_delay_s: Some(10.0),
            jitter: Some("none".into()),
        })
    );
    assert_eq!(back.steps[1].max_concurrency, Some(2));
    assert_eq!(Workflow::from_spec(&back, "back").unwrap(), wf);
    round_trip(&back);
    let yaml = back.to_yaml();
    assert!(yaml.contains("max_concurrency: 2"), "{yaml}");
    assert!(yaml.contains("jitter: full"), "{yaml}");
}

#[test]
fn every_bad_retry_field_is_reported_with_its_step_and_field() {
    let got = problems(
        "\
name: w
retry: {backoff_rate: 0.5}
steps:
- {name: a, jobs: 1, work_s: 1, retry: {backoff_rate: 0.5}}
- {name: b, jobs: 1, work_s: 1, retry: {interval_s: 0}}
- {name: c, jobs: 1, work_s: 1, retry: {interval_s: 86401}}
- {name: d, jobs: 1, work_s: 1, retry: {max_delay_s: 0}}
- {name: e, jobs: 1, work_s: 1, retry: {max_attempts: 100000000}}
- {name: f, jobs: 1, work_s: 1, retry: {jitter: FULL}}
- {name: g, jobs: 1, work_s: 1, retry: {backoff_rate: .inf, interval_s: .nan}}
- {name: h, kind: pass, retry: {}}
- {name: i, jobs: 2, work_s: 1, max_concurrency: 0}
- {name: j, kind: pass, max_concurrency: 3}
",
    );
    let expected = [
        "workflow 'w': retry.backoff_rate = 0.5: must be a finite number >= 1",
        "step 'a' (steps[0]): retry.backoff_rate = 0.5: must be a finite number >= 1",
        "step 'b' (steps[1]): retry.interval_s = 0: must be a finite number > 0 and <= 86400",
        "step 'c' (steps[2]): retry.interval_s = 86401: must be a finite number > 0 and <= 86400",
        "step 'd' (steps[3]): retry.max_delay_s = 0: must be a finite number > 0 and <= 86400",
        "step 'e' (steps[4]): retry.max_attempts = 100000000: must be <= 99999999 (0 never retries)",
        "step 'f' (steps[5]): retry.jitter: 'FULL' is not one of full, none",
        "step 'g' (steps[6]): retry.interval_s = NaN: must be a finite number > 0 and <= 86400",
        "step 'g' (steps[6]): retry.backoff_rate = inf: must be a finite number >= 1",
        "step 'h' (steps[7]): `retry` is only allowed on task steps",
        "step 'i' (steps[8]): max_concurrency = 0: must be >= 1 and <= 1000000",
        "step 'j' (steps[9]): `max_concurrency` is only allowed on task steps",
    ];
    assert_eq!(got, expected);
}

#[test]
fn an_unknown_retry_field_is_a_parse_error_with_its_line() {
    let err = WorkflowSpec::from_yaml_str(
        "name: w\nsteps:\n- name: a\n  jobs: 1\n  work_s: 1\n  retry: {interval: 1}\n",
        "w.yaml",
    )
    .unwrap_err();
    match &err {
        Error::Parse { line, message, .. } => {
            assert_eq!(*line, Some(6), "{err}");
            assert!(message.contains("unknown field `interval`"), "{err}");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn backoff_doubles_from_the_interval_and_stops_at_the_cap() {
    let d = RetryPolicy::default();
    // Hand-computed: 1 x 2^0, 1 x 2^1, 1 x 2^2, 1 x 2^3 (exact in binary floating point).
    let waits: Vec<f64> = (0..=4).map(|k| d.backoff_s(k)).collect();
    assert_eq!(waits, [0.0, 1.0, 2.0, 4.0, 8.0]);
    let capped = RetryPolicy {
        max_delay_s: Some(3.0),
        ..d
    };
    let waits: Vec<f64> = (1..=5).map(|k| capped.backoff_s(k)).collect();
    assert_eq!(waits, [1.0, 2.0, 3.0, 3.0, 3.0]);
    let slow = RetryPolicy {
        interval_s: 0.5,
        backoff_rate: 3.0,
        ..d
    };
    // 0.5, 1.5, 4.5, 13.5: exact.
    let waits: Vec<f64> = (1..=4).map(|k| slow.backoff_s(k)).collect();
    assert_eq!(waits, [0.5, 1.5, 4.5, 13.5]);
    let flat = RetryPolicy {
        backoff_rate: 1.0,
        ..d
    };
    assert_eq!(flat.backoff_s(u32::MAX), 1.0);
    // A huge retry number is clamped to the documented cap, never inf.
    assert_eq!(d.backoff_s(u32::MAX), MAX_RETRY_DELAY_S);
    assert_eq!(d.backoff_s(2000), MAX_RETRY_DELAY_S);
    assert_eq!(capped.backoff_s(u32::MAX), 3.0);
}

proptest! {
    #[test]
    fn backoff_is_finite_non_decreasing_and_capped(
        interval_s in 1e-6f64..=MAX_RETRY_DELAY_S,
        backoff_rate in 1.0f64..1e6,
        max_delay_s in proptest::option::of(1e-6f64..=MAX_RETRY_DELAY_S),
        k in 1u32..u32::MAX,
    ) {
        let p = RetryPolicy { interval_s, backoff_rate, max_attempts: MAX_RETRY_ATTEMPTS, max_delay_s, jitter: Jitter::Full };
        let cap = max_delay_s.unwrap_or(MAX_RETRY_DELAY_S);
        let (a, b) = (p.backoff_s(k), p.backoff_s(k + 1));
        prop_assert!(a.is_finite() && b.is_finite());
        prop_assert!(a <= b, "backoff_s({k}) = {a} > backoff_s({}) = {b}", k + 1);
        prop_assert!(b <= cap);
        prop_assert_eq!(p.backoff_s(1), interval_s.min(cap));
    }
}

/// An ASL document with one Task `T` whose `Retry` is `retry` (JSON text).
fn asl_task(retry: &str) -> String {
    format!(
        r#"{{"StartAt": "T", "States": {{"T": {{"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:1:function:f", "Retry": {retry}, "End": true}}}}}}"#
    )
}

fn import(text: &str) -> Result<WorkflowSpec, Error> {
    import_str(Format::Asl, text, "sm.json", &ImportOptions::default())
}

#[test]
fn asl_takes_the_first_retrier_that_matches_a_throttle() {
    let spec = import(&asl_task(
        r#"[
        {"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 9, "MaxAttempts": 9},
        {"ErrorEquals": ["Lambda.ServiceException", "Lambda.TooManyRequestsException"],
         "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 6, "MaxDelaySeconds": 30,
         "JitterStrategy": "FULL"},
        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 7}
    ]"#,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let wf = round_trip(&spec);
    assert_eq!(
        step(&wf, "T").retry,
        Some(RetryPolicy {
            interval_s: 2.0,
            backoff_rate: 3.0,
            max_attempts: 6,
            max_delay_s: Some(30.0),
            jitter: Jitter::Full,
        })
    );
    // States.ALL and States.TaskFailed match a throttle too; missing fields take the defaults.
    for errors in [r#"["States.ALL"]"#, r#"["States.TaskFailed"]"#] {
        let spec = import(&asl_task(&format!(
            r#"[{{"ErrorEquals": {errors}, "MaxAttempts": 0}}]"#
        )))
        .unwrap_or_else(|e| panic!("{e}"));
        let wf = round_trip(&spec);
        assert_eq!(
            step(&wf, "T").retry,
            Some(RetryPolicy {
                max_attempts: 0,
                ..RetryPolicy::default()
            }),
            "{errors}"
        );
    }
}

#[test]
fn asl_retriers_for_other_errors_are_ignored() {
    let spec = import(&asl_task(
        r#"[{"ErrorEquals": ["States.Timeout", "Lambda.ServiceException"], "MaxAttempts": 5}]"#,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(step(&round_trip(&spec), "T").retry, None);
}

#[test]
fn asl_bad_retriers_are_errors_naming_the_state_and_field() {
    let err = import(&asl_task(
        r#"[
        {"ErrorEquals": ["States.Timeout"], "BackoffRate": 0.5},
        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1.5, "MaxAttempts": 100000000,
         "MaxDelaySeconds": 0, "JitterStrategy": "DECORRELATED"},
        {"IntervalSeconds": 100000},
        {"ErrorEquals": [], "MaxAttempts": -1}
    ]"#,
    ))
    .unwrap_err();
    let got: Vec<String> = err.problems().iter().map(|p| p.to_string()).collect();
    let expected = [
        "state 'T': Retry[0].BackoffRate = 0.5: must be a finite number >= 1",
        "state 'T': Retry[1].IntervalSeconds = 1.5: must be a whole number",
        "state 'T': Retry[1].MaxAttempts = 100000000: must be a whole number >= 0 and <= 99999999",
        "state 'T': Retry[1].JitterStrategy: \"DECORRELATED\" is not one of \"FULL\", \"NONE\"",
        "state 'T': Retry[1].MaxDelaySeconds = 0: must be a finite number > 0 and <= 86400",
        "state 'T': missing field 'Retry[2].ErrorEquals'",
        "state 'T': Retry[2].IntervalSeconds = 100000: must be a finite number > 0 and <= 86400",
        "state 'T': Retry[3].ErrorEquals is empty",
        "state 'T': Retry[3].MaxAttempts = -1: must be a whole number >= 0 and <= 99999999",
    ];
    assert_eq!(got, expected);
    // The one the brief names: a bad BackoffRate on the matching retrier.
    let err = import(&asl_task(
        r#"[{"ErrorEquals": ["Lambda.TooManyRequestsException"], "BackoffRate": 0.5}]"#,
    ))
    .unwrap_err();
    assert!(matches!(
        &err.problems()[0].kind,
        ProblemKind::BadNumber { field, .. } if field == "Retry[0].BackoffRate"
    ));
    assert_eq!(err.problems()[0].place, "state 'T'");
}

const MAP: &str = r#"{
  "StartAt": "Fan",
  "States": {
    "Fan": { "Type": "Map", "MaxConcurrency": 4, "End": true,
      "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5, "MaxAttempts": 2}],
      "ItemProcessor": { "StartAt": "Work",
        "States": {
          "Work": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:w", "Next": "Own" },
          "Own": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:o", "End": true,
            "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "BackoffRate": 1}] } } } }
  }
}"#;

#[test]
fn asl_map_max_concurrency_and_retry_reach_its_iterations_tasks() {
    let opts = ImportOptions {
        items: 32,
        ..Default::default()
    };
    let spec = import_str(Format::Asl, MAP, "map.json", &opts).unwrap_or_else(|e| panic!("{e}"));
    let wf = round_trip(&spec);
    let work = step(&wf, "Work");
    assert_eq!(
        (work.jobs, work.max_fan_out, work.max_concurrency),
        (32, Some(4), Some(4))
    );
    // The Map's retrier for a task without its own; the task's own otherwise.
    assert_eq!(
        work.retry,
        Some(RetryPolicy {
            interval_s: 5.0,
            max_attempts: 2,
            ..RetryPolicy::default()
        })
    );
    assert_eq!(
        step(&wf, "Own").retry,
        Some(RetryPolicy {
            backoff_rate: 1.0,
            ..RetryPolicy::default()
        })
    );
    // The fork step is a pass step: no retrier, no concurrency bound.
    assert_eq!(step(&wf, "Fan").retry, None);
    assert_eq!(step(&wf, "Fan").max_concurrency, None);
    let description = spec.description.unwrap();
    assert!(
        description.contains("Map 'Fan' Retry[0] retries each throttled invocation"),
        "{description}"
    );
}

#[test]
fn asl_map_without_max_concurrency_sets_no_bound() {
    let text = MAP.replace(r#""MaxConcurrency": 4, "#, "");
    let spec = import(&text).unwrap_or_else(|e| panic!("{e}"));
    let wf = round_trip(&spec);
    assert_eq!(step(&wf, "Work").max_concurrency, None);
    assert_eq!(step(&wf, "Work").max_fan_out, None);
}
