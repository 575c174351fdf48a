//! Environment fuzz: random small clusters, functions, invocation streams (with workflow dependencies)
//! and DeepRM job sets through `ServerlessEnv` and `DeepRmEnv` under every `scheduler` heuristic and
//! keep-alive policy, with invariant checks after every step and at the end. Seeds `0..N` per mode: N is
//! 10,000 by default (1.5 s for both modes in the test profile), 100,000 with `RUN_SLOW_TESTS=1`, or
//! `FAASTUNE_FUZZ_SEEDS`. A failure names the seed and
//! prints the generated input.
//!
//! Invariants:
//! - conservation: arrived = finished + pending + dropped; without a horizon, under every heuristic
//!   but `random` (which may wait with nothing running and so end the episode), every invocation
//!   arrives and finishes (every function fits on some machine and parents come before children, so
//!   nothing can block forever), and each was placed once (cold + warm starts);
//! - a machine's free resources stay within `[0, capacity]` at every observation;
//! - every number is finite; cost, idle memory-time and makespan are non-negative; utilization lies in
//!   [0, 1]; SLO violations <= finished;
//! - response time >= work: an invocation runs its duration divided by the fastest machine's speed
//!   after it is ready, so the slowdown is >= 1 / max speed (DeepRM: >= 1), and the makespan is at
//!   least the latest `arrival + duration / max speed`;
//! - DeepRM job records: placed jobs start at or after arrival and finish exactly `len` steps later;
//!   dropped jobs never start.

use std::collections::BTreeMap;

use cluster::{
    Action, ColdStartSpec, DeepRmEnv, DeepRmSettings, Environment, FunctionSpec, MachineSpec,
    Observation, RunMetrics, ServerlessEnv, ServerlessSettings,
};
use des::{RngStreams, SimRng, SimTime};
use rand::Rng;
use workload::{DeepRmJobDist, DeepRmJobSet, Invocation, Pattern};

/// How many seeds to run: `FAASTUNE_FUZZ_SEEDS`, else 100,000 with `RUN_SLOW_TESTS=1`, else 10,000.
fn n_seeds() -> u64 {
    if let Some(n) = std::env::var("FAASTUNE_FUZZ_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    if std::env::var("RUN_SLOW_TESTS").is_ok_and(|v| v == "1") {
        100_000
    } else {
        10_000
    }
}

/// Steps after which an episode counts as stuck (far more than any generated episode needs).
const MAX_ENV_STEPS: u64 = 200_000;

fn pick<'a, R: Rng, T>(rng: &mut R, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

#[derive(Debug)]
struct ServerlessCase {
    settings: ServerlessSettings,
    functions: Vec<FunctionSpec>,
    invocations: Vec<Invocation>,
    deps: BTreeMap<u64, Vec<u64>>,
    policy: &'static str,
    keep_alive: &'static str,
}

fn serverless_case(seed: u64) -> ServerlessCase {
    let mut rng = RngStreams::new(seed).stream("env_fuzz.serverless");
    let n_machines = rng.random_range(1..=4);
    let machines: Vec<MachineSpec> = (0..n_machines)
        .map(|i| MachineSpec {
            name: format!("m{i}"),
            cpu_millicores: *pick(&mut rng, &[500.0, 1000.0, 2000.0, 4000.0]),
            memory_mb: *pick(&mut rng, &[512.0, 1024.0, 4096.0, 8192.0]),
            speed: *pick(&mut rng, &[0.5, 1.0, 1.0, 2.0]),
        })
        .collect();
    let n_functions = rng.random_range(1..=5);
    let functions: Vec<FunctionSpec> = (0..n_functions)
        .map(|i| {
            // Every function fits on some machine, so nothing waits forever.
            let home = &machines[rng.random_range(0..machines.len())];
            (i, home.memory_mb, home.cpu_millicores)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|(i, mem, cpu)| FunctionSpec {
            name: format!("f{i}"),
            memory_mb: rng.random_range(64.0..=mem),
            cpu_millicores: rng.random_range(50.0..=cpu),
            cold_start: ColdStartSpec {
                median_s: *pick(&mut rng, &[0.0, 0.2, 1.5]),
                sigma: *pick(&mut rng, &[0.0, 0.5, 1.0]),
            },
            slo_s: rng.random_range(0.1..10.0),
            duration_s_p50: rng.random_range(0.01..3.0),
        })
        .collect();
    let n_inv = rng.random_range(0..=60u64);
    let mut t_s = 0.0;
    let invocations: Vec<Invocation> = (0..n_inv)
        .map(|id| {
            t_s += *pick(&mut rng, &[0.0, 0.01, 0.3, 2.0]) * rng.random::<f64>();
            Invocation {
                id,
                function_idx: rng.random_range(0..n_functions) as u32,
                arrival: SimTime::from_secs_f64(t_s),
                duration: SimTime::from_secs_f64(rng.random_range(0.001..4.0)),
                memory_mb: 128,
            }
        })
        .collect();
    // Workflow dependencies: a child waits for up to two earlier invocations.
    let mut deps = BTreeMap::new();
    for id in 1..n_inv {
        if rng.random_bool(0.25) {
            let mut parents: Vec<u64> = (0..rng.random_range(1..=2))
                .map(|_| rng.random_range(0..id))
                .collect();
            parents.sort_unstable();
            parents.dedup();
            deps.insert(id, parents);
        }
    }
    let horizon = rng
        .random_bool(0.3)
        .then(|| SimTime::from_secs_f64(rng.random_range(0.5..30.0)));
    let settings = ServerlessSettings {
        machines,
        horizon,
        slo_slack_s: 1.0,
        ..ServerlessSettings::default()
    };
    ServerlessCase {
        settings,
        functions,
        invocations,
        deps,
        policy: scheduler::POLICY_NAMES[rng.random_range(0..scheduler::POLICY_NAMES.len())],
        keep_alive: scheduler::KEEP_ALIVE_NAMES
            [rng.random_range(0..scheduler::KEEP_ALIVE_NAMES.len())],
    }
}

/// Runs `env` to the end with `policy`, checking the per-step invariants; returns the final metrics.
fn drive(
    env: &mut dyn Environment,
    policy: &mut dyn cluster::Policy,
    rng: &mut SimRng,
) -> Result<RunMetrics, String> {
    policy.reset();
    let mut n_steps = 0u64;
    while !env.is_done() {
        check_observation(env.observe())?;
        let action = if env.observe().pending.is_empty() {
            Action::Wait
        } else {
            policy.decide(env.observe(), rng)
        };
        env.step(action)
            .map_err(|e| format!("step {n_steps}: {e}"))?;
        n_steps += 1;
        if n_steps > MAX_ENV_STEPS {
            return Err(format!(
                "no end after {MAX_ENV_STEPS} steps: {:?}",
                env.metrics()
            ));
        }
    }
    Ok(env.metrics())
}

fn check_observation(obs: &Observation) -> Result<(), String> {
    for (m_idx, m) in obs.machines.iter().enumerate() {
        for (r, (&free, &cap)) in m
            .free
            .as_slice()
            .iter()
            .zip(m.capacity.as_slice())
            .enumerate()
        {
            if !(free.is_finite() && free >= -1e-9 && free <= cap + 1e-9) {
                return Err(format!(
                    "at {:?}: machine {m_idx} resource {r}: free {free} outside [0, {cap}]",
                    obs.now
                ));
            }
        }
    }
    Ok(())
}

/// The end-of-run invariants shared by both modes.
/// `min_slowdown` is the work bound on every slowdown, `tol` its allowance for rounding to whole µs.
fn check_metrics(m: &RunMetrics, min_slowdown: f64, tol: f64) -> Result<(), String> {
    if !m.is_conserved() {
        return Err(format!(
            "conservation: {} arrived != {} finished + {} pending + {} dropped",
            m.n_arrived, m.n_finished, m.n_pending, m.n_dropped
        ));
    }
    for (what, v) in [
        ("cost_usd", m.cost_usd),
        ("idle_memory_gb_s", m.idle_memory_gb_s),
        ("makespan_s", m.makespan_s),
        ("utilization", m.utilization),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(format!("{what} = {v}: not a finite non-negative number"));
        }
    }
    if m.utilization > 1.0 + 1e-9 {
        return Err(format!("utilization {} > 1", m.utilization));
    }
    if !m.total_reward.is_finite() {
        return Err(format!("total_reward {}", m.total_reward));
    }
    if m.n_slo_violations > m.n_finished {
        return Err(format!(
            "{} SLO violations among {} finished",
            m.n_slo_violations, m.n_finished
        ));
    }
    if m.slowdown.n() != m.n_finished {
        return Err(format!(
            "{} slowdowns recorded for {} finished",
            m.slowdown.n(),
            m.n_finished
        ));
    }
    if let Some(mean) = m.slowdown_mean()
        && !(mean.is_finite() && mean >= min_slowdown - tol)
    {
        return Err(format!(
            "mean slowdown {mean} below the bound {min_slowdown} (response time < work)"
        ));
    }
    // The smallest slowdown (exact: fewer than 2^20 values).
    if let Some(min) = m.slowdown.quantile(0.0)
        && min < min_slowdown - tol
    {
        return Err(format!(
            "slowdown {min} below the bound {min_slowdown} (response time < work)"
        ));
    }
    Ok(())
}

fn run_serverless_seed(seed: u64) -> Result<(), (String, String)> {
    let case = serverless_case(seed);
    let describe = || format!("{case:#?}");
    let ka = scheduler::keep_alive_by_name(case.keep_alive, case.functions.len())
        .map_err(|e| (format!("keep-alive: {e}"), describe()))?;
    let mut env = ServerlessEnv::new(
        case.settings.clone(),
        case.functions.clone(),
        Box::new(case.invocations.clone().into_iter()),
        &case.deps,
        ka,
        seed,
    )
    .map_err(|e| (format!("ServerlessEnv::new: {e}"), describe()))?;
    let mut policy =
        scheduler::policy_by_name(case.policy).map_err(|e| (format!("policy: {e}"), describe()))?;
    let mut rng = RngStreams::new(seed).stream("env_fuzz.policy");
    let m = drive(&mut env, policy.as_mut(), &mut rng).map_err(|e| (e, describe()))?;
    let max_speed = case
        .settings
        .machines
        .iter()
        .map(|x| x.speed)
        .fold(0.0, f64::max);
    // Execution times are whole microseconds: a slowdown may fall short of the bound by 1 µs over the
    // shortest duration (twice, for the rounding of the duration itself).
    let min_duration_s = case
        .invocations
        .iter()
        .map(|i| i.duration.as_secs_f64())
        .fold(f64::INFINITY, f64::min);
    let result = check_metrics(&m, 1.0 / max_speed, 2e-6 / min_duration_s).and_then(|()| {
        let n = case.invocations.len() as u64;
        let placements = m.n_cold_starts + m.n_warm_starts;
        // The random policy may wait with nothing running and nothing left to arrive, which ends the
        // episode with its invocations pending; every other heuristic places whatever fits.
        if case.settings.horizon.is_none() && case.policy != "random" {
            if (m.n_arrived, m.n_finished, m.n_pending, m.n_dropped) != (n, n, 0, 0) {
                return Err(format!(
                    "without a horizon all {n} invocations finish: {m:?}"
                ));
            }
            if placements != n {
                return Err(format!("{placements} placements for {n} invocations"));
            }
            // Work bound on the makespan: the last invocation cannot finish before it could run.
            let bound_s = case
                .invocations
                .iter()
                .map(|i| i.arrival.as_secs_f64() + i.duration.as_secs_f64() / max_speed)
                .fold(0.0, f64::max);
            if m.makespan_s < bound_s - 1e-6 {
                return Err(format!(
                    "makespan {} s before the work bound {bound_s} s",
                    m.makespan_s
                ));
            }
        } else if m.n_arrived > n || placements < m.n_finished {
            return Err(format!(
                "{} arrived of {n}, {placements} placements for {} finished",
                m.n_arrived, m.n_finished
            ));
        }
        Ok(())
    });
    result.map_err(|e| (e, describe()))
}

#[derive(Debug)]
struct DeepRmCase {
    settings: DeepRmSettings,
    load: f64,
    pattern: Pattern,
    policy: &'static str,
}

fn run_deeprm_seed(seed: u64) -> Result<(), (String, String)> {
    let mut rng = RngStreams::new(seed).stream("env_fuzz.deeprm");
    let dist = DeepRmJobDist {
        n_resources: rng.random_range(1..=3),
        ..DeepRmJobDist::default()
    };
    let simu_len = rng.random_range(1..=60);
    let case = DeepRmCase {
        settings: DeepRmSettings {
            dist,
            n_visible: rng.random_range(1..=10),
            backlog_size: rng.random_range(0..=20),
            simu_len,
            episode_max_len: rng.random_range(simu_len..=4 * simu_len),
            ..DeepRmSettings::default()
        },
        load: rng.random_range(0.05..1.9),
        pattern: if rng.random_bool(0.5) {
            Pattern::Steady
        } else {
            Pattern::Mixed
        },
        policy: scheduler::POLICY_NAMES[rng.random_range(0..scheduler::POLICY_NAMES.len())],
    };
    let describe = || format!("{case:#?}");
    let dist = &case.settings.dist;
    let rate = dist
        .rate_for_load(case.load)
        .map_err(|e| (format!("rate_for_load: {e}"), describe()))?
        .rate;
    let set = DeepRmJobSet::generate(dist, rate, simu_len, case.pattern, seed, 0)
        .map_err(|e| (format!("job set: {e}"), describe()))?;
    let mut env = DeepRmEnv::new(case.settings.clone(), &set)
        .map_err(|e| (format!("DeepRmEnv::new: {e}"), describe()))?;
    let mut policy =
        scheduler::policy_by_name(case.policy).map_err(|e| (format!("policy: {e}"), describe()))?;
    let mut prng = RngStreams::new(seed).stream("env_fuzz.policy");
    let m = drive(&mut env, policy.as_mut(), &mut prng).map_err(|e| (e, describe()))?;
    let result = check_metrics(&m, 1.0, 1e-9).and_then(|()| {
        if m.n_arrived as usize != set.n_jobs() {
            return Err(format!("{} arrived of {} jobs", m.n_arrived, set.n_jobs()));
        }
        for r in env.records() {
            match (r.start_step, r.finish_step) {
                (Some(s), Some(f))
                    if !r.dropped && s >= r.arrival_step && f == s + u64::from(r.len_steps) => {}
                (None, None) => {}
                _ => return Err(format!("inconsistent job record {r:?}")),
            }
        }
        let n_dropped = env.records().iter().filter(|r| r.dropped).count() as u64;
        if n_dropped != m.n_dropped {
            return Err(format!(
                "{n_dropped} dropped records, metrics say {}",
                m.n_dropped
            ));
        }
        Ok(())
    });
    result.map_err(|e| (e, describe()))
}

#[test]
fn serverless_env_keeps_every_invariant() {
    let n = n_seeds();
    for seed in 0..n {
        if let Err((violation, input)) = run_serverless_seed(seed) {
            panic!("serverless env fuzz seed {seed} of {n}: {violation}\n{input}");
        }
    }
}

#[test]
fn deeprm_env_keeps_every_invariant() {
    let n = n_seeds();
    for seed in 0..n {
        if let Err((violation, input)) = run_deeprm_seed(seed) {
            panic!("DeepRM env fuzz seed {seed} of {n}: {violation}\n{input}");
        }
    }
}
