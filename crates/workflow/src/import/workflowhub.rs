//! WorkflowHub / WfCommons instance import, schemas 1.0 to 1.5 (and 1.6, which only adds optional
//! fields), as documented in wfcommons/WfFormat and its `wfcommons-migrate-instance.py`:
//! - 1.0 to 1.2: `workflow.jobs`, each with `name`, `runtime` (s), `parents`/`children` (names) and
//!   `files` (`link` input/output, `size` in bytes); 1.2 adds `id` and `category`;
//! - 1.3: `jobs` renamed `tasks`; 1.4: `runtimeInSeconds` and file `sizeInBytes`;
//! - 1.5: `workflow.specification.tasks` (`name`, `id`, `parents`/`children` by id, `inputFiles`/
//!   `outputFiles` by file id), `workflow.specification.files` (`id`, `sizeInBytes`) and
//!   `workflow.execution.tasks` (`id`, `runtimeInSeconds`).
//!
//! Any other `schemaVersion` is an error that names it; a file without one is read by its shape, with a
//! note. Field spellings of neighbouring versions are accepted (`jobs` or `tasks`, `runtime` or
//! `runtimeInSeconds`, `size` or `sizeInBytes`), since generators mixed them.
//!
//! A job's type is its `category` when given, else its name without the numeric suffix
//! (`mDiffFit_00000005` and Pegasus' `individuals_ID0000001` -> `mDiffFit`, `individuals`); the type is
//! the step's function, so jobs of one type share warm instances. The runtime is taken as single-core
//! work at one vCPU (`work_s`); file sizes become `input_mb` and `output_mb` (1 MB = 10^6 bytes).
//!
//! With [`ImportOptions::group_jobs`] (the default) jobs of the same type whose parents lie in the same
//! groups become one fan-out step: `jobs` = their count, `work_s`, `input_mb` and `output_mb` = the
//! means. A group waits for all jobs of its parent groups, which coarsens job-to-job edges into the
//! step barriers a serverless orchestrator runs. Without grouping, each job is a one-job step.
//!
//! Data flow (`data_from`): a job reads data from a parent only if one of the parent's output files is
//! among its own input files (files by `name` or `id` in 1.0 to 1.4, by id in `inputFiles`/
//! `outputFiles` in 1.5). When both list their files and share none, the edge is control-only and
//! the parent is left out of the job's `data_from`; when either lists no files (or a file without a
//! name), the default stands (the job reads every parent). A job with such a control-only edge also
//! reads the further ancestors that wrote one of its input files (Montage's `mAdd` reads the images
//! `mBackground` wrote, not the table its parent `mImgtbl` wrote), so that a transform that drops the
//! edge keeps it after them; a job whose every parent edge carries a file keeps the default. A
//! grouped step reads a step when any of its jobs reads any job of it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::{ImportOptions, UniqueNames, ancestors_of, describe, parse_error};
use crate::dag::fmt_number;
use crate::limits::MAX_WORK_S;
use crate::{Error, Problem, ProblemKind, StepSpec, Workflow, WorkflowSpec};

/// Bytes per MB in file sizes.
const BYTES_PER_MB: f64 = 1e6;
/// Jobs with a runtime of 0 s get this much work, since a task's `work_s` must be > 0.
const MIN_WORK_S: f64 = 1e-3;
/// The schema versions read.
const SUPPORTED: [&str; 7] = ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6"];

#[derive(Debug, Deserialize)]
struct RawTrace {
    name: Option<String>,
    #[serde(rename = "schemaVersion")]
    schema_version: Option<serde_json::Value>,
    workflow: Option<RawWorkflow>,
}

#[derive(Debug, Deserialize)]
struct RawWorkflow {
    jobs: Option<Vec<RawJob>>,
    tasks: Option<Vec<RawJob>>,
    specification: Option<RawSpecification>,
    execution: Option<RawExecution>,
}

#[derive(Debug, Deserialize)]
struct RawSpecification {
    tasks: Option<Vec<RawJob>>,
    #[serde(default)]
    files: Vec<RawSpecFile>,
}

#[derive(Debug, Deserialize)]
struct RawSpecFile {
    id: Option<String>,
    #[serde(rename = "sizeInBytes")]
    size_in_bytes: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct RawExecution {
    #[serde(default)]
    tasks: Vec<RawExecTask>,
}

#[derive(Debug, Deserialize)]
struct RawExecTask {
    id: Option<String>,
    #[serde(rename = "runtimeInSeconds", alias = "runtime")]
    runtime_s: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct RawJob {
    name: Option<String>,
    id: Option<String>,
    category: Option<String>,
    #[serde(rename = "runtimeInSeconds")]
    runtime_in_seconds: Option<f64>,
    runtime: Option<f64>,
    #[serde(default)]
    parents: Vec<String>,
    #[serde(default)]
    children: Vec<String>,
    #[serde(default)]
    files: Vec<RawFile>,
    #[serde(rename = "inputFiles", default)]
    input_files: Vec<String>,
    #[serde(rename = "outputFiles", default)]
    output_files: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RawFile {
    name: Option<String>,
    id: Option<String>,
    link: Option<String>,
    size: Option<f64>,
    #[serde(rename = "sizeInBytes")]
    size_in_bytes: Option<f64>,
}

/// One job after checking.
struct Job {
    name: String,
    category: String,
    work_s: f64,
    input_mb: f64,
    output_mb: f64,
    /// The files the job reads and writes, by name or id; `None` when the trace does not say (no
    /// files listed, or a file without a name).
    files: Option<(BTreeSet<String>, BTreeSet<String>)>,
}

impl Job {
    /// Whether the job may read data written by `parent`: unless both list their files, yes.
    fn reads_from(&self, parent: &Job) -> bool {
        match (&self.files, &parent.files) {
            (Some((inputs, _)), Some((_, outputs))) => !inputs.is_disjoint(outputs),
            _ => true,
        }
    }
}

/// Where the jobs are in the file, by schema layout.
#[derive(Clone, Copy, PartialEq)]
enum Layout {
    /// `workflow.jobs` (1.0 to 1.2) or `workflow.tasks` (1.3, 1.4): everything inside each job.
    Flat,
    /// `workflow.specification` + `workflow.execution` (1.5 and later).
    Split,
}

/// Imports a WorkflowHub trace; see [`super::import_str`].
pub(super) fn import(
    text: &str,
    source_name: &str,
    name: &str,
    opts: &ImportOptions,
) -> Result<WorkflowSpec, Error> {
    let raw: RawTrace = serde_json::from_str(text).map_err(|e| parse_error(&e, source_name))?;
    let invalid = |problems: Vec<Problem>| Error::Invalid {
        source_name: source_name.to_owned(),
        workflow: name.to_owned(),
        problems,
    };
    let trace_problem = |kind: ProblemKind| {
        invalid(vec![Problem {
            place: "trace".into(),
            kind,
        }])
    };
    let mut notes = Vec::new();
    let version = match &raw.schema_version {
        None => None,
        Some(serde_json::Value::String(v)) if SUPPORTED.contains(&v.as_str()) => Some(v.clone()),
        Some(v) => {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            return Err(trace_problem(ProblemKind::Other(format!(
                "unsupported WfCommons schemaVersion '{v}' (supported: {})",
                SUPPORTED.join(", ")
            ))));
        }
    };
    let Some(wfl) = raw.workflow else {
        return Err(trace_problem(ProblemKind::MissingField {
            field: "workflow".into(),
        }));
    };
    let split = wfl.specification.is_some();
    let layout = match version.as_deref() {
        Some("1.5" | "1.6") => Layout::Split,
        Some(_) => Layout::Flat,
        None if split => Layout::Split,
        None => Layout::Flat,
    };
    if version.is_none() {
        notes.push(format!(
            "warning: no schemaVersion; read as schema {} by its shape",
            if layout == Layout::Split {
                "1.5"
            } else {
                "1.0-1.4"
            }
        ));
    }
    let (raw_jobs, list_path, spec_files, exec_tasks) = match layout {
        Layout::Flat => match (wfl.jobs, wfl.tasks) {
            (Some(j), _) => (j, "workflow.jobs", Vec::new(), None),
            (None, Some(t)) => (t, "workflow.tasks", Vec::new(), None),
            (None, None) => {
                return Err(trace_problem(ProblemKind::MissingField {
                    field: "workflow.jobs (or workflow.tasks)".into(),
                }));
            }
        },
        Layout::Split => match wfl
            .specification
            .and_then(|s| s.tasks.map(|t| (t, s.files)))
        {
            Some((tasks, files)) => (
                tasks,
                "workflow.specification.tasks",
                files,
                wfl.execution.map(|e| e.tasks),
            ),
            None => {
                return Err(trace_problem(ProblemKind::MissingField {
                    field: "workflow.specification.tasks".into(),
                }));
            }
        },
    };
    let mut problems = Vec::new();

    // Schema 1.5: runtimes by task id from the execution part, sizes by file id from the specification.
    let mut runtime_by_id: BTreeMap<&str, f64> = BTreeMap::new();
    for (k, t) in exec_tasks.iter().flatten().enumerate() {
        let place = format!("workflow.execution.tasks[{k}]");
        match (&t.id, t.runtime_s) {
            (Some(id), Some(r)) => {
                runtime_by_id.insert(id.as_str(), r);
            }
            (None, _) => problems.push(missing(&place, "id")),
            (Some(_), None) => problems.push(missing(&place, "runtimeInSeconds")),
        }
    }
    let mut size_by_file: BTreeMap<&str, f64> = BTreeMap::new();
    for (k, f) in spec_files.iter().enumerate() {
        let place = format!("workflow.specification.files[{k}]");
        match (&f.id, f.size_in_bytes) {
            (Some(id), Some(b)) if b.is_finite() && b >= 0.0 => {
                size_by_file.insert(id.as_str(), b);
            }
            (Some(_), Some(b)) => problems.push(Problem {
                place,
                kind: ProblemKind::BadNumber {
                    field: "sizeInBytes".into(),
                    value: fmt_number(b),
                    expected: "must be a finite number of bytes >= 0".into(),
                },
            }),
            (None, _) => problems.push(missing(&place, "id")),
            (Some(_), None) => problems.push(missing(&place, "sizeInBytes")),
        }
    }
    let no_execution = layout == Layout::Split && exec_tasks.is_none();
    if no_execution {
        notes.push(format!(
            "assumed: work_s = {} for every task (the instance has no workflow.execution with runtimes)",
            opts.work_s
        ));
    }

    // Check every job; keep one entry per job so that indices match the list in the file. Schema 1.5
    // refers to tasks by id, earlier ones by name.
    let mut jobs = Vec::with_capacity(raw_jobs.len());
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut n_zero_runtime = 0usize;
    for (i, j) in raw_jobs.iter().enumerate() {
        let key = match layout {
            Layout::Split => j.id.clone().or_else(|| j.name.clone()),
            Layout::Flat => j.name.clone(),
        };
        let place = match &key {
            Some(n) => format!("job '{n}' ({list_path}[{i}])"),
            None => format!("{list_path}[{i}]"),
        };
        let job_name = key.clone().unwrap_or_default();
        if job_name.trim().is_empty() {
            let field = if layout == Layout::Split {
                "id"
            } else {
                "name"
            };
            problems.push(missing(&place, field));
        } else if let Some(&first) = index.get(&job_name) {
            problems.push(Problem {
                place: place.clone(),
                kind: ProblemKind::DuplicateStep {
                    name: job_name.clone(),
                    first_idx: first,
                },
            });
        } else {
            index.insert(job_name.clone(), i);
        }
        let runtime = match layout {
            Layout::Flat => j.runtime_in_seconds.or(j.runtime),
            Layout::Split if no_execution => Some(opts.work_s),
            Layout::Split => runtime_by_id.get(job_name.as_str()).copied(),
        };
        let work_s = match runtime {
            None => {
                let field = match layout {
                    Layout::Flat => "runtime",
                    Layout::Split => {
                        "runtimeInSeconds (no workflow.execution.tasks entry with this id)"
                    }
                };
                problems.push(missing(&place, field));
                1.0
            }
            Some(r) if !(r.is_finite() && (0.0..=MAX_WORK_S).contains(&r)) => {
                problems.push(Problem {
                    place: place.clone(),
                    kind: ProblemKind::BadNumber {
                        field: "runtime".into(),
                        value: fmt_number(r),
                        expected: format!(
                            "must be a finite number >= 0 and <= {}",
                            fmt_number(MAX_WORK_S)
                        ),
                    },
                });
                1.0
            }
            Some(r) if r < MIN_WORK_S => {
                n_zero_runtime += 1;
                MIN_WORK_S
            }
            Some(r) => r,
        };
        let (mut input_bytes, mut output_bytes) = (0.0, 0.0);
        let listed = !(j.files.is_empty() && j.input_files.is_empty() && j.output_files.is_empty());
        let (mut in_files, mut out_files) = (BTreeSet::new(), BTreeSet::new());
        let mut all_named = true;
        for f in &j.files {
            match (f.id.as_ref().or(f.name.as_ref()), f.link.as_deref()) {
                (Some(n), Some("input")) => {
                    in_files.insert(n.clone());
                }
                (Some(n), Some("output")) => {
                    out_files.insert(n.clone());
                }
                // A bad link is reported below.
                (Some(_), _) => {}
                (None, _) => all_named = false,
            }
        }
        in_files.extend(j.input_files.iter().cloned());
        out_files.extend(j.output_files.iter().cloned());
        for (k, f) in j.files.iter().enumerate() {
            let size = match f.size_in_bytes.or(f.size) {
                Some(s) if s.is_finite() && s >= 0.0 => s,
                Some(s) => {
                    problems.push(Problem {
                        place: place.clone(),
                        kind: ProblemKind::BadNumber {
                            field: format!("files[{k}].size"),
                            value: fmt_number(s),
                            expected: "must be a finite number of bytes >= 0".into(),
                        },
                    });
                    0.0
                }
                None => {
                    problems.push(missing(&place, &format!("files[{k}].size")));
                    0.0
                }
            };
            match f.link.as_deref() {
                Some("input") => input_bytes += size,
                Some("output") => output_bytes += size,
                other => problems.push(Problem {
                    place: place.clone(),
                    kind: ProblemKind::Other(format!(
                        "files[{k}].link = {}: expected \"input\" or \"output\"",
                        other.map_or("(missing)".to_owned(), |l| format!("\"{l}\""))
                    )),
                }),
            }
        }
        for (field, ids, total) in [
            ("inputFiles", &j.input_files, &mut input_bytes),
            ("outputFiles", &j.output_files, &mut output_bytes),
        ] {
            for (k, id) in ids.iter().enumerate() {
                match size_by_file.get(id.as_str()) {
                    Some(b) => *total += b,
                    None => problems.push(Problem {
                        place: place.clone(),
                        kind: ProblemKind::Other(format!(
                            "{field}[{k}]: file '{id}' is not in workflow.specification.files"
                        )),
                    }),
                }
            }
        }
        let type_source = j.name.as_deref().unwrap_or(&job_name);
        let category = j
            .category
            .clone()
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| type_of(type_source));
        jobs.push(Job {
            name: job_name,
            category,
            work_s,
            input_mb: input_bytes / BYTES_PER_MB,
            output_mb: output_bytes / BYTES_PER_MB,
            files: (listed && all_named).then_some((in_files, out_files)),
        });
    }
    if let Some(v) = &version {
        notes.push(format!("WfCommons schema {v} ({list_path})"));
    }

    // Dependencies: parents, and children listed on the other side (a trace may give either).
    // Parents first, then children, so that `after` lists a job's own parents in their order.
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); jobs.len()];
    let place_of = |i: usize| format!("job '{}' ({list_path}[{i}])", jobs[i].name);
    for (i, j) in raw_jobs.iter().enumerate() {
        for (k, p) in j.parents.iter().enumerate() {
            match index.get(p) {
                Some(&pi) => push_unique(&mut parents[i], pi),
                None => problems.push(Problem {
                    place: place_of(i),
                    kind: ProblemKind::UnknownStep {
                        field: format!("parents[{k}]"),
                        name: p.clone(),
                    },
                }),
            }
        }
    }
    for (i, j) in raw_jobs.iter().enumerate() {
        let place = place_of(i);
        for (k, c) in j.children.iter().enumerate() {
            match index.get(c) {
                Some(&ci) => push_unique(&mut parents[ci], i),
                None => problems.push(Problem {
                    place: place.clone(),
                    kind: ProblemKind::UnknownStep {
                        field: format!("children[{k}]"),
                        name: c.clone(),
                    },
                }),
            }
        }
    }
    if jobs.is_empty() {
        problems.push(Problem {
            place: "trace".into(),
            kind: ProblemKind::Other(format!("{list_path} is empty")),
        });
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    // Data flow (see the module docs): a job with a control-only parent edge reads the parents it
    // shares a file with and the further ancestors that wrote one of its input files.
    let mut producers: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (q, job) in jobs.iter().enumerate() {
        for f in job.files.iter().flat_map(|(_, outputs)| outputs) {
            producers.entry(f.as_str()).or_default().push(q);
        }
    }
    let mut control_only: Vec<String> = Vec::new();
    let data_parents: Vec<Option<Vec<usize>>> = parents
        .iter()
        .enumerate()
        .map(|(i, ps)| {
            let mut reads: Vec<usize> = ps
                .iter()
                .copied()
                .filter(|&p| jobs[i].reads_from(&jobs[p]))
                .collect();
            if reads.len() == ps.len() {
                return None;
            }
            for &p in ps.iter().filter(|p| !reads.contains(p)) {
                control_only.push(format!("'{}' -> '{}'", jobs[p].name, jobs[i].name));
            }
            let ancestors = ancestors_of(&parents, i);
            let mut further: BTreeSet<usize> = BTreeSet::new();
            for f in jobs[i].files.iter().flat_map(|(inputs, _)| inputs) {
                for &q in producers.get(f.as_str()).into_iter().flatten() {
                    if ancestors.contains(&q) && !reads.contains(&q) {
                        further.insert(q);
                    }
                }
            }
            reads.extend(further);
            Some(reads)
        })
        .collect();

    let per_job = WorkflowSpec {
        name: name.to_owned(),
        slo_s: opts.slo_s,
        description: None,
        retry: None,
        steps: jobs
            .iter()
            .zip(&parents)
            .zip(&data_parents)
            .map(|((j, ps), data)| StepSpec {
                name: j.name.clone(),
                after: ps.iter().map(|&p| jobs[p].name.clone()).collect(),
                data_from: data
                    .as_ref()
                    .map(|d| d.iter().map(|&p| jobs[p].name.clone()).collect()),
                function: Some(j.category.clone()).filter(|c| *c != j.name),
                jobs: Some(1),
                work_s: Some(j.work_s),
                memory_mb_per_worker: opts.memory_mb_per_worker,
                input_mb: Some(j.input_mb),
                output_mb: Some(j.output_mb),
                ..Default::default()
            })
            .collect(),
    };
    // Cycles (the only problem left) are found by the DAG validation; name jobs, not steps, in places.
    let wf = Workflow::from_spec(&per_job, source_name).map_err(|e| match e {
        Error::Invalid {
            source_name,
            workflow,
            problems,
        } => Error::Invalid {
            source_name,
            workflow,
            problems: problems
                .into_iter()
                .map(|p| Problem {
                    place: p.place.replacen("step '", "job '", 1).replacen(
                        "(steps[",
                        &format!("({list_path}["),
                        1,
                    ),
                    kind: p.kind,
                })
                .collect(),
        },
        other => other,
    })?;

    notes.insert(
        0,
        "runtime taken as single-core work_s at one vCPU; file sizes summed per job into input_mb/output_mb \
         (1 MB = 10^6 bytes); parallel_fraction left at its default"
            .to_owned(),
    );
    if n_zero_runtime > 0 {
        notes.push(format!(
            "assumed: {n_zero_runtime} job(s) with runtime 0 get work_s = {MIN_WORK_S}"
        ));
    }
    if let Some(m) = opts.memory_mb_per_worker {
        notes.push(format!("assumed: memory_mb_per_worker = {m} for every job"));
    }
    if !control_only.is_empty() {
        const SHOWN: usize = 5;
        let more = control_only.len().saturating_sub(SHOWN);
        notes.push(format!(
            "data: {} job edge(s) carry no file (the child reads none of the parent's outputs), control-only: {}{}",
            control_only.len(),
            control_only[..control_only.len().min(SHOWN)].join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    let mut spec = if opts.group_jobs {
        group(&wf, &jobs, &mut notes, opts)
    } else {
        per_job
    };
    if !opts.group_jobs {
        notes.push(format!("one step per job ({} steps)", jobs.len()));
    }
    spec.description = Some(describe(
        "WorkflowHub",
        source_name,
        raw.name.as_deref(),
        &notes,
    ));
    Ok(spec)
}

/// Groups jobs in topological order: a job joins the group of its type whose parent groups are exactly
/// the groups of its parents. Groups only depend on groups created before them, so the result is acyclic.
fn group(
    wf: &Workflow,
    jobs: &[Job],
    notes: &mut Vec<String>,
    opts: &ImportOptions,
) -> WorkflowSpec {
    struct Group {
        category: String,
        parents: BTreeSet<usize>,
        members: Vec<usize>,
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut key_to_group: BTreeMap<(String, BTreeSet<usize>), usize> = BTreeMap::new();
    let mut group_of = vec![usize::MAX; jobs.len()];
    for &id in wf.topo_order() {
        let i = id.idx();
        let parent_groups: BTreeSet<usize> =
            wf.preds(id).iter().map(|p| group_of[p.idx()]).collect();
        let key = (jobs[i].category.clone(), parent_groups);
        let g = *key_to_group.entry(key.clone()).or_insert_with(|| {
            groups.push(Group {
                category: key.0,
                parents: key.1,
                members: Vec::new(),
            });
            groups.len() - 1
        });
        groups[g].members.push(i);
        group_of[i] = g;
    }
    // Names: the type, with `~2`, `~3` for later groups of the same type.
    let mut used = UniqueNames::default();
    let names: Vec<String> = groups.iter().map(|g| used.unique(&g.category)).collect();
    let mean = |members: &[usize], f: &dyn Fn(&Job) -> f64| {
        members.iter().map(|&m| f(&jobs[m])).sum::<f64>() / members.len() as f64
    };
    notes.push(format!(
        "grouped {} jobs into {} fan-out steps: jobs of one type whose parents lie in the same groups form one \
         step (jobs = count; work_s, input_mb, output_mb = means); a step waits for all jobs of its parent steps",
        jobs.len(),
        groups.len()
    ));
    let steps = groups
        .iter()
        .zip(&names)
        .map(|(g, name)| {
            let work_s = round_micro(mean(&g.members, &|j| j.work_s));
            if g.members.len() > 1 {
                let (lo, hi) = g
                    .members
                    .iter()
                    .map(|&m| jobs[m].work_s)
                    .fold((f64::INFINITY, 0.0f64), |(lo, hi), w| {
                        (lo.min(w), hi.max(w))
                    });
                notes.push(format!(
                    "step '{name}': {} jobs, runtime mean {work_s:.3} s (min {lo:.3}, max {hi:.3})",
                    g.members.len()
                ));
            }
            // A group reads the groups of the jobs its members read: parent groups in their order,
            // then further ancestors in group order.
            let read: BTreeSet<usize> = g
                .members
                .iter()
                .flat_map(|&m| wf.steps()[m].data_from.iter().map(|d| group_of[d.idx()]))
                .collect();
            let mut reads: Vec<usize> = g
                .parents
                .iter()
                .copied()
                .filter(|h| read.contains(h))
                .collect();
            reads.extend(read.iter().filter(|h| !g.parents.contains(h)));
            StepSpec {
                name: name.clone(),
                after: g.parents.iter().map(|&p| names[p].clone()).collect(),
                data_from: (!reads.iter().eq(g.parents.iter()))
                    .then(|| reads.iter().map(|&p| names[p].clone()).collect()),
                function: Some(g.category.clone()).filter(|c| c != name),
                // A group has at least one member; more than u32::MAX jobs cannot be listed in a JSON file read into memory.
                jobs: Some(u32::try_from(g.members.len()).unwrap_or(u32::MAX)),
                work_s: Some(work_s),
                memory_mb_per_worker: opts.memory_mb_per_worker,
                input_mb: Some(round_micro(mean(&g.members, &|j| j.input_mb))),
                output_mb: Some(round_micro(mean(&g.members, &|j| j.output_mb))),
                ..Default::default()
            }
        })
        .collect();
    WorkflowSpec {
        name: wf.name.clone(),
        slo_s: wf.slo_s,
        description: None,
        retry: None,
        steps,
    }
}

/// A job's type from its name: the name without a trailing `_<digits>` or Pegasus' `_ID<digits>`
/// (`mDiffFit_00000005` -> `mDiffFit`, `individuals_ID0000001` -> `individuals`).
fn type_of(name: &str) -> String {
    match name.rsplit_once('_') {
        Some((head, tail)) if !head.is_empty() => {
            let digits = tail.strip_prefix("ID").unwrap_or(tail);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                head.to_owned()
            } else {
                name.to_owned()
            }
        }
        _ => name.to_owned(),
    }
}

fn missing(place: &str, field: &str) -> Problem {
    Problem {
        place: place.to_owned(),
        kind: ProblemKind::MissingField {
            field: field.into(),
        },
    }
}

/// Rounds to 6 decimals (1 us, 1 byte) so that written files stay readable; means of trace values
/// carry no more precision than that.
fn round_micro(x: f64) -> f64 {
    let r = (x * 1e6).round() / 1e6;
    if r > 0.0 || x <= 0.0 { r } else { x }
}

fn push_unique(v: &mut Vec<usize>, x: usize) {
    if !v.contains(&x) {
        v.push(x);
    }
}

#[cfg(test)]
mod tests {
    use super::type_of;

    #[test]
    fn job_types_drop_the_numeric_suffix() {
        assert_eq!(type_of("mDiffFit_00000005"), "mDiffFit");
        assert_eq!(
            type_of("cycles_output_summary_00000044"),
            "cycles_output_summary"
        );
        assert_eq!(type_of("merge"), "merge");
        assert_eq!(type_of("a_b"), "a_b");
        assert_eq!(type_of("_0001"), "_0001");
        assert_eq!(type_of("individuals_ID0000001"), "individuals");
        assert_eq!(type_of("sifting_ID"), "sifting_ID");
        assert_eq!(type_of("a_IDx1"), "a_IDx1");
    }
}
