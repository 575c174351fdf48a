//! The exact solver equals brute force on small random DAGs (whole requests and sub-DAGs), and no
//! heuristic plan is a cheaper feasible plan than the exact one.

use std::collections::BTreeMap;

use optimizer::{
    ConfigSpace, Model, OraclePredictor, Solver, SubProblem, plan_with_space, solve_exact,
};
use platform::Platform;
use proptest::prelude::*;

use crate::{TablePredictor, brute_force, task, workflow};

/// A small configuration set: 2 x 2 x 2 = 8 per step.
fn small_space() -> ConfigSpace {
    ConfigSpace {
        memory_mb: vec![512, 2048],
        fan_out: vec![1, 4],
        workers: vec![1, 2],
    }
}

/// Per step: jobs, work_s, parallel_fraction, memory_mb_per_worker.
type StepParams = (u32, f64, f64, u32);

/// A random DAG of `n` steps: `edges[j]` picks predecessors among earlier steps.
fn dag_strategy() -> impl Strategy<Value = (Vec<Vec<bool>>, Vec<StepParams>)> {
    (1usize..=5).prop_flat_map(|n| {
        let edges = (0..n)
            .map(|j| proptest::collection::vec(any::<bool>(), j))
            .collect::<Vec<_>>();
        let steps = proptest::collection::vec(
            (
                1u32..=16,
                0.1f64..3.0,
                0.0f64..1.0,
                prop_oneof![Just(128u32), Just(512), Just(1024)],
            ),
            n,
        );
        (edges, steps)
    })
}

fn build(edges: &[Vec<bool>], steps: &[StepParams]) -> workflow::Workflow {
    let specs = steps
        .iter()
        .enumerate()
        .map(|(j, &(jobs, work, f, mpw))| {
            let after: Vec<String> = edges[j]
                .iter()
                .enumerate()
                .filter(|e| *e.1)
                .map(|(i, _)| format!("s{i}"))
                .collect();
            task(&format!("s{j}"), &after, jobs, work, f, mpw)
        })
        .collect();
    workflow(specs)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn exact_equals_brute_force_with_the_oracle((edges, steps) in dag_strategy(), frac in 0.0f64..1.2) {
        let wf = build(&edges, &steps);
        let platform = Platform::lambda();
        let oracle = OraclePredictor::new(&wf, &platform);
        let model = Model::new(&wf, &platform, &oracle, &small_space()).unwrap();
        let fast = solve_exact(&model, 1e-9).latency_s;
        let slow = wf.critical_path(&(0..wf.n_steps()).map(|i| model.pareto(i).last().unwrap().duration_s).collect::<Vec<_>>()).0;
        let slo = fast + frac * (slow - fast);
        let sol = solve_exact(&model, slo);
        let n = wf.n_steps();
        let bf = brute_force(&wf, &model, &vec![None; n], &vec![0.0; n], slo);
        match bf {
            Some((cost, _)) => {
                prop_assert!(sol.feasible && sol.proven_optimal);
                prop_assert!((sol.cost_usd - cost).abs() <= 1e-12 + 1e-9 * cost, "exact {} vs brute {}", sol.cost_usd, cost);
                prop_assert!(sol.latency_s <= slo + 1e-9);
            }
            None => prop_assert!(!sol.feasible),
        }
        // No heuristic finds a cheaper feasible plan (same configuration set or a subset of it).
        for name in ["stepconf", "no-no", "static", "intra-only", "inter-only"] {
            let p = plan_with_space(&wf, &platform, &oracle, slo, name, &small_space()).unwrap();
            if p.feasible {
                prop_assert!(sol.feasible);
                prop_assert!(p.cost_usd_pred >= sol.cost_usd - 1e-12 - 1e-9 * sol.cost_usd, "{name} {} < exact {}", p.cost_usd_pred, sol.cost_usd);
            }
        }
    }

    #[test]
    fn exact_equals_brute_force_on_arbitrary_fronts_and_sub_dags(
        (edges, steps) in dag_strategy(),
        values in proptest::collection::vec((0.1f64..10.0, 0.1f64..10.0), 5 * 8),
        fixed_mask in proptest::collection::vec(any::<bool>(), 5),
        ready in proptest::collection::vec(0.0f64..5.0, 5),
        deadline in 1.0f64..30.0,
    ) {
        let wf = build(&edges, &steps);
        let platform = Platform::deterministic();
        let space = small_space();
        let mut table = BTreeMap::new();
        for (i, _) in steps.iter().enumerate() {
            for (c_idx, cfg) in space.configs().enumerate() {
                table.insert((i as u32, cfg), values[i * 8 + c_idx]);
            }
        }
        let pred = TablePredictor { table };
        let model = Model::new(&wf, &platform, &pred, &space).unwrap();
        let n = wf.n_steps();
        // A step may be fixed only if all its predecessors are (a running request's finished prefix).
        let mut fixed = vec![None; n];
        for &id in wf.topo_order() {
            let i = id.idx();
            if fixed_mask[i] && wf.preds(id).iter().all(|p| fixed[p.idx()].is_some()) {
                let start = wf.preds(id).iter().map(|p| fixed[p.idx()].unwrap()).fold(0.0, f64::max);
                fixed[i] = Some(start + values[i * 8].0);
            }
        }
        let ready = ready[..n].to_vec();
        let sub = SubProblem { fixed_finish_s: &fixed, ready_s: &ready, deadline_s: deadline, robust_factor: &[] };
        let sol = Solver::default().solve(&model, model.fronts(), &sub);
        match brute_force(&wf, &model, &fixed, &ready, deadline) {
            Some((cost, _)) => {
                prop_assert!(sol.feasible && sol.proven_optimal);
                prop_assert!((sol.cost_usd - cost).abs() <= 1e-12 + 1e-9 * cost, "exact {} vs brute {}", sol.cost_usd, cost);
            }
            None => {
                prop_assert!(!sol.feasible);
                // Best effort is the fastest plan: nothing finishes earlier.
                let fastest: Vec<Option<usize>> = (0..n).map(|i| fixed[i].is_none().then_some(0)).collect();
                prop_assert_eq!(sol.choice, fastest);
            }
        }
    }
}
