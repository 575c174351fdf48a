//! WorkflowHub (WfCommons) trace import, schema 1.0: `workflow.jobs` with `name`, `runtime` (s),
//! `parents`/`children` and `files` (`link` input/output, `size` in bytes).
//!
//! A job's type is its `category` when given, else its name without the numeric suffix
//! (`mDiffFit_00000005` -> `mDiffFit`); the type is the step's function, so jobs of one type share warm
//! instances. `runtime` is taken as single-core work at one vCPU (`work_s`); file sizes become `input_mb`
//! and `output_mb` (1 MB = 10^6 bytes).
//!
//! With [`ImportOptions::group_jobs`] (the default) jobs of the same type whose parents lie in the same
//! groups become one fan-out step: `jobs` = their count, `work_s`, `input_mb` and `output_mb` = the
//! means. A group waits for all jobs of its parent groups, which coarsens job-to-job edges into the
//! step barriers a serverless orchestrator runs. Without grouping, each job is a one-job step.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::{ImportOptions, describe, parse_error};
use crate::{Error, Problem, ProblemKind, StepSpec, Workflow, WorkflowSpec};

/// Bytes per MB in file sizes.
const BYTES_PER_MB: f64 = 1e6;
/// Jobs with a runtime of 0 s get this much work, since a task's `work_s` must be > 0.
const MIN_WORK_S: f64 = 1e-3;

#[derive(Debug, Deserialize)]
struct RawTrace {
    name: Option<String>,
    #[serde(rename = "schemaVersion")]
    schema_version: Option<String>,
    workflow: Option<RawWorkflow>,
}

#[derive(Debug, Deserialize)]
struct RawWorkflow {
    #[serde(alias = "tasks")]
    jobs: Option<Vec<RawJob>>,
}

#[derive(Debug, Deserialize)]
struct RawJob {
    name: Option<String>,
    category: Option<String>,
    runtime: Option<f64>,
    #[serde(default)]
    parents: Vec<String>,
    #[serde(default)]
    children: Vec<String>,
    #[serde(default)]
    files: Vec<RawFile>,
}

#[derive(Debug, Deserialize)]
struct RawFile {
    link: Option<String>,
    size: Option<f64>,
}

/// One job after checking.
struct Job {
    name: String,
    category: String,
    work_s: f64,
    input_mb: f64,
    output_mb: f64,
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
    let Some(raw_jobs) = raw.workflow.and_then(|w| w.jobs) else {
        return Err(invalid(vec![Problem {
            place: "trace".into(),
            kind: ProblemKind::MissingField {
                field: "workflow.jobs".into(),
            },
        }]));
    };
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    if let Some(v) = raw
        .schema_version
        .as_deref()
        .filter(|v| !v.starts_with("1."))
    {
        notes.push(format!("warning: schemaVersion {v}; read as schema 1.0"));
    }

    // Check every job; keep one entry per job so that indices match `workflow.jobs[i]`.
    let mut jobs = Vec::with_capacity(raw_jobs.len());
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut n_zero_runtime = 0usize;
    for (i, j) in raw_jobs.iter().enumerate() {
        let place = match &j.name {
            Some(n) => format!("job '{n}' (workflow.jobs[{i}])"),
            None => format!("workflow.jobs[{i}]"),
        };
        let job_name = j.name.clone().unwrap_or_default();
        if job_name.trim().is_empty() {
            problems.push(Problem {
                place: place.clone(),
                kind: ProblemKind::MissingField {
                    field: "name".into(),
                },
            });
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
        let work_s = match j.runtime {
            None => {
                problems.push(Problem {
                    place: place.clone(),
                    kind: ProblemKind::MissingField {
                        field: "runtime".into(),
                    },
                });
                1.0
            }
            Some(r) if !(r.is_finite() && r >= 0.0) => {
                problems.push(Problem {
                    place: place.clone(),
                    kind: ProblemKind::BadNumber {
                        field: "runtime".into(),
                        value: format!("{r}"),
                        expected: "must be a finite number >= 0".into(),
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
        for (k, f) in j.files.iter().enumerate() {
            let size = match f.size {
                Some(s) if s.is_finite() && s >= 0.0 => s,
                Some(s) => {
                    problems.push(Problem {
                        place: place.clone(),
                        kind: ProblemKind::BadNumber {
                            field: format!("files[{k}].size"),
                            value: format!("{s}"),
                            expected: "must be a finite number of bytes >= 0".into(),
                        },
                    });
                    0.0
                }
                None => {
                    problems.push(Problem {
                        place: place.clone(),
                        kind: ProblemKind::MissingField {
                            field: format!("files[{k}].size"),
                        },
                    });
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
        let category = j
            .category
            .clone()
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| type_of(&job_name));
        jobs.push(Job {
            name: job_name,
            category,
            work_s,
            input_mb: input_bytes / BYTES_PER_MB,
            output_mb: output_bytes / BYTES_PER_MB,
        });
    }

    // Dependencies: parents, and children listed on the other side (a trace may give either).
    // Parents first, then children, so that `after` lists a job's own parents in their order.
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); jobs.len()];
    let place_of = |i: usize| format!("job '{}' (workflow.jobs[{i}])", jobs[i].name);
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
            kind: ProblemKind::Other("workflow.jobs is empty".into()),
        });
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }

    let per_job = WorkflowSpec {
        name: name.to_owned(),
        slo_s: opts.slo_s,
        description: None,
        steps: jobs
            .iter()
            .zip(&parents)
            .map(|(j, ps)| StepSpec {
                name: j.name.clone(),
                after: ps.iter().map(|&p| jobs[p].name.clone()).collect(),
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
                        "(workflow.jobs[",
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
    let mut used: BTreeSet<String> = BTreeSet::new();
    let names: Vec<String> = groups
        .iter()
        .map(|g| {
            let mut n = g.category.clone();
            let mut k = 2;
            while used.contains(&n) {
                n = format!("{}~{k}", g.category);
                k += 1;
            }
            used.insert(n.clone());
            n
        })
        .collect();
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
            StepSpec {
                name: name.clone(),
                after: g.parents.iter().map(|&p| names[p].clone()).collect(),
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
        steps,
    }
}

/// A job's type from its name: the name without a trailing `_<digits>` (`mDiffFit_00000005` -> `mDiffFit`).
fn type_of(name: &str) -> String {
    match name.rsplit_once('_') {
        Some((head, tail))
            if !head.is_empty() && !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) =>
        {
            head.to_owned()
        }
        _ => name.to_owned(),
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
    }
}
