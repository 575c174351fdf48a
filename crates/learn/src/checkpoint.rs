//! Checkpoints: the weights as safetensors (little-endian f32, one tensor per parameter, named
//! `NNN.path.to.param` in module order) with the resolved [`TrainConfig`], seed and progress as JSON in
//! the safetensors metadata (key `faastune`) and in a readable `.json` file beside it.
//!
//! Loading rebuilds the model from the saved config and overwrites every parameter, checking names and
//! shapes, so a checkpoint from a different architecture is refused with the first mismatch named.
//! Adam's moment estimates are not saved: a resumed run restarts them (its first updates are those of a
//! fresh optimiser on the trained weights).

// safetensors' metadata API takes a HashMap; it holds one key, so no order is observed.
#[allow(clippy::disallowed_types)]
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::dqn::{DqnLearner, DqnPolicy};
use crate::error::{Error, Result};
use crate::policy::GnnPolicy;
use crate::rl::{Learner, TrainConfig, Trainer};

/// Format tag of the metadata; it changes whenever the state features change meaning, so an older
/// checkpoint is refused instead of acting on features it was not trained on.
pub const CHECKPOINT_FORMAT: &str = "faastune-rl/2";

/// What a checkpoint says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// [`CHECKPOINT_FORMAT`].
    pub format: String,
    /// The resolved training configuration (seed included).
    pub config: TrainConfig,
    /// Iterations trained.
    pub iterations_done: u64,
    /// The value head's running return scale.
    pub ret_scale: f64,
    /// Scalar parameters.
    pub n_params: usize,
    /// The command that produced it, if recorded.
    pub command: Option<String>,
}

/// One parameter: name, shape, values.
pub(crate) type NamedParam = (String, Vec<usize>, Vec<f32>);

/// Parameters in module order: shape and values of each.
pub type ParamValues = Vec<(Vec<usize>, Vec<f32>)>;

struct Collect {
    path: Vec<String>,
    out: Vec<NamedParam>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let shape = t.dims().to_vec();
        let values = t
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap_or_default();
        let name = format!("{:04}.{}", self.out.len(), self.path.join("."));
        self.out.push((name, shape, values));
    }
}

/// Every float parameter of `module`, in module order.
pub(crate) fn params_of<M: Module>(module: &M) -> Vec<NamedParam> {
    let mut c = Collect {
        path: Vec::new(),
        out: Vec::new(),
    };
    module.visit(&mut c);
    c.out
}

struct Inject<'a> {
    values: &'a [(Vec<usize>, Vec<f32>)],
    k: usize,
    error: Option<String>,
}

impl ModuleMapper for Inject<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let k = self.k;
        self.k += 1;
        let Some((shape, values)) = self.values.get(k) else {
            self.error
                .get_or_insert_with(|| format!("parameter {k}: missing in the checkpoint"));
            return param;
        };
        let dims = param.val().dims().to_vec();
        if &dims != shape || values.len() != shape.iter().product::<usize>() {
            self.error.get_or_insert_with(|| {
                format!("parameter {k}: shape {shape:?} in the checkpoint, {dims:?} in the model")
            });
            return param;
        }
        let (shape, values) = (shape.clone(), values.clone());
        param.map(move |t| {
            let dev = t.device();
            Tensor::from_data(TensorData::new(values, shape), &dev)
        })
    }
}

/// `module` with its parameters replaced by `values` (module order).
///
/// # Errors
/// A message naming the first missing or mis-shaped parameter.
pub(crate) fn with_params<M: Module>(
    module: M,
    values: &[(Vec<usize>, Vec<f32>)],
) -> std::result::Result<M, String> {
    let mut inj = Inject {
        values,
        k: 0,
        error: None,
    };
    let m = module.map(&mut inj);
    if let Some(e) = inj.error {
        return Err(e);
    }
    if inj.k != values.len() {
        return Err(format!(
            "the checkpoint has {} parameters, the model {}",
            values.len(),
            inj.k
        ));
    }
    Ok(m)
}

pub(crate) fn ck_err(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::Checkpoint {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// The `.json` file beside a checkpoint (`models/x.safetensors` -> `models/x.json`).
pub fn sidecar(path: &Path, extension: &str) -> PathBuf {
    path.with_extension(extension)
}

fn learner_params(learner: &Learner) -> (Vec<NamedParam>, f64) {
    match learner {
        Learner::Gnn(g) => (params_of(&g.net), g.ret_scale),
        Learner::Dqn(d) => (params_of(&d.net), 0.0),
    }
}

/// Writes `trainer`'s weights to `path` (safetensors, metadata inside) and the metadata to
/// `path.json`.
///
/// # Errors
/// [`Error::Checkpoint`] when a file cannot be written.
pub fn save(trainer: &Trainer, path: &Path, command: Option<&str>) -> Result<CheckpointMeta> {
    let (params, ret_scale) = learner_params(&trainer.learner);
    let meta = CheckpointMeta {
        format: CHECKPOINT_FORMAT.into(),
        config: trainer.config.clone(),
        iterations_done: trainer.iterations_done,
        ret_scale,
        n_params: params.iter().map(|p| p.2.len()).sum(),
        command: command.map(str::to_string),
    };
    write_checkpoint(path, &params, &meta)?;
    Ok(meta)
}

/// Reads a checkpoint: its metadata and its parameters in module order.
///
/// # Errors
/// [`Error::Checkpoint`] naming the file and what is wrong (missing, not safetensors, no or bad
/// metadata, a non-f32 tensor).
pub fn read(path: &Path) -> Result<(CheckpointMeta, ParamValues)> {
    let (meta_json, params) = read_raw(path)?;
    let meta: CheckpointMeta =
        serde_json::from_str(&meta_json).map_err(|e| ck_err(path, format!("metadata: {e}")))?;
    if meta.format != CHECKPOINT_FORMAT {
        return Err(ck_err(
            path,
            format!("format {:?}, expected {CHECKPOINT_FORMAT:?}", meta.format),
        ));
    }
    meta.config
        .validate()
        .map_err(|e| ck_err(path, format!("saved config: {e}")))?;
    Ok((meta, params))
}

/// Writes `params` to `path` as safetensors with `meta` (JSON) under the metadata key `faastune`,
/// and `meta` pretty-printed to `path` with extension `.json`.
///
/// # Errors
/// [`Error::Checkpoint`] naming the file that could not be written.
pub(crate) fn write_checkpoint<T: Serialize>(
    path: &Path,
    params: &[NamedParam],
    meta: &T,
) -> Result<()> {
    let meta_json = serde_json::to_string(meta).map_err(|e| ck_err(path, e))?;
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
    // One metadata key, so the header is the same bytes on every run.
    #[allow(clippy::disallowed_types)]
    let info: HashMap<String, String> = HashMap::from([("faastune".to_string(), meta_json)]);
    let out = safetensors::serialize(views, Some(info)).map_err(|e| ck_err(path, e))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| ck_err(path, e))?;
    }
    std::fs::write(path, out).map_err(|e| ck_err(path, e))?;
    let pretty = serde_json::to_string_pretty(meta).map_err(|e| ck_err(path, e))?;
    let side = sidecar(path, "json");
    std::fs::write(&side, pretty + "\n").map_err(|e| ck_err(&side, e))?;
    Ok(())
}

/// Reads a safetensors checkpoint: its `faastune` metadata (JSON text) and its f32 parameters in
/// name order (module order).
///
/// # Errors
/// [`Error::Checkpoint`] naming the file and what is wrong (missing, not safetensors, no metadata, a
/// non-f32 tensor).
pub(crate) fn read_raw(path: &Path) -> Result<(String, ParamValues)> {
    let bytes = std::fs::read(path).map_err(|e| ck_err(path, e))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| ck_err(path, format!("not a safetensors file: {e}")))?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| ck_err(path, format!("bad header: {e}")))?;
    let meta_json = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get("faastune"))
        .ok_or_else(|| ck_err(path, "no `faastune` metadata: not a faastune checkpoint"))?
        .clone();
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
        params.push((t.shape().to_vec(), values));
    }
    Ok((meta_json, params))
}

/// A trainer restored from a checkpoint, ready to continue (see the module docs on Adam's state).
///
/// # Errors
/// As [`read`], plus a mismatch between the saved weights and the saved config's model.
pub fn resume(path: &Path) -> Result<Trainer> {
    let (meta, params) = read(path)?;
    trainer_from(&meta, &params, path)
}

/// The trainer a checkpoint's metadata and weights describe (`path` names it in errors).
fn trainer_from(meta: &CheckpointMeta, params: &ParamValues, path: &Path) -> Result<Trainer> {
    let mut trainer = Trainer::new(meta.config.clone())?;
    trainer.iterations_done = meta.iterations_done;
    load_into(&mut trainer.learner, params, path)?;
    if let Learner::Gnn(g) = &mut trainer.learner {
        g.ret_scale = meta.ret_scale;
    }
    Ok(trainer)
}

/// A new run with `config` that starts from a checkpoint's weights (fine-tuning, transfer): the
/// architecture (algorithm family, encoder, window, machines) must match; iterations count from 0.
///
/// # Errors
/// As [`read`]; [`Error::Checkpoint`] when the architectures differ.
pub fn fine_tune(path: &Path, config: TrainConfig) -> Result<Trainer> {
    let (meta, params) = read(path)?;
    let mut trainer = Trainer::new(config)?;
    if (meta.config.algo == crate::rl::Algo::Dqn) != (trainer.config.algo == crate::rl::Algo::Dqn) {
        return Err(ck_err(
            path,
            format!(
                "trained with {}, cannot initialise {}",
                meta.config.algo.name(),
                trainer.config.algo.name()
            ),
        ));
    }
    load_into(&mut trainer.learner, &params, path)?;
    Ok(trainer)
}

fn load_into(learner: &mut Learner, params: &[(Vec<usize>, Vec<f32>)], path: &Path) -> Result<()> {
    match learner {
        Learner::Gnn(g) => {
            g.net = with_params(g.net.clone(), params)
                .map_err(|e| ck_err(path, e))?
                .train();
        }
        Learner::Dqn(d) => {
            d.net = with_params(d.net.clone(), params)
                .map_err(|e| ck_err(path, e))?
                .train();
            d.sync_target();
        }
    }
    Ok(())
}

/// A learned policy: the GNN policy or the DQN baseline, as a [`cluster::Policy`].
// One policy per evaluation run: the variants' size difference does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum LearnedPolicy {
    /// GNN encoder + hierarchical heads (REINFORCE, A3C, PPO).
    Gnn(GnnPolicy),
    /// MLP Q-network over the flat state (DQN).
    Dqn(DqnPolicy),
}

impl LearnedPolicy {
    /// Loads the policy of a checkpoint. `greedy`: take the most likely action (GNN; DQN is always
    /// greedy) instead of sampling.
    ///
    /// # Errors
    /// As [`resume`].
    pub fn load(path: &Path, name: &str, greedy: bool) -> Result<(LearnedPolicy, CheckpointMeta)> {
        let (meta, params) = read(path)?;
        let trainer = trainer_from(&meta, &params, path)?;
        Ok((
            policy_from_learner(&trainer.config, &trainer.learner, name, greedy)?,
            meta,
        ))
    }
}

pub(crate) fn policy_from_learner(
    config: &TrainConfig,
    learner: &Learner,
    name: &str,
    greedy: bool,
) -> Result<LearnedPolicy> {
    Ok(match learner {
        Learner::Gnn(g) => LearnedPolicy::Gnn(GnnPolicy::from_net(
            name.into(),
            config.encoder.clone(),
            config.state,
            &g.net.valid(),
            greedy,
        )?),
        Learner::Dqn(d) => LearnedPolicy::Dqn(dqn_policy(name, d)),
    })
}

fn dqn_policy(name: &str, d: &DqnLearner) -> DqnPolicy {
    DqnPolicy::new(name.into(), &d.net, d.space)
}

impl cluster::Policy for LearnedPolicy {
    fn name(&self) -> String {
        match self {
            LearnedPolicy::Gnn(p) => p.name(),
            LearnedPolicy::Dqn(p) => p.name(),
        }
    }

    fn decide(&mut self, obs: &cluster::Observation, rng: &mut des::SimRng) -> cluster::Action {
        match self {
            LearnedPolicy::Gnn(p) => p.decide(obs, rng),
            LearnedPolicy::Dqn(p) => p.decide(obs, rng),
        }
    }
}
