//! ASL loops: a cut loop never leaves a branch that dead-ends before the states every execution
//! reaches; a polling loop runs its expected number of iterations when the file gives it, else one pass.

use workflow::import::{Format, ImportOptions, import_file};
use workflow::{StepKind, Workflow};

use crate::{after, golden, names, round_trip, step};

fn import(file: &str) -> (String, Workflow) {
    let spec = import_file(Format::Asl, &golden(file), &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    let wf = round_trip(&spec);
    (spec.description.unwrap(), wf)
}

/// Probability that each step runs, for workflows without parallel joins: a choice passes its share to
/// each branch, any other step passes all of it to each successor.
fn reach_probability(wf: &Workflow) -> Vec<f64> {
    let mut p = vec![0.0; wf.n_steps()];
    for &id in wf.topo_order() {
        if wf.preds(id).is_empty() {
            p[id.idx()] = 1.0;
        }
        let s = wf.step(id);
        for &t in wf.succs(id) {
            let share = if s.kind == StepKind::Choice {
                s.choices.iter().find(|c| c.0 == t).map_or(0.0, |c| c.1)
            } else {
                1.0
            };
            p[t.idx()] += p[id.idx()] * share;
        }
    }
    p
}

#[test]
fn polling_loop_never_skips_the_rest() {
    let (d, wf) = import("asl/polling.json");
    let p = reach_probability(&wf);
    for name in ["Submit", "Poll", "Pause", "Check", "Publish", "Notify"] {
        let id = wf.find(name).unwrap();
        assert!(
            (p[id.idx()] - 1.0).abs() < 1e-12,
            "{name} runs with probability {}",
            p[id.idx()]
        );
    }
    // The check comes first in the file, but the loop's exit is taken after its body.
    assert_eq!(after(&wf, "Pause"), ["Poll"]);
    assert_eq!(after(&wf, "Check"), ["Pause"]);
    assert_eq!(after(&wf, "Poll (loop exit)"), ["Check"]);
    assert_eq!(after(&wf, "Publish"), ["Poll (loop exit)"]);
    // Only states that end a real execution end the workflow.
    let sinks: Vec<&str> = wf.sinks().map(|id| wf.step(id).name.as_str()).collect();
    assert_eq!(sinks, ["Notify"]);
    assert!(
        d.contains("loop through 'Poll', 'Pause', 'Check': modelled as one pass"),
        "{d}"
    );
    assert!(d.contains("by step 'Poll (loop exit)'"), "{d}");
    assert_eq!(step(&wf, "Pause").wait_s, 5.0);
}

#[test]
fn polling_loop_with_probabilities_runs_expected_iterations() {
    let (d, wf) = import("asl/polling_probability.json");
    // P(leave) = 0.25 per check: 4 iterations expected; the wait and the check run 4 times in turn.
    assert!((step(&wf, "Pause").wait_s - 20.0).abs() < 1e-9);
    assert!((step(&wf, "Check").work_s - 4.0).abs() < 1e-9);
    assert!((step(&wf, "Submit").work_s - 1.0).abs() < 1e-9);
    assert!((step(&wf, "Publish").work_s - 1.0).abs() < 1e-9);
    assert!(d.contains("modelled as 4 expected iterations"), "{d}");
    let p = reach_probability(&wf);
    assert!((p[wf.find("Notify").unwrap().idx()] - 1.0).abs() < 1e-12);
}

#[test]
fn loop_exiting_from_the_middle_continues_after_the_body() {
    let (d, wf) = import("asl/middle_exit.json");
    assert_eq!(
        names(&wf),
        [
            "Fetch",
            "Test",
            "Backoff",
            "Test (loop exit)",
            "Store",
            "Give up"
        ]
    );
    assert_eq!(after(&wf, "Test (loop exit)"), ["Backoff"]);
    // The exits keep their shares: Store and the Fail state, one half each (uniform, no probabilities).
    let exit = step(&wf, "Test (loop exit)");
    assert_eq!(exit.kind, StepKind::Choice);
    let probs: Vec<(&str, f64)> = exit
        .choices
        .iter()
        .map(|(id, p)| (wf.step(*id).name.as_str(), *p))
        .collect();
    assert_eq!(probs, [("Store", 0.5), ("Give up", 0.5)]);
    // No state of the loop ends the workflow.
    let p = reach_probability(&wf);
    assert!((p[wf.find("Backoff").unwrap().idx()] - 1.0).abs() < 1e-12);
    let ends: Vec<&str> = wf.sinks().map(|id| wf.step(id).name.as_str()).collect();
    assert_eq!(ends, ["Store", "Give up"]);
    assert!(
        d.contains("Test Choices[0].Next, Test Choices[1].Next"),
        "{d}"
    );
}

#[test]
fn do_while_loops_keep_their_exit_on_the_choice() {
    // App8-style loops (work, then a Choice back or out) are unchanged: no step is added.
    let (d, wf) = import("asl/loop.json");
    assert_eq!(names(&wf), ["Work", "Again", "Small", "Big", "End"]);
    assert!(
        d.contains("loop through 'Work', 'Again': modelled as one pass"),
        "{d}"
    );
}
