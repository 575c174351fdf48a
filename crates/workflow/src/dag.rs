//! The validated workflow DAG: steps with dense ids, predecessor and successor lists, a topological
//! order, and longest-path (critical path) queries.

use std::collections::BTreeMap;
use std::fmt;

use crate::limits::{
    MAX_BATCH_SIZE, MAX_BATCH_WINDOW_S, MAX_COLD_START_S, MAX_CONCURRENCY, MAX_DATA_MB,
    MAX_FAN_OUT, MAX_JOBS, MAX_MEMORY_MB_PER_WORKER, MAX_SLO_S, MAX_STEPS, MAX_WAIT_S, MAX_WORK_S,
};
use crate::retry::check_retry;
use crate::spec::{BatchSpec, ChoiceSpec, StepSpec, WorkflowSpec};
use crate::{Error, Problem, ProblemKind, RetryPolicy};

/// Dense index of a step in its workflow (`0..n_steps`), in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StepId(pub u32);

impl StepId {
    /// As a `usize` index.
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// Runs `jobs` jobs of a function (the only kind that is configured and billed for compute).
    Task,
    /// Picks one successor branch at random; the others are skipped.
    Choice,
    /// Passes its input on after `wait_s` (ASL Pass, Wait, Succeed).
    Pass,
    /// Marks the request failed when reached (ASL Fail).
    Fail,
}

impl StepKind {
    fn parse(s: &str) -> Option<StepKind> {
        match s {
            "task" => Some(StepKind::Task),
            "choice" => Some(StepKind::Choice),
            "pass" => Some(StepKind::Pass),
            "fail" => Some(StepKind::Fail),
            _ => None,
        }
    }

    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Task => "task",
            StepKind::Choice => "choice",
            StepKind::Pass => "pass",
            StepKind::Fail => "fail",
        }
    }
}

/// A validated step. Units are in the field names; all numbers are finite and in range.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Unique name.
    pub name: String,
    /// What the step does.
    pub kind: StepKind,
    /// Function name (steps of one function share warm instances).
    pub function: String,
    /// Independent jobs (>= 1 for tasks, 0 otherwise).
    pub jobs: u32,
    /// Single-core CPU seconds per job at one full vCPU (> 0 for tasks).
    pub work_s: f64,
    /// Share of a job's work that can use several cores, in [0, 1].
    pub parallel_fraction: f64,
    /// Memory one worker process needs, MB (>= 1).
    pub memory_mb_per_worker: u32,
    /// Data read per job, MB.
    pub input_mb: f64,
    /// Data written per job, MB.
    pub output_mb: f64,
    /// Mean cold start of this function, seconds, if the workflow gives one.
    pub cold_start_s: Option<f64>,
    /// Upper bound on the fan-out, if any.
    pub max_fan_out: Option<u32>,
    /// Most instances of the step that run at once (ASL Map MaxConcurrency), >= 1; `None` is unlimited.
    /// A fan-out above it runs in waves: each next instance starts when a running one finishes.
    /// `None` for non-task steps.
    pub max_concurrency: Option<u32>,
    /// Fixed delay, seconds.
    pub wait_s: f64,
    /// What the platform does when an invocation of this task step is throttled: the step's own
    /// `retry`, else the workflow's. `None` means no retrier: a throttled invocation fails the step at
    /// once (Step Functions without a matching Retrier). Always `None` for non-task steps.
    pub retry: Option<RetryPolicy>,
    /// For choice steps: (successor, probability); probabilities sum to 1.
    pub choices: Vec<(StepId, f64)>,
    /// The steps whose outputs this step reads, each one that runs before it (an ancestor through the
    /// control order), in file order of the `data_from` list; the default is every predecessor.
    pub data_from: Vec<StepId>,
    /// Cross-request batching of this task step, if any.
    pub batch: Option<Batch>,
}

/// Cross-request batching of a task step: one invocation set processes up to `size` requests' work of
/// the step (their jobs together), starting when the batch is full or `window_s` after its first
/// request reached the step, whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Batch {
    /// Most requests in one batch, in `1..=`[`crate::limits::MAX_BATCH_SIZE`].
    pub size: u32,
    /// Longest wait for the batch to fill, seconds, in `0..=`[`crate::limits::MAX_BATCH_WINDOW_S`].
    pub window_s: f64,
}

/// A validated, acyclic workflow.
///
/// Invariants: step names are unique; every dependency names an existing step; the graph is acyclic;
/// `topo_order` lists every step once with predecessors first (ties broken by file order, so the order is
/// deterministic); choice probabilities of a choice step sum to 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    /// The workflow's name.
    pub name: String,
    /// Default end-to-end SLO, seconds.
    pub slo_s: Option<f64>,
    /// Free-text provenance.
    pub description: Option<String>,
    /// The workflow-level default retrier, already applied to every task step without its own (kept so
    /// that [`Workflow::to_spec`] writes it back once).
    pub retry: Option<RetryPolicy>,
    steps: Vec<Step>,
    preds: Vec<Vec<StepId>>,
    succs: Vec<Vec<StepId>>,
    topo: Vec<StepId>,
    by_name: BTreeMap<String, StepId>,
}

const DEFAULT_MEMORY_MB_PER_WORKER: u32 = 128;

impl Workflow {
    /// Reads a native workflow file (YAML, or JSON when the text starts with `{`) through
    /// [`des::text::read_text`]: a UTF-8 byte-order mark is dropped, invalid UTF-8 names its byte offset.
    pub fn load(path: &std::path::Path) -> Result<Workflow, Error> {
        let text = des::text::read_text(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_str_auto(&text, &path.display().to_string())
    }

    /// Parses and validates native text (YAML or JSON) labelled `source_name` in errors.
    pub fn from_str_auto(text: &str, source_name: &str) -> Result<Workflow, Error> {
        let spec = WorkflowSpec::from_str_auto(text, source_name)?;
        Self::from_spec(&spec, source_name)
    }

    /// Validates a spec; on failure every problem found is reported at once. Every number must be
    /// finite and within the bounds of [`crate::limits`]; the given probabilities of a choice step must
    /// sum to 1 when every branch has one, and to at most 1 otherwise (the branches without one share the
    /// rest).
    pub fn from_spec(spec: &WorkflowSpec, source_name: &str) -> Result<Workflow, Error> {
        let mut problems = Vec::new();
        let wf_place = format!("workflow '{}'", spec.name);
        if spec.name.trim().is_empty() {
            problems.push(Problem {
                place: "workflow".into(),
                kind: ProblemKind::MissingField {
                    field: "name".into(),
                },
            });
        }
        if let Some(slo) = spec.slo_s {
            check_number(
                &mut problems,
                &wf_place,
                "slo_s",
                slo,
                Range::Positive(MAX_SLO_S),
            );
        }
        let default_retry = spec
            .retry
            .as_ref()
            .and_then(|r| check_retry(&mut problems, &wf_place, &|f| format!("retry.{f}"), r));
        if spec.steps.is_empty() {
            problems.push(Problem {
                place: wf_place.clone(),
                kind: ProblemKind::Other("no steps".into()),
            });
        }
        if spec.steps.len() > MAX_STEPS {
            return Err(Error::Invalid {
                source_name: source_name.to_owned(),
                workflow: spec.name.clone(),
                problems: vec![Problem {
                    place: wf_place,
                    kind: ProblemKind::Other(format!(
                        "{} steps, more than the {MAX_STEPS} allowed",
                        spec.steps.len()
                    )),
                }],
            });
        }

        // Names first, so references can be resolved whatever the file order.
        let mut by_name: BTreeMap<String, StepId> = BTreeMap::new();
        for (i, s) in spec.steps.iter().enumerate() {
            let place = step_place(s, i);
            if s.name.trim().is_empty() {
                problems.push(Problem {
                    place,
                    kind: ProblemKind::MissingField {
                        field: "name".into(),
                    },
                });
                continue;
            }
            if let Some(first) = by_name.get(&s.name) {
                problems.push(Problem {
                    place,
                    kind: ProblemKind::DuplicateStep {
                        name: s.name.clone(),
                        first_idx: first.idx(),
                    },
                });
            } else {
                by_name.insert(s.name.clone(), StepId(i as u32));
            }
        }

        let n = spec.steps.len();
        let mut preds: Vec<Vec<StepId>> = vec![Vec::new(); n];
        let mut succs: Vec<Vec<StepId>> = vec![Vec::new(); n];
        // `seen_by[d] == i + 1` when step `i` already lists `d`: repeated names in `after` are dropped
        // in constant time, so a join of many branches stays linear.
        let mut seen_by: Vec<usize> = vec![0; n];
        for (i, s) in spec.steps.iter().enumerate() {
            let place = step_place(s, i);
            for (j, dep) in s.after.iter().enumerate() {
                match by_name.get(dep) {
                    Some(&d) if d.idx() == i => problems.push(Problem {
                        place: place.clone(),
                        kind: ProblemKind::Cycle {
                            path: vec![s.name.clone(), s.name.clone()],
                        },
                    }),
                    Some(&d) => {
                        if seen_by[d.idx()] != i + 1 {
                            seen_by[d.idx()] = i + 1;
                            preds[i].push(d);
                            succs[d.idx()].push(StepId(i as u32));
                        }
                    }
                    None => problems.push(Problem {
                        place: place.clone(),
                        kind: ProblemKind::UnknownStep {
                            field: format!("after[{j}]"),
                            name: dep.clone(),
                        },
                    }),
                }
            }
        }

        let mut steps = Vec::with_capacity(n);
        for (i, s) in spec.steps.iter().enumerate() {
            steps.push(check_step(
                &mut problems,
                s,
                i,
                &by_name,
                &succs,
                default_retry,
            ));
        }

        for cycle in find_cycles(&succs) {
            let path: Vec<String> = cycle
                .iter()
                .map(|id| spec.steps[id.idx()].name.clone())
                .collect();
            let place = step_place(&spec.steps[cycle[0].idx()], cycle[0].idx());
            problems.push(Problem {
                place,
                kind: ProblemKind::Cycle { path },
            });
        }

        let acyclic = problems
            .iter()
            .all(|p| !matches!(p.kind, ProblemKind::Cycle { .. }));
        for (i, s) in spec.steps.iter().enumerate() {
            steps[i].data_from = match &s.data_from {
                None => preds[i].clone(),
                Some(names) => {
                    resolve_data_from(&mut problems, s, i, names, &by_name, &preds, acyclic)
                }
            };
        }

        if !problems.is_empty() {
            return Err(Error::Invalid {
                source_name: source_name.to_owned(),
                workflow: spec.name.clone(),
                problems,
            });
        }
        let topo = topo_order(&preds, &succs);
        assert_eq!(topo.len(), n, "acyclic graph has a full topological order");
        Ok(Workflow {
            name: spec.name.clone(),
            slo_s: spec.slo_s,
            description: spec.description.clone(),
            retry: default_retry,
            steps,
            preds,
            succs,
            topo,
            by_name,
        })
    }

    /// Back to the file format (round-trips through [`Workflow::from_spec`]).
    pub fn to_spec(&self) -> WorkflowSpec {
        let steps = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let task = s.kind == StepKind::Task;
                StepSpec {
                    name: s.name.clone(),
                    kind: (s.kind != StepKind::Task).then(|| s.kind.as_str().to_owned()),
                    after: self.preds[i]
                        .iter()
                        .map(|p| self.steps[p.idx()].name.clone())
                        .collect(),
                    function: (s.function != s.name).then(|| s.function.clone()),
                    jobs: task.then_some(s.jobs),
                    work_s: task.then_some(s.work_s),
                    parallel_fraction: task.then_some(s.parallel_fraction),
                    memory_mb_per_worker: task.then_some(s.memory_mb_per_worker),
                    input_mb: task.then_some(s.input_mb),
                    output_mb: task.then_some(s.output_mb),
                    cold_start_s: s.cold_start_s,
                    max_fan_out: s.max_fan_out,
                    max_concurrency: s.max_concurrency,
                    wait_s: (s.wait_s > 0.0).then_some(s.wait_s),
                    // A step that keeps the workflow's default inherits it again when read back.
                    retry: s
                        .retry
                        .filter(|r| Some(*r) != self.retry)
                        .map(RetryPolicy::to_spec),
                    choices: s
                        .choices
                        .iter()
                        .map(|(id, p)| ChoiceSpec {
                            next: self.steps[id.idx()].name.clone(),
                            probability: Some(*p),
                        })
                        .collect(),
                    // Written only where it differs from the default (every predecessor).
                    data_from: (s.data_from != self.preds[i]).then(|| {
                        s.data_from
                            .iter()
                            .map(|d| self.steps[d.idx()].name.clone())
                            .collect()
                    }),
                    batch: s.batch.map(|b| BatchSpec {
                        size: Some(b.size),
                        window_s: (b.window_s > 0.0).then_some(b.window_s),
                    }),
                }
            })
            .collect();
        WorkflowSpec {
            name: self.name.clone(),
            slo_s: self.slo_s,
            description: self.description.clone(),
            retry: self.retry.map(RetryPolicy::to_spec),
            steps,
        }
    }

    /// Number of steps.
    pub fn n_steps(&self) -> usize {
        self.steps.len()
    }

    /// All steps, indexed by [`StepId`].
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// One step.
    pub fn step(&self, id: StepId) -> &Step {
        &self.steps[id.idx()]
    }

    /// Step ids in file order.
    pub fn step_ids(&self) -> impl Iterator<Item = StepId> + '_ {
        (0..self.steps.len() as u32).map(StepId)
    }

    /// The id of the step called `name`.
    pub fn find(&self, name: &str) -> Option<StepId> {
        self.by_name.get(name).copied()
    }

    /// Steps that must finish before `id` starts.
    pub fn preds(&self, id: StepId) -> &[StepId] {
        &self.preds[id.idx()]
    }

    /// Steps that wait for `id`.
    pub fn succs(&self, id: StepId) -> &[StepId] {
        &self.succs[id.idx()]
    }

    /// A topological order (predecessors first; ties in file order).
    pub fn topo_order(&self) -> &[StepId] {
        &self.topo
    }

    /// Steps with no predecessors.
    pub fn sources(&self) -> impl Iterator<Item = StepId> + '_ {
        self.step_ids().filter(|id| self.preds[id.idx()].is_empty())
    }

    /// Steps with no successors.
    pub fn sinks(&self) -> impl Iterator<Item = StepId> + '_ {
        self.step_ids().filter(|id| self.succs[id.idx()].is_empty())
    }

    /// Earliest finish time of every step when step `i` takes `durations_s[i]` and every step starts as
    /// soon as all its predecessors finish (all choice branches counted: a worst case).
    pub fn earliest_finish_s(&self, durations_s: &[f64]) -> Vec<f64> {
        assert_eq!(durations_s.len(), self.steps.len(), "one duration per step");
        let mut finish = vec![0.0f64; self.steps.len()];
        for &id in &self.topo {
            let start = self.preds[id.idx()]
                .iter()
                .map(|p| finish[p.idx()])
                .fold(0.0, f64::max);
            finish[id.idx()] = start + durations_s[id.idx()];
        }
        finish
    }

    /// The critical path: the longest source-to-sink path for the given step durations, as
    /// `(length_s, steps from source to sink)`. Ties go to the step earlier in file order.
    pub fn critical_path(&self, durations_s: &[f64]) -> (f64, Vec<StepId>) {
        let finish = self.earliest_finish_s(durations_s);
        let Some(mut cur) = self
            .step_ids()
            .fold(None, |best: Option<StepId>, id| match best {
                Some(b) if finish[b.idx()] >= finish[id.idx()] => Some(b),
                _ => Some(id),
            })
        else {
            return (0.0, Vec::new());
        };
        let length = finish[cur.idx()];
        let mut path = vec![cur];
        while let Some(p) =
            self.preds[cur.idx()]
                .iter()
                .copied()
                .fold(None, |best: Option<StepId>, p| match best {
                    Some(b) if finish[b.idx()] >= finish[p.idx()] => Some(b),
                    _ => Some(p),
                })
        {
            path.push(p);
            cur = p;
        }
        path.reverse();
        (length, path)
    }
}

fn step_place(s: &StepSpec, i: usize) -> String {
    if s.name.trim().is_empty() {
        format!("steps[{i}]")
    } else {
        format!("step '{}' (steps[{i}])", s.name)
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Range {
    /// Finite, > 0 and at most the bound.
    Positive(f64),
    /// Finite, >= 0 and at most the bound.
    NonNegative(f64),
    /// In [0, 1].
    Fraction,
}

pub(crate) fn check_number(
    problems: &mut Vec<Problem>,
    place: &str,
    field: &str,
    v: f64,
    range: Range,
) -> bool {
    let (ok, expected) = match range {
        Range::Positive(max) => (
            v.is_finite() && v > 0.0 && v <= max,
            format!("must be a finite number > 0 and <= {}", fmt_number(max)),
        ),
        Range::NonNegative(max) => (
            v.is_finite() && v >= 0.0 && v <= max,
            format!("must be a finite number >= 0 and <= {}", fmt_number(max)),
        ),
        Range::Fraction => (
            v.is_finite() && (0.0..=1.0).contains(&v),
            "must be between 0 and 1".to_owned(),
        ),
    };
    if !ok {
        problems.push(Problem {
            place: place.to_owned(),
            kind: ProblemKind::BadNumber {
                field: field.into(),
                value: fmt_number(v),
                expected,
            },
        });
    }
    ok
}

/// A number as text for messages: plain up to 10^15, in exponent form beyond (`1e300`, not 301 digits).
pub(crate) fn fmt_number(v: f64) -> String {
    if v.is_finite() && v.abs() >= 1e15 {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// Reports an integer field outside `1..=max`.
fn check_count(problems: &mut Vec<Problem>, place: &str, field: &str, v: u32, max: u32) -> bool {
    let ok = (1..=max).contains(&v);
    if !ok {
        problems.push(Problem {
            place: place.to_owned(),
            kind: ProblemKind::BadNumber {
                field: field.into(),
                value: v.to_string(),
                expected: format!("must be >= 1 and <= {max}"),
            },
        });
    }
    ok
}

fn check_step(
    problems: &mut Vec<Problem>,
    s: &StepSpec,
    i: usize,
    by_name: &BTreeMap<String, StepId>,
    succs: &[Vec<StepId>],
    default_retry: Option<RetryPolicy>,
) -> Step {
    let place = step_place(s, i);
    let kind = match s.kind.as_deref() {
        None => StepKind::Task,
        Some(k) => StepKind::parse(k).unwrap_or_else(|| {
            problems.push(Problem {
                place: place.clone(),
                kind: ProblemKind::Other(format!(
                    "kind '{k}' is not one of task, choice, pass, fail"
                )),
            });
            StepKind::Task
        }),
    };
    let mut opt = |field: &str, v: Option<f64>, range: Range, default: f64| match v {
        Some(x) if check_number(problems, &place, field, x, range) => x,
        Some(_) => default,
        None => default,
    };
    let parallel_fraction = opt(
        "parallel_fraction",
        s.parallel_fraction,
        Range::Fraction,
        0.0,
    );
    let input_mb = opt("input_mb", s.input_mb, Range::NonNegative(MAX_DATA_MB), 0.0);
    let output_mb = opt(
        "output_mb",
        s.output_mb,
        Range::NonNegative(MAX_DATA_MB),
        0.0,
    );
    let wait_s = opt("wait_s", s.wait_s, Range::NonNegative(MAX_WAIT_S), 0.0);
    let cold_start_s = s.cold_start_s.filter(|&c| {
        check_number(
            problems,
            &place,
            "cold_start_s",
            c,
            Range::NonNegative(MAX_COLD_START_S),
        )
    });

    let (jobs, work_s) = if kind == StepKind::Task {
        let jobs = match s.jobs {
            None => {
                problems.push(Problem {
                    place: place.clone(),
                    kind: ProblemKind::MissingField {
                        field: "jobs".into(),
                    },
                });
                1
            }
            Some(j) if check_count(problems, &place, "jobs", j, MAX_JOBS) => j,
            Some(_) => 1,
        };
        let work_s = match s.work_s {
            None => {
                problems.push(Problem {
                    place: place.clone(),
                    kind: ProblemKind::MissingField {
                        field: "work_s".into(),
                    },
                });
                1.0
            }
            Some(w) if check_number(problems, &place, "work_s", w, Range::Positive(MAX_WORK_S)) => {
                w
            }
            Some(_) => 1.0,
        };
        (jobs, work_s)
    } else {
        (0, 0.0)
    };
    let memory_mb_per_worker = match s.memory_mb_per_worker {
        Some(m)
            if check_count(
                problems,
                &place,
                "memory_mb_per_worker",
                m,
                MAX_MEMORY_MB_PER_WORKER,
            ) =>
        {
            m
        }
        Some(_) | None => DEFAULT_MEMORY_MB_PER_WORKER,
    };
    let max_fan_out = s
        .max_fan_out
        .filter(|&m| check_count(problems, &place, "max_fan_out", m, MAX_FAN_OUT));
    let task = kind == StepKind::Task;
    let max_concurrency = s
        .max_concurrency
        .filter(|&m| check_count(problems, &place, "max_concurrency", m, MAX_CONCURRENCY));
    if s.max_concurrency.is_some() && !task {
        problems.push(Problem {
            place: place.clone(),
            kind: ProblemKind::Other("`max_concurrency` is only allowed on task steps".into()),
        });
    }
    let own_retry = s
        .retry
        .as_ref()
        .and_then(|r| check_retry(problems, &place, &|f| format!("retry.{f}"), r));
    if s.retry.is_some() && !task {
        problems.push(Problem {
            place: place.clone(),
            kind: ProblemKind::Other("`retry` is only allowed on task steps".into()),
        });
    }
    let batch = s.batch.as_ref().and_then(|b| {
        if !task {
            problems.push(Problem {
                place: place.clone(),
                kind: ProblemKind::Other("`batch` is only allowed on task steps".into()),
            });
            return None;
        }
        let size = match b.size {
            None => {
                problems.push(Problem {
                    place: place.clone(),
                    kind: ProblemKind::MissingField {
                        field: "batch.size".into(),
                    },
                });
                return None;
            }
            Some(k) if check_count(problems, &place, "batch.size", k, MAX_BATCH_SIZE) => k,
            Some(_) => return None,
        };
        let window_s = match b.window_s {
            None => 0.0,
            Some(w)
                if check_number(
                    problems,
                    &place,
                    "batch.window_s",
                    w,
                    Range::NonNegative(MAX_BATCH_WINDOW_S),
                ) =>
            {
                w
            }
            Some(_) => return None,
        };
        Some(Batch { size, window_s })
    });
    let retry = match (task, &s.retry) {
        (false, _) => None,
        (true, Some(_)) => own_retry,
        (true, None) => default_retry,
    };

    let mut choices = Vec::new();
    if kind == StepKind::Choice {
        let my_succs = &succs[i];
        let listed: Vec<&ChoiceSpec> = s.choices.iter().collect();
        let mut given_sum = 0.0;
        let mut n_unspecified = 0usize;
        let mut n_bad = 0usize;
        let mut resolved: Vec<(StepId, Option<f64>)> = Vec::new();
        if listed.is_empty() {
            resolved = my_succs.iter().map(|&id| (id, None)).collect();
            n_unspecified = resolved.len();
        }
        for (j, c) in listed.iter().enumerate() {
            let field = format!("choices[{j}].next");
            match by_name.get(&c.next) {
                None => problems.push(Problem {
                    place: place.clone(),
                    kind: ProblemKind::UnknownStep {
                        field,
                        name: c.next.clone(),
                    },
                }),
                Some(id) if !my_succs.contains(id) => problems.push(Problem {
                    place: place.clone(),
                    kind: ProblemKind::Other(format!(
                        "{field}: '{}' does not list '{}' in its `after`",
                        c.next, s.name
                    )),
                }),
                Some(&id) => {
                    match c.probability {
                        Some(p)
                            if check_number(
                                problems,
                                &place,
                                &format!("choices[{j}].probability"),
                                p,
                                Range::Fraction,
                            ) =>
                        {
                            given_sum += p;
                        }
                        Some(_) => n_bad += 1,
                        None => n_unspecified += 1,
                    }
                    resolved.push((id, c.probability));
                }
            }
        }
        if resolved.is_empty() && problems.iter().all(|p| p.place != place) {
            problems.push(Problem {
                place: place.clone(),
                kind: ProblemKind::Other("choice step has no successor to choose".into()),
            });
        }
        if given_sum > 1.0 + 1e-9 {
            problems.push(Problem {
                place: place.clone(),
                kind: ProblemKind::Other(format!(
                    "choice probabilities sum to {given_sum}, more than 1"
                )),
            });
        } else if n_unspecified == 0 && n_bad == 0 && !resolved.is_empty() && given_sum < 1.0 - 1e-9
        {
            // Never renormalised silently: the file must say where the rest goes.
            problems.push(Problem {
                place: place.clone(),
                kind: ProblemKind::Other(format!(
                    "choice probabilities sum to {given_sum}, less than 1 (give the rest to a branch, \
                     or leave a branch without a probability to take it)"
                )),
            });
        }
        let rest = (1.0 - given_sum).max(0.0);
        let share = if n_unspecified > 0 {
            rest / n_unspecified as f64
        } else {
            0.0
        };
        choices = resolved
            .into_iter()
            .map(|(id, p)| (id, p.unwrap_or(share)))
            .collect();
        let total: f64 = choices.iter().map(|c| c.1).sum();
        if total > 0.0 {
            for c in &mut choices {
                c.1 /= total;
            }
        } else if !choices.is_empty() {
            problems.push(Problem {
                place: place.clone(),
                kind: ProblemKind::Other("choice probabilities are all zero".into()),
            });
        }
    } else if !s.choices.is_empty() {
        problems.push(Problem {
            place: place.clone(),
            kind: ProblemKind::Other("`choices` is only allowed on choice steps".into()),
        });
    }

    Step {
        name: s.name.clone(),
        kind,
        function: s.function.clone().unwrap_or_else(|| s.name.clone()),
        jobs,
        work_s,
        parallel_fraction,
        memory_mb_per_worker,
        input_mb,
        output_mb,
        cold_start_s,
        max_fan_out,
        max_concurrency: max_concurrency.filter(|_| task),
        wait_s,
        retry,
        choices,
        data_from: Vec::new(),
        batch,
    }
}

/// Resolves a step's explicit `data_from` list: every name must be a step that runs before this one
/// (an ancestor through `after`); repeated names are dropped. Reachability is checked only on an
/// acyclic graph (a cycle is reported on its own).
fn resolve_data_from(
    problems: &mut Vec<Problem>,
    s: &StepSpec,
    i: usize,
    names: &[String],
    by_name: &BTreeMap<String, StepId>,
    preds: &[Vec<StepId>],
    acyclic: bool,
) -> Vec<StepId> {
    let place = step_place(s, i);
    let mut out: Vec<StepId> = Vec::with_capacity(names.len());
    // Ancestors of step i, computed once and only when a name is not a direct predecessor.
    let mut ancestors: Option<Vec<bool>> = None;
    for (j, name) in names.iter().enumerate() {
        let field = format!("data_from[{j}]");
        let Some(&d) = by_name.get(name) else {
            problems.push(Problem {
                place: place.clone(),
                kind: ProblemKind::UnknownStep {
                    field,
                    name: name.clone(),
                },
            });
            continue;
        };
        if out.contains(&d) {
            continue;
        }
        let runs_before = preds[i].contains(&d)
            || (acyclic && ancestors.get_or_insert_with(|| ancestors_of(preds, i))[d.idx()]);
        if !runs_before && acyclic {
            problems.push(Problem {
                place: place.clone(),
                kind: ProblemKind::Other(format!(
                    "{field}: '{name}' does not run before '{}' (it is not reachable through `after`), \
                     so its output cannot be read",
                    s.name
                )),
            });
            continue;
        }
        out.push(d);
    }
    out
}

/// `reach[j]` is true when step `j` is an ancestor of step `i` (reaches it through predecessor edges).
fn ancestors_of(preds: &[Vec<StepId>], i: usize) -> Vec<bool> {
    let mut reach = vec![false; preds.len()];
    let mut stack: Vec<usize> = preds[i].iter().map(|p| p.idx()).collect();
    while let Some(v) = stack.pop() {
        if reach[v] {
            continue;
        }
        reach[v] = true;
        stack.extend(preds[v].iter().map(|p| p.idx()).filter(|&p| !reach[p]));
    }
    reach
}

/// Kahn's algorithm with a min-heap on the index, so ties go to file order.
fn topo_order(preds: &[Vec<StepId>], succs: &[Vec<StepId>]) -> Vec<StepId> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut indeg: Vec<usize> = preds.iter().map(Vec::len).collect();
    let mut ready: BinaryHeap<Reverse<u32>> = (0..preds.len() as u32)
        .filter(|&i| indeg[i as usize] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(preds.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(StepId(i));
        for s in &succs[i as usize] {
            indeg[s.idx()] -= 1;
            if indeg[s.idx()] == 0 {
                ready.push(Reverse(s.0));
            }
        }
    }
    order
}

/// Finds cycles by iterative depth-first search; each returned path starts and ends at the same step.
/// Reports one cycle per back edge found (self-loops are reported by the caller).
fn find_cycles(succs: &[Vec<StepId>]) -> Vec<Vec<StepId>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Color {
        White,
        Grey,
        Black,
    }
    let n = succs.len();
    let mut color = vec![Color::White; n];
    let mut cycles = Vec::new();
    for root in 0..n {
        if color[root] != Color::White {
            continue;
        }
        // Stack of (node, next successor index).
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        color[root] = Color::Grey;
        while let Some(&mut (v, ref mut k)) = stack.last_mut() {
            if *k < succs[v].len() {
                let w = succs[v][*k].idx();
                *k += 1;
                match color[w] {
                    Color::White => {
                        color[w] = Color::Grey;
                        stack.push((w, 0));
                    }
                    Color::Grey => {
                        let pos = stack
                            .iter()
                            .position(|&(x, _)| x == w)
                            .expect("grey node is on the stack");
                        let mut path: Vec<StepId> = stack[pos..]
                            .iter()
                            .map(|&(x, _)| StepId(x as u32))
                            .collect();
                        path.push(StepId(w as u32));
                        cycles.push(path);
                    }
                    Color::Black => {}
                }
            } else {
                color[v] = Color::Black;
                stack.pop();
            }
        }
    }
    cycles
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(name: &str, after: &[&str], work_s: f64) -> StepSpec {
        StepSpec {
            name: name.into(),
            after: after.iter().map(|s| s.to_string()).collect(),
            jobs: Some(1),
            work_s: Some(work_s),
            ..Default::default()
        }
    }

    #[test]
    fn diamond_topo_and_critical_path() {
        let spec = WorkflowSpec {
            name: "d".into(),
            steps: vec![
                task("a", &[], 1.0),
                task("b", &["a"], 2.0),
                task("c", &["a"], 5.0),
                task("d", &["b", "c"], 1.0),
            ],
            ..Default::default()
        };
        let wf = Workflow::from_spec(&spec, "test").unwrap();
        let names: Vec<&str> = wf
            .topo_order()
            .iter()
            .map(|id| wf.step(*id).name.as_str())
            .collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        let d: Vec<f64> = wf.steps().iter().map(|s| s.work_s).collect();
        let (len, path) = wf.critical_path(&d);
        assert_eq!(len, 7.0);
        let names: Vec<&str> = path.iter().map(|id| wf.step(*id).name.as_str()).collect();
        assert_eq!(names, ["a", "c", "d"]);
    }

    #[test]
    fn every_problem_is_reported_with_its_place() {
        let mut bad = task("b", &["zz", "c"], f64::NAN);
        bad.parallel_fraction = Some(1.5);
        let spec = WorkflowSpec {
            name: "w".into(),
            steps: vec![
                task("a", &[], 1.0),
                bad,
                task("c", &["b"], 1.0),
                task("a", &[], 1.0),
                StepSpec {
                    name: "m".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let err = Workflow::from_spec(&spec, "w.yaml").unwrap_err();
        let text = err.to_string();
        for needle in [
            "unknown step 'zz'",
            "work_s = NaN",
            "parallel_fraction = 1.5",
            "duplicate step name 'a'",
            "step 'm' (steps[4]): missing field 'jobs'",
            "missing field 'work_s'",
            "dependency cycle: b -> c -> b",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert_eq!(err.problems().len(), 7, "{text}");
    }

    #[test]
    fn choice_probabilities_default_to_uniform_rest() {
        let spec = WorkflowSpec {
            name: "c".into(),
            steps: vec![
                StepSpec {
                    name: "ch".into(),
                    kind: Some("choice".into()),
                    choices: vec![
                        ChoiceSpec {
                            next: "x".into(),
                            probability: Some(0.5),
                        },
                        ChoiceSpec {
                            next: "y".into(),
                            probability: None,
                        },
                        ChoiceSpec {
                            next: "z".into(),
                            probability: None,
                        },
                    ],
                    ..Default::default()
                },
                task("x", &["ch"], 1.0),
                task("y", &["ch"], 1.0),
                task("z", &["ch"], 1.0),
            ],
            ..Default::default()
        };
        let wf = Workflow::from_spec(&spec, "t").unwrap();
        let probs: Vec<f64> = wf.step(StepId(0)).choices.iter().map(|c| c.1).collect();
        assert_eq!(probs, [0.5, 0.25, 0.25]);
        let again = Workflow::from_spec(&wf.to_spec(), "t").unwrap();
        assert_eq!(again, wf);
    }
}

#[cfg(test)]
mod data_flow_tests {
    use super::*;

    fn task(name: &str, after: &[&str]) -> StepSpec {
        StepSpec {
            name: name.into(),
            after: after.iter().map(|s| s.to_string()).collect(),
            jobs: Some(1),
            work_s: Some(1.0),
            ..Default::default()
        }
    }

    fn wf(steps: Vec<StepSpec>) -> Result<Workflow, Error> {
        Workflow::from_spec(
            &WorkflowSpec {
                name: "w".into(),
                steps,
                ..Default::default()
            },
            "w.yaml",
        )
    }

    #[test]
    fn data_from_defaults_to_the_predecessors_and_round_trips() {
        let mut c = task("c", &["b"]);
        c.data_from = Some(vec!["a".into(), "a".into()]);
        let w = wf(vec![task("a", &[]), task("b", &["a"]), c]).unwrap();
        assert_eq!(w.step(StepId(1)).data_from, [StepId(0)]);
        assert_eq!(
            w.step(StepId(2)).data_from,
            [StepId(0)],
            "an ancestor, repeated once"
        );
        let spec = w.to_spec();
        assert_eq!(spec.steps[1].data_from, None, "the default is not written");
        assert_eq!(spec.steps[2].data_from, Some(vec!["a".to_owned()]));
        assert_eq!(Workflow::from_spec(&spec, "again").unwrap(), w);
        let mut empty = task("b", &["a"]);
        empty.data_from = Some(vec![]);
        let w = wf(vec![task("a", &[]), empty]).unwrap();
        assert!(
            w.step(StepId(1)).data_from.is_empty(),
            "a control-only edge"
        );
    }

    #[test]
    fn data_from_names_an_unknown_or_later_step_with_its_place() {
        let mut b = task("b", &["a"]);
        b.data_from = Some(vec!["zz".into(), "c".into()]);
        let err = wf(vec![task("a", &[]), b, task("c", &["a"])]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("step 'b' (steps[1])"), "{text}");
        assert!(text.contains("data_from[0]"), "{text}");
        assert!(text.contains("unknown step 'zz'"), "{text}");
        assert!(
            text.contains("data_from[1]: 'c' does not run before 'b'"),
            "{text}"
        );
        assert_eq!(err.problems().len(), 2, "{text}");
    }

    #[test]
    fn batch_is_checked_and_round_trips() {
        let mut a = task("a", &[]);
        a.batch = Some(BatchSpec {
            size: Some(8),
            window_s: Some(0.5),
        });
        let w = wf(vec![a.clone()]).unwrap();
        assert_eq!(
            w.step(StepId(0)).batch,
            Some(Batch {
                size: 8,
                window_s: 0.5
            })
        );
        assert_eq!(Workflow::from_spec(&w.to_spec(), "again").unwrap(), w);
        a.batch = Some(BatchSpec {
            size: Some(0),
            window_s: Some(301.0),
        });
        let text = wf(vec![a]).unwrap_err().to_string();
        assert!(text.contains("batch.size = 0"), "{text}");
        let mut a = task("a", &[]);
        a.batch = Some(BatchSpec {
            size: Some(2),
            window_s: Some(301.0),
        });
        let text = wf(vec![a]).unwrap_err().to_string();
        assert!(text.contains("batch.window_s = 301"), "{text}");
        let mut p = task("p", &[]);
        p.kind = Some("pass".into());
        p.batch = Some(BatchSpec {
            size: Some(2),
            window_s: None,
        });
        let text = wf(vec![p]).unwrap_err().to_string();
        assert!(
            text.contains("`batch` is only allowed on task steps"),
            "{text}"
        );
    }
}
