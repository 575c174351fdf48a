//! Importers from other workflow formats into the native [`crate::WorkflowSpec`]: AWS States Language
//! ([`Format::Asl`]), WorkflowHub traces ([`Format::WorkflowHub`]), SeBS-Flow definitions
//! ([`Format::Sebs`]) and FaaSFlow workflows ([`Format::FaaSFlow`], a DAG with its own mapping: see
//! the `faasflow` module).
//!
//! Other formats describe the control flow but not what the native format needs for planning (CPU work
//! per job, jobs per step, items of a Map). The importer fills those from [`ImportOptions`] and writes
//! every assumption it made into the spec's `description`, so that an imported file says what is guessed.
//! The result always passes [`crate::Workflow::from_spec`]; problems in the input are all reported at once
//! in an [`Error::Invalid`], each with its place (`state 'Map1'`, `job 'mAdd_00000130' (workflow.jobs[129])`).
//!
//! Mapping of the control flow (the native format is a DAG of steps):
//! - a state becomes a step of the same name; a nested state whose name is used elsewhere in the file is
//!   prefixed by its enclosing state (`Parallel State/f2`), and `~2`, `~3` is appended if still taken;
//! - a Parallel (ASL, SeBS) or Map becomes a `pass` fork step; its branches start after the fork and the
//!   next state waits for the last state of every branch (the join);
//! - a task inside a Map runs `jobs x items` jobs (one per item, times the enclosing Maps' items), with
//!   `max_fan_out` = the product over enclosing Maps of MaxConcurrency (or items, for a Map without one),
//!   set only when some enclosing Map has MaxConcurrency > 0; the same number is its `max_concurrency`.
//!   The two say different things: `max_fan_out` bounds the fan-out a planner may choose (each instance
//!   then works through its share of the items in turn, as a Map's iterations queue behind
//!   MaxConcurrency), while `max_concurrency` is what the platform enforces: a fan-out set above it (a
//!   static configuration, an edited `max_fan_out`) runs in waves of at most that many instances;
//! - ASL `Retry` on a Task or Map state says what a throttled Lambda invocation does: the first retrier
//!   whose `ErrorEquals` lists `Lambda.TooManyRequestsException`, `States.TaskFailed` or `States.ALL`
//!   (the error names a Lambda throttle matches) becomes the task's `retry` (IntervalSeconds,
//!   BackoffRate, MaxAttempts, MaxDelaySeconds, JitterStrategy `FULL`/`NONE`, Step Functions' defaults
//!   where absent, every field written out); retriers for other errors (`States.Timeout`,
//!   `Lambda.ServiceException`, ...) are ignored, and a task without a matching one gets no `retry` (a
//!   throttle fails it at once). A Map's matching retrier applies to every task of its iterations
//!   without a matching one of its own (an approximation, noted in the description: Step Functions would
//!   rerun the whole Map). Every retrier is checked, matching or not: `ErrorEquals` present and not
//!   empty, IntervalSeconds and MaxDelaySeconds whole numbers in `(0, 86400]`
//!   ([`crate::limits::MAX_RETRY_DELAY_S`]), BackoffRate >= 1, MaxAttempts a whole number <= 99,999,999;
//!   a bad value is a problem naming the state and the field (`Retry[1].BackoffRate`). `Retry` on a
//!   Parallel state is not read;
//! - a Choice becomes a `choice` step; each rule and the Default is one branch, probabilities uniform over
//!   branches unless given (a non-standard `Probability` on a rule, `DefaultProbability` on the state);
//!   branches to the same state add up; given probabilities that sum to more than 1 are an error;
//! - a loop (states that can reach each other, e.g. a Choice that repeats a task, or a polling loop
//!   `Choice -> Wait -> Task -> Choice`) is cut into a DAG without ever ending a path inside it: its back
//!   edges are dropped, and unless it exits only from its last state (a do-while) its exits are taken
//!   after its body by one step the importer adds (`'<state> (loop exit)'`). It runs its expected number
//!   of iterations (1 / P(exit), work and waits multiplied) when the file gives its exit probability,
//!   otherwise one pass; the description says which, and lists each edge cut and each renormalised choice;
//! - ASL `Catch` handlers are error paths: the state is followed by a choice step `'<state> (catch)'`
//!   taking each handler with the catcher's (non-standard) `Probability`, default 0;
//! - states that cannot be reached from the start are skipped with a warning in the description.

mod asl;
mod faasflow;
mod machine;
mod sebs;
mod workflowhub;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::{Error, Problem, ProblemKind, Workflow, WorkflowSpec};

/// A format [`import_str`] can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// AWS Step Functions' Amazon States Language (JSON).
    Asl,
    /// WorkflowHub / WfCommons workflow instances, schemas 1.0 to 1.5 (JSON: `workflow.jobs` or
    /// `workflow.tasks`, or 1.5's `workflow.specification` and `workflow.execution`).
    WorkflowHub,
    /// SeBS-Flow workflow definitions (`definition.json`: `root`, `states` of task, map, parallel, loop).
    Sebs,
    /// FaaSFlow workflows (`flat_workflow.yaml`: `functions` with `input`, `output` and `next` of type
    /// pass, parallel, switch or foreach).
    FaaSFlow,
}

impl Format {
    /// The name used on the command line and in descriptions.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Asl => "asl",
            Format::WorkflowHub => "workflowhub",
            Format::Sebs => "sebs",
            Format::FaaSFlow => "faasflow",
        }
    }

    /// Every format, for help texts.
    pub const ALL: [Format; 4] = [
        Format::Asl,
        Format::WorkflowHub,
        Format::Sebs,
        Format::FaaSFlow,
    ];
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not one of `asl`, `workflowhub`, `sebs`, `faasflow`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown workflow format '{0}' (expected one of: asl, workflowhub, sebs, faasflow)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Accepts `asl`, `workflowhub`, `sebs` and `faasflow`, case-insensitively (also
    /// `states-language`, `wfcommons`, `sebs-flow`, `faas-flow`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "asl" | "states-language" | "step-functions" => Ok(Format::Asl),
            "workflowhub" | "wfcommons" => Ok(Format::WorkflowHub),
            "sebs" | "sebs-flow" => Ok(Format::Sebs),
            "faasflow" | "faas-flow" => Ok(Format::FaaSFlow),
            _ => Err(UnknownFormat(s.to_owned())),
        }
    }
}

/// What to assume where a format does not say. Every default used is written into the imported spec's
/// `description`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOptions {
    /// The workflow's name. Default `None`: the file name without directory and extension.
    pub name: Option<String>,
    /// Single-core CPU seconds per job for tasks whose work the format does not give (ASL, SeBS; a
    /// FaaSFlow function without `runtime`). Default 1.0 s.
    pub work_s: f64,
    /// Jobs per execution of a task the format does not size (ASL, SeBS). Default 1.
    pub jobs: u32,
    /// Items of an array a Map (ASL, SeBS), a SeBS loop or a FaaSFlow foreach without `split_ratio`
    /// iterates over; the formats name the array but not its length. Default 10.
    pub items: u32,
    /// Memory one worker needs, MB, for every imported task (FaaSFlow: only functions without
    /// `mem_usage`). Default `None`: the native default (128 MB).
    pub memory_mb_per_worker: Option<u32>,
    /// WorkflowHub: group jobs of the same type whose parents lie in the same groups into one fan-out step
    /// (`jobs` = count, `work_s` = mean runtime). Default `true`, because serverless planning decides the
    /// fan-out of a step of many alike jobs; `false` gives one single-job step per job.
    pub group_jobs: bool,
    /// End-to-end SLO to write into the spec, seconds. Default `None`.
    pub slo_s: Option<f64>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            name: None,
            work_s: 1.0,
            jobs: 1,
            items: 10,
            memory_mb_per_worker: None,
            group_jobs: true,
            slo_s: None,
        }
    }
}

impl ImportOptions {
    fn check(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut bad = |field: &str, value: String, expected: &str| {
            problems.push(Problem {
                place: "import options".into(),
                kind: ProblemKind::BadNumber {
                    field: field.into(),
                    value,
                    expected: expected.into(),
                },
            })
        };
        if !(self.work_s.is_finite() && self.work_s > 0.0) {
            bad(
                "work_s",
                format!("{}", self.work_s),
                "must be a finite number > 0",
            );
        }
        if self.jobs == 0 {
            bad("jobs", "0".into(), "must be >= 1");
        }
        if self.items == 0 {
            bad("items", "0".into(), "must be >= 1");
        }
        if self.memory_mb_per_worker == Some(0) {
            bad("memory_mb_per_worker", "0".into(), "must be >= 1");
        }
        if let Some(slo) = self.slo_s.filter(|s| !(s.is_finite() && *s > 0.0)) {
            bad("slo_s", format!("{slo}"), "must be a finite number > 0");
        }
        problems
    }
}

/// Imports `text` in `format`; `source_name` labels errors and names the workflow unless
/// [`ImportOptions::name`] does. The spec returned passes [`Workflow::from_spec`].
///
/// ```
/// use workflow::import::{Format, ImportOptions, import_str};
///
/// let asl = r#"{
///   "StartAt": "Resize",
///   "States": {
///     "Resize": { "Type": "Map", "MaxConcurrency": 4, "Next": "Done",
///       "ItemProcessor": { "StartAt": "Thumb",
///         "States": { "Thumb": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:thumb", "End": true } } } },
///     "Done": { "Type": "Succeed" }
///   }
/// }"#;
/// let opts = ImportOptions { items: 32, work_s: 0.5, ..Default::default() };
/// let spec = import_str(Format::Asl, asl, "thumbs.json", &opts)?;
/// assert_eq!(spec.name, "thumbs");
/// let thumb = &spec.steps[1]; // after the Map's fork step `Resize`
/// assert_eq!((thumb.name.as_str(), thumb.jobs, thumb.max_fan_out), ("Thumb", Some(32), Some(4)));
/// assert!(spec.description.unwrap().contains("iterates over 32 items"));
/// # Ok::<(), workflow::Error>(())
/// ```
///
/// Fails with [`Error::Parse`] when the text is not JSON of the format's shape (with line and column),
/// and with [`Error::Invalid`] listing every problem (unknown state type, missing `StartAt`, `Next` to
/// an unknown state, unknown parent job, cycles, bad numbers, ...) with its place.
pub fn import_str(
    format: Format,
    text: &str,
    source_name: &str,
    opts: &ImportOptions,
) -> Result<WorkflowSpec, Error> {
    let name = opts
        .name
        .clone()
        .unwrap_or_else(|| default_name(format, source_name));
    let text = des::text::strip_bom(text);
    let option_problems = opts.check();
    if !option_problems.is_empty() {
        return Err(Error::Invalid {
            source_name: source_name.to_owned(),
            workflow: name,
            problems: option_problems,
        });
    }
    let spec = match format {
        Format::Asl => asl::import(text, source_name, &name, opts)?,
        Format::WorkflowHub => workflowhub::import(text, source_name, &name, opts)?,
        Format::Sebs => sebs::import(text, source_name, &name, opts)?,
        Format::FaaSFlow => faasflow::import(text, source_name, &name, opts)?,
    };
    // Invariant: importers only return specs that validate; check anyway rather than hand on a bad one.
    Workflow::from_spec(&spec, source_name)?;
    Ok(spec)
}

/// Reads `path` through [`des::text::read_text`] (a UTF-8 byte-order mark dropped, invalid UTF-8
/// named by byte offset and line) and imports it with [`import_str`]; errors name the path.
pub fn import_file(
    format: Format,
    path: &Path,
    opts: &ImportOptions,
) -> Result<WorkflowSpec, Error> {
    let text = des::text::read_text(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    import_str(format, &text, &path.display().to_string(), opts)
}

/// The workflow name from the file name: without directories and extension (`a/b/App8.json` ->
/// `App8`); ASL's double extension goes too (`x.asl.json` -> `x`). SeBS names every file `definition.json` inside the benchmark's folder, so there the folder
/// names it (`650.vid/definition.json` -> `650.vid`), and a `_definition` suffix is dropped. FaaSFlow
/// likewise names every file `flat_workflow.yaml`: the folder names it (`video/flat_workflow.yaml` ->
/// `video`), and a `_flat_workflow` suffix is dropped.
fn default_name(format: Format, source_name: &str) -> String {
    let path = Path::new(source_name);
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(source_name);
    let name = match format {
        Format::Sebs if stem == "definition" => path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|s| s.to_str())
            .unwrap_or(stem),
        Format::Sebs => stem.strip_suffix("_definition").unwrap_or(stem),
        Format::FaaSFlow if stem == "flat_workflow" => path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|s| s.to_str())
            .unwrap_or(stem),
        Format::FaaSFlow => stem.strip_suffix("_flat_workflow").unwrap_or(stem),
        Format::Asl => stem.strip_suffix(".asl").unwrap_or(stem),
        Format::WorkflowHub => stem,
    };
    if name.trim().is_empty() {
        "imported".to_owned()
    } else {
        name.to_owned()
    }
}

/// Every node that runs before node `i`, given each node's predecessors; terminates on cyclic input.
fn ancestors_of(preds: &[Vec<usize>], i: usize) -> std::collections::BTreeSet<usize> {
    let mut seen = std::collections::BTreeSet::new();
    let mut stack: Vec<usize> = preds[i].clone();
    while let Some(p) = stack.pop() {
        if seen.insert(p) {
            stack.extend_from_slice(&preds[p]);
        }
    }
    seen
}

/// Maps a JSON error to [`Error::Parse`].
fn parse_error(e: &serde_json::Error, source_name: &str) -> Error {
    Error::Parse {
        source_name: source_name.to_owned(),
        line: Some(e.line()).filter(|l| *l > 0),
        column: Some(e.column()).filter(|c| *c > 0),
        message: e.to_string(),
    }
}

/// Builds the description: provenance, then one sentence per assumption or note.
fn describe(format_label: &str, source_name: &str, head: Option<&str>, notes: &[String]) -> String {
    let file = Path::new(source_name)
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or(source_name);
    let mut d = format!("Imported from {format_label} file {file} by faastune.");
    if let Some(h) = head.map(str::trim).filter(|h| !h.is_empty()) {
        d.push_str(&format!(" Original description: {h}."));
    }
    for n in notes {
        d.push_str("\n- ");
        d.push_str(n);
    }
    d
}

/// The note on task defaults used by ASL and SeBS imports.
fn task_defaults_note(opts: &ImportOptions, used_task: bool, used_items: bool) -> Vec<String> {
    let mut notes = Vec::new();
    if used_task {
        notes.push(format!(
            "assumed: every task runs {} job(s) of work_s = {} per execution (the format gives no work sizes); \
             parallel_fraction, input_mb and output_mb left at their defaults",
            opts.jobs, opts.work_s
        ));
        if let Some(m) = opts.memory_mb_per_worker {
            notes.push(format!(
                "assumed: memory_mb_per_worker = {m} for every task"
            ));
        }
    }
    if used_items {
        notes.push(format!(
            "assumed: every Map/loop iterates over {} items (the format names the array, not its length)",
            opts.items
        ));
    }
    notes
}

/// Hands out unique step names: a name not yet taken is kept, a taken one gets `~2`, `~3`, ... In
/// amortised O(log n) per name (each base remembers its next suffix), so 16,000 branches that all call
/// their state `f` are named in milliseconds, not the quadratic seconds of trying `~2`, `~3`, ... anew.
#[derive(Debug, Default)]
pub(crate) struct UniqueNames {
    used: BTreeSet<String>,
    next_suffix: BTreeMap<String, u64>,
}

impl UniqueNames {
    /// Marks `name` as taken (e.g. top-level names that keep their own); false if it already was.
    pub fn reserve(&mut self, name: &str) -> bool {
        self.used.insert(name.to_owned())
    }

    /// `base` if free, else the first free `base~k` with k >= 2 not handed out for this base before.
    pub fn unique(&mut self, base: &str) -> String {
        if self.reserve(base) {
            return base.to_owned();
        }
        let k = self.next_suffix.entry(base.to_owned()).or_insert(2);
        loop {
            let name = format!("{base}~{k}");
            *k += 1;
            if self.used.insert(name.clone()) {
                return name;
            }
        }
    }
}
