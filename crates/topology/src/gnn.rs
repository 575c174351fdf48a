//! The learned scorer (crate feature `gnn`): S(G) = sigmoid(phi(G)), phi a 2-layer GCN over the
//! candidate's feature graph ([`crate::features`]) with a mean+max readout and an MLP
//! (`learn::topo::TopoScorer`), trained with a pairwise ranking loss on the groups of
//! [`crate::dataset`].

use std::path::Path;

use learn::topo::{EpochStats, RankGroup, TopoScorer, TopoScorerConfig};
use learn::{Edge, Graph};
use workflow::Workflow;

use crate::dataset::Group;
use crate::evaluation::kendall_tau;
use crate::features::{FeatureGraph, History, NODE_FEATURES, build};
use crate::objective::EvalOptions;
use crate::quick::{OptionCache, quick_plan};
use crate::search::Scorer;
use crate::{Error, Result};

/// A feature graph as the learner's graph (edge weight 1, type = data or control-only).
pub fn to_graph(f: &FeatureGraph) -> Result<Graph> {
    let edges: Vec<Edge> = f
        .edges
        .iter()
        .map(|&(src_idx, dst_idx, edge_type)| Edge {
            src_idx,
            dst_idx,
            weight: 1.0,
            edge_type,
        })
        .collect();
    Ok(Graph::new(
        f.n_nodes,
        NODE_FEATURES,
        f.node_features.clone(),
        &edges,
    )?)
}

/// The learned scorer over planned candidates.
pub struct GnnScorer {
    model: TopoScorer,
    label: String,
    /// How candidates are planned (their features come from the plan).
    pub opts: EvalOptions,
    /// Observed metrics per function, when a monitoring stream is at hand.
    pub history: Option<History>,
    cache: OptionCache,
}

impl GnnScorer {
    /// Loads a trained scorer.
    pub fn load(path: &Path, opts: EvalOptions) -> Result<GnnScorer> {
        let model = TopoScorer::load(path)?;
        if model.config().n_node_features != NODE_FEATURES {
            return Err(Error::Setting {
                field: path.display().to_string(),
                reason: format!(
                    "the scorer reads {} node features, this build makes {NODE_FEATURES}",
                    model.config().n_node_features
                ),
            });
        }
        Ok(GnnScorer {
            model,
            label: format!("gnn:{}", path.display()),
            opts,
            history: None,
            cache: OptionCache::new(),
        })
    }

    /// A scorer from a model in memory.
    pub fn from_model(model: TopoScorer, opts: EvalOptions) -> GnnScorer {
        GnnScorer {
            model,
            label: "gnn".into(),
            opts,
            history: None,
            cache: OptionCache::new(),
        }
    }

    /// The features of `wf` (a fast plan under the scorer's platform, SLO and load).
    pub fn features(&mut self, wf: &Workflow) -> FeatureGraph {
        let rate = self.opts.arrivals.mean_rate_per_s();
        let plan = quick_plan(
            wf,
            &self.opts.platform,
            self.opts.slo_s,
            rate,
            &mut self.cache,
        );
        build(wf, &plan, rate, self.history.as_ref())
    }
}

impl Scorer for GnnScorer {
    fn name(&self) -> String {
        self.label.clone()
    }

    fn score(&mut self, candidates: &[Workflow]) -> Result<Vec<f64>> {
        let mut out = vec![f64::NEG_INFINITY; candidates.len()];
        let mut graphs = Vec::with_capacity(candidates.len());
        let mut idx = Vec::with_capacity(candidates.len());
        for (i, w) in candidates.iter().enumerate() {
            let f = self.features(w);
            graphs.push(to_graph(&f)?);
            idx.push(i);
        }
        let refs: Vec<&Graph> = graphs.iter().collect();
        if !refs.is_empty() {
            let s = self.model.score(&refs)?;
            for (k, i) in idx.into_iter().enumerate() {
                out[i] = f64::from(s[k]);
            }
        }
        Ok(out)
    }
}

/// The learner's ranking groups of a dataset (targets: the objective's values).
pub fn rank_groups(groups: &[Group]) -> Result<Vec<RankGroup>> {
    groups
        .iter()
        .map(|g| {
            Ok(RankGroup {
                graphs: g
                    .samples
                    .iter()
                    .map(|s| to_graph(&s.features))
                    .collect::<Result<Vec<_>>>()?,
                targets: g.samples.iter().map(|s| s.value as f32).collect(),
            })
        })
        .collect()
}

/// Kendall's tau between the scorer's phi and the simulator's values, per group.
pub fn kendall_per_group(model: &TopoScorer, groups: &[RankGroup]) -> Result<Vec<f64>> {
    groups
        .iter()
        .map(|g| {
            let refs: Vec<&Graph> = g.graphs.iter().collect();
            let phi = model.phi(&refs)?;
            let a: Vec<f64> = phi.iter().map(|&x| f64::from(x)).collect();
            let b: Vec<f64> = g.targets.iter().map(|&x| f64::from(x)).collect();
            Ok(kendall_tau(&a, &b))
        })
        .collect()
}

/// One epoch's statistics on the training and validation groups.
#[derive(Debug, Clone)]
pub struct EpochRecord {
    /// On the training groups (during the epoch).
    pub train: EpochStats,
    /// On the validation groups (after it).
    pub val: EpochStats,
    /// Mean Kendall tau over the validation groups.
    pub val_kendall_tau: f64,
}

/// Trains a scorer for `epochs` epochs on `train` and reports validation after each;
/// `progress` sees every epoch's record. Returns the weights of the epoch with the best mean
/// validation Kendall tau (early stopping: the ranking overfits a small dataset within a few
/// epochs), every epoch's record, and which epoch was kept (1-based). With no validation groups the
/// last epoch is kept.
pub fn train(
    config: TopoScorerConfig,
    train: &[RankGroup],
    val: &[RankGroup],
    progress: &mut dyn FnMut(&EpochRecord),
) -> Result<(TopoScorer, Vec<EpochRecord>, usize)> {
    let mut model = TopoScorer::new(config)?;
    model.fit_normalizer(train);
    let mut curve = Vec::new();
    let mut best: Option<(f64, usize, TopoScorer)> = None;
    for epoch in 1..=model.config().epochs {
        let tr = model.train_epoch(train)?;
        let va = model.evaluate(val)?;
        let taus = kendall_per_group(&model, val)?;
        let rec = EpochRecord {
            train: tr,
            val: va,
            val_kendall_tau: mean(&taus),
        };
        progress(&rec);
        if val.is_empty() || best.as_ref().is_none_or(|b| rec.val_kendall_tau > b.0) {
            best = Some((rec.val_kendall_tau, epoch, model.snapshot()));
        }
        curve.push(rec);
    }
    match best {
        Some((_, epoch, m)) => Ok((m, curve, epoch)),
        None => Ok((model, curve, 0)),
    }
}

/// Mean of finite values (0 when none).
pub fn mean(xs: &[f64]) -> f64 {
    let f: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if f.is_empty() {
        0.0
    } else {
        f.iter().sum::<f64>() / f.len() as f64
    }
}
