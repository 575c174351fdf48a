//! Simulation fuzz: random small workflows, platforms, policies and arrival streams through
//! `Simulation::run`, with invariant checks on every report. Seeds `0..N`: N is 10,000 by default
//! (about 1 s in the test profile), 100,000 with `RUN_SLOW_TESTS=1`, or `FAASTUNE_FUZZ_SEEDS`. A failure names the seed and prints the
//! generated input (workflow as JSON, platform, configs, options).
//!
//! Invariants:
//! - conservation: every request completes once, in order; per-step run counts, instance counts, cold
//!   starts, failures and costs in the summary equal the sums over the per-request records;
//! - every number is finite; costs, latencies and durations are non-negative; rates lie in [0, 1];
//! - latency >= the critical path of the steps that ran, each at infinite CPU: a task's instance 0
//!   (which takes the most jobs, `ceil(jobs / p)`) runs `ceil(n0 / min(q, n0))` rounds of jobs, and a job
//!   takes at least its serial part `work_s * (1 - f)` (Amdahl's `(1 - f) / min(a, 1) + f / a` with
//!   `a -> inf`; stragglers only slow down) plus its transfers `(input + output) / bandwidth` (latency
//!   noise is non-negative); every step first waits the transition delay and its `wait_s`
//!   (`crate::exec`, `Simulation::process_ready`);
//! - on the deterministic profile (no noise, cold starts, mapping or transition delay) the latency is
//!   exactly that critical path at the configured CPU (the model's own formula), to 1 µs per step.

use std::collections::BTreeMap;

use des::RngStreams;
use platform::{
    Arrivals, Platform, PlatformSpec, Policy, SimOptions, SimReport, Simulation, StepConfig,
    StepContext,
};
use rand::Rng;
use workflow::{ChoiceSpec, StepId, StepKind, StepSpec, Workflow, WorkflowSpec};

/// Seeds run by default (1.1 s in the test profile on one core of the 2-core CI machine).
const DEFAULT_SEEDS: u64 = 10_000;

/// How many seeds to run: `FAASTUNE_FUZZ_SEEDS`, else 100,000 with `RUN_SLOW_TESTS=1`, else the default.
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
        DEFAULT_SEEDS
    }
}

/// One generated input.
#[derive(Debug)]
struct Case {
    spec: WorkflowSpec,
    platform: PlatformSpec,
    /// Static configs per step, or `None` for a policy that draws a config at every step start.
    configs: Option<Vec<StepConfig>>,
    options: SimOptions,
}

impl Case {
    fn describe(&self) -> String {
        format!(
            "workflow: {}\nplatform: {:?}\nconfigs: {:?}\noptions: {:?}",
            serde_json::to_string(&self.spec).unwrap_or_default(),
            self.platform,
            self.configs,
            self.options
        )
    }
}

fn pick<'a, R: Rng, T>(rng: &mut R, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn random_workflow<R: Rng>(rng: &mut R) -> WorkflowSpec {
    let n = rng.random_range(1..=7usize);
    let mut steps: Vec<StepSpec> = Vec::with_capacity(n);
    for i in 0..n {
        let after: Vec<String> = (0..i)
            .filter(|_| rng.random_bool(0.4))
            .map(|j| format!("s{j}"))
            .collect();
        let kind = match rng.random_range(0..20) {
            0..=1 => Some("pass"),
            2..=4 => Some("choice"),
            5 => Some("fail"),
            _ => None,
        };
        let mut s = StepSpec {
            name: format!("s{i}"),
            kind: kind.map(str::to_string),
            after,
            ..Default::default()
        };
        if kind.is_none() {
            s.jobs = Some(*pick(rng, &[1, 1, 2, 3, 5, 8, 16, 33]));
            s.work_s = Some(rng.random_range(0.001..5.0));
            s.parallel_fraction = Some(*pick(rng, &[0.0, 0.3, 0.9, 1.0]));
            s.memory_mb_per_worker = Some(*pick(rng, &[64, 128, 256, 1000]));
            if rng.random_bool(0.5) {
                s.input_mb = Some(rng.random_range(0.0..50.0));
                s.output_mb = Some(rng.random_range(0.0..50.0));
            }
            if rng.random_bool(0.2) {
                s.cold_start_s = Some(rng.random_range(0.0..3.0));
            }
            if rng.random_bool(0.2) {
                s.max_fan_out = Some(rng.random_range(1..=4));
            }
            if rng.random_bool(0.3) {
                // Steps of one function share warm instances.
                s.function = Some(format!("f{}", rng.random_range(0..2)));
            }
        }
        if kind == Some("pass") || (kind.is_none() && rng.random_bool(0.1)) {
            s.wait_s = Some(rng.random_range(0.0..2.0));
        }
        steps.push(s);
    }
    // A choice step chooses among its successors; one without successors becomes a pass step.
    for i in 0..n {
        if steps[i].kind.as_deref() != Some("choice") {
            continue;
        }
        let name = format!("s{i}");
        let succs: Vec<String> = steps
            .iter()
            .filter(|s| s.after.contains(&name))
            .map(|s| s.name.clone())
            .collect();
        if succs.is_empty() {
            steps[i].kind = Some("pass".into());
        } else if rng.random_bool(0.5) {
            // Explicit probabilities summing to 1.
            let w: Vec<f64> = succs.iter().map(|_| rng.random_range(0.05..1.0)).collect();
            let total: f64 = w.iter().sum();
            let mut acc = 0.0;
            let k = succs.len();
            steps[i].choices = succs
                .iter()
                .enumerate()
                .map(|(j, next)| {
                    // The last branch gets the rest, so the sum is exactly 1.
                    let p = if j + 1 == k { 1.0 - acc } else { w[j] / total };
                    acc += p;
                    ChoiceSpec {
                        next: next.clone(),
                        probability: (j + 1 < k).then_some(p),
                    }
                })
                .collect();
        }
    }
    WorkflowSpec {
        name: "fuzz".into(),
        slo_s: rng.random_bool(0.3).then(|| rng.random_range(1.0..60.0)),
        description: None,
        retry: None,
        steps,
    }
}

fn random_platform<R: Rng>(rng: &mut R) -> PlatformSpec {
    match rng.random_range(0..4) {
        0 => PlatformSpec::default(),
        1 => PlatformSpec::deterministic(),
        _ => {
            let mut s = PlatformSpec {
                memory_mb_step: *pick(rng, &[1, 64, 128]),
                billing_granularity_ms: *pick(rng, &[1, 100, 1000]),
                bill_cold_start: rng.random_bool(0.5),
                keep_alive_s: *pick(rng, &[0.0, 1.0, 600.0]),
                transition_delay_s: rng.random_range(0.0..0.1),
                ..PlatformSpec::default()
            };
            s.cold_start.mean_s = rng.random_range(0.0..2.0);
            s.cold_start.cv = *pick(rng, &[0.0, 0.5, 2.0]);
            s.mapping_delay.per_instance_s = rng.random_range(0.0..0.05);
            s.mapping_delay.knee = rng.random_range(0..8);
            s.mapping_delay.growth_s = rng.random_range(0.0..0.01);
            s.storage.latency_s_median = rng.random_range(0.0..0.1);
            s.storage.latency_sigma = *pick(rng, &[0.0, 0.5, 1.5]);
            s.storage.bandwidth_mb_per_s = rng.random_range(10.0..500.0);
            s.straggler.probability = *pick(rng, &[0.0, 0.1, 0.5]);
            s.straggler.slowdown_min = rng.random_range(1.0..2.0);
            s.straggler.slowdown_max = s.straggler.slowdown_min + rng.random_range(0.0..2.0);
            s
        }
    }
}

/// A random feasible config for `step` (any config for non-task steps, which ignore it).
fn random_config<R: Rng>(rng: &mut R, platform: &Platform, step: &workflow::Step) -> StepConfig {
    if step.kind != StepKind::Task {
        return StepConfig::new(0, 0, 0);
    }
    let s = platform.spec();
    let max_fan_out = step.jobs.min(step.max_fan_out.unwrap_or(u32::MAX)).max(1);
    let fan_out = rng.random_range(1..=max_fan_out.min(40));
    // Memory: offered sizes that hold at least one worker.
    let need = step.memory_mb_per_worker.max(s.memory_mb_min);
    let lo = (need - s.memory_mb_min).div_ceil(s.memory_mb_step);
    let hi = (s.memory_mb_max - s.memory_mb_min) / s.memory_mb_step;
    let memory_mb = s.memory_mb_min + rng.random_range(lo..=hi) * s.memory_mb_step;
    let max_workers = (memory_mb / step.memory_mb_per_worker).clamp(1, 6);
    let workers = rng.random_range(1..=max_workers);
    StepConfig::new(memory_mb, fan_out, workers)
}

/// Draws a fresh feasible config at every step start and remembers it per (request, step).
struct RandomPolicy {
    rng: des::SimRng,
    chosen: BTreeMap<(u64, u32), StepConfig>,
}

impl Policy for RandomPolicy {
    fn name(&self) -> &str {
        "random"
    }

    fn choose(&mut self, ctx: &StepContext<'_>) -> StepConfig {
        let c = random_config(&mut self.rng, ctx.platform, ctx.workflow.step(ctx.step));
        self.chosen.insert((ctx.request_idx, ctx.step.0), c);
        c
    }
}

fn generate(seed: u64) -> (Case, Workflow, Platform) {
    let streams = RngStreams::new(seed);
    let mut rng = streams.stream("sim_fuzz");
    let spec = random_workflow(&mut rng);
    let wf = Workflow::from_spec(&spec, "sim_fuzz")
        .unwrap_or_else(|e| panic!("seed {seed}: generated workflow invalid: {e}\n{spec:?}"));
    let pspec = random_platform(&mut rng);
    let platform = Platform::from_spec(pspec.clone(), "sim_fuzz")
        .unwrap_or_else(|e| panic!("seed {seed}: generated platform invalid: {e}\n{pspec:?}"));
    let configs = rng.random_bool(0.7).then(|| {
        wf.steps()
            .iter()
            .map(|s| random_config(&mut rng, &platform, s))
            .collect()
    });
    let rate_per_s = *pick(&mut rng, &[0.05, 0.5, 2.0, 20.0]);
    let options = SimOptions {
        n_requests: rng.random_range(1..=25),
        arrivals: if rng.random_bool(0.5) {
            Arrivals::Poisson { rate_per_s }
        } else {
            Arrivals::Fixed { rate_per_s }
        },
        seed,
        slo_s: rng.random_bool(0.2).then(|| rng.random_range(0.5..30.0)),
        keep_records: true,
        ..SimOptions::default()
    };
    (
        Case {
            spec,
            platform: pspec,
            configs,
            options,
        },
        wf,
        platform,
    )
}

/// Instance 0's job count, busy workers and rounds (it takes the most jobs: `crate::exec`).
fn rounds(step: &workflow::Step, c: StepConfig) -> (u32, u32, u32) {
    let n0 = step.jobs.div_ceil(c.fan_out.max(1));
    let busy = c.workers.min(n0).max(1);
    (n0, busy, n0.div_ceil(busy))
}

/// Checks every invariant of the module docs; returns the first violation.
fn check(
    wf: &Workflow,
    platform: &Platform,
    case: &Case,
    report: &SimReport,
    config_of: &dyn Fn(u64, StepId) -> StepConfig,
) -> Result<(), String> {
    let n = case.options.n_requests;
    let spec = platform.spec();
    let finite_nonneg = |what: &str, v: f64| {
        if v.is_finite() && v >= 0.0 {
            Ok(())
        } else {
            Err(format!("{what} = {v}: not a finite non-negative number"))
        }
    };
    let load = &report.load;
    if load.n_arrived != n
        || load.n_completed + load.n_failed_throttled + load.n_running != n
        || load.n_running != 0
        || report.requests != load.n_completed
        || report.request_records.len() as u64 != n
    {
        return Err(format!(
            "conservation: {n} requests sent, report says {} arrived, {} completed, {} failed by \
             throttling, {} running, {} records",
            load.n_arrived,
            load.n_completed,
            load.n_failed_throttled,
            load.n_running,
            report.request_records.len()
        ));
    }
    if load.concurrency_max > spec.concurrency.account_limit {
        return Err(format!(
            "concurrency {} above the account limit {}",
            load.concurrency_max, spec.concurrency.account_limit
        ));
    }
    let (mut cost_sum, mut n_inst, mut n_cold, mut n_failed) = (0.0, 0u64, 0u64, 0u64);
    let mut runs = vec![0u64; wf.n_steps()];
    let tol_us = 3e-6 * (wf.n_steps() as f64 + 1.0);
    for (i, r) in report.request_records.iter().enumerate() {
        if r.request_idx != i as u64 {
            return Err(format!("record {i} has request_idx {}", r.request_idx));
        }
        finite_nonneg(&format!("request {i} latency_s"), r.latency_s)?;
        finite_nonneg(&format!("request {i} cost_usd"), r.cost_usd)?;
        finite_nonneg(&format!("request {i} arrival_s"), r.arrival_s)?;
        if r.n_cold_starts > r.n_instances {
            return Err(format!("request {i}: more cold starts than instances"));
        }
        cost_sum += r.cost_usd;
        n_inst += u64::from(r.n_instances);
        n_cold += u64::from(r.n_cold_starts);
        n_failed += u64::from(r.failed);
        if r.throttled {
            // Failed part-way by throttling: only its totals are checked.
            if !r.failed {
                return Err(format!("request {i}: throttled but not failed"));
            }
            for (k, d) in r.step_duration_s.iter().enumerate() {
                runs[k] += u64::from(d.is_some());
            }
            continue;
        }
        // Per step: which ran, their durations (lower bound at infinite CPU, exact when deterministic).
        let mut bound_s = vec![0.0; wf.n_steps()];
        let mut exact_s = vec![0.0; wf.n_steps()];
        let (mut fan_outs, mut failed) = (0u64, false);
        for (k, d) in r.step_duration_s.iter().enumerate() {
            let Some(d) = *d else { continue };
            runs[k] += 1;
            finite_nonneg(&format!("request {i} step {k} duration_s"), d)?;
            let step = &wf.steps()[k];
            let before = spec.transition_delay_s + step.wait_s;
            failed |= step.kind == StepKind::Fail;
            if step.kind != StepKind::Task {
                bound_s[k] = before;
                exact_s[k] = before;
                continue;
            }
            let c = config_of(r.request_idx, StepId(k as u32));
            fan_outs += u64::from(c.fan_out);
            let (_, busy, n_rounds) = rounds(step, c);
            let transfer_s = (step.input_mb + step.output_mb) / spec.storage.bandwidth_mb_per_s;
            let serial_s = step.work_s * (1.0 - step.parallel_fraction);
            bound_s[k] = before + f64::from(n_rounds) * (serial_s + transfer_s);
            let compute_s = platform::exec::job_compute_s(platform, step, c.memory_mb, busy);
            exact_s[k] = before + f64::from(n_rounds) * (compute_s + transfer_s);
        }
        if fan_outs != u64::from(r.n_instances) {
            return Err(format!(
                "request {i}: {} instances, the configs of the steps that ran have fan-out {fan_outs}",
                r.n_instances
            ));
        }
        if failed != r.failed {
            return Err(format!(
                "request {i}: failed = {}, a fail step ran: {failed}",
                r.failed
            ));
        }
        let (bound, _) = wf.critical_path(&bound_s);
        if r.latency_s < bound * (1.0 - 1e-9) - tol_us {
            return Err(format!(
                "request {i}: latency {} s below the infinite-CPU critical path {bound} s",
                r.latency_s
            ));
        }
        let deterministic = case.platform == PlatformSpec::deterministic()
            && wf.steps().iter().all(|s| s.cold_start_s.is_none());
        if deterministic {
            let (exact, _) = wf.critical_path(&exact_s);
            if (r.latency_s - exact).abs() > exact * 1e-9 + tol_us {
                return Err(format!(
                    "request {i}: latency {} s, the deterministic model gives {exact} s",
                    r.latency_s
                ));
            }
        }
    }
    for (k, s) in report.steps.iter().enumerate() {
        if s.n_runs != runs[k] {
            return Err(format!(
                "step {k}: summary says {} runs, the records {}",
                s.n_runs, runs[k]
            ));
        }
        finite_nonneg(&format!("step {k} duration_s_mean"), s.duration_s_mean)?;
        finite_nonneg(&format!("step {k} cost_usd_mean"), s.cost_usd_mean)?;
        if !(0.0..=1.0).contains(&s.cold_start_rate) {
            return Err(format!("step {k}: cold_start_rate {}", s.cold_start_rate));
        }
    }
    if report.n_instance_executions != n_inst {
        return Err(format!(
            "instances: summary {}, records {n_inst}",
            report.n_instance_executions
        ));
    }
    if report.n_failed != n_failed {
        return Err(format!(
            "failed: summary {}, records {n_failed}",
            report.n_failed
        ));
    }
    finite_nonneg("cost_usd.total", report.cost_usd.total)?;
    finite_nonneg("cost_usd.mean", report.cost_usd.mean)?;
    if (report.cost_usd.total - cost_sum).abs() > 1e-9 * cost_sum.max(1e-12) {
        return Err(format!(
            "cost: summary {}, records {cost_sum}",
            report.cost_usd.total
        ));
    }
    let rate = if n_inst == 0 {
        0.0
    } else {
        n_cold as f64 / n_inst as f64
    };
    if (report.cold_start_rate - rate).abs() > 1e-12 {
        return Err(format!(
            "cold_start_rate: summary {}, records {rate}",
            report.cold_start_rate
        ));
    }
    if let Some(a) = report.slo_attainment
        && !(0.0..=1.0).contains(&a)
    {
        return Err(format!("slo_attainment {a}"));
    }
    finite_nonneg("makespan_s", report.makespan_s)?;
    let last_done = report
        .request_records
        .iter()
        .map(|r| r.arrival_s + r.latency_s)
        .fold(0.0, f64::max);
    if report.makespan_s + 1e-6 < last_done {
        return Err(format!(
            "makespan {} s before the last completion {last_done} s",
            report.makespan_s
        ));
    }
    for (what, v) in [
        ("latency_s.mean", report.latency_s.mean),
        ("latency_s.p50", report.latency_s.p50),
        ("latency_s.p99", report.latency_s.p99),
        ("latency_s.max", report.latency_s.max),
    ] {
        finite_nonneg(what, v)?;
    }
    Ok(())
}

fn run_seed(seed: u64) -> Result<(), (String, String)> {
    let (case, wf, platform) = generate(seed);
    let sim = Simulation::new(&wf, &platform, case.options.clone())
        .map_err(|e| (format!("Simulation::new: {e}"), case.describe()))?;
    let result = match &case.configs {
        Some(configs) => {
            let mut p = platform::StaticPolicy::new("static", configs.clone());
            sim.run(&mut p).map(|r| {
                let configs = configs.clone();
                check(&wf, &platform, &case, &r, &move |_, id| configs[id.idx()])
            })
        }
        None => {
            let mut p = RandomPolicy {
                rng: RngStreams::new(seed).stream("sim_fuzz.policy"),
                chosen: BTreeMap::new(),
            };
            let r = sim.run(&mut p);
            let chosen = std::mem::take(&mut p.chosen);
            r.map(|r| {
                check(&wf, &platform, &case, &r, &move |req, id| {
                    chosen[&(req, id.0)]
                })
            })
        }
    };
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(violation)) => Err((violation, case.describe())),
        Err(e) => Err((
            format!("run failed on a feasible config: {e}"),
            case.describe(),
        )),
    }
}

#[test]
fn random_workflows_keep_every_invariant() {
    let n = n_seeds();
    for seed in 0..n {
        if let Err((violation, input)) = run_seed(seed) {
            panic!("sim fuzz seed {seed} of {n}: {violation}\n{input}");
        }
    }
}

#[test]
fn the_generator_covers_every_step_kind_and_both_policies() {
    // A fuzz whose generator never made a choice or a dynamic policy would check nothing about them.
    let (mut kinds, mut dynamic, mut stat) = (BTreeMap::new(), 0, 0);
    for seed in 0..200 {
        let (case, wf, _) = generate(seed);
        for s in wf.steps() {
            *kinds.entry(s.kind.as_str()).or_insert(0) += 1;
        }
        if case.configs.is_some() {
            stat += 1;
        } else {
            dynamic += 1;
        }
    }
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    assert!(
        dynamic > 20 && stat > 20,
        "{dynamic} dynamic, {stat} static"
    );
}
