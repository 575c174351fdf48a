//! Property tests on random DAGs: a valid topological order, and a critical path that is a real path
//! whose length is the largest earliest finish time.

use proptest::prelude::*;
use workflow::{StepSpec, Workflow, WorkflowSpec};

/// A random DAG: step `i` may depend on any step `j < i`; file order is then shuffled so that it is not
/// already topological. Durations are in (0, 10] s.
fn random_dag() -> impl Strategy<Value = (WorkflowSpec, Vec<f64>)> {
    (1usize..25)
        .prop_flat_map(|n| {
            let edges = proptest::collection::vec(proptest::collection::vec(any::<bool>(), n), n);
            let durations = proptest::collection::vec(1u32..=1000, n);
            let perm = Just((0..n).collect::<Vec<usize>>()).prop_shuffle();
            (edges, durations, perm)
        })
        .prop_map(|(edges, durations, perm)| {
            let n = perm.len();
            let name = |i: usize| format!("s{i}");
            // perm[k] is the DAG node written at file position k.
            let steps: Vec<StepSpec> = perm
                .iter()
                .map(|&i| StepSpec {
                    name: name(i),
                    after: (0..i).filter(|&j| edges[i][j]).map(name).collect(),
                    jobs: Some(1),
                    work_s: Some(f64::from(durations[i]) / 100.0),
                    ..Default::default()
                })
                .collect();
            let file_durations: Vec<f64> = perm
                .iter()
                .map(|&i| f64::from(durations[i]) / 100.0)
                .collect();
            assert_eq!(steps.len(), n);
            (
                WorkflowSpec {
                    name: "random".into(),
                    steps,
                    ..Default::default()
                },
                file_durations,
            )
        })
}

proptest! {
    #[test]
    fn topological_order_and_critical_path((spec, durations) in random_dag()) {
        let wf = Workflow::from_spec(&spec, "random").map_err(|e| TestCaseError::fail(e.to_string()))?;
        let n = wf.n_steps();

        // Every step exactly once, after all its predecessors.
        let topo = wf.topo_order();
        prop_assert_eq!(topo.len(), n);
        let mut pos = vec![usize::MAX; n];
        for (k, id) in topo.iter().enumerate() {
            prop_assert_eq!(pos[id.idx()], usize::MAX, "step listed twice");
            pos[id.idx()] = k;
        }
        for id in wf.step_ids() {
            for p in wf.preds(id) {
                prop_assert!(pos[p.idx()] < pos[id.idx()], "{} before its predecessor {}", wf.step(id).name, wf.step(*p).name);
            }
        }

        // Earliest finish: start = max finish of predecessors (computed here independently, by relaxation).
        let mut finish = vec![0.0f64; n];
        for _ in 0..n {
            for id in wf.step_ids() {
                let start = wf.preds(id).iter().map(|p| finish[p.idx()]).fold(0.0, f64::max);
                finish[id.idx()] = start + durations[id.idx()];
            }
        }
        prop_assert_eq!(wf.earliest_finish_s(&durations), finish.clone());

        // The critical path: a source-to-sink chain of dependencies whose length is the max earliest finish.
        let (len_s, path) = wf.critical_path(&durations);
        let max_finish = finish.iter().copied().fold(0.0, f64::max);
        prop_assert_eq!(len_s, max_finish);
        prop_assert!(!path.is_empty());
        prop_assert!(wf.preds(path[0]).is_empty(), "path starts at a source");
        for w in path.windows(2) {
            prop_assert!(wf.preds(w[1]).contains(&w[0]), "path follows dependencies");
        }
        let sum: f64 = path.iter().map(|id| durations[id.idx()]).sum();
        prop_assert!((sum - len_s).abs() <= 1e-9 * len_s.max(1.0), "path sums to {sum}, length {len_s}");
    }
}
