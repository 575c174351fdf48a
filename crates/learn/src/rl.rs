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

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use cluster::{Action, Environment};
use serde::{Deserialize, Serialize};

use crate::ac;
use crate::dqn::{DqnConfig, DqnLearner};
use crate::encoder::{EncoderConfig, EncoderKind, device};
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
        self.pg().optimizer()
    }

    /// What the shared policy-gradient core reads of this config.
    pub(crate) fn pg(&self) -> ac::PgParams {
        ac::PgParams {
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

/// One allocation decision of a rollout (the graph state and the chosen (invocation, machine), or
/// wait).
pub(crate) type Decision = ac::Decision<StateGraph, Option<(usize, usize)>>;

/// One finished allocation episode (`metric_sum`: the slowdowns of its finished jobs).
pub(crate) type EpisodeRecord = ac::EpisodeRecord<StateGraph, Option<(usize, usize)>>;

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
    let mut records: Vec<EpisodeRecord> =
        (0..envs.len()).map(|_| EpisodeRecord::default()).collect();
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
                records[e].credit(out.reward);
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
            records[e].credit(out.reward);
        }
    }
    for (rec, env) in records.iter_mut().zip(&envs) {
        let m = env.metrics();
        rec.metric_n = m.slowdown.n();
        rec.metric_sum = m.slowdown_mean().unwrap_or(0.0) * m.slowdown.n() as f64;
    }
    Ok(records)
}

impl ac::ActorCritic for AllocNet {
    type State = StateGraph;
    type Action = Option<(usize, usize)>;
    type Ctx = EncoderConfig;

    fn evaluate(
        &self,
        encoder: &EncoderConfig,
        states: &[&StateGraph],
        actions: &[&Option<(usize, usize)>],
        dropout: Option<&mut des::SimRng>,
    ) -> Result<ac::Evaluation> {
        let dev = device(true);
        let batch = Batch::new(states, &dev)?;
        let actions: Vec<Option<(usize, usize)>> = actions.iter().map(|a| **a).collect();
        let sel = Selection::new(&actions, batch.width, batch.n_machines, &dev);
        let heads = self.forward(encoder, &batch, dropout);
        Ok(ac::Evaluation {
            logp: heads.log_prob(&sel),
            entropy: heads.entropy().mean(),
            value: heads.value,
        })
    }
}

/// The GNN learner of allocation: policy network, optimiser and running return scale.
pub(crate) type GnnLearner = ac::Learner<AllocNet>;

/// A fresh GNN learner for `config`.
pub(crate) fn gnn_learner(config: &TrainConfig) -> GnnLearner {
    let mut rng = des::RngStreams::new(config.seed).stream("encoder_init");
    let net = AllocNet::new(&config.encoder, &mut rng, &device(true));
    ac::Learner::new(net, &config.pg())
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
            _ => Learner::Gnn(gnn_learner(&config)),
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
            Learner::Gnn(g) => {
                let p = config.pg();
                let (episodes, upd) = match config.algo {
                    Algo::A3c => {
                        let rollout = |net: &AllocNet, episode: u64| -> Result<EpisodeRecord> {
                            let env = make_env(config, factory, episode)?;
                            let mut rng =
                                [des::RngStreams::new(config.seed).indexed("rollout", episode)];
                            let eps = rollout_gnn(
                                net,
                                &config.encoder,
                                config.state,
                                vec![env],
                                &mut rng,
                                false,
                            )?;
                            Ok(eps.into_iter().next().unwrap_or_default())
                        };
                        ac::a3c_iteration(&p, &config.encoder, g, first_episode, &rollout)?
                    }
                    _ => {
                        let envs = (0..e_per)
                            .map(|e| make_env(config, factory, first_episode + e))
                            .collect::<Result<Vec<_>>>()?;
                        let mut rngs: Vec<des::SimRng> = (0..e_per)
                            .map(|e| {
                                des::RngStreams::new(config.seed)
                                    .indexed("rollout", first_episode + e)
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
                        let algo = if config.algo == Algo::Ppo {
                            ac::PgAlgo::Ppo
                        } else {
                            ac::PgAlgo::Reinforce
                        };
                        let upd = ac::pg_update(&p, algo, &config.encoder, g, &episodes, it)?;
                        (episodes, upd)
                    }
                };
                IterationStats {
                    entropy: upd.entropy,
                    policy_loss: upd.policy_loss,
                    value_loss: upd.value_loss,
                    ..episode_stats(&episodes)
                }
            }
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
    let finished: u64 = episodes.iter().map(|e| e.metric_n).sum();
    let slow: f64 = episodes.iter().map(|e| e.metric_sum).sum();
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

/// Fisher-Yates with the given rng.
pub(crate) fn shuffle<T>(v: &mut [T], rng: &mut des::SimRng) {
    ac::shuffle(v, rng);
}
