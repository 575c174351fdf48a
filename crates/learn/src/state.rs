//! The graph state of seed paper section 3.1, built from a [`cluster::Observation`] at each decision.
//!
//! Nodes (one row of [`N_STATE_FEATURES`] features each; the first five are the node type one-hot):
//! - one **global** node (queue length, backlog, utilisation, running count, arrival rate so far) that
//!   every node feeds, so
//!   the policy's "wait" and value heads read a summary of the whole graph;
//! - **resource** nodes, one per machine: capacity, free share now, DeepRM's look-ahead of free
//!   resources pooled into six horizon bins per resource, idle warm memory, speed;
//! - **invocation** nodes: the pending ones inside the window (demand, duration estimate, waiting time,
//!   earliest feasible start, SLO slack, warm instance available) and the running ones (demand, time left,
//!   time run);
//! - **function** nodes (serverless): memory, CPU, cold-start time, median duration, SLO, warm and busy
//!   instances, arrival rate.
//!
//! Edges (types are [`EdgeKind`]; both directions unless noted): dependency (function -> function, from
//! the observation's workflow edges), allocation (running invocation - its machine, weight = its share of
//! the machine), temporal (consecutive pending invocations of one function by ready time, weight
//! `exp(-gap / 10 s)`), resource sharing (consecutive running invocations on one machine), membership
//! (invocation - its function), candidate (pending invocation - machine it may be placed on now) and
//! summary (every node -> global).
//!
//! The window bounds the graph: at most `max_pending` pending invocations (the ones a policy acts on:
//! all of them if they fit, else the oldest half and the shortest of the rest, see [`select_window`]) and `max_running` running ones (latest started). The builder keeps its buffers between
//! decisions, so a decision costs O(window + machines + functions), never O(history).

use cluster::{Mode, Observation};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::graph::{Edge, Graph};

/// Features per node of the graph state.
pub const N_STATE_FEATURES: usize = 24;

/// Edge types of the graph state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum EdgeKind {
    /// Workflow dependency between functions.
    Dependency = 0,
    /// A running invocation and the machine it holds resources on.
    Allocation = 1,
    /// Consecutive pending invocations of one function.
    Temporal = 2,
    /// Consecutive running invocations on one machine.
    ResourceSharing = 3,
    /// An invocation and its function.
    Membership = 4,
    /// A pending invocation and a machine it may be placed on now.
    Candidate = 5,
    /// Any node to the global node.
    Summary = 6,
}

/// The window of the graph state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateConfig {
    /// Pending invocations in the graph (and in the action space), oldest first.
    pub max_pending: usize,
    /// Running invocations in the graph, latest started first.
    pub max_running: usize,
    /// Work-conserving: "wait" is offered only when no placement is valid (the platform never idles
    /// capacity an invocation could use). Off in DeepRM mode, where holding a job back is the point; the
    /// default for serverless training.
    #[serde(default)]
    pub work_conserving: bool,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            max_pending: 16,
            max_running: 32,
            work_conserving: false,
        }
    }
}

impl StateConfig {
    /// Checks the window.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a zero or huge window.
    pub fn validate(&self) -> Result<()> {
        if !(1..=1024).contains(&self.max_pending) {
            return Err(Error::InvalidConfig {
                field: "max_pending",
                reason: format!("{} not in 1..=1024", self.max_pending),
            });
        }
        if self.max_running > 65_536 {
            return Err(Error::InvalidConfig {
                field: "max_running",
                reason: format!("{} exceeds 65536", self.max_running),
            });
        }
        Ok(())
    }
}

/// One decision's graph and where its action choices sit in it.
#[derive(Debug, Clone)]
pub struct StateGraph {
    /// The graph.
    pub graph: Graph,
    /// The global node.
    pub global_node: u32,
    /// `Observation::pending` index of each window slot, increasing.
    pub pending_idx: Vec<usize>,
    /// Node of each window slot.
    pub pending_nodes: Vec<u32>,
    /// Node of each machine, in `Observation::machines` order.
    pub machine_nodes: Vec<u32>,
    /// `valid[slot * n_machines + m]`: placing window slot `slot` on machine `m` can be carried out now.
    pub valid: Vec<bool>,
    /// True when "wait" is a choice here (always, unless the window is work-conserving and some
    /// placement is valid).
    pub wait_allowed: bool,
}

impl StateGraph {
    /// Machines in the action space.
    pub fn n_machines(&self) -> usize {
        self.machine_nodes.len()
    }

    /// Pending invocations in the action space.
    pub fn n_pending(&self) -> usize {
        self.pending_nodes.len()
    }

    /// True when some placement is valid (otherwise "wait" is the only choice).
    pub fn has_choice(&self) -> bool {
        self.valid.iter().any(|&v| v)
    }
}

/// DeepRM mode: the earliest step offset within the horizon at which pending `p` fits machine `m` for its
/// whole length (the environment places it there), or `None`: the environment's own rule,
/// [`cluster::earliest_start`] through [`Observation::earliest_start`].
pub fn earliest_start(obs: &Observation, pending_idx: usize, machine_idx: usize) -> Option<usize> {
    obs.earliest_start(pending_idx, machine_idx)
}

/// True when the environment carries out `Place { pending_idx, machine_idx }` now: DeepRM mode, the job
/// fits somewhere within the horizon (it is then reserved at the earliest such step); serverless mode,
/// [`Observation::fits_now`].
pub fn is_valid_placement(obs: &Observation, pending_idx: usize, machine_idx: usize) -> bool {
    match obs.mode {
        Mode::DeepRm => earliest_start(obs, pending_idx, machine_idx).is_some(),
        Mode::Serverless => obs.fits_now(pending_idx, machine_idx),
    }
}

/// The pending invocations in the window (indices into `Observation::pending`, increasing): all of them
/// when they fit; otherwise the oldest half of the window and, for the other half, the shortest by
/// duration estimate among the rest, so a long queue does not hide its short invocations (a window of
/// only the oldest makes any policy FCFS-like: SJF, which sees the whole queue, is 25x better than FCFS
/// on the serverless synthetic workload at load 1).
pub fn select_window(obs: &Observation, max_pending: usize) -> Vec<usize> {
    let n = obs.pending.len();
    if n <= max_pending {
        return (0..n).collect();
    }
    let oldest = max_pending.div_ceil(2);
    let mut rest: Vec<usize> = (oldest..n).collect();
    rest.sort_by_key(|&i| (obs.pending[i].duration_estimate, i));
    rest.truncate(max_pending - oldest);
    let mut window: Vec<usize> = (0..oldest).chain(rest).collect();
    window.sort_unstable();
    window
}

/// Arrivals per second so far, from the observation alone: both environments number invocations in
/// arrival order from 0, so `largest id in the system + 1 + backlog` arrivals happened by `now`. The
/// load the policy faces, which one snapshot does not otherwise show (a lone long job on an idle
/// machine calls for placing it at low load and perhaps for holding it back at high load).
pub fn arrival_rate(obs: &Observation) -> f64 {
    let max_id = obs
        .pending
        .iter()
        .map(|p| p.invocation_id)
        .chain(obs.running.iter().map(|r| r.invocation_id))
        .max();
    let now_s = obs.now.as_us() as f64 / 1e6;
    match max_id {
        Some(id) if now_s > 0.0 => (id as f64 + 1.0 + obs.n_backlog as f64) / now_s.max(1.0),
        _ => 0.0,
    }
}

/// The divisor that turns resource `r` into slots (1 when the observation has none).
fn resource_scale(obs: &Observation, r: usize) -> f64 {
    let s = obs.resource_scale.get(r);
    if s > 0.0 { s } else { 1.0 }
}

/// The linear time scale of the features: DeepRM's horizon in seconds, serverless a minute.
fn time_scale_s(obs: &Observation) -> f64 {
    match obs.mode {
        Mode::DeepRm => obs
            .machines
            .first()
            .map_or(20.0, |m| m.free_profile.len().max(1) as f64),
        Mode::Serverless => 60.0,
    }
}

/// `ln(1 + x) / ln(1 + scale)`: compresses times and counts to about [0, 1] at `scale`.
fn logn(x: f64, scale: f64) -> f32 {
    ((1.0 + x.max(0.0)).ln() / (1.0 + scale).ln()) as f32
}

/// Builds [`StateGraph`]s, reusing its buffers between decisions.
#[derive(Debug, Clone, Default)]
pub struct GraphStateBuilder {
    config: StateConfig,
    features: Vec<f32>,
    edges: Vec<Edge>,
    order: Vec<usize>,
}

const T_GLOBAL: usize = 0;
const T_MACHINE: usize = 1;
const T_PENDING: usize = 2;
const T_RUNNING: usize = 3;
const T_FUNCTION: usize = 4;
/// DeepRM horizon bins (start offsets) pooled per resource.
const HORIZON_BINS: [usize; 7] = [0, 1, 2, 4, 8, 16, usize::MAX];

/// Mean free amount of resource `r` over horizon bin `b` of `m`'s look-ahead (DeepRM), or `None` when
/// the bin is empty (serverless machines have no look-ahead).
fn horizon_bin_mean(m: &cluster::MachineView, r: usize, b: usize) -> Option<f64> {
    let lo = HORIZON_BINS[b].min(m.free_profile.len());
    let hi = HORIZON_BINS[b + 1].min(m.free_profile.len());
    (hi > lo)
        .then(|| m.free_profile[lo..hi].iter().map(|f| f.get(r)).sum::<f64>() / (hi - lo) as f64)
}

impl GraphStateBuilder {
    /// A builder with this window.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the window is out of range.
    pub fn new(config: StateConfig) -> Result<GraphStateBuilder> {
        config.validate()?;
        Ok(GraphStateBuilder {
            config,
            ..GraphStateBuilder::default()
        })
    }

    /// The window.
    pub fn config(&self) -> &StateConfig {
        &self.config
    }

    fn node(&mut self, kind: usize) -> usize {
        let idx = self.features.len() / N_STATE_FEATURES;
        self.features.extend([0.0; N_STATE_FEATURES]);
        self.features[idx * N_STATE_FEATURES + kind] = 1.0;
        idx
    }

    fn set(&mut self, node: usize, feature: usize, value: f32) {
        self.features[node * N_STATE_FEATURES + feature] =
            if value.is_finite() { value } else { 0.0 };
    }

    fn both(&mut self, a: usize, b: usize, weight: f32, kind: EdgeKind) {
        for (s, d) in [(a, b), (b, a)] {
            self.edges.push(Edge {
                src_idx: s as u32,
                dst_idx: d as u32,
                weight,
                edge_type: kind as u8,
            });
        }
    }

    /// The graph state of `obs`.
    ///
    /// # Errors
    /// [`Error::InvalidGraph`] only if the observation holds non-finite numbers that survive the
    /// feature transforms (not produced by the environments).
    pub fn build(&mut self, obs: &Observation) -> Result<StateGraph> {
        self.features.clear();
        self.edges.clear();
        let n_res = obs.resource_scale.len().min(2);
        let scale = |r: usize| resource_scale(obs, r);
        let horizon_s = time_scale_s(obs);
        let now = obs.now;
        let secs = |a: des::SimTime, b: des::SimTime| (a.as_us() as f64 - b.as_us() as f64) / 1e6;

        // Global node.
        let global = self.node(T_GLOBAL);
        let cap = obs
            .pending_capacity
            .unwrap_or(self.config.max_pending)
            .max(1) as f64;
        self.set(global, 5, (obs.pending.len() as f64 / cap) as f32);
        self.set(global, 6, logn(obs.n_backlog as f64, 60.0));
        for r in 0..n_res {
            let (mut used, mut total) = (0.0, 0.0);
            for m in &obs.machines {
                used += m.capacity.get(r) - m.free.get(r);
                total += m.capacity.get(r);
            }
            self.set(
                global,
                7 + r,
                if total > 0.0 {
                    (used / total) as f32
                } else {
                    0.0
                },
            );
        }
        self.set(global, 9, logn(obs.running.len() as f64, 64.0));
        self.set(global, 10, logn(obs.pending.len() as f64, 64.0));
        self.set(global, 11, logn(arrival_rate(obs), 10.0));

        // Machines.
        let mut machine_nodes = Vec::with_capacity(obs.machines.len());
        for m in &obs.machines {
            let v = self.node(T_MACHINE);
            machine_nodes.push(v as u32);
            for r in 0..n_res {
                let c = m.capacity.get(r);
                self.set(v, 5 + r, (c / scale(r) / 10.0) as f32);
                self.set(
                    v,
                    7 + r,
                    if c > 0.0 {
                        (m.free.get(r) / c) as f32
                    } else {
                        0.0
                    },
                );
                if !m.free_profile.is_empty() && c > 0.0 {
                    for b in 0..6 {
                        if let Some(mean) = horizon_bin_mean(m, r, b) {
                            self.set(v, 9 + 6 * r + b, (mean / c) as f32);
                        }
                    }
                }
            }
            if obs.mode == Mode::Serverless {
                let mem = m.capacity.get(1);
                self.set(
                    v,
                    9,
                    if mem > 0.0 {
                        (m.idle_memory_mb / mem) as f32
                    } else {
                        0.0
                    },
                );
                self.set(v, 10, m.speed as f32);
            }
        }

        // Functions.
        let function_base = self.features.len() / N_STATE_FEATURES;
        for f in &obs.functions {
            let v = self.node(T_FUNCTION);
            self.set(v, 5, (f.cpu_millicores / scale(0) / 10.0) as f32);
            self.set(
                v,
                6,
                (f.memory_mb / scale(1.min(n_res.saturating_sub(1))) / 10.0) as f32,
            );
            self.set(v, 9, logn(f.cold_start_s_mean, 10.0));
            self.set(v, 10, logn(f.duration_s_p50, horizon_s));
            self.set(v, 11, logn(f.slo_s, horizon_s));
            self.set(v, 12, logn(f64::from(f.n_warm_idle), 16.0));
            self.set(v, 13, logn(f64::from(f.n_busy), 16.0));
            let rate = if now.as_us() > 0 {
                f.n_arrivals as f64 / (now.as_us() as f64 / 1e6)
            } else {
                0.0
            };
            self.set(v, 14, logn(rate, 10.0));
        }
        let fnode = |fi: u32| -> Option<usize> {
            ((fi as usize) < obs.functions.len()).then_some(function_base + fi as usize)
        };
        for &(a, b) in &obs.function_edges {
            if let (Some(x), Some(y)) = (fnode(a), fnode(b)) {
                self.edges.push(Edge {
                    src_idx: x as u32,
                    dst_idx: y as u32,
                    weight: 1.0,
                    edge_type: EdgeKind::Dependency as u8,
                });
            }
        }

        // Pending invocations in the window.
        let window = select_window(obs, self.config.max_pending);
        let n_pending = window.len();
        let n_machines = obs.machines.len();
        let mut pending_nodes = Vec::with_capacity(n_pending);
        let mut valid = vec![false; n_pending * n_machines];
        for (i, &pi) in window.iter().enumerate() {
            let p = &obs.pending[pi];
            let v = self.node(T_PENDING);
            pending_nodes.push(v as u32);
            for r in 0..n_res {
                self.set(v, 5 + r, (p.demand.get(r) / scale(r) / 10.0) as f32);
            }
            let dur = p.duration_estimate.as_us() as f64 / 1e6;
            let wait = secs(now, p.ready).max(0.0);
            self.set(v, 9, (dur / horizon_s) as f32);
            self.set(v, 10, logn(dur, horizon_s));
            self.set(v, 11, (wait / horizon_s).min(4.0) as f32);
            self.set(v, 12, logn(wait, horizon_s));
            let mut earliest = None::<usize>;
            let mut n_valid = 0;
            let mut warm = false;
            for m in 0..n_machines {
                let ok = is_valid_placement(obs, pi, m);
                valid[i * n_machines + m] = ok;
                if ok {
                    n_valid += 1;
                    self.both(v, machine_nodes[m] as usize, 1.0, EdgeKind::Candidate);
                }
                if obs.mode == Mode::DeepRm
                    && let Some(t) = earliest_start(obs, pi, m)
                {
                    earliest = Some(earliest.map_or(t, |e| e.min(t)));
                }
                warm |= obs.warm_idle(m, p.function_idx) > 0;
            }
            let start = match obs.mode {
                Mode::DeepRm => earliest.map_or(1.0, |t| t as f64 / horizon_s),
                Mode::Serverless => {
                    if n_valid > 0 {
                        0.0
                    } else {
                        1.0
                    }
                }
            };
            self.set(v, 13, start as f32);
            self.set(v, 14, (n_valid as f64 / n_machines.max(1) as f64) as f32);
            if let Some(slo) = p.slo {
                let slo_s = slo.as_us() as f64 / 1e6;
                self.set(
                    v,
                    15,
                    ((slo_s - wait - dur) / slo_s.max(1e-3)).clamp(-4.0, 1.0) as f32,
                );
            }
            self.set(v, 16, if warm { 1.0 } else { 0.0 });
            self.set(v, 17, (i as f64 / cap) as f32);
            if let Some(f) = fnode(p.function_idx) {
                self.both(v, f, 1.0, EdgeKind::Membership);
            }
        }
        // Temporal edges: consecutive pending invocations of one function by ready time.
        self.order.clear();
        self.order.extend(0..n_pending);
        let slot = |k: usize| &obs.pending[window[k]];
        self.order
            .sort_by_key(|&k| (slot(k).function_idx, slot(k).ready, k));
        for k in 1..self.order.len() {
            let (a, b) = (self.order[k - 1], self.order[k]);
            if slot(a).function_idx == slot(b).function_idx {
                let gap = secs(slot(b).ready, slot(a).ready).abs();
                let w = (-gap / 10.0).exp() as f32;
                self.both(
                    pending_nodes[a] as usize,
                    pending_nodes[b] as usize,
                    w,
                    EdgeKind::Temporal,
                );
            }
        }

        // Running invocations: the latest started `max_running`.
        self.order.clear();
        self.order.extend(0..obs.running.len());
        self.order
            .sort_by_key(|&i| (std::cmp::Reverse(obs.running[i].start), i));
        self.order.truncate(self.config.max_running);
        self.order
            .sort_by_key(|&i| (obs.running[i].machine_idx, obs.running[i].start, i));
        let mut prev: Option<(usize, usize)> = None;
        for k in 0..self.order.len() {
            let run = &obs.running[self.order[k]];
            let v = self.node(T_RUNNING);
            for r in 0..n_res {
                self.set(v, 5 + r, (run.demand.get(r) / scale(r) / 10.0) as f32);
            }
            let left = secs(run.expected_finish, now).max(0.0);
            let ran = secs(now, run.start).max(0.0);
            self.set(v, 9, (left / horizon_s).min(4.0) as f32);
            self.set(v, 10, logn(left, horizon_s));
            self.set(v, 11, (ran / horizon_s).min(4.0) as f32);
            self.set(v, 12, logn(ran, horizon_s));
            if let Some(&mn) = machine_nodes.get(run.machine_idx) {
                let m = &obs.machines[run.machine_idx];
                let share = (0..n_res)
                    .map(|r| {
                        let c = m.capacity.get(r);
                        if c > 0.0 { run.demand.get(r) / c } else { 0.0 }
                    })
                    .fold(0.0, f64::max);
                self.both(v, mn as usize, share as f32, EdgeKind::Allocation);
            }
            if let Some(f) = fnode(run.function_idx) {
                self.both(v, f, 1.0, EdgeKind::Membership);
            }
            if let Some((pm, pv)) = prev
                && pm == run.machine_idx
            {
                self.both(pv, v, 1.0, EdgeKind::ResourceSharing);
            }
            prev = Some((run.machine_idx, v));
        }

        // Summary edges into the global node.
        let n_nodes = self.features.len() / N_STATE_FEATURES;
        let w = 1.0 / (n_nodes.max(2) - 1) as f32;
        for v in 1..n_nodes {
            self.edges.push(Edge {
                src_idx: v as u32,
                dst_idx: global as u32,
                weight: w,
                edge_type: EdgeKind::Summary as u8,
            });
        }
        let graph = Graph::new(
            n_nodes,
            N_STATE_FEATURES,
            self.features.clone(),
            &self.edges,
        )?;
        let wait_allowed = !(self.config.work_conserving && valid.iter().any(|&v| v));
        Ok(StateGraph {
            graph,
            global_node: global as u32,
            pending_idx: window,
            pending_nodes,
            machine_nodes,
            valid,
            wait_allowed,
        })
    }
}

/// The flat (non-graph) state of the DQN baseline: per machine its capacity share free now and over the
/// horizon bins; per pending slot (up to `max_pending`) its demand, duration, waiting time, earliest
/// start and validity per machine; backlog and running counts; arrival rate so far. Length [`flat_len`].
pub fn flat_state(obs: &Observation, max_pending: usize, n_machines: usize, out: &mut Vec<f32>) {
    out.clear();
    let n_res = 2usize;
    let scale = |r: usize| resource_scale(obs, r);
    let horizon_s = time_scale_s(obs);
    for mi in 0..n_machines {
        match obs.machines.get(mi) {
            Some(m) => {
                for r in 0..n_res {
                    let c = m.capacity.get(r);
                    let frac = |x: f64| if c > 0.0 { (x / c) as f32 } else { 0.0 };
                    out.push(frac(m.free.get(r)));
                    for b in 0..6 {
                        out.push(horizon_bin_mean(m, r, b).map_or(0.0, frac));
                    }
                }
                let mem = m.capacity.get(1);
                out.push(if mem > 0.0 {
                    (m.idle_memory_mb / mem) as f32
                } else {
                    0.0
                });
            }
            None => out.extend(std::iter::repeat_n(0.0, n_res * 7 + 1)),
        }
    }
    for i in 0..max_pending {
        match obs.pending.get(i) {
            Some(p) => {
                out.push(1.0);
                for r in 0..n_res {
                    out.push((p.demand.get(r) / scale(r) / 10.0) as f32);
                }
                let dur = p.duration_estimate.as_us() as f64 / 1e6;
                let wait = ((obs.now.as_us() as f64 - p.ready.as_us() as f64) / 1e6).max(0.0);
                out.push((dur / horizon_s) as f32);
                out.push(logn(wait, horizon_s));
                for m in 0..n_machines {
                    out.push(match obs.mode {
                        Mode::DeepRm => earliest_start(obs, i, m)
                            .map_or(-1.0, |t| 1.0 - t as f32 / horizon_s as f32),
                        Mode::Serverless => {
                            if obs.fits_now(i, m) {
                                if obs.warm_idle(m, p.function_idx) > 0 {
                                    1.0
                                } else {
                                    0.5
                                }
                            } else {
                                -1.0
                            }
                        }
                    });
                }
            }
            None => out.extend(std::iter::repeat_n(0.0, 1 + n_res + 2 + n_machines)),
        }
    }
    out.push(logn(obs.n_backlog as f64, 60.0));
    out.push(logn(obs.running.len() as f64, 64.0));
    out.push(logn(arrival_rate(obs), 10.0));
}

/// Length of [`flat_state`]'s vector.
pub fn flat_len(max_pending: usize, n_machines: usize) -> usize {
    n_machines * (2 * 7 + 1) + max_pending * (1 + 2 + 2 + n_machines) + 3
}
