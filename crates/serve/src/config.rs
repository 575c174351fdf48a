//! Which workflows the service serves, and how each decides: one workflow from command-line flags, or
//! every workflow file of a directory, each with an optional `NAME.serve.yaml` beside it.
//!
//! A directory's workflow files are its `*.yaml`, `*.yml` and `*.json` files (not in subdirectories,
//! not hidden, not `*.serve.yaml`); `video.yaml`'s settings are in `video.serve.yaml`:
//! ```yaml
//! slo_s: 10                # default: the workflow's slo_s
//! policy: replan           # stepconf (default), intra-only, inter-only, replan
//! model: fitted            # fitted (default), paper, oracle; or instead:
//! model_file: models/video.json   # a saved model (faastune fit --save), relative to the directory
//! platform: lambda.yaml    # a platform profile, relative to the directory (default: built-in)
//! seed: 0                  # the profiling seed of the fitted models
//! ```
//! Keep model files in a subdirectory (they are JSON, and every JSON file at the top is a workflow).
//! Each workflow is served under its `name`; two files with one name are an error.

use std::path::{Path, PathBuf};

use platform::Platform;
use serde::Deserialize;
use workflow::Workflow;

use crate::Error;

/// The performance model a workflow's policy plans with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSpec {
    /// A model by name, as `faastune plan --model` takes it: `fitted`, `paper`, `oracle`.
    Named(String),
    /// A saved model file, as `faastune plan --model-file` takes it.
    File(PathBuf),
}

impl ModelSpec {
    /// The model as reports name it: `fitted`, ..., or `file PATH`.
    pub fn label(&self) -> String {
        match self {
            ModelSpec::Named(n) => n.clone(),
            ModelSpec::File(p) => format!("file {}", p.display()),
        }
    }
}

/// Builds the predictor a workflow's policy plans with. `faastune serve` and the Lambda configurator
/// pass [`StandardPredictors`] (the ones `faastune plan` uses); [`OracleOnly`] serves tests and
/// benchmarks.
pub trait Predictors: Send + Sync {
    /// The predictor of `model` for `workflow` on `platform`, fitted with `seed` where it profiles.
    /// The error says what failed.
    fn build(
        &self,
        model: &ModelSpec,
        seed: u64,
        workflow: &Workflow,
        platform: &Platform,
    ) -> Result<Box<dyn optimizer::StepPredictor>, String>;
}

/// Only `oracle` (the simulator's noise-free model, [`optimizer::OraclePredictor`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct OracleOnly;

impl Predictors for OracleOnly {
    fn build(
        &self,
        model: &ModelSpec,
        _seed: u64,
        workflow: &Workflow,
        platform: &Platform,
    ) -> Result<Box<dyn optimizer::StepPredictor>, String> {
        match model {
            ModelSpec::Named(n) if n == "oracle" => Ok(Box::new(optimizer::OraclePredictor::new(
                workflow, platform,
            ))),
            other => Err(format!(
                "model {} is not available here (only oracle)",
                other.label()
            )),
        }
    }
}

/// The models `faastune plan` offers ([`perfmodel::source`]): `fitted` and `paper` (profiling and
/// fitting in the simulator on the workflow's seed), `oracle`, or a model file; a model file's
/// warnings and notes are logged.
#[derive(Debug, Clone, Copy, Default)]
pub struct StandardPredictors;

impl Predictors for StandardPredictors {
    fn build(
        &self,
        model: &ModelSpec,
        seed: u64,
        workflow: &Workflow,
        platform: &Platform,
    ) -> Result<Box<dyn optimizer::StepPredictor>, String> {
        let source = match model {
            ModelSpec::File(path) => perfmodel::source::ModelSource::File(path.clone()),
            ModelSpec::Named(n) => match n.as_str() {
                "oracle" => {
                    return Ok(Box::new(optimizer::OraclePredictor::new(
                        workflow, platform,
                    )));
                }
                "fitted" => perfmodel::source::ModelSource::Fitted,
                "paper" => perfmodel::source::ModelSource::Paper,
                other => {
                    return Err(format!(
                        "unknown model '{other}'; valid: fitted, paper, oracle"
                    ));
                }
            },
        };
        let loaded = perfmodel::source::load(&source, seed, workflow, platform)
            .map_err(|e| e.to_string())?;
        for w in &loaded.warnings {
            tracing::warn!(workflow = %workflow.name, "{w}");
        }
        for n in &loaded.notes {
            tracing::info!(workflow = %workflow.name, "{n}");
        }
        Ok(Box::new(loaded.model))
    }
}

/// One served workflow, as configured (before anything is read).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowConfig {
    /// The workflow file.
    pub workflow: PathBuf,
    /// End-to-end SLO, seconds (default: the workflow's `slo_s`).
    pub slo_s: Option<f64>,
    /// Policy name ([`optimizer::SERVICE_POLICY_NAMES`]).
    pub policy: String,
    /// The model.
    pub model: ModelSpec,
    /// Platform profile (default: built-in Lambda-like).
    pub platform: Option<PathBuf>,
    /// Profiling seed of fitted models.
    pub seed: u64,
    /// Where it was configured, for messages (`--workflow`, or the sidecar's path).
    pub origin: String,
}

/// Where the served workflows come from; read again on every reload.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// One workflow from flags (also served at the routes without a workflow name).
    Single(WorkflowConfig),
    /// Every workflow file of a directory; settings missing from a sidecar come from `defaults`
    /// (whose `workflow` and `slo_s` are unused).
    Dir {
        /// The directory.
        dir: PathBuf,
        /// Policy, model, platform and seed of workflows whose sidecar does not say.
        defaults: WorkflowConfig,
    },
}

/// A sidecar file `NAME.serve.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sidecar {
    slo_s: Option<f64>,
    policy: Option<String>,
    model: Option<String>,
    model_file: Option<PathBuf>,
    platform: Option<PathBuf>,
    seed: Option<u64>,
}

/// A workflow read and checked, ready to build a decision engine.
pub struct Resolved {
    /// Served under this name.
    pub name: String,
    /// The configuration.
    pub config: WorkflowConfig,
    /// The workflow.
    pub workflow: Workflow,
    /// The platform.
    pub platform: Platform,
    /// The SLO in force.
    pub slo_s: f64,
    /// Hash of every byte the engine is built from (workflow, sidecar, model and platform files,
    /// settings): equal fingerprints, equal engines, so a reload keeps the engine (and what its policy
    /// learned).
    pub fingerprint: u64,
}

/// FNV-1a, 64 bits.
pub(crate) fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// FNV-1a's offset basis.
pub(crate) const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads every configured workflow. Every problem is reported (one line each, naming its file); any
/// problem fails the whole load, so a reload is all or nothing.
pub fn resolve(source: &Source) -> Result<Vec<Resolved>, Error> {
    let (configs, mut problems) = match source {
        Source::Single(c) => (vec![c.clone()], Vec::new()),
        Source::Dir { dir, defaults } => dir_configs(dir, defaults)?,
    };
    let mut out: Vec<Resolved> = Vec::new();
    for c in configs {
        match resolve_one(&c) {
            Ok(r) => {
                if let Some(other) = out.iter().find(|o| o.name == r.name) {
                    problems.push(format!(
                        "{} and {} both define workflow '{}'",
                        other.config.workflow.display(),
                        r.config.workflow.display(),
                        r.name
                    ));
                } else {
                    out.push(r);
                }
            }
            Err(e) => problems.push(e),
        }
    }
    if let Source::Dir { dir, .. } = source
        && out.is_empty()
        && problems.is_empty()
    {
        problems.push(format!(
            "{}: no workflow files (*.yaml, *.yml, *.json)",
            dir.display()
        ));
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::Config(problems.join("\n")))
    }
}

/// The directory's workflow configurations, and the problems of sidecars that could not be read.
fn dir_configs(
    dir: &Path,
    defaults: &WorkflowConfig,
) -> Result<(Vec<WorkflowConfig>, Vec<String>), Error> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::Config(format!("--workflows-dir {}: {e}", dir.display())))?;
    let mut files = Vec::new();
    for e in entries {
        let e = e.map_err(|e| Error::Config(format!("--workflows-dir {}: {e}", dir.display())))?;
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let is_file = e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()) && path.is_file();
        let is_workflow = [".yaml", ".yml", ".json"].iter().any(|x| name.ends_with(x))
            && ![".serve.yaml", ".serve.yml", ".serve.json"]
                .iter()
                .any(|x| name.ends_with(x));
        if is_file && is_workflow && !name.starts_with('.') {
            files.push(path);
        }
    }
    files.sort();
    let mut problems = Vec::new();
    let mut configs = Vec::new();
    for path in files {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let sidecar = dir.join(format!("{stem}.serve.yaml"));
        let mut c = WorkflowConfig {
            workflow: path.clone(),
            slo_s: None,
            origin: path.display().to_string(),
            ..defaults.clone()
        };
        if sidecar.exists() {
            match read_sidecar(&sidecar, dir, &mut c) {
                Ok(()) => c.origin = sidecar.display().to_string(),
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            }
        }
        configs.push(c);
    }
    Ok((configs, problems))
}

fn read_sidecar(path: &Path, dir: &Path, c: &mut WorkflowConfig) -> Result<(), String> {
    let text = des::text::read_text(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let s: Sidecar = if text.trim().is_empty() {
        Sidecar::default()
    } else {
        serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
    };
    if s.model.is_some() && s.model_file.is_some() {
        return Err(format!(
            "{}: give model or model_file, not both",
            path.display()
        ));
    }
    c.slo_s = s.slo_s;
    if let Some(p) = s.policy {
        c.policy = p;
    }
    if let Some(m) = s.model {
        c.model = ModelSpec::Named(m);
    }
    if let Some(f) = s.model_file {
        c.model = ModelSpec::File(dir.join(f));
    }
    if let Some(p) = s.platform {
        c.platform = Some(dir.join(p));
    }
    if let Some(seed) = s.seed {
        c.seed = seed;
    }
    Ok(())
}

fn resolve_one(c: &WorkflowConfig) -> Result<Resolved, String> {
    let at = &c.origin;
    let bytes = read(&c.workflow)?;
    let workflow = Workflow::load(&c.workflow)
        .map_err(|e| format!("workflow {}: {e}", c.workflow.display()))?;
    let platform = match &c.platform {
        Some(p) => Platform::load(p).map_err(|e| format!("platform {}: {e}", p.display()))?,
        None => Platform::lambda(),
    };
    let mut problems = Vec::new();
    if !optimizer::SERVICE_POLICY_NAMES.contains(&c.policy.as_str()) {
        problems.push(format!(
            "{at}: policy '{}' is not served; valid: {}",
            c.policy,
            optimizer::SERVICE_POLICY_NAMES.join(", ")
        ));
    }
    let slo_s = c.slo_s.or(workflow.slo_s).unwrap_or(f64::NAN);
    if c.slo_s.is_none() && workflow.slo_s.is_none() {
        problems.push(format!(
            "{at}: workflow '{}' has no slo_s: give slo_s (or --slo)",
            workflow.name
        ));
    } else if !(slo_s.is_finite() && slo_s > 0.0) {
        problems.push(format!("{at}: SLO {slo_s} s must be a finite number > 0"));
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    let mut h = fnv1a(FNV_BASIS, &bytes);
    h = fnv1a(
        h,
        format!("{slo_s:?}|{}|{}|{}", c.policy, c.model.label(), c.seed).as_bytes(),
    );
    if let ModelSpec::File(p) = &c.model {
        h = fnv1a(h, &read(p).map_err(|e| format!("{at}: model file {e}"))?);
    }
    if let Some(p) = &c.platform {
        h = fnv1a(h, &read(p)?);
    }
    Ok(Resolved {
        name: workflow.name.clone(),
        config: c.clone(),
        workflow,
        platform,
        slo_s,
        fingerprint: h,
    })
}
