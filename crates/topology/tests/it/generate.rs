//! The workflow generator: deterministic per (seed, index), valid, within its options, every shape,
//! control-only edges and shardable steps at about their shares, an SLO the optimizer can meet.

use std::collections::BTreeSet;

use platform::Platform;
use topology::generate::{GenOptions, MAX_GEN_STEPS, Shape, generate};
use topology::objective::{EvalOptions, plan_only};
use workflow::{StepKind, Workflow};

fn shape_of(wf: &Workflow) -> Shape {
    let d = wf.description.as_deref().unwrap_or_default();
    Shape::ALL
        .into_iter()
        .find(|s| d.contains(&format!("shape {s},")))
        .unwrap_or_else(|| panic!("{}: no shape in '{d}'", wf.name))
}

#[test]
fn same_seed_and_index_give_the_same_workflow() {
    let opts = GenOptions::default();
    for index in [0, 1, 17, 1_000_000] {
        let a = generate(&opts, 7, index);
        let b = generate(&opts, 7, index);
        assert_eq!(a, b);
        assert_eq!(a.name, format!("gen-{index}"));
    }
    // Other indices generated in between change nothing.
    let before = generate(&opts, 7, 5);
    for index in 0..5 {
        generate(&opts, 7, index);
    }
    assert_eq!(generate(&opts, 7, 5), before);
}

#[test]
fn different_indices_and_seeds_differ() {
    let opts = GenOptions::default();
    let specs: BTreeSet<String> = (0..20)
        .map(|i| {
            let mut s = generate(&opts, 7, i).to_spec();
            s.name.clear();
            s.description = None;
            s.to_json()
        })
        .collect();
    assert_eq!(specs.len(), 20);
    let mut a = generate(&opts, 1, 3).to_spec();
    let mut b = generate(&opts, 2, 3).to_spec();
    a.description = None;
    b.description = None;
    assert_ne!(a, b);
}

#[test]
fn workflows_are_valid_within_the_step_range_and_have_an_slo() {
    let opts = GenOptions {
        min_steps: 4,
        max_steps: 12,
        ..GenOptions::default()
    };
    let mut seen = BTreeSet::new();
    for index in 0..200 {
        let wf = generate(&opts, 11, index);
        assert!(
            (4..=12).contains(&wf.n_steps()),
            "{}: {} steps",
            wf.name,
            wf.n_steps()
        );
        let slo = wf.slo_s.expect("an SLO");
        assert!(slo.is_finite() && slo > 0.0, "{}: slo {slo}", wf.name);
        assert_eq!(wf.sources().count(), 1, "{}: one source", wf.name);
        assert!(wf.steps().iter().all(|s| s.kind == StepKind::Task));
        // Writing and reading back gives the same workflow.
        let back = Workflow::from_spec(&wf.to_spec(), "round trip").unwrap();
        assert_eq!(back, wf);
        seen.insert(shape_of(&wf));
    }
    assert_eq!(seen.len(), 4, "shapes seen: {seen:?}");
}

#[test]
fn single_step_workflows_and_chosen_shapes() {
    let opts = GenOptions {
        min_steps: 1,
        max_steps: 1,
        ..GenOptions::default()
    };
    for index in 0..10 {
        let wf = generate(&opts, 3, index);
        assert_eq!(wf.n_steps(), 1);
        assert!(wf.slo_s.is_some());
    }
    for shape in Shape::ALL {
        let opts = GenOptions {
            shapes: vec![shape],
            ..GenOptions::default()
        };
        for index in 0..10 {
            assert_eq!(shape_of(&generate(&opts, 3, index)), shape);
        }
    }
}

#[test]
fn shapes_have_their_structure() {
    let one = |shape| GenOptions {
        min_steps: 10,
        max_steps: 10,
        shapes: vec![shape],
        ..GenOptions::default()
    };
    for index in 0..20 {
        let wf = generate(&one(Shape::Chain), 5, index);
        assert!(
            wf.step_ids()
                .all(|id| wf.preds(id).len() <= 1 && wf.succs(id).len() <= 1)
        );
        let wf = generate(&one(Shape::FanOutIn), 5, index);
        let first = wf.topo_order()[0];
        let last = *wf.topo_order().last().unwrap();
        assert!(wf.succs(first).len() >= 2, "{}: fans out", wf.name);
        assert_eq!(
            wf.preds(last).len(),
            wf.succs(first).len(),
            "{}: joins every branch",
            wf.name
        );
        assert_eq!(wf.sinks().count(), 1);
        let wf = generate(&one(Shape::Diamond), 5, index);
        assert!(
            wf.step_ids().any(|id| wf.preds(id).len() >= 2),
            "{}: a join",
            wf.name
        );
        assert_eq!(wf.sinks().count(), 1);
    }
}

#[test]
fn control_only_edges_and_shardable_steps_at_their_shares() {
    let opts = GenOptions::default();
    let (mut eligible, mut control) = (0usize, 0usize);
    let (mut steps, mut shardable) = (0usize, 0usize);
    for index in 0..200 {
        let wf = generate(&opts, 13, index);
        for id in wf.step_ids() {
            let s = wf.step(id);
            steps += 1;
            if s.jobs > 1 && s.max_fan_out == Some(1) {
                shardable += 1;
                assert!(s.jobs >= 4, "{}: {} has {} jobs", wf.name, s.name, s.jobs);
            }
            // Every data source is an ancestor.
            for &d in &s.data_from {
                assert!(
                    is_ancestor(&wf, d, id),
                    "{}: {} reads {}",
                    wf.name,
                    s.name,
                    wf.step(d).name
                );
            }
            if !wf.preds(id).is_empty() {
                assert!(
                    !s.data_from.is_empty(),
                    "{}: {} reads nothing",
                    wf.name,
                    s.name
                );
            }
            for &p in wf.preds(id) {
                if !wf.preds(p).is_empty() || wf.preds(id).len() > 1 {
                    eligible += 1;
                    if !s.data_from.contains(&p) {
                        control += 1;
                    }
                }
            }
        }
    }
    let c = control as f64 / eligible as f64;
    let s = shardable as f64 / steps as f64;
    assert!(
        (0.15..=0.25).contains(&c),
        "control-only share {c} ({control}/{eligible})"
    );
    assert!(
        (0.11..=0.19).contains(&s),
        "shardable share {s} ({shardable}/{steps})"
    );

    let none = GenOptions {
        control_only_share: 0.0,
        shardable_share: 0.0,
        ..GenOptions::default()
    };
    for index in 0..50 {
        let wf = generate(&none, 13, index);
        for id in wf.step_ids() {
            let s = wf.step(id);
            assert_eq!(s.data_from, wf.preds(id), "{}: {}", wf.name, s.name);
            assert_ne!(s.max_fan_out, Some(1));
        }
    }
}

fn is_ancestor(wf: &Workflow, a: workflow::StepId, b: workflow::StepId) -> bool {
    let mut stack = wf.preds(b).to_vec();
    let mut seen = BTreeSet::new();
    while let Some(x) = stack.pop() {
        if x == a {
            return true;
        }
        if seen.insert(x) {
            stack.extend_from_slice(wf.preds(x));
        }
    }
    false
}

#[test]
fn the_optimizer_meets_the_slo() {
    let opts = GenOptions {
        max_steps: 8,
        ..GenOptions::default()
    };
    for index in 0..12 {
        let wf = generate(&opts, 21, index);
        let slo = wf.slo_s.unwrap();
        let plan = plan_only(&wf, &EvalOptions::new(Platform::lambda(), slo, 1.0)).unwrap();
        assert!(
            plan.feasible,
            "{}: slo {slo}, plan {}",
            wf.name, plan.latency_s_pred
        );
        assert!(plan.latency_s_pred <= slo + 1e-9);
        // Binding: the fastest plan is not far below the SLO.
        let fastest = plan_only(&wf, &EvalOptions::new(Platform::lambda(), 1e-3, 1.0)).unwrap();
        assert!(
            slo <= 2.6 * fastest.latency_s_pred + 1e-3,
            "{}: slo {slo}, fastest {}",
            wf.name,
            fastest.latency_s_pred
        );
    }
}

#[test]
fn options_are_validated_and_bad_ones_clamped() {
    assert!(GenOptions::default().validate().is_ok());
    let field = |o: GenOptions| match o.validate() {
        Err(topology::Error::Setting { field, .. }) => field,
        other => panic!("expected a setting error, got {other:?}"),
    };
    let d = GenOptions::default;
    assert_eq!(
        field(GenOptions {
            min_steps: 0,
            ..d()
        }),
        "min_steps"
    );
    assert_eq!(
        field(GenOptions {
            min_steps: 5,
            max_steps: 4,
            ..d()
        }),
        "max_steps"
    );
    assert_eq!(
        field(GenOptions {
            max_steps: MAX_GEN_STEPS + 1,
            ..d()
        }),
        "max_steps"
    );
    assert_eq!(
        field(GenOptions {
            shapes: vec![],
            ..d()
        }),
        "shapes"
    );
    assert_eq!(
        field(GenOptions {
            control_only_share: 1.5,
            ..d()
        }),
        "control_only_share"
    );
    assert_eq!(
        field(GenOptions {
            shardable_share: f64::NAN,
            ..d()
        }),
        "shardable_share"
    );
    assert_eq!(
        field(GenOptions {
            fan_out_share: -0.1,
            ..d()
        }),
        "fan_out_share"
    );
    // Generation clamps instead of panicking.
    let bad = GenOptions {
        min_steps: 0,
        max_steps: 0,
        shapes: vec![],
        control_only_share: f64::NAN,
        shardable_share: 7.0,
        fan_out_share: -1.0,
    };
    let wf = generate(&bad, 1, 0);
    assert_eq!(wf.n_steps(), 1);
    assert!(wf.slo_s.is_some());
}

#[test]
fn shapes_parse_and_print() {
    for s in Shape::ALL {
        assert_eq!(s.to_string().parse::<Shape>().unwrap(), s);
        assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
    }
    assert!("star".parse::<Shape>().is_err());
}
