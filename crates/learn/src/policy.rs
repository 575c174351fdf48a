//! The GNN allocation policy: encoder over the graph state, then the seed's hierarchical heads.
//!
//! For one decision with window pending invocations `p_1..p_W`, machines `m_1..m_M` and the global node
//! `g` (embeddings `h`):
//! 1. **which invocation, or wait**: logits `q_i = MLP([h(p_i), h(g)])` for every pending invocation with
//!    at least one valid machine, and `q_wait = MLP(h(g))` (unless the window is work-conserving and a
//!    placement is valid); softmax over those.
//! 2. **where**: given `p_i`, logits `s_ij = (h(p_i) B) . h(m_j) + u . h(m_j)` over the machines where
//!    the placement is valid; softmax over those.
//! 3. **how much**: the environment's action carries no resource amount (an invocation is placed with
//!    the resources it demands), so this level has a single choice and no parameters.
//!
//! `log pi(a) = log pi(i) + log pi(j | i)`; the entropy is `H(i) + sum_i pi(i) H(j | i)`. A value head
//! `V = MLP(h(g))` serves the baselines. Invalid choices are masked out, never sampled.

use burn::module::Module;
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Device, Int, Tensor, TensorData};
use cluster::{Action, Observation};
use rand::Rng;

use crate::encoder::{Dense, EncoderConfig, EncoderNet, GraphTensors, to_vec};
use crate::error::Result;
use crate::graph::Graph;
use crate::state::{GraphStateBuilder, StateConfig, StateGraph};

/// Additive mask for invalid choices (finite, so `0 * mask` stays 0).
const MASKED: f32 = -1e9;

/// The policy network (a burn module).
#[derive(Module, Debug)]
pub(crate) struct AllocNet {
    pub(crate) encoder: EncoderNet,
    inv_hidden: Dense,
    inv_out: Dense,
    wait_hidden: Dense,
    wait_out: Dense,
    place_bilinear: Dense,
    place_linear: Dense,
    value_hidden: Dense,
    value_out: Dense,
}

impl AllocNet {
    pub(crate) fn new(config: &EncoderConfig, rng: &mut des::SimRng, device: &Device) -> AllocNet {
        let d = config.hidden_dim;
        AllocNet {
            encoder: EncoderNet::new(config, rng, device),
            inv_hidden: Dense::new(rng, 2 * d, d, true, device),
            inv_out: Dense::new(rng, d, 1, true, device),
            wait_hidden: Dense::new(rng, d, d, true, device),
            wait_out: Dense::new(rng, d, 1, true, device),
            place_bilinear: Dense::new(rng, d, d, false, device),
            place_linear: Dense::new(rng, d, 1, false, device),
            value_hidden: Dense::new(rng, d, d, true, device),
            value_out: Dense::new(rng, d, 1, true, device),
        }
    }

    /// Log-probabilities of both levels and the value, for a batch of decisions.
    pub(crate) fn forward(
        &self,
        config: &EncoderConfig,
        batch: &Batch,
        dropout_rng: Option<&mut des::SimRng>,
    ) -> Heads {
        let (b, w, m) = (batch.n_decisions, batch.width, batch.n_machines);
        let h = self.encoder.forward(config, &batch.graph, dropout_rng);
        let d = h.dims()[1];
        let hg = h.clone().select(0, batch.global_idx.clone()); // [B, d]
        let hp = h.clone().select(0, batch.pending_idx.clone()); // [B*W, d]
        let hm = h.select(0, batch.machine_idx.clone()); // [B*M, d]

        let hg_rep = hg
            .clone()
            .unsqueeze_dim::<3>(1)
            .repeat_dim(1, w)
            .reshape([b * w, d]);
        let inv = self.inv_out.forward(relu(
            self.inv_hidden
                .forward(Tensor::cat(vec![hp.clone(), hg_rep], 1)),
        )); // [B*W, 1]
        let wait = self
            .wait_out
            .forward(relu(self.wait_hidden.forward(hg.clone()))); // [B, 1]
        let inv_logits = Tensor::cat(vec![inv.reshape([b, w]), wait], 1) + batch.inv_mask.clone();
        let inv_logp = log_softmax(inv_logits, 1);

        let pb = self.place_bilinear.forward(hp).reshape([b, w, d]);
        let hm3 = hm.clone().reshape([b, m, d]);
        let bil = pb.matmul(hm3.swap_dims(1, 2)); // [B, W, M]
        let lin = self.place_linear.forward(hm).reshape([b, 1, m]);
        let place_logp = log_softmax(bil + lin + batch.place_mask.clone(), 2);

        let value = self
            .value_out
            .forward(relu(self.value_hidden.forward(hg)))
            .reshape([b]);
        Heads {
            inv_logp,
            place_logp,
            value,
        }
    }
}

/// The heads' outputs for a batch.
pub(crate) struct Heads {
    /// `[B, W + 1]`: log pi(invocation i), last column "wait".
    pub(crate) inv_logp: Tensor<2>,
    /// `[B, W, M]`: log pi(machine j | invocation i).
    pub(crate) place_logp: Tensor<3>,
    /// `[B]`: value estimates.
    pub(crate) value: Tensor<1>,
}

impl Heads {
    /// `[B]` log-probabilities of the chosen actions (`sel_inv`, `sel_place`: one-hot selections).
    pub(crate) fn log_prob(&self, sel: &Selection) -> Tensor<1> {
        let b = sel.n_decisions;
        let li = (self.inv_logp.clone() * sel.inv.clone())
            .sum_dim(1)
            .reshape([b]);
        let lp = (self.place_logp.clone() * sel.place.clone())
            .reshape([b, sel.width * sel.n_machines])
            .sum_dim(1)
            .reshape([b]);
        li + lp
    }

    /// `[B]` entropies `H(i) + sum_i pi(i) H(j | i)`.
    pub(crate) fn entropy(&self) -> Tensor<1> {
        let [b, w1] = self.inv_logp.dims();
        let w = w1 - 1;
        let pi = self.inv_logp.clone().exp();
        let h_inv = -(pi.clone() * self.inv_logp.clone()).sum_dim(1).reshape([b]);
        if w == 0 {
            return h_inv;
        }
        let pp = self.place_logp.clone().exp();
        let h_place = -(pp * self.place_logp.clone()).sum_dim(2).reshape([b, w]); // [B, W]
        let pi_pending = pi.slice([0..b, 0..w]);
        h_inv + (pi_pending * h_place).sum_dim(1).reshape([b])
    }
}

/// A batch of decisions as tensors: the disjoint union of their graphs and the index/mask tensors that
/// pick each decision's choices out of it.
pub(crate) struct Batch {
    pub(crate) graph: GraphTensors,
    pub(crate) n_decisions: usize,
    /// Window width W (the widest decision's pending count, at least 1).
    pub(crate) width: usize,
    /// Machines M (the largest machine count, at least 1).
    pub(crate) n_machines: usize,
    global_idx: Tensor<1, Int>,
    pending_idx: Tensor<1, Int>,
    machine_idx: Tensor<1, Int>,
    inv_mask: Tensor<2>,
    place_mask: Tensor<3>,
}

fn int1(values: Vec<i64>, device: &Device) -> Tensor<1, Int> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n]), device)
}

impl Batch {
    pub(crate) fn new(states: &[&StateGraph], device: &Device) -> Result<Batch> {
        let graphs: Vec<&Graph> = states.iter().map(|s| &s.graph).collect();
        let (union, offsets) = Graph::disjoint_union(&graphs)?;
        let b = states.len();
        let width = states
            .iter()
            .map(|s| s.n_pending())
            .max()
            .unwrap_or(0)
            .max(1);
        let n_machines = states
            .iter()
            .map(|s| s.n_machines())
            .max()
            .unwrap_or(0)
            .max(1);
        let mut global_idx = Vec::with_capacity(b);
        let mut pending_idx = Vec::with_capacity(b * width);
        let mut machine_idx = Vec::with_capacity(b * n_machines);
        let mut inv_mask = vec![MASKED; b * (width + 1)];
        let mut place_mask = vec![MASKED; b * width * n_machines];
        for (k, (s, &off)) in states.iter().zip(&offsets).enumerate() {
            let g = (off + s.global_node as usize) as i64;
            global_idx.push(g);
            let nm = s.n_machines();
            for i in 0..width {
                pending_idx.push(
                    s.pending_nodes
                        .get(i)
                        .map_or(g, |&v| (off + v as usize) as i64),
                );
                for j in 0..nm {
                    if i < s.n_pending() && s.valid[i * nm + j] {
                        place_mask[(k * width + i) * n_machines + j] = 0.0;
                        inv_mask[k * (width + 1) + i] = 0.0;
                    }
                }
            }
            for j in 0..n_machines {
                machine_idx.push(
                    s.machine_nodes
                        .get(j)
                        .map_or(g, |&v| (off + v as usize) as i64),
                );
            }
            if s.wait_allowed {
                inv_mask[k * (width + 1) + width] = 0.0;
            }
        }
        Ok(Batch {
            graph: GraphTensors::new(&union, device),
            n_decisions: b,
            width,
            n_machines,
            global_idx: int1(global_idx, device),
            pending_idx: int1(pending_idx, device),
            machine_idx: int1(machine_idx, device),
            inv_mask: Tensor::from_data(TensorData::new(inv_mask, [b, width + 1]), device),
            place_mask: Tensor::from_data(
                TensorData::new(place_mask, [b, width, n_machines]),
                device,
            ),
        })
    }
}

/// One-hot selections of chosen actions for a batch (see [`Heads::log_prob`]).
pub(crate) struct Selection {
    n_decisions: usize,
    width: usize,
    n_machines: usize,
    inv: Tensor<2>,
    place: Tensor<3>,
}

impl Selection {
    /// `actions[k]`: `Some((pending, machine))` or `None` for wait.
    pub(crate) fn new(
        actions: &[Option<(usize, usize)>],
        width: usize,
        n_machines: usize,
        device: &Device,
    ) -> Selection {
        let b = actions.len();
        let mut inv = vec![0.0f32; b * (width + 1)];
        let mut place = vec![0.0f32; b * width * n_machines];
        for (k, a) in actions.iter().enumerate() {
            match *a {
                Some((i, j)) => {
                    inv[k * (width + 1) + i] = 1.0;
                    place[(k * width + i) * n_machines + j] = 1.0;
                }
                None => inv[k * (width + 1) + width] = 1.0,
            }
        }
        Selection {
            n_decisions: b,
            width,
            n_machines,
            inv: Tensor::from_data(TensorData::new(inv, [b, width + 1]), device),
            place: Tensor::from_data(TensorData::new(place, [b, width, n_machines]), device),
        }
    }
}

/// What a forward pass hands back for sampling: per decision the two levels' probabilities and the value.
#[derive(Debug, Clone)]
pub(crate) struct Dist {
    pub(crate) width: usize,
    pub(crate) n_machines: usize,
    pub(crate) inv_logp: Vec<f32>,
    pub(crate) place_logp: Vec<f32>,
    pub(crate) value: Vec<f32>,
}

impl Dist {
    pub(crate) fn from_heads(heads: Heads, width: usize, n_machines: usize) -> Result<Dist> {
        let [b, _] = heads.inv_logp.dims();
        Ok(Dist {
            width,
            n_machines,
            inv_logp: to_vec(heads.inv_logp)?,
            place_logp: to_vec(heads.place_logp.reshape([b, width * n_machines]))?,
            value: to_vec(heads.value.reshape([b, 1]))?,
        })
    }

    /// Samples (or, `greedy`, takes the most likely) action of decision `k`; returns it and its
    /// log-probability.
    pub(crate) fn choose(
        &self,
        k: usize,
        greedy: bool,
        rng: &mut des::SimRng,
    ) -> (Option<(usize, usize)>, f32) {
        let w1 = self.width + 1;
        let inv = &self.inv_logp[k * w1..(k + 1) * w1];
        let i = pick(inv, greedy, rng);
        if i == self.width {
            return (None, inv[i]);
        }
        let base = (k * self.width + i) * self.n_machines;
        let place = &self.place_logp[base..base + self.n_machines];
        let j = pick(place, greedy, rng);
        (Some((i, j)), inv[i] + place[j])
    }
}

/// Index drawn from log-probabilities (inverse CDF over one uniform draw), or the argmax (first on ties).
fn pick(logp: &[f32], greedy: bool, rng: &mut des::SimRng) -> usize {
    if greedy {
        let mut best = 0;
        for (i, &v) in logp.iter().enumerate() {
            if v > logp[best] {
                best = i;
            }
        }
        return best;
    }
    let u: f64 = rng.random();
    let mut acc = 0.0f64;
    let mut last_valid = 0;
    for (i, &v) in logp.iter().enumerate() {
        let p = f64::from(v).exp();
        if p > 0.0 {
            last_valid = i;
        }
        acc += p;
        if u < acc {
            return i;
        }
    }
    last_valid
}

/// Converts a chosen `(window slot, machine)` of `state` to the environment's action.
pub(crate) fn to_action(choice: Option<(usize, usize)>, state: &StateGraph) -> Action {
    match choice {
        Some((slot, machine_idx)) => Action::Place {
            pending_idx: state.pending_idx[slot],
            machine_idx,
        },
        None => Action::Wait,
    }
}

/// A trained GNN policy as a [`cluster::Policy`]: one inference forward pass per decision.
pub struct GnnPolicy {
    pub(crate) name: String,
    pub(crate) config: EncoderConfig,
    pub(crate) net: AllocNet,
    pub(crate) builder: GraphStateBuilder,
    /// Take the most likely action (true) or sample from the policy (false).
    pub greedy: bool,
}

impl std::fmt::Debug for GnnPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GnnPolicy")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("greedy", &self.greedy)
            .finish_non_exhaustive()
    }
}

impl GnnPolicy {
    pub(crate) fn from_net(
        name: String,
        config: EncoderConfig,
        state: StateConfig,
        net: &AllocNet,
        greedy: bool,
    ) -> Result<GnnPolicy> {
        Ok(GnnPolicy {
            name,
            config,
            net: net.valid(),
            builder: GraphStateBuilder::new(state)?,
            greedy,
        })
    }

    /// The action for `obs`, or an error from the state builder or the backend.
    ///
    /// # Errors
    /// [`crate::Error`] when the observation yields an invalid graph or the backend fails.
    pub fn try_decide(&mut self, obs: &Observation, rng: &mut des::SimRng) -> Result<Action> {
        let state = self.builder.build(obs)?;
        if !state.has_choice() {
            return Ok(Action::Wait);
        }
        let device = crate::encoder::device(false);
        let batch = Batch::new(&[&state], &device)?;
        let (w, m) = (batch.width, batch.n_machines);
        let heads = self.net.forward(&self.config, &batch, None);
        let dist = Dist::from_heads(heads, w, m)?;
        Ok(to_action(dist.choose(0, self.greedy, rng).0, &state))
    }
}

impl cluster::Policy for GnnPolicy {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn decide(&mut self, obs: &Observation, rng: &mut des::SimRng) -> Action {
        // The trait has no error channel; a failure here is a bug (validated observations always build a
        // valid graph), so it waits rather than panicking mid-episode, and says so once.
        match self.try_decide(obs, rng) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("warning: policy {}: {e}; waiting", self.name);
                Action::Wait
            }
        }
    }
}
