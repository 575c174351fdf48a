//! AutoFlow's learned topology scorer `S(G) = sigmoid(phi(G))`: a typed-edge GCN over a candidate
//! topology's feature graph, a mean+max readout and an MLP to one logit `phi`, trained with RankNet's
//! pairwise logistic loss on groups of candidates of one workflow; plus Kendall's tau-b.
//!
//! Architecture (`config.layers` GCN layers, ReLU after each):
//! `h' = ReLU(h W_self + b + sum_t (Â_t h) W_t)`, `t` in {0: control-only, 1: data}, where `Â_t` holds
//! the graph's type-`t` edges with the GCN normalisation `w / sqrt(deg(src) deg(dst))` (degrees count
//! every edge plus the self-loop, [`Graph`]); edge types above 1 share type 1's weights. Node features
//! are standardised first with a per-feature mean and standard deviation fitted on the training groups
//! ([`TopoScorer::fit_normalizer`]). Readout: `r = [mean_v h_v, max_v h_v]`; then
//! `phi = w2 . ReLU(W1 r + b1) + b2`.
//!
//! Loss (RankNet): within each group, every pair `(i, j)` with `target_i > target_j` costs
//! `log(1 + exp(-(phi_i - phi_j)))`; pairs with equal targets are skipped. A batch's loss is the mean
//! over its groups (with at least one pair) of each group's mean pair loss, so large groups do not
//! drown small ones.
//!
//! # Determinism
//! Parameters come from `des::RngStreams::new(seed)` stream `"topo_init"`, epoch `e`'s group order from
//! `("topo_shuffle", e)`; the sparse kernels are thread-count independent. Same seed and data, same
//! weights and the same bytes from [`TopoScorer::save`].
//!
//! # Checkpoints
//! safetensors weights (one f32 tensor per parameter, `NNNN.path` in module order) with a
//! [`TopoMeta`] (format tag, config, normaliser, epochs, command) as JSON in the safetensors metadata
//! (key `faastune`) and pretty-printed in the `.json` beside it ([`crate::checkpoint::sidecar`]). Both
//! are written to a temporary file and renamed into place. Adam's moments are not saved.

// safetensors' metadata API takes a HashMap; it holds one key, so no order is observed.
#[allow(clippy::disallowed_types)]
use std::collections::HashMap;
use std::path::Path;

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{params_of, sidecar, with_params};
use crate::encoder::{Dense, GraphTensors, device, to_vec};
use crate::error::{Error, Result};
use crate::graph::{Graph, SELF_LOOP_SLOT};

/// Format tag of a scorer checkpoint's metadata; changes when the architecture or the meaning of the
/// saved fields changes.
pub const TOPO_FORMAT: &str = "faastune-topo/1";

/// Edge types with their own weights (0: control-only, 1: data; larger types share type 1's).
const N_EDGE_TYPES: usize = 2;

/// Graphs per forward pass in inference (bounds the batch's memory).
const MAX_GRAPHS_PER_PASS: usize = 256;

/// Standard deviations below this are treated as 1 (a constant feature stays centred, not blown up).
const MIN_STD: f32 = 1e-6;

/// The scorer's shape and training schedule. Validated by [`TopoScorerConfig::validate`]; saved as JSON
/// beside the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopoScorerConfig {
    /// Features per node of every graph scored.
    pub n_node_features: usize,
    /// Width of every GCN layer (1..=4096; default 64).
    pub hidden_dim: usize,
    /// GCN layers (1..=16; default 2).
    pub layers: usize,
    /// Width of the MLP's hidden layer (1..=4096; default 64).
    pub mlp_hidden: usize,
    /// Adam's step size (> 0; default 1e-3).
    pub learning_rate: f64,
    /// L2 penalty added to the gradients (>= 0; default 0).
    pub weight_decay: f64,
    /// Training epochs a caller runs (>= 1; default 40).
    pub epochs: usize,
    /// Groups per mini-batch (>= 1; default 8).
    pub groups_per_batch: usize,
    /// Root seed (initial weights, group order).
    pub seed: u64,
}

impl TopoScorerConfig {
    /// The defaults for graphs with `n_node_features` features per node: 2 GCN layers of 64, MLP 64,
    /// Adam 1e-3 without weight decay, 40 epochs of 8-group batches, seed 0.
    pub fn new(n_node_features: usize) -> Self {
        TopoScorerConfig {
            n_node_features,
            hidden_dim: 64,
            layers: 2,
            mlp_hidden: 64,
            learning_rate: 1e-3,
            weight_decay: 0.0,
            epochs: 40,
            groups_per_batch: 8,
            seed: 0,
        }
    }

    /// Checks every field's range.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first offending field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, reason: String| Err(Error::InvalidConfig { field, reason });
        if self.n_node_features == 0 {
            return bad("n_node_features", "must be at least 1".into());
        }
        if !(1..=4096).contains(&self.hidden_dim) {
            return bad("hidden_dim", format!("{} not in 1..=4096", self.hidden_dim));
        }
        if !(1..=16).contains(&self.layers) {
            return bad("layers", format!("{} not in 1..=16", self.layers));
        }
        if !(1..=4096).contains(&self.mlp_hidden) {
            return bad("mlp_hidden", format!("{} not in 1..=4096", self.mlp_hidden));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(
                "learning_rate",
                format!("{} must be finite and > 0", self.learning_rate),
            );
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(
                "weight_decay",
                format!("{} must be finite and >= 0", self.weight_decay),
            );
        }
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1".into());
        }
        if self.groups_per_batch == 0 {
            return bad("groups_per_batch", "must be at least 1".into());
        }
        Ok(())
    }
}

/// Candidate topologies of one workflow: `graphs[k]` scored `targets[k]` (higher is better).
#[derive(Debug, Clone)]
pub struct RankGroup {
    /// The candidates' graphs.
    pub graphs: Vec<Graph>,
    /// One target per graph; only their order within the group matters.
    pub targets: Vec<f32>,
}

/// Ranking statistics over a set of groups.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochStats {
    /// Epochs trained when measured (from 1 after the first [`TopoScorer::train_epoch`]).
    pub epoch: usize,
    /// Mean over groups with at least one pair of the group's mean RankNet pair loss (0 when none).
    pub loss: f64,
    /// Fraction of pairs (over all groups) whose `phi` order matches the targets' strictly (0 when none).
    pub pair_accuracy: f64,
    /// Pairs with differing targets.
    pub n_pairs: usize,
}

/// Per-feature standardisation of node features: `(x - mean) / std`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    /// Mean per feature.
    pub mean: Vec<f32>,
    /// Standard deviation per feature (never below 1e-6; constant features get 1).
    pub std: Vec<f32>,
}

/// What a scorer checkpoint says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopoMeta {
    /// [`TOPO_FORMAT`].
    pub format: String,
    /// The scorer's configuration (seed included).
    pub config: TopoScorerConfig,
    /// The feature normaliser.
    pub normalizer: Normalizer,
    /// Epochs trained.
    pub epochs_done: usize,
    /// Scalar parameters.
    pub n_params: usize,
    /// The command that produced it, if recorded.
    pub command: Option<String>,
}

/// One GCN layer with a weight matrix per edge type and one for the self-loop (with the bias).
#[derive(Module, Debug)]
struct TopoLayer {
    per_type: Vec<Dense>,
    self_loop: Dense,
}

#[derive(Module, Debug)]
struct TopoNet {
    layers: Vec<TopoLayer>,
    mlp_hidden: Dense,
    mlp_out: Dense,
}

impl TopoNet {
    fn new(config: &TopoScorerConfig, rng: &mut des::SimRng, dev: &Device) -> Self {
        let layers = (0..config.layers)
            .map(|l| {
                let d_in = if l == 0 {
                    config.n_node_features
                } else {
                    config.hidden_dim
                };
                TopoLayer {
                    per_type: (0..N_EDGE_TYPES)
                        .map(|_| Dense::new(rng, d_in, config.hidden_dim, false, dev))
                        .collect(),
                    self_loop: Dense::new(rng, d_in, config.hidden_dim, true, dev),
                }
            })
            .collect();
        TopoNet {
            layers,
            mlp_hidden: Dense::new(rng, 2 * config.hidden_dim, config.mlp_hidden, true, dev),
            mlp_out: Dense::new(rng, config.mlp_hidden, 1, true, dev),
        }
    }

    /// `phi` of every graph of `batch`, `[n_graphs, 1]`.
    fn forward(&self, norm: &Normalizer, batch: &Batch, dev: &Device) -> Tensor<2> {
        let g = GraphTensors::new(&batch.union, dev);
        let nf = norm.mean.len();
        let mean = Tensor::<1>::from_data(TensorData::new(norm.mean.clone(), [nf]), dev);
        let std = Tensor::<1>::from_data(TensorData::new(norm.std.clone(), [nf]), dev);
        let mut h = (g.features.clone() - mean.unsqueeze::<2>()) / std.unsqueeze::<2>();
        let n_adj = g.adjacency.n_edges();
        let type_weights: Vec<Tensor<2>> = batch
            .type_weights
            .iter()
            .map(|w| Tensor::from_data(TensorData::new(w.clone(), [n_adj, 1]), dev))
            .collect();
        for layer in &self.layers {
            let mut m = layer.self_loop.forward(h.clone());
            for (lin, w) in layer.per_type.iter().zip(&type_weights) {
                m = m + lin.forward(crate::ops::spmm(&g.adjacency, w.clone(), h.clone()));
            }
            h = relu(m);
        }
        let mut means = Vec::with_capacity(batch.offsets.len());
        let mut maxes = Vec::with_capacity(batch.offsets.len());
        for (k, &start) in batch.offsets.iter().enumerate() {
            let end = batch
                .offsets
                .get(k + 1)
                .copied()
                .unwrap_or(batch.union.n_nodes());
            let seg = h.clone().narrow(0, start, end - start);
            means.push(seg.clone().mean_dim(0));
            maxes.push(seg.max_dim(0));
        }
        let r = Tensor::cat(vec![Tensor::cat(means, 0), Tensor::cat(maxes, 0)], 1);
        self.mlp_out.forward(relu(self.mlp_hidden.forward(r)))
    }
}

/// Graphs as one disjoint union with the per-type GCN weights of its adjacency.
struct Batch {
    union: Graph,
    offsets: Vec<usize>,
    /// `N_EDGE_TYPES` vectors over the adjacency's edges: the GCN weight where the edge has that type,
    /// else 0 (self-loops are 0 in all: `W_self` handles them).
    type_weights: Vec<Vec<f32>>,
}

impl Batch {
    fn new(graphs: &[&Graph]) -> Result<Batch> {
        let (union, offsets) = Graph::disjoint_union(graphs)?;
        let w = union.gcn_weight();
        let slot = union.adjacency_type();
        let type_weights = (0..N_EDGE_TYPES)
            .map(|t| {
                w.iter()
                    .zip(slot.iter())
                    .map(|(&w, &s)| {
                        let s_type = (s as usize).min(N_EDGE_TYPES - 1);
                        if s != SELF_LOOP_SLOT && s_type == t {
                            w
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        Ok(Batch {
            union,
            offsets,
            type_weights,
        })
    }
}

/// Pair statistics being accumulated.
#[derive(Default)]
struct Acc {
    group_loss_sum: f64,
    n_groups: usize,
    n_correct: usize,
    n_pairs: usize,
}

impl Acc {
    fn add_group(&mut self, phi: &[f32], targets: &[f32]) {
        let mut loss = 0.0f64;
        let mut n = 0usize;
        for (i, j) in ordered_pairs(targets) {
            let d = f64::from(phi[i]) - f64::from(phi[j]);
            loss += softplus(-d);
            n += 1;
            if d > 0.0 {
                self.n_correct += 1;
            }
        }
        if n > 0 {
            self.group_loss_sum += loss / n as f64;
            self.n_groups += 1;
            self.n_pairs += n;
        }
    }

    fn stats(&self, epoch: usize) -> EpochStats {
        EpochStats {
            epoch,
            loss: if self.n_groups > 0 {
                self.group_loss_sum / self.n_groups as f64
            } else {
                0.0
            },
            pair_accuracy: if self.n_pairs > 0 {
                self.n_correct as f64 / self.n_pairs as f64
            } else {
                0.0
            },
            n_pairs: self.n_pairs,
        }
    }
}

/// `log(1 + exp(x))`, stable for any finite `x`.
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Every `(better, worse)` index pair of a group: `targets[better] > targets[worse]`.
fn ordered_pairs(targets: &[f32]) -> impl Iterator<Item = (usize, usize)> + '_ {
    (0..targets.len()).flat_map(move |i| {
        (0..targets.len()).filter_map(move |j| (targets[i] > targets[j]).then_some((i, j)))
    })
}

/// The learned topology scorer (see the module docs).
pub struct TopoScorer {
    config: TopoScorerConfig,
    normalizer: Normalizer,
    net: TopoNet,
    optim: ModuleOptimizer,
    epochs_done: usize,
}

impl std::fmt::Debug for TopoScorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopoScorer")
            .field("config", &self.config)
            .field("normalizer", &self.normalizer)
            .field("epochs_done", &self.epochs_done)
            .finish_non_exhaustive()
    }
}

fn optimizer(config: &TopoScorerConfig) -> ModuleOptimizer {
    let adam = AdamConfig::new();
    let adam = if config.weight_decay > 0.0 {
        adam.with_weight_decay(Some(WeightDecayConfig::new(config.weight_decay as f32)))
    } else {
        adam
    };
    adam.init()
}

fn ck_err(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::Checkpoint {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Writes `bytes` to a temporary file beside `path` and renames it into place.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            ck_err(path, e)
        })
}

impl TopoScorer {
    /// A fresh scorer: Glorot-initialised weights from `config.seed`, identity normaliser.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the offending field.
    pub fn new(config: TopoScorerConfig) -> Result<TopoScorer> {
        config.validate()?;
        let mut rng = des::RngStreams::new(config.seed).stream("topo_init");
        let net = TopoNet::new(&config, &mut rng, &device(true)).train();
        let nf = config.n_node_features;
        Ok(TopoScorer {
            normalizer: Normalizer {
                mean: vec![0.0; nf],
                std: vec![1.0; nf],
            },
            net,
            optim: optimizer(&config),
            config,
            epochs_done: 0,
        })
    }

    /// The scorer's configuration.
    pub fn config(&self) -> &TopoScorerConfig {
        &self.config
    }

    /// The feature normaliser in use.
    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    /// Epochs trained so far.
    pub fn epochs_done(&self) -> usize {
        self.epochs_done
    }

    /// Scalar parameters.
    pub fn n_params(&self) -> usize {
        self.net.num_params()
    }

    /// Fits the per-feature mean and standard deviation (population) over every node of every graph
    /// of `groups` (accumulated in f64). Graphs of another feature width are skipped (they fail later,
    /// when scored); with no nodes the normaliser stays the identity.
    pub fn fit_normalizer(&mut self, groups: &[RankGroup]) {
        let nf = self.config.n_node_features;
        let mut sum = vec![0f64; nf];
        let mut sum_sq = vec![0f64; nf];
        let mut n = 0usize;
        for g in groups.iter().flat_map(|g| &g.graphs) {
            if g.n_features() != nf {
                continue;
            }
            for row in g.node_features().chunks_exact(nf) {
                for (k, &v) in row.iter().enumerate() {
                    sum[k] += f64::from(v);
                    sum_sq[k] += f64::from(v) * f64::from(v);
                }
                n += 1;
            }
        }
        if n == 0 {
            return;
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n as f64).collect();
        self.normalizer = Normalizer {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std: (0..nf)
                .map(|k| {
                    let var = (sum_sq[k] / n as f64 - mean[k] * mean[k]).max(0.0);
                    let sd = var.sqrt() as f32;
                    if sd.is_finite() && sd >= MIN_STD {
                        sd
                    } else {
                        1.0
                    }
                })
                .collect(),
        };
    }

    fn check_graphs(&self, graphs: &[&Graph]) -> Result<()> {
        for (k, g) in graphs.iter().enumerate() {
            if g.n_features() != self.config.n_node_features {
                return Err(Error::ShapeMismatch {
                    what: "graph n_features vs scorer n_node_features",
                    expected: self.config.n_node_features,
                    got: g.n_features(),
                });
            }
            if g.n_nodes() == 0 {
                return Err(Error::InvalidGraph {
                    problems: vec![format!(
                        "graph {k}: no nodes (a readout needs at least one)"
                    )],
                });
            }
        }
        Ok(())
    }

    fn check_group(&self, group: &RankGroup) -> Result<()> {
        if group.targets.len() != group.graphs.len() {
            return Err(Error::ShapeMismatch {
                what: "group targets (one per graph)",
                expected: group.graphs.len(),
                got: group.targets.len(),
            });
        }
        if let Some((index, &value)) = group
            .targets
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite())
        {
            return Err(Error::NonFinite {
                what: "group targets",
                index,
                value,
            });
        }
        let refs: Vec<&Graph> = group.graphs.iter().collect();
        self.check_graphs(&refs)
    }

    /// The raw logit `phi` of every graph (inference), in order.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for a graph of another feature width; [`Error::InvalidGraph`] for a
    /// graph without nodes.
    pub fn phi(&self, graphs: &[&Graph]) -> Result<Vec<f32>> {
        self.check_graphs(graphs)?;
        let net = self.net.valid();
        let dev = device(false);
        let mut out = Vec::with_capacity(graphs.len());
        for chunk in graphs.chunks(MAX_GRAPHS_PER_PASS) {
            let batch = Batch::new(chunk)?;
            let phi = net.forward(&self.normalizer, &batch, &dev);
            out.extend(to_vec(phi)?);
        }
        Ok(out)
    }

    /// The score `S(G) = sigmoid(phi(G))` of every graph, in (0, 1).
    ///
    /// # Errors
    /// As [`phi`](Self::phi).
    pub fn score(&self, graphs: &[&Graph]) -> Result<Vec<f32>> {
        Ok(self
            .phi(graphs)?
            .into_iter()
            .map(|x| 1.0 / (1.0 + (-x).exp()))
            .collect())
    }

    /// One epoch over `groups`: shuffled by `(seed, epoch)`, mini-batches of `groups_per_batch`
    /// groups, one Adam step per batch with at least one pair. The statistics are measured on each
    /// batch before its update.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] / [`Error::NonFinite`] for a group whose targets do not fit, and the
    /// errors of [`phi`](Self::phi).
    pub fn train_epoch(&mut self, groups: &[RankGroup]) -> Result<EpochStats> {
        for g in groups {
            self.check_group(g)?;
        }
        let mut order: Vec<usize> = (0..groups.len()).collect();
        let mut rng =
            des::RngStreams::new(self.config.seed).indexed("topo_shuffle", self.epochs_done as u64);
        crate::rl::shuffle(&mut order, &mut rng);
        let dev = device(true);
        let mut acc = Acc::default();
        for batch_idx in order.chunks(self.config.groups_per_batch) {
            let batch_groups: Vec<&RankGroup> = batch_idx.iter().map(|&k| &groups[k]).collect();
            // Pairs as (better, worse, weight) over the batch's concatenated graphs.
            let mut better = Vec::new();
            let mut worse = Vec::new();
            let mut weight = Vec::new();
            let mut base = 0usize;
            let mut n_groups_with_pairs = 0usize;
            for g in &batch_groups {
                let pairs: Vec<(usize, usize)> = ordered_pairs(&g.targets).collect();
                if !pairs.is_empty() {
                    n_groups_with_pairs += 1;
                    let w = 1.0 / pairs.len() as f32;
                    for (i, j) in pairs {
                        better.push((base + i) as i64);
                        worse.push((base + j) as i64);
                        weight.push(w);
                    }
                }
                base += g.graphs.len();
            }
            if n_groups_with_pairs == 0 {
                continue;
            }
            let refs: Vec<&Graph> = batch_groups.iter().flat_map(|g| &g.graphs).collect();
            let batch = Batch::new(&refs)?;
            let phi = self.net.forward(&self.normalizer, &batch, &dev);
            let n_graphs = refs.len();
            let phi = phi.reshape([n_graphs]);
            let phi_values = to_vec(phi.clone().reshape([n_graphs, 1]))?;
            let mut start = 0usize;
            for g in &batch_groups {
                let end = start + g.graphs.len();
                acc.add_group(&phi_values[start..end], &g.targets);
                start = end;
            }
            let n_pairs = better.len();
            let idx =
                |v: Vec<i64>| Tensor::<1, Int>::from_data(TensorData::new(v, [n_pairs]), &dev);
            let diff = phi.clone().select(0, idx(better)) - phi.select(0, idx(worse));
            // softplus(-d) = relu(-d) + log(1 + exp(-|d|)), stable for large |d|.
            let pair_loss = relu(diff.clone().neg()) + diff.abs().neg().exp().log1p();
            // Each group weighs 1 / n_groups, each of its pairs 1 / (its pairs x n_groups).
            let weight: Vec<f32> = weight
                .iter()
                .map(|w| w / n_groups_with_pairs as f32)
                .collect();
            let w = Tensor::<1>::from_data(TensorData::new(weight, [n_pairs]), &dev);
            let loss = (pair_loss * w).sum();
            let grads = GradientsParams::from_grads(loss.backward(), &self.net);
            self.net = self
                .optim
                .step(self.config.learning_rate, self.net.clone(), grads);
        }
        self.epochs_done += 1;
        Ok(acc.stats(self.epochs_done))
    }

    /// The ranking statistics of the current model on `groups` (no update).
    ///
    /// # Errors
    /// As [`train_epoch`](Self::train_epoch).
    pub fn evaluate(&self, groups: &[RankGroup]) -> Result<EpochStats> {
        let mut acc = Acc::default();
        for g in groups {
            self.check_group(g)?;
            let refs: Vec<&Graph> = g.graphs.iter().collect();
            let phi = self.phi(&refs)?;
            acc.add_group(&phi, &g.targets);
        }
        Ok(acc.stats(self.epochs_done))
    }

    /// A copy of the scorer's weights, normaliser and epoch count (its optimiser state starts
    /// afresh): what early stopping keeps of the best epoch.
    pub fn snapshot(&self) -> TopoScorer {
        TopoScorer {
            config: self.config.clone(),
            normalizer: self.normalizer.clone(),
            net: self.net.clone(),
            optim: optimizer(&self.config),
            epochs_done: self.epochs_done,
        }
    }

    /// The checkpoint's metadata.
    pub fn meta(&self, command: Option<&str>) -> TopoMeta {
        TopoMeta {
            format: TOPO_FORMAT.into(),
            config: self.config.clone(),
            normalizer: self.normalizer.clone(),
            epochs_done: self.epochs_done,
            n_params: self.n_params(),
            command: command.map(str::to_string),
        }
    }

    /// Writes the weights to `path` (safetensors, [`TopoMeta`] in its metadata) and the metadata to
    /// `path` with extension `.json`, each atomically (temporary file, then rename).
    ///
    /// # Errors
    /// [`Error::Checkpoint`] naming the file that could not be written.
    pub fn save(&self, path: &Path, command: Option<&str>) -> Result<()> {
        let meta = self.meta(command);
        let meta_json = serde_json::to_string(&meta).map_err(|e| ck_err(path, e))?;
        let params = params_of(&self.net);
        let bytes: Vec<Vec<u8>> = params
            .iter()
            .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
            .collect();
        let views = params
            .iter()
            .zip(&bytes)
            .map(|((name, shape, _), b)| {
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), b)
                    .map(|v| (name.clone(), v))
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| ck_err(path, e))?;
        #[allow(clippy::disallowed_types)]
        let info: HashMap<String, String> = HashMap::from([("faastune".to_string(), meta_json)]);
        let out = safetensors::serialize(views, Some(info)).map_err(|e| ck_err(path, e))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| ck_err(path, e))?;
        }
        write_atomic(path, &out)?;
        let pretty = serde_json::to_string_pretty(&meta).map_err(|e| ck_err(path, e))?;
        write_atomic(&sidecar(path, "json"), (pretty + "\n").as_bytes())
    }

    /// Loads a scorer saved by [`save`](Self::save), ready to score (Adam restarts if trained on).
    ///
    /// # Errors
    /// [`Error::Checkpoint`] naming the file and what is wrong: missing, not safetensors, no or bad
    /// metadata, another format, an invalid config or normaliser, a non-f32 tensor, or weights that do
    /// not fit the saved config's model.
    pub fn load(path: &Path) -> Result<TopoScorer> {
        let bytes = std::fs::read(path).map_err(|e| ck_err(path, e))?;
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| ck_err(path, format!("not a safetensors file: {e}")))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| ck_err(path, format!("bad header: {e}")))?;
        let meta_json = header
            .metadata()
            .as_ref()
            .and_then(|m| m.get("faastune"))
            .ok_or_else(|| ck_err(path, "no `faastune` metadata: not a faastune checkpoint"))?;
        let meta: TopoMeta =
            serde_json::from_str(meta_json).map_err(|e| ck_err(path, format!("metadata: {e}")))?;
        if meta.format != TOPO_FORMAT {
            return Err(ck_err(
                path,
                format!("format {:?}, expected {TOPO_FORMAT:?}", meta.format),
            ));
        }
        meta.config
            .validate()
            .map_err(|e| ck_err(path, format!("saved config: {e}")))?;
        let nf = meta.config.n_node_features;
        let norm = &meta.normalizer;
        if norm.mean.len() != nf || norm.std.len() != nf {
            return Err(ck_err(
                path,
                format!(
                    "normaliser has {} means and {} deviations, expected {nf}",
                    norm.mean.len(),
                    norm.std.len()
                ),
            ));
        }
        if norm.mean.iter().any(|m| !m.is_finite())
            || norm.std.iter().any(|s| !(s.is_finite() && *s > 0.0))
        {
            return Err(ck_err(
                path,
                "normaliser: means must be finite, deviations finite and > 0",
            ));
        }
        let mut names: Vec<String> = st.names().into_iter().map(str::to_string).collect();
        names.sort();
        let mut params = Vec::with_capacity(names.len());
        for name in names {
            let t = st.tensor(&name).map_err(|e| ck_err(path, e))?;
            if t.dtype() != safetensors::Dtype::F32 {
                return Err(ck_err(
                    path,
                    format!("tensor {name}: dtype {:?}, expected F32", t.dtype()),
                ));
            }
            let values: Vec<f32> = t
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                return Err(ck_err(path, format!("tensor {name}: non-finite value {v}")));
            }
            params.push((t.shape().to_vec(), values));
        }
        let mut scorer = TopoScorer::new(meta.config).map_err(|e| ck_err(path, e))?;
        scorer.net = with_params(scorer.net, &params)
            .map_err(|e| ck_err(path, e))?
            .train();
        scorer.normalizer = meta.normalizer;
        scorer.epochs_done = meta.epochs_done;
        Ok(scorer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softplus_is_stable() {
        assert!((softplus(0.0) - 2f64.ln()).abs() < 1e-12);
        assert_eq!(softplus(1000.0), 1000.0);
        assert!(softplus(-1000.0) >= 0.0 && softplus(-1000.0) < 1e-300);
    }

    #[test]
    fn pairs_skip_ties() {
        let p: Vec<_> = ordered_pairs(&[1.0, 2.0, 2.0]).collect();
        assert_eq!(p, vec![(1, 0), (2, 0)]);
    }
}
