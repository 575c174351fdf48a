//! The event-driven serverless platform: heterogeneous machines with CPU and memory, function instances
//! that cold-start (per-function log-normal start times) and stay warm as the keep-alive policy decides,
//! per-function SLOs, AWS-style cost of allocated memory-time, and workflow dependencies (an invocation
//! becomes ready when it has arrived and all its parents have finished).
//!
//! Events (on [`des::EventQueue`], ordered by `(time, seq)`): arrivals (pulled lazily from the stream, one
//! scheduled at a time), completions, keep-alive expiries and pre-warm loads. The policy decides after each
//! batch of events at one time while invocations are pending, and again after each placement.

use std::collections::BTreeMap;

use des::{EventQueue, RngStreams, SimRng, SimTime};
use workload::{FunctionProfile, Invocation};

use crate::policy::{
    Action, Environment, FunctionView, MachineView, Mode, Observation, PendingView, RunningView,
    StepOutcome,
};
use crate::{Error, KeepAlivePolicy, Resources, RunMetrics};

/// A machine of the cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineSpec {
    /// A name for reports.
    pub name: String,
    /// CPU capacity in millicores.
    pub cpu_millicores: f64,
    /// Memory capacity in MB.
    pub memory_mb: f64,
    /// Relative speed: execution time is the invocation's duration divided by it.
    pub speed: f64,
}

/// The default cluster: two machines of 4 vCPU / 8 GB and two of 2 vCPU / 4 GB, all at speed 1 (small on
/// purpose: the Azure samples need about one vCPU on average, so placement matters at loads of a few x).
pub fn default_machines() -> Vec<MachineSpec> {
    let m = |name: &str, vcpu: f64, gb: f64| MachineSpec {
        name: name.into(),
        cpu_millicores: vcpu * 1000.0,
        memory_mb: gb * 1024.0,
        speed: 1.0,
    };
    vec![
        m("large-0", 4.0, 8.0),
        m("large-1", 4.0, 8.0),
        m("small-0", 2.0, 4.0),
        m("small-1", 2.0, 4.0),
    ]
}

/// A log-normal cold-start time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColdStartSpec {
    /// Median in seconds (public AWS measurements: about 0.2 s for Python/JavaScript).
    pub median_s: f64,
    /// Standard deviation of the logarithm.
    pub sigma: f64,
}

impl Default for ColdStartSpec {
    fn default() -> Self {
        ColdStartSpec {
            median_s: 0.25,
            sigma: 0.5,
        }
    }
}

impl ColdStartSpec {
    /// The mean, `median * exp(sigma^2 / 2)`.
    pub fn mean_s(&self) -> f64 {
        self.median_s * (self.sigma * self.sigma / 2.0).exp()
    }

    fn sample(&self, rng: &mut SimRng) -> SimTime {
        SimTime::from_secs_f64(self.median_s * (self.sigma * workload::standard_normal(rng)).exp())
    }
}

/// A function as the platform runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    /// Name.
    pub name: String,
    /// Memory of one instance in MB (allocated while the instance exists, billed while it runs).
    pub memory_mb: f64,
    /// CPU of a running instance in millicores.
    pub cpu_millicores: f64,
    /// Cold-start distribution.
    pub cold_start: ColdStartSpec,
    /// SLO on response time (`finish - ready`), seconds.
    pub slo_s: f64,
    /// Median warm duration in seconds (the scheduler's duration estimate).
    pub duration_s_p50: f64,
}

/// AWS Lambda prices (x86, us-east-1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pricing {
    /// USD per GB-second of allocated memory while running (0.0000166667).
    pub usd_per_gb_s: f64,
    /// USD per request (0.20 per million).
    pub usd_per_request: f64,
}

impl Default for Pricing {
    fn default() -> Self {
        Pricing {
            usd_per_gb_s: 0.000_016_666_7,
            usd_per_request: 0.2e-6,
        }
    }
}

/// Serverless-mode settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerlessSettings {
    /// The machines (heterogeneous).
    pub machines: Vec<MachineSpec>,
    /// Prices.
    pub pricing: Pricing,
    /// Memory per full vCPU (Lambda: 1,769 MB); a function's CPU is `memory_mb / mb_per_vcpu` vCPU.
    pub mb_per_vcpu: f64,
    /// Cold-start distribution given to every function built by [`ServerlessSettings::function_from_profile`].
    pub cold_start: ColdStartSpec,
    /// SLO = the function's p99 warm duration plus this slack, seconds.
    pub slo_slack_s: f64,
    /// Stop at this time (invocations not finished are reported pending); `None`: run until all finish.
    pub horizon: Option<SimTime>,
    /// How running invocations use a machine's CPU.
    pub cpu_model: CpuModel,
}

/// How running invocations use a machine's CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CpuModel {
    /// Each running invocation holds its CPU (`cpu_millicores`) exclusively; a placement needs that much
    /// free CPU, and invocations never slow each other (Lambda's model: CPU in proportion to memory).
    #[default]
    Reserved,
    /// Only memory limits placement; the invocations on a machine share its CPU, each progressing at
    /// `min(1, capacity / total demand)` of its speed (processor sharing, as dslab-faas and OpenWhisk
    /// invokers behave under contention): co-located calls slow each other, and every start or finish
    /// on the machine changes the others' finish times. A cold start's delay is not slowed; the instance
    /// counts towards the demand from its placement.
    Shared,
}

impl Default for ServerlessSettings {
    fn default() -> Self {
        ServerlessSettings {
            machines: default_machines(),
            pricing: Pricing::default(),
            mb_per_vcpu: 1769.0,
            cold_start: ColdStartSpec::default(),
            slo_slack_s: 1.0,
            horizon: None,
            cpu_model: CpuModel::Reserved,
        }
    }
}

impl ServerlessSettings {
    /// The platform's view of a trace function: its memory, CPU proportional to memory, the default cold
    /// start, and SLO = p99 duration + `slo_slack_s`.
    pub fn function_from_profile(&self, p: &FunctionProfile) -> FunctionSpec {
        let memory_mb = p.memory_mb.max(1) as f64;
        FunctionSpec {
            name: p.name.clone(),
            memory_mb,
            cpu_millicores: (memory_mb / self.mb_per_vcpu * 1000.0).round().max(1.0),
            cold_start: self.cold_start,
            slo_s: p.duration_s_p99() + self.slo_slack_s,
            duration_s_p50: p.duration_s_p50(),
        }
    }

    fn validate(&self, functions: &[FunctionSpec]) -> Result<(), Error> {
        if self.machines.is_empty() {
            return Err(Error::setting("machines", 0, "need at least one machine"));
        }
        // The observation keeps idle warm instances per (machine, function).
        if self.machines.len().saturating_mul(functions.len()) > MAX_MACHINE_FUNCTION_PAIRS {
            return Err(Error::setting(
                "machines",
                self.machines.len(),
                format!(
                    "{} machines x {} functions exceeds {MAX_MACHINE_FUNCTION_PAIRS} pairs",
                    self.machines.len(),
                    functions.len()
                ),
            ));
        }
        for m in &self.machines {
            let ok = |v: f64| v.is_finite() && v > 0.0;
            if !(ok(m.cpu_millicores) && ok(m.memory_mb) && ok(m.speed)) {
                return Err(Error::setting(
                    "machines",
                    &m.name,
                    "capacities and speed must be positive and finite",
                ));
            }
        }
        if !(self.mb_per_vcpu > 0.0 && self.slo_slack_s >= 0.0) {
            return Err(Error::setting(
                "mb_per_vcpu",
                self.mb_per_vcpu,
                "must be positive (and slo_slack_s non-negative)",
            ));
        }
        for f in functions {
            let fits = self
                .machines
                .iter()
                .any(|m| f.cpu_millicores <= m.cpu_millicores && f.memory_mb <= m.memory_mb);
            if !fits {
                return Err(Error::FunctionTooLarge {
                    function: f.name.clone(),
                    demand: format!("{} millicores, {} MB", f.cpu_millicores, f.memory_mb),
                });
            }
            let c = f.cold_start;
            if !(c.median_s >= 0.0
                && c.median_s.is_finite()
                && c.sigma >= 0.0
                && c.sigma.is_finite()
                && f.slo_s >= 0.0)
            {
                return Err(Error::setting(
                    "functions",
                    &f.name,
                    "cold start and SLO must be finite and non-negative",
                ));
            }
        }
        Ok(())
    }
}

/// Largest number of (machine, function) pairs of a serverless environment: the observation keeps a
/// count of idle warm instances per pair.
pub const MAX_MACHINE_FUNCTION_PAIRS: usize = 10_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InstState {
    Free,
    Busy,
    Idle,
}

#[derive(Debug, Clone)]
struct Instance {
    function_idx: u32,
    machine_idx: u32,
    state: InstState,
    generation: u32,
    idle_since: SimTime,
    running_slot: usize,
    // The invocation it runs (valid while Busy).
    inv: Invocation,
    ready: SimTime,
    placed: SimTime,
    cold: SimTime,
    /// Shared CPU: execution left, seconds at the machine's full speed (as of `last_update`).
    work_left_s: f64,
    /// Shared CPU: the share of its speed it progresses at since `last_update`.
    rate: f64,
    /// Shared CPU: when `work_left_s` was last brought up to date.
    last_update: SimTime,
    /// Which Finish event is current (earlier ones were rescheduled).
    finish_gen: u32,
}

#[derive(Debug, Clone)]
enum Ev {
    Arrival(Invocation),
    Finish {
        instance: u32,
        generation: u32,
    },
    Expire {
        instance: u32,
        generation: u32,
    },
    PreWarm {
        machine: u32,
        function: u32,
        keep_alive: SimTime,
    },
}

#[derive(Debug, Clone)]
struct MachineState {
    free_cpu: f64,
    free_mem: f64,
    idle_mem: f64,
    /// `idle[f]`: idle instance ids of function `f`, oldest first.
    idle: Vec<Vec<u32>>,
}

#[derive(Debug, Clone)]
struct Blocked {
    inv: Option<Invocation>,
    n_parents_left: u32,
    ready_floor: SimTime,
}

/// The serverless environment over one invocation stream.
pub struct ServerlessEnv<'a> {
    settings: ServerlessSettings,
    functions: Vec<FunctionSpec>,
    stream: Box<dyn Iterator<Item = Invocation> + 'a>,
    keep_alive: Box<dyn KeepAlivePolicy + 'a>,
    queue: EventQueue<Ev>,
    cold_rngs: Vec<SimRng>,
    machines: Vec<MachineState>,
    instances: Vec<Instance>,
    free_instances: Vec<u32>,
    pending: Vec<(Invocation, SimTime)>,
    running_inst: Vec<u32>,
    blocked: BTreeMap<u64, Blocked>,
    children: BTreeMap<u64, Vec<u64>>,
    n_blocked_arrived: u64,
    last_arrival: SimTime,
    /// Sum over invocations in the system of 1 / duration_s (for the reward).
    inv_duration_sum: f64,
    last_time: SimTime,
    busy_cpu_ms: f64,
    busy_mem_ms: f64,
    idle_mem_mb_us: f64,
    last_finish: SimTime,
    done: bool,
    metrics: RunMetrics,
    obs: Observation,
}

impl<'a> ServerlessEnv<'a> {
    /// An environment running `invocations` (sorted by arrival) of `functions` on `settings.machines`.
    /// `dependencies[child] = parents` (invocation ids) makes `child` wait for its parents. Cold starts draw
    /// from sub-stream `serverless.cold_start` index `function_idx` of `seed`.
    pub fn new(
        settings: ServerlessSettings,
        functions: Vec<FunctionSpec>,
        invocations: Box<dyn Iterator<Item = Invocation> + 'a>,
        dependencies: &BTreeMap<u64, Vec<u64>>,
        keep_alive: Box<dyn KeepAlivePolicy + 'a>,
        seed: u64,
    ) -> Result<ServerlessEnv<'a>, Error> {
        settings.validate(&functions)?;
        let nf = functions.len();
        let nm = settings.machines.len();
        let streams = RngStreams::new(seed);
        let mut blocked = BTreeMap::new();
        let mut children: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for (&child, parents) in dependencies {
            if parents.is_empty() {
                continue;
            }
            blocked.insert(
                child,
                Blocked {
                    inv: None,
                    n_parents_left: parents.len() as u32,
                    ready_floor: SimTime::ZERO,
                },
            );
            for &p in parents {
                children.entry(p).or_default().push(child);
            }
        }
        let ref_cpu = settings
            .machines
            .iter()
            .map(|m| m.cpu_millicores)
            .fold(0.0, f64::max);
        let ref_mem = settings
            .machines
            .iter()
            .map(|m| m.memory_mb)
            .fold(0.0, f64::max);
        let obs = Observation {
            mode: Mode::Serverless,
            now: SimTime::ZERO,
            resource_scale: Resources::new(&[ref_cpu / 10.0, ref_mem / 10.0]),
            machines: settings
                .machines
                .iter()
                .map(|m| MachineView {
                    capacity: Resources::new(&[m.cpu_millicores, m.memory_mb]),
                    free: Resources::new(&[m.cpu_millicores, m.memory_mb]),
                    free_profile: Vec::new(),
                    idle_memory_mb: 0.0,
                    speed: m.speed,
                })
                .collect(),
            pending: Vec::new(),
            pending_capacity: None,
            n_backlog: 0,
            running: Vec::new(),
            functions: functions
                .iter()
                .map(|f| FunctionView {
                    memory_mb: f.memory_mb,
                    cpu_millicores: f.cpu_millicores,
                    cold_start_s_mean: f.cold_start.mean_s(),
                    duration_s_p50: f.duration_s_p50,
                    slo_s: f.slo_s,
                    n_warm_idle: 0,
                    n_busy: 0,
                    n_arrivals: 0,
                    last_arrival: None,
                })
                .collect(),
            warm_idle: vec![0; nm * nf],
            function_edges: Vec::new(),
            cpu_shared: settings.cpu_model == CpuModel::Shared,
        };
        let mut env = ServerlessEnv {
            machines: settings
                .machines
                .iter()
                .map(|m| MachineState {
                    free_cpu: m.cpu_millicores,
                    free_mem: m.memory_mb,
                    idle_mem: 0.0,
                    idle: vec![Vec::new(); nf],
                })
                .collect(),
            cold_rngs: (0..nf)
                .map(|f| streams.indexed("serverless.cold_start", f as u64))
                .collect(),
            settings,
            functions,
            stream: invocations,
            keep_alive,
            queue: EventQueue::new(),
            instances: Vec::new(),
            free_instances: Vec::new(),
            pending: Vec::new(),
            running_inst: Vec::new(),
            blocked,
            children,
            n_blocked_arrived: 0,
            last_arrival: SimTime::ZERO,
            inv_duration_sum: 0.0,
            last_time: SimTime::ZERO,
            busy_cpu_ms: 0.0,
            busy_mem_ms: 0.0,
            idle_mem_mb_us: 0.0,
            last_finish: SimTime::ZERO,
            done: false,
            metrics: RunMetrics::default(),
            obs,
        };
        env.schedule_next_arrival()?;
        env.advance()?;
        Ok(env)
    }

    fn schedule_next_arrival(&mut self) -> Result<(), Error> {
        if let Some(inv) = self.stream.next() {
            if inv.arrival < self.last_arrival {
                return Err(Error::UnsortedStream {
                    id: inv.id,
                    arrival: inv.arrival,
                    previous: self.last_arrival,
                });
            }
            if inv.function_idx as usize >= self.functions.len() {
                return Err(Error::UnknownFunction {
                    id: inv.id,
                    function_idx: inv.function_idx,
                    n_functions: self.functions.len(),
                });
            }
            self.last_arrival = inv.arrival;
            self.queue.schedule_at(inv.arrival, Ev::Arrival(inv));
        }
        Ok(())
    }

    fn update_machine_view(&mut self, m: usize) {
        let s = &self.machines[m];
        let v = &mut self.obs.machines[m];
        v.free = Resources::new(&[s.free_cpu, s.free_mem]);
        v.idle_memory_mb = s.idle_mem;
    }

    fn set_warm_idle(&mut self, m: usize, f: usize) {
        let nf = self.functions.len();
        self.obs.warm_idle[m * nf + f] = self.machines[m].idle[f].len() as u32;
    }

    fn make_pending(&mut self, inv: Invocation, ready: SimTime) {
        let f = &self.functions[inv.function_idx as usize];
        self.obs.pending.push(PendingView {
            invocation_id: inv.id,
            function_idx: inv.function_idx,
            ready,
            demand: Resources::new(&[f.cpu_millicores, f.memory_mb]),
            duration_estimate: SimTime::from_secs_f64(f.duration_s_p50),
            slo: Some(SimTime::from_secs_f64(f.slo_s)),
        });
        self.pending.push((inv, ready));
    }

    fn alloc_instance(&mut self, function_idx: u32, machine_idx: u32) -> u32 {
        let inst = Instance {
            function_idx,
            machine_idx,
            state: InstState::Busy,
            generation: 0,
            idle_since: SimTime::ZERO,
            running_slot: 0,
            inv: Invocation {
                id: 0,
                function_idx,
                arrival: SimTime::ZERO,
                duration: SimTime::ZERO,
                memory_mb: 0,
            },
            ready: SimTime::ZERO,
            placed: SimTime::ZERO,
            cold: SimTime::ZERO,
            work_left_s: 0.0,
            rate: 1.0,
            last_update: SimTime::ZERO,
            finish_gen: 0,
        };
        if let Some(id) = self.free_instances.pop() {
            let old = &self.instances[id as usize];
            // Both generations carry over: a Finish event of the instance's previous life (a shared
            // CPU leaves rescheduled ones in the queue) must not match its next one.
            let (g, fg) = (old.generation.wrapping_add(1), old.finish_gen);
            self.instances[id as usize] = Instance {
                generation: g,
                finish_gen: fg,
                ..inst
            };
            id
        } else {
            self.instances.push(inst);
            (self.instances.len() - 1) as u32
        }
    }

    /// Takes an idle instance out of its machine's idle list, accounting its idle memory-time.
    fn leave_idle(&mut self, id: u32, now: SimTime) {
        let inst = &mut self.instances[id as usize];
        let (m, f) = (inst.machine_idx as usize, inst.function_idx as usize);
        let mem = self.functions[f].memory_mb;
        self.idle_mem_mb_us += mem * (now - inst.idle_since).as_us() as f64;
        inst.generation = inst.generation.wrapping_add(1);
        let list = &mut self.machines[m].idle[f];
        if let Some(pos) = list.iter().position(|&x| x == id) {
            list.remove(pos);
        }
        self.machines[m].idle_mem -= mem;
        self.set_warm_idle(m, f);
        self.obs.functions[f].n_warm_idle -= 1;
    }

    fn free_instance(&mut self, id: u32) {
        let inst = &mut self.instances[id as usize];
        let (m, f) = (inst.machine_idx as usize, inst.function_idx as usize);
        inst.state = InstState::Free;
        inst.generation = inst.generation.wrapping_add(1);
        self.machines[m].free_mem += self.functions[f].memory_mb;
        self.free_instances.push(id);
    }

    fn make_idle(&mut self, id: u32, now: SimTime, keep_alive: SimTime) {
        let inst = &mut self.instances[id as usize];
        let (m, f) = (inst.machine_idx as usize, inst.function_idx as usize);
        inst.state = InstState::Idle;
        inst.idle_since = now;
        inst.generation = inst.generation.wrapping_add(1);
        let generation = inst.generation;
        self.machines[m].idle[f].push(id);
        self.machines[m].idle_mem += self.functions[f].memory_mb;
        self.set_warm_idle(m, f);
        self.obs.functions[f].n_warm_idle += 1;
        self.queue.schedule_at(
            now + keep_alive,
            Ev::Expire {
                instance: id,
                generation,
            },
        );
    }

    /// Places pending invocation `pidx` on machine `m`; false (and nothing changes) when it cannot.
    fn place(&mut self, pidx: usize, m: usize) -> bool {
        if pidx >= self.pending.len() || m >= self.machines.len() {
            return false;
        }
        let now = self.queue.now();
        let (inv, ready) = self.pending[pidx];
        let f = inv.function_idx as usize;
        let (cpu, mem) = (
            self.functions[f].cpu_millicores,
            self.functions[f].memory_mb,
        );
        let shared = self.settings.cpu_model == CpuModel::Shared;
        let ms = &self.machines[m];
        if !shared && ms.free_cpu < cpu {
            return false;
        }
        let warm = ms.idle[f].last().copied();
        if warm.is_none() && ms.free_mem + ms.idle_mem < mem {
            return false;
        }
        let (id, cold) = match warm {
            Some(id) => {
                self.leave_idle(id, now);
                self.instances[id as usize].state = InstState::Busy;
                self.metrics.n_warm_starts += 1;
                (id, SimTime::ZERO)
            }
            None => {
                // Evict the longest-idle instances on this machine until the new one fits.
                while self.machines[m].free_mem < mem {
                    let victim = self.machines[m]
                        .idle
                        .iter()
                        .filter_map(|l| l.first().copied())
                        .min_by_key(|&v| (self.instances[v as usize].idle_since, v));
                    let Some(v) = victim else { break };
                    self.leave_idle(v, now);
                    self.free_instance(v);
                    self.metrics.n_evictions += 1;
                }
                let id = self.alloc_instance(f as u32, m as u32);
                self.machines[m].free_mem -= mem;
                self.metrics.n_cold_starts += 1;
                (
                    id,
                    self.functions[f].cold_start.sample(&mut self.cold_rngs[f]),
                )
            }
        };
        self.machines[m].free_cpu -= cpu;
        let speed = self.settings.machines[m].speed;
        let exec = SimTime::from_secs_f64(inv.duration.as_secs_f64() / speed);
        let finish = now + cold + exec;
        let inst = &mut self.instances[id as usize];
        inst.inv = inv;
        inst.ready = ready;
        inst.placed = now;
        inst.cold = cold;
        inst.work_left_s = exec.as_secs_f64();
        inst.rate = 1.0;
        inst.last_update = now;
        inst.finish_gen = inst.finish_gen.wrapping_add(1);
        let finish_gen = inst.finish_gen;
        inst.running_slot = self.running_inst.len();
        self.running_inst.push(id);
        let fv = &self.functions[f];
        self.obs.running.push(RunningView {
            invocation_id: inv.id,
            function_idx: inv.function_idx,
            machine_idx: m,
            start: now,
            expected_finish: now + cold + SimTime::from_secs_f64(fv.duration_s_p50 / speed),
            demand: Resources::new(&[cpu, mem]),
        });
        self.obs.functions[f].n_busy += 1;
        self.pending.remove(pidx);
        self.obs.pending.remove(pidx);
        if shared {
            self.share_cpu(m, now);
        } else {
            self.queue.schedule_at(
                finish,
                Ev::Finish {
                    instance: id,
                    generation: finish_gen,
                },
            );
        }
        self.update_machine_view(m);
        true
    }

    /// Shared CPU: brings every running invocation on machine `m` up to date at `now` and, where its
    /// share of the CPU changes (or it was just placed), schedules its finish again at the new share.
    fn share_cpu(&mut self, m: usize, now: SimTime) {
        let cap = self.settings.machines[m].cpu_millicores;
        let demand = cap - self.machines[m].free_cpu;
        let rate = if demand <= cap { 1.0 } else { cap / demand };
        for k in 0..self.running_inst.len() {
            let id = self.running_inst[k];
            let inst = &mut self.instances[id as usize];
            if inst.machine_idx as usize != m {
                continue;
            }
            let exec_start = inst.placed + inst.cold;
            let from = inst.last_update.max(exec_start);
            if now > from {
                inst.work_left_s =
                    (inst.work_left_s - (now - from).as_secs_f64() * inst.rate).max(0.0);
            }
            let fresh = inst.last_update == now && inst.placed == now;
            inst.last_update = now;
            if inst.rate != rate || fresh {
                inst.rate = rate;
                inst.finish_gen = inst.finish_gen.wrapping_add(1);
                let finish = now.max(exec_start) + SimTime::from_secs_f64(inst.work_left_s / rate);
                let generation = inst.finish_gen;
                self.queue.schedule_at(
                    finish,
                    Ev::Finish {
                        instance: id,
                        generation,
                    },
                );
            }
        }
    }

    fn on_finish(&mut self, id: u32, now: SimTime) {
        let inst = self.instances[id as usize].clone();
        let (m, f) = (inst.machine_idx as usize, inst.function_idx as usize);
        let fs = &self.functions[f];
        let (cpu, mem) = (fs.cpu_millicores, fs.memory_mb);
        let held_us = (now - inst.placed).as_us() as f64;
        // CPU used: all of it while held, or under a shared CPU the work done (a slowed invocation
        // holds its share longer, not more CPU-time).
        let cpu_us = match self.settings.cpu_model {
            CpuModel::Reserved => held_us,
            CpuModel::Shared => {
                inst.cold.as_us() as f64
                    + inst.inv.duration.as_us() as f64 / self.settings.machines[m].speed
            }
        };
        self.busy_cpu_ms += cpu * cpu_us / 1e3;
        self.busy_mem_ms += mem * held_us / 1e3;
        let billed_ms = (now - inst.placed).as_us().div_ceil(1_000) as f64;
        self.metrics.cost_usd += billed_ms / 1e3 * mem / 1024.0
            * self.settings.pricing.usd_per_gb_s
            + self.settings.pricing.usd_per_request;
        let dur_s = inst.inv.duration.as_secs_f64().max(1e-6);
        let response_s = (now - inst.ready).as_secs_f64();
        self.metrics.slowdown.record(response_s / dur_s);
        if response_s > fs.slo_s {
            self.metrics.n_slo_violations += 1;
        }
        self.metrics.n_finished += 1;
        self.inv_duration_sum -= 1.0 / dur_s;
        self.last_finish = now;
        // Remove from the running list (swap_remove keeps it O(1)).
        let slot = inst.running_slot;
        self.running_inst.swap_remove(slot);
        self.obs.running.swap_remove(slot);
        if let Some(&moved) = self.running_inst.get(slot) {
            self.instances[moved as usize].running_slot = slot;
        }
        self.obs.functions[f].n_busy -= 1;
        self.machines[m].free_cpu += cpu;
        if self.settings.cpu_model == CpuModel::Shared {
            self.share_cpu(m, now);
        }
        let d = self.keep_alive.on_idle(f as u32, now);
        if d.pre_warm == SimTime::ZERO && d.keep_alive > SimTime::ZERO {
            self.make_idle(id, now, d.keep_alive);
        } else {
            self.free_instance(id);
            if d.pre_warm > SimTime::ZERO && d.keep_alive > SimTime::ZERO {
                self.queue.schedule_at(
                    now + d.pre_warm,
                    Ev::PreWarm {
                        machine: m as u32,
                        function: f as u32,
                        keep_alive: d.keep_alive,
                    },
                );
            }
        }
        self.update_machine_view(m);
        // Workflow children.
        if let Some(kids) = self.children.get(&inst.inv.id).cloned() {
            let parent_fn = inst.inv.function_idx;
            for c in kids {
                if let Some(b) = self.blocked.get_mut(&c) {
                    if let Some(child) = &b.inv {
                        let edge = (parent_fn, child.function_idx);
                        if let Err(at) = self.obs.function_edges.binary_search(&edge) {
                            self.obs.function_edges.insert(at, edge);
                        }
                    }
                    b.n_parents_left = b.n_parents_left.saturating_sub(1);
                    b.ready_floor = b.ready_floor.max(now);
                    if b.n_parents_left == 0
                        && let Some(inv) = b.inv
                    {
                        let ready = b.ready_floor.max(inv.arrival);
                        self.blocked.remove(&c);
                        self.n_blocked_arrived -= 1;
                        self.make_pending(inv, ready);
                    }
                }
            }
        }
    }

    fn on_arrival(&mut self, inv: Invocation, now: SimTime) -> Result<(), Error> {
        self.metrics.n_arrived += 1;
        let f = inv.function_idx as usize;
        self.keep_alive.on_arrival(inv.function_idx, now);
        let fv = &mut self.obs.functions[f];
        fv.n_arrivals += 1;
        fv.last_arrival = Some(now);
        self.inv_duration_sum += 1.0 / inv.duration.as_secs_f64().max(1e-6);
        match self.blocked.get_mut(&inv.id) {
            Some(b) if b.n_parents_left > 0 => {
                b.inv = Some(inv);
                self.n_blocked_arrived += 1;
            }
            Some(b) => {
                let ready = b.ready_floor.max(now);
                self.blocked.remove(&inv.id);
                self.make_pending(inv, ready);
            }
            None => self.make_pending(inv, now),
        }
        self.schedule_next_arrival()
    }

    fn on_prewarm(&mut self, m: usize, f: usize, keep_alive: SimTime, now: SimTime) {
        let mem = self.functions[f].memory_mb;
        if self.machines[m].free_mem < mem {
            return;
        }
        let id = self.alloc_instance(f as u32, m as u32);
        self.machines[m].free_mem -= mem;
        self.metrics.n_prewarms += 1;
        self.make_idle(id, now, keep_alive);
        self.update_machine_view(m);
    }

    /// Processes every event at the next event time; returns the reward for the time that passed, or
    /// `None` when no event is left (or the horizon is reached).
    fn process_batch(&mut self) -> Result<Option<f64>, Error> {
        let Some(t) = self.queue.peek_time() else {
            return Ok(None);
        };
        if let Some(h) = self.settings.horizon
            && t > h
        {
            return Ok(None);
        }
        let reward = -self.inv_duration_sum * (t - self.last_time).as_secs_f64();
        self.last_time = t;
        while self.queue.peek_time() == Some(t) {
            let Some(ev) = self.queue.pop() else { break };
            match ev.event {
                Ev::Arrival(inv) => self.on_arrival(inv, t)?,
                Ev::Finish {
                    instance,
                    generation,
                } => {
                    let i = &self.instances[instance as usize];
                    if i.state == InstState::Busy && i.finish_gen == generation {
                        self.on_finish(instance, t);
                    }
                }
                Ev::Expire {
                    instance,
                    generation,
                } => {
                    let i = &self.instances[instance as usize];
                    if i.state == InstState::Idle && i.generation == generation {
                        let m = i.machine_idx as usize;
                        self.leave_idle(instance, t);
                        self.free_instance(instance);
                        self.update_machine_view(m);
                    }
                }
                Ev::PreWarm {
                    machine,
                    function,
                    keep_alive,
                } => self.on_prewarm(machine as usize, function as usize, keep_alive, t),
            }
        }
        self.obs.now = t;
        Ok(Some(reward))
    }

    /// Advances through event batches until something is pending or the run is over.
    fn advance(&mut self) -> Result<f64, Error> {
        let mut reward = 0.0;
        loop {
            match self.process_batch()? {
                Some(r) => {
                    reward += r;
                    if !self.pending.is_empty() {
                        break;
                    }
                }
                None => {
                    self.finish_run();
                    break;
                }
            }
        }
        self.obs.n_backlog = self.n_blocked_arrived as usize;
        Ok(reward)
    }

    fn finish_run(&mut self) {
        self.done = true;
        let stop = match self.settings.horizon {
            Some(h) if self.queue.peek_time().is_some() => h,
            _ => self.last_finish.max(self.last_time),
        };
        // Idle instances still warm at a horizon stop count their idle time until then.
        for inst in &self.instances {
            if inst.state == InstState::Idle {
                let mem = self.functions[inst.function_idx as usize].memory_mb;
                self.idle_mem_mb_us += mem * (stop.saturating_sub(inst.idle_since)).as_us() as f64;
            }
        }
        self.metrics.n_pending =
            self.pending.len() as u64 + self.running_inst.len() as u64 + self.n_blocked_arrived;
        let makespan_s = self
            .last_finish
            .as_secs_f64()
            .max(if self.settings.horizon.is_some() {
                stop.as_secs_f64()
            } else {
                0.0
            });
        self.metrics.makespan_s = makespan_s;
        let cpu: f64 = self
            .settings
            .machines
            .iter()
            .map(|m| m.cpu_millicores)
            .sum();
        let mem: f64 = self.settings.machines.iter().map(|m| m.memory_mb).sum();
        self.metrics.utilization = if makespan_s > 0.0 {
            (self.busy_cpu_ms / 1e3 / (cpu * makespan_s)
                + self.busy_mem_ms / 1e3 / (mem * makespan_s))
                / 2.0
        } else {
            0.0
        };
        self.metrics.idle_memory_gb_s = self.idle_mem_mb_us / 1024.0 / 1e6;
    }

    /// The functions as configured.
    pub fn functions(&self) -> &[FunctionSpec] {
        &self.functions
    }

    /// Number of events processed so far.
    pub fn n_events(&self) -> u64 {
        self.queue.n_popped()
    }
}

impl Environment for ServerlessEnv<'_> {
    fn observe(&self) -> &Observation {
        &self.obs
    }

    fn step(&mut self, action: Action) -> Result<StepOutcome, Error> {
        if self.done {
            return Ok(StepOutcome {
                reward: 0.0,
                done: true,
                invalid: false,
            });
        }
        let mut invalid = false;
        if !self.pending.is_empty() {
            self.metrics.n_decisions += 1;
        }
        if let Action::Place {
            pending_idx,
            machine_idx,
        } = action
        {
            if self.place(pending_idx, machine_idx) {
                if !self.pending.is_empty() {
                    return Ok(StepOutcome {
                        reward: 0.0,
                        done: false,
                        invalid: false,
                    });
                }
            } else {
                invalid = true;
                self.metrics.n_invalid_actions += 1;
            }
        }
        let reward = self.advance()?;
        self.metrics.total_reward += reward;
        Ok(StepOutcome {
            reward,
            done: self.done,
            invalid,
        })
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn metrics(&self) -> RunMetrics {
        self.metrics.clone()
    }
}
