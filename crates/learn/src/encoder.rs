//! Node encoders: GCN (symmetric normalisation) and GAT-style attention message passing over the sparse
//! adjacency, with skip connections, layer normalisation and seeded dropout; an MLP encoder (no
//! message passing) as the non-graph baseline. Seed paper section 3 (graph state -> encoder -> policy).
//!
//! One layer (`l`), with `h` the input embeddings and `A` the adjacency with self-loops:
//! - GCN: `m = Â h W + b`, `Â = D^-1/2 (A + I) D^-1/2` (weighted degrees); `Â` multiplies the narrower
//!   of `h` and `h W` (same result, cost E x min(width)).
//! - GAT: `z = h W + b`; per head `k`, `e_ij = LeakyReLU_0.2(a_dst,k . z_i,k + a_src,k . z_j,k)`,
//!   `alpha_ij = softmax over the incoming edges of i`, `m_i,k = sum_j alpha_ij z_j,k` (heads
//!   concatenated). Edge weights do not enter GAT; its attention learns them.
//! - MLP: `m = h W + b`.
//!
//! then `m += h` (skip; a learned projection when widths differ), `m = LayerNorm(m)`, and on every layer
//! but the last `m = dropout(ReLU(m))`. Dropout masks come from the encoder's seed and a step index,
//! so a training run is reproducible bit for bit.

use std::sync::Arc;

use burn::module::{Module, Param};
use burn::tensor::activation::{leaky_relu, relu};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::graph::{Graph, N_TYPE_SLOTS};
use crate::ops;
use crate::sparse::SparseStructure;

/// LayerNorm's epsilon.
const LAYER_NORM_EPS: f32 = 1e-5;
/// GAT's LeakyReLU slope (Velickovic et al.).
const GAT_NEGATIVE_SLOPE: f64 = 0.2;

/// The kind of message passing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EncoderKind {
    /// Graph convolution with symmetric normalisation.
    Gcn,
    /// Graph attention (per-edge softmax over incoming edges, multi-head).
    Gat,
    /// No message passing: a per-node MLP (the non-graph baseline).
    Mlp,
}

impl std::str::FromStr for EncoderKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "gcn" => Ok(EncoderKind::Gcn),
            "gat" => Ok(EncoderKind::Gat),
            "mlp" => Ok(EncoderKind::Mlp),
            other => Err(Error::InvalidConfig {
                field: "kind",
                reason: format!("unknown encoder {other:?} (gcn|gat|mlp)"),
            }),
        }
    }
}

/// An encoder's shape and regularisation. Validated by [`EncoderConfig::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderConfig {
    /// Message passing kind.
    pub kind: EncoderKind,
    /// Features per input node.
    pub n_features_in: usize,
    /// Embedding width of every layer (the paper's range is 64..256; 1..=4096 accepted).
    pub hidden_dim: usize,
    /// Message-passing layers, at least 1.
    pub n_layers: usize,
    /// Attention heads (GAT only; must divide `hidden_dim`); ignored by GCN and MLP.
    pub n_heads: usize,
    /// Dropout probability in [0, 1), applied between layers in training only.
    pub dropout: f32,
    /// Layer normalisation after each layer.
    pub layer_norm: bool,
    /// Skip (residual) connections.
    pub skip: bool,
    /// Typed edges: GCN scales each edge's weight by a learned `exp(g[type])` per layer; GAT adds a
    /// learned per-type, per-head bias to its attention logits (self-loops have their own slot). Both
    /// start at the untyped encoder (g = 0, bias = 0). MLP ignores it.
    #[serde(default = "typed_default")]
    pub typed_edges: bool,
}

fn typed_default() -> bool {
    true
}

impl EncoderConfig {
    /// A 2-layer encoder with skip connections and layer norm, no dropout, 4 heads for GAT.
    pub fn new(kind: EncoderKind, n_features_in: usize, hidden_dim: usize) -> Self {
        EncoderConfig {
            kind,
            n_features_in,
            hidden_dim,
            n_layers: 2,
            n_heads: if kind == EncoderKind::Gat { 4 } else { 1 },
            dropout: 0.0,
            layer_norm: true,
            skip: true,
            typed_edges: true,
        }
    }

    /// Checks every field's range.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first offending field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, reason: String| Err(Error::InvalidConfig { field, reason });
        if self.n_features_in == 0 {
            return bad("n_features_in", "must be at least 1".into());
        }
        if !(1..=4096).contains(&self.hidden_dim) {
            return bad("hidden_dim", format!("{} not in 1..=4096", self.hidden_dim));
        }
        if !(1..=64).contains(&self.n_layers) {
            return bad("n_layers", format!("{} not in 1..=64", self.n_layers));
        }
        if self.kind == EncoderKind::Gat
            && (self.n_heads == 0 || !self.hidden_dim.is_multiple_of(self.n_heads))
        {
            return bad(
                "n_heads",
                format!(
                    "{} must be >= 1 and divide hidden_dim {}",
                    self.n_heads, self.hidden_dim
                ),
            );
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", format!("{} not in [0, 1)", self.dropout));
        }
        Ok(())
    }

    fn heads(&self) -> usize {
        if self.kind == EncoderKind::Gat {
            self.n_heads
        } else {
            1
        }
    }
}

/// Node embeddings: `n_nodes x dim`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    /// Number of nodes (rows).
    pub n_nodes: usize,
    /// Embedding width (columns).
    pub dim: usize,
    /// Values, row-major.
    pub values: Vec<f32>,
}

impl Embeddings {
    /// The embedding of node `node_idx`, or `None` when out of range.
    pub fn row(&self, node_idx: usize) -> Option<&[f32]> {
        (node_idx < self.n_nodes)
            .then(|| &self.values[node_idx * self.dim..(node_idx + 1) * self.dim])
    }
}

/// The CPU device the crate computes on; `autodiff` selects the gradient-recording decorator.
pub(crate) fn device(autodiff: bool) -> Device {
    let d = Device::flex();
    if autodiff { d.autodiff() } else { d }
}

/// Seeded Glorot-uniform values.
fn glorot(rng: &mut des::SimRng, fan_in: usize, fan_out: usize, n_values: usize) -> Vec<f32> {
    let a = (6.0 / (fan_in + fan_out) as f32).sqrt();
    (0..n_values).map(|_| rng.random_range(-a..a)).collect()
}

fn param2(values: Vec<f32>, shape: [usize; 2], device: &Device) -> Param<Tensor<2>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device))
}

fn param1(values: Vec<f32>, device: &Device) -> Param<Tensor<1>> {
    let n = values.len();
    Param::from_tensor(Tensor::from_data(TensorData::new(values, [n]), device))
}

/// A dense layer `x W + b`.
#[derive(Module, Debug)]
pub(crate) struct Dense {
    weight: Param<Tensor<2>>,
    bias: Option<Param<Tensor<1>>>,
}

impl Dense {
    pub(crate) fn new(
        rng: &mut des::SimRng,
        d_in: usize,
        d_out: usize,
        bias: bool,
        device: &Device,
    ) -> Self {
        Dense {
            weight: param2(
                glorot(rng, d_in, d_out, d_in * d_out),
                [d_in, d_out],
                device,
            ),
            bias: bias.then(|| param1(vec![0.0; d_out], device)),
        }
    }

    /// A dense layer with the given initial bias (one value per output).
    pub(crate) fn with_bias(
        rng: &mut des::SimRng,
        d_in: usize,
        bias: Vec<f32>,
        device: &Device,
    ) -> Self {
        let d_out = bias.len();
        Dense {
            weight: param2(
                glorot(rng, d_in, d_out, d_in * d_out),
                [d_in, d_out],
                device,
            ),
            bias: Some(param1(bias, device)),
        }
    }

    pub(crate) fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.add_bias(self.matmul(x))
    }

    fn matmul(&self, x: Tensor<2>) -> Tensor<2> {
        x.matmul(self.weight.val())
    }

    fn add_bias(&self, y: Tensor<2>) -> Tensor<2> {
        match &self.bias {
            Some(b) => y + b.val().unsqueeze::<2>(),
            None => y,
        }
    }

    fn d_in(&self) -> usize {
        self.weight.val().dims()[0]
    }
}

#[derive(Module, Debug)]
struct LayerNorm {
    gamma: Param<Tensor<1>>,
    beta: Param<Tensor<1>>,
}

impl LayerNorm {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mean = x.clone().mean_dim(1);
        let centred = x - mean;
        let var = centred.clone().square().mean_dim(1);
        let normed = centred / var.add_scalar(LAYER_NORM_EPS).sqrt();
        normed * self.gamma.val().unsqueeze::<2>() + self.beta.val().unsqueeze::<2>()
    }
}

#[derive(Module, Debug)]
struct Layer {
    lin: Dense,
    /// GAT attention vectors, `n_heads x head_dim`.
    att_src: Option<Param<Tensor<2>>>,
    att_dst: Option<Param<Tensor<2>>>,
    /// Skip projection when the input width differs from `hidden_dim`.
    skip_proj: Option<Dense>,
    /// Typed edges: `N_TYPE_SLOTS x heads` (GCN: log-gain per type; GAT: logit bias per type and head).
    type_param: Option<Param<Tensor<2>>>,
    norm: Option<LayerNorm>,
}

/// The graph as tensors on one device: features and the adjacency's GCN weights.
pub(crate) struct GraphTensors {
    pub(crate) adjacency: Arc<SparseStructure>,
    pub(crate) features: Tensor<2>,
    pub(crate) gcn_weight: Tensor<2>,
    /// Type slot of every adjacency edge.
    pub(crate) edge_type: Tensor<1, Int>,
}

impl GraphTensors {
    pub(crate) fn new(graph: &Graph, device: &Device) -> Self {
        let adjacency = graph.adjacency().clone();
        let n_adj = adjacency.n_edges();
        GraphTensors {
            features: Tensor::from_data(
                TensorData::new(
                    graph.node_features().to_vec(),
                    [graph.n_nodes(), graph.n_features()],
                ),
                device,
            ),
            gcn_weight: Tensor::from_data(
                TensorData::new(graph.gcn_weight().to_vec(), [n_adj, 1]),
                device,
            ),
            edge_type: Tensor::from_data(
                TensorData::new(
                    graph
                        .adjacency_type()
                        .iter()
                        .map(|&t| i64::from(t))
                        .collect::<Vec<_>>(),
                    [n_adj],
                ),
                device,
            ),
            adjacency,
        }
    }
}

/// The encoder's parameters (a burn module); crate-internal so RL heads can share its autodiff graph.
#[derive(Module, Debug)]
pub(crate) struct EncoderNet {
    layers: Vec<Layer>,
}

impl EncoderNet {
    /// Fresh parameters from `seed` (stream `"encoder_init"`).
    pub(crate) fn new(config: &EncoderConfig, rng: &mut des::SimRng, device: &Device) -> Self {
        let n_heads = config.heads();
        let head_dim = config.hidden_dim / n_heads;
        let layers = (0..config.n_layers)
            .map(|l| {
                let d_in = if l == 0 {
                    config.n_features_in
                } else {
                    config.hidden_dim
                };
                let d = config.hidden_dim;
                let lin = Dense::new(rng, d_in, d, true, device);
                let (att_src, att_dst) = if config.kind == EncoderKind::Gat {
                    let n = n_heads * head_dim;
                    (
                        Some(param2(
                            glorot(rng, head_dim, 1, n),
                            [n_heads, head_dim],
                            device,
                        )),
                        Some(param2(
                            glorot(rng, head_dim, 1, n),
                            [n_heads, head_dim],
                            device,
                        )),
                    )
                } else {
                    (None, None)
                };
                let skip_proj =
                    (config.skip && d_in != d).then(|| Dense::new(rng, d_in, d, false, device));
                let type_param =
                    (config.typed_edges && config.kind != EncoderKind::Mlp).then(|| {
                        param2(
                            vec![0.0; N_TYPE_SLOTS * n_heads],
                            [N_TYPE_SLOTS, n_heads],
                            device,
                        )
                    });
                let norm = config.layer_norm.then(|| LayerNorm {
                    gamma: param1(vec![1.0; d], device),
                    beta: param1(vec![0.0; d], device),
                });
                Layer {
                    lin,
                    att_src,
                    att_dst,
                    skip_proj,
                    type_param,
                    norm,
                }
            })
            .collect();
        EncoderNet { layers }
    }

    /// Node embeddings `n x hidden_dim`. `dropout_rng`: `Some` in training (masks drawn from it).
    pub(crate) fn forward(
        &self,
        config: &EncoderConfig,
        g: &GraphTensors,
        mut dropout_rng: Option<&mut des::SimRng>,
    ) -> Tensor<2> {
        let n_heads = config.heads();
        let mut h = g.features.clone();
        let n_layers = self.layers.len();
        for (l, layer) in self.layers.iter().enumerate() {
            let mut m = match config.kind {
                EncoderKind::Gcn => {
                    // Â (h W) = (Â h) W: aggregate whichever side is narrower (cost E x width).
                    let lin = &layer.lin;
                    let w = match &layer.type_param {
                        Some(p) => {
                            g.gcn_weight.clone() * p.val().select(0, g.edge_type.clone()).exp()
                        }
                        None => g.gcn_weight.clone(),
                    };
                    let agg = |t: Tensor<2>| ops::spmm(&g.adjacency, w.clone(), t);
                    let y = if lin.d_in() < config.hidden_dim {
                        lin.matmul(agg(h.clone()))
                    } else {
                        agg(lin.matmul(h.clone()))
                    };
                    lin.add_bias(y)
                }
                EncoderKind::Mlp => layer.lin.forward(h.clone()),
                EncoderKind::Gat => {
                    let z = layer.lin.forward(h.clone());
                    let [n, d] = z.dims();
                    let head_dim = d / n_heads;
                    let att_src = layer
                        .att_src
                        .as_ref()
                        .expect("GAT layer has attention")
                        .val();
                    let att_dst = layer
                        .att_dst
                        .as_ref()
                        .expect("GAT layer has attention")
                        .val();
                    let zr = z.clone().reshape([n, n_heads, head_dim]);
                    let a_src = (zr.clone() * att_src.unsqueeze::<3>())
                        .sum_dim(2)
                        .reshape([n, n_heads]);
                    let a_dst = (zr * att_dst.unsqueeze::<3>())
                        .sum_dim(2)
                        .reshape([n, n_heads]);
                    let mut scores = leaky_relu(
                        ops::edge_scores(&g.adjacency, a_dst, a_src),
                        GAT_NEGATIVE_SLOPE,
                    );
                    if let Some(p) = &layer.type_param {
                        scores = scores + p.val().select(0, g.edge_type.clone());
                    }
                    let alpha = ops::edge_softmax(&g.adjacency, scores);
                    ops::spmm(&g.adjacency, alpha, z)
                }
            };
            if config.skip {
                m = m + match &layer.skip_proj {
                    Some(p) => p.forward(h),
                    None => h,
                };
            }
            if let Some(norm) = &layer.norm {
                m = norm.forward(m);
            }
            if l + 1 < n_layers {
                m = relu(m);
                if let Some(rng) = dropout_rng.as_deref_mut()
                    && config.dropout > 0.0
                {
                    m = dropout(m, config.dropout, rng);
                }
            }
            h = m;
        }
        h
    }
}

/// Inverted dropout with a mask drawn from `rng` (same rng state, same mask).
fn dropout(x: Tensor<2>, p: f32, rng: &mut des::SimRng) -> Tensor<2> {
    let [n, d] = x.dims();
    let keep = 1.0 / (1.0 - p);
    let mask: Vec<f32> = (0..n * d)
        .map(|_| if rng.random::<f32>() < p { 0.0 } else { keep })
        .collect();
    let mask = Tensor::from_data(TensorData::new(mask, [n, d]), &x.device());
    x * mask
}

/// Checks that a graph fits an encoder config.
pub(crate) fn check_graph(config: &EncoderConfig, graph: &Graph) -> Result<()> {
    if graph.n_features() != config.n_features_in {
        return Err(Error::ShapeMismatch {
            what: "graph n_features vs encoder n_features_in",
            expected: config.n_features_in,
            got: graph.n_features(),
        });
    }
    Ok(())
}

pub(crate) fn to_vec(t: Tensor<2>) -> Result<Vec<f32>> {
    t.into_data()
        .try_to_vec::<f32>()
        .map_err(|e| Error::Backend {
            context: format!("reading tensor: {e:?}"),
        })
}

/// A GNN (or MLP) node encoder with fixed, seeded parameters: embeddings for inference.
#[derive(Debug)]
pub struct Encoder {
    config: EncoderConfig,
    net: EncoderNet,
}

impl Encoder {
    /// An encoder with Glorot-initialised parameters drawn from `seed` (same seed, same bytes).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the config is out of range.
    pub fn new(config: EncoderConfig, seed: u64) -> Result<Encoder> {
        config.validate()?;
        let mut rng = des::RngStreams::new(seed).stream("encoder_init");
        let net = EncoderNet::new(&config, &mut rng, &device(false));
        Ok(Encoder { config, net })
    }

    /// The encoder's configuration.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// Number of scalar parameters.
    pub fn n_params(&self) -> usize {
        self.net.num_params()
    }

    /// Node embeddings (inference: no dropout, no gradient tape).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the graph's feature width differs from the config's.
    pub fn embed(&self, graph: &Graph) -> Result<Embeddings> {
        check_graph(&self.config, graph)?;
        let g = GraphTensors::new(graph, &device(false));
        let out = self.net.forward(&self.config, &g, None);
        let [n_nodes, dim] = out.dims();
        Ok(Embeddings {
            n_nodes,
            dim,
            values: to_vec(out)?,
        })
    }
}
