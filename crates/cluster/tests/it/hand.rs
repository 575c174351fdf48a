//! Three jobs on one machine, worked out on paper.

use std::collections::BTreeMap;

use cluster::{DeepRmEnv, DeepRmSettings, run_episode};
use workload::{DeepRmJob, DeepRmJobSet};

use crate::{function, inv, one_machine, run_serverless};

fn job(len_steps: u32, demand: [u32; 2]) -> Option<DeepRmJob> {
    Some(DeepRmJob {
        len_steps,
        demand_slots: demand.to_vec(),
    })
}

/// Step 0: A (2 steps, [6, 1]); step 1: B (1 step, [6, 1]); step 2: C (3 steps, [2, 2]); 10 slots each.
fn three_jobs() -> DeepRmJobSet {
    DeepRmJobSet {
        arrivals: vec![job(2, [6, 1]), job(1, [6, 1]), job(3, [2, 2])],
        seed: 0,
        index: 0,
    }
}

fn run(policy: &str) -> (cluster::RunMetrics, Vec<cluster::JobRecord>) {
    let settings = DeepRmSettings {
        simu_len: 3,
        ..DeepRmSettings::default()
    };
    let mut env = DeepRmEnv::new(settings, &three_jobs()).unwrap();
    let mut p = scheduler::policy_by_name(policy).unwrap();
    let mut rng = des::RngStreams::new(0).stream("policy");
    let m = run_episode(&mut env, p.as_mut(), &mut rng).unwrap();
    (m, env.records().to_vec())
}

#[test]
fn deeprm_three_jobs_exact_slowdowns() {
    // A starts at 0, finishes at 2: slowdown 1. B arrives at 1 with 4 CPU slots free: it waits, starts at
    // 2 when A leaves, finishes at 3: slowdown (3 - 1) / 1 = 2. C arrives at 2 and fits beside B: starts at
    // 2, finishes at 5: slowdown 1. Mean 4/3; the machine is busy for 5 steps.
    for policy in ["fcfs", "sjf", "packer", "tetris"] {
        let (m, recs) = run(policy);
        let finish: Vec<_> = recs.iter().map(|r| r.finish_step).collect();
        assert_eq!(finish, vec![Some(2), Some(3), Some(5)], "{policy}");
        assert_eq!(m.n_finished, 3);
        assert!(
            (m.slowdown_mean().unwrap() - 4.0 / 3.0).abs() < 1e-12,
            "{policy}: tolerance 1e-12"
        );
        // Used slot-steps: A 2 * 7 + B 1 * 7 + C 3 * 4 = 33 of 2 resources * 10 slots * 5 steps.
        assert!(
            (m.utilization - 33.0 / 100.0).abs() < 1e-12,
            "{policy}: utilization {}",
            m.utilization
        );
        // Reward: minus the total slowdown.
        assert!(
            (m.total_reward + 4.0).abs() < 1e-12,
            "{policy}: reward {}",
            m.total_reward
        );
        assert_eq!(m.makespan_s, 5.0);
        assert!(m.is_conserved());
    }
}

#[test]
fn serverless_three_invocations_exact_metrics() {
    // One machine of 1,000 millicores / 1,024 MB; a function of 600 millicores / 512 MB with a constant
    // 0.5 s cold start and a 1.5 s SLO. a at 0 (1 s), b at 0.5 (1 s), c at 5 (2 s).
    // a: cold, runs 0..1.5, slowdown 1.5. b: waits for CPU, warm at 1.5, finishes 2.5, slowdown 2, SLO
    // missed (2 s > 1.5 s). c: warm at 5, finishes 7, slowdown 1, SLO missed (2 s). Mean 1.5.
    let f = function("f", 600.0, 512.0, 0.5, 1.5);
    let invs = vec![
        inv(0, 0, 0.0, 1.0),
        inv(1, 0, 0.5, 1.0),
        inv(2, 0, 5.0, 2.0),
    ];
    for policy in ["fcfs", "sjf", "packer", "tetris"] {
        let m = run_serverless(
            one_machine(1000.0, 1024.0),
            vec![f.clone()],
            invs.clone(),
            &BTreeMap::new(),
            policy,
        );
        assert_eq!(
            (
                m.n_finished,
                m.n_cold_starts,
                m.n_warm_starts,
                m.n_slo_violations
            ),
            (3, 1, 2, 2),
            "{policy}"
        );
        assert!(
            (m.slowdown_mean().unwrap() - 1.5).abs() < 1e-9,
            "{policy}: tolerance 1e-9"
        );
        // Billed 1.5 + 1 + 2 s at 0.5 GB, plus three requests.
        let cost = 4.5 * 0.5 * 0.000_016_666_7 + 3.0 * 0.2e-6;
        assert!(
            (m.cost_usd - cost).abs() < 1e-15,
            "{policy}: cost {} vs {cost}",
            m.cost_usd
        );
        // Idle warm: 2.5..5 and 7..607 (10-minute TTL) at 0.5 GB = 301.25 GB-s.
        assert!(
            (m.idle_memory_gb_s - 301.25).abs() < 1e-9,
            "{policy}: idle {}",
            m.idle_memory_gb_s
        );
        // CPU 600 * 4.5 / (1000 * 7), memory 512 * 4.5 / (1024 * 7), averaged.
        let util = (2700.0 / 7000.0 + 2304.0 / 7168.0) / 2.0;
        assert!(
            (m.utilization - util).abs() < 1e-12,
            "{policy}: utilization {} vs {util}",
            m.utilization
        );
        assert_eq!(m.makespan_s, 7.0);
        assert!(
            (m.total_reward + 4.5).abs() < 1e-9,
            "{policy}: reward {}",
            m.total_reward
        );
    }
}

#[test]
fn cold_start_evicts_the_longest_idle_instance() {
    // Memory for two instances; f0 and f1 run and idle, then f2 needs a cold start: f0 (idle longer) goes.
    let fs = vec![
        function("f0", 100.0, 400.0, 0.0, 9.0),
        function("f1", 100.0, 400.0, 0.0, 9.0),
        function("f2", 100.0, 400.0, 0.0, 9.0),
    ];
    let invs = vec![
        inv(0, 0, 0.0, 1.0),
        inv(1, 1, 0.5, 1.0),
        inv(2, 2, 3.0, 1.0),
        inv(3, 1, 4.5, 1.0),
    ];
    let m = run_serverless(
        one_machine(1000.0, 800.0),
        fs,
        invs,
        &BTreeMap::new(),
        "fcfs",
    );
    assert_eq!((m.n_cold_starts, m.n_warm_starts, m.n_evictions), (3, 1, 1));
}
