//! One served workflow's decisions: the policy object from [`optimizer::service_policy_by_name`] (the
//! simulator's `stepconf`/`replan`, built the way `faastune plan` builds them) driven with a
//! [`platform::StepContext`] made from the execution's stored state.
//!
//! A decision or an observation (`Engine::transact`):
//! 1. read the execution (and, with Redis, the learned-state version; import the learned state when
//!    another replica changed it);
//! 2. check the request against the state (a step decided twice, a finish before its decision:
//!    conflicts, nothing changes);
//! 3. import the execution's per-request policy state, call `choose` (or `observe`), export it and
//!    drop it from the policy;
//! 4. write it back with a compare-and-set; when another request or replica wrote first, start again
//!    from 1.
//!
//! The policy object is behind the workflow's lock: for StepConf (nothing learned across executions)
//! only step 3 holds it, so requests overlap their store round trips; replan holds it from 1 to 4,
//! so its learned state and the store's move together. Requests to one execution take turns in the
//! process (a lock per hash of the id), so a retry is needed only when another replica wrote.

use std::collections::BTreeMap;
use std::sync::Arc;

use optimizer::{LearnedState, ServicePolicy};
use platform::{Platform, StepContext};
use serde::Serialize;
use tokio::sync::Mutex;
use workflow::{StepId, StepKind, Workflow};

use crate::config::{Predictors, Resolved, WorkflowConfig};
use crate::metrics::WorkflowMetrics;
use crate::state::{Decided, ExecState, Finished, StepRecord, decode_learned, encode_learned};
use crate::store::{Commit, LearnedWrite, Store};
use crate::{Error, alias_name};

/// Attempts of one request when other replicas keep writing the same execution first.
const MAX_ATTEMPTS: usize = 8;

/// Requests to one execution in this process take turns (one of this many locks, by the id's hash),
/// so only requests on other replicas can write an execution between a read and a write.
const STRIPES: usize = 64;

/// The largest elapsed time, start time or duration accepted, seconds (a year: Step Functions'
/// longest execution).
pub const MAX_SECONDS: f64 = 366.0 * 86_400.0;

/// The longest execution id, bytes.
pub const MAX_ID_BYTES: usize = 256;

/// A decision, as the API answers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// The workflow.
    pub workflow: String,
    /// The execution.
    pub execution: String,
    /// The step.
    pub step: String,
    /// The execution's request index.
    pub request_idx: u64,
    /// Memory per instance, MB.
    pub memory_mb: u32,
    /// Instances (inter-function parallelism).
    pub fan_out: u32,
    /// Workers per instance (intra-function parallelism).
    pub workers: u32,
    /// The function alias of this configuration (`faastune-<memory>mb-w<workers>`, as `faastune aws
    /// deploy` names them).
    pub alias: String,
    /// The step's time budget, seconds ([`optimizer::Explain::sub_slo_s`]).
    pub sub_slo_s: f64,
    /// Predicted duration of the configuration, seconds (from the previous step's finish: transition
    /// and `wait_s` included, like `sub_slo_s`).
    pub predicted_duration_s: f64,
    /// Predicted cost of the step, USD.
    pub predicted_cost_usd: f64,
    /// Seconds since the execution started, as used.
    pub elapsed_s: f64,
}

/// A finish report, checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FinishReport {
    /// How long the step took, seconds.
    pub duration_s: f64,
    /// When it started, seconds since the execution started (default: its decision's time; required
    /// for a step that is not a task).
    pub start_s: Option<f64>,
    /// Its cost, USD.
    pub cost_usd: f64,
    /// Instances that started cold.
    pub n_cold_starts: u32,
}

/// What the engine holds across requests: the policy and the learned-state version it has imported.
struct Core {
    policy: Box<dyn ServicePolicy>,
    /// The store's learned-state version the policy holds; `None`: unknown (import before use).
    learned_version: Option<u64>,
}

/// One served workflow.
pub struct Engine {
    /// Its name (routes, store keys).
    pub name: String,
    /// The configuration it was built from.
    pub config: WorkflowConfig,
    /// The workflow.
    pub workflow: Workflow,
    /// The platform.
    pub platform: Platform,
    /// The SLO, seconds.
    pub slo_s: f64,
    /// See [`Resolved::fingerprint`].
    pub fingerprint: u64,
    /// See [`dag_hash`].
    pub dag_hash: u64,
    steps: BTreeMap<String, StepId>,
    /// The policy's learned state when built (what it returns to when the store holds none).
    initial_learned: Option<LearnedState>,
    learns: bool,
    /// Which learned state in the store is this engine's: its steps' hash ([`dag_hash`]), in hex.
    learned_tag: String,
    /// A request's state before any decision.
    empty_request: optimizer::RequestState,
    core: Mutex<Core>,
    stripes: Vec<Mutex<()>>,
    /// Executions this process wrote last, for a store in another process (saves a read).
    recent: Recent,
    /// Its counters.
    pub metrics: Arc<WorkflowMetrics>,
}

/// A hash of the workflow's step names, kinds and edges: an execution that began under other steps
/// is refused rather than misread.
pub fn dag_hash(wf: &Workflow) -> u64 {
    let mut h = crate::config::FNV_BASIS;
    for (i, s) in wf.steps().iter().enumerate() {
        h = crate::config::fnv1a(h, s.name.as_bytes());
        h = crate::config::fnv1a(h, &[0, s.kind as u8]);
        for p in wf.preds(StepId(i as u32)) {
            h = crate::config::fnv1a(h, &p.0.to_le_bytes());
        }
        h = crate::config::fnv1a(h, &[1]);
    }
    h
}

fn check_seconds(what: &str, x: f64) -> Result<f64, Error> {
    if !x.is_finite() || x < 0.0 {
        return Err(Error::BadRequest(format!(
            "{what} {x} must be a finite number >= 0"
        )));
    }
    if x > MAX_SECONDS {
        return Err(Error::BadRequest(format!(
            "{what} {x} s is over a year ({MAX_SECONDS} s)"
        )));
    }
    Ok(x)
}

/// Checks an execution id: 1 to [`MAX_ID_BYTES`] bytes, no control characters.
pub fn check_id(id: &str) -> Result<(), Error> {
    if id.is_empty() || id.len() > MAX_ID_BYTES || id.chars().any(char::is_control) {
        return Err(Error::BadRequest(format!(
            "execution id {id:?}: must be 1 to {MAX_ID_BYTES} bytes without control characters"
        )));
    }
    Ok(())
}

impl Engine {
    /// Builds the policy for `r` with `predictors` (profiling and fitting for fitted models: slow).
    pub fn build(
        r: Resolved,
        predictors: &dyn Predictors,
        metrics: Arc<WorkflowMetrics>,
        store_kind: StoreKind,
    ) -> Result<Self, Error> {
        let at = &r.config.origin;
        let predictor = predictors
            .build(&r.config.model, r.config.seed, &r.workflow, &r.platform)
            .map_err(|e| Error::Config(format!("{at}: model {}: {e}", r.config.model.label())))?;
        let policy = optimizer::service_policy_by_name(
            &r.config.policy,
            &r.workflow,
            &r.platform,
            predictor.as_ref(),
            r.slo_s,
        )
        .map_err(|e| Error::Config(format!("{at}: {e}")))?;
        let steps = r
            .workflow
            .steps()
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), StepId(i as u32)))
            .collect();
        let initial_learned = policy.export_learned();
        let empty_request = policy.export_request(u64::MAX);
        let hash = dag_hash(&r.workflow);
        Ok(Engine {
            name: r.name,
            dag_hash: hash,
            learned_tag: format!("{hash:016x}"),
            config: r.config,
            workflow: r.workflow,
            platform: r.platform,
            slo_s: r.slo_s,
            fingerprint: r.fingerprint,
            steps,
            learns: initial_learned.is_some(),
            initial_learned,
            empty_request,
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            recent: Recent::new(matches!(store_kind, StoreKind::Remote)),
            core: Mutex::new(Core {
                policy,
                learned_version: Some(0),
            }),
            metrics,
        })
    }

    /// The step called `name`.
    pub fn step(&self, name: &str) -> Result<StepId, Error> {
        self.steps.get(name).copied().ok_or_else(|| {
            let names: Vec<&str> = self.steps.keys().map(String::as_str).take(20).collect();
            Error::NotFound(format!(
                "workflow '{}' has no step '{name}'; its steps: {}{}",
                self.name,
                names.join(", "),
                if self.steps.len() > 20 { ", ..." } else { "" }
            ))
        })
    }

    /// Imports the store's learned state when the policy's is not the stored version.
    async fn sync_learned(
        &self,
        core: &mut Core,
        store: &Store,
        version: u64,
    ) -> Result<(), Error> {
        if !self.learns || !store.keeps_learned() || core.learned_version == Some(version) {
            return Ok(());
        }
        let (v, learned) = match store.learned(&self.name, &self.learned_tag).await? {
            Some((v, blob)) => (
                v,
                decode_learned(&blob, &format!("workflow '{}' learned state", self.name))?,
            ),
            None => match &self.initial_learned {
                Some(l) => (0, l.clone()),
                None => return Ok(()),
            },
        };
        core.policy.import_learned(learned).map_err(|e| {
            Error::Internal(format!(
                "workflow '{}': stored learned state does not fit: {e}",
                self.name
            ))
        })?;
        core.learned_version = Some(v);
        Ok(())
    }

    /// Runs `op` on execution `id` (a new one when absent) by the protocol of the module docs: read,
    /// import the policy's state, `op` (checks, then the policy call), export, compare-and-set write,
    /// again from the read when another request wrote first. A policy that learns across executions
    /// holds the workflow's lock through the write (its learned state and the store's move together);
    /// one that does not (StepConf) holds it only while it computes, so requests overlap their store
    /// round trips.
    async fn transact<T>(
        &self,
        store: &Store,
        id: &str,
        mut op: impl FnMut(&mut dyn ServicePolicy, &mut ExecState) -> Result<T, Error>,
    ) -> Result<(T, ExecState), Error> {
        let stripe =
            crate::config::fnv1a(crate::config::FNV_BASIS, id.as_bytes()) as usize % STRIPES;
        let _turn = self.stripes[stripe].lock().await;
        let mut held = if self.learns {
            Some(self.core.lock().await)
        } else {
            None
        };
        for attempt in 0..MAX_ATTEMPTS {
            // What this process wrote last is the execution's state unless another replica wrote
            // since; then the compare-and-set fails and the next attempt reads the store.
            let recent = (attempt == 0 && !self.learns)
                .then(|| self.recent.get(id))
                .flatten();
            let from_recent = recent.is_some();
            let (loaded, lv) = match recent {
                Some(x) => (Some(x), 0),
                None => {
                    store
                        .load(
                            &self.name,
                            id,
                            (self.learns && store.keeps_learned())
                                .then_some(self.learned_tag.as_str()),
                        )
                        .await?
                }
            };
            if let Some(core) = held.as_deref_mut() {
                self.sync_learned(core, store, lv).await?;
            }
            let (version, mut state) = match loaded {
                Some((v, s)) => {
                    if s.dag_hash != self.dag_hash || s.steps.len() != self.workflow.n_steps() {
                        return Err(Error::Conflict(format!(
                            "execution '{id}' began under other steps of workflow '{}' (the workflow file changed since); end it with DELETE",
                            self.name
                        )));
                    }
                    (v, s)
                }
                None => (
                    0,
                    ExecState {
                        dag_hash: self.dag_hash,
                        request_idx: store.next_request_idx(&self.name).await?,
                        steps: vec![StepRecord::default(); self.workflow.n_steps()],
                        policy: self.empty_request.clone(),
                    },
                ),
            };
            let out = {
                let mut local: Option<tokio::sync::MutexGuard<'_, Core>> = None;
                let core: &mut Core = match held.as_deref_mut() {
                    Some(c) => c,
                    None => local.insert(self.core.lock().await),
                };
                self.import(core, &state)?;
                let r = op(core.policy.as_mut(), &mut state);
                state.policy = core.policy.export_request(state.request_idx);
                core.policy.forget_request(state.request_idx);
                r
            };
            let out = match out {
                Ok(x) => x,
                // A refusal from a remembered state is checked against the store's.
                Err(_) if from_recent => {
                    self.recent.forget(id);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let written = self
                .write(held.as_deref_mut(), store, id, version, &state)
                .await;
            match written {
                Ok(true) => {
                    self.recent.put(id, version + 1, &state);
                    return Ok((out, state));
                }
                Ok(false) => self.recent.forget(id),
                Err(e) => {
                    self.recent.forget(id);
                    return Err(e);
                }
            }
        }
        Err(contention(id))
    }

    /// Writes the execution back (with the learned state when `core` is held and the store keeps
    /// it); `Ok(false)`: another request wrote first (retry).
    async fn write(
        &self,
        core: Option<&mut Core>,
        store: &Store,
        id: &str,
        version: u64,
        state: &ExecState,
    ) -> Result<bool, Error> {
        let Some(core) = core.filter(|_| store.keeps_learned()) else {
            return Ok(matches!(
                store.commit(&self.name, id, version, state, None).await?,
                Commit::Done(_)
            ));
        };
        let blob = core.policy.export_learned().map(|l| encode_learned(&l));
        let learned = blob.as_deref().map(|b| LearnedWrite {
            tag: &self.learned_tag,
            expected: core.learned_version.unwrap_or(0),
            blob: b,
        });
        // Until the write is known to have happened, the policy's learned state is not the store's.
        let before = core.learned_version.take();
        match store
            .commit(&self.name, id, version, state, learned)
            .await?
        {
            Commit::Done(v) => {
                core.learned_version = v.or(before);
                Ok(true)
            }
            Commit::ExecConflict | Commit::LearnedConflict => Ok(false),
        }
    }

    fn import(&self, core: &mut Core, state: &ExecState) -> Result<(), Error> {
        core.policy
            .import_request(state.request_idx, state.policy.clone())
            .map_err(|e| {
                Error::Internal(format!(
                    "workflow '{}': stored policy state does not fit: {e}",
                    self.name
                ))
            })
    }

    /// The context a policy sees for step `v` of request `request_idx` at `elapsed_s`, as the simulator
    /// builds it.
    fn context<'a>(
        &'a self,
        v: StepId,
        request_idx: u64,
        elapsed_s: f64,
        outcomes: &'a [Option<platform::StepOutcome>],
    ) -> StepContext<'a> {
        StepContext {
            workflow: &self.workflow,
            platform: &self.platform,
            step: v,
            request_idx,
            elapsed_s,
            slo_s: Some(self.slo_s),
            outcomes,
        }
    }

    /// The configuration of step `step` of execution `id`, which started `elapsed_s` seconds ago.
    pub async fn decide(
        &self,
        store: &Store,
        id: &str,
        step: &str,
        elapsed_s: f64,
    ) -> Result<Decision, Error> {
        check_id(id)?;
        let v = self.step(step)?;
        let elapsed_s = check_seconds("elapsed_s", elapsed_s)?;
        let kind = self.workflow.step(v).kind;
        if kind != StepKind::Task {
            return Err(Error::Conflict(format!(
                "step '{step}' of workflow '{}' is a {} step: only task steps are configured",
                self.name,
                kind_name(kind)
            )));
        }
        let ((config, explain, request_idx), _) = self
            .transact(store, id, |policy, state| {
                if let Some(d) = state.steps[v.idx()].decided {
                    return Err(Error::Conflict(format!(
                        "step '{step}' of execution '{id}' was already decided ({} MB, fan-out {}, {} workers at {} s); nothing changed",
                        d.config.memory_mb, d.config.fan_out, d.config.workers, d.elapsed_s
                    )));
                }
                let outcomes = state.outcomes();
                let ctx = self.context(v, state.request_idx, elapsed_s, &outcomes);
                let config = policy.choose(&ctx);
                let explain = policy.last_explain().ok_or_else(|| {
                    Error::Internal(format!("policy {} explained nothing", self.config.policy))
                })?;
                state.steps[v.idx()].decided = Some(Decided {
                    config,
                    elapsed_s,
                    sub_slo_s: explain.sub_slo_s,
                    predicted_duration_s: explain.predicted_duration_s,
                });
                Ok((config, explain, state.request_idx))
            })
            .await?;
        self.metrics.decided();
        Ok(Decision {
            workflow: self.name.clone(),
            execution: id.to_owned(),
            step: step.to_owned(),
            request_idx,
            memory_mb: config.memory_mb,
            fan_out: config.fan_out,
            workers: config.workers,
            alias: alias_name(config.memory_mb, config.workers),
            sub_slo_s: explain.sub_slo_s,
            predicted_duration_s: explain.predicted_duration_s,
            predicted_cost_usd: explain.predicted_cost_usd,
            elapsed_s,
        })
    }

    /// Records that step `step` of execution `id` finished, and lets the policy learn from it.
    pub async fn finish(
        &self,
        store: &Store,
        id: &str,
        step: &str,
        report: FinishReport,
    ) -> Result<ExecState, Error> {
        check_id(id)?;
        let v = self.step(step)?;
        let duration_s = check_seconds("duration_s", report.duration_s)?;
        if let Some(s) = report.start_s {
            check_seconds("start_s", s)?;
        }
        if !(report.cost_usd.is_finite() && report.cost_usd >= 0.0) {
            return Err(Error::BadRequest(format!(
                "cost_usd {} must be a finite number >= 0",
                report.cost_usd
            )));
        }
        let kind = self.workflow.step(v).kind;
        let ((), state) = self
            .transact(store, id, |policy, state| {
                let rec = state.steps[v.idx()];
                if let Some(f) = rec.finished {
                    return Err(Error::Conflict(format!(
                        "step '{step}' of execution '{id}' already finished (started at {} s, took {} s); nothing changed",
                        f.start_s, f.duration_s
                    )));
                }
                if kind == StepKind::Task && rec.decided.is_none() {
                    return Err(Error::Conflict(format!(
                        "step '{step}' of execution '{id}' was not decided: decide it first"
                    )));
                }
                let start_s = match (report.start_s, rec.decided) {
                    (Some(s), _) => s,
                    (None, Some(d)) => d.elapsed_s,
                    (None, None) => {
                        return Err(Error::BadRequest(format!(
                            "step '{step}' is a {} step (never decided): give start_s",
                            kind_name(kind)
                        )));
                    }
                };
                state.steps[v.idx()].finished = Some(Finished {
                    start_s,
                    duration_s,
                    cost_usd: report.cost_usd,
                    n_cold_starts: report.n_cold_starts,
                });
                let outcomes = state.outcomes();
                let ctx = self.context(v, state.request_idx, start_s + duration_s, &outcomes);
                if let Some(o) = outcomes[v.idx()] {
                    policy.observe(&ctx, &o);
                }
                Ok(())
            })
            .await?;
        self.metrics.observed();
        Ok(state)
    }

    /// The execution's state.
    pub async fn get(&self, store: &Store, id: &str) -> Result<ExecState, Error> {
        check_id(id)?;
        let (loaded, _) = store.load(&self.name, id, None).await?;
        loaded.map(|(_, s)| s).ok_or_else(|| self.no_execution(id))
    }

    /// Ends execution `id` (its state is removed).
    pub async fn delete(&self, store: &Store, id: &str) -> Result<(), Error> {
        check_id(id)?;
        self.recent.forget(id);
        if store.delete(&self.name, id).await? {
            self.metrics.deleted();
            Ok(())
        } else {
            Err(self.no_execution(id))
        }
    }

    fn no_execution(&self, id: &str) -> Error {
        Error::NotFound(format!(
            "workflow '{}' has no execution '{id}' (never started, ended, or expired)",
            self.name
        ))
    }
}

/// Where the store keeps executions, as [`Engine::build`] needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// In this process: reading it is as cheap as any cache.
    Local,
    /// In another process (Redis): the engine keeps what it wrote last, to skip a read.
    Remote,
}

/// The states of executions this process wrote last (at most [`Recent::CAPACITY`]; when full, the
/// oldest write is dropped). Used only for a remote store.
struct Recent {
    enabled: bool,
    inner: std::sync::Mutex<RecentInner>,
}

#[derive(Default)]
struct RecentInner {
    /// id -> (write sequence number, version, state).
    by_id: BTreeMap<String, (u64, u64, ExecState)>,
    /// write sequence number -> id.
    by_age: BTreeMap<u64, String>,
    seq: u64,
}

impl Recent {
    const CAPACITY: usize = 10_000;

    fn new(enabled: bool) -> Self {
        Recent {
            enabled,
            inner: std::sync::Mutex::new(RecentInner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RecentInner> {
        // Every update below leaves both maps consistent before it can panic (it cannot), so a
        // poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, id: &str) -> Option<(u64, ExecState)> {
        if !self.enabled {
            return None;
        }
        self.lock().by_id.get(id).map(|(_, v, s)| (*v, s.clone()))
    }

    fn put(&self, id: &str, version: u64, state: &ExecState) {
        if !self.enabled {
            return;
        }
        let mut r = self.lock();
        r.seq += 1;
        let seq = r.seq;
        if let Some((old, _, _)) = r.by_id.insert(id.to_owned(), (seq, version, state.clone())) {
            r.by_age.remove(&old);
        }
        r.by_age.insert(seq, id.to_owned());
        while r.by_id.len() > Self::CAPACITY {
            let Some((_, oldest)) = r.by_age.pop_first() else {
                break;
            };
            r.by_id.remove(&oldest);
        }
    }

    fn forget(&self, id: &str) {
        if !self.enabled {
            return;
        }
        let mut r = self.lock();
        if let Some((seq, _, _)) = r.by_id.remove(id) {
            r.by_age.remove(&seq);
        }
    }
}

fn contention(id: &str) -> Error {
    Error::Contention(format!(
        "execution '{id}' kept changing under this request ({MAX_ATTEMPTS} attempts); retry"
    ))
}

/// A step kind's name, as in workflow files.
pub fn kind_name(kind: StepKind) -> &'static str {
    match kind {
        StepKind::Task => "task",
        StepKind::Choice => "choice",
        StepKind::Pass => "pass",
        StepKind::Fail => "fail",
    }
}
