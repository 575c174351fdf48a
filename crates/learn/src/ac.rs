//! The policy-gradient core every actor-critic in this crate shares: REINFORCE with a learned value
//! baseline, PPO (clipped surrogate, GAE) and A3C (asynchronous workers updating one shared model),
//! generic over the model ([`ActorCritic`]: states and actions of any shape in, log-probabilities,
//! entropy and values out) and over where episodes come from (a rollout function). Allocation
//! ([`crate::rl`]) and autoscaling ([`crate::autoscale`]) plug their networks and environments into
//! the same code.
//!
//! Rewards are credited to the decision that preceded them; advantages are GAE(`gamma`, `lambda`) per
//! decision (REINFORCE: `lambda` = 1, Monte-Carlo returns minus the baseline), normalised per batch
//! (and optionally per episode first); the value head learns returns divided by a running return
//! scale (an exponential moving average of the Monte-Carlo return standard deviation).

use std::sync::Mutex;

use burn::module::Module;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Tensor, TensorData};

use crate::encoder::{device, to_vec};
use crate::error::{Error, Result};
use crate::rl::AdvNorm;

/// What the update rules read of a run's configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PgParams {
    /// Root seed (dropout masks and PPO minibatches come from its sub-streams).
    pub(crate) seed: u64,
    pub(crate) learning_rate: f64,
    pub(crate) gamma: f64,
    pub(crate) gae_lambda: f64,
    pub(crate) entropy_coef: f64,
    pub(crate) value_coef: f64,
    pub(crate) max_grad_norm: f32,
    pub(crate) ppo_clip: f64,
    pub(crate) ppo_epochs: usize,
    pub(crate) minibatches: usize,
    pub(crate) adv_norm: AdvNorm,
    pub(crate) workers: usize,
    pub(crate) episodes_per_iteration: usize,
}

impl PgParams {
    /// Adam with gradient clipping by global norm.
    pub(crate) fn optimizer(&self) -> ModuleOptimizer {
        AdamConfig::new()
            .with_grad_clipping(Some(GradientClippingConfig::Norm(self.max_grad_norm)))
            .init()
    }
}

/// The policy-gradient algorithms of the shared core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PgAlgo {
    Reinforce,
    Ppo,
}

/// A network with a policy and a value head.
pub(crate) trait ActorCritic: Module + Clone + Send + Sync {
    /// One decision's input.
    type State: Send + Sync;
    /// One decision's choice.
    type Action: Send + Sync;
    /// What the forward pass needs besides the parameters (e.g. the encoder's configuration).
    type Ctx: Sync;

    /// For each `(state, action)`: the log-probability of the action, and the value of the state
    /// (return-scale units); and the mean entropy of the policies (a one-element tensor). `dropout`
    /// draws dropout masks while training (`None`: no dropout).
    fn evaluate(
        &self,
        ctx: &Self::Ctx,
        states: &[&Self::State],
        actions: &[&Self::Action],
        dropout: Option<&mut des::SimRng>,
    ) -> Result<Evaluation>;
}

/// What [`ActorCritic::evaluate`] returns (autodiff tensors when the model is in training mode).
pub(crate) struct Evaluation {
    /// Log-probability per decision.
    pub(crate) logp: Tensor<1>,
    /// Mean entropy, one element.
    pub(crate) entropy: Tensor<1>,
    /// Value per decision.
    pub(crate) value: Tensor<1>,
}

/// One decision of a rollout.
#[derive(Debug, Clone)]
pub(crate) struct Decision<S, A> {
    pub(crate) state: S,
    pub(crate) action: A,
    pub(crate) logp: f32,
    /// Value estimate at rollout time (return-scale units).
    pub(crate) value: f32,
    /// Reward from this decision until the next one.
    pub(crate) reward: f64,
}

/// One finished episode and the scenario's own measure of it (`metric_sum` over `metric_n` items:
/// slowdowns of finished jobs for allocation, for example).
#[derive(Debug, Clone)]
pub(crate) struct EpisodeRecord<S, A> {
    pub(crate) decisions: Vec<Decision<S, A>>,
    pub(crate) total_reward: f64,
    pub(crate) metric_sum: f64,
    pub(crate) metric_n: u64,
}

impl<S, A> Default for EpisodeRecord<S, A> {
    fn default() -> Self {
        EpisodeRecord {
            decisions: Vec::new(),
            total_reward: 0.0,
            metric_sum: 0.0,
            metric_n: 0,
        }
    }
}

impl<S, A> EpisodeRecord<S, A> {
    /// Adds `reward` to the episode and to its last decision (before any decision: the episode only).
    pub(crate) fn credit(&mut self, reward: f64) {
        self.total_reward += reward;
        if let Some(d) = self.decisions.last_mut() {
            d.reward += reward;
        }
    }
}

/// Losses of the last update of an iteration, and the policy's entropy before the iteration's first.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct UpdateStats {
    pub(crate) entropy: f64,
    pub(crate) policy_loss: f64,
    pub(crate) value_loss: f64,
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
pub(crate) fn mc_return_std<S, A>(episodes: &[EpisodeRecord<S, A>], gamma: f64) -> f64 {
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
pub(crate) fn targets<S, A>(
    episodes: &[EpisodeRecord<S, A>],
    p: &PgParams,
    lambda: f64,
    ret_scale: &mut f64,
) -> Targets {
    *ret_scale = update_ret_scale(*ret_scale, mc_return_std(episodes, p.gamma));
    let mut adv_all = Vec::new();
    let mut ret_all = Vec::new();
    for ep in episodes {
        let rewards: Vec<f64> = ep.decisions.iter().map(|d| d.reward).collect();
        let values: Vec<f64> = ep
            .decisions
            .iter()
            .map(|d| f64::from(d.value) * *ret_scale)
            .collect();
        let (mut a, r) = gae(&rewards, &values, p.gamma, lambda);
        if p.adv_norm == AdvNorm::Episode {
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

pub(crate) fn tensor1(v: Vec<f32>) -> Tensor<1> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), &device(true))
}

pub(crate) fn scalar(t: Tensor<1>) -> Result<f64> {
    Ok(f64::from(to_vec(t.reshape([1, 1]))?[0]))
}

/// A model being trained: network, optimiser, running return scale and update count.
pub(crate) struct Learner<M> {
    pub(crate) net: M,
    pub(crate) optim: ModuleOptimizer,
    pub(crate) ret_scale: f64,
    pub(crate) n_updates: u64,
}

impl<M: ActorCritic> Learner<M> {
    /// A learner of `net` (in training mode) with a fresh optimiser.
    pub(crate) fn new(net: M, p: &PgParams) -> Learner<M> {
        Learner {
            net: net.train(),
            optim: p.optimizer(),
            ret_scale: 0.0,
            n_updates: 0,
        }
    }

    /// One gradient step on `idx` of the flattened decisions.
    fn step(
        &mut self,
        p: &PgParams,
        ctx: &M::Ctx,
        decisions: &[&Decision<M::State, M::Action>],
        tg: &Targets,
        idx: &[usize],
        ppo: bool,
    ) -> Result<UpdateStats> {
        let (grads, losses) =
            compute_grads(p, ctx, &self.net, decisions, tg, idx, ppo, self.n_updates)?;
        self.net = self.optim.step(p.learning_rate, self.net.clone(), grads);
        self.n_updates += 1;
        Ok(losses)
    }
}

/// Loss and gradients of one step on `idx` of the flattened decisions (PPO's clipped objective when
/// `ppo`, the plain policy gradient otherwise).
#[allow(clippy::too_many_arguments)]
pub(crate) fn compute_grads<M: ActorCritic>(
    p: &PgParams,
    ctx: &M::Ctx,
    net: &M,
    decisions: &[&Decision<M::State, M::Action>],
    tg: &Targets,
    idx: &[usize],
    ppo: bool,
    update_idx: u64,
) -> Result<(GradientsParams, UpdateStats)> {
    let states: Vec<&M::State> = idx.iter().map(|&k| &decisions[k].state).collect();
    let actions: Vec<&M::Action> = idx.iter().map(|&k| &decisions[k].action).collect();
    let mut drop_rng = des::RngStreams::new(p.seed).indexed("dropout", update_idx);
    let ev = net.evaluate(ctx, &states, &actions, Some(&mut drop_rng))?;
    let adv = tensor1(idx.iter().map(|&k| tg.advantages[k]).collect());
    let vt = tensor1(idx.iter().map(|&k| tg.value_targets[k]).collect());
    let policy_loss = if ppo {
        let old = tensor1(idx.iter().map(|&k| decisions[k].logp).collect());
        let ratio = (ev.logp - old).exp();
        let clipped = ratio.clone().clamp(1.0 - p.ppo_clip, 1.0 + p.ppo_clip);
        -(ratio * adv.clone()).min_pair(clipped * adv).mean()
    } else {
        -(ev.logp * adv).mean()
    };
    let value_loss = (ev.value - vt).square().mean();
    let loss = policy_loss.clone() + value_loss.clone().mul_scalar(p.value_coef)
        - ev.entropy.clone().mul_scalar(p.entropy_coef);
    let losses = UpdateStats {
        policy_loss: scalar(policy_loss)?,
        value_loss: scalar(value_loss)?,
        entropy: scalar(ev.entropy)?,
    };
    Ok((GradientsParams::from_grads(loss.backward(), net), losses))
}

/// REINFORCE (one step on everything, `lambda` = 1) or PPO (`ppo_epochs` passes over shuffled
/// minibatches) on a batch of episodes; `it` seeds PPO's minibatch order.
pub(crate) fn pg_update<M: ActorCritic>(
    p: &PgParams,
    algo: PgAlgo,
    ctx: &M::Ctx,
    learner: &mut Learner<M>,
    episodes: &[EpisodeRecord<M::State, M::Action>],
    it: u64,
) -> Result<UpdateStats> {
    let lambda = if algo == PgAlgo::Reinforce {
        1.0
    } else {
        p.gae_lambda
    };
    let tg = targets(episodes, p, lambda, &mut learner.ret_scale);
    let decisions: Vec<&Decision<M::State, M::Action>> =
        episodes.iter().flat_map(|e| &e.decisions).collect();
    if decisions.is_empty() {
        return Ok(UpdateStats::default());
    }
    let all: Vec<usize> = (0..decisions.len()).collect();
    // Entropy at the first update (before this batch moves the policy).
    let mut first_entropy = None;
    let mut last = UpdateStats::default();
    match algo {
        PgAlgo::Ppo => {
            let mut rng = des::RngStreams::new(p.seed).indexed("minibatch", it);
            let mut order = all;
            let mb = order.len().div_ceil(p.minibatches).max(1);
            for _ in 0..p.ppo_epochs {
                shuffle(&mut order, &mut rng);
                for chunk in order.chunks(mb) {
                    let mut idx = chunk.to_vec();
                    idx.sort_unstable();
                    let l = learner.step(p, ctx, &decisions, &tg, &idx, true)?;
                    first_entropy.get_or_insert(l.entropy);
                    last = l;
                }
            }
        }
        PgAlgo::Reinforce => {
            let l = learner.step(p, ctx, &decisions, &tg, &all, false)?;
            first_entropy.get_or_insert(l.entropy);
            last = l;
        }
    }
    Ok(UpdateStats {
        entropy: first_entropy.unwrap_or(0.0),
        ..last
    })
}

/// Fisher-Yates with the given rng.
pub(crate) fn shuffle<T>(v: &mut [T], rng: &mut des::SimRng) {
    use rand::Rng;
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

/// The episodes of model `M`.
pub(crate) type Episodes<M> =
    Vec<EpisodeRecord<<M as ActorCritic>::State, <M as ActorCritic>::Action>>;

/// One episode on a model snapshot (inference mode): episode index in, record out.
pub(crate) type Rollout<'a, M> = dyn Fn(&M, u64) -> Result<EpisodeRecord<<M as ActorCritic>::State, <M as ActorCritic>::Action>>
    + Sync
    + 'a;

/// A3C: `workers` threads, each running its share of the iteration's episodes (`first_episode..`)
/// one at a time on a snapshot of the shared model and applying its actor-critic gradient to the
/// shared model. Returns the episodes in worker order and the mean losses of the updates.
pub(crate) fn a3c_iteration<M: ActorCritic>(
    p: &PgParams,
    ctx: &M::Ctx,
    learner: &mut Learner<M>,
    first_episode: u64,
    rollout: &Rollout<'_, M>,
) -> Result<(Episodes<M>, UpdateStats)> {
    struct Shared<M> {
        net: M,
        optim: ModuleOptimizer,
        ret_scale: f64,
        n_updates: u64,
    }
    let shared = Mutex::new(Shared {
        net: learner.net.clone(),
        optim: std::mem::replace(&mut learner.optim, p.optimizer()),
        ret_scale: learner.ret_scale,
        n_updates: learner.n_updates,
    });
    let n_workers = p.workers.min(p.episodes_per_iteration).max(1);
    type WorkerOutput<S, A> = Result<Vec<(EpisodeRecord<S, A>, UpdateStats)>>;
    let results: Vec<WorkerOutput<M::State, M::Action>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n_workers)
            .map(|w| {
                let shared = &shared;
                scope.spawn(move || -> WorkerOutput<M::State, M::Action> {
                    let mut out = Vec::new();
                    let mut e = w;
                    while e < p.episodes_per_iteration {
                        let episode = first_episode + e as u64;
                        let (snapshot, mut ret_scale, update_idx) = {
                            let s = shared.lock().map_err(|_| poisoned())?;
                            // Fresh autodiff leaves (same parameter ids): two workers' backward passes
                            // must not share graph nodes.
                            (s.net.valid().train(), s.ret_scale, s.n_updates)
                        };
                        let ep = rollout(&snapshot.valid(), episode)?;
                        let eps = [ep];
                        // This worker's targets use the scale of its snapshot updated by its own
                        // episode; the shared scale gets the same update below, applied to its
                        // current value under the model's lock, so no worker's update is lost.
                        let mc_std = mc_return_std(&eps, p.gamma);
                        let tg = targets(&eps, p, p.gae_lambda, &mut ret_scale);
                        let decisions: Vec<&Decision<M::State, M::Action>> =
                            eps.iter().flat_map(|e| &e.decisions).collect();
                        let mut losses = UpdateStats::default();
                        if !decisions.is_empty() {
                            let all: Vec<usize> = (0..decisions.len()).collect();
                            // Gradients on the snapshot, outside the lock; the snapshot shares the
                            // shared model's parameter ids, so they apply to it even if other workers
                            // moved it meanwhile (the asynchronous update of A3C).
                            let (grads, l) = compute_grads(
                                p, ctx, &snapshot, &decisions, &tg, &all, false, update_idx,
                            )?;
                            let mut s = shared.lock().map_err(|_| poisoned())?;
                            let net = s.net.clone();
                            s.net = s.optim.step(p.learning_rate, net, grads);
                            s.ret_scale = update_ret_scale(s.ret_scale, mc_std);
                            s.n_updates += 1;
                            losses = l;
                        }
                        drop(decisions);
                        let [ep] = eps;
                        out.push((ep, losses));
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
    learner.net = s.net;
    learner.optim = s.optim;
    learner.ret_scale = s.ret_scale;
    learner.n_updates = s.n_updates;
    let n = losses.len().max(1) as f64;
    let stats = UpdateStats {
        entropy: losses.iter().map(|l| l.entropy).sum::<f64>() / n,
        policy_loss: losses.iter().map(|l| l.policy_loss).sum::<f64>() / n,
        value_loss: losses.iter().map(|l| l.value_loss).sum::<f64>() / n,
    };
    Ok((episodes, stats))
}

fn poisoned() -> Error {
    Error::Backend {
        context: "an A3C worker panicked".into(),
    }
}
