//! `AllocEnv`: the allocation environment of crate `cluster` (DeepRM's time-stepped mode or the
//! serverless mode) for Python, with the observation encodings the Gymnasium wrapper exposes.
//!
//! Actions are integers: `k * n_machines + m` places the `k`-th visible pending invocation on machine
//! `m`; `n_window * n_machines` waits (DeepRM: `0..n_visible` place a slot's job, `n_visible` waits,
//! DeepRM's own action space). Seeding: `reset(seed)` starts episode 0 of root `seed`; `reset(None)`
//! the next episode of the same root; an episode's job set (DeepRM) or synthetic workload
//! (serverless) comes from `(seed, episode)` alone, so the same seed replays an episode bit for bit.
//!
//! Observations are built into `f32` buffers returned as `bytes` (Python views them with
//! `numpy.frombuffer`; abi3 before Python 3.11 has no buffer protocol for writing into an array):
//! - `flat`: DeepRM mode, DeepRM's image (`environment.py`, `observe`, image representation):
//!   `time_horizon` rows by `n_resources * (n_visible + 1) * res_slots + backlog_width` columns
//!   (machine occupancy per resource, then each visible job's demand block, then the backlog);
//!   serverless mode, a vector of machine, visible-pending and function features.
//! - `graph`: nodes (machines, visible pending invocations, running invocations, functions) with
//!   [`N_NODE_FEATURES`] features each, typed edges (allocation, candidate, membership, dependency)
//!   and an action mask, padded to fixed sizes with masks.

use std::collections::BTreeMap;

use cluster::{
    Action, DeepRmEnv, DeepRmSettings, Environment, Mode, Observation, Policy, RunMetrics,
    ServerlessEnv, ServerlessSettings,
};
use des::{RngStreams, SimRng, SimTime};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use workload::{DeepRmJobSet, Pattern, SyntheticSpec, SyntheticWorkload};

use crate::errors;

/// Features per graph node.
pub const N_NODE_FEATURES: usize = 8;
/// Node types (0 is padding).
const NODE_MACHINE: i64 = 1;
const NODE_PENDING: i64 = 2;
const NODE_RUNNING: i64 = 3;
const NODE_FUNCTION: i64 = 4;
/// Edge types.
const EDGE_ALLOCATION: i64 = 0;
const EDGE_CANDIDATE: i64 = 1;
const EDGE_MEMBERSHIP: i64 = 2;
const EDGE_DEPENDENCY: i64 = 3;

/// The environment's mode and its settings.
#[derive(Clone)]
enum ModeCfg {
    DeepRm {
        settings: DeepRmSettings,
        rate: f64,
        pattern: Pattern,
    },
    Serverless {
        spec: SyntheticSpec,
        keep_alive: String,
        load_scale: f64,
    },
}

/// The allocation environment (see the module docs).
#[pyclass(unsendable, module = "faastune._native")]
pub struct AllocEnv {
    mode: ModeCfg,
    n_window: usize,
    n_machines: usize,
    n_functions: usize,
    max_running: usize,
    env: Option<Box<dyn Environment>>,
    seed: u64,
    episode: u64,
    heuristics: BTreeMap<String, (Box<dyn Policy>, SimRng)>,
}

fn s(t: SimTime) -> f32 {
    t.as_secs_f64() as f32
}

#[pymethods]
impl AllocEnv {
    /// DeepRM mode: DeepRM's settings (defaults: its `run_script.py` load sweep) at `load` (offered
    /// load per resource, converted to a Bernoulli arrival rate) with `pattern` (`steady`, `bursty`,
    /// `periodic`, `mixed`).
    #[staticmethod]
    #[pyo3(signature = (*, load=0.7, pattern="steady", n_resources=2, res_slots=10, time_horizon=20, n_visible=10, backlog_size=60, simu_len=200, episode_max_len=800))]
    #[allow(clippy::too_many_arguments)]
    fn deeprm(
        load: f64,
        pattern: &str,
        n_resources: usize,
        res_slots: u32,
        time_horizon: usize,
        n_visible: usize,
        backlog_size: usize,
        simu_len: usize,
        episode_max_len: usize,
    ) -> PyResult<AllocEnv> {
        let mut settings = DeepRmSettings {
            time_horizon,
            n_visible,
            backlog_size,
            simu_len,
            episode_max_len,
            ..DeepRmSettings::default()
        };
        settings.dist.n_resources = n_resources;
        settings.dist.res_slots = res_slots;
        settings
            .validate()
            .map_err(|e| errors::other("environment", "settings", e))?;
        let rate = settings
            .dist
            .rate_for_load(load)
            .map_err(|e| errors::other("environment", "load", e))?
            .rate;
        let pattern =
            Pattern::parse(pattern).map_err(|e| errors::other("environment", "pattern", e))?;
        let env = AllocEnv {
            n_window: n_visible,
            n_machines: 1,
            n_functions: 0,
            max_running: res_slots as usize,
            mode: ModeCfg::DeepRm {
                settings,
                rate,
                pattern,
            },
            env: None,
            seed: 0,
            episode: 0,
            heuristics: BTreeMap::new(),
        };
        env.build(0, 0)?;
        Ok(env)
    }

    /// Serverless mode: `cluster::default_machines`, a synthetic workload of `n_functions` functions
    /// (`workload::SyntheticWorkload`, `pattern`) at `rate_per_s` over `horizon_s` seconds scaled by
    /// `load`, and the `keep_alive` policy (`fixed`, `histogram`); `window` pending invocations are
    /// visible to the action space, at most `max_running` running ones to the graph.
    #[staticmethod]
    #[pyo3(signature = (*, n_functions=12, rate_per_s=4.0, horizon_s=600.0, pattern="mixed", load=1.0, keep_alive="fixed", window=16, max_running=128))]
    #[allow(clippy::too_many_arguments)]
    fn serverless(
        n_functions: usize,
        rate_per_s: f64,
        horizon_s: f64,
        pattern: &str,
        load: f64,
        keep_alive: &str,
        window: usize,
        max_running: usize,
    ) -> PyResult<AllocEnv> {
        let pattern =
            Pattern::parse(pattern).map_err(|e| errors::other("environment", "pattern", e))?;
        if !(1..=1024).contains(&window) {
            return Err(errors::option("window", format!("{window}: need 1..=1024")));
        }
        if !(1..=65_536).contains(&max_running) {
            return Err(errors::option(
                "max_running",
                format!("{max_running}: need 1..=65536"),
            ));
        }
        if !(1..=1024).contains(&n_functions) {
            return Err(errors::option(
                "n_functions",
                format!("{n_functions}: need 1..=1024"),
            ));
        }
        let env = AllocEnv {
            n_window: window,
            n_machines: ServerlessSettings::default().machines.len(),
            n_functions,
            max_running,
            mode: ModeCfg::Serverless {
                spec: SyntheticSpec {
                    pattern,
                    n_functions,
                    rate_per_s,
                    horizon_s,
                },
                keep_alive: keep_alive.to_owned(),
                load_scale: load,
            },
            env: None,
            seed: 0,
            episode: 0,
            heuristics: BTreeMap::new(),
        };
        env.build(0, 0)?;
        Ok(env)
    }

    /// `deeprm` or `serverless`.
    #[getter]
    fn mode(&self) -> &'static str {
        match self.mode {
            ModeCfg::DeepRm { .. } => "deeprm",
            ModeCfg::Serverless { .. } => "serverless",
        }
    }

    /// DeepRM mode: the Bernoulli arrival probability per step the load gives (`None` in serverless
    /// mode).
    #[getter]
    fn arrival_rate(&self) -> Option<f64> {
        match &self.mode {
            ModeCfg::DeepRm { rate, .. } => Some(*rate),
            ModeCfg::Serverless { .. } => None,
        }
    }

    /// Visible pending invocations (DeepRM: `n_visible`).
    #[getter]
    fn n_window(&self) -> usize {
        self.n_window
    }

    /// Machines.
    #[getter]
    fn n_machines(&self) -> usize {
        self.n_machines
    }

    /// Functions (DeepRM: 0).
    #[getter]
    fn n_functions(&self) -> usize {
        self.n_functions
    }

    /// Actions: `n_window * n_machines + 1` (the last waits).
    #[getter]
    fn n_actions(&self) -> usize {
        self.n_window * self.n_machines + 1
    }

    /// The flat observation's shape.
    #[getter]
    fn flat_shape(&self) -> Vec<usize> {
        match &self.mode {
            ModeCfg::DeepRm { settings, .. } => {
                let (h, w) = deeprm_image_size(settings);
                vec![h, w]
            }
            ModeCfg::Serverless { .. } => vec![
                self.n_machines * 6
                    + self.n_window * (5 + self.n_machines)
                    + self.n_functions * 4
                    + 3,
            ],
        }
    }

    /// Node capacity of the graph observation.
    #[getter]
    fn max_nodes(&self) -> usize {
        self.n_machines + self.n_window + self.max_running + self.n_functions
    }

    /// Edge capacity of the graph observation.
    #[getter]
    fn max_edges(&self) -> usize {
        self.max_running
            + self.n_window * self.n_machines
            + self.n_window
            + self.max_running
            + self.n_functions * self.n_functions
    }

    /// Starts an episode: with `seed`, episode 0 of that root; without, the next episode.
    #[pyo3(signature = (seed=None))]
    fn reset(&mut self, seed: Option<u64>) -> PyResult<()> {
        match seed {
            Some(s) => {
                self.seed = s;
                self.episode = 0;
            }
            None => self.episode += 1,
        }
        self.env = Some(self.build(self.seed, self.episode)?);
        self.heuristics.clear();
        Ok(())
    }

    /// Applies action `action`; returns `(reward, done, invalid)`.
    fn step(&mut self, action: i64) -> PyResult<(f64, bool, bool)> {
        let n_actions = self.n_actions() as i64;
        if !(0..n_actions).contains(&action) {
            return Err(errors::option(
                "action",
                format!("{action}: expected 0..{n_actions}"),
            ));
        }
        let a = self.decode(action as usize);
        let env = self.env_mut()?;
        if env.is_done() {
            return Err(errors::option(
                "action",
                "the episode is over: call reset() first",
            ));
        }
        let out = env
            .step(a)
            .map_err(|e| errors::other("environment", "step", e))?;
        Ok((out.reward, out.done, out.invalid))
    }

    /// True when the episode is over.
    fn is_done(&self) -> PyResult<bool> {
        Ok(self.env_ref()?.is_done())
    }

    /// The flat observation as `f32` bytes (shape `flat_shape`).
    fn flat<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let obs = self.env_ref()?.observe();
        Ok(PyBytes::new(py, &self.flat_bytes(obs)))
    }

    /// [`AllocEnv::step`], then the flat observation and the action mask, in one call (the
    /// Gymnasium wrapper's step): `(flat, reward, done, invalid, action_mask)`.
    #[allow(clippy::type_complexity)]
    fn step_flat<'py>(
        &mut self,
        py: Python<'py>,
        action: i64,
    ) -> PyResult<(Bound<'py, PyBytes>, f64, bool, bool, Bound<'py, PyBytes>)> {
        let (reward, done, invalid) = self.step(action)?;
        let obs = self.env_ref()?.observe();
        Ok((
            PyBytes::new(py, &self.flat_bytes(obs)),
            reward,
            done,
            invalid,
            PyBytes::new(py, &self.mask_of(obs)),
        ))
    }

    /// The graph observation: a dict of bytes (`node_features` f32 `max_nodes x 8`, `node_type`,
    /// `node_mask`, `edge_index` i64 `2 x max_edges`, `edge_type`, `edge_mask`, `action_mask` i8),
    /// each padded to its capacity.
    fn graph<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let obs = self.env_ref()?.observe();
        let g = self.graph_of(obs);
        let d = PyDict::new(py);
        d.set_item("node_features", PyBytes::new(py, &f32_bytes(&g.features)))?;
        d.set_item("node_type", PyBytes::new(py, &i64_bytes(&g.node_type)))?;
        d.set_item("node_mask", PyBytes::new(py, &g.node_mask))?;
        d.set_item("edge_index", PyBytes::new(py, &i64_bytes(&g.edge_index)))?;
        d.set_item("edge_type", PyBytes::new(py, &i64_bytes(&g.edge_type)))?;
        d.set_item("edge_mask", PyBytes::new(py, &g.edge_mask))?;
        d.set_item("action_mask", PyBytes::new(py, &self.mask_of(obs)))?;
        Ok(d)
    }

    /// The valid actions as `i8` bytes (1 valid): placements that fit now, and wait.
    fn action_mask<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let obs = self.env_ref()?.observe();
        Ok(PyBytes::new(py, &self.mask_of(obs)))
    }

    /// The action the heuristic `name` (`fcfs`, `sjf`, `packer`, `tetris`, `random`; crate
    /// `scheduler`) takes now, with its own seeded stream `policy` of this episode's seed. A choice
    /// outside the visible window waits.
    fn heuristic_action(&mut self, name: &str) -> PyResult<i64> {
        let seed = self.seed;
        let episode = self.episode;
        if !self.heuristics.contains_key(name) {
            let p = scheduler::policy_by_name(name)
                .map_err(|e| errors::other("environment", "policy", e))?;
            let rng = RngStreams::new(des::stream_seed(seed, "policy", episode)).stream("policy");
            self.heuristics.insert(name.to_owned(), (p, rng));
        }
        let env = self.env.as_ref().ok_or_else(not_reset)?;
        let obs = env.observe();
        let wait = (self.n_window * self.n_machines) as i64;
        if obs.pending.is_empty() {
            return Ok(wait);
        }
        let (p, rng) = self.heuristics.get_mut(name).ok_or_else(not_reset)?;
        Ok(match p.decide(obs, rng) {
            Action::Place {
                pending_idx,
                machine_idx,
            } if pending_idx < self.n_window && machine_idx < self.n_machines => {
                (pending_idx * self.n_machines + machine_idx) as i64
            }
            _ => wait,
        })
    }

    /// Runs the rest of the episode in Rust under heuristic `name` (the loop of
    /// `cluster::run_episode`); with `observe` (`flat` or `graph`) it also builds that observation and
    /// the action mask at every step, as the Python loop does. Returns the final metrics: the pure-Rust
    /// loop the Python loop is measured against.
    #[pyo3(signature = (name, observe=None))]
    fn run_heuristic(
        &mut self,
        py: Python<'_>,
        name: &str,
        observe: Option<&str>,
    ) -> PyResult<Py<PyDict>> {
        let mut p = scheduler::policy_by_name(name)
            .map_err(|e| errors::other("environment", "policy", e))?;
        let mut rng =
            RngStreams::new(des::stream_seed(self.seed, "policy", self.episode)).stream("policy");
        let (flat, graph) = match observe {
            None => (false, false),
            Some("flat") => (true, false),
            Some("graph") => (false, true),
            Some(other) => {
                return Err(errors::option(
                    "observe",
                    format!("{other:?}: expected flat or graph"),
                ));
            }
        };
        let mut env = self.env.take().ok_or_else(not_reset)?;
        p.reset();
        let mut result = Ok(());
        while !env.is_done() {
            let obs = env.observe();
            if flat {
                std::hint::black_box((self.flat_bytes(obs), self.mask_of(obs)));
            }
            if graph {
                std::hint::black_box((self.graph_of(obs).features, self.mask_of(obs)));
            }
            let action = if obs.pending.is_empty() {
                Action::Wait
            } else {
                p.decide(obs, &mut rng)
            };
            if let Err(e) = env.step(action) {
                result = Err(errors::other("environment", "run", e));
                break;
            }
        }
        let m = env.metrics();
        self.env = Some(env);
        result?;
        Ok(metrics_dict(py, &m)?.unbind())
    }

    /// Metrics so far (final once done): counts, slowdown, utilisation, cold starts, cost, reward.
    fn metrics(&self, py: Python<'_>) -> PyResult<Py<PyDict>> {
        Ok(metrics_dict(py, &self.env_ref()?.metrics())?.unbind())
    }

    /// Time now (seconds; DeepRM: steps), pending and backlog counts.
    fn info(&self, py: Python<'_>) -> PyResult<Py<PyDict>> {
        let obs = self.env_ref()?.observe();
        let d = PyDict::new(py);
        d.set_item("now_s", obs.now.as_secs_f64())?;
        d.set_item("n_pending", obs.pending.len())?;
        d.set_item("n_backlog", obs.n_backlog)?;
        d.set_item("n_running", obs.running.len())?;
        d.set_item("episode", self.episode)?;
        Ok(d.unbind())
    }
}

fn not_reset() -> PyErr {
    errors::option("environment", "call reset() first")
}

impl AllocEnv {
    fn env_ref(&self) -> PyResult<&dyn Environment> {
        self.env.as_deref().ok_or_else(not_reset)
    }

    fn env_mut(&mut self) -> PyResult<&mut Box<dyn Environment>> {
        self.env.as_mut().ok_or_else(not_reset)
    }

    fn decode(&self, action: usize) -> Action {
        if action >= self.n_window * self.n_machines {
            Action::Wait
        } else {
            Action::Place {
                pending_idx: action / self.n_machines,
                machine_idx: action % self.n_machines,
            }
        }
    }

    /// The environment of episode `episode` of root `seed`.
    fn build(&self, seed: u64, episode: u64) -> PyResult<Box<dyn Environment>> {
        let sub = des::stream_seed(seed, "python_episodes", 0);
        match &self.mode {
            ModeCfg::DeepRm {
                settings,
                rate,
                pattern,
            } => {
                let set = DeepRmJobSet::generate(
                    &settings.dist,
                    *rate,
                    settings.simu_len,
                    *pattern,
                    sub,
                    episode,
                )
                .map_err(|e| errors::other("environment", "job set", e))?;
                let env = DeepRmEnv::new(settings.clone(), &set)
                    .map_err(|e| errors::other("environment", "settings", e))?;
                Ok(Box::new(env))
            }
            ModeCfg::Serverless {
                spec,
                keep_alive,
                load_scale,
            } => {
                let ep_seed = des::stream_seed(sub, "serverless_episode", episode);
                let w = SyntheticWorkload::generate(spec, ep_seed)
                    .map_err(|e| errors::other("environment", "workload", e))?;
                let invocations = w
                    .scaled(ep_seed, *load_scale)
                    .map_err(|e| errors::other("environment", "load", e))?;
                let settings = ServerlessSettings::default();
                let functions: Vec<_> = w
                    .functions
                    .iter()
                    .map(|p| settings.function_from_profile(p))
                    .collect();
                let keep = scheduler::keep_alive_by_name(keep_alive, functions.len())
                    .map_err(|e| errors::other("environment", "keep_alive", e))?;
                let env = ServerlessEnv::new(
                    settings,
                    functions,
                    Box::new(invocations.into_iter()),
                    &BTreeMap::new(),
                    keep,
                    ep_seed,
                )
                .map_err(|e| errors::other("environment", "settings", e))?;
                Ok(Box::new(env))
            }
        }
    }

    fn mask_of(&self, obs: &Observation) -> Vec<u8> {
        let mut mask = vec![0u8; self.n_actions()];
        for k in 0..obs.pending.len().min(self.n_window) {
            for m in 0..self.n_machines {
                if obs.fits_now(k, m) {
                    mask[k * self.n_machines + m] = 1;
                }
            }
        }
        mask[self.n_window * self.n_machines] = 1;
        mask
    }

    /// The flat observation as little-endian `f32` bytes.
    fn flat_bytes(&self, obs: &Observation) -> Vec<u8> {
        match &self.mode {
            ModeCfg::DeepRm { settings, .. } => deeprm_image(settings, obs),
            ModeCfg::Serverless { .. } => f32_bytes(&self.serverless_flat(obs)),
        }
    }

    fn serverless_flat(&self, obs: &Observation) -> Vec<f32> {
        let mut v = Vec::with_capacity(self.flat_shape()[0]);
        let sc = &obs.resource_scale;
        for m in &obs.machines {
            v.extend([
                (m.capacity.get(0) / sc.get(0)) as f32,
                (m.capacity.get(1) / sc.get(1)) as f32,
                (m.free.get(0) / sc.get(0)) as f32,
                (m.free.get(1) / sc.get(1)) as f32,
                (m.idle_memory_mb / sc.get(1)) as f32,
                m.speed as f32,
            ]);
        }
        for k in 0..self.n_window {
            match obs.pending.get(k) {
                Some(p) => {
                    v.extend([
                        1.0,
                        (p.demand.get(0) / sc.get(0)) as f32,
                        (p.demand.get(1) / sc.get(1)) as f32,
                        s(p.duration_estimate),
                        s(obs.now.saturating_sub(p.ready)),
                    ]);
                    for m in 0..self.n_machines {
                        v.push(obs.warm_idle(m, p.function_idx) as f32);
                    }
                }
                None => v.extend(std::iter::repeat_n(0.0, 5 + self.n_machines)),
            }
        }
        for f in 0..self.n_functions {
            match obs.functions.get(f) {
                Some(fv) => v.extend([
                    fv.n_warm_idle as f32,
                    fv.n_busy as f32,
                    fv.duration_s_p50 as f32,
                    fv.cold_start_s_mean as f32,
                ]),
                None => v.extend([0.0; 4]),
            }
        }
        v.extend([
            obs.pending.len() as f32,
            obs.n_backlog as f32,
            obs.running.len() as f32,
        ]);
        v
    }

    fn graph_of(&self, obs: &Observation) -> Graph {
        let nm = self.n_machines;
        let (max_n, max_e) = (self.max_nodes(), self.max_edges());
        let mut g = Graph {
            features: vec![0.0; max_n * N_NODE_FEATURES],
            node_type: vec![0; max_n],
            node_mask: vec![0; max_n],
            edge_index: vec![0; 2 * max_e],
            edge_type: vec![0; max_e],
            edge_mask: vec![0; max_e],
            n_edges: 0,
            max_edges: max_e,
        };
        let sc = &obs.resource_scale;
        let set = |g: &mut Graph, idx: usize, ty: i64, f: [f32; N_NODE_FEATURES]| {
            g.node_type[idx] = ty;
            g.node_mask[idx] = 1;
            g.features[idx * N_NODE_FEATURES..(idx + 1) * N_NODE_FEATURES].copy_from_slice(&f);
        };
        // Node layout: machines, then the pending window, then running, then functions (fixed
        // offsets, so a pending slot's node index is the same at every step).
        let pend0 = nm;
        let run0 = pend0 + self.n_window;
        let fn0 = run0 + self.max_running;
        for (i, m) in obs.machines.iter().enumerate().take(nm) {
            set(
                &mut g,
                i,
                NODE_MACHINE,
                [
                    (m.capacity.get(0) / sc.get(0)) as f32,
                    (m.capacity.get(1) / sc.get(1)) as f32,
                    (m.free.get(0) / sc.get(0)) as f32,
                    (m.free.get(1) / sc.get(1)) as f32,
                    (m.idle_memory_mb / sc.get(1)) as f32,
                    m.speed as f32,
                    // DeepRM: free share of the look-ahead, per resource.
                    profile_share(&m.free_profile, &m.capacity, 0),
                    profile_share(&m.free_profile, &m.capacity, 1),
                ],
            );
        }
        for (k, p) in obs.pending.iter().enumerate().take(self.n_window) {
            let fits = (0..nm).any(|m| obs.fits_now(k, m));
            set(
                &mut g,
                pend0 + k,
                NODE_PENDING,
                [
                    (p.demand.get(0) / sc.get(0)) as f32,
                    (p.demand.get(1) / sc.get(1)) as f32,
                    s(p.duration_estimate),
                    s(obs.now.saturating_sub(p.ready)),
                    p.slo.map(s).unwrap_or(0.0),
                    f32::from(u8::from(fits)),
                    0.0,
                    0.0,
                ],
            );
            for m in 0..nm {
                if obs.fits_now(k, m) {
                    g.edge(pend0 + k, m, EDGE_CANDIDATE);
                }
            }
            if obs.mode == Mode::Serverless && (p.function_idx as usize) < self.n_functions {
                g.edge(pend0 + k, fn0 + p.function_idx as usize, EDGE_MEMBERSHIP);
            }
        }
        // The running invocations that finish first, when more run than the graph holds.
        let mut running: Vec<&cluster::RunningView> = obs.running.iter().collect();
        if running.len() > self.max_running {
            running.sort_by_key(|r| (r.expected_finish, r.invocation_id));
            running.truncate(self.max_running);
        }
        for (j, r) in running.iter().enumerate() {
            set(
                &mut g,
                run0 + j,
                NODE_RUNNING,
                [
                    (r.demand.get(0) / sc.get(0)) as f32,
                    (r.demand.get(1) / sc.get(1)) as f32,
                    s(obs.now.saturating_sub(r.start)),
                    s(r.expected_finish.saturating_sub(obs.now)),
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                ],
            );
            if r.machine_idx < nm {
                g.edge(run0 + j, r.machine_idx, EDGE_ALLOCATION);
            }
            if obs.mode == Mode::Serverless && (r.function_idx as usize) < self.n_functions {
                g.edge(run0 + j, fn0 + r.function_idx as usize, EDGE_MEMBERSHIP);
            }
        }
        for (f, fv) in obs.functions.iter().enumerate().take(self.n_functions) {
            set(
                &mut g,
                fn0 + f,
                NODE_FUNCTION,
                [
                    (fv.memory_mb / 1024.0) as f32,
                    (fv.cpu_millicores / 1000.0) as f32,
                    fv.cold_start_s_mean as f32,
                    fv.duration_s_p50 as f32,
                    fv.slo_s as f32,
                    fv.n_warm_idle as f32,
                    fv.n_busy as f32,
                    (fv.n_arrivals as f64).ln_1p() as f32,
                ],
            );
        }
        for &(a, b) in &obs.function_edges {
            if (a as usize) < self.n_functions && (b as usize) < self.n_functions {
                g.edge(fn0 + a as usize, fn0 + b as usize, EDGE_DEPENDENCY);
            }
        }
        g
    }
}

/// The share of a resource free over the look-ahead (DeepRM), 0 without one.
fn profile_share(profile: &[cluster::Resources], cap: &cluster::Resources, r: usize) -> f32 {
    if profile.is_empty() || r >= cap.len() || cap.get(r) <= 0.0 {
        return 0.0;
    }
    let free: f64 = profile.iter().map(|f| f.get(r)).sum();
    (free / (cap.get(r) * profile.len() as f64)) as f32
}

/// A padded graph observation.
struct Graph {
    features: Vec<f32>,
    node_type: Vec<i64>,
    node_mask: Vec<u8>,
    edge_index: Vec<i64>,
    edge_type: Vec<i64>,
    edge_mask: Vec<u8>,
    n_edges: usize,
    max_edges: usize,
}

impl Graph {
    fn edge(&mut self, src: usize, dst: usize, ty: i64) {
        // Invariant: capacities count every edge kind's maximum, so this never drops an edge.
        assert!(self.n_edges < self.max_edges, "edge capacity");
        let e = self.n_edges;
        self.edge_index[e] = src as i64;
        self.edge_index[self.max_edges + e] = dst as i64;
        self.edge_type[e] = ty;
        self.edge_mask[e] = 1;
        self.n_edges += 1;
    }
}

/// DeepRM's image size: `time_horizon` rows; columns per resource `res_slots` for the machine and
/// each visible slot, then `ceil(backlog_size / time_horizon)` backlog columns.
fn deeprm_image_size(settings: &DeepRmSettings) -> (usize, usize) {
    let h = settings.time_horizon;
    let r = settings.dist.n_resources;
    let slots = settings.dist.res_slots as usize;
    let backlog_w = settings.backlog_size.div_ceil(h).max(1);
    (h, r * (settings.n_visible + 1) * slots + backlog_w)
}

/// DeepRM's image (`environment.py`, `observe`, `image`): per resource the machine's occupied slots
/// at each look-ahead step (1.0; DeepRM paints each job a colour, here occupancy is 1), then each
/// visible job's demand for its length; then the backlog count as filled cells. DeepRM's last column
/// (time since the last new job) is left out: the observation does not carry it.
fn deeprm_image(settings: &DeepRmSettings, obs: &Observation) -> Vec<u8> {
    const ONE: [u8; 4] = 1.0f32.to_le_bytes();
    let (h, w) = deeprm_image_size(settings);
    // Little-endian f32 cells written as bytes (no second pass to convert).
    let mut img = vec![0u8; 4 * h * w];
    let mut fill = |row: usize, col: usize, n: usize| {
        let at = 4 * (row * w + col);
        for cell in img[at..at + 4 * n].chunks_exact_mut(4) {
            cell.copy_from_slice(&ONE);
        }
    };
    let slots = settings.dist.res_slots as usize;
    let n_res = settings.dist.n_resources;
    let mut col = 0;
    let machine = &obs.machines[0];
    for r in 0..n_res {
        for (t, free) in machine.free_profile.iter().enumerate().take(h) {
            let used = (machine.capacity.get(r) - free.get(r)).round().max(0.0) as usize;
            fill(t, col, used.min(slots));
        }
        col += slots;
        for j in 0..settings.n_visible {
            if let Some(p) = obs.pending.get(j) {
                let len = p.duration_estimate.as_us().div_ceil(1_000_000).max(1) as usize;
                let d = p.demand.get(r).round().max(0.0) as usize;
                for t in 0..len.min(h) {
                    fill(t, col, d.min(slots));
                }
            }
            col += slots;
        }
    }
    let backlog_w = w - col;
    let n = obs.n_backlog.min(h * backlog_w);
    for row in 0..n.div_ceil(backlog_w) {
        fill(row, col, (n - row * backlog_w).min(backlog_w));
    }
    img
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn i64_bytes(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn metrics_dict<'py>(py: Python<'py>, m: &RunMetrics) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("n_arrived", m.n_arrived)?;
    d.set_item("n_finished", m.n_finished)?;
    d.set_item("n_pending", m.n_pending)?;
    d.set_item("n_dropped", m.n_dropped)?;
    d.set_item("slowdown_mean", m.slowdown_mean())?;
    d.set_item("slowdown_p95", m.slowdown_p95())?;
    d.set_item("utilization", m.utilization)?;
    d.set_item("n_cold_starts", m.n_cold_starts)?;
    d.set_item("n_warm_starts", m.n_warm_starts)?;
    d.set_item("n_slo_violations", m.n_slo_violations)?;
    d.set_item("cost_usd", m.cost_usd)?;
    d.set_item("makespan_s", m.makespan_s)?;
    d.set_item("n_decisions", m.n_decisions)?;
    d.set_item("n_invalid_actions", m.n_invalid_actions)?;
    d.set_item("total_reward", m.total_reward)?;
    Ok(d)
}
