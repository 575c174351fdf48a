//! Integration tests of the cluster crate: hand-checked scenarios with exact metrics, conservation,
//! determinism, workflow dependencies and input errors, run with the `scheduler` heuristics.

mod conservation;
mod cpu_share;
mod determinism;
mod earliest_start;
mod env_fuzz;
mod errors;
mod hand;
mod workflow;

use std::collections::BTreeMap;

use cluster::{
    ColdStartSpec, FunctionSpec, MachineSpec, RunMetrics, ServerlessEnv, ServerlessSettings,
    run_episode,
};
use des::SimTime;
use workload::Invocation;

/// One machine of `cpu` millicores and `mem` MB.
pub fn one_machine(cpu: f64, mem: f64) -> ServerlessSettings {
    ServerlessSettings {
        machines: vec![MachineSpec {
            name: "m0".into(),
            cpu_millicores: cpu,
            memory_mb: mem,
            speed: 1.0,
        }],
        ..ServerlessSettings::default()
    }
}

/// A function with a constant cold start.
pub fn function(name: &str, cpu: f64, mem: f64, cold_s: f64, slo_s: f64) -> FunctionSpec {
    FunctionSpec {
        name: name.into(),
        memory_mb: mem,
        cpu_millicores: cpu,
        cold_start: ColdStartSpec {
            median_s: cold_s,
            sigma: 0.0,
        },
        slo_s,
        duration_s_p50: 1.0,
    }
}

/// An invocation of `f` arriving at `arrival_s` running `duration_s`.
pub fn inv(id: u64, f: u32, arrival_s: f64, duration_s: f64) -> Invocation {
    Invocation {
        id,
        function_idx: f,
        arrival: SimTime::from_secs_f64(arrival_s),
        duration: SimTime::from_secs_f64(duration_s),
        memory_mb: 100,
    }
}

/// Runs `policy` with fixed-TTL keep-alive over `invs`.
pub fn run_serverless(
    settings: ServerlessSettings,
    functions: Vec<FunctionSpec>,
    invs: Vec<Invocation>,
    deps: &BTreeMap<u64, Vec<u64>>,
    policy: &str,
) -> RunMetrics {
    let ka = scheduler::keep_alive_by_name("fixed", functions.len()).unwrap();
    let mut env =
        ServerlessEnv::new(settings, functions, Box::new(invs.into_iter()), deps, ka, 1).unwrap();
    let mut p = scheduler::policy_by_name(policy).unwrap();
    let mut rng = des::RngStreams::new(1).stream("policy");
    run_episode(&mut env, p.as_mut(), &mut rng).unwrap()
}
