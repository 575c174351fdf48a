//! Workflow execution: many requests through the DAG on the `des` engine, a policy choosing each step's
//! configuration as it starts, warm instances shared across requests of the same function and memory.
//!
//! Events are per step, not per instance: when a step starts, its instances are run at once by the
//! execution model ([`crate::exec`]) against the warm pool, with each instance's own invocation time;
//! the step's finish is one event. Warm instances freed at a future time are in the pool with that time
//! and are only taken by invocations at or after it. Approximation (documented, deterministic): an
//! instance whose whole life falls inside another step's mapping window, started after that step, is
//! not visible to it; expired instances are pruned at the invocation time being looked up.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use des::{EventQueue, RngStreams, SimRng, SimTime, stream_seed};
use rand::Rng;
use workflow::{StepId, StepKind, Workflow};

use crate::arrivals::Arrivals;
use crate::exec::{InstanceSource, run_step_keyed};
use crate::report::{CostSummary, Distribution, RequestRecord, SimReport, StepReport};
use crate::{Error, Platform, Policy, StepConfig, StepContext, StepOutcome};

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// Requests to run (all run to completion).
    pub n_requests: u64,
    /// Arrival process.
    pub arrivals: Arrivals,
    /// Root seed; every random draw comes from a named sub-stream of it.
    pub seed: u64,
    /// End-to-end SLO, seconds (defaults to the workflow's `slo_s`).
    pub slo_s: Option<f64>,
    /// Keep one [`RequestRecord`] per request in the report.
    pub keep_records: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            n_requests: 100,
            arrivals: Arrivals::Poisson { rate_per_s: 1.0 },
            seed: 0,
            slo_s: None,
            keep_records: false,
        }
    }
}

/// A simulation of one workflow on one platform.
pub struct Simulation<'a> {
    workflow: &'a Workflow,
    platform: &'a Platform,
    options: SimOptions,
    /// Dense function index per step (steps of one function share warm instances).
    function_idx: Vec<u32>,
}

#[derive(Debug, Clone, Copy)]
enum Event {
    Arrival { request_idx: u64 },
    StepFinish { slot: u32, step: u32 },
}

/// Running state of one request.
struct Request {
    request_idx: u64,
    arrival: SimTime,
    /// Predecessors not yet resolved, per step.
    pending_preds: Vec<u32>,
    /// Whether some predecessor ran and activated the step (choice edges may not), per step.
    activated: Vec<bool>,
    outcomes: Vec<Option<StepOutcome>>,
    /// Config, start and cost of steps that are running.
    running: Vec<Option<(StepConfig, SimTime, f64, u32)>>,
    n_resolved: u32,
    last_finish: SimTime,
    cost_usd: f64,
    n_cold_starts: u32,
    n_instances: u32,
    n_transitions: u64,
    failed: bool,
    choice_rng: SimRng,
}

/// Warm pool of one (function, memory) pair: idle instances by the time they became free (a min-heap).
#[derive(Default)]
struct Pool {
    free_at: BinaryHeap<Reverse<SimTime>>,
}

struct PoolRef<'p> {
    pool: &'p mut Pool,
    keep_alive: SimTime,
}

impl InstanceSource for PoolRef<'_> {
    fn acquire(&mut self, invoke: SimTime) -> bool {
        while let Some(&Reverse(free)) = self.pool.free_at.peek() {
            if free + self.keep_alive < invoke {
                self.pool.free_at.pop(); // expired
                continue;
            }
            if free <= invoke {
                self.pool.free_at.pop();
                return true;
            }
            return false;
        }
        false
    }

    fn release(&mut self, free_at: SimTime) {
        self.pool.free_at.push(Reverse(free_at));
    }
}

#[derive(Default, Clone)]
struct StepAcc {
    n_runs: u64,
    duration_s_sum: f64,
    cost_usd_sum: f64,
    n_cold: u64,
    n_instances: u64,
}

impl<'a> Simulation<'a> {
    /// Checks the options against the bounds in [`crate::limits`] and prepares a simulation.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the option (`rate`, `requests`, `slo`) and its bound.
    pub fn new(
        workflow: &'a Workflow,
        platform: &'a Platform,
        options: SimOptions,
    ) -> Result<Self, Error> {
        use crate::limits::{
            ARRIVAL_SPAN_S_MAX, RATE_PER_S_MAX, RATE_PER_S_MIN, REQUESTS_MAX, SLO_S_MAX, fmt_num,
        };
        let invalid = |field: &str, reason: String| {
            Err(Error::InvalidOption {
                field: field.into(),
                reason,
            })
        };
        let rate = options.arrivals.mean_rate_per_s();
        // Comparisons with NaN are false, so NaN fails every check.
        if !(rate.is_finite() && (RATE_PER_S_MIN..=RATE_PER_S_MAX).contains(&rate)) {
            return invalid(
                "rate",
                format!(
                    "{}: must be in [{RATE_PER_S_MIN:e}, {RATE_PER_S_MAX:e}] requests per second",
                    fmt_num(rate)
                ),
            );
        }
        if !(1..=REQUESTS_MAX).contains(&options.n_requests) {
            return invalid(
                "requests",
                format!("{}: must be in [1, {REQUESTS_MAX}]", options.n_requests),
            );
        }
        let span_s = options.n_requests as f64 / rate;
        if span_s > ARRIVAL_SPAN_S_MAX {
            return invalid(
                "requests",
                format!(
                    "{} requests at {} per second span {} s of arrivals: must be <= \
                     {ARRIVAL_SPAN_S_MAX:e} s (simulated time is whole microseconds in 64 bits)",
                    options.n_requests,
                    fmt_num(rate),
                    fmt_num(span_s)
                ),
            );
        }
        if let Some(slo) = options.slo_s
            && !(slo.is_finite() && slo > 0.0 && slo <= SLO_S_MAX)
        {
            return invalid(
                "slo",
                format!(
                    "{}: must be a number > 0 and <= {SLO_S_MAX:e} seconds",
                    fmt_num(slo)
                ),
            );
        }
        let mut names: BTreeMap<&str, u32> = BTreeMap::new();
        let function_idx = workflow
            .steps()
            .iter()
            .map(|s| {
                let n = names.len() as u32;
                *names.entry(s.function.as_str()).or_insert(n)
            })
            .collect();
        Ok(Simulation {
            workflow,
            platform,
            options,
            function_idx,
        })
    }

    /// The options in force.
    pub fn options(&self) -> &SimOptions {
        &self.options
    }

    /// The SLO in force: the options', else the workflow's.
    pub fn slo_s(&self) -> Option<f64> {
        self.options.slo_s.or(self.workflow.slo_s)
    }

    /// Runs every request to completion under `policy`. Fails only if the policy chooses a
    /// configuration that cannot run (the error names the step).
    pub fn run(&self, policy: &mut dyn Policy) -> Result<SimReport, Error> {
        let wf = self.workflow;
        let n_steps = wf.n_steps();
        let streams = RngStreams::new(self.options.seed);
        let mut arrival_stream = self.options.arrivals.stream(streams.stream("arrivals"));
        let keep_alive = SimTime::from_secs_f64(self.platform.spec().keep_alive_s);
        let transition = SimTime::from_secs_f64(self.platform.spec().transition_delay_s);
        let slo_s = self.slo_s();

        let mut queue: EventQueue<Event> = EventQueue::with_capacity(1024);
        let mut slots: Vec<Option<Request>> = Vec::new();
        let mut free_slots: Vec<u32> = Vec::new();
        let mut pools: BTreeMap<(u32, u32), Pool> = BTreeMap::new();
        let mut step_acc = vec![StepAcc::default(); n_steps];
        // Never preallocate from the (user-given) request count: grow as requests complete.
        let mut latencies: Vec<f64> =
            Vec::with_capacity(self.options.n_requests.min(1 << 16) as usize);
        let mut records = Vec::new();
        let mut cost_total = 0.0;
        let (mut n_cold_total, mut n_inst_total, mut n_failed, mut n_met) =
            (0u64, 0u64, 0u64, 0u64);
        let mut scratch = Vec::new();
        let mut ready: Vec<(StepId, bool)> = Vec::new();
        let mut last_arrival_slot = 0u32;

        if let Some(at) = arrival_stream.next() {
            queue.schedule_at(at, Event::Arrival { request_idx: 0 });
        }
        while let Some(ev) = queue.pop() {
            let now = ev.time;
            match ev.event {
                Event::Arrival { request_idx } => {
                    let next = request_idx + 1;
                    if next < self.options.n_requests {
                        if let Some(at) = arrival_stream.next() {
                            queue.schedule_at(at, Event::Arrival { request_idx: next });
                        }
                    }
                    let req = Request {
                        request_idx,
                        arrival: now,
                        pending_preds: wf.step_ids().map(|id| wf.preds(id).len() as u32).collect(),
                        activated: vec![false; n_steps],
                        outcomes: vec![None; n_steps],
                        running: vec![None; n_steps],
                        n_resolved: 0,
                        last_finish: now,
                        cost_usd: 0.0,
                        n_cold_starts: 0,
                        n_instances: 0,
                        n_transitions: 0,
                        failed: false,
                        choice_rng: streams.indexed("choice", request_idx),
                    };
                    let slot = match free_slots.pop() {
                        Some(s) => {
                            slots[s as usize] = Some(req);
                            s
                        }
                        None => {
                            slots.push(Some(req));
                            (slots.len() - 1) as u32
                        }
                    };
                    last_arrival_slot = slot;
                    ready.clear();
                    ready.extend(wf.sources().map(|id| (id, true)));
                    self.process_ready(
                        &mut ready,
                        slot,
                        now,
                        &mut slots,
                        &mut queue,
                        &mut pools,
                        policy,
                        transition,
                        keep_alive,
                        slo_s,
                        &mut scratch,
                    )?;
                }
                Event::StepFinish { slot, step } => {
                    let id = StepId(step);
                    let req = slots[slot as usize]
                        .as_mut()
                        .expect("finish event of a live request");
                    let (config, start, cost_usd, n_cold) = req.running[id.idx()]
                        .take()
                        .expect("finishing step was running");
                    let outcome = StepOutcome {
                        config,
                        start_s: start.saturating_sub(req.arrival).as_secs_f64(),
                        duration_s: now.saturating_sub(start).as_secs_f64(),
                        cost_usd,
                        n_cold_starts: n_cold,
                    };
                    req.outcomes[id.idx()] = Some(outcome);
                    req.last_finish = req.last_finish.max(now);
                    let acc = &mut step_acc[id.idx()];
                    acc.n_runs += 1;
                    acc.duration_s_sum += outcome.duration_s;
                    acc.cost_usd_sum += cost_usd;
                    acc.n_cold += u64::from(n_cold);
                    acc.n_instances += u64::from(config.fan_out);
                    if wf.step(id).kind == StepKind::Fail {
                        req.failed = true;
                    }
                    {
                        let ctx = StepContext {
                            workflow: wf,
                            platform: self.platform,
                            step: id,
                            request_idx: req.request_idx,
                            elapsed_s: now.saturating_sub(req.arrival).as_secs_f64(),
                            slo_s,
                            outcomes: &req.outcomes,
                        };
                        policy.observe(&ctx, &outcome);
                    }
                    req.n_resolved += 1;
                    ready.clear();
                    self.release_succs(req, id, true, &mut ready);
                    self.process_ready(
                        &mut ready,
                        slot,
                        now,
                        &mut slots,
                        &mut queue,
                        &mut pools,
                        policy,
                        transition,
                        keep_alive,
                        slo_s,
                        &mut scratch,
                    )?;
                }
            }
            // A completed request is recorded and its slot freed.
            let s = match ev.event {
                Event::Arrival { .. } => last_arrival_slot as usize,
                Event::StepFinish { slot, .. } => slot as usize,
            };
            if matches!(&slots[s], Some(r) if r.n_resolved as usize == n_steps) {
                let req = slots[s].take().expect("checked above");
                free_slots.push(s as u32);
                let latency_s = req.last_finish.saturating_sub(req.arrival).as_secs_f64();
                let cost = req.cost_usd
                    + req.n_transitions as f64 * self.platform.spec().price_usd_per_transition;
                latencies.push(latency_s);
                cost_total += cost;
                n_cold_total += u64::from(req.n_cold_starts);
                n_inst_total += u64::from(req.n_instances);
                n_failed += u64::from(req.failed);
                if let Some(slo) = slo_s
                    && latency_s <= slo + 1e-9
                {
                    n_met += 1;
                }
                if self.options.keep_records {
                    records.push(RequestRecord {
                        request_idx: req.request_idx,
                        arrival_s: req.arrival.as_secs_f64(),
                        latency_s,
                        cost_usd: cost,
                        n_cold_starts: req.n_cold_starts,
                        n_instances: req.n_instances,
                        failed: req.failed,
                        step_duration_s: req
                            .outcomes
                            .iter()
                            .map(|o| o.map(|o| o.duration_s))
                            .collect(),
                    });
                }
            }
        }
        let n = latencies.len() as u64;
        assert_eq!(n, self.options.n_requests, "every request completes");
        records.sort_by_key(|r| r.request_idx);
        let steps = wf
            .steps()
            .iter()
            .zip(&step_acc)
            .map(|(s, a)| {
                let runs = a.n_runs.max(1) as f64;
                StepReport {
                    name: s.name.clone(),
                    n_runs: a.n_runs,
                    duration_s_mean: a.duration_s_sum / runs,
                    cost_usd_mean: a.cost_usd_sum / runs,
                    cold_start_rate: if a.n_instances == 0 {
                        0.0
                    } else {
                        a.n_cold as f64 / a.n_instances as f64
                    },
                }
            })
            .collect();
        Ok(SimReport {
            workflow: wf.name.clone(),
            platform: self.platform.name().to_owned(),
            policy: policy.name().to_owned(),
            seed: self.options.seed,
            requests: n,
            latency_s: Distribution::of(&mut latencies),
            cost_usd: CostSummary {
                mean: cost_total / n as f64,
                total: cost_total,
            },
            cold_start_rate: if n_inst_total == 0 {
                0.0
            } else {
                n_cold_total as f64 / n_inst_total as f64
            },
            slo_s,
            slo_attainment: slo_s.map(|_| n_met as f64 / n as f64),
            n_failed,
            n_instance_executions: n_inst_total,
            n_events: queue.n_popped(),
            makespan_s: queue.now().as_secs_f64(),
            steps,
            request_records: records,
        })
    }

    /// Marks `id` resolved for its successors; `ran` says whether it ran (false: skipped). Successors
    /// whose predecessors are all resolved are pushed onto `ready` with whether they are activated.
    fn release_succs(
        &self,
        req: &mut Request,
        id: StepId,
        ran: bool,
        ready: &mut Vec<(StepId, bool)>,
    ) {
        let wf = self.workflow;
        let step = wf.step(id);
        // A choice activates one successor, drawn from the request's own stream.
        let chosen = if ran && step.kind == StepKind::Choice && !step.choices.is_empty() {
            let u: f64 = req.choice_rng.random();
            let mut acc = 0.0;
            let mut pick = step.choices[step.choices.len() - 1].0;
            for &(s, p) in &step.choices {
                acc += p;
                if u < acc {
                    pick = s;
                    break;
                }
            }
            Some(pick)
        } else {
            None
        };
        for &s in wf.succs(id) {
            let active = ran && chosen.is_none_or(|c| c == s);
            req.activated[s.idx()] |= active;
            req.pending_preds[s.idx()] -= 1;
            if req.pending_preds[s.idx()] == 0 {
                ready.push((s, req.activated[s.idx()]));
            }
        }
    }

    /// Starts (or skips) every ready step, following skips transitively.
    #[allow(clippy::too_many_arguments)]
    fn process_ready(
        &self,
        ready: &mut Vec<(StepId, bool)>,
        slot: u32,
        now: SimTime,
        slots: &mut [Option<Request>],
        queue: &mut EventQueue<Event>,
        pools: &mut BTreeMap<(u32, u32), Pool>,
        policy: &mut dyn Policy,
        transition: SimTime,
        keep_alive: SimTime,
        slo_s: Option<f64>,
        scratch: &mut Vec<f64>,
    ) -> Result<(), Error> {
        let wf = self.workflow;
        let req = slots[slot as usize].as_mut().expect("live request");
        while let Some((id, active)) = ready.pop() {
            if !active {
                req.n_resolved += 1;
                self.release_succs(req, id, false, ready);
                continue;
            }
            let step = wf.step(id);
            let start = now + transition + SimTime::from_secs_f64(step.wait_s);
            req.n_transitions += 1;
            if step.kind != StepKind::Task {
                req.running[id.idx()] = Some((StepConfig::new(0, 0, 0), now + transition, 0.0, 0));
                queue.schedule_at(start, Event::StepFinish { slot, step: id.0 });
                continue;
            }
            let config = {
                let ctx = StepContext {
                    workflow: wf,
                    platform: self.platform,
                    step: id,
                    request_idx: req.request_idx,
                    elapsed_s: (now + transition).saturating_sub(req.arrival).as_secs_f64(),
                    slo_s,
                    outcomes: &req.outcomes,
                };
                policy.choose(&ctx)
            };
            self.platform.check_config(step, config)?;
            if config.fan_out > 1 {
                // A Map over the instances: one transition per iteration.
                req.n_transitions += u64::from(config.fan_out);
            }
            let pool = pools
                .entry((self.function_idx[id.idx()], config.memory_mb))
                .or_default();
            let mut source = PoolRef { pool, keep_alive };
            // Common random numbers: the draws of (request, step) do not depend on other requests or on
            // the policy's earlier choices, and each instance draws from its own streams (see
            // `crate::exec`), so policies compared on one seed see the same noise.
            let step_key = stream_seed(
                self.options.seed,
                "step",
                req.request_idx
                    .wrapping_mul(wf.n_steps() as u64)
                    .wrapping_add(u64::from(id.0)),
            );
            let exec = run_step_keyed(
                self.platform,
                step,
                config,
                start,
                &mut source,
                step_key,
                scratch,
            );
            req.cost_usd += exec.cost_usd;
            req.n_cold_starts += exec.n_cold_starts;
            req.n_instances += exec.n_instances;
            req.running[id.idx()] =
                Some((config, now + transition, exec.cost_usd, exec.n_cold_starts));
            queue.schedule_at(exec.finish, Event::StepFinish { slot, step: id.0 });
        }
        Ok(())
    }
}
