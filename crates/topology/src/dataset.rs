//! "Historical executions" for the learned scorer: random realistic workflows ([`crate::generate`]),
//! each with its candidate topologies, every candidate configured by the optimizer and run in the
//! simulator ([`crate::objective`]). One [`Group`] per workflow: the scorer learns to rank within it.
//!
//! Each workflow gets its own load: an arrival rate drawn log-uniformly from
//! [`DatasetOptions::rate_per_s`], so that some candidates run near the concurrency limit. Candidates
//! are every distinct topology within [`DatasetOptions::depth`] transforms, at most
//! [`DatasetOptions::max_candidates`] of them (the original and a seeded sample of the rest).

use rand::Rng;
use rand::seq::SliceRandom;
use std::path::Path;

use serde::{Deserialize, Serialize};
use workflow::Workflow;

use crate::features::{FeatureGraph, build};
use crate::generate::{GenOptions, generate};
use crate::objective::{EvalOptions, Measured, ModelKind, Objective, evaluate_full};
use crate::quick::{OptionCache, quick_plan};
use crate::search::enumerate;
use crate::transform::{CandidateOptions, Transform};
use crate::{Error, Result};

/// How the dataset is made.
#[derive(Debug, Clone)]
pub struct DatasetOptions {
    /// Workflows generated.
    pub n_workflows: usize,
    /// The generator's settings.
    pub generator: GenOptions,
    /// Most transforms per candidate. Default 2.
    pub depth: usize,
    /// Most candidates per workflow, the original included. Default 24.
    pub max_candidates: usize,
    /// Range of arrival rates, requests per second (log-uniform). Default 0.5 to 50.
    pub rate_per_s: (f64, f64),
    /// Requests simulated per candidate. Default 100.
    pub n_requests: u64,
    /// The platform.
    pub platform: platform::Platform,
    /// The model candidates are planned with.
    pub model: ModelKind,
    /// The scalar objective.
    pub objective: Objective,
    /// Which transforms are proposed.
    pub candidates: CandidateOptions,
    /// Root seed (workflows, rates, samples, simulations).
    pub seed: u64,
    /// Worker threads building groups (each workflow is seeded by its index, so the dataset is the
    /// same for any count). Default: the machine's available parallelism.
    pub threads: usize,
}

impl DatasetOptions {
    /// Defaults on `platform`.
    pub fn new(platform: platform::Platform) -> DatasetOptions {
        DatasetOptions {
            n_workflows: 200,
            generator: GenOptions::default(),
            depth: 2,
            max_candidates: 24,
            rate_per_s: (0.5, 50.0),
            n_requests: 100,
            platform,
            model: ModelKind::Oracle,
            objective: Objective::default(),
            candidates: CandidateOptions::default(),
            seed: 1,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// One candidate: its transforms, measurement, value and the scorer's features.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    /// The transforms from the original.
    pub transforms: Vec<String>,
    /// The simulator's measurement.
    pub measured: Measured,
    /// The scalar objective (higher is better).
    pub value: f64,
    /// The features a scorer reads.
    pub features: FeatureGraph,
    /// The topology (written as workflow YAML in a dataset file).
    #[serde(with = "workflow_yaml")]
    pub workflow: Workflow,
}

/// The candidates of one workflow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    /// The original workflow's name.
    pub workflow: String,
    /// The SLO, seconds.
    pub slo_s: f64,
    /// The arrival rate, requests per second.
    pub rate_per_s: f64,
    /// The candidates, the original first.
    pub samples: Vec<Sample>,
}

/// The evaluation settings of one workflow at `slo_s` and `rate_per_s`.
pub fn eval_options(opts: &DatasetOptions, slo_s: f64, rate_per_s: f64, seed: u64) -> EvalOptions {
    let mut e = EvalOptions::new(opts.platform.clone(), slo_s, rate_per_s);
    e.n_requests = opts.n_requests;
    e.seed = seed;
    e.model = opts.model;
    e.objective = opts.objective;
    e
}

/// The group of `wf` under `eval`: up to `max_candidates` topologies within `depth` transforms,
/// each measured. Candidates that cannot be configured are left out; the original must run.
pub fn build_group(
    wf: &Workflow,
    eval: &EvalOptions,
    depth: usize,
    max_candidates: usize,
    candidates: &CandidateOptions,
    sample_seed: u64,
) -> Result<Group> {
    let mut all = enumerate(wf, depth, candidates, 20_000)?;
    if all.len() > max_candidates.max(1) {
        let mut rest = all.split_off(1);
        let mut rng = des::RngStreams::new(sample_seed).indexed("candidates", 0);
        rest.shuffle(&mut rng);
        rest.truncate(max_candidates.max(1) - 1);
        all.extend(rest);
    }
    let rate = eval.arrivals.mean_rate_per_s();
    let mut cache = OptionCache::new();
    let mut samples = Vec::with_capacity(all.len());
    for (i, (w, ts)) in all.into_iter().enumerate() {
        let (measured, _, _) = match evaluate_full(&w, eval) {
            Ok(x) => x,
            Err(e) if i == 0 => return Err(e),
            Err(_) => continue,
        };
        let value = eval.objective.value(&measured);
        samples.push(Sample {
            transforms: ts.iter().map(Transform::to_string).collect(),
            value,
            features: build(
                &w,
                &quick_plan(&w, &eval.platform, eval.slo_s, rate, &mut cache),
                rate,
                None,
            ),
            measured,
            workflow: w,
        });
    }
    Ok(Group {
        workflow: wf.name.clone(),
        slo_s: eval.slo_s,
        rate_per_s: rate,
        samples,
    })
}

/// Generates workflows `first..first + n` and their groups on [`DatasetOptions::threads`] threads;
/// `progress(done, total)` after each (in completion order; the result is in index order). Workflows
/// whose original cannot be configured (no configuration meets a constraint) are skipped.
pub fn build_dataset(
    opts: &DatasetOptions,
    first: u64,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Group>> {
    if opts.rate_per_s.0 <= 0.0
        || opts.rate_per_s.1 < opts.rate_per_s.0
        || !opts.rate_per_s.1.is_finite()
    {
        return Err(Error::Setting {
            field: "rate_per_s".into(),
            reason: format!("{:?} is not a range of positive rates", opts.rate_per_s),
        });
    }
    let n = opts.n_workflows;
    let threads = opts.threads.clamp(1, n.max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Option<Group>)>();
    let mut slots: Vec<Option<Group>> = vec![None; n];
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || {
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if k >= n {
                        break;
                    }
                    let g = group_at(opts, first + k as u64);
                    if tx.send((k, g)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (done, (k, g)) in rx.iter().enumerate() {
            slots[k] = g;
            progress(done + 1, n);
        }
    });
    Ok(slots.into_iter().flatten().collect())
}

/// The group of generated workflow `index`, if its original can be configured and it has at least
/// two candidates.
fn group_at(opts: &DatasetOptions, index: u64) -> Option<Group> {
    let wf = generate(&opts.generator, opts.seed, index);
    let mut rng = des::RngStreams::new(opts.seed).indexed("dataset-rate", index);
    let (lo, hi) = opts.rate_per_s;
    let rate = (lo.ln() + (hi.ln() - lo.ln()) * rng.random::<f64>()).exp();
    let slo_s = wf.slo_s.unwrap_or(60.0);
    let eval = eval_options(
        opts,
        slo_s,
        rate,
        des::stream_seed(opts.seed, "dataset-sim", index),
    );
    build_group(
        &wf,
        &eval,
        opts.depth,
        opts.max_candidates,
        &opts.candidates,
        des::stream_seed(opts.seed, "dataset-sample", index),
    )
    .ok()
    .filter(|g| g.samples.len() >= 2)
}

/// A dataset file: the settings line it was built with and its groups (JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasetFile {
    /// How the groups were made (free text: the command or its settings).
    pub settings: String,
    /// The groups.
    pub groups: Vec<Group>,
}

/// Writes `groups` with `settings` to `path` as JSON.
pub fn save_dataset(path: &Path, settings: &str, groups: &[Group]) -> Result<()> {
    let file = DatasetFile {
        settings: settings.to_string(),
        groups: groups.to_vec(),
    };
    let text = serde_json::to_string(&file).map_err(|e| Error::Setting {
        field: path.display().to_string(),
        reason: format!("cannot serialize the dataset: {e}"),
    })?;
    std::fs::write(path, text).map_err(|e| Error::Setting {
        field: path.display().to_string(),
        reason: format!("cannot write: {e}"),
    })
}

/// Reads a dataset written by [`save_dataset`]; errors name the file and what is wrong.
pub fn load_dataset(path: &Path) -> Result<DatasetFile> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Setting {
        field: path.display().to_string(),
        reason: format!("cannot read: {e}"),
    })?;
    serde_json::from_str(&text).map_err(|e| Error::Setting {
        field: path.display().to_string(),
        reason: format!("not a topology dataset: {e}"),
    })
}

/// Serde for a [`Workflow`] as its workflow-format YAML (validated again when read).
mod workflow_yaml {
    use serde::{Deserialize, Deserializer, Serializer};
    use workflow::{Workflow, WorkflowSpec};

    pub fn serialize<S: Serializer>(wf: &Workflow, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&wf.to_spec().to_yaml())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Workflow, D::Error> {
        let text = String::deserialize(d)?;
        let spec = WorkflowSpec::from_yaml_str(&text, "dataset")
            .map_err(|e| serde::de::Error::custom(e.to_string()))?;
        Workflow::from_spec(&spec, "dataset").map_err(|e| serde::de::Error::custom(e.to_string()))
    }
}
