//! DQN over the flat (non-graph) state, the paper's non-graph baseline: an MLP from
//! [`crate::state::flat_state`] to one Q-value per `(pending slot, machine)` plus "wait", epsilon-greedy
//! rollouts, a replay buffer, double-DQN targets and a target network synchronised every
//! `target_sync` updates. Invalid actions are masked out of both the greedy choice and the targets.

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use cluster::{Action, Environment, Observation};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::encoder::{Dense, device, to_vec};
use crate::error::{Error, Result};
use crate::rl::{EnvFactory, IterationStats, TrainConfig, env_err, make_env};
use crate::state::{flat_len, flat_state, is_valid_placement};

/// DQN's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DqnConfig {
    /// Hidden width of the two hidden layers.
    pub hidden: usize,
    /// Replay buffer capacity (transitions).
    pub buffer: usize,
    /// Minibatch size.
    pub batch: usize,
    /// Gradient updates per iteration.
    pub updates_per_iteration: usize,
    /// Updates between target-network synchronisations.
    pub target_sync: u64,
    /// Exploration rate at the start.
    pub eps_start: f64,
    /// Exploration rate after the decay.
    pub eps_end: f64,
    /// Iterations of linear decay from `eps_start` to `eps_end`.
    pub eps_decay_iterations: u64,
    /// Multiplier on rewards (keeps Q-values near 1).
    pub reward_scale: f64,
}

impl Default for DqnConfig {
    fn default() -> Self {
        DqnConfig {
            hidden: 128,
            buffer: 50_000,
            batch: 64,
            updates_per_iteration: 64,
            target_sync: 200,
            eps_start: 1.0,
            eps_end: 0.05,
            eps_decay_iterations: 50,
            reward_scale: 0.1,
        }
    }
}

impl DqnConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, reason: String| Err(Error::InvalidConfig { field, reason });
        if !(1..=4096).contains(&self.hidden) {
            return bad("dqn.hidden", format!("{} not in 1..=4096", self.hidden));
        }
        if self.batch == 0 || self.buffer < self.batch {
            return bad(
                "dqn.buffer/batch",
                format!(
                    "batch {} must be >= 1 and <= buffer {}",
                    self.batch, self.buffer
                ),
            );
        }
        if self.target_sync == 0 {
            return bad("dqn.target_sync", "at least 1".into());
        }
        for (f, v) in [
            ("dqn.eps_start", self.eps_start),
            ("dqn.eps_end", self.eps_end),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(f, format!("{v} not in [0, 1]"));
            }
        }
        if !(self.reward_scale.is_finite() && self.reward_scale > 0.0) {
            return bad(
                "dqn.reward_scale",
                format!("{} must be > 0", self.reward_scale),
            );
        }
        Ok(())
    }
}

/// The Q-network: flat state -> hidden -> hidden -> Q per action.
#[derive(Module, Debug)]
pub(crate) struct QNet {
    l1: Dense,
    l2: Dense,
    out: Dense,
}

impl QNet {
    pub(crate) fn new(
        n_in: usize,
        hidden: usize,
        n_out: usize,
        rng: &mut des::SimRng,
        dev: &Device,
    ) -> QNet {
        QNet {
            l1: Dense::new(rng, n_in, hidden, true, dev),
            l2: Dense::new(rng, hidden, hidden, true, dev),
            out: Dense::new(rng, hidden, n_out, true, dev),
        }
    }

    pub(crate) fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.out
            .forward(relu(self.l2.forward(relu(self.l1.forward(x)))))
    }
}

/// The action space of a DQN: `width x n_machines` placements plus wait (last).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DqnSpace {
    pub(crate) width: usize,
    pub(crate) n_machines: usize,
}

impl DqnSpace {
    pub(crate) fn n_actions(&self) -> usize {
        self.width * self.n_machines + 1
    }

    pub(crate) fn n_inputs(&self) -> usize {
        flat_len(self.width, self.n_machines)
    }

    /// Validity of every action in `obs` (wait always valid).
    pub(crate) fn valid(&self, obs: &Observation) -> Vec<bool> {
        let mut v = vec![false; self.n_actions()];
        for i in 0..obs.pending.len().min(self.width) {
            for j in 0..obs.machines.len().min(self.n_machines) {
                v[i * self.n_machines + j] = is_valid_placement(obs, i, j);
            }
        }
        v[self.width * self.n_machines] = true;
        v
    }

    pub(crate) fn action(&self, a: usize) -> Action {
        if a >= self.width * self.n_machines {
            Action::Wait
        } else {
            Action::Place {
                pending_idx: a / self.n_machines,
                machine_idx: a % self.n_machines,
            }
        }
    }
}

/// Index of the largest `q` among valid actions (first on ties).
pub(crate) fn masked_argmax(q: &[f32], valid: &[bool]) -> usize {
    let mut best = None::<usize>;
    for (a, (&v, &ok)) in q.iter().zip(valid).enumerate() {
        if ok && best.is_none_or(|b| v > q[b]) {
            best = Some(a);
        }
    }
    best.unwrap_or(valid.len().saturating_sub(1))
}

fn matrix(rows: &[&[f32]], width: usize, dev: &Device) -> Tensor<2> {
    let mut v = Vec::with_capacity(rows.len() * width);
    for r in rows {
        v.extend_from_slice(r);
    }
    Tensor::from_data(TensorData::new(v, [rows.len(), width]), dev)
}

/// Q-values of `rows` (inference), row-major `rows x n_actions`.
pub(crate) fn q_values(net: &QNet, rows: &[&[f32]], n_in: usize) -> Result<Vec<f32>> {
    to_vec(net.forward(matrix(rows, n_in, &device(false))))
}

#[derive(Debug, Clone)]
struct Transition {
    s: Vec<f32>,
    a: u32,
    r: f32,
    s2: Vec<f32>,
    valid2: Vec<bool>,
    done: bool,
}

/// DQN's model, target network, optimiser and replay buffer.
pub(crate) struct DqnLearner {
    pub(crate) net: QNet,
    target: QNet,
    optim: ModuleOptimizer,
    buffer: Vec<Transition>,
    next_slot: usize,
    n_updates: u64,
    pub(crate) space: DqnSpace,
}

impl DqnLearner {
    pub(crate) fn new(config: &TrainConfig) -> DqnLearner {
        let space = DqnSpace {
            width: config.state.max_pending,
            n_machines: config.scenario.n_machines(),
        };
        let mut rng = des::RngStreams::new(config.seed).stream("dqn_init");
        let net = QNet::new(
            space.n_inputs(),
            config.dqn.hidden,
            space.n_actions(),
            &mut rng,
            &device(true),
        )
        .train();
        DqnLearner {
            target: net.clone(),
            net,
            optim: config.optimizer(),
            buffer: Vec::new(),
            next_slot: 0,
            n_updates: 0,
            space,
        }
    }

    pub(crate) fn sync_target(&mut self) {
        self.target = self.net.clone();
    }

    fn push(&mut self, t: Transition, capacity: usize) {
        if self.buffer.len() < capacity {
            self.buffer.push(t);
        } else {
            self.buffer[self.next_slot] = t;
            self.next_slot = (self.next_slot + 1) % capacity;
        }
    }

    pub(crate) fn iterate(
        &mut self,
        config: &TrainConfig,
        factory: Option<&EnvFactory>,
        first_episode: u64,
    ) -> Result<IterationStats> {
        let d = &config.dqn;
        let it = first_episode / config.episodes_per_iteration as u64;
        let frac = (it as f64 / d.eps_decay_iterations.max(1) as f64).min(1.0);
        let eps = d.eps_start + (d.eps_end - d.eps_start) * frac;
        let e_per = config.episodes_per_iteration;
        let mut envs: Vec<Box<dyn Environment>> = (0..e_per as u64)
            .map(|e| make_env(config, factory, first_episode + e))
            .collect::<Result<_>>()?;
        let mut rngs: Vec<des::SimRng> = (0..e_per as u64)
            .map(|e| des::RngStreams::new(config.seed).indexed("rollout", first_episode + e))
            .collect();
        let space = self.space;
        let n_in = space.n_inputs();
        let policy = self.net.valid();
        // Per environment: the transition waiting for its next state.
        let mut open: Vec<Option<Transition>> = vec![None; e_per];
        let mut totals = vec![0.0f64; e_per];
        let mut n_decisions = 0usize;
        let mut flat = Vec::new();
        loop {
            let mut ready: Vec<(usize, Vec<f32>, Vec<bool>)> = Vec::new();
            for (e, env) in envs.iter_mut().enumerate() {
                while !env.is_done() {
                    let obs = env.observe();
                    if !obs.pending.is_empty() {
                        let valid = space.valid(obs);
                        if valid[..valid.len() - 1].iter().any(|&v| v) {
                            flat_state(obs, space.width, space.n_machines, &mut flat);
                            ready.push((e, flat.clone(), valid));
                            break;
                        }
                    }
                    let out = env.step(Action::Wait).map_err(env_err)?;
                    totals[e] += out.reward;
                    if let Some(t) = open[e].as_mut() {
                        t.r += (out.reward * d.reward_scale) as f32;
                    }
                }
                if env.is_done()
                    && let Some(mut t) = open[e].take()
                {
                    t.done = true;
                    t.s2 = vec![0.0; n_in];
                    t.valid2 = vec![true; space.n_actions()];
                    self.push(t, d.buffer);
                }
            }
            if ready.is_empty() {
                break;
            }
            let rows: Vec<&[f32]> = ready.iter().map(|(_, s, _)| s.as_slice()).collect();
            let q = q_values(&policy, &rows, n_in)?;
            let na = space.n_actions();
            for (k, (e, s, valid)) in ready.into_iter().enumerate() {
                if let Some(mut t) = open[e].take() {
                    t.s2 = s.clone();
                    t.valid2 = valid.clone();
                    self.push(t, d.buffer);
                }
                let rng = &mut rngs[e];
                let a = if rng.random::<f64>() < eps {
                    let choices: Vec<usize> = (0..na).filter(|&a| valid[a]).collect();
                    choices[rng.random_range(0..choices.len())]
                } else {
                    masked_argmax(&q[k * na..(k + 1) * na], &valid)
                };
                let out = envs[e].step(space.action(a)).map_err(env_err)?;
                totals[e] += out.reward;
                n_decisions += 1;
                open[e] = Some(Transition {
                    s,
                    a: a as u32,
                    r: (out.reward * d.reward_scale) as f32,
                    s2: Vec::new(),
                    valid2: Vec::new(),
                    done: false,
                });
            }
        }
        let mut finished = 0u64;
        let mut slow = 0.0;
        for env in &envs {
            let m = env.metrics();
            finished += m.slowdown.n();
            slow += m.slowdown_mean().unwrap_or(0.0) * m.slowdown.n() as f64;
        }
        let mut loss = 0.0;
        for _ in 0..d.updates_per_iteration {
            if self.buffer.len() < d.batch {
                break;
            }
            loss = self.update(config)?;
        }
        Ok(IterationStats {
            iteration: 0,
            episodes: e_per,
            decisions: n_decisions,
            mean_reward: totals.iter().sum::<f64>() / e_per as f64,
            mean_slowdown: if finished > 0 {
                slow / finished as f64
            } else {
                0.0
            },
            entropy: eps,
            policy_loss: loss,
            value_loss: 0.0,
        })
    }

    /// One double-DQN update on a replay minibatch; returns the TD loss.
    fn update(&mut self, config: &TrainConfig) -> Result<f64> {
        let d = &config.dqn;
        let mut rng = des::RngStreams::new(config.seed).indexed("dqn_replay", self.n_updates);
        let idx: Vec<usize> = (0..d.batch)
            .map(|_| rng.random_range(0..self.buffer.len()))
            .collect();
        let space = self.space;
        let (n_in, na) = (space.n_inputs(), space.n_actions());
        let s2: Vec<&[f32]> = idx.iter().map(|&i| self.buffer[i].s2.as_slice()).collect();
        let q_online = q_values(&self.net.valid(), &s2, n_in)?;
        let q_target = q_values(&self.target.valid(), &s2, n_in)?;
        let y: Vec<f32> = idx
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let t = &self.buffer[i];
                if t.done {
                    return t.r;
                }
                let a2 = masked_argmax(&q_online[k * na..(k + 1) * na], &t.valid2);
                t.r + (config.gamma as f32) * q_target[k * na + a2]
            })
            .collect();
        let dev = device(true);
        let s: Vec<&[f32]> = idx.iter().map(|&i| self.buffer[i].s.as_slice()).collect();
        let mut onehot = vec![0.0f32; d.batch * na];
        for (k, &i) in idx.iter().enumerate() {
            onehot[k * na + self.buffer[i].a as usize] = 1.0;
        }
        let q = (self.net.forward(matrix(&s, n_in, &dev))
            * Tensor::from_data(TensorData::new(onehot, [d.batch, na]), &dev))
        .sum_dim(1)
        .reshape([d.batch]);
        let y = Tensor::<1>::from_data(TensorData::new(y, [d.batch]), &dev);
        let loss = (q - y).square().mean();
        let loss_value = f64::from(to_vec(loss.clone().reshape([1, 1]))?[0]);
        let grads = GradientsParams::from_grads(loss.backward(), &self.net);
        self.net = self
            .optim
            .step(config.learning_rate, self.net.clone(), grads);
        self.n_updates += 1;
        if self.n_updates.is_multiple_of(d.target_sync) {
            self.sync_target();
        }
        Ok(loss_value)
    }
}

/// A trained DQN as a [`cluster::Policy`]: greedy over valid actions.
pub struct DqnPolicy {
    pub(crate) name: String,
    pub(crate) net: QNet,
    pub(crate) space: DqnSpace,
    flat: Vec<f32>,
}

impl std::fmt::Debug for DqnPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DqnPolicy")
            .field("name", &self.name)
            .field("space", &self.space)
            .finish_non_exhaustive()
    }
}

impl DqnPolicy {
    pub(crate) fn new(name: String, net: &QNet, space: DqnSpace) -> DqnPolicy {
        DqnPolicy {
            name,
            net: net.valid(),
            space,
            flat: Vec::new(),
        }
    }

    /// The greedy action for `obs`.
    ///
    /// # Errors
    /// Backend errors only.
    pub fn try_decide(&mut self, obs: &Observation) -> Result<Action> {
        let valid = self.space.valid(obs);
        if !valid[..valid.len() - 1].iter().any(|&v| v) {
            return Ok(Action::Wait);
        }
        flat_state(obs, self.space.width, self.space.n_machines, &mut self.flat);
        let q = q_values(&self.net, &[self.flat.as_slice()], self.space.n_inputs())?;
        Ok(self.space.action(masked_argmax(&q, &valid)))
    }
}

impl cluster::Policy for DqnPolicy {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn decide(&mut self, obs: &Observation, _rng: &mut des::SimRng) -> Action {
        match self.try_decide(obs) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("warning: policy {}: {e}; waiting", self.name);
                Action::Wait
            }
        }
    }
}
