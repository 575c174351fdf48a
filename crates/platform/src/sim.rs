//! Workflow execution under load: many requests through the DAG on the `des` engine, a policy choosing
//! each step's configuration as it becomes ready, instances admitted under the platform's concurrency
//! limits, warm and provisioned environments shared across requests of the same function and memory, an
//! optional controller changing settings while the run goes, and a monitoring stream.
//!
//! Events are per step, not per instance. When a step starts (its transition begins; after its wait,
//! for a step with `wait_s`), the orchestrator decides all of its instances at once, as Step Functions
//! launches a Map's iterations in a burst: instance `j` is invoked after its mapping delay, and whether it
//! runs warm, cold, on a provisioned environment, or is throttled is decided at the step's start from the
//! state at that moment. Instances held back by Map `max_concurrency` are decided when a slot frees, and
//! throttled instances when their retry is due (a wake-up event each). Decisions are taken in event
//! order, so every decision sees every earlier one.
//!
//! Concurrency is counted per execution environment, from the decision that occupies it to the end of
//! its invocation (an environment still busy at the decision but free by the invocation is reused warm
//! and counted once, without a gap). Counted this way, running environments never exceed the account
//! limit or a function's reservation: each decision counts every environment admitted earlier and not
//! yet finished, including ones whose invocation is still to come. A throttle decision can therefore be
//! early by at most the mapping delay (tens of milliseconds for a wide Map).
//!
//! Admission of an instance (AWS Lambda's rules, see [`crate::PlatformSpec`]):
//! 1. a free provisioned environment of the (function, memory) pair runs it warm at the provisioned
//!    price (provisioned environments are capacity set aside: never throttled);
//! 2. otherwise it spills over to on demand: an idle warm environment (freed no longer than
//!    `keep_alive_s` before the invocation; the earliest freed first) if the limits allow one more, else
//!    an environment busy now whose invocation ends by this one's, else a cold start if the limits allow
//!    one more and the function's scaling bucket has a token. The limits: the function's on-demand
//!    environments plus its provisioned ones below its reserved concurrency, or, for a function without
//!    one, the unreserved functions' on-demand and provisioned environments below the account limit
//!    minus all reservations.
//!
//! A throttled instance is retried by the step's retry policy (Step Functions' Retrier: backoff,
//! optional full jitter from the instance's own stream); with no attempt left the step fails and its
//! request fails at once (its admitted instances run to their end and are billed; steps not started
//! never start). Nothing is dropped: every arrived request completes, fails or is running at the
//! horizon.
//!
//! Cross-request batching (`Step::batch`): a request reaching a batched step joins the step's one open
//! batch; the first member chooses the configuration and starts the window. The batch launches when
//! it holds `size` members or when the window ends (a zero window still collects the requests that
//! reach the step at the same instant), as one step run of the opener's configuration over all
//! members' jobs, with the opener's random draws (a batch of one is exactly the unbatched run). Its
//! members finish together and go on separately; its cost (and the Map's transitions) is split evenly
//! over them, and its invocations, cold starts and throttles count once, on the first member. A batch
//! out of retries fails every member; a member failed by another step leaves its batches.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use des::{EventQueue, RngStreams, SimRng, SimTime, stream_seed};
use rand::Rng;
use workflow::{Jitter, StepId, StepKind, Workflow};

use crate::arrivals::Arrivals;
use crate::control::{Change, ControlState, Controller, FunctionSettings};
use crate::exec::{retry_jitter, run_instance_of};
use crate::monitor::{
    FunctionWindow, MonitorWindow, Percentiles, ProvisionedWindow, WorkflowWindow,
};
use crate::report::{
    CostSummary, LatencySample, LoadSummary, RequestRecord, SimReport, StepReport,
};
use crate::{Error, Platform, Policy, StepConfig, StepContext, StepOutcome};

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// Most requests to start (every one runs to completion unless a horizon cuts the run).
    pub n_requests: u64,
    /// Arrival process.
    pub arrivals: Arrivals,
    /// Root seed; every random draw comes from a named sub-stream of it.
    pub seed: u64,
    /// End-to-end SLO, seconds (defaults to the workflow's `slo_s`).
    pub slo_s: Option<f64>,
    /// Keep one [`RequestRecord`] per request in the report.
    pub keep_records: bool,
    /// Stop at this simulated time, seconds: no arrival after it, requests still running are reported
    /// as running. `None`: run until every request has finished.
    pub horizon_s: Option<f64>,
    /// Keep the monitoring stream in the report, one window per this many seconds (`None`: none kept).
    pub metrics_interval_s: Option<f64>,
    /// Control interval, seconds (`None`: the controller's [`Controller::default_interval_s`]).
    pub control_interval_s: Option<f64>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            n_requests: 100,
            arrivals: Arrivals::Poisson { rate_per_s: 1.0 },
            seed: 0,
            slo_s: None,
            keep_records: false,
            horizon_s: None,
            metrics_interval_s: None,
            control_interval_s: None,
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
    /// Function names by index, in order of first appearance.
    function_names: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
enum Event {
    Arrival {
        request_idx: u64,
    },
    /// A step run has instances to admit at this time.
    Wake {
        run: u32,
    },
    /// A step run's last instance finished.
    Finish {
        run: u32,
    },
    /// A monitoring window of `State::monitors[monitor]` closes.
    Tick {
        monitor: u8,
    },
    /// A delayed change takes effect.
    Apply {
        change: u32,
    },
    /// The window of the batch `seq` of a batched step ends (stale when that batch already launched).
    BatchWindow {
        step: u32,
        seq: u32,
    },
}

/// A request waiting in, or running as part of, a cross-request batch: its slot and when the step
/// started for it (its `ready_at`).
type Member = (u32, SimTime);

/// The open batch of a batched step (one per step, across requests).
#[derive(Default)]
struct OpenBatch {
    /// Requests joined so far, in joining order (the first is the opener).
    members: Vec<Member>,
    /// The opener's configuration (the batch runs with it).
    config: StepConfig,
    /// The opener's request index (the batch's random draws are the opener's).
    opener_idx: u64,
    /// Batches opened so far on the step (stale window events carry an older number).
    seq: u32,
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
    n_resolved: u32,
    /// Steps started whose finish (or abandonment) is still to come.
    n_in_flight: u32,
    /// Step runs of this request that still have instances to admit.
    waiting_runs: Vec<u32>,
    last_finish: SimTime,
    cost_usd: f64,
    n_cold_starts: u32,
    n_instances: u32,
    n_transitions: u64,
    /// Reached a fail step.
    failed: bool,
    /// Failed by a throttled instance with no retry left.
    aborted: bool,
    choice_rng: SimRng,
}

/// One step of one request while it runs.
#[derive(Default)]
struct StepRun {
    slot: u32,
    step: u32,
    config: StepConfig,
    pool: u32,
    step_key: u64,
    /// When the orchestrator started the step (after the transition delay).
    ready_at: SimTime,
    /// When instance 0 is invoked (after the step's wait).
    start: SimTime,
    /// Instances in all (0 for a step that is not a task).
    p: u32,
    /// Next instance never attempted.
    next_j: u32,
    /// Map `max_concurrency` (`u32::MAX`: none).
    max_conc: u32,
    /// Finish times of admitted instances while `max_conc` holds (free slots are popped).
    slot_done: BinaryHeap<Reverse<SimTime>>,
    /// Throttled instances waiting for a retry: (time, instance, attempt number of the retry).
    retries: Vec<(SimTime, u32, u32)>,
    finish: SimTime,
    cost_usd: f64,
    n_cold: u32,
    n_admitted: u32,
    /// Time of the pending wake-up event (`SimTime::MAX`: none).
    wake_at: SimTime,
    /// Jobs the run splits over its instances: the step's, or all members' of a batch.
    jobs: u32,
    /// The requests of a cross-request batch, the first paying its invocations' counts (empty: the
    /// run is `slot`'s alone).
    members: Vec<Member>,
}

/// Instances of one (function, memory) pair.
struct Pool {
    function: u32,
    memory_mb: u32,
    /// Free times of idle on-demand environments, ascending.
    idle: VecDeque<SimTime>,
    /// Finish times of busy on-demand environments.
    busy: BinaryHeap<Reverse<SimTime>>,
    /// Finish times of busy provisioned environments (`pc_busy` of them).
    pc_done: BinaryHeap<Reverse<SimTime>>,
    /// The earliest of `busy` and `pc_done` (`SimTime::MAX`: none).
    min_done: SimTime,
    /// Provisioned environments ready, busy, and requested.
    pc_level: u32,
    pc_busy: u32,
    pc_requested: u32,
    /// Time integrals (seconds x environments) of `pc_level` and `pc_busy` up to `last`.
    pc_level_int: f64,
    pc_busy_int: f64,
    last: SimTime,
}

impl Pool {
    fn update_min(&mut self) {
        let a = self.busy.peek().map_or(SimTime::MAX, |r| r.0);
        let b = self.pc_done.peek().map_or(SimTime::MAX, |r| r.0);
        self.min_done = a.min(b);
    }

    fn sync(&mut self, t: SimTime) {
        let dt = t.saturating_sub(self.last).as_secs_f64();
        self.pc_level_int += f64::from(self.pc_level) * dt;
        self.pc_busy_int += f64::from(self.pc_busy) * dt;
        self.last = self.last.max(t);
    }
}

/// Per-function state and cumulative counters.
#[derive(Default)]
struct FnState {
    reserved: Option<u32>,
    memory_override: Option<u32>,
    /// Running instances: on demand, and all (on demand plus provisioned busy).
    od_running: u32,
    running: u32,
    /// Sum of the function's provisioned levels over its pools.
    pc_level: u32,
    tokens: f64,
    tokens_at: SimTime,
    running_int: f64,
    last: SimTime,
    /// Pools of the function: (memory, pool index).
    pools: Vec<(u32, u32)>,
}

impl FnState {
    fn sync(&mut self, t: SimTime) {
        let dt = t.saturating_sub(self.last).as_secs_f64();
        self.running_int += f64::from(self.running) * dt;
        self.last = self.last.max(t);
    }
}

/// One function's counters over a monitoring window.
#[derive(Default, Clone)]
struct FnWin {
    invocations: u64,
    throttles: u64,
    retries: u64,
    failures: u64,
    cold_starts: u64,
    cost_usd: f64,
    max: u32,
    running_int0: f64,
    durations: Vec<f64>,
}

/// One pool's counters over a monitoring window.
#[derive(Default, Clone)]
struct PoolWin {
    invocations: u64,
    spillover: u64,
    level_int0: f64,
    busy_int0: f64,
}

/// One monitoring stream (the metrics kept in the report, or the controller's).
struct Monitor {
    interval: SimTime,
    start: SimTime,
    fns: Vec<FnWin>,
    pools: Vec<PoolWin>,
    wf: WorkflowWindow,
    latencies: Vec<f64>,
    n_met: u64,
    acct_max: u32,
    acct_int0: f64,
    windows: Vec<MonitorWindow>,
}

/// The mutable state of one run.
struct State {
    queue: EventQueue<Event>,
    slots: Vec<Option<Request>>,
    free_slots: Vec<u32>,
    runs: Vec<StepRun>,
    free_runs: Vec<u32>,
    pools: Vec<Pool>,
    fns: Vec<FnState>,
    /// Earliest finish of a busy environment in any pool (`SimTime::MAX`: none).
    next_done: SimTime,
    keep_alive: SimTime,
    /// On-demand running instances and provisioned levels of functions without a reservation.
    od_unreserved: u32,
    pc_unreserved: u32,
    sum_reserved: u32,
    running: u32,
    running_int: f64,
    last: SimTime,
    /// Environment-seconds of occupancy of every admission so far (to each one's finish).
    occupancy_s: f64,
    monitors: Vec<Monitor>,
    step_overrides: Vec<Option<StepConfig>>,
    /// Changes waiting for their delay (`None`: a free entry, listed in `pending_free`).
    pending: Vec<Option<Change>>,
    pending_free: Vec<u32>,
    horizon: SimTime,
    /// The open batch of each step (empty when no step is batched).
    batches: Vec<OpenBatch>,
    /// Member lists to reuse.
    spare_members: Vec<Vec<Member>>,
    /// Requests failed by another request's event (a batch out of retries), to record.
    to_check: Vec<u32>,
    // Totals.
    n_throttles: u64,
    n_retries: u64,
    n_changes: u64,
    n_changes_clamped: u64,
    max_running: u32,
}

#[derive(Default, Clone)]
struct StepAcc {
    n_runs: u64,
    duration_s_sum: f64,
    cost_usd_sum: f64,
    n_cold: u64,
    n_instances: u64,
}

/// Results of finished requests.
#[derive(Default)]
struct Finished {
    latencies: LatencySample,
    records: Vec<RequestRecord>,
    cost_total: f64,
    n_cold: u64,
    n_inst: u64,
    n_completed: u64,
    n_failed: u64,
    n_failed_throttled: u64,
    n_met: u64,
}

impl<'a> Simulation<'a> {
    /// Checks the options against the bounds in [`crate::limits`] and the platform's concurrency
    /// settings against the workflow, and prepares a simulation.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the option (`rate`, `requests`, `slo`, `arrivals`, `horizon`,
    /// `metrics interval`, `control interval`) and its bound, or the profile field naming a function
    /// the workflow does not have.
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
        options.arrivals.check()?;
        let rate = options.arrivals.mean_rate_per_s();
        // Comparisons with NaN are false, so NaN fails every check.
        let rate_ok = matches!(options.arrivals, Arrivals::Schedule(_))
            || (rate.is_finite() && (RATE_PER_S_MIN..=RATE_PER_S_MAX).contains(&rate));
        if !rate_ok {
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
        if options.horizon_s.is_none() && rate > 0.0 {
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
        }
        for (field, v) in [
            ("horizon", options.horizon_s),
            ("metrics interval", options.metrics_interval_s),
            ("control interval", options.control_interval_s),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && (1e-3..=ARRIVAL_SPAN_S_MAX).contains(&v))
            {
                return invalid(
                    field,
                    format!(
                        "{}: must be in [0.001, {ARRIVAL_SPAN_S_MAX:e}] seconds",
                        fmt_num(v)
                    ),
                );
            }
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
        let mut function_names = Vec::new();
        let function_idx = workflow
            .steps()
            .iter()
            .map(|s| {
                let n = names.len() as u32;
                *names.entry(s.function.as_str()).or_insert_with(|| {
                    function_names.push(s.function.clone());
                    n
                })
            })
            .collect();
        let cc = &platform.spec().concurrency;
        let unknown = |field: String, f: &str| {
            Err(Error::InvalidOption {
                field,
                reason: format!(
                    "function '{f}' is not in workflow '{}' (its functions: {})",
                    workflow.name,
                    function_names.join(", ")
                ),
            })
        };
        for f in cc.reserved.keys() {
            if !names.contains_key(f.as_str()) {
                return unknown(format!("platform concurrency.reserved.{f}"), f);
            }
        }
        for (i, p) in cc.provisioned.iter().enumerate() {
            if !names.contains_key(p.function.as_str()) {
                return unknown(
                    format!("platform concurrency.provisioned[{i}]"),
                    &p.function,
                );
            }
            if !platform.offers_memory(p.memory_mb) {
                return invalid(
                    &format!("platform concurrency.provisioned[{i}]"),
                    format!("memory {} MB is not offered by the platform", p.memory_mb),
                );
            }
        }
        Ok(Simulation {
            workflow,
            platform,
            options,
            function_idx,
            function_names,
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

    /// The workflow's function names, in order of first appearance (the order of
    /// [`MonitorWindow::functions`]).
    pub fn function_names(&self) -> &[String] {
        &self.function_names
    }

    /// Runs the requests under `policy` with the configuration of the run's start (no controller).
    /// Fails only if the policy chooses a configuration that cannot run (the error names the step).
    pub fn run(&self, policy: &mut dyn Policy) -> Result<SimReport, Error> {
        self.run_inner(policy, None)
    }

    /// Runs the requests under `policy`, calling `controller` at every control interval with the
    /// monitoring window of that interval and applying its changes after the platform's delays.
    ///
    /// # Errors
    /// As [`Simulation::run`], and [`Error::InvalidOption`] naming the controller when it asks for a
    /// change that names no function or step of the workflow, or a memory size or step
    /// configuration the platform cannot run.
    pub fn run_controlled(
        &self,
        policy: &mut dyn Policy,
        controller: &mut dyn Controller,
    ) -> Result<SimReport, Error> {
        self.run_inner(policy, Some(controller))
    }

    fn new_monitor(&self, interval: SimTime, st: &State) -> Monitor {
        let mut m = Monitor {
            interval,
            start: SimTime::ZERO,
            fns: vec![FnWin::default(); st.fns.len()],
            pools: Vec::new(),
            wf: WorkflowWindow::default(),
            latencies: Vec::new(),
            n_met: 0,
            acct_max: 0,
            acct_int0: 0.0,
            windows: Vec::new(),
        };
        m.pools.resize(st.pools.len(), PoolWin::default());
        m
    }

    fn run_inner(
        &self,
        policy: &mut dyn Policy,
        mut controller: Option<&mut dyn Controller>,
    ) -> Result<SimReport, Error> {
        let wf = self.workflow;
        let spec = self.platform.spec();
        let cc = &spec.concurrency;
        let n_steps = wf.n_steps();
        let streams = RngStreams::new(self.options.seed);
        let mut arrival_stream = self.options.arrivals.stream(streams.stream("arrivals"));
        let transition = SimTime::from_secs_f64(spec.transition_delay_s);
        let slo_s = self.slo_s();
        let horizon = self
            .options
            .horizon_s
            .map_or(SimTime::MAX, SimTime::from_secs_f64);

        let mut st = State {
            queue: EventQueue::with_capacity(1024),
            slots: Vec::new(),
            free_slots: Vec::new(),
            runs: Vec::new(),
            free_runs: Vec::new(),
            pools: Vec::new(),
            fns: (0..self.function_names.len())
                .map(|_| FnState {
                    tokens: f64::from(cc.scale_environments),
                    ..FnState::default()
                })
                .collect(),
            next_done: SimTime::MAX,
            keep_alive: SimTime::from_secs_f64(spec.keep_alive_s),
            od_unreserved: 0,
            pc_unreserved: 0,
            sum_reserved: 0,
            running: 0,
            running_int: 0.0,
            last: SimTime::ZERO,
            occupancy_s: 0.0,
            monitors: Vec::new(),
            step_overrides: vec![None; n_steps],
            pending: Vec::new(),
            pending_free: Vec::new(),
            horizon,
            batches: if wf.steps().iter().any(|s| s.batch.is_some()) {
                (0..n_steps).map(|_| OpenBatch::default()).collect()
            } else {
                Vec::new()
            },
            spare_members: Vec::new(),
            to_check: Vec::new(),
            n_throttles: 0,
            n_retries: 0,
            n_changes: 0,
            n_changes_clamped: 0,
            max_running: 0,
        };
        for (f, &r) in &cc.reserved {
            let idx = self.fn_index(f).expect("checked in new");
            st.fns[idx as usize].reserved = Some(r);
            st.sum_reserved += r;
        }
        for p in &cc.provisioned {
            let f = self.fn_index(&p.function).expect("checked in new");
            let pool = self.pool_index(&mut st, f, p.memory_mb);
            let pl = &mut st.pools[pool as usize];
            pl.pc_level = p.level;
            pl.pc_requested = p.level;
            st.fns[f as usize].pc_level += p.level;
            if st.fns[f as usize].reserved.is_none() {
                st.pc_unreserved += p.level;
            }
        }
        let metrics_interval = self.options.metrics_interval_s.map(SimTime::from_secs_f64);
        if let Some(iv) = metrics_interval {
            let m = self.new_monitor(iv, &st);
            st.monitors.push(m);
            st.queue.schedule_at(iv, Event::Tick { monitor: 0 });
        }
        let control_interval = controller.as_ref().map(|c| {
            SimTime::from_secs_f64(
                self.options
                    .control_interval_s
                    .unwrap_or_else(|| c.default_interval_s())
                    .max(1e-3),
            )
        });
        // The controller's stream is the last monitor.
        let control_monitor = control_interval.map(|iv| {
            let m = self.new_monitor(iv, &st);
            st.monitors.push(m);
            let idx = st.monitors.len() - 1;
            st.queue.schedule_at(iv, Event::Tick { monitor: idx as u8 });
            idx
        });

        let mut step_acc = vec![StepAcc::default(); n_steps];
        let mut fin = Finished::default();
        let mut scratch = Vec::new();
        let mut ready: Vec<(StepId, bool)> = Vec::new();
        let mut n_arrived = 0u64;
        // Work events pending (not ticks): ticks stop when no work is left and there is no horizon.
        let mut n_work = 0u64;

        if let Some(at) = arrival_stream.next()
            && at <= horizon
        {
            st.queue.schedule_at(at, Event::Arrival { request_idx: 0 });
            n_work += 1;
        }
        let mut end = SimTime::ZERO;
        loop {
            while let Some(slot) = st.to_check.pop() {
                self.maybe_complete(&mut st, slot, slo_s, &mut fin);
            }
            let Some(t) = st.queue.peek_time() else {
                break;
            };
            if t > horizon {
                break;
            }
            let ev = st.queue.pop().expect("peeked");
            if n_work == 0 && horizon == SimTime::MAX {
                // Only ticks are left: the run is over (without a horizon it ends with its work).
                break;
            }
            let now = ev.time;
            end = now;
            if !matches!(ev.event, Event::Tick { .. }) {
                n_work -= 1;
            }
            match ev.event {
                Event::Arrival { request_idx } => {
                    n_arrived += 1;
                    let next = request_idx + 1;
                    if next < self.options.n_requests
                        && let Some(at) = arrival_stream.next()
                        && at <= horizon
                    {
                        st.queue
                            .schedule_at(at, Event::Arrival { request_idx: next });
                        n_work += 1;
                    }
                    let req = Request {
                        request_idx,
                        arrival: now,
                        pending_preds: wf.step_ids().map(|id| wf.preds(id).len() as u32).collect(),
                        activated: vec![false; n_steps],
                        outcomes: vec![None; n_steps],
                        n_resolved: 0,
                        n_in_flight: 0,
                        waiting_runs: Vec::new(),
                        last_finish: now,
                        cost_usd: 0.0,
                        n_cold_starts: 0,
                        n_instances: 0,
                        n_transitions: 0,
                        failed: false,
                        aborted: false,
                        choice_rng: streams.indexed("choice", request_idx),
                    };
                    let slot = match st.free_slots.pop() {
                        Some(s) => {
                            st.slots[s as usize] = Some(req);
                            s
                        }
                        None => {
                            st.slots.push(Some(req));
                            (st.slots.len() - 1) as u32
                        }
                    };
                    for m in &mut st.monitors {
                        m.wf.started += 1;
                    }
                    ready.clear();
                    ready.extend(wf.sources().map(|id| (id, true)));
                    n_work += self.process_ready(
                        &mut st,
                        &mut ready,
                        slot,
                        now,
                        policy,
                        transition,
                        slo_s,
                        &mut scratch,
                    )?;
                    self.maybe_complete(&mut st, slot, slo_s, &mut fin);
                }
                Event::Wake { run } => {
                    let r = &mut st.runs[run as usize];
                    if r.wake_at == now {
                        r.wake_at = SimTime::MAX;
                    }
                    if r.p > 0 && self.run_waiting(r) {
                        let slot = r.slot;
                        n_work += self.advance_run(&mut st, run, now, &mut scratch)?;
                        self.maybe_complete(&mut st, slot, slo_s, &mut fin);
                    }
                }
                Event::Finish { run } => {
                    let r = &mut st.runs[run as usize];
                    let id = StepId(r.step);
                    let (config, cost_usd, n_cold) = (r.config, r.cost_usd, r.n_cold);
                    let members = std::mem::take(&mut r.members);
                    let single = (r.slot, r.ready_at);
                    self.free_run(&mut st, run);
                    // A batch's members finish together and share its cost evenly; the first
                    // carries its cold starts and instances (counted once).
                    let n_members = members.len().max(1);
                    let share_usd = if members.is_empty() {
                        cost_usd
                    } else {
                        cost_usd / n_members as f64
                    };
                    for i in 0..n_members {
                        let (slot, ready_at) = members.get(i).copied().unwrap_or(single);
                        let (n_cold, n_inst) = if i == 0 {
                            (n_cold, config.fan_out)
                        } else {
                            (0, 0)
                        };
                        let req = st.slots[slot as usize]
                            .as_mut()
                            .expect("finish event of a live request");
                        req.n_in_flight -= 1;
                        if req.aborted {
                            if req.n_in_flight == 0 {
                                st.slots[slot as usize] = None;
                                st.free_slots.push(slot);
                            }
                            continue;
                        }
                        let outcome = StepOutcome {
                            config,
                            start_s: ready_at.saturating_sub(req.arrival).as_secs_f64(),
                            duration_s: now.saturating_sub(ready_at).as_secs_f64(),
                            cost_usd: share_usd,
                            n_cold_starts: n_cold,
                        };
                        req.outcomes[id.idx()] = Some(outcome);
                        req.last_finish = req.last_finish.max(now);
                        let acc = &mut step_acc[id.idx()];
                        acc.n_runs += 1;
                        acc.duration_s_sum += outcome.duration_s;
                        acc.cost_usd_sum += share_usd;
                        acc.n_cold += u64::from(n_cold);
                        acc.n_instances += u64::from(n_inst);
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
                        n_work += self.process_ready(
                            &mut st,
                            &mut ready,
                            slot,
                            now,
                            policy,
                            transition,
                            slo_s,
                            &mut scratch,
                        )?;
                        self.maybe_complete(&mut st, slot, slo_s, &mut fin);
                    }
                    if members.capacity() > 0 {
                        self.recycle_members(&mut st, members);
                    }
                }
                Event::Tick { monitor } => {
                    self.advance_done(&mut st, now);
                    self.sync_all(&mut st, now);
                    let m = monitor as usize;
                    let window = self.close_window(&mut st, m, now);
                    if control_monitor == Some(m)
                        && let Some(c) = controller.as_deref_mut()
                    {
                        let settings = self.settings(&st);
                        let state = ControlState {
                            now_s: now.as_secs_f64(),
                            interval_s: st.monitors[m].interval.as_secs_f64(),
                            account_limit: cc.account_limit,
                            functions: &settings,
                        };
                        let changes = c.control(&window, &state);
                        for ch in changes {
                            n_work += self.request_change(&mut st, ch, now, c.name())?;
                        }
                    } else {
                        st.monitors[m].windows.push(window);
                    }
                    let next = now + st.monitors[m].interval;
                    if next <= horizon && (n_work > 0 || horizon != SimTime::MAX) {
                        st.queue.schedule_at(next, Event::Tick { monitor });
                    }
                }
                Event::Apply { change } => {
                    let ch = st.pending[change as usize].take().expect("pending change");
                    st.pending_free.push(change);
                    self.apply_change(&mut st, &ch, now);
                }
                Event::BatchWindow { step, seq } => {
                    let ob = &st.batches[step as usize];
                    if ob.seq == seq && !ob.members.is_empty() {
                        n_work += self.launch_batch(
                            &mut st,
                            StepId(step),
                            now,
                            transition,
                            &mut scratch,
                        )?;
                    }
                }
            }
        }
        while let Some(slot) = st.to_check.pop() {
            self.maybe_complete(&mut st, slot, slo_s, &mut fin);
        }
        // Close the run: instances still running finish (beyond the horizon they are cut at it).
        if horizon != SimTime::MAX {
            end = horizon;
        } else {
            for pl in &st.pools {
                for &Reverse(d) in pl.busy.iter().chain(pl.pc_done.iter()) {
                    end = end.max(d);
                }
            }
        }
        self.advance_done(&mut st, end);
        // Occupancy beyond the end (instances cut by the horizon) is not part of the run.
        for pl in &st.pools {
            for &Reverse(d) in pl.busy.iter().chain(pl.pc_done.iter()) {
                st.occupancy_s -= d.saturating_sub(end).as_secs_f64();
            }
        }
        self.sync_all(&mut st, end);
        let mut metrics = Vec::new();
        if metrics_interval.is_some() {
            if end > st.monitors[0].start || st.monitors[0].windows.is_empty() {
                let w = self.close_window(&mut st, 0, end);
                st.monitors[0].windows.push(w);
            }
            metrics = std::mem::take(&mut st.monitors[0].windows);
        }
        let provisioned_cost: f64 = st
            .pools
            .iter()
            .map(|p| {
                p.pc_level_int * f64::from(p.memory_mb) / 1024.0
                    * spec.price_usd_per_gb_s_provisioned
            })
            .sum();
        let n_running = n_arrived - fin.n_completed - fin.n_failed_throttled;
        let n = fin.n_completed;
        fin.records.sort_by_key(|r| r.request_idx);
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
        let n_finished = fin.n_completed + fin.n_failed_throttled;
        let makespan_s = end.as_secs_f64();
        let load = LoadSummary {
            arrivals: self.options.arrivals.describe(),
            controller: controller
                .as_deref()
                .map_or("static", |c| c.name())
                .to_owned(),
            n_arrived,
            n_completed: fin.n_completed,
            n_failed_throttled: fin.n_failed_throttled,
            n_running,
            throughput_per_s: if makespan_s > 0.0 {
                n as f64 / makespan_s
            } else {
                0.0
            },
            n_throttles: st.n_throttles,
            n_retries: st.n_retries,
            concurrency_max: st.max_running,
            concurrency_mean: if makespan_s > 0.0 {
                st.occupancy_s / makespan_s
            } else {
                0.0
            },
            n_changes: st.n_changes,
            n_changes_clamped: st.n_changes_clamped,
        };
        Ok(SimReport {
            workflow: wf.name.clone(),
            platform: self.platform.name().to_owned(),
            policy: policy.name().to_owned(),
            seed: self.options.seed,
            requests: n,
            latency_s: fin.latencies.summary(),
            cost_usd: CostSummary {
                mean: if n_finished == 0 {
                    0.0
                } else {
                    fin.cost_total / n_finished as f64
                },
                total: fin.cost_total + provisioned_cost,
                provisioned: provisioned_cost,
            },
            cold_start_rate: if fin.n_inst == 0 {
                0.0
            } else {
                fin.n_cold as f64 / fin.n_inst as f64
            },
            slo_s,
            slo_attainment: slo_s.map(|_| {
                if n_finished == 0 {
                    0.0
                } else {
                    fin.n_met as f64 / n_finished as f64
                }
            }),
            n_failed: fin.n_failed,
            n_instance_executions: fin.n_inst,
            n_events: st.queue.n_popped(),
            makespan_s,
            load,
            steps,
            metrics,
            request_records: fin.records,
        })
    }

    fn step_id(&self, name: &str) -> Option<StepId> {
        self.workflow
            .step_ids()
            .find(|&id| self.workflow.step(id).name == name)
    }

    fn fn_index(&self, name: &str) -> Option<u32> {
        self.function_names
            .iter()
            .position(|f| f == name)
            .map(|i| i as u32)
    }

    fn pool_index(&self, st: &mut State, f: u32, memory_mb: u32) -> u32 {
        if let Some(&(_, p)) = st.fns[f as usize]
            .pools
            .iter()
            .find(|&&(m, _)| m == memory_mb)
        {
            return p;
        }
        let idx = st.pools.len() as u32;
        st.pools.push(Pool {
            function: f,
            memory_mb,
            idle: VecDeque::new(),
            busy: BinaryHeap::new(),
            pc_done: BinaryHeap::new(),
            min_done: SimTime::MAX,
            pc_level: 0,
            pc_busy: 0,
            pc_requested: 0,
            pc_level_int: 0.0,
            pc_busy_int: 0.0,
            last: st.last,
        });
        st.fns[f as usize].pools.push((memory_mb, idx));
        for m in &mut st.monitors {
            m.pools.push(PoolWin::default());
        }
        idx
    }

    fn run_waiting(&self, r: &StepRun) -> bool {
        r.next_j < r.p || !r.retries.is_empty()
    }

    fn free_run(&self, st: &mut State, run: u32) {
        let r = &mut st.runs[run as usize];
        r.p = 0;
        r.retries.clear();
        r.slot_done.clear();
        r.wake_at = SimTime::MAX;
        r.members.clear();
        st.free_runs.push(run);
    }

    /// Keeps a member list's allocation for a later batch.
    fn recycle_members(&self, st: &mut State, mut members: Vec<Member>) {
        members.clear();
        st.spare_members.push(members);
    }

    fn alloc_run(&self, st: &mut State) -> u32 {
        match st.free_runs.pop() {
            Some(r) => r,
            None => {
                st.runs.push(StepRun {
                    wake_at: SimTime::MAX,
                    ..StepRun::default()
                });
                (st.runs.len() - 1) as u32
            }
        }
    }

    /// Brings every time integral up to `t` (after [`Self::advance_done`]).
    fn sync_all(&self, st: &mut State, t: SimTime) {
        for f in &mut st.fns {
            f.sync(t);
        }
        for p in &mut st.pools {
            p.sync(t);
        }
        let dt = t.saturating_sub(st.last).as_secs_f64();
        st.running_int += f64::from(st.running) * dt;
        st.last = st.last.max(t);
    }

    /// Every environment whose invocation finished by `t` becomes idle (in each pool, in finish
    /// order) and leaves the running counts. Integrals are brought to `t` with the counts before,
    /// then each finished environment's `t - finish` is taken back, so they stay exact.
    fn advance_done(&self, st: &mut State, t: SimTime) {
        if t < st.next_done {
            return;
        }
        let mut next = SimTime::MAX;
        // Per-function integrals only feed the monitoring stream.
        let monitored = !st.monitors.is_empty();
        let State {
            pools,
            fns,
            od_unreserved,
            running,
            running_int,
            last,
            ..
        } = st;
        for pl in pools.iter_mut() {
            if pl.min_done > t {
                next = next.min(pl.min_done);
                continue;
            }
            let fs = &mut fns[pl.function as usize];
            if pl.pc_level > 0 || pl.pc_busy > 0 {
                pl.sync(t);
            }
            if monitored {
                fs.sync(t);
                let dt = t.saturating_sub(*last).as_secs_f64();
                *running_int += f64::from(*running) * dt;
                *last = (*last).max(t);
            }
            let (mut n_od, mut n_pc, mut back_od, mut back_pc) = (0u32, 0u32, 0.0, 0.0);
            while let Some(&Reverse(d)) = pl.busy.peek() {
                if d > t {
                    break;
                }
                pl.busy.pop();
                pl.idle.push_back(d);
                n_od += 1;
                if monitored {
                    back_od += (t - d).as_secs_f64();
                }
            }
            while let Some(&Reverse(d)) = pl.pc_done.peek() {
                if d > t {
                    break;
                }
                pl.pc_done.pop();
                n_pc += 1;
                back_pc += (t - d).as_secs_f64();
            }
            pl.update_min();
            next = next.min(pl.min_done);
            if n_pc > 0 {
                pl.pc_busy -= n_pc;
                pl.pc_busy_int -= back_pc;
            }
            fs.running -= n_od + n_pc;
            fs.od_running -= n_od;
            if monitored {
                fs.running_int -= back_od + back_pc;
                *running_int -= back_od + back_pc;
            }
            if fs.reserved.is_none() {
                *od_unreserved -= n_od;
            }
            *running -= n_od + n_pc;
        }
        st.next_done = next;
    }

    /// Decides at `now` whether instance `j` of `run`, invoked at `invoke` (>= `now`), runs: returns
    /// `Some(finish)`, or `None` when it is throttled (see the module docs for the rules). An
    /// environment busy at `now` whose invocation ends by `invoke` is reused warm and stays counted
    /// once; any other admission adds one running environment and is checked against the limits.
    fn admit(
        &self,
        st: &mut State,
        run: u32,
        j: u32,
        invoke: SimTime,
        now: SimTime,
        scratch: &mut Vec<f64>,
    ) -> Option<SimTime> {
        // The caller has advanced the pools to `now` (`advance_done`).
        let spec = self.platform.spec();
        let r = &st.runs[run as usize];
        let (pool_idx, config, step_key, jobs) = (r.pool as usize, r.config, r.step_key, r.jobs);
        let step = self.workflow.step(StepId(r.step));
        let f = st.pools[pool_idx].function as usize;
        let keep_alive = st.keep_alive;
        let pl = &st.pools[pool_idx];
        let (mut provisioned, mut reuse, mut warm) = (false, false, true);
        // When the environment's occupancy (for the concurrency integral) is extended from.
        let mut prev_end = now;
        if pl.pc_level > 0 {
            if pl.pc_busy < pl.pc_level {
                provisioned = true;
            } else if pl.pc_done.peek().is_some_and(|&Reverse(d)| d <= invoke) {
                provisioned = true;
                reuse = true;
            }
        }
        if !provisioned {
            let fs = &st.fns[f];
            let allowed = match fs.reserved {
                Some(res) => fs.od_running + fs.pc_level < res,
                None => {
                    st.od_unreserved + st.pc_unreserved
                        < spec.concurrency.account_limit - st.sum_reserved
                }
            };
            let pl = &mut st.pools[pool_idx];
            while pl
                .idle
                .front()
                .is_some_and(|&free| free + keep_alive < invoke)
            {
                pl.idle.pop_front(); // expired
            }
            if allowed && !pl.idle.is_empty() {
                pl.idle.pop_front();
            } else if pl
                .busy
                .peek()
                .is_some_and(|&Reverse(d)| d <= invoke && d + keep_alive >= invoke)
            {
                if let Some(Reverse(d)) = pl.busy.pop() {
                    prev_end = d;
                }
                reuse = true;
            } else {
                let mut ok = allowed;
                if ok && spec.concurrency.scale_environments > 0 {
                    let fs = &mut st.fns[f];
                    let cap = f64::from(spec.concurrency.scale_environments);
                    let refill = cap / spec.concurrency.scale_period_s;
                    let t = invoke.max(fs.tokens_at);
                    fs.tokens = (fs.tokens + t.saturating_sub(fs.tokens_at).as_secs_f64() * refill)
                        .min(cap);
                    fs.tokens_at = t;
                    if fs.tokens >= 1.0 {
                        fs.tokens -= 1.0;
                    } else {
                        ok = false;
                    }
                }
                if !ok {
                    st.n_throttles += 1;
                    for m in &mut st.monitors {
                        m.fns[f].throttles += 1;
                    }
                    return None;
                }
                warm = false;
            }
        }
        let ir = run_instance_of(
            self.platform,
            step,
            config,
            jobs,
            j,
            warm,
            step_key,
            scratch,
        );
        let done = invoke + ir.cold + ir.busy;
        let duration = ir.cold + ir.busy;
        let cost = if provisioned {
            self.platform
                .provisioned_invocation_cost_usd(config.memory_mb, ir.busy.as_us())
        } else {
            let billed = if spec.bill_cold_start {
                duration
            } else {
                ir.busy
            };
            self.platform
                .instance_cost_usd(config.memory_mb, billed.as_us())
        };
        // Counts and integrals up to `now`, then the new environment (a reused one is counted).
        let added = u32::from(!reuse);
        let monitored = !st.monitors.is_empty();
        if added > 0 {
            if monitored {
                let dt = now.saturating_sub(st.last).as_secs_f64();
                st.running_int += f64::from(st.running) * dt;
                st.last = st.last.max(now);
            }
            st.running += 1;
            st.max_running = st.max_running.max(st.running);
            let fs = &mut st.fns[f];
            if monitored {
                fs.sync(now);
            }
            fs.running += 1;
            if !provisioned {
                fs.od_running += 1;
                if fs.reserved.is_none() {
                    st.od_unreserved += 1;
                }
            }
        }
        let pl = &mut st.pools[pool_idx];
        if provisioned {
            if reuse {
                if let Some(Reverse(d)) = pl.pc_done.pop() {
                    prev_end = d;
                }
            } else {
                pl.sync(now);
                pl.pc_busy += 1;
            }
            pl.pc_done.push(Reverse(done));
        } else {
            pl.busy.push(Reverse(done));
        }
        if reuse {
            pl.update_min();
        } else {
            pl.min_done = pl.min_done.min(done);
        }
        st.next_done = st.next_done.min(pl.min_done);
        st.occupancy_s += done.saturating_sub(prev_end).as_secs_f64();
        let fn_running = st.fns[f].running;
        let spill = !provisioned && st.pools[pool_idx].pc_level > 0;
        let acct_running = st.running;
        for m in st.monitors.iter_mut().filter(|_| monitored) {
            let w = &mut m.fns[f];
            w.invocations += 1;
            w.cold_starts += u64::from(!warm);
            w.cost_usd += cost;
            w.max = w.max.max(fn_running);
            w.durations.push(duration.as_secs_f64());
            m.acct_max = m.acct_max.max(acct_running);
            let pw = &mut m.pools[pool_idx];
            pw.invocations += 1;
            pw.spillover += u64::from(spill);
        }
        let r = &mut st.runs[run as usize];
        r.cost_usd += cost;
        r.n_cold += u32::from(!warm);
        r.n_admitted += 1;
        r.finish = r.finish.max(done);
        Some(done)
    }

    /// Decides, at `now`, every instance of `run` released by then: all of a step's instances when it
    /// starts (each invoked after its mapping delay), a Map-gated instance when a slot frees, a
    /// retry when its backoff ends. Schedules a wake-up for the next release, or the step's finish
    /// once every instance runs. Returns the work events scheduled.
    fn advance_run(
        &self,
        st: &mut State,
        run: u32,
        now: SimTime,
        scratch: &mut Vec<f64>,
    ) -> Result<u64, Error> {
        let mut n_sched = 0;
        self.advance_done(st, now);
        loop {
            let r = &mut st.runs[run as usize];
            // The next fresh instance: (release, invocation).
            let mut fresh = None;
            if r.next_j < r.p {
                let t_j = r.start + SimTime::from_secs_f64(self.platform.mapping_delay_s(r.next_j));
                if r.max_conc == u32::MAX {
                    fresh = Some((now, t_j.max(now)));
                } else {
                    while r.slot_done.peek().is_some_and(|&Reverse(d)| d <= now) {
                        r.slot_done.pop();
                    }
                    if r.slot_done.len() + r.retries.len() < r.max_conc as usize {
                        fresh = Some((now, t_j.max(now)));
                    } else if let Some(&Reverse(d)) = r.slot_done.peek() {
                        // Full: the earliest finish frees a slot (retrying instances hold theirs).
                        fresh = Some((d, t_j.max(d)));
                    }
                }
            }
            let retry = if r.retries.is_empty() {
                None
            } else {
                r.retries
                    .iter()
                    .enumerate()
                    .min_by_key(|&(i, &(t, _, _))| (t, i))
                    .map(|(i, &(t, j, a))| (i, t, j, a))
            };
            let (release, invoke, which) = match (fresh, retry) {
                (Some((rf, _)), Some((i, tr, j, a))) if tr < rf => (tr, tr, Some((i, j, a))),
                (Some((rf, inv)), _) => (rf, inv, None),
                (None, Some((i, tr, j, a))) => (tr, tr, Some((i, j, a))),
                (None, None) => break,
            };
            if release > now {
                if release <= st.horizon && r.wake_at != release {
                    r.wake_at = release;
                    st.queue.schedule_at(release, Event::Wake { run });
                    n_sched += 1;
                }
                return Ok(n_sched);
            }
            let (j, attempt) = match which {
                Some((i, j, a)) => {
                    r.retries.swap_remove(i);
                    (j, a)
                }
                None => {
                    r.next_j += 1;
                    (r.next_j - 1, 0)
                }
            };
            match self.admit(st, run, j, invoke, now, scratch) {
                Some(done) => {
                    let r = &mut st.runs[run as usize];
                    if r.max_conc != u32::MAX {
                        r.slot_done.push(Reverse(done));
                    }
                }
                None => {
                    let r = &st.runs[run as usize];
                    let step = self.workflow.step(StepId(r.step));
                    let f = self.function_idx[r.step as usize] as usize;
                    let step_key = r.step_key;
                    match step.retry {
                        Some(rp) if attempt < rp.max_attempts => {
                            let mut delay_s = rp.backoff_s(attempt + 1);
                            if rp.jitter == Jitter::Full {
                                delay_s *= retry_jitter(step_key, j, attempt + 1);
                            }
                            let at = invoke + SimTime::from_secs_f64(delay_s);
                            st.runs[run as usize].retries.push((at, j, attempt + 1));
                            st.n_retries += 1;
                            for m in &mut st.monitors {
                                m.fns[f].retries += 1;
                            }
                        }
                        _ => {
                            for m in &mut st.monitors {
                                m.fns[f].failures += 1;
                            }
                            if st.runs[run as usize].members.is_empty() {
                                let slot = st.runs[run as usize].slot;
                                self.abort(st, slot, invoke);
                            } else {
                                self.fail_batch(st, run, invoke);
                            }
                            return Ok(n_sched);
                        }
                    }
                }
            }
        }
        // Every instance admitted: the step finishes with its last instance.
        let r = &mut st.runs[run as usize];
        let finish = r.finish.max(r.start).max(now);
        let (slot, cost, n_cold, n_admitted) = (r.slot, r.cost_usd, r.n_cold, r.n_admitted);
        st.queue.schedule_at(finish, Event::Finish { run });
        if r.members.is_empty() {
            let req = st.slots[slot as usize].as_mut().expect("live request");
            req.cost_usd += cost;
            req.n_cold_starts += n_cold;
            req.n_instances += n_admitted;
            req.waiting_runs.retain(|&x| x != run);
        } else {
            self.charge_members(st, run);
        }
        Ok(n_sched + 1)
    }

    /// Splits a batch run's cost so far evenly over its members (the first also takes its cold
    /// starts and instances, so each is counted once) and takes the run off their waiting lists.
    fn charge_members(&self, st: &mut State, run: u32) {
        let State { runs, slots, .. } = st;
        let r = &runs[run as usize];
        let share = r.cost_usd / r.members.len() as f64;
        for (i, &(slot, _)) in r.members.iter().enumerate() {
            let req = slots[slot as usize].as_mut().expect("live member");
            req.cost_usd += share;
            if i == 0 {
                req.n_cold_starts += r.n_cold;
                req.n_instances += r.n_admitted;
            }
            req.waiting_runs.retain(|&x| x != run);
        }
    }

    /// Fails every member of batch `run` at `t` (an instance throttled with no retry left): each pays
    /// its share of the admitted instances and fails as [`Self::abort`] does.
    fn fail_batch(&self, st: &mut State, run: u32, t: SimTime) {
        self.charge_members(st, run);
        let members = std::mem::take(&mut st.runs[run as usize].members);
        self.free_run(st, run);
        for &(slot, _) in &members {
            let req = st.slots[slot as usize].as_mut().expect("live member");
            req.n_in_flight -= 1;
            self.abort(st, slot, t);
        }
        self.recycle_members(st, members);
    }

    /// Fails request `slot` at `t` (a throttled instance with no retry left): its steps still
    /// admitting instances are abandoned; steps whose instances all run finish as scheduled.
    fn abort(&self, st: &mut State, slot: u32, t: SimTime) {
        let req = st.slots[slot as usize].as_mut().expect("live request");
        req.aborted = true;
        req.last_finish = req.last_finish.max(t);
        let waiting = std::mem::take(&mut req.waiting_runs);
        req.n_in_flight -= waiting.len() as u32;
        for run in waiting {
            let r = &mut st.runs[run as usize];
            if r.members.len() > 1 {
                // A batch goes on for its other members, who pay for it.
                r.members.retain(|&(s, _)| s != slot);
                r.slot = r.members[0].0;
                continue;
            }
            // Instances already admitted ran and are billed.
            let r = &st.runs[run as usize];
            let (cost, n_cold, n_admitted) = (r.cost_usd, r.n_cold, r.n_admitted);
            let req = st.slots[slot as usize].as_mut().expect("live request");
            req.cost_usd += cost;
            req.n_cold_starts += n_cold;
            req.n_instances += n_admitted;
            self.free_run(st, run);
        }
        // Nothing more of it starts: it leaves the batches it is waiting in.
        for ob in &mut st.batches {
            let before = ob.members.len();
            ob.members.retain(|&(s, _)| s != slot);
            let req = st.slots[slot as usize].as_mut().expect("live request");
            req.n_in_flight -= (before - ob.members.len()) as u32;
        }
        st.to_check.push(slot);
    }

    /// Records request `slot` if it has completed or failed, and frees its slot when nothing of it is
    /// pending.
    fn maybe_complete(&self, st: &mut State, slot: u32, slo_s: Option<f64>, fin: &mut Finished) {
        let n_steps = self.workflow.n_steps();
        let Some(req) = st.slots[slot as usize].as_mut() else {
            return;
        };
        let completed = !req.aborted && req.n_resolved as usize == n_steps;
        let aborted_now = req.aborted && req.request_idx != u64::MAX;
        if !completed && !aborted_now {
            return;
        }
        let cost =
            req.cost_usd + req.n_transitions as f64 * self.platform.spec().price_usd_per_transition;
        let latency_s = req.last_finish.saturating_sub(req.arrival).as_secs_f64();
        fin.cost_total += cost;
        fin.n_cold += u64::from(req.n_cold_starts);
        fin.n_inst += u64::from(req.n_instances);
        let met = completed && slo_s.is_some_and(|slo| latency_s <= slo + 1e-9);
        fin.n_met += u64::from(met);
        if completed {
            fin.n_completed += 1;
            fin.n_failed += u64::from(req.failed);
            fin.latencies.push(latency_s);
        } else {
            fin.n_failed_throttled += 1;
            fin.n_failed += 1;
        }
        for m in &mut st.monitors {
            if completed {
                m.latencies.push(latency_s);
                if req.failed {
                    m.wf.failed += 1;
                } else {
                    m.wf.succeeded += 1;
                }
            } else {
                m.wf.failed += 1;
                m.wf.failed_throttled += 1;
            }
            m.n_met += u64::from(met);
            // The request's transitions were counted in the windows of the steps they started
            // (`start_step`, `launch_batch`): counting them again here would double them.
        }
        if self.options.keep_records {
            fin.records.push(RequestRecord {
                request_idx: req.request_idx,
                arrival_s: req.arrival.as_secs_f64(),
                latency_s,
                cost_usd: cost,
                n_cold_starts: req.n_cold_starts,
                n_instances: req.n_instances,
                failed: req.failed || req.aborted,
                throttled: req.aborted,
                step_duration_s: req
                    .outcomes
                    .iter()
                    .map(|o| o.map(|o| o.duration_s))
                    .collect(),
            });
        }
        if completed || req.n_in_flight == 0 {
            st.slots[slot as usize] = None;
            st.free_slots.push(slot);
        } else {
            // Recorded; the slot is freed when its last running step finishes.
            req.request_idx = u64::MAX;
        }
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

    /// Starts (or skips) every ready step, following skips transitively. A task step's instances are
    /// admitted from a wake-up event at its start time, so that admissions stay in time order.
    /// Returns the work events scheduled.
    #[allow(clippy::too_many_arguments)]
    fn process_ready(
        &self,
        st: &mut State,
        ready: &mut Vec<(StepId, bool)>,
        slot: u32,
        now: SimTime,
        policy: &mut dyn Policy,
        transition: SimTime,
        slo_s: Option<f64>,
        scratch: &mut Vec<f64>,
    ) -> Result<u64, Error> {
        let wf = self.workflow;
        let mut n_sched = 0;
        while let Some((id, active)) = ready.pop() {
            let req = st.slots[slot as usize].as_mut().expect("live request");
            if req.aborted {
                // Failed by throttling: nothing more of it starts.
                ready.clear();
                break;
            }
            if !active {
                req.n_resolved += 1;
                self.release_succs(req, id, false, ready);
                continue;
            }
            let step = wf.step(id);
            let start = now + transition + SimTime::from_secs_f64(step.wait_s);
            req.n_transitions += 1;
            req.n_in_flight += 1;
            let price_transition = self.platform.spec().price_usd_per_transition;
            if step.kind != StepKind::Task {
                for m in &mut st.monitors {
                    m.wf.cost_usd += price_transition;
                }
                let run = self.alloc_run(st);
                let r = &mut st.runs[run as usize];
                r.slot = slot;
                r.step = id.0;
                r.config = StepConfig::new(0, 0, 0);
                r.ready_at = now + transition;
                r.start = start;
                r.p = 0;
                r.next_j = 0;
                r.cost_usd = 0.0;
                r.n_cold = 0;
                r.n_admitted = 0;
                r.finish = start;
                st.queue.schedule_at(start, Event::Finish { run });
                n_sched += 1;
                continue;
            }
            if let Some(batch) = step.batch {
                // The request joins the step's open batch; its opener chooses the configuration.
                for m in &mut st.monitors {
                    m.wf.cost_usd += price_transition;
                }
                let window = SimTime::from_secs_f64(batch.window_s);
                if st.batches[id.idx()].members.is_empty() {
                    let config =
                        self.choose_config(st, id, slot, now, policy, transition, slo_s)?;
                    let request_idx = st.slots[slot as usize].as_ref().expect("live").request_idx;
                    let ob = &mut st.batches[id.idx()];
                    ob.config = config;
                    ob.opener_idx = request_idx;
                    ob.seq = ob.seq.wrapping_add(1);
                    let at = now + window;
                    // A zero window still collects the requests that reach the step at the same
                    // instant (events already queued for `now` come first).
                    if batch.size > 1 && at <= st.horizon {
                        let (step, seq) = (id.0, ob.seq);
                        st.queue.schedule_at(at, Event::BatchWindow { step, seq });
                        n_sched += 1;
                    }
                }
                let ob = &mut st.batches[id.idx()];
                ob.members.push((slot, now + transition));
                if ob.members.len() >= batch.size as usize {
                    n_sched += self.launch_batch(st, id, now, transition, scratch)?;
                }
                continue;
            }
            let config = self.choose_config(st, id, slot, now, policy, transition, slo_s)?;
            let f = self.function_idx[id.idx()];
            let req = st.slots[slot as usize].as_mut().expect("live request");
            let mut n_trans = 1u64;
            if config.fan_out > 1 {
                // A Map over the instances: one transition per iteration.
                req.n_transitions += u64::from(config.fan_out);
                n_trans += u64::from(config.fan_out);
            }
            for m in &mut st.monitors {
                m.wf.cost_usd += n_trans as f64 * price_transition;
            }
            // Common random numbers: the draws of (request, step) do not depend on other requests or
            // on the policy's earlier choices, and each instance draws from its own streams (see
            // `crate::exec`), so policies compared on one seed see the same noise.
            let step_key = stream_seed(
                self.options.seed,
                "step",
                req.request_idx
                    .wrapping_mul(wf.n_steps() as u64)
                    .wrapping_add(u64::from(id.0)),
            );
            let pool = self.pool_index(st, f, config.memory_mb);
            let run = self.alloc_run(st);
            let r = &mut st.runs[run as usize];
            r.slot = slot;
            r.step = id.0;
            r.config = config;
            r.pool = pool;
            r.step_key = step_key;
            r.ready_at = now + transition;
            r.start = start;
            r.p = config.fan_out.max(1);
            r.next_j = 0;
            r.max_conc = step.max_concurrency.unwrap_or(u32::MAX);
            r.cost_usd = 0.0;
            r.n_cold = 0;
            r.n_admitted = 0;
            r.finish = start;
            r.wake_at = SimTime::MAX;
            r.jobs = step.jobs;
            let req = st.slots[slot as usize].as_mut().expect("live request");
            req.waiting_runs.push(run);
            if step.wait_s > 0.0 {
                // A wait before the task: its instances are decided when it ends.
                st.runs[run as usize].wake_at = start;
                st.queue.schedule_at(start, Event::Wake { run });
                n_sched += 1;
            } else {
                // The orchestrator decides the step's instances as it starts the transition.
                n_sched += self.advance_run(st, run, now, scratch)?;
            }
        }
        Ok(n_sched)
    }

    /// The configuration of task step `id` for request `slot`, starting at `now` (+ `transition`):
    /// the policy's choice under the controller's overrides, checked.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn choose_config(
        &self,
        st: &State,
        id: StepId,
        slot: u32,
        now: SimTime,
        policy: &mut dyn Policy,
        transition: SimTime,
        slo_s: Option<f64>,
    ) -> Result<StepConfig, Error> {
        let req = st.slots[slot as usize].as_ref().expect("live request");
        let mut config = policy.choose(&StepContext {
            workflow: self.workflow,
            platform: self.platform,
            step: id,
            request_idx: req.request_idx,
            elapsed_s: (now + transition).saturating_sub(req.arrival).as_secs_f64(),
            slo_s,
            outcomes: &req.outcomes,
        });
        let f = self.function_idx[id.idx()];
        if let Some(c) = st.step_overrides[id.idx()] {
            config = c;
        } else if let Some(m) = st.fns[f as usize].memory_override {
            config.memory_mb = m;
        }
        let step = self.workflow.step(id);
        self.platform.check_config(step, config)?;
        Ok(config)
    }

    /// Launches the open batch of step `id` at `now`: one run of the opener's configuration over all
    /// members' jobs, started as an unbatched step would be (after the transition and the step's
    /// wait). The Map's transitions are split evenly over the members. Returns the work events
    /// scheduled.
    fn launch_batch(
        &self,
        st: &mut State,
        id: StepId,
        now: SimTime,
        transition: SimTime,
        scratch: &mut Vec<f64>,
    ) -> Result<u64, Error> {
        let wf = self.workflow;
        let step = wf.step(id);
        let spare = st.spare_members.pop().unwrap_or_default();
        let ob = &mut st.batches[id.idx()];
        let members = std::mem::replace(&mut ob.members, spare);
        let (config, opener_idx) = (ob.config, ob.opener_idx);
        let n = members.len();
        assert!(n > 0, "a launched batch has members");
        if config.fan_out > 1 {
            // A Map over the instances: one transition per iteration, for the batch.
            let n_trans = u64::from(config.fan_out);
            let price = self.platform.spec().price_usd_per_transition;
            if n == 1 {
                let req = st.slots[members[0].0 as usize].as_mut().expect("live");
                req.n_transitions += n_trans;
            } else {
                let share = n_trans as f64 * price / n as f64;
                for &(slot, _) in &members {
                    st.slots[slot as usize].as_mut().expect("live").cost_usd += share;
                }
            }
            for m in &mut st.monitors {
                m.wf.cost_usd += n_trans as f64 * price;
            }
        }
        // The batch draws as its opener's run of the step would (a batch of one is that run).
        let step_key = stream_seed(
            self.options.seed,
            "step",
            opener_idx
                .wrapping_mul(wf.n_steps() as u64)
                .wrapping_add(u64::from(id.0)),
        );
        let f = self.function_idx[id.idx()];
        let pool = self.pool_index(st, f, config.memory_mb);
        let run = self.alloc_run(st);
        for &(slot, _) in &members {
            st.slots[slot as usize]
                .as_mut()
                .expect("live")
                .waiting_runs
                .push(run);
        }
        let start = now + transition + SimTime::from_secs_f64(step.wait_s);
        let r = &mut st.runs[run as usize];
        r.slot = members[0].0;
        r.step = id.0;
        r.config = config;
        r.pool = pool;
        r.step_key = step_key;
        r.ready_at = now + transition;
        r.start = start;
        r.p = config.fan_out.max(1);
        r.next_j = 0;
        r.max_conc = step.max_concurrency.unwrap_or(u32::MAX);
        r.cost_usd = 0.0;
        r.n_cold = 0;
        r.n_admitted = 0;
        r.finish = start;
        r.wake_at = SimTime::MAX;
        r.jobs = step.jobs.saturating_mul(n as u32);
        let old = std::mem::replace(&mut r.members, members);
        if old.capacity() > 0 {
            self.recycle_members(st, old);
        }
        if step.wait_s > 0.0 {
            st.runs[run as usize].wake_at = start;
            st.queue.schedule_at(start, Event::Wake { run });
            Ok(1)
        } else {
            self.advance_run(st, run, now, scratch)
        }
    }

    /// The settings controllers see.
    fn settings(&self, st: &State) -> Vec<FunctionSettings> {
        self.function_names
            .iter()
            .zip(&st.fns)
            .map(|(name, fs)| {
                let mut provisioned: Vec<(u32, u32)> = fs
                    .pools
                    .iter()
                    .map(|&(m, p)| (m, st.pools[p as usize].pc_requested))
                    .filter(|&(_, l)| l > 0)
                    .collect();
                provisioned.sort_unstable();
                FunctionSettings {
                    function: name.clone(),
                    memory_mb: fs.memory_override,
                    reserved: fs.reserved,
                    provisioned,
                }
            })
            .collect()
    }

    /// Validates a controller's change and schedules it after the platform's delay (a provisioned
    /// decrease applies at once). Returns the work events scheduled.
    fn request_change(
        &self,
        st: &mut State,
        change: Change,
        now: SimTime,
        controller: &str,
    ) -> Result<u64, Error> {
        let cc = &self.platform.spec().concurrency;
        let bad = |reason: String| {
            Err(Error::InvalidOption {
                field: format!("controller {controller}"),
                reason,
            })
        };
        let func = |name: &str| -> Result<u32, Error> {
            self.fn_index(name).ok_or_else(|| Error::InvalidOption {
                field: format!("controller {controller}"),
                reason: format!(
                    "function '{name}' is not in workflow '{}' (its functions: {})",
                    self.workflow.name,
                    self.function_names.join(", ")
                ),
            })
        };
        let delay = match &change {
            Change::FunctionMemory {
                function,
                memory_mb,
            } => {
                func(function)?;
                if let Some(m) = memory_mb
                    && !self.platform.offers_memory(*m)
                {
                    return bad(format!(
                        "memory {m} MB for function '{function}' is not offered by the platform"
                    ));
                }
                cc.update_delay_s
            }
            Change::ReservedConcurrency { function, .. } => {
                func(function)?;
                cc.update_delay_s
            }
            Change::ProvisionedConcurrency {
                function,
                memory_mb,
                level,
            } => {
                let f = func(function)?;
                if !self.platform.offers_memory(*memory_mb) {
                    return bad(format!(
                        "provisioned memory {memory_mb} MB for function '{function}' is not \
                         offered by the platform"
                    ));
                }
                let pool = self.pool_index(st, f, *memory_mb) as usize;
                if *level == st.pools[pool].pc_requested {
                    return Ok(0); // no change
                }
                if *level <= st.pools[pool].pc_level {
                    st.pools[pool].pc_requested = *level;
                    st.n_changes += 1;
                    self.set_pc_level(st, pool, *level, now);
                    return Ok(0);
                }
                st.pools[pool].pc_requested = *level;
                cc.provisioning_delay_s
            }
            Change::StepConfig { step, config } => {
                let Some(id) = self.step_id(step) else {
                    return bad(format!(
                        "step '{step}' is not in workflow '{}'",
                        self.workflow.name
                    ));
                };
                if let Some(c) = config {
                    self.platform.check_config(self.workflow.step(id), *c)?;
                }
                cc.update_delay_s
            }
        };
        st.n_changes += 1;
        let at = now + SimTime::from_secs_f64(delay);
        if at > st.horizon {
            return Ok(0);
        }
        let idx = match st.pending_free.pop() {
            Some(i) => {
                st.pending[i as usize] = Some(change);
                i
            }
            None => {
                st.pending.push(Some(change));
                (st.pending.len() - 1) as u32
            }
        };
        st.queue.schedule_at(at, Event::Apply { change: idx });
        Ok(1)
    }

    /// Sets a pool's ready provisioned level, within what its function or the account can hold.
    fn set_pc_level(&self, st: &mut State, pool: usize, level: u32, now: SimTime) {
        self.advance_done(st, now);
        let limit = self.platform.spec().concurrency.account_limit;
        let f = st.pools[pool].function as usize;
        let old = st.pools[pool].pc_level;
        let fs = &st.fns[f];
        let room = match fs.reserved {
            Some(r) => r.saturating_sub(fs.od_running + fs.pc_level - old),
            None => {
                (limit - st.sum_reserved).saturating_sub(st.od_unreserved + st.pc_unreserved - old)
            }
        };
        let new = level.min(room);
        if new < level {
            st.n_changes_clamped += 1;
        }
        st.pools[pool].sync(now);
        st.pools[pool].pc_level = new;
        let fs = &mut st.fns[f];
        fs.pc_level = fs.pc_level - old + new;
        if fs.reserved.is_none() {
            st.pc_unreserved = st.pc_unreserved - old + new;
        }
    }

    fn apply_change(&self, st: &mut State, change: &Change, now: SimTime) {
        match change {
            Change::FunctionMemory {
                function,
                memory_mb,
            } => {
                let f = self.fn_index(function).expect("validated") as usize;
                st.fns[f].memory_override = *memory_mb;
            }
            Change::ReservedConcurrency { function, limit } => {
                self.advance_done(st, now);
                let f = self.fn_index(function).expect("validated") as usize;
                let acct = self.platform.spec().concurrency.account_limit;
                let old = st.fns[f].reserved;
                let others = st.sum_reserved - old.unwrap_or(0);
                let new = limit.map(|l| {
                    let l2 = l.min(acct - others);
                    if l2 < l {
                        st.n_changes_clamped += 1;
                    }
                    l2
                });
                let (od, pc) = (st.fns[f].od_running, st.fns[f].pc_level);
                match (old, new) {
                    (None, Some(_)) => {
                        st.od_unreserved -= od;
                        st.pc_unreserved -= pc;
                    }
                    (Some(_), None) => {
                        st.od_unreserved += od;
                        st.pc_unreserved += pc;
                    }
                    _ => {}
                }
                st.sum_reserved = others + new.unwrap_or(0);
                st.fns[f].reserved = new;
            }
            Change::ProvisionedConcurrency {
                function,
                memory_mb,
                level,
            } => {
                let f = self.fn_index(function).expect("validated");
                let pool = self.pool_index(st, f, *memory_mb) as usize;
                // A later decrease (or a smaller request) wins over this increase.
                let target = (*level).min(st.pools[pool].pc_requested);
                if target > st.pools[pool].pc_level {
                    self.set_pc_level(st, pool, target, now);
                }
            }
            Change::StepConfig { step, config } => {
                let id = self.step_id(step).expect("validated");
                st.step_overrides[id.idx()] = *config;
            }
        }
    }

    /// Closes monitor `m`'s window at `now` (after [`Self::sync_all`]) and opens the next.
    fn close_window(&self, st: &mut State, m: usize, now: SimTime) -> MonitorWindow {
        let spec = self.platform.spec();
        let State {
            monitors,
            fns,
            pools,
            running,
            running_int,
            slots,
            ..
        } = st;
        let mon = &mut monitors[m];
        let len_s = now.saturating_sub(mon.start).as_secs_f64();
        let mean = |int1: f64, int0: f64| {
            if len_s > 0.0 {
                (int1 - int0) / len_s
            } else {
                0.0
            }
        };
        let mut functions = Vec::with_capacity(fns.len());
        let mut wf_cost = mon.wf.cost_usd;
        for (f, fs) in fns.iter().enumerate() {
            let w = &mut mon.fns[f];
            let mut provisioned = Vec::new();
            let mut pc_cost = 0.0;
            let mut fpools = fs.pools.clone();
            fpools.sort_unstable();
            for &(mem, p) in &fpools {
                let pl = &pools[p as usize];
                let pw = &mut mon.pools[p as usize];
                let level_mean = mean(pl.pc_level_int, pw.level_int0);
                let in_use_mean = mean(pl.pc_busy_int, pw.busy_int0);
                pc_cost += (pl.pc_level_int - pw.level_int0) * f64::from(mem) / 1024.0
                    * spec.price_usd_per_gb_s_provisioned;
                if pw.invocations > 0 || level_mean > 0.0 || pl.pc_requested > 0 || pl.pc_level > 0
                {
                    provisioned.push(ProvisionedWindow {
                        memory_mb: mem,
                        invocations: pw.invocations,
                        level: pl.pc_level,
                        level_requested: pl.pc_requested,
                        level_mean,
                        in_use_mean,
                        utilization: (level_mean > 0.0).then(|| in_use_mean / level_mean),
                        spillover_invocations: pw.spillover,
                    });
                }
                *pw = PoolWin {
                    invocations: 0,
                    spillover: 0,
                    level_int0: pl.pc_level_int,
                    busy_int0: pl.pc_busy_int,
                };
            }
            let cost = w.cost_usd + pc_cost;
            wf_cost += cost;
            functions.push(FunctionWindow {
                function: self.function_names[f].clone(),
                invocations: w.invocations,
                throttles: w.throttles,
                retries: w.retries,
                failures: w.failures,
                concurrent_executions_mean: mean(fs.running_int, w.running_int0),
                concurrent_executions_max: w.max,
                cold_starts: w.cold_starts,
                duration_s: percentiles(&mut w.durations),
                cost_usd: cost,
                provisioned,
            });
            let mut durations = std::mem::take(&mut w.durations);
            durations.clear();
            *w = FnWin {
                max: fs.running,
                running_int0: fs.running_int,
                durations,
                ..FnWin::default()
            };
        }
        let n_running = slots
            .iter()
            .filter(|s| s.as_ref().is_some_and(|r| !r.aborted))
            .count() as u64;
        let n_done = mon.latencies.len() as u64;
        let n_finished = n_done + mon.wf.failed_throttled;
        let mut wf = std::mem::take(&mut mon.wf);
        wf.running = n_running;
        wf.latency_s = percentiles(&mut mon.latencies);
        wf.completed_per_s = if len_s > 0.0 {
            n_done as f64 / len_s
        } else {
            0.0
        };
        wf.slo_attainment = (self.slo_s().is_some() && n_finished > 0)
            .then(|| mon.n_met as f64 / n_finished as f64);
        wf.cost_usd = wf_cost;
        wf.concurrent_executions_mean = mean(*running_int, mon.acct_int0);
        wf.concurrent_executions_max = mon.acct_max;
        let window = MonitorWindow {
            start_s: mon.start.as_secs_f64(),
            end_s: now.as_secs_f64(),
            workflow: wf,
            functions,
        };
        mon.latencies.clear();
        mon.n_met = 0;
        mon.acct_max = *running;
        mon.acct_int0 = *running_int;
        mon.start = now;
        window
    }
}

/// Nearest-rank percentiles of a window's sample (`None` when empty).
fn percentiles(values: &mut [f64]) -> Percentiles {
    match des::stats::Summary::of(values) {
        Some(s) if !values.is_empty() => Percentiles {
            p50: Some(s.p50),
            p95: Some(s.p95),
            p99: Some(s.p99),
        },
        _ => Percentiles::default(),
    }
}
