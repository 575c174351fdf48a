//! The AutoFlow resource agent (seed 000, sections 3.2 and 4.3): an actor-critic over the workflow's
//! function graph that, every control interval, moves each function's memory and provisioned
//! concurrency one rung up, down or keeps them, trained by A3C (the seed's method: asynchronous worker
//! threads, learning rate 0.001, discount 0.99), PPO or REINFORCE from the shared core ([`crate::ac`])
//! on [`platform::autoscale::AutoscaleEnv`] episodes.
//!
//! # Network
//! The node features are the environment's observation rows (one node per function: its monitoring
//! window, settings and the workflow's window broadcast); edges follow the dependencies between
//! functions, in both directions (type 0 forward, type 1 backward), so load upstream and queueing
//! downstream both reach every function. A 2-layer GCN ([`crate::EncoderConfig`], typed edges, skip,
//! layer norm) embeds the nodes; per node two heads (MLP 64 -> 3 logits) give the memory and the
//! concurrency knob; a mean+max readout and an MLP give the value. Functions act independently given
//! the embeddings: `log pi(a) = sum over functions of log pi(memory) + log pi(concurrency)`, so one
//! policy serves workflows of any size.
//!
//! # Determinism
//! Parameters from the seed's `"encoder_init"` stream; actions while training from
//! `("rollout", episode)`; environments from the factory with the episode index. With one worker a
//! run is reproducible bit for bit; A3C with several applies updates in the order workers finish.

use std::path::Path;
use std::sync::Arc;

use burn::module::Module;
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Device, Tensor, TensorData};
use platform::autoscale::{AutoscaleEnv, AutoscaleObs, FunctionAction, Knob};
use serde::{Deserialize, Serialize};

use crate::ac::{self, ActorCritic, Evaluation, PgParams};
use crate::checkpoint::{self, ck_err, params_of, with_params};
use crate::encoder::{Dense, EncoderConfig, EncoderKind, EncoderNet, GraphTensors, device, to_vec};
use crate::error::{Error, Result};
use crate::graph::{Edge, Graph};
use crate::rl::{AdvNorm, Algo};

/// Format tag of autoscaling checkpoints.
pub const AUTOSCALE_FORMAT: &str = "faastune-autoscale/1";

/// Where training episodes come from (recorded with the checkpoint; the caller builds the
/// environments from it, see [`AutoscaleTrainer::new`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoscaleScenario {
    /// Workflow files, one drawn per episode (`episode % len`); `PATH@RATE` runs that workflow at
    /// RATE requests per second instead of `rates_per_s`.
    pub workflows: Vec<String>,
    /// Load patterns (steady, diurnal, bursty, periodic), `(episode / len(workflows)) % len`.
    pub patterns: Vec<String>,
    /// Mean arrival rates, requests per second, `(episode / ...) % len`.
    pub rates_per_s: Vec<f64>,
    /// Episode length, simulated seconds.
    pub horizon_s: f64,
    /// The environment's settings (interval, reward weights, ladders).
    pub settings: platform::autoscale::AutoscaleSettings,
}

impl AutoscaleScenario {
    /// The (workflow, pattern, rate) of episode `episode`: every combination in turn.
    pub fn episode(&self, episode: u64) -> (&str, &str, f64) {
        let nw = self.workflows.len().max(1) as u64;
        let np = self.patterns.len().max(1) as u64;
        let nr = self.rates_per_s.len().max(1) as u64;
        let w = (episode % nw) as usize;
        let p = ((episode / nw) % np) as usize;
        let r = ((episode / (nw * np)) % nr) as usize;
        let rate = self.rates_per_s.get(r).copied().unwrap_or(1.0);
        let (path, rate) = split_rate(self.workflows.get(w).map_or("", String::as_str), rate);
        (path, self.patterns.get(p).map_or("", String::as_str), rate)
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, reason: String| Err(Error::InvalidConfig { field, reason });
        if self.workflows.is_empty() {
            return bad("scenario.workflows", "at least one workflow".into());
        }
        for w in &self.workflows {
            let (_, r) = split_rate(w, 1.0);
            if !(r.is_finite() && r > 0.0) {
                return bad("scenario.workflows", format!("{w}: the rate must be > 0"));
            }
        }
        if self.patterns.is_empty() {
            return bad("scenario.patterns", "at least one load pattern".into());
        }
        if self.rates_per_s.is_empty()
            || self
                .rates_per_s
                .iter()
                .any(|r| !(r.is_finite() && *r > 0.0))
        {
            return bad(
                "scenario.rates_per_s",
                format!("{:?}: at least one, each finite and > 0", self.rates_per_s),
            );
        }
        if !(self.horizon_s.is_finite() && self.horizon_s > 0.0) {
            return bad(
                "scenario.horizon_s",
                format!("{} must be > 0", self.horizon_s),
            );
        }
        self.settings.validate().map_err(|e| Error::InvalidConfig {
            field: "scenario.settings",
            reason: e.to_string(),
        })
    }
}

fn default_keep_prior() -> f64 {
    2.0
}

/// `PATH@RATE` as `(PATH, RATE)`; anything else as `(spec, default_rate)`.
pub fn split_rate(spec: &str, default_rate: f64) -> (&str, f64) {
    match spec.rsplit_once('@') {
        Some((path, r)) => match r.parse::<f64>() {
            Ok(rate) => (path, rate),
            Err(_) => (spec, default_rate),
        },
        None => (spec, default_rate),
    }
}

/// Everything that defines an autoscaling training run (saved with every checkpoint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoscaleConfig {
    /// Algorithm: a3c (the seed's), ppo or reinforce.
    pub algo: Algo,
    /// Episodes.
    pub scenario: AutoscaleScenario,
    /// The GNN encoder over function nodes.
    pub encoder: EncoderConfig,
    /// Width of the heads' hidden layer.
    pub head_hidden: usize,
    /// Initial logit of "keep" over "down" and "up" in both heads (a prior that changes are rare:
    /// 2 gives an untrained policy that keeps a knob with probability 0.79).
    #[serde(default = "default_keep_prior")]
    pub keep_prior: f64,
    /// Iterations to run in total.
    pub iterations: u64,
    /// Episodes per iteration.
    pub episodes_per_iteration: usize,
    /// Worker threads (A3C: asynchronous learners; others: parallel rollouts).
    pub workers: usize,
    /// Root seed.
    pub seed: u64,
    /// Adam's step size.
    pub learning_rate: f64,
    /// Discount per control interval.
    pub gamma: f64,
    /// GAE's lambda (PPO, A3C).
    pub gae_lambda: f64,
    /// Entropy bonus weight.
    pub entropy_coef: f64,
    /// Value loss weight.
    pub value_coef: f64,
    /// Gradient clipping by global norm.
    pub max_grad_norm: f32,
    /// PPO's clip range.
    pub ppo_clip: f64,
    /// PPO's passes over each batch.
    pub ppo_epochs: usize,
    /// PPO's minibatches per pass.
    pub minibatches: usize,
    /// Advantage normalisation.
    pub adv_norm: AdvNorm,
}

impl AutoscaleConfig {
    /// Defaults: the seed's A3C settings (learning rate 0.001, discount 0.99), GAE lambda 0.95,
    /// entropy 0.01, a 2-layer 64-wide GCN with typed edges, 4 episodes per iteration, 2 workers.
    pub fn new(algo: Algo, scenario: AutoscaleScenario, seed: u64) -> AutoscaleConfig {
        let mut encoder = EncoderConfig::new(EncoderKind::Gcn, platform::autoscale::N_FEATURES, 64);
        encoder.typed_edges = true;
        AutoscaleConfig {
            algo,
            scenario,
            encoder,
            head_hidden: 64,
            keep_prior: 2.0,
            iterations: 50,
            episodes_per_iteration: 4,
            workers: 2,
            seed,
            learning_rate: 1e-3,
            gamma: 0.99,
            gae_lambda: 0.95,
            entropy_coef: 0.01,
            value_coef: 0.5,
            max_grad_norm: 1.0,
            ppo_clip: 0.2,
            ppo_epochs: 4,
            minibatches: 4,
            adv_norm: AdvNorm::Batch,
        }
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, reason: String| Err(Error::InvalidConfig { field, reason });
        if self.algo == Algo::Dqn {
            return bad(
                "algo",
                "dqn is not an actor-critic (a3c|ppo|reinforce)".into(),
            );
        }
        self.scenario.validate()?;
        self.encoder.validate()?;
        if self.encoder.n_features_in != platform::autoscale::N_FEATURES {
            return bad(
                "encoder.n_features_in",
                format!(
                    "{} must be {}",
                    self.encoder.n_features_in,
                    platform::autoscale::N_FEATURES
                ),
            );
        }
        if !(self.keep_prior.is_finite() && (0.0..=10.0).contains(&self.keep_prior)) {
            return bad("keep_prior", format!("{} not in [0, 10]", self.keep_prior));
        }
        if !(1..=4096).contains(&self.head_hidden) {
            return bad(
                "head_hidden",
                format!("{} not in 1..=4096", self.head_hidden),
            );
        }
        if self.episodes_per_iteration == 0 {
            return bad("episodes_per_iteration", "at least 1".into());
        }
        if !(1..=256).contains(&self.workers) {
            return bad("workers", format!("{} not in 1..=256", self.workers));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(
                "learning_rate",
                format!("{} must be > 0", self.learning_rate),
            );
        }
        for (field, v) in [("gamma", self.gamma), ("gae_lambda", self.gae_lambda)] {
            if !(0.0..=1.0).contains(&v) {
                return bad(field, format!("{v} not in [0, 1]"));
            }
        }
        for (field, v) in [
            ("entropy_coef", self.entropy_coef),
            ("value_coef", self.value_coef),
            ("ppo_clip", self.ppo_clip),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(field, format!("{v} must be finite and >= 0"));
            }
        }
        if !(self.max_grad_norm.is_finite() && self.max_grad_norm > 0.0) {
            return bad(
                "max_grad_norm",
                format!("{} must be > 0", self.max_grad_norm),
            );
        }
        if self.ppo_epochs == 0 || self.minibatches == 0 {
            return bad("ppo_epochs/minibatches", "at least 1".into());
        }
        Ok(())
    }

    fn pg(&self) -> PgParams {
        PgParams {
            seed: self.seed,
            learning_rate: self.learning_rate,
            gamma: self.gamma,
            gae_lambda: self.gae_lambda,
            entropy_coef: self.entropy_coef,
            value_coef: self.value_coef,
            max_grad_norm: self.max_grad_norm,
            ppo_clip: self.ppo_clip,
            ppo_epochs: self.ppo_epochs,
            minibatches: self.minibatches,
            adv_norm: self.adv_norm,
            workers: self.workers,
            episodes_per_iteration: self.episodes_per_iteration,
        }
    }
}

/// One decision's input: the function graph of an observation.
#[derive(Debug, Clone)]
pub struct ScaleState {
    graph: Graph,
}

impl ScaleState {
    /// The graph of `obs`: one node per function, dependency edges both ways.
    ///
    /// # Errors
    /// [`Error::InvalidGraph`] when the observation is malformed (feature count, non-finite values,
    /// edges out of range), naming the place.
    pub fn new(obs: &AutoscaleObs) -> Result<ScaleState> {
        let n = obs.function_names.len();
        let mut edges = Vec::with_capacity(obs.edges.len() * 2);
        for &(a, b) in &obs.edges {
            edges.push(Edge {
                src_idx: a,
                dst_idx: b,
                weight: 1.0,
                edge_type: 0,
            });
            edges.push(Edge {
                src_idx: b,
                dst_idx: a,
                weight: 1.0,
                edge_type: 1,
            });
        }
        Ok(ScaleState {
            graph: Graph::new(n, obs.n_features, obs.features.clone(), &edges)?,
        })
    }

    /// Functions (nodes).
    pub fn n_functions(&self) -> usize {
        self.graph.n_nodes()
    }
}

/// Knob choices per function: 0 down, 1 keep, 2 up, for memory and for concurrency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleAction {
    /// Memory knob per function.
    pub memory: Vec<u8>,
    /// Provisioned-concurrency knob per function.
    pub concurrency: Vec<u8>,
}

fn knob(k: u8) -> Knob {
    match k {
        0 => Knob::Down,
        2 => Knob::Up,
        _ => Knob::Keep,
    }
}

impl ScaleAction {
    /// The environment's actions.
    pub fn to_actions(&self) -> Vec<FunctionAction> {
        self.memory
            .iter()
            .zip(&self.concurrency)
            .map(|(&m, &c)| FunctionAction {
                memory: knob(m),
                concurrency: knob(c),
            })
            .collect()
    }
}

/// The actor-critic network (a burn module).
#[derive(Module, Debug)]
pub(crate) struct ScaleNet {
    encoder: EncoderNet,
    mem_hidden: Dense,
    mem_out: Dense,
    pc_hidden: Dense,
    pc_out: Dense,
    value_hidden: Dense,
    value_out: Dense,
}

/// Heads' outputs for a batch of graphs.
struct ScaleHeads {
    /// `[N, 3]` memory log-probabilities per node.
    mem_logp: Tensor<2>,
    /// `[N, 3]` concurrency log-probabilities per node.
    pc_logp: Tensor<2>,
    /// `[B]` values.
    value: Tensor<1>,
}

impl ScaleNet {
    fn new(config: &AutoscaleConfig, rng: &mut des::SimRng, dev: &Device) -> ScaleNet {
        let d = config.encoder.hidden_dim;
        let h = config.head_hidden;
        let keep = vec![0.0, config.keep_prior as f32, 0.0];
        ScaleNet {
            encoder: EncoderNet::new(&config.encoder, rng, dev),
            mem_hidden: Dense::new(rng, d, h, true, dev),
            mem_out: Dense::with_bias(rng, h, keep.clone(), dev),
            pc_hidden: Dense::new(rng, d, h, true, dev),
            pc_out: Dense::with_bias(rng, h, keep, dev),
            value_hidden: Dense::new(rng, 2 * d, h, true, dev),
            value_out: Dense::new(rng, h, 1, true, dev),
        }
    }

    /// Heads for the disjoint union `union` of graphs starting at `offsets`.
    fn forward(
        &self,
        encoder: &EncoderConfig,
        union: &Graph,
        offsets: &[usize],
        dev: &Device,
        dropout: Option<&mut des::SimRng>,
    ) -> ScaleHeads {
        let g = GraphTensors::new(union, dev);
        let h = self.encoder.forward(encoder, &g, dropout);
        let mem_logp = log_softmax(
            self.mem_out
                .forward(relu(self.mem_hidden.forward(h.clone()))),
            1,
        );
        let pc_logp = log_softmax(
            self.pc_out.forward(relu(self.pc_hidden.forward(h.clone()))),
            1,
        );
        let mut means = Vec::with_capacity(offsets.len());
        let mut maxes = Vec::with_capacity(offsets.len());
        for (k, &start) in offsets.iter().enumerate() {
            let end = offsets.get(k + 1).copied().unwrap_or(union.n_nodes());
            let seg = h.clone().narrow(0, start, end - start);
            means.push(seg.clone().mean_dim(0));
            maxes.push(seg.max_dim(0));
        }
        let r = Tensor::cat(vec![Tensor::cat(means, 0), Tensor::cat(maxes, 0)], 1);
        let b = offsets.len();
        let value = self
            .value_out
            .forward(relu(self.value_hidden.forward(r)))
            .reshape([b]);
        ScaleHeads {
            mem_logp,
            pc_logp,
            value,
        }
    }
}

/// `[B, N]` matrix summing each graph's nodes.
fn pooling(offsets: &[usize], n_nodes: usize, dev: &Device) -> Tensor<2> {
    let b = offsets.len();
    let mut m = vec![0.0f32; b * n_nodes];
    for (k, &start) in offsets.iter().enumerate() {
        let end = offsets.get(k + 1).copied().unwrap_or(n_nodes);
        for j in start..end {
            m[k * n_nodes + j] = 1.0;
        }
    }
    Tensor::from_data(TensorData::new(m, [b, n_nodes]), dev)
}

fn one_hot(choices: impl Iterator<Item = u8>, n: usize, dev: &Device) -> Tensor<2> {
    let mut m = vec![0.0f32; n * 3];
    for (i, c) in choices.enumerate().take(n) {
        m[i * 3 + usize::from(c.min(2))] = 1.0;
    }
    Tensor::from_data(TensorData::new(m, [n, 3]), dev)
}

fn union_of(states: &[&ScaleState]) -> Result<(Graph, Vec<usize>)> {
    let graphs: Vec<&Graph> = states.iter().map(|s| &s.graph).collect();
    Graph::disjoint_union(&graphs)
}

impl ActorCritic for ScaleNet {
    type State = ScaleState;
    type Action = ScaleAction;
    type Ctx = EncoderConfig;

    fn evaluate(
        &self,
        encoder: &EncoderConfig,
        states: &[&ScaleState],
        actions: &[&ScaleAction],
        dropout: Option<&mut des::SimRng>,
    ) -> Result<Evaluation> {
        let dev = device(true);
        let (union, offsets) = union_of(states)?;
        let n = union.n_nodes();
        let b = offsets.len();
        let heads = self.forward(encoder, &union, &offsets, &dev, dropout);
        let mem_sel = one_hot(
            actions.iter().flat_map(|a| a.memory.iter().copied()),
            n,
            &dev,
        );
        let pc_sel = one_hot(
            actions.iter().flat_map(|a| a.concurrency.iter().copied()),
            n,
            &dev,
        );
        let node_logp = (heads.mem_logp.clone() * mem_sel).sum_dim(1)
            + (heads.pc_logp.clone() * pc_sel).sum_dim(1); // [N, 1]
        let node_ent = -(heads.mem_logp.clone().exp() * heads.mem_logp).sum_dim(1)
            - (heads.pc_logp.clone().exp() * heads.pc_logp).sum_dim(1); // [N, 1]
        let pool = pooling(&offsets, n, &dev);
        let logp = pool.clone().matmul(node_logp).reshape([b]);
        // Entropy per function (both knobs), so the bonus weighs the same for any workflow size.
        let entropy = node_ent.mean();
        Ok(Evaluation {
            logp,
            entropy,
            value: heads.value,
        })
    }
}

/// Samples (or takes the most likely of) 3 log-probabilities.
fn pick3(logp: &[f32], greedy: bool, rng: &mut des::SimRng) -> u8 {
    if greedy {
        let mut best = 0;
        for k in 1..3 {
            if logp[k] > logp[best] {
                best = k;
            }
        }
        return best as u8;
    }
    use rand::Rng;
    let u: f32 = rng.random();
    let mut acc = 0.0;
    for (k, l) in logp.iter().enumerate().take(3) {
        acc += l.exp();
        if u < acc {
            return k as u8;
        }
    }
    2
}

/// One decision of an inference-mode network: the action, its log-probability and the value.
fn act(
    net: &ScaleNet,
    encoder: &EncoderConfig,
    state: &ScaleState,
    greedy: bool,
    rng: &mut des::SimRng,
) -> Result<(ScaleAction, f32, f32)> {
    let dev = device(false);
    let heads = net.forward(encoder, &state.graph, &[0], &dev, None);
    let mem = to_vec(heads.mem_logp)?;
    let pc = to_vec(heads.pc_logp)?;
    let value = to_vec(heads.value.reshape([1, 1]))?[0];
    let n = state.n_functions();
    let mut action = ScaleAction {
        memory: Vec::with_capacity(n),
        concurrency: Vec::with_capacity(n),
    };
    let mut logp = 0.0;
    for i in 0..n {
        let m = pick3(&mem[i * 3..i * 3 + 3], greedy, rng);
        let c = pick3(&pc[i * 3..i * 3 + 3], greedy, rng);
        logp += mem[i * 3 + usize::from(m)] + pc[i * 3 + usize::from(c)];
        action.memory.push(m);
        action.concurrency.push(c);
    }
    Ok((action, logp, value))
}

/// One autoscaling episode.
pub(crate) type ScaleEpisode = ac::EpisodeRecord<ScaleState, ScaleAction>;

fn env_error(e: platform::Error) -> Error {
    Error::Env {
        context: e.to_string(),
    }
}

/// Runs one episode of `env` with `net`; `metric_sum` is the episode's cost (USD) and `metric_n`
/// its completed requests, so their ratio is the cost per completed request.
fn rollout(
    net: &ScaleNet,
    encoder: &EncoderConfig,
    env: &mut AutoscaleEnv,
    greedy: bool,
    rng: &mut des::SimRng,
) -> Result<(ScaleEpisode, EpisodeSummary)> {
    let mut rec = ScaleEpisode::default();
    let mut obs = env.reset().map_err(env_error)?;
    loop {
        let state = ScaleState::new(&obs)?;
        let (action, logp, value) = act(net, encoder, &state, greedy, rng)?;
        let step = env.step(&action.to_actions()).map_err(env_error)?;
        rec.decisions.push(ac::Decision {
            state,
            action,
            logp,
            value,
            reward: 0.0,
        });
        rec.credit(step.reward);
        if step.done {
            break;
        }
        obs = step.obs;
    }
    let summary = env
        .report()
        .map(EpisodeSummary::of)
        .ok_or_else(|| Error::Env {
            context: "the episode ended without a report".into(),
        })?;
    rec.metric_sum = summary.cost_usd;
    rec.metric_n = summary.completed;
    Ok((rec, summary))
}

/// What an episode measured.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EpisodeSummary {
    /// Total cost, USD.
    pub cost_usd: f64,
    /// Requests completed.
    pub completed: u64,
    /// Share of requests within the SLO (1 without an SLO).
    pub slo_attainment: f64,
}

impl EpisodeSummary {
    fn of(r: &platform::SimReport) -> EpisodeSummary {
        EpisodeSummary {
            cost_usd: r.cost_usd.total,
            completed: r.requests,
            slo_attainment: r.slo_attainment.unwrap_or(1.0),
        }
    }
}

/// Builds the environment of a training episode from its index.
pub type AutoscaleEnvFactory = Arc<dyn Fn(u64) -> Result<AutoscaleEnv> + Send + Sync>;

/// What one iteration measured (a row of the training curve).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoscaleStats {
    /// Iteration number, from 1.
    pub iteration: u64,
    /// Episodes run.
    pub episodes: usize,
    /// Decisions (control intervals) taken.
    pub decisions: usize,
    /// Mean total reward per episode.
    pub mean_reward: f64,
    /// Cost per completed request over the iteration's episodes, USD.
    pub cost_per_request_usd: f64,
    /// Mean SLO attainment of the episodes.
    pub slo_attainment: f64,
    /// Policy entropy per function (both knobs; at most 2 ln 3 = 2.197) at the iteration's first
    /// update.
    pub entropy: f64,
    /// Policy loss of the last update.
    pub policy_loss: f64,
    /// Value loss of the last update.
    pub value_loss: f64,
}

impl AutoscaleStats {
    /// The CSV header of [`AutoscaleStats::csv_row`].
    pub const CSV_HEADER: &'static str = "iteration,episodes,decisions,mean_reward,cost_per_request_usd,slo_attainment,entropy,policy_loss,value_loss";

    /// One CSV row.
    pub fn csv_row(&self) -> String {
        format!(
            "{},{},{},{:.6},{:.9},{:.4},{:.5},{:.6},{:.6}",
            self.iteration,
            self.episodes,
            self.decisions,
            self.mean_reward,
            self.cost_per_request_usd,
            self.slo_attainment,
            self.entropy,
            self.policy_loss,
            self.value_loss
        )
    }
}

/// A training run of the autoscaling agent.
pub struct AutoscaleTrainer {
    config: AutoscaleConfig,
    learner: ac::Learner<ScaleNet>,
    factory: AutoscaleEnvFactory,
    iterations_done: u64,
    curve: Vec<AutoscaleStats>,
}

impl std::fmt::Debug for AutoscaleTrainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutoscaleTrainer")
            .field("config", &self.config)
            .field("iterations_done", &self.iterations_done)
            .finish_non_exhaustive()
    }
}

impl AutoscaleTrainer {
    /// A fresh run on environments from `factory` (episode index -> environment; build them from
    /// `config.scenario`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the bad field.
    pub fn new(config: AutoscaleConfig, factory: AutoscaleEnvFactory) -> Result<AutoscaleTrainer> {
        config.validate()?;
        let mut rng = des::RngStreams::new(config.seed).stream("encoder_init");
        let net = ScaleNet::new(&config, &mut rng, &device(true));
        let learner = ac::Learner::new(net, &config.pg());
        Ok(AutoscaleTrainer {
            config,
            learner,
            factory,
            iterations_done: 0,
            curve: Vec::new(),
        })
    }

    /// The run's configuration.
    pub fn config(&self) -> &AutoscaleConfig {
        &self.config
    }

    /// Iterations completed.
    pub fn iterations_done(&self) -> u64 {
        self.iterations_done
    }

    /// The training curve of this process.
    pub fn curve(&self) -> &[AutoscaleStats] {
        &self.curve
    }

    /// Sets the total iteration count.
    pub fn set_iterations(&mut self, iterations: u64) {
        self.config.iterations = iterations;
    }

    /// Runs iterations until `config.iterations` are done, calling `on_iteration` after each.
    ///
    /// # Errors
    /// Any error of [`AutoscaleTrainer::iterate`].
    pub fn run(&mut self, mut on_iteration: impl FnMut(&AutoscaleStats)) -> Result<()> {
        while self.iterations_done < self.config.iterations {
            let s = self.iterate()?;
            on_iteration(&s);
        }
        Ok(())
    }

    /// One iteration: `episodes_per_iteration` episodes, then the algorithm's updates (A3C: one
    /// asynchronous update per episode by whichever worker ran it).
    ///
    /// # Errors
    /// [`Error::Env`] when an environment fails; backend errors.
    pub fn iterate(&mut self) -> Result<AutoscaleStats> {
        let it = self.iterations_done;
        let config = &self.config;
        let p = config.pg();
        let first = it * config.episodes_per_iteration as u64;
        let factory = &self.factory;
        let summaries = std::sync::Mutex::new(Vec::new());
        let run_one = |net: &ScaleNet, episode: u64| -> Result<ScaleEpisode> {
            let mut env = factory(episode)?;
            let mut rng = des::RngStreams::new(config.seed).indexed("rollout", episode);
            let (ep, s) = rollout(net, &config.encoder, &mut env, false, &mut rng)?;
            if let Ok(mut v) = summaries.lock() {
                v.push((episode, s));
            }
            Ok(ep)
        };
        let (episodes, upd) = match config.algo {
            Algo::A3c => {
                ac::a3c_iteration(&p, &config.encoder, &mut self.learner, first, &run_one)?
            }
            _ => {
                let net = self.learner.net.valid();
                let n = config.episodes_per_iteration;
                let workers = config.workers.min(n).max(1);
                let results: Vec<Result<Vec<(usize, ScaleEpisode)>>> =
                    std::thread::scope(|scope| {
                        let handles: Vec<_> = (0..workers)
                            .map(|w| {
                                let net = &net;
                                let run_one = &run_one;
                                scope.spawn(move || {
                                    let mut out = Vec::new();
                                    let mut e = w;
                                    while e < n {
                                        out.push((e, run_one(net, first + e as u64)?));
                                        e += workers;
                                    }
                                    Ok(out)
                                })
                            })
                            .collect();
                        handles
                            .into_iter()
                            .map(|h| {
                                h.join().unwrap_or_else(|_| {
                                    Err(Error::Backend {
                                        context: "a rollout worker panicked".into(),
                                    })
                                })
                            })
                            .collect()
                    });
                let mut indexed = Vec::with_capacity(n);
                for r in results {
                    indexed.extend(r?);
                }
                indexed.sort_by_key(|(e, _)| *e);
                let episodes: Vec<ScaleEpisode> = indexed.into_iter().map(|(_, ep)| ep).collect();
                let algo = if config.algo == Algo::Ppo {
                    ac::PgAlgo::Ppo
                } else {
                    ac::PgAlgo::Reinforce
                };
                let upd =
                    ac::pg_update(&p, algo, &config.encoder, &mut self.learner, &episodes, it)?;
                (episodes, upd)
            }
        };
        let mut summaries = summaries.into_inner().unwrap_or_default();
        summaries.sort_by_key(|(e, _)| *e);
        let cost: f64 = summaries.iter().map(|(_, s)| s.cost_usd).sum();
        let completed: u64 = summaries.iter().map(|(_, s)| s.completed).sum();
        let n = episodes.len().max(1) as f64;
        self.iterations_done += 1;
        let stats = AutoscaleStats {
            iteration: self.iterations_done,
            episodes: episodes.len(),
            decisions: episodes.iter().map(|e| e.decisions.len()).sum(),
            mean_reward: episodes.iter().map(|e| e.total_reward).sum::<f64>() / n,
            cost_per_request_usd: if completed > 0 {
                cost / completed as f64
            } else {
                0.0
            },
            slo_attainment: summaries.iter().map(|(_, s)| s.slo_attainment).sum::<f64>()
                / summaries.len().max(1) as f64,
            entropy: upd.entropy,
            policy_loss: upd.policy_loss,
            value_loss: upd.value_loss,
        };
        self.curve.push(stats.clone());
        Ok(stats)
    }

    /// The trained agent (greedy: the most likely knob per function; otherwise sampled from `seed`).
    pub fn agent(&self, greedy: bool, seed: u64) -> AutoscaleAgent {
        AutoscaleAgent {
            net: self.learner.net.valid(),
            encoder: self.config.encoder.clone(),
            greedy,
            rng: des::RngStreams::new(seed).stream("agent"),
            meta: self.meta(None),
        }
    }

    fn meta(&self, command: Option<&str>) -> AutoscaleMeta {
        let params = params_of(&self.learner.net);
        AutoscaleMeta {
            format: AUTOSCALE_FORMAT.into(),
            config: self.config.clone(),
            iterations_done: self.iterations_done,
            ret_scale: self.learner.ret_scale,
            n_params: params.iter().map(|p| p.2.len()).sum(),
            command: command.map(str::to_string),
        }
    }

    /// Writes the weights to `path` (safetensors, [`AutoscaleMeta`] in its metadata) and the
    /// metadata to `path` with extension `.json`.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] naming the file that could not be written.
    pub fn save(&self, path: &Path, command: Option<&str>) -> Result<AutoscaleMeta> {
        let meta = self.meta(command);
        checkpoint::write_checkpoint(path, &params_of(&self.learner.net), &meta)?;
        Ok(meta)
    }

    /// A trainer restored from a checkpoint, continuing on `factory`'s environments.
    ///
    /// # Errors
    /// As [`AutoscaleAgent::load`].
    pub fn resume(path: &Path, factory: AutoscaleEnvFactory) -> Result<AutoscaleTrainer> {
        let (meta, params) = read_checkpoint(path)?;
        let mut t = AutoscaleTrainer::new(meta.config.clone(), factory)?;
        t.learner.net = with_params(t.learner.net.clone(), &params)
            .map_err(|e| ck_err(path, e))?
            .train();
        t.learner.ret_scale = meta.ret_scale;
        t.iterations_done = meta.iterations_done;
        Ok(t)
    }
}

/// What an autoscaling checkpoint says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoscaleMeta {
    /// [`AUTOSCALE_FORMAT`].
    pub format: String,
    /// The training configuration (seed and scenario included).
    pub config: AutoscaleConfig,
    /// Iterations trained.
    pub iterations_done: u64,
    /// The value head's running return scale.
    pub ret_scale: f64,
    /// Scalar parameters.
    pub n_params: usize,
    /// The command that produced it, if recorded.
    pub command: Option<String>,
}

fn read_checkpoint(path: &Path) -> Result<(AutoscaleMeta, checkpoint::ParamValues)> {
    let (meta_json, params) = checkpoint::read_raw(path)?;
    let meta: AutoscaleMeta =
        serde_json::from_str(&meta_json).map_err(|e| ck_err(path, format!("metadata: {e}")))?;
    if meta.format != AUTOSCALE_FORMAT {
        return Err(ck_err(
            path,
            format!("format {:?}, expected {AUTOSCALE_FORMAT:?}", meta.format),
        ));
    }
    meta.config
        .validate()
        .map_err(|e| ck_err(path, format!("saved config: {e}")))?;
    Ok((meta, params))
}

/// A trained agent, ready to act: one decision per control interval from the environment's
/// observation.
pub struct AutoscaleAgent {
    net: ScaleNet,
    encoder: EncoderConfig,
    greedy: bool,
    rng: des::SimRng,
    meta: AutoscaleMeta,
}

impl std::fmt::Debug for AutoscaleAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutoscaleAgent")
            .field("greedy", &self.greedy)
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

impl AutoscaleAgent {
    /// Loads an agent saved by [`AutoscaleTrainer::save`]; `greedy` picks the most likely knobs,
    /// otherwise they are sampled from `seed`'s `"agent"` stream.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] naming the file and what is wrong: missing, not safetensors, no or bad
    /// metadata, another format (an allocation policy or a topology scorer), an invalid config, or
    /// weights that do not fit the config's model.
    pub fn load(path: &Path, greedy: bool, seed: u64) -> Result<AutoscaleAgent> {
        let (meta, params) = read_checkpoint(path)?;
        let mut rng = des::RngStreams::new(meta.config.seed).stream("encoder_init");
        let net = ScaleNet::new(&meta.config, &mut rng, &device(false));
        let net = with_params(net, &params).map_err(|e| ck_err(path, e))?;
        Ok(AutoscaleAgent {
            net,
            encoder: meta.config.encoder.clone(),
            greedy,
            rng: des::RngStreams::new(seed).stream("agent"),
            meta,
        })
    }

    /// The checkpoint's metadata.
    pub fn meta(&self) -> &AutoscaleMeta {
        &self.meta
    }

    /// The knobs for every function of `obs`.
    ///
    /// # Errors
    /// [`Error::InvalidGraph`] when the observation is malformed.
    pub fn decide(&mut self, obs: &AutoscaleObs) -> Result<Vec<FunctionAction>> {
        let state = ScaleState::new(obs)?;
        let (action, _, _) = act(&self.net, &self.encoder, &state, self.greedy, &mut self.rng)?;
        Ok(action.to_actions())
    }

    /// Runs one episode of `env` with this agent; its total reward and summary.
    ///
    /// # Errors
    /// [`Error::Env`] when the environment fails.
    pub fn run_episode(&mut self, env: &mut AutoscaleEnv) -> Result<(f64, EpisodeSummary)> {
        let (rec, s) = rollout(&self.net, &self.encoder, env, self.greedy, &mut self.rng)?;
        Ok((rec.total_reward, s))
    }
}
