//! Meaning-preserving topology transforms: each a pure function `Workflow -> Workflow` with a
//! [`Record`] of what it changed, validated by [`Workflow::from_spec`].
//!
//! "Meaning" is the data flow and the choices: after a transform every step (or the step that now does
//! its work) still receives the outputs it reads (`data_from`, each an ancestor), in a valid order, and
//! runs exactly when it ran before (no step loses a choice step among its ancestors).
//!
//! | transform | applies to | what changes |
//! |---|---|---|
//! | `fuse(a,b)` | a chain pair: `a` is `b`'s only predecessor, `b` is `a`'s only successor; both tasks with equal `jobs`, neither batched | one step `a+b` (its own function): work summed, parallel fraction work-weighted, memory per worker the larger, wait summed, cold start the larger, caps the smaller, `a`'s retrier; `a`'s output and `b`'s input stay in memory (input is `a`'s, plus `b`'s when `b` also reads older steps; output is `b`'s, plus `a`'s when a later step reads `a`); readers of `a` or `b` read `a+b` |
//! | `parallelize(a,b)` | an edge `a -> b` that carries no data (`a` not in `b`'s `data_from`) | the edge is dropped; `b` is ordered after every step it reads that would no longer be its ancestor; refused when `a` is a choice step or `b` would lose a choice ancestor |
//! | `batch(s,k,w)` | an unbatched task step | `s` processes up to `k >= 2` requests' work per invocation set, waiting at most `w` seconds (see [`workflow::Batch`]) |
//! | `shard(s,n)` | a task step with `jobs >= n >= 2` whose fan-out is capped below `n` (`max_fan_out`) | `s` may fan out to `n` instances (`max_fan_out = n`) and a merge task `s-merge` (one job, [`CandidateOptions::merge_work_s_per_shard`] x `n` seconds, reading every shard's output) runs after it; `s`'s successors and readers move to the merge |
//!
//! [`unfuse`] and [`undo`] restore the workflow a transform was applied to from its record.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use workflow::{BatchSpec, StepKind, StepSpec, Workflow, WorkflowSpec};

use crate::{Error, Result};

/// One topology transform, written `fuse(a,b)`, `parallelize(a,b)`, `batch(s,k,w)` or `shard(s,n)`.
#[derive(Debug, Clone, PartialEq)]
pub enum Transform {
    /// Fuse the chain pair `a -> b` into one function.
    Fuse {
        /// The first step.
        a: String,
        /// The second step (its only successor).
        b: String,
    },
    /// Drop the control-only edge `a -> b`.
    Parallelize {
        /// The predecessor.
        a: String,
        /// The successor that reads nothing from `a`.
        b: String,
    },
    /// Batch `size` requests' work of `step` per invocation set, waiting at most `window_s`.
    Batch {
        /// The task step.
        step: String,
        /// Most requests per batch (>= 2).
        size: u32,
        /// Longest wait for a batch to fill, seconds.
        window_s: f64,
    },
    /// Let `step` fan out to `n` instances, with a merge step after it.
    Shard {
        /// The task step.
        step: String,
        /// Instances (>= 2, at most the step's jobs).
        n: u32,
    },
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transform::Fuse { a, b } => write!(f, "fuse({a},{b})"),
            Transform::Parallelize { a, b } => write!(f, "parallelize({a},{b})"),
            Transform::Batch {
                step,
                size,
                window_s,
            } => write!(f, "batch({step},{size},{window_s})"),
            Transform::Shard { step, n } => write!(f, "shard({step},{n})"),
        }
    }
}

impl Serialize for Transform {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl FromStr for Transform {
    type Err = Error;

    /// Parses the written form; step names may hold any character but `,`, `(` and `)`.
    fn from_str(text: &str) -> Result<Transform> {
        let bad = |reason: &str| Error::Parse {
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        let t = text.trim();
        let open = t
            .find('(')
            .ok_or_else(|| bad("expected NAME(ARGS), e.g. fuse(a,b)"))?;
        if !t.ends_with(')') {
            return Err(bad("missing the closing ')'"));
        }
        let name = t[..open].trim();
        let args: Vec<&str> = t[open + 1..t.len() - 1].split(',').map(str::trim).collect();
        if args.iter().any(|a| a.is_empty()) {
            return Err(bad("an argument is empty"));
        }
        let want = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(bad(&format!(
                    "{name} takes {n} arguments, {} given",
                    args.len()
                )))
            }
        };
        match name {
            "fuse" | "parallelize" => {
                want(2)?;
                let (a, b) = (args[0].to_owned(), args[1].to_owned());
                Ok(if name == "fuse" {
                    Transform::Fuse { a, b }
                } else {
                    Transform::Parallelize { a, b }
                })
            }
            "batch" => {
                want(3)?;
                let size = args[1]
                    .parse::<u32>()
                    .map_err(|_| bad(&format!("batch size '{}' is not a whole number", args[1])))?;
                let window_s = args[2]
                    .parse::<f64>()
                    .ok()
                    .filter(|w| w.is_finite())
                    .ok_or_else(|| {
                        bad(&format!("window '{}' is not a number of seconds", args[2]))
                    })?;
                Ok(Transform::Batch {
                    step: args[0].to_owned(),
                    size,
                    window_s,
                })
            }
            "shard" => {
                want(2)?;
                let n = args[1].parse::<u32>().map_err(|_| {
                    bad(&format!("shard count '{}' is not a whole number", args[1]))
                })?;
                Ok(Transform::Shard {
                    step: args[0].to_owned(),
                    n,
                })
            }
            _ => Err(bad(&format!(
                "unknown transform '{name}' (fuse, parallelize, batch, shard)"
            ))),
        }
    }
}

/// One step's change in a [`Record`].
#[derive(Debug, Clone, PartialEq)]
pub enum StepChange {
    /// A step was added under this name.
    Added {
        /// Its name.
        name: String,
    },
    /// A step was removed; it stood at `index` in file order.
    Removed {
        /// Its position before the transform.
        index: usize,
        /// The step as it was.
        spec: StepSpec,
    },
    /// A step was changed; `before` is how it was (same name).
    Modified {
        /// The step as it was.
        before: StepSpec,
    },
}

/// What a transform changed: enough to undo it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The transform applied.
    pub transform: Transform,
    /// Every step added, removed or changed, in the order the transform did it.
    pub changes: Vec<StepChange>,
}

impl Record {
    /// A one-line summary: `fuse(a,b): removed a, b; added a+b; changed c`.
    pub fn summary(&self) -> String {
        let mut added = Vec::new();
        let mut removed = Vec::new();
        let mut changed = Vec::new();
        for c in &self.changes {
            match c {
                StepChange::Added { name } => added.push(name.as_str()),
                StepChange::Removed { spec, .. } => removed.push(spec.name.as_str()),
                StepChange::Modified { before } => changed.push(before.name.as_str()),
            }
        }
        let mut parts = Vec::new();
        for (label, names) in [("removed", removed), ("added", added), ("changed", changed)] {
            if !names.is_empty() {
                parts.push(format!("{label} {}", names.join(", ")));
            }
        }
        format!("{}: {}", self.transform, parts.join("; "))
    }
}

/// A transformed workflow and what changed.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The new workflow.
    pub workflow: Workflow,
    /// The record of the change.
    pub record: Record,
}

/// Which transforms [`candidates`] proposes.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateOptions {
    /// Batch sizes proposed for every unbatched task step. Default `[4, 16]`.
    pub batch_sizes: Vec<u32>,
    /// The batching window, seconds. Default 1.
    pub batch_window_s: f64,
    /// Shard counts proposed for every shardable step. Default `[2, 4, 8]`.
    pub shard_ways: Vec<u32>,
    /// CPU seconds the merge step of a shard spends per shard it merges. Default 0.02.
    pub merge_work_s_per_shard: f64,
    /// Propose fusions. Default true.
    pub fuse: bool,
    /// Propose parallelizations. Default true.
    pub parallelize: bool,
}

impl Default for CandidateOptions {
    fn default() -> Self {
        CandidateOptions {
            batch_sizes: vec![4, 16],
            batch_window_s: 1.0,
            shard_ways: vec![2, 4, 8],
            merge_work_s_per_shard: 0.02,
            fuse: true,
            parallelize: true,
        }
    }
}

/// The merge work per shard [`apply`] uses (the default of [`CandidateOptions`]).
pub const MERGE_WORK_S_PER_SHARD: f64 = 0.02;

/// Applies `t` to `wf` (merge steps of shards cost [`MERGE_WORK_S_PER_SHARD`] per shard).
pub fn apply(wf: &Workflow, t: &Transform) -> Result<Applied> {
    apply_with(wf, t, MERGE_WORK_S_PER_SHARD)
}

/// Applies `t` to `wf` with the given merge work per shard.
pub fn apply_with(wf: &Workflow, t: &Transform, merge_work_s_per_shard: f64) -> Result<Applied> {
    let mut spec = wf.to_spec();
    let changes = match t {
        Transform::Fuse { a, b } => fuse_spec(wf, &mut spec, t, a, b)?,
        Transform::Parallelize { a, b } => parallelize_spec(wf, &mut spec, t, a, b)?,
        Transform::Batch {
            step,
            size,
            window_s,
        } => batch_spec(wf, &mut spec, t, step, *size, *window_s)?,
        Transform::Shard { step, n } => {
            shard_spec(wf, &mut spec, t, step, *n, merge_work_s_per_shard)?
        }
    };
    let workflow = validate(&spec, t)?;
    Ok(Applied {
        workflow,
        record: Record {
            transform: t.clone(),
            changes,
        },
    })
}

/// Applies a sequence of transforms in order; the records in the same order.
pub fn apply_all(wf: &Workflow, ts: &[Transform]) -> Result<(Workflow, Vec<Record>)> {
    let mut w = wf.clone();
    let mut records = Vec::with_capacity(ts.len());
    for t in ts {
        let a = apply(&w, t)?;
        w = a.workflow;
        records.push(a.record);
    }
    Ok((w, records))
}

/// Undoes the transform of `record` on `wf` (the workflow it produced, or one changed since only in
/// other steps): removes what it added, restores what it changed and removed at their places.
pub fn undo(wf: &Workflow, record: &Record) -> Result<Workflow> {
    let not = |place: &str, reason: String| Error::NotApplicable {
        transform: format!("undo {}", record.transform),
        place: place.to_owned(),
        reason,
    };
    let mut spec = wf.to_spec();
    // Reverse order: the last change first.
    for c in record.changes.iter().rev() {
        match c {
            StepChange::Added { name } => {
                let i = index_of(&spec, name)
                    .ok_or_else(|| not(name, "the step it added is not in the workflow".into()))?;
                spec.steps.remove(i);
            }
            StepChange::Modified { before } => {
                let i = index_of(&spec, &before.name).ok_or_else(|| {
                    not(
                        &before.name,
                        "the step it changed is not in the workflow".into(),
                    )
                })?;
                spec.steps[i] = before.clone();
            }
            StepChange::Removed { index, spec: s } => {
                if index_of(&spec, &s.name).is_some() {
                    return Err(not(
                        &s.name,
                        "a step of the name it removed is in the workflow".into(),
                    ));
                }
                let at = (*index).min(spec.steps.len());
                spec.steps.insert(at, s.clone());
            }
        }
    }
    Workflow::from_spec(&spec, &wf.name).map_err(|source| Error::Invalid {
        transform: format!("undo {}", record.transform),
        source,
    })
}

/// Undoes a fusion (see [`undo`]); an error when `record` is not one.
pub fn unfuse(wf: &Workflow, record: &Record) -> Result<Workflow> {
    if !matches!(record.transform, Transform::Fuse { .. }) {
        return Err(Error::NotApplicable {
            transform: "unfuse".into(),
            place: record.transform.to_string(),
            reason: "the record is not a fusion's".into(),
        });
    }
    undo(wf, record)
}

/// Every transform that applies to `wf`, in a deterministic order: fusions and parallelizations
/// along the topological order, then batches and shards per step in file order.
pub fn candidates(wf: &Workflow, opts: &CandidateOptions) -> Vec<Transform> {
    let mut out = Vec::new();
    let name = |id: workflow::StepId| wf.step(id).name.clone();
    for &id in wf.topo_order() {
        for &succ in wf.succs(id) {
            if opts.fuse && fuse_refusal(wf, id, succ).is_none() {
                out.push(Transform::Fuse {
                    a: name(id),
                    b: name(succ),
                });
            }
            if opts.parallelize && parallelize_refusal(wf, id, succ).is_none() {
                out.push(Transform::Parallelize {
                    a: name(id),
                    b: name(succ),
                });
            }
        }
    }
    for s in wf.steps() {
        if s.kind != StepKind::Task {
            continue;
        }
        if s.batch.is_none() {
            for &size in &opts.batch_sizes {
                if (2..=workflow::limits::MAX_BATCH_SIZE).contains(&size) {
                    out.push(Transform::Batch {
                        step: s.name.clone(),
                        size,
                        window_s: opts.batch_window_s,
                    });
                }
            }
        }
        for &n in &opts.shard_ways {
            if shard_refusal(s, n).is_none() {
                out.push(Transform::Shard {
                    step: s.name.clone(),
                    n,
                });
            }
        }
    }
    out
}

fn validate(spec: &WorkflowSpec, t: &Transform) -> Result<Workflow> {
    Workflow::from_spec(spec, &spec.name).map_err(|source| Error::Invalid {
        transform: t.to_string(),
        source,
    })
}

fn index_of(spec: &WorkflowSpec, name: &str) -> Option<usize> {
    spec.steps.iter().position(|s| s.name == name)
}

fn find(wf: &Workflow, t: &Transform, name: &str) -> Result<workflow::StepId> {
    wf.find(name).ok_or_else(|| Error::NotApplicable {
        transform: t.to_string(),
        place: format!("step '{name}'"),
        reason: format!("no such step in workflow '{}'", wf.name),
    })
}

fn refused(t: &Transform, place: String, reason: String) -> Error {
    Error::NotApplicable {
        transform: t.to_string(),
        place,
        reason,
    }
}

/// Why `a -> b` cannot be fused, if it cannot.
fn fuse_refusal(wf: &Workflow, a: workflow::StepId, b: workflow::StepId) -> Option<String> {
    let (sa, sb) = (wf.step(a), wf.step(b));
    if !wf.succs(a).contains(&b) {
        return Some(format!(
            "'{}' is not a predecessor of '{}'",
            sa.name, sb.name
        ));
    }
    if wf.succs(a).len() != 1 {
        return Some(format!(
            "'{}' has {} successors (a fused pair is a chain)",
            sa.name,
            wf.succs(a).len()
        ));
    }
    if wf.preds(b).len() != 1 {
        return Some(format!(
            "'{}' has {} predecessors (a fused pair is a chain)",
            sb.name,
            wf.preds(b).len()
        ));
    }
    for s in [sa, sb] {
        if s.kind != StepKind::Task {
            return Some(format!(
                "'{}' is a {} step, not a task",
                s.name,
                s.kind.as_str()
            ));
        }
        if s.batch.is_some() {
            return Some(format!("'{}' is batched", s.name));
        }
    }
    if sa.jobs != sb.jobs {
        return Some(format!(
            "'{}' runs {} jobs and '{}' {} (a fused function runs both per job)",
            sa.name, sa.jobs, sb.name, sb.jobs
        ));
    }
    if sa.work_s + sb.work_s > workflow::limits::MAX_WORK_S
        || sa.input_mb + sb.input_mb > workflow::limits::MAX_DATA_MB
        || sa.output_mb + sb.output_mb > workflow::limits::MAX_DATA_MB
        || sa.wait_s + sb.wait_s > workflow::limits::MAX_WAIT_S
    {
        return Some("the fused step would exceed the workflow limits".into());
    }
    let fused = fused_name(&sa.name, &sb.name);
    if wf.find(&fused).is_some() {
        return Some(format!("a step named '{fused}' exists"));
    }
    None
}

fn fused_name(a: &str, b: &str) -> String {
    format!("{a}+{b}")
}

fn merge_name(step: &str) -> String {
    format!("{step}-merge")
}

/// Ancestors of `id` (not itself) in `wf`, as a mask.
fn ancestors(wf: &Workflow, id: workflow::StepId) -> Vec<bool> {
    reachable_up(wf, wf.preds(id).to_vec())
}

/// Ancestors of `b` once the edge `a -> b` is dropped.
fn ancestors_without_edge(wf: &Workflow, a: workflow::StepId, b: workflow::StepId) -> Vec<bool> {
    reachable_up(
        wf,
        wf.preds(b).iter().copied().filter(|&p| p != a).collect(),
    )
}

/// The steps in `start` and every ancestor of them, as a mask.
fn reachable_up(wf: &Workflow, mut stack: Vec<workflow::StepId>) -> Vec<bool> {
    let mut seen = vec![false; wf.n_steps()];
    while let Some(p) = stack.pop() {
        if !seen[p.idx()] {
            seen[p.idx()] = true;
            stack.extend_from_slice(wf.preds(p));
        }
    }
    seen
}

fn parallelize_refusal(wf: &Workflow, a: workflow::StepId, b: workflow::StepId) -> Option<String> {
    let (sa, sb) = (wf.step(a), wf.step(b));
    if !wf.succs(a).contains(&b) {
        return Some(format!(
            "'{}' is not a predecessor of '{}'",
            sa.name, sb.name
        ));
    }
    if sb.data_from.contains(&a) {
        return Some(format!(
            "the edge carries data: '{}' reads the output of '{}'",
            sb.name, sa.name
        ));
    }
    if sa.kind == StepKind::Choice {
        return Some(format!(
            "'{}' is a choice step: '{}' runs only when its branch is taken",
            sa.name, sb.name
        ));
    }
    if matches!(sa.kind, StepKind::Fail) {
        return Some(format!("'{}' is a fail step", sa.name));
    }
    // The data `b` reads stays before it (re-attached below); choices above must stay above.
    let before = ancestors(wf, b);
    let mut after = ancestors_without_edge(wf, a, b);
    for &d in &sb.data_from {
        if !after[d.idx()] {
            after[d.idx()] = true;
            for (i, x) in ancestors(wf, d).into_iter().enumerate() {
                after[i] |= x;
            }
        }
    }
    for (i, (&was, &is)) in before.iter().zip(&after).enumerate() {
        if was && !is && wf.steps()[i].kind == StepKind::Choice {
            return Some(format!(
                "'{}' would no longer be below choice step '{}'",
                sb.name,
                wf.steps()[i].name
            ));
        }
    }
    None
}

fn shard_refusal(s: &workflow::Step, n: u32) -> Option<String> {
    if s.kind != StepKind::Task {
        return Some(format!(
            "'{}' is a {} step, not a task",
            s.name,
            s.kind.as_str()
        ));
    }
    if n < 2 {
        return Some(format!("{n} shards: at least 2"));
    }
    if n > s.jobs {
        return Some(format!(
            "'{}' has {} independent jobs, fewer than {n} shards",
            s.name, s.jobs
        ));
    }
    if n > workflow::limits::MAX_FAN_OUT {
        return Some(format!(
            "{n} shards exceed the fan-out limit {}",
            workflow::limits::MAX_FAN_OUT
        ));
    }
    match s.max_fan_out {
        None => Some(format!(
            "'{}' already fans out by its configuration (no max_fan_out)",
            s.name
        )),
        Some(m) if m >= n => Some(format!("'{}' may already fan out to {m} instances", s.name)),
        Some(_) => {
            if s.output_mb * f64::from(s.jobs) > workflow::limits::MAX_DATA_MB {
                Some(format!(
                    "the merge of '{}' would read more than {} MB",
                    s.name,
                    workflow::limits::MAX_DATA_MB
                ))
            } else if s.batch.is_some() {
                Some(format!("'{}' is batched", s.name))
            } else {
                None
            }
        }
    }
}

fn names_in(spec: &WorkflowSpec) -> BTreeMap<String, usize> {
    spec.steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), i))
        .collect()
}

/// The data sources of a spec step as names (its explicit list, else its `after`).
fn reads(s: &StepSpec) -> Vec<String> {
    s.data_from.clone().unwrap_or_else(|| s.after.clone())
}

/// Replaces `old` names by `new` in a list, keeping the first occurrence of each.
fn rename(list: &[String], old: &[&str], new: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for x in list {
        let y = if old.contains(&x.as_str()) {
            new.to_owned()
        } else {
            x.clone()
        };
        if !out.contains(&y) {
            out.push(y);
        }
    }
    out
}

/// Sets a spec step's `after` and `data_from`, writing `data_from` only when it differs from `after`.
fn set_edges(s: &mut StepSpec, after: Vec<String>, data: Vec<String>) {
    let same = data.len() == after.len() && data.iter().all(|d| after.contains(d));
    s.data_from = if same { None } else { Some(data) };
    s.after = after;
}

/// Points every other step's `after` and `data_from` entries naming one of `old` at `new`; the
/// changed steps as they were.
fn redirect(spec: &mut WorkflowSpec, old: &[&str], new: &str) -> Vec<StepChange> {
    let mut changes = Vec::new();
    for s in spec.steps.iter_mut() {
        if old.contains(&s.name.as_str()) {
            continue;
        }
        let named = |list: &[String]| list.iter().any(|x| old.contains(&x.as_str()));
        if named(&s.after) || s.data_from.as_deref().is_some_and(named) {
            changes.push(StepChange::Modified { before: s.clone() });
            s.after = rename(&s.after, old, new);
            if let Some(d) = &s.data_from {
                let d = rename(d, old, new);
                let after = s.after.clone();
                set_edges(s, after, d);
            }
        }
    }
    changes
}

fn fuse_spec(
    wf: &Workflow,
    spec: &mut WorkflowSpec,
    t: &Transform,
    a: &str,
    b: &str,
) -> Result<Vec<StepChange>> {
    let (ia, ib) = (find(wf, t, a)?, find(wf, t, b)?);
    if let Some(reason) = fuse_refusal(wf, ia, ib) {
        return Err(refused(t, format!("edge {a} -> {b}"), reason));
    }
    let (sa, sb) = (wf.step(ia), wf.step(ib));
    let idx = names_in(spec);
    let (pa, pb) = (idx[a], idx[b]);
    let spec_a = spec.steps[pa].clone();
    let spec_b = spec.steps[pb].clone();
    let fused = fused_name(a, b);

    // Does a step other than `b` read `a`? Does `b` read a step other than `a`?
    let a_read_later = wf
        .steps()
        .iter()
        .enumerate()
        .any(|(i, s)| i != ib.idx() && s.data_from.contains(&ia));
    let b_reads_others = sb.data_from.iter().any(|&d| d != ia);
    let work = sa.work_s + sb.work_s;
    let pf = (sa.work_s * sa.parallel_fraction + sb.work_s * sb.parallel_fraction) / work;
    let min_opt = |x: Option<u32>, y: Option<u32>| match (x, y) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    };
    let max_opt = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    };
    let mut data: Vec<String> = reads(&spec_a);
    for d in reads(&spec_b) {
        if d != a && !data.contains(&d) {
            data.push(d);
        }
    }
    let wait = sa.wait_s + sb.wait_s;
    let mut f = StepSpec {
        name: fused.clone(),
        kind: None,
        after: spec_a.after.clone(),
        function: None,
        jobs: Some(sa.jobs),
        work_s: Some(work),
        parallel_fraction: Some(pf.clamp(0.0, 1.0)),
        memory_mb_per_worker: Some(sa.memory_mb_per_worker.max(sb.memory_mb_per_worker)),
        input_mb: Some(sa.input_mb + if b_reads_others { sb.input_mb } else { 0.0 }),
        output_mb: Some(sb.output_mb + if a_read_later { sa.output_mb } else { 0.0 }),
        cold_start_s: max_opt(sa.cold_start_s, sb.cold_start_s),
        max_fan_out: min_opt(sa.max_fan_out, sb.max_fan_out),
        max_concurrency: min_opt(sa.max_concurrency, sb.max_concurrency),
        wait_s: (wait > 0.0).then_some(wait),
        retry: spec_a.retry.clone(),
        choices: Vec::new(),
        data_from: None,
        batch: None,
    };
    let after = f.after.clone();
    set_edges(&mut f, after, data);

    // Readers of `a` or `b` read the fused step; successors of `b` follow it.
    let mut changes = redirect(spec, &[a, b], &fused);
    // Remove `b` first (it comes after `a` in no fixed order: remove the later index first).
    let (first, second) = if pa < pb {
        ((pa, spec_a), (pb, spec_b))
    } else {
        ((pb, spec_b), (pa, spec_a))
    };
    spec.steps.remove(second.0);
    spec.steps.remove(first.0);
    spec.steps.insert(first.0, f);
    // Undo runs in reverse: drop the fused step, re-insert the earlier then the later position.
    changes.push(StepChange::Removed {
        index: second.0,
        spec: second.1,
    });
    changes.push(StepChange::Removed {
        index: first.0,
        spec: first.1,
    });
    changes.push(StepChange::Added { name: fused });
    Ok(changes)
}

fn parallelize_spec(
    wf: &Workflow,
    spec: &mut WorkflowSpec,
    t: &Transform,
    a: &str,
    b: &str,
) -> Result<Vec<StepChange>> {
    let (ia, ib) = (find(wf, t, a)?, find(wf, t, b)?);
    if let Some(reason) = parallelize_refusal(wf, ia, ib) {
        return Err(refused(t, format!("edge {a} -> {b}"), reason));
    }
    let mut anc = ancestors_without_edge(wf, ia, ib);
    let mut after: Vec<workflow::StepId> =
        wf.preds(ib).iter().copied().filter(|&p| p != ia).collect();
    // Every step `b` reads stays an ancestor: the nearest ones are ordered before it directly.
    let sb = wf.step(ib);
    let mut missing: Vec<workflow::StepId> = sb
        .data_from
        .iter()
        .copied()
        .filter(|d| !anc[d.idx()])
        .collect();
    // Latest first, so that an earlier one already covered by a later one is not added.
    let pos: BTreeMap<workflow::StepId, usize> = wf
        .topo_order()
        .iter()
        .enumerate()
        .map(|(i, &s)| (s, i))
        .collect();
    missing.sort_by_key(|d| std::cmp::Reverse(pos[d]));
    for d in missing {
        if !anc[d.idx()] {
            after.push(d);
            anc[d.idx()] = true;
            for (i, x) in ancestors(wf, d).into_iter().enumerate() {
                anc[i] |= x;
            }
        }
    }
    after.sort_by_key(|d| d.0);
    let names: Vec<String> = after.iter().map(|&d| wf.step(d).name.clone()).collect();
    let data: Vec<String> = sb
        .data_from
        .iter()
        .map(|&d| wf.step(d).name.clone())
        .collect();
    let i = index_of(spec, b).expect("found above");
    let before = spec.steps[i].clone();
    set_edges(&mut spec.steps[i], names, data);
    Ok(vec![StepChange::Modified { before }])
}

fn batch_spec(
    wf: &Workflow,
    spec: &mut WorkflowSpec,
    t: &Transform,
    step: &str,
    size: u32,
    window_s: f64,
) -> Result<Vec<StepChange>> {
    let id = find(wf, t, step)?;
    let s = wf.step(id);
    let place = format!("step '{step}'");
    if s.kind != StepKind::Task {
        return Err(refused(
            t,
            place,
            format!("a {} step, not a task", s.kind.as_str()),
        ));
    }
    if s.batch.is_some() {
        return Err(refused(t, place, "already batched".into()));
    }
    if !(2..=workflow::limits::MAX_BATCH_SIZE).contains(&size) {
        return Err(refused(
            t,
            place,
            format!(
                "batch size {size} is outside 2..={}",
                workflow::limits::MAX_BATCH_SIZE
            ),
        ));
    }
    if !(0.0..=workflow::limits::MAX_BATCH_WINDOW_S).contains(&window_s) {
        return Err(refused(
            t,
            place,
            format!(
                "window {window_s} s is outside 0..={} s",
                workflow::limits::MAX_BATCH_WINDOW_S
            ),
        ));
    }
    let i = index_of(spec, step).expect("found above");
    let before = spec.steps[i].clone();
    spec.steps[i].batch = Some(BatchSpec {
        size: Some(size),
        window_s: (window_s > 0.0).then_some(window_s),
    });
    Ok(vec![StepChange::Modified { before }])
}

fn shard_spec(
    wf: &Workflow,
    spec: &mut WorkflowSpec,
    t: &Transform,
    step: &str,
    n: u32,
    merge_work_s_per_shard: f64,
) -> Result<Vec<StepChange>> {
    let id = find(wf, t, step)?;
    let s = wf.step(id);
    if let Some(reason) = shard_refusal(s, n) {
        return Err(refused(t, format!("step '{step}'"), reason));
    }
    if !(merge_work_s_per_shard.is_finite() && merge_work_s_per_shard > 0.0) {
        return Err(Error::Setting {
            field: "merge_work_s_per_shard".into(),
            reason: format!("{merge_work_s_per_shard} is not a positive number of seconds"),
        });
    }
    let merge = merge_name(step);
    if wf.find(&merge).is_some() {
        return Err(refused(
            t,
            format!("step '{step}'"),
            format!("a step named '{merge}' exists"),
        ));
    }
    // Successors and readers of `step` follow and read its merge.
    let mut changes = redirect(spec, &[step], &merge);
    let i = index_of(spec, step).expect("found above");
    changes.push(StepChange::Modified {
        before: spec.steps[i].clone(),
    });
    spec.steps[i].max_fan_out = Some(n);
    let total_out = s.output_mb * f64::from(s.jobs);
    let m = StepSpec {
        name: merge.clone(),
        kind: None,
        after: vec![step.to_owned()],
        function: None,
        jobs: Some(1),
        work_s: Some(merge_work_s_per_shard * f64::from(n)),
        parallel_fraction: Some(0.0),
        memory_mb_per_worker: Some(128),
        input_mb: Some(total_out),
        output_mb: Some(total_out),
        cold_start_s: s.cold_start_s,
        max_fan_out: Some(1),
        max_concurrency: None,
        wait_s: None,
        retry: spec.steps[i].retry.clone(),
        choices: Vec::new(),
        data_from: None,
        batch: None,
    };
    spec.steps.insert(i + 1, m);
    changes.push(StepChange::Added { name: merge });
    Ok(changes)
}

/// The names of every step in `wf` (for tests and diagnostics).
pub fn step_names(wf: &Workflow) -> BTreeSet<String> {
    wf.steps().iter().map(|s| s.name.clone()).collect()
}
