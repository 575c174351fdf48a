//! ASL `Catch` handlers are error paths kept in the workflow, taken with a failure probability (the
//! catcher's non-standard `Probability`, default 0), not skipped as unreachable.

use workflow::StepKind;
use workflow::import::{Format, ImportOptions, import_file};

use crate::{after, golden, names, round_trip, step};

#[test]
fn catch_handlers_are_error_paths_with_probability() {
    let spec = import_file(
        Format::Asl,
        &golden("asl/catch.json"),
        &ImportOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let wf = round_trip(&spec);
    assert_eq!(
        names(&wf),
        [
            "Charge",
            "Charge (catch)",
            "Ship",
            "Ship (catch)",
            "Ship (done)",
            "Refund",
            "Failed"
        ]
    );
    let probs = |name: &str| -> Vec<(String, f64)> {
        step(&wf, name)
            .choices
            .iter()
            .map(|(id, p)| (wf.step(*id).name.clone(), *p))
            .collect()
    };
    assert_eq!(step(&wf, "Charge (catch)").kind, StepKind::Choice);
    assert_eq!(
        probs("Charge (catch)"),
        [("Ship".to_owned(), 1.0), ("Refund".to_owned(), 0.0)]
    );
    let ship = probs("Ship (catch)");
    assert_eq!(ship[0].0, "Ship (done)");
    assert!(
        (ship[0].1 - 0.9).abs() < 1e-12 && (ship[1].1 - 0.1).abs() < 1e-12,
        "{ship:?}"
    );
    assert_eq!(after(&wf, "Refund"), ["Charge (catch)", "Ship (catch)"]);
    assert_eq!(step(&wf, "Failed").kind, StepKind::Fail);
    let d = spec.description.unwrap();
    assert!(!d.contains("unreachable"), "{d}");
    assert!(
        d.contains("error path: 'Charge' is followed by choice 'Charge (catch)'"),
        "{d}"
    );
}

#[test]
fn unknown_catch_handler_is_reported_at_its_state() {
    let asl = r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:r:1:function:t",
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Nowhere"}], "End": true}}}"#;
    let err = workflow::import::import_str(Format::Asl, asl, "t.json", &ImportOptions::default())
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("state 'T': Catch[0].Next: unknown step 'Nowhere'"),
        "{text}"
    );
    assert_eq!(err.problems().len(), 1, "{text}");
}
