//! faastune's serverless environment on an Azure 2019 sample, as `faastune alloc --scenario serverless
//! --trace DIR --policies fcfs` runs it, with the CPU model as an argument (`faastune alloc` has no
//! `--cpu-model` flag yet) and the counters that command does not print (evictions, pre-warms, warm starts).
//!
//! ```text
//! faastune-serverless --trace DIR [--keep-alive fixed|histogram] [--cpu-model reserved|shared]
//!                     [--seed N] [--minutes N] [--load X]
//! ```
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use cluster::{run_episode, CpuModel, ServerlessEnv, ServerlessSettings};
use des::RngStreams;
use serde_json::json;

fn main() {
    let (mut trace, mut keep, mut cpu, mut seed, mut minutes, mut load) = (
        PathBuf::new(),
        "fixed".to_string(),
        "reserved".to_string(),
        1u64,
        None::<usize>,
        1.0,
    );
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--trace" => trace = PathBuf::from(v()),
            "--keep-alive" => keep = v(),
            "--cpu-model" => cpu = v(),
            "--seed" => seed = v().parse().expect("--seed"),
            "--minutes" => minutes = Some(v().parse().expect("--minutes")),
            "--load" => load = v().parse().expect("--load"),
            _ => panic!("unknown argument {k}"),
        }
    }
    let t0 = Instant::now();
    let settings = ServerlessSettings {
        cpu_model: match cpu.as_str() {
            "reserved" => CpuModel::Reserved,
            "shared" => CpuModel::Shared,
            _ => panic!("--cpu-model reserved|shared"),
        },
        ..ServerlessSettings::default()
    };
    let t = workload::Azure2019Trace::read(&trace).expect("trace");
    let functions: Vec<_> = t
        .functions
        .iter()
        .map(|p| settings.function_from_profile(p))
        .collect();
    let stream = Box::new(t.stream(seed, load, minutes).expect("stream"));
    let ka = scheduler::keep_alive_by_name(&keep, functions.len()).expect("--keep-alive");
    let mut env =
        ServerlessEnv::new(settings, functions, stream, &BTreeMap::new(), ka, seed).expect("env");
    let mut policy = scheduler::policy_by_name("fcfs").expect("fcfs");
    let mut rng = RngStreams::new(seed).stream("policy");
    let m = run_episode(&mut env, policy.as_mut(), &mut rng).expect("run");
    let out = json!({
        "simulator": "faastune",
        "trace": trace.display().to_string(),
        "keep_alive": keep,
        "cpu_model": cpu,
        "seed": seed,
        "load": load,
        "invocations": m.n_arrived,
        "finished": m.n_finished,
        "cold_starts": m.n_cold_starts,
        "warm_starts": m.n_warm_starts,
        "cold_start_rate": m.cold_start_rate(),
        "evictions": m.n_evictions,
        "prewarms": m.n_prewarms,
        "slowdown_mean": m.slowdown_mean(),
        "slowdown_p95": m.slowdown_p95(),
        "slo_violation_rate": m.slo_violation_rate(),
        "idle_memory_gb_s": m.idle_memory_gb_s,
        "utilization": m.utilization,
        "makespan_s": m.makespan_s,
        "events": env.n_events(),
        "time_s": t0.elapsed().as_secs_f64(),
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
}
