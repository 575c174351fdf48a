//! The shared-CPU model (`CpuModel::Shared`): co-located invocations slow each other by processor
//! sharing, hand-checked; without contention it gives the reserved model's results exactly.

use std::collections::BTreeMap;

use cluster::{CpuModel, ServerlessSettings};

use crate::{function, inv, one_machine, run_serverless};

/// The smallest and largest slowdown of a run.
fn range(m: &cluster::RunMetrics) -> (f64, f64) {
    (
        m.slowdown.quantile(0.0).unwrap(),
        m.slowdown.quantile(1.0).unwrap(),
    )
}

fn shared(cpu: f64, mem: f64) -> ServerlessSettings {
    ServerlessSettings {
        cpu_model: CpuModel::Shared,
        ..one_machine(cpu, mem)
    }
}

/// A (10 s) alone from 0; B (2 s) joins at 4: from 4 both run at half speed, B's 2 s of work take 4 s
/// (finish 8), A has done 4 + 2 = 6 s by then and finishes its last 4 s alone at 12. Reserved: B waits
/// for A's CPU and runs 10..12.
#[test]
fn a_late_arrival_shares_the_cpu() {
    let fs = vec![
        function("a", 1000.0, 100.0, 0.0, 60.0),
        function("b", 1000.0, 100.0, 0.0, 60.0),
    ];
    let invs = vec![inv(0, 0, 0.0, 10.0), inv(1, 1, 4.0, 2.0)];
    let m = run_serverless(
        shared(1000.0, 1000.0),
        fs.clone(),
        invs.clone(),
        &BTreeMap::new(),
        "fcfs",
    );
    assert_eq!(m.n_finished, 2);
    assert!((m.makespan_s - 12.0).abs() < 1e-5, "{m:?}");
    // Slowdowns: B (8 - 4) / 2 = 2, A 12 / 10 = 1.2.
    let (lo, hi) = range(&m);
    assert!((lo - 1.2).abs() < 1e-5 && (hi - 2.0).abs() < 1e-5, "{m:?}");
    // Billed: A held 12 s, B 4 s.
    let reserved = run_serverless(
        one_machine(1000.0, 1000.0),
        fs,
        invs,
        &BTreeMap::new(),
        "fcfs",
    );
    let (lo, hi) = range(&reserved);
    assert!(
        (lo - 1.0).abs() < 1e-5 && (hi - 4.0).abs() < 1e-5,
        "{reserved:?}"
    );
    assert!(
        m.cost_usd > reserved.cost_usd,
        "a slowed invocation is billed longer"
    );
}

/// Three equal invocations at once on a machine with room for one: each gets a third and all finish at
/// 3x their duration; CPU utilisation counts the work, not the stretched time.
#[test]
fn equal_invocations_finish_together() {
    let fs = vec![function("f", 1000.0, 100.0, 0.0, 60.0)];
    let invs = vec![
        inv(0, 0, 0.0, 2.0),
        inv(1, 0, 0.0, 2.0),
        inv(2, 0, 0.0, 2.0),
    ];
    let m = run_serverless(shared(1000.0, 1000.0), fs, invs, &BTreeMap::new(), "fcfs");
    assert!((m.makespan_s - 6.0).abs() < 1e-5, "{m:?}");
    let (lo, hi) = range(&m);
    assert!((lo - 3.0).abs() < 1e-5 && (hi - 3.0).abs() < 1e-5, "{m:?}");
    // CPU busy 6 s of 6 (work 3 x 2 s), memory 3 x 100 MB x 6 s of 1000 MB x 6 s: (1 + 0.3) / 2.
    assert!((m.utilization - 0.65).abs() < 1e-6, "{}", m.utilization);
}

/// A cold start delays its own execution without being slowed, and its CPU counts from placement.
#[test]
fn cold_start_is_not_slowed_but_takes_a_share() {
    let fs = vec![
        function("a", 1000.0, 100.0, 0.0, 60.0),
        function("b", 1000.0, 100.0, 1.0, 60.0),
    ];
    // A (4 s) from 0; B placed at 1 with a 1 s cold start, then 1 s of work. From 1: both at half speed.
    // B starts work at 2, A has 4 - 1 - 0.5 = 2.5 s left at 2; B's 1 s takes 2 s (finish 4); A has
    // 2.5 - 1 = 1.5 s left at 4 and finishes alone at 5.5.
    let invs = vec![inv(0, 0, 0.0, 4.0), inv(1, 1, 1.0, 1.0)];
    let m = run_serverless(shared(1000.0, 1000.0), fs, invs, &BTreeMap::new(), "fcfs");
    let (lo, hi) = range(&m);
    assert!((hi - 3.0).abs() < 1e-5, "B: (4 - 1) / 1: {m:?}");
    assert!((lo - 5.5 / 4.0).abs() < 1e-5, "A: 5.5 / 4: {m:?}");
}

/// Without contention (CPU demand never above capacity) the shared model is the reserved one.
#[test]
fn without_contention_the_models_agree() {
    let fs = vec![
        function("a", 250.0, 100.0, 0.3, 60.0),
        function("b", 500.0, 200.0, 0.5, 60.0),
    ];
    let invs: Vec<_> = (0..40)
        .map(|i| {
            inv(
                i,
                (i % 2) as u32,
                i as f64 * 0.7,
                1.0 + (i % 5) as f64 * 0.3,
            )
        })
        .collect();
    for policy in ["fcfs", "sjf", "packer", "tetris"] {
        let a = run_serverless(
            shared(4000.0, 4000.0),
            fs.clone(),
            invs.clone(),
            &BTreeMap::new(),
            policy,
        );
        let b = run_serverless(
            one_machine(4000.0, 4000.0),
            fs.clone(),
            invs.clone(),
            &BTreeMap::new(),
            policy,
        );
        assert_eq!(a, b, "{policy}");
    }
}
