//! Deep RL for allocation: REINFORCE with a learned value baseline and entropy bonus, asynchronous
//! advantage actor-critic (A3C: worker threads, each with its own environments and seed, updating one
//! shared model), PPO (clipped surrogate, GAE) on the GNN policy ([`crate::GnnPolicy`]), and DQN over the
//! flat state ([`crate::DqnPolicy`]) as the non-graph baseline.
//!
//! One **iteration** runs `episodes_per_iteration` episodes (fresh job sets from the training seed, see
//! [`Scenario::make_env`]) and updates the model: REINFORCE one gradient step on all their decisions;
//! PPO `ppo_epochs` passes over shuffled minibatches; A3C one step per episode, applied by whichever
//! worker finishes it; DQN `dqn.updates_per_iteration` replay minibatches.
//!
//! Rewards are the environment's (minus the sum over invocations in the system of `1 / duration` per
//! unit of time, which sums to minus the total slowdown), credited to the decision that preceded them;
//! steps with no choice (nothing pending or nothing fits) are taken as "wait" without a decision.
//! Advantages are GAE(`gamma`, `lambda`) per decision (REINFORCE: `lambda` = 1, Monte-Carlo returns
//! minus the baseline), normalised per batch; the value head learns returns divided by a running
//! return scale.
//!
//! Determinism: every draw comes from named sub-streams of the seed (`rollout` per episode, `minibatch`
//! and `dropout` per iteration); with one worker a run is reproducible bit for bit. A3C with more than
//! one worker applies updates in the order workers finish, which depends on thread timing.

use std::sync::Mutex;

use burn::module::Module;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Tensor, TensorData};
use cluster::{Action, Environment};
use serde::{Deserialize, Serialize};

use crate::dqn::{DqnConfig, DqnLearner};
use crate::encoder::{EncoderConfig, EncoderKind, device, to_vec};
use crate::error::{Error, Result};
use crate::policy::{AllocNet, Batch, Dist, Selection, to_action};
use crate::scenario::Scenario;
use crate::state::{GraphStateBuilder, N_STATE_FEATURES, StateConfig, StateGraph};

/// The learning algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algo {
    /// Policy gradient with a learned value baseline and entropy bonus.
    Reinforce,
    /// Asynchronous advantage actor-critic.
    A3c,
    /// Proximal policy optimisation.
    Ppo,
    /// Deep Q-network over the flat state (non-graph baseline).
    Dqn,
}

impl Algo {
    /// The CLI name.
    pub fn name(&self) -> &'static str {
        match self {
            Algo::Reinforce => "reinforce",
            Algo::A3c => "a3c",
            Algo::Ppo => "ppo",
            Algo::Dqn => "dqn",
        }
    }
}

impl std::str::FromStr for Algo {
    type Err = Error;
    fn from_str(s: &str) -> Result<Algo> {
        match s {
            "reinforce" => Ok(Algo::Reinforce),
            "a3c" => Ok(Algo::A3c),
            "ppo" => Ok(Algo::Ppo),
            "dqn" => Ok(Algo::Dqn),
            other => Err(Error::InvalidConfig {
                field: "algo",
                reason: format!("unknown algorithm {other:?} (reinforce|a3c|ppo|dqn)"),
            }),
        }
    }
}

/// How advantages are normalised before the policy-gradient step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdvNorm {
    /// Over all decisions of the batch (standard).
    #[default]
    Batch,
    /// Within each episode first, then over the batch: every episode weighs the same, so episodes
    /// at low load (small, low-variance returns) are not drowned by those at high load when one
    /// policy trains on several loads.
    Episode,
}

impl std::str::FromStr for AdvNorm {
    type Err = Error;
    fn from_str(s: &str) -> Result<AdvNorm> {
        match s {
            "batch" => Ok(AdvNorm::Batch),
            "episode" => Ok(AdvNorm::Episode),
            other => Err(Error::InvalidConfig {
                field: "adv_norm",
                reason: format!("unknown normalisation {other:?} (batch|episode)"),
            }),
        }
    }
}

/// Everything that defines a training run (saved with every checkpoint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Algorithm.
    pub algo: Algo,
    /// Where episodes come from.
    pub scenario: Scenario,
    /// GNN encoder (policy-gradient algorithms).
    pub encoder: EncoderConfig,
    /// Graph-state window (its `max_pending` is also the action window).
    pub state: StateConfig,
    /// Iterations to run in total (a resumed run continues to this count).
    pub iterations: u64,
    /// Episodes per iteration.
    pub episodes_per_iteration: usize,
    /// A3C worker threads (other algorithms: rollouts are batched in one thread).
    pub workers: usize,
    /// Root seed.
    pub seed: u64,
    /// Adam's step size.
    pub learning_rate: f64,
    /// Discount per decision.
    pub gamma: f64,
    /// GAE's lambda (PPO, A3C; REINFORCE uses 1).
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
    /// DQN settings.
    pub dqn: DqnConfig,
    /// Advantage normalisation (policy-gradient algorithms).
    #[serde(default)]
    pub adv_norm: AdvNorm,
}

impl TrainConfig {
    /// Defaults for `algo` in `scenario`: a 2-layer, 64-wide GCN with typed edges, the scenario's action
    /// window (work-conserving in serverless mode), 8 episodes per iteration, Adam 1e-3, gamma 0.99, lambda 0.95, entropy 0.01.
    pub fn new(algo: Algo, scenario: Scenario, kind: EncoderKind, seed: u64) -> TrainConfig {
        let state = StateConfig {
            max_pending: scenario.pending_window(),
            max_running: 32,
            work_conserving: matches!(scenario, Scenario::Serverless(_)),
        };
        TrainConfig {
            algo,
            scenario,
            encoder: EncoderConfig::new(kind, N_STATE_FEATURES, 64),
            state,
            iterations: 100,
            episodes_per_iteration: 8,
            workers: 1,
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
            dqn: DqnConfig::default(),
            adv_norm: AdvNorm::Batch,
        }
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, reason: String| Err(Error::InvalidConfig { field, reason });
        self.scenario.validate()?;
        self.encoder.validate()?;
        self.state.validate()?;
        if self.encoder.n_features_in != N_STATE_FEATURES {
            return bad(
                "encoder.n_features_in",
                format!("{} must be {N_STATE_FEATURES}", self.encoder.n_features_in),
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
        self.dqn.validate()?;
        Ok(())
    }

    pub(crate) fn optimizer(&self) -> ModuleOptimizer {
        AdamConfig::new()
            .with_grad_clipping(Some(GradientClippingConfig::Norm(self.max_grad_norm)))
            .init()
    }
}

/// What one iteration measured (a row of the training curve).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterationStats {
    /// Iteration number, from 1.
    pub iteration: u64,
    /// Episodes run in this iteration.
    pub episodes: usize,
    /// Decisions (states with a choice) in this iteration.
    pub decisions: usize,
    /// Mean total reward per episode.
    pub mean_reward: f64,
    /// Mean slowdown over the jobs finished in this iteration's episodes.
    pub mean_slowdown: f64,
    /// Policy entropy per decision at the first update (A3C: mean over its updates; DQN: the
    /// exploration rate epsilon).
    pub entropy: f64,
    /// Policy loss of the last update (A3C: mean over the iteration's updates; DQN: TD loss).
    pub policy_loss: f64,
    /// Value loss of the last update (A3C: mean over the iteration's updates; DQN: 0).
    pub value_loss: f64,
}

impl IterationStats {
    /// The CSV header of the training curve.
    pub const CSV_HEADER: &'static str =
        "iteration,episodes,decisions,mean_reward,mean_slowdown,entropy,policy_loss,value_loss";

    /// One CSV row.
    pub fn csv_row(&self) -> String {
        format!(
            "{},{},{},{:.6},{:.6},{:.6},{:.6},{:.6}",
            self.iteration,
            self.episodes,
            self.decisions,
            self.mean_reward,
            self.mean_slowdown,
            self.entropy,
            self.policy_loss,
            self.value_loss
        )
    }
}

/// One decision of a rollout.
#[derive(Debug, Clone)]
pub(crate) struct Decision {
    pub(crate) state: StateGraph,
    pub(crate) action: Option<(usize, usize)>,
    pub(crate) logp: f32,
    /// Value estimate at rollout time (return-scale units).
    pub(crate) value: f32,
    /// Reward from this decision until the next one.
    pub(crate) reward: f64,
}

/// One finished episode.
#[derive(Debug, Clone, Default)]
pub(crate) struct EpisodeRecord {
    pub(crate) decisions: Vec<Decision>,
    pub(crate) total_reward: f64,
    pub(crate) slowdown_sum: f64,
    pub(crate) n_finished: u64,
}

/// An environment failure as this crate's error.
pub(crate) fn env_err(e: cluster::Error) -> Error {
    Error::Env {
        context: e.to_string(),
    }
}

/// Runs `envs` in lockstep with `net` (inference), one forward pass per tick over every environment
/// that waits for a decision. `rngs[e]` draws environment `e`'s actions.
pub(crate) fn rollout_gnn(
    net: &AllocNet,
    encoder: &EncoderConfig,
    state: StateConfig,
    mut envs: Vec<Box<dyn Environment>>,
    rngs: &mut [des::SimRng],
    greedy: bool,
) -> Result<Vec<EpisodeRecord>> {
    let mut builder = GraphStateBuilder::new(state)?;
    let mut records = vec![EpisodeRecord::default(); envs.len()];
    let dev = device(false);
    loop {
        let mut ready: Vec<(usize, StateGraph)> = Vec::new();
        for (e, env) in envs.iter_mut().enumerate() {
            while !env.is_done() {
                if !env.observe().pending.is_empty() {
                    let s = builder.build(env.observe())?;
                    if s.has_choice() {
                        ready.push((e, s));
                        break;
                    }
                }
                let out = env.step(Action::Wait).map_err(env_err)?;
                credit(&mut records[e], out.reward);
            }
        }
        if ready.is_empty() {
            break;
        }
        let states: Vec<&StateGraph> = ready.iter().map(|(_, s)| s).collect();
        let batch = Batch::new(&states, &dev)?;
        let (w, m) = (batch.width, batch.n_machines);
        let dist = Dist::from_heads(net.forward(encoder, &batch, None), w, m)?;
        for (k, (e, s)) in ready.into_iter().enumerate() {
            let (choice, logp) = dist.choose(k, greedy, &mut rngs[e]);
            let out = envs[e].step(to_action(choice, &s)).map_err(env_err)?;
            records[e].decisions.push(Decision {
                state: s,
                action: choice,
                logp,
                value: dist.value[k],
                reward: 0.0,
            });
            credit(&mut records[e], out.reward);
        }
    }
    for (rec, env) in records.iter_mut().zip(&envs) {
        let m = env.metrics();
        rec.n_finished = m.slowdown.n();
        rec.slowdown_sum = m.slowdown_mean().unwrap_or(0.0) * m.slowdown.n() as f64;
    }
    Ok(records)
}

fn credit(rec: &mut EpisodeRecord, reward: f64) {
    rec.total_reward += reward;
    if let Some(d) = rec.decisions.last_mut() {
        d.reward += reward;
    }
}

/// GAE advantages and returns of one episode (values in return-scale units, rewards raw).
pub(crate) fn gae(
    rewards: &[f64],
    values: &[f64],
    gamma: f64,
    lambda: f64,
) -> (Vec<f64>, Vec<f64>) {
    let n = rewards.len();
    let mut adv = vec![0.0; n];
    let mut next_adv = 0.0;
    for k in (0..n).rev() {
        let next_v = if k + 1 < n { values[k + 1] } else { 0.0 };
        let delta = rewards[k] + gamma * next_v - values[k];
        next_adv = delta + gamma * lambda * next_adv;
        adv[k] = next_adv;
    }
    let ret: Vec<f64> = adv.iter().zip(values).map(|(a, v)| a + v).collect();
    (adv, ret)
}

/// Flattened training targets of a set of episodes.
pub(crate) struct Targets {
    pub(crate) advantages: Vec<f32>,
    /// Returns divided by the return scale (value-head units).
    pub(crate) value_targets: Vec<f32>,
}

/// The standard deviation of the episodes' Monte-Carlo returns (at least 1e-6): what one update of
/// the running return scale folds in ([`update_ret_scale`]).
pub(crate) fn mc_return_std(episodes: &[EpisodeRecord], gamma: f64) -> f64 {
    let mut mc = Vec::new();
    for ep in episodes {
        let rewards: Vec<f64> = ep.decisions.iter().map(|d| d.reward).collect();
        let zeros = vec![0.0; rewards.len()];
        mc.extend(gae(&rewards, &zeros, gamma, 1.0).1);
    }
    stats(&mc).1.max(1e-6)
}

/// One update of the running return scale: an exponential moving average (weight 0.1) of the
/// Monte-Carlo return standard deviation, started at the first one.
pub(crate) fn update_ret_scale(ret_scale: f64, mc_std: f64) -> f64 {
    if ret_scale > 0.0 {
        0.9 * ret_scale + 0.1 * mc_std
    } else {
        mc_std
    }
}

/// Computes advantages (normalised) and value targets; updates the running return scale.
pub(crate) fn targets(
    episodes: &[EpisodeRecord],
    config: &TrainConfig,
    lambda: f64,
    ret_scale: &mut f64,
) -> Targets {
    // Monte-Carlo returns set the scale (EMA of their standard deviation).
    *ret_scale = update_ret_scale(*ret_scale, mc_return_std(episodes, config.gamma));
    let mut adv_all = Vec::new();
    let mut ret_all = Vec::new();
    for ep in episodes {
        let rewards: Vec<f64> = ep.decisions.iter().map(|d| d.reward).collect();
        let values: Vec<f64> = ep
            .decisions
            .iter()
            .map(|d| f64::from(d.value) * *ret_scale)
            .collect();
        let (mut a, r) = gae(&rewards, &values, config.gamma, lambda);
        if config.adv_norm == AdvNorm::Episode {
            let (mean, sd) = stats(&a);
            for x in &mut a {
                *x = (*x - mean) / sd.max(1e-8);
            }
        }
        adv_all.extend(a);
        ret_all.extend(r);
    }
    let (mean, sd) = stats(&adv_all);
    Targets {
        advantages: adv_all
            .iter()
            .map(|a| ((a - mean) / sd.max(1e-8)) as f32)
            .collect(),
        value_targets: ret_all.iter().map(|r| (r / *ret_scale) as f32).collect(),
    }
}

/// Mean and population standard deviation; `(0, 1)` for nothing (normalising nothing is a no-op).
fn stats(x: &[f64]) -> (f64, f64) {
    des::stats::mean_std(x).unwrap_or((0.0, 1.0))
}

fn tensor1(v: Vec<f32>) -> Tensor<1> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), &device(true))
}

fn scalar(t: Tensor<1>) -> Result<f64> {
    Ok(f64::from(to_vec(t.reshape([1, 1]))?[0]))
}

/// Losses of one gradient step.
struct StepLosses {
    policy: f64,
    value: f64,
    entropy: f64,
}

/// The GNN learner: policy network, optimiser and running return scale.
pub(crate) struct GnnLearner {
    pub(crate) net: AllocNet,
    optim: ModuleOptimizer,
    pub(crate) ret_scale: f64,
    n_updates: u64,
}

impl GnnLearner {
    pub(crate) fn new(config: &TrainConfig) -> GnnLearner {
        let mut rng = des::RngStreams::new(config.seed).stream("encoder_init");
        let net = AllocNet::new(&config.encoder, &mut rng, &device(true)).train();
        GnnLearner {
            net,
            optim: config.optimizer(),
            ret_scale: 0.0,
            n_updates: 0,
        }
    }

    /// One gradient step on `idx` of the flattened decisions.
    fn step(
        &mut self,
        config: &TrainConfig,
        decisions: &[&Decision],
        tg: &Targets,
        idx: &[usize],
        ppo: bool,
    ) -> Result<StepLosses> {
        let (grads, losses) =
            compute_grads(config, &self.net, decisions, tg, idx, ppo, self.n_updates)?;
        self.net = self
            .optim
            .step(config.learning_rate, self.net.clone(), grads);
        self.n_updates += 1;
        Ok(losses)
    }
}

/// Loss and gradients of one step on `idx` of the flattened decisions (PPO's clipped objective when
/// `ppo`, the plain policy gradient otherwise).
#[allow(clippy::too_many_arguments)]
fn compute_grads(
    config: &TrainConfig,
    net: &AllocNet,
    decisions: &[&Decision],
    tg: &Targets,
    idx: &[usize],
    ppo: bool,
    update_idx: u64,
) -> Result<(GradientsParams, StepLosses)> {
    let dev = device(true);
    let states: Vec<&StateGraph> = idx.iter().map(|&k| &decisions[k].state).collect();
    let batch = Batch::new(&states, &dev)?;
    let actions: Vec<Option<(usize, usize)>> = idx.iter().map(|&k| decisions[k].action).collect();
    let sel = Selection::new(&actions, batch.width, batch.n_machines, &dev);
    let mut drop_rng = des::RngStreams::new(config.seed).indexed("dropout", update_idx);
    let heads = net.forward(&config.encoder, &batch, Some(&mut drop_rng));
    let logp = heads.log_prob(&sel);
    let entropy = heads.entropy().mean();
    let adv = tensor1(idx.iter().map(|&k| tg.advantages[k]).collect());
    let vt = tensor1(idx.iter().map(|&k| tg.value_targets[k]).collect());
    let policy_loss = if ppo {
        let old = tensor1(idx.iter().map(|&k| decisions[k].logp).collect());
        let ratio = (logp - old).exp();
        let clipped = ratio
            .clone()
            .clamp(1.0 - config.ppo_clip, 1.0 + config.ppo_clip);
        -(ratio * adv.clone()).min_pair(clipped * adv).mean()
    } else {
        -(logp * adv).mean()
    };
    let value_loss = (heads.value - vt).square().mean();
    let loss = policy_loss.clone() + value_loss.clone().mul_scalar(config.value_coef)
        - entropy.clone().mul_scalar(config.entropy_coef);
    let losses = StepLosses {
        policy: scalar(policy_loss)?,
        value: scalar(value_loss)?,
        entropy: scalar(entropy)?,
    };
    Ok((GradientsParams::from_grads(loss.backward(), net), losses))
}

/// Builds the environment of a training episode from its index (see [`Trainer::with_env_factory`]).
pub type EnvFactory = std::sync::Arc<dyn Fn(u64) -> Result<Box<dyn Environment>> + Send + Sync>;

/// The environment of episode `episode`: the factory's if one is set, else the scenario's.
pub(crate) fn make_env(
    config: &TrainConfig,
    factory: Option<&EnvFactory>,
    episode: u64,
) -> Result<Box<dyn Environment>> {
    match factory {
        Some(f) => f(episode),
        None => config.scenario.make_env(config.seed, episode),
    }
}

/// The model being trained (one per run: the variants' size difference does not matter).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Learner {
    Gnn(GnnLearner),
    Dqn(DqnLearner),
}

/// A training run: config, model, iterations done and the curve so far.
pub struct Trainer {
    pub(crate) config: TrainConfig,
    pub(crate) learner: Learner,
    pub(crate) iterations_done: u64,
    pub(crate) curve: Vec<IterationStats>,
    pub(crate) factory: Option<EnvFactory>,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("config", &self.config)
            .field("iterations_done", &self.iterations_done)
            .finish_non_exhaustive()
    }
}

impl Trainer {
    /// A fresh run.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the bad field.
    pub fn new(config: TrainConfig) -> Result<Trainer> {
        config.validate()?;
        let learner = match config.algo {
            Algo::Dqn => Learner::Dqn(DqnLearner::new(&config)),
            _ => Learner::Gnn(GnnLearner::new(&config)),
        };
        Ok(Trainer {
            config,
            learner,
            iterations_done: 0,
            curve: Vec::new(),
            factory: None,
        })
    }

    /// Trains on environments from `factory` (episode index -> environment) instead of the config's
    /// scenario, e.g. a hand-made environment whose optimal policy is known. The scenario still sets the
    /// action space (`n_machines`, `pending_window`), so it should describe the same kind of environment.
    pub fn with_env_factory(mut self, factory: EnvFactory) -> Trainer {
        self.factory = Some(factory);
        self
    }

    /// The run's configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Iterations completed.
    pub fn iterations_done(&self) -> u64 {
        self.iterations_done
    }

    /// The training curve so far (one row per iteration of this process; a resumed run starts empty).
    pub fn curve(&self) -> &[IterationStats] {
        &self.curve
    }

    /// Sets the total iteration count (for a resumed run).
    pub fn set_iterations(&mut self, iterations: u64) {
        self.config.iterations = iterations;
    }

    /// Runs iterations until `config.iterations` are done, calling `on_iteration` after each.
    ///
    /// # Errors
    /// Any error of [`Trainer::iterate`].
    pub fn run(&mut self, mut on_iteration: impl FnMut(&IterationStats)) -> Result<()> {
        while self.iterations_done < self.config.iterations {
            let s = self.iterate()?;
            on_iteration(&s);
        }
        Ok(())
    }

    /// One iteration: episodes, then the algorithm's updates.
    ///
    /// # Errors
    /// [`Error::Env`] when an environment fails; backend errors.
    pub fn iterate(&mut self) -> Result<IterationStats> {
        let it = self.iterations_done;
        let config = &self.config;
        let e_per = config.episodes_per_iteration as u64;
        let first_episode = it * e_per;
        let factory = self.factory.as_ref();
        let stats = match &mut self.learner {
            Learner::Dqn(d) => d.iterate(config, factory, first_episode)?,
            Learner::Gnn(g) => match config.algo {
                Algo::A3c => a3c_iteration(config, factory, g, first_episode)?,
                _ => {
                    let envs = (0..e_per)
                        .map(|e| make_env(config, factory, first_episode + e))
                        .collect::<Result<Vec<_>>>()?;
                    let mut rngs: Vec<des::SimRng> = (0..e_per)
                        .map(|e| {
                            des::RngStreams::new(config.seed).indexed("rollout", first_episode + e)
                        })
                        .collect();
                    let policy_net = g.net.valid();
                    let episodes = rollout_gnn(
                        &policy_net,
                        &config.encoder,
                        config.state,
                        envs,
                        &mut rngs,
                        false,
                    )?;
                    pg_update(config, g, &episodes, it)?
                }
            },
        };
        self.iterations_done += 1;
        let stats = IterationStats {
            iteration: self.iterations_done,
            ..stats
        };
        self.curve.push(stats.clone());
        Ok(stats)
    }

    /// The trained policy (greedy: most likely action; otherwise sampled).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] only for an invalid state window (not reachable after `new`).
    pub fn policy(&self, name: &str, greedy: bool) -> Result<crate::LearnedPolicy> {
        crate::checkpoint::policy_from_learner(&self.config, &self.learner, name, greedy)
    }
}

fn episode_stats(episodes: &[EpisodeRecord]) -> IterationStats {
    let n = episodes.len().max(1) as f64;
    let finished: u64 = episodes.iter().map(|e| e.n_finished).sum();
    let slow: f64 = episodes.iter().map(|e| e.slowdown_sum).sum();
    IterationStats {
        iteration: 0,
        episodes: episodes.len(),
        decisions: episodes.iter().map(|e| e.decisions.len()).sum(),
        mean_reward: episodes.iter().map(|e| e.total_reward).sum::<f64>() / n,
        mean_slowdown: if finished > 0 {
            slow / finished as f64
        } else {
            0.0
        },
        entropy: 0.0,
        policy_loss: 0.0,
        value_loss: 0.0,
    }
}

/// REINFORCE (one step on everything) or PPO (epochs x minibatches) on a batch of episodes.
fn pg_update(
    config: &TrainConfig,
    g: &mut GnnLearner,
    episodes: &[EpisodeRecord],
    it: u64,
) -> Result<IterationStats> {
    let mut stats = episode_stats(episodes);
    let lambda = if config.algo == Algo::Reinforce {
        1.0
    } else {
        config.gae_lambda
    };
    let tg = targets(episodes, config, lambda, &mut g.ret_scale);
    let decisions: Vec<&Decision> = episodes.iter().flat_map(|e| &e.decisions).collect();
    if decisions.is_empty() {
        return Ok(stats);
    }
    let all: Vec<usize> = (0..decisions.len()).collect();
    // Entropy at the first update (before this batch moves the policy).
    let mut first_entropy = None;
    let mut last = None;
    match config.algo {
        Algo::Ppo => {
            let mut rng = des::RngStreams::new(config.seed).indexed("minibatch", it);
            let mut order = all;
            let mb = order.len().div_ceil(config.minibatches).max(1);
            for _ in 0..config.ppo_epochs {
                shuffle(&mut order, &mut rng);
                for chunk in order.chunks(mb) {
                    let mut idx = chunk.to_vec();
                    idx.sort_unstable();
                    let l = g.step(config, &decisions, &tg, &idx, true)?;
                    first_entropy.get_or_insert(l.entropy);
                    last = Some(l);
                }
            }
        }
        _ => {
            let l = g.step(config, &decisions, &tg, &all, false)?;
            first_entropy.get_or_insert(l.entropy);
            last = Some(l);
        }
    }
    if let Some(l) = last {
        stats.policy_loss = l.policy;
        stats.value_loss = l.value;
    }
    stats.entropy = first_entropy.unwrap_or(0.0);
    Ok(stats)
}

/// Fisher-Yates with the given rng.
pub(crate) fn shuffle<T>(v: &mut [T], rng: &mut des::SimRng) {
    use rand::Rng;
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

/// A3C: `workers` threads, each running its share of the iteration's episodes one at a time on a
/// snapshot of the shared model and applying its actor-critic gradient to the shared model.
fn a3c_iteration(
    config: &TrainConfig,
    factory: Option<&EnvFactory>,
    g: &mut GnnLearner,
    first_episode: u64,
) -> Result<IterationStats> {
    struct Shared {
        net: AllocNet,
        optim: ModuleOptimizer,
        ret_scale: f64,
        n_updates: u64,
    }
    let shared = Mutex::new(Shared {
        net: g.net.clone(),
        optim: std::mem::replace(&mut g.optim, config.optimizer()),
        ret_scale: g.ret_scale,
        n_updates: g.n_updates,
    });
    let n_workers = config.workers.min(config.episodes_per_iteration).max(1);
    /// A worker's episodes with the entropy, policy loss and value loss of their updates.
    type WorkerOutput = Result<Vec<(EpisodeRecord, [f64; 3])>>;
    let results: Vec<WorkerOutput> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n_workers)
            .map(|w| {
                let shared = &shared;
                scope.spawn(move || -> WorkerOutput {
                    let mut out = Vec::new();
                    let mut e = w;
                    while e < config.episodes_per_iteration {
                        let episode = first_episode + e as u64;
                        let (snapshot, mut ret_scale, update_idx) = {
                            let s = shared.lock().map_err(|_| poisoned())?;
                            // Fresh autodiff leaves (same parameter ids): two workers' backward passes
                            // must not share graph nodes.
                            (s.net.valid().train(), s.ret_scale, s.n_updates)
                        };
                        let env = make_env(config, factory, episode)?;
                        let mut rng =
                            [des::RngStreams::new(config.seed).indexed("rollout", episode)];
                        let eps = rollout_gnn(
                            &snapshot.valid(),
                            &config.encoder,
                            config.state,
                            vec![env],
                            &mut rng,
                            false,
                        )?;
                        // This worker's targets use the scale of its snapshot updated by its own
                        // episodes; the shared scale gets the same update below, applied to its
                        // current value under the model's lock, so no worker's update is lost.
                        let mc_std = mc_return_std(&eps, config.gamma);
                        let tg = targets(&eps, config, config.gae_lambda, &mut ret_scale);
                        let decisions: Vec<&Decision> =
                            eps.iter().flat_map(|e| &e.decisions).collect();
                        let mut losses = [0.0; 3];
                        if !decisions.is_empty() {
                            let all: Vec<usize> = (0..decisions.len()).collect();
                            // Gradients on the snapshot, outside the lock; the snapshot shares the
                            // shared model's parameter ids, so they apply to it even if other workers
                            // moved it meanwhile (the asynchronous update of A3C).
                            let (grads, l) = compute_grads(
                                config, &snapshot, &decisions, &tg, &all, false, update_idx,
                            )?;
                            let mut s = shared.lock().map_err(|_| poisoned())?;
                            let net = s.net.clone();
                            s.net = s.optim.step(config.learning_rate, net, grads);
                            // Read-modify-write of the shared scale under the same lock as the model
                            // update (writing back the worker's `ret_scale` would drop every update
                            // other workers made since its snapshot).
                            s.ret_scale = update_ret_scale(s.ret_scale, mc_std);
                            s.n_updates += 1;
                            losses = [l.entropy, l.policy, l.value];
                        }
                        drop(decisions);
                        out.push((eps.into_iter().next().unwrap_or_default(), losses));
                        e += n_workers;
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(poisoned())))
            .collect()
    });
    let mut episodes = Vec::new();
    let mut losses = Vec::new();
    for r in results {
        for (ep, l) in r? {
            episodes.push(ep);
            losses.push(l);
        }
    }
    let s = shared.into_inner().map_err(|_| poisoned())?;
    g.net = s.net;
    g.optim = s.optim;
    g.ret_scale = s.ret_scale;
    g.n_updates = s.n_updates;
    let mut stats = episode_stats(&episodes);
    let mean = |k: usize| losses.iter().map(|l| l[k]).sum::<f64>() / losses.len().max(1) as f64;
    stats.entropy = mean(0);
    stats.policy_loss = mean(1);
    stats.value_loss = mean(2);
    Ok(stats)
}

fn poisoned() -> Error {
    Error::Backend {
        context: "an A3C worker panicked".into(),
    }
}
