//! Supervised node regression on top of an encoder (encoder + linear head, MSE loss, Adam): the
//! training-step path the GNN benchmark times and the sanity test learns with. The RL algorithms reuse
//! the same pieces (`EncoderNet`, `Dense`, the optimizer) with their own heads and losses.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Tensor, TensorData};

use crate::encoder::{Dense, EncoderConfig, EncoderNet, GraphTensors, check_graph, device, to_vec};
use crate::error::{Error, Result};
use crate::graph::Graph;

#[derive(Module, Debug)]
struct RegressionNet {
    encoder: EncoderNet,
    head: Dense,
}

/// An encoder with a linear head trained to predict one scalar per node (mean squared error, Adam).
///
/// Deterministic: parameters come from the seed (stream `"encoder_init"`), dropout masks from the seed
/// and the step index (stream `"dropout"`), and the kernels do not depend on the thread count.
pub struct NodeRegressor {
    config: EncoderConfig,
    net: RegressionNet,
    optim: ModuleOptimizer,
    learning_rate: f64,
    seed: u64,
    n_steps: u64,
}

impl std::fmt::Debug for NodeRegressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeRegressor")
            .field("config", &self.config)
            .field("learning_rate", &self.learning_rate)
            .field("seed", &self.seed)
            .field("n_steps", &self.n_steps)
            .finish_non_exhaustive()
    }
}

impl NodeRegressor {
    /// A fresh model. `learning_rate` is Adam's step size (e.g. 1e-2).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an out-of-range config or a non-positive / non-finite learning rate.
    pub fn new(config: EncoderConfig, learning_rate: f64, seed: u64) -> Result<NodeRegressor> {
        config.validate()?;
        if !(learning_rate.is_finite() && learning_rate > 0.0) {
            return Err(Error::InvalidConfig {
                field: "learning_rate",
                reason: format!("{learning_rate} must be > 0"),
            });
        }
        let dev = device(true);
        let mut rng = des::RngStreams::new(seed).stream("encoder_init");
        let encoder = EncoderNet::new(&config, &mut rng, &dev);
        let head = Dense::new(&mut rng, config.hidden_dim, 1, true, &dev);
        let net = RegressionNet { encoder, head }.train();
        Ok(NodeRegressor {
            config,
            net,
            optim: AdamConfig::new().init(),
            learning_rate,
            seed,
            n_steps: 0,
        })
    }

    /// Training steps taken so far.
    pub fn n_steps(&self) -> u64 {
        self.n_steps
    }

    fn targets(&self, graph: &Graph, targets: &[f32], autodiff: bool) -> Result<Tensor<2>> {
        check_graph(&self.config, graph)?;
        if targets.len() != graph.n_nodes() {
            return Err(Error::ShapeMismatch {
                what: "targets (one per node)",
                expected: graph.n_nodes(),
                got: targets.len(),
            });
        }
        if let Some((index, &value)) = targets.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "targets",
                index,
                value,
            });
        }
        Ok(Tensor::from_data(
            TensorData::new(targets.to_vec(), [targets.len(), 1]),
            &device(autodiff),
        ))
    }

    /// One Adam step on the mean squared error over all nodes; returns the loss before the update.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] / [`Error::NonFinite`] for bad targets or a graph of the wrong width.
    pub fn train_step(&mut self, graph: &Graph, targets: &[f32]) -> Result<f32> {
        let y = self.targets(graph, targets, true)?;
        let g = GraphTensors::new(graph, &device(true));
        let mut rng = des::RngStreams::new(self.seed).indexed("dropout", self.n_steps);
        let emb = self.net.encoder.forward(&self.config, &g, Some(&mut rng));
        let pred = self.net.head.forward(emb);
        let loss = (pred - y).square().mean();
        let loss_value = to_vec(loss.clone().reshape([1, 1]))?[0];
        let grads = GradientsParams::from_grads(loss.backward(), &self.net);
        self.net = self.optim.step(self.learning_rate, self.net.clone(), grads);
        self.n_steps += 1;
        Ok(loss_value)
    }

    /// Predictions, one per node (inference: no dropout).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for a graph of the wrong width.
    pub fn predict(&self, graph: &Graph) -> Result<Vec<f32>> {
        check_graph(&self.config, graph)?;
        let net = self.net.valid();
        let g = GraphTensors::new(graph, &device(false));
        to_vec(
            net.head
                .forward(net.encoder.forward(&self.config, &g, None)),
        )
    }

    /// Mean squared error of [`predict`](Self::predict) against `targets`.
    ///
    /// # Errors
    /// As [`train_step`](Self::train_step).
    pub fn loss(&self, graph: &Graph, targets: &[f32]) -> Result<f32> {
        self.targets(graph, targets, false)?;
        let pred = self.predict(graph)?;
        let sum: f64 = pred
            .iter()
            .zip(targets)
            .map(|(p, t)| f64::from(p - t).powi(2))
            .sum();
        Ok((sum / targets.len().max(1) as f64) as f32)
    }
}
