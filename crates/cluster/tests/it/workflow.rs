//! Workflow dependencies: a child waits for all its parents.

use std::collections::BTreeMap;

use crate::{function, inv, one_machine, run_serverless};

#[test]
fn child_waits_for_both_parents() {
    // Parents 0 (1 s) and 1 (3 s) arrive at 0; child 2 arrives at 0.5 but is ready only at 3 when parent 1
    // finishes; it runs 3..4 warm: slowdown (4 - 3) / 1 = 1. No cold starts (cold start 0 s).
    let f = function("f", 100.0, 128.0, 0.0, 10.0);
    let invs = vec![
        inv(0, 0, 0.0, 1.0),
        inv(1, 0, 0.0, 3.0),
        inv(2, 0, 0.5, 1.0),
    ];
    let mut deps = BTreeMap::new();
    deps.insert(2u64, vec![0u64, 1u64]);
    let m = run_serverless(one_machine(1000.0, 1024.0), vec![f], invs, &deps, "fcfs");
    assert_eq!(m.n_finished, 3);
    assert_eq!(m.makespan_s, 4.0);
    assert!(
        (m.slowdown_mean().unwrap() - 1.0).abs() < 1e-12,
        "tolerance 1e-12"
    );
}

#[test]
fn child_of_missing_parent_is_reported_pending() {
    let f = function("f", 100.0, 128.0, 0.0, 10.0);
    let mut deps = BTreeMap::new();
    deps.insert(1u64, vec![99u64]);
    let m = run_serverless(
        one_machine(1000.0, 1024.0),
        vec![f],
        vec![inv(0, 0, 0.0, 1.0), inv(1, 0, 1.0, 1.0)],
        &deps,
        "sjf",
    );
    assert_eq!((m.n_arrived, m.n_finished, m.n_pending), (2, 1, 1));
    assert!(m.is_conserved());
}

#[test]
fn observation_records_function_dependencies_once() {
    use cluster::{Action, Environment, ServerlessEnv};
    // Two functions: f0's invocations 0 and 1 are parents of f1's invocation 2 (arrived before they
    // finish), so the observation gains the edge (0, 1) once the first parent finishes, and only once.
    let fs = vec![
        function("f0", 100.0, 128.0, 0.0, 10.0),
        function("f1", 100.0, 128.0, 0.0, 10.0),
    ];
    let invs = vec![
        inv(0, 0, 0.0, 1.0),
        inv(1, 0, 0.0, 2.0),
        inv(2, 1, 0.5, 1.0),
    ];
    let mut deps = BTreeMap::new();
    deps.insert(2u64, vec![0u64, 1u64]);
    let ka = scheduler::keep_alive_by_name("fixed", 2).unwrap();
    let mut env = ServerlessEnv::new(
        one_machine(1000.0, 1024.0),
        fs,
        Box::new(invs.into_iter()),
        &deps,
        ka,
        1,
    )
    .unwrap();
    assert!(env.observe().function_edges.is_empty());
    while !env.is_done() {
        let a = if env.observe().pending.is_empty() {
            Action::Wait
        } else {
            Action::Place {
                pending_idx: 0,
                machine_idx: 0,
            }
        };
        env.step(a).unwrap();
    }
    assert_eq!(env.observe().function_edges, vec![(0, 1)]);
}
