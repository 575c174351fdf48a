//! Plans: every feasible plan meets the SLO under its own model, an infeasible SLO gives a flagged
//! best-effort plan, bad input gives errors that name the problem, and plans are deterministic.

use optimizer::{
    ConfigSpace, Error, Knobs, Model, OraclePredictor, POLICY_NAMES, Solver, SubProblem, plan,
    plan_with_space, policy_by_name,
};
use platform::{Platform, StepConfig};
use proptest::prelude::*;

use crate::{example, task, workflow};

/// The plan's latency and cost recomputed from its configurations with the model's option tables.
fn recompute(wf: &workflow::Workflow, model: &Model, configs: &[StepConfig]) -> (f64, f64) {
    let opts: Vec<_> = configs
        .iter()
        .enumerate()
        .map(|(i, c)| *model.lookup(i, *c).expect("plan uses a known config"))
        .collect();
    let d: Vec<f64> = opts.iter().map(|o| o.duration_s).collect();
    (
        wf.critical_path(&d).0,
        opts.iter().map(|o| o.cost_usd).sum(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_feasible_plan_meets_the_slo_under_its_own_model(
        n in 1usize..=6,
        jobs in proptest::collection::vec(1u32..=32, 6),
        work in proptest::collection::vec(0.1f64..3.0, 6),
        slo_s in 1.0f64..60.0,
    ) {
        let steps = (0..n)
            .map(|j| {
                let after: Vec<String> = if j == 0 { vec![] } else { vec![format!("s{}", (j - 1) / 2)] };
                task(&format!("s{j}"), &after, jobs[j], work[j], 0.5, 256)
            })
            .collect();
        let wf = workflow(steps);
        let platform = Platform::lambda();
        let oracle = OraclePredictor::new(&wf, &platform);
        let space = ConfigSpace { memory_mb: vec![512, 2048, 6144], fan_out: vec![1, 4, 16], workers: vec![1, 4] };
        for name in POLICY_NAMES {
            let p = plan_with_space(&wf, &platform, &oracle, slo_s, name, &space).unwrap();
            let knobs = match name { "no-no" => Knobs::NONE, "intra-only" => Knobs::INTRA, "inter-only" => Knobs::INTER, _ => Knobs::ALL };
            let model = Model::new(&wf, &platform, &oracle, &space.restricted(knobs)).unwrap();
            let (lat, cost) = recompute(&wf, &model, &p.configs());
            prop_assert!((lat - p.latency_s_pred).abs() <= 1e-9, "{name}: {lat} vs {}", p.latency_s_pred);
            prop_assert!((cost - p.cost_usd_pred).abs() <= 1e-12, "{name}");
            prop_assert_eq!(p.feasible, lat <= slo_s + 1e-9, "{}", name);
            for s in &p.steps {
                prop_assert!(s.sub_slo_s.is_finite());
            }
        }
    }
}

#[test]
fn an_slo_no_configuration_meets_gives_the_fastest_plan_flagged() {
    let wf = example("video.yaml");
    let platform = Platform::lambda();
    let oracle = OraclePredictor::new(&wf, &platform);
    let model = Model::new(&wf, &platform, &oracle, &ConfigSpace::paper()).unwrap();
    for name in POLICY_NAMES {
        let p = plan(&wf, &platform, &oracle, 0.5, name).unwrap();
        assert!(!p.feasible, "{name}");
        assert!(p.latency_s_pred > 0.5);
    }
    // The exact solver's best effort is the fastest option of every step.
    let p = plan(&wf, &platform, &oracle, 0.5, "optimal").unwrap();
    for (i, s) in p.steps.iter().enumerate() {
        assert_eq!(s.config(), model.pareto(i)[0].config, "{}", s.name);
    }
    // Policies run with it without panicking.
    assert!(policy_by_name("replan", &wf, &platform, &oracle, 0.5).is_ok());
}

#[test]
fn bad_input_gives_errors_that_name_the_problem() {
    let wf = example("video.yaml");
    let platform = Platform::lambda();
    let oracle = OraclePredictor::new(&wf, &platform);
    let e = plan(&wf, &platform, &oracle, 10.0, "fastest")
        .unwrap_err()
        .to_string();
    for name in POLICY_NAMES {
        assert!(e.contains(name), "{e}");
    }
    assert!(e.contains("fastest"), "{e}");
    assert!(policy_by_name("Stepconf", &wf, &platform, &oracle, 10.0).is_err());
    for slo in [f64::NAN, -1.0, 0.0, f64::INFINITY] {
        assert!(
            matches!(
                plan(&wf, &platform, &oracle, slo, "stepconf"),
                Err(Error::InvalidSlo { .. })
            ),
            "{slo}"
        );
    }
    // A step whose workers need more memory than any size in the set.
    let big = workflow(vec![task("huge", &[], 4, 1.0, 0.5, 20_000)]);
    let o = OraclePredictor::new(&big, &platform);
    let e = plan(&big, &platform, &o, 10.0, "stepconf")
        .unwrap_err()
        .to_string();
    assert!(e.contains("huge") && e.contains("out of memory"), "{e}");
    let e = Model::new(
        &wf,
        &platform,
        &oracle,
        &ConfigSpace {
            memory_mb: vec![],
            fan_out: vec![1],
            workers: vec![1],
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("memory_mb is empty"), "{e}");
}

#[test]
fn plans_are_deterministic_and_serialise_to_the_cli_shape() {
    let wf = example("synthetic16.yaml");
    let platform = Platform::lambda();
    let oracle = OraclePredictor::new(&wf, &platform);
    for name in POLICY_NAMES {
        let a = plan(&wf, &platform, &oracle, 40.0, name).unwrap();
        let b = plan(&wf, &platform, &oracle, 40.0, name).unwrap();
        assert_eq!(a, b, "{name}");
        assert_eq!(a.steps.len(), 16);
        // Without parallelism no plan reaches 40 s (p = q = 1: the longest path needs ~160 s).
        assert_eq!(a.feasible, name != "no-no", "{name} at the workflow's SLO");
    }
    let json = plan(&wf, &platform, &oracle, 40.0, "optimal")
        .unwrap()
        .to_json();
    for key in [
        "\"policy\"",
        "\"slo_s\"",
        "\"latency_s_pred\"",
        "\"cost_usd_pred\"",
        "\"feasible\"",
        "\"critical_path\"",
        "\"memory_mb\"",
        "\"fan_out\"",
        "\"workers\"",
        "\"duration_s_pred\"",
        "\"sub_slo_s\"",
    ] {
        assert!(json.contains(key), "{key} missing");
    }
}

#[test]
fn the_exact_plan_is_never_dearer_than_a_heuristic_on_the_examples() {
    let platform = Platform::lambda();
    for (file, slo) in [
        ("video.yaml", 30.0),
        ("video.yaml", 15.0),
        ("synthetic16.yaml", 40.0),
        ("synthetic16.yaml", 20.0),
    ] {
        let wf = example(file);
        let oracle = OraclePredictor::new(&wf, &platform);
        let opt = plan(&wf, &platform, &oracle, slo, "optimal").unwrap();
        assert!(opt.feasible && opt.latency_s_pred <= slo + 1e-9);
        for name in ["stepconf", "no-no", "static", "intra-only", "inter-only"] {
            let p = plan(&wf, &platform, &oracle, slo, name).unwrap();
            if p.feasible {
                assert!(
                    p.cost_usd_pred >= opt.cost_usd_pred * (1.0 - 1e-12),
                    "{file} {slo}: {name} {} < {}",
                    p.cost_usd_pred,
                    opt.cost_usd_pred
                );
            }
        }
    }
}

#[test]
fn sub_dag_with_finished_steps_is_solved_for_the_time_left() {
    // a -> b -> c: `a` finished at 10 s; `b` may start at 10 s; deadline 40 s.
    let wf = workflow(vec![
        task("a", &[], 8, 1.0, 0.5, 256),
        task("b", &["a".into()], 8, 2.0, 0.5, 256),
        task("c", &["b".into()], 8, 2.0, 0.5, 256),
    ]);
    let platform = Platform::lambda();
    let oracle = OraclePredictor::new(&wf, &platform);
    let model = Model::new(&wf, &platform, &oracle, &ConfigSpace::paper()).unwrap();
    let fixed = [Some(10.0), None, None];
    let ready = [0.0, 10.0, 0.0];
    let mut solver = Solver::default();
    let sol = solver.solve(
        &model,
        model.fronts(),
        &SubProblem {
            fixed_finish_s: &fixed,
            ready_s: &ready,
            deadline_s: 40.0,
            robust_factor: &[],
        },
    );
    assert!(sol.feasible && sol.proven_optimal);
    assert_eq!(sol.choice[0], None);
    assert!(sol.latency_s <= 40.0 + 1e-9 && sol.finish_s[1] >= 10.0);
    // With less time left the remaining steps cost at least as much.
    let fixed_late = [Some(30.0), None, None];
    let ready_late = [0.0, 30.0, 0.0];
    let late = solver.solve(
        &model,
        model.fronts(),
        &SubProblem {
            fixed_finish_s: &fixed_late,
            ready_s: &ready_late,
            deadline_s: 40.0,
            robust_factor: &[],
        },
    );
    assert!(late.cost_usd >= sol.cost_usd * (1.0 - 1e-12));
    // A finished step already past the deadline: best effort (fastest), flagged.
    let fixed_over = [Some(45.0), None, None];
    let over = solver.solve(
        &model,
        model.fronts(),
        &SubProblem {
            fixed_finish_s: &fixed_over,
            ready_s: &ready_late,
            deadline_s: 40.0,
            robust_factor: &[],
        },
    );
    assert!(!over.feasible);
    assert_eq!(over.choice, vec![None, Some(0), Some(0)]);
}
