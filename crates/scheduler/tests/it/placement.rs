//! Serverless placement: a machine with free memory is used before idle instances elsewhere are evicted.

use std::collections::BTreeMap;

use cluster::{
    ColdStartSpec, FunctionSpec, MachineSpec, ServerlessEnv, ServerlessSettings, run_episode,
};
use des::SimTime;
use workload::Invocation;

fn function(name: &str, memory_mb: f64) -> FunctionSpec {
    FunctionSpec {
        name: name.into(),
        memory_mb,
        cpu_millicores: 100.0,
        cold_start: ColdStartSpec {
            median_s: 0.5,
            sigma: 0.0,
        },
        slo_s: 5.0,
        duration_s_p50: 1.0,
    }
}

/// Machine 0 holds two idle instances of `a` (its whole memory), machine 1 is empty. An invocation of `b`
/// fits on machine 0 only by evicting an `a`; every heuristic must put it on machine 1 and keep both `a`
/// instances warm, so the later `a` invocations start warm (FCFS and SJF).
#[test]
fn free_memory_elsewhere_comes_before_eviction() {
    let settings = ServerlessSettings {
        machines: (0..2)
            .map(|i| MachineSpec {
                name: format!("m{i}"),
                cpu_millicores: 4000.0,
                memory_mb: 1024.0,
                speed: 1.0,
            })
            .collect(),
        ..ServerlessSettings::default()
    };
    let inv = |id: u64, f: u32, at_ms: u64| Invocation {
        id,
        function_idx: f,
        arrival: SimTime::from_ms(at_ms),
        duration: SimTime::from_ms(1_000),
        memory_mb: 512,
    };
    // Two concurrent `a` (both land on machine 0, the first that fits), then `b` once they are idle, then
    // two `a` again.
    let invs = vec![
        inv(0, 0, 0),
        inv(1, 0, 0),
        inv(2, 1, 5_000),
        inv(3, 0, 10_000),
        inv(4, 0, 10_000),
    ];
    for policy in scheduler::POLICY_NAMES {
        if policy == "random" {
            continue;
        }
        let mut env = ServerlessEnv::new(
            settings.clone(),
            vec![function("a", 512.0), function("b", 512.0)],
            Box::new(invs.clone().into_iter()),
            &BTreeMap::new(),
            scheduler::keep_alive_by_name("fixed", 1).unwrap(),
            0,
        )
        .unwrap();
        let mut p = scheduler::policy_by_name(policy).unwrap();
        let mut rng = des::RngStreams::new(0).stream("policy");
        let r = run_episode(&mut env, p.as_mut(), &mut rng).unwrap();
        assert_eq!(r.n_evictions, 0, "{policy}: {r:?}");
        if matches!(policy, "fcfs" | "sjf") {
            // Cold: the first two `a` and the one `b`; the last two `a` reuse the warm instances. (Packer
            // and Tetris* may spread the `a`s by their score: a cold start, but no eviction.)
            assert_eq!(r.n_cold_starts, 3, "{policy}: {r:?}");
        }
    }
}
