//! FaaSFlow workflows (lzjzx1122/FaaSFlow, `benchmark/*/flat_workflow.yaml`): the flat YAML form its
//! flattener writes and its `grouping/parse_yaml.py` reads. `functions` is a list; each function has a
//! `name`, a `source` (its code; `VIRTUAL` for a node the flattener added, `END` for the end node),
//! `runtime` (s), `mem_usage`, `scale`, optional `split_ratio`, `input` and `output` parameters (each
//! with a `type`, a `size` in bytes, and for inputs a `value` naming the producing `function` and its
//! `parameter`, `INPUT` for the workflow's input) and `next` (`type`: `pass`, `parallel`, `switch` with
//! `conditions`, or `foreach`; `nodes`: the functions that follow).
//!
//! Mapping (one step per function, same name, file order):
//! - `next` is the control order: each node lists the function in its `after`;
//! - `input.*.value.function` is the data flow: the producers become the step's `data_from` (`INPUT` is
//!   not a step). A producer must run before the function (reachable through `next`), else it is a
//!   problem naming the function and the input; a predecessor the function reads nothing from is a
//!   control-only edge, listed in the description (video's `merge` reads `split` and `upload`, not
//!   `transcode`, which it follows);
//! - a function with source `VIRTUAL` or `END` is a `pass` step without work (FaaSFlow never runs it;
//!   its `runtime` is ignored);
//! - a `switch` is a choice: a `VIRTUAL` function's own step becomes a `choice` step over its nodes; any
//!   other function is followed by a choice step `'<function> (switch)'`. FaaSFlow takes the first
//!   node whose condition holds; the file gives no probabilities, so branches are uniform (the
//!   conditions are listed in the description). A node that several switches can reach runs when any
//!   of them picks it (illgal_recognizer's `mosaic`);
//! - a `foreach` is a Map: each of its nodes runs once per key of the foreach function's `keys` output,
//!   all at once, and becomes one fan-out step of `jobs` = its `split_ratio` (the number of parallel
//!   instances FaaSFlow budgets memory for) or, without one, [`ImportOptions::items`]; the functions
//!   after it run once, when every key is done;
//! - `runtime` is taken as single-core `work_s` at one vCPU (FaaSFlow's benchmark containers sleep for
//!   it), one job per function per request (foreach nodes: one per key). A function without `runtime`
//!   gets [`ImportOptions::work_s`] (as the ASL and SeBS importers do for every task), a runtime of 0
//!   gets 1 ms (as in WorkflowHub imports); both are noted in the description;
//! - `mem_usage` is the share of FaaSFlow's container memory (`config.CONTAINER_MEM` = 256 MB) the
//!   function uses: `memory_mb_per_worker` = mem_usage x 256 MB, rounded (0.25 -> 64 MB). Without it,
//!   [`ImportOptions::memory_mb_per_worker`] or the native default;
//! - input and output `size`s (bytes) are summed into `input_mb` and `output_mb` (1 MB = 10^6 bytes).
//!
//! Ignored: `scale` (containers per function group, a deployment setting), `split_ratio` outside a
//! foreach node, parameter `type`s (`pass`, `normal`, `keys`, `key`), `global_input` and
//! `global_output`. The sibling `function_info.yaml` is not read: it holds each function's container
//! `image`, `qos_requirement`/`qos_time` (per-function QoS targets, not an end-to-end SLO) and
//! `max_containers`, none of which the native format has a field for.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_yaml_ng::Value;

use super::machine::Ordered;
use super::{ImportOptions, UniqueNames, ancestors_of, describe};
use crate::dag::fmt_number;
use crate::limits::{MAX_DATA_MB, MAX_JOBS, MAX_WORK_S};
use crate::{ChoiceSpec, Error, Problem, ProblemKind, StepSpec, WorkflowSpec};

/// Bytes per MB in parameter sizes.
const BYTES_PER_MB: f64 = 1e6;
/// Functions with a runtime of 0 s get this much work, since a task's `work_s` must be > 0.
const MIN_WORK_S: f64 = 1e-3;
/// FaaSFlow's container memory (`config.CONTAINER_MEM`), of which `mem_usage` is a share.
const CONTAINER_MEM_MB: f64 = 256.0;
/// The producer name of the workflow's own input.
const INPUT: &str = "INPUT";

#[derive(Debug, Deserialize)]
struct RawFunction {
    name: Option<String>,
    source: Option<String>,
    runtime: Option<f64>,
    mem_usage: Option<f64>,
    split_ratio: Option<f64>,
    input: Option<Ordered<RawParam>>,
    output: Option<Ordered<RawParam>>,
    next: Option<RawNext>,
}

#[derive(Debug, Deserialize)]
struct RawParam {
    value: Option<RawRef>,
    size: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct RawRef {
    function: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawNext {
    #[serde(rename = "type")]
    ty: Option<String>,
    nodes: Option<Vec<String>>,
    conditions: Option<Vec<String>>,
}

/// How a function's `next` continues.
#[derive(Debug, Clone, Copy, PartialEq)]
enum NextKind {
    /// `pass` or `parallel`: every node runs.
    All,
    /// One node, by condition.
    Switch,
    /// Every node, once per key.
    Foreach,
}

/// One function after checking.
struct Function {
    name: String,
    place: String,
    /// `VIRTUAL` or `END`: no work.
    virtual_: bool,
    source: Option<String>,
    runtime: Option<f64>,
    mem_usage: Option<f64>,
    split_ratio: Option<f64>,
    inputs: Vec<(String, RawParam)>,
    outputs: Vec<(String, RawParam)>,
    next: NextKind,
    /// Successors by index, without repeats, in file order of `next.nodes`.
    succs: Vec<usize>,
    conditions: Vec<String>,
}

/// Imports a FaaSFlow `flat_workflow.yaml`; see [`super::import_str`].
pub(super) fn import(
    text: &str,
    source_name: &str,
    name: &str,
    opts: &ImportOptions,
) -> Result<WorkflowSpec, Error> {
    let doc: Value = serde_yaml_ng::from_str(text)
        .map_err(|e| crate::spec::yaml_parse_error(&e, source_name))?;
    let invalid = |problems: Vec<Problem>| Error::Invalid {
        source_name: source_name.to_owned(),
        workflow: name.to_owned(),
        problems,
    };
    let workflow_problem = |kind: ProblemKind| {
        invalid(vec![Problem {
            place: "workflow".into(),
            kind,
        }])
    };
    if !doc.is_mapping() {
        return Err(workflow_problem(ProblemKind::Other(
            "expected a mapping with `functions`".into(),
        )));
    }
    let raw_functions = match doc.get("functions") {
        None | Some(Value::Null) => {
            return Err(workflow_problem(ProblemKind::MissingField {
                field: "functions".into(),
            }));
        }
        Some(Value::Sequence(list)) if list.is_empty() => {
            return Err(workflow_problem(ProblemKind::Other(
                "functions is empty".into(),
            )));
        }
        Some(Value::Sequence(list)) => list,
        Some(_) => {
            return Err(workflow_problem(ProblemKind::Other(
                "functions: expected a list of functions".into(),
            )));
        }
    };

    let mut problems = Vec::new();
    let mut funcs: Vec<Option<(Function, Option<RawNext>)>> =
        Vec::with_capacity(raw_functions.len());
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (i, v) in raw_functions.iter().enumerate() {
        let given_name = v
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty());
        let place = match given_name {
            Some(n) => format!("function '{n}' (functions[{i}])"),
            None => format!("functions[{i}]"),
        };
        let raw: RawFunction = match serde_yaml_ng::from_value(v.clone()) {
            Ok(r) => r,
            Err(e) => {
                problems.push(Problem {
                    place,
                    kind: ProblemKind::Other(e.to_string()),
                });
                funcs.push(None);
                continue;
            }
        };
        let fname = raw.name.clone().unwrap_or_default();
        if fname.trim().is_empty() {
            problems.push(missing(&place, "name"));
        } else if fname == INPUT {
            problems.push(Problem {
                place: place.clone(),
                kind: ProblemKind::Other(format!(
                    "the name '{INPUT}' is reserved for the workflow's input"
                )),
            });
        } else if let Some(&first) = index.get(&fname) {
            problems.push(Problem {
                place: place.clone(),
                kind: ProblemKind::DuplicateStep {
                    name: fname.clone(),
                    first_idx: first,
                },
            });
        } else {
            index.insert(fname.clone(), i);
        }
        if raw.source.is_none() {
            problems.push(missing(&place, "source"));
        }
        let virtual_ = matches!(raw.source.as_deref(), Some("VIRTUAL" | "END"));
        funcs.push(Some((
            Function {
                name: fname,
                place,
                virtual_,
                source: raw.source,
                runtime: raw.runtime,
                mem_usage: raw.mem_usage,
                split_ratio: raw.split_ratio,
                inputs: raw.input.map(|o| o.0).unwrap_or_default(),
                outputs: raw.output.map(|o| o.0).unwrap_or_default(),
                next: NextKind::All,
                succs: Vec::new(),
                conditions: Vec::new(),
            },
            raw.next,
        )));
    }

    // Control flow: `next`.
    let mut foreach_nodes: BTreeSet<usize> = BTreeSet::new();
    for (f, raw_next) in funcs.iter_mut().flatten() {
        let Some(next) = raw_next.take() else {
            continue;
        };
        f.next = match next.ty.as_deref() {
            Some("pass" | "parallel") => NextKind::All,
            Some("switch") => NextKind::Switch,
            Some("foreach") => NextKind::Foreach,
            Some(other) => {
                problems.push(Problem {
                    place: f.place.clone(),
                    kind: ProblemKind::Other(format!(
                        "next.type '{other}': expected pass, parallel, switch or foreach"
                    )),
                });
                NextKind::All
            }
            None => {
                problems.push(missing(&f.place, "next.type"));
                NextKind::All
            }
        };
        let Some(nodes) = next.nodes else {
            problems.push(missing(&f.place, "next.nodes"));
            continue;
        };
        for (k, n) in nodes.iter().enumerate() {
            match index.get(n) {
                Some(&j) => {
                    if !f.succs.contains(&j) {
                        f.succs.push(j);
                    }
                    if f.next == NextKind::Foreach {
                        foreach_nodes.insert(j);
                    }
                }
                None => problems.push(Problem {
                    place: f.place.clone(),
                    kind: ProblemKind::UnknownStep {
                        field: format!("next.nodes[{k}]"),
                        name: n.clone(),
                    },
                }),
            }
        }
        if f.next == NextKind::Switch {
            match next.conditions {
                None => problems.push(missing(&f.place, "next.conditions")),
                Some(c) if c.len() != nodes.len() => problems.push(Problem {
                    place: f.place.clone(),
                    kind: ProblemKind::Other(format!(
                        "next.conditions has {} entries for {} next.nodes (one condition per node)",
                        c.len(),
                        nodes.len()
                    )),
                }),
                Some(c) => f.conditions = c,
            }
            if nodes.is_empty() {
                problems.push(Problem {
                    place: f.place.clone(),
                    kind: ProblemKind::Other("a switch needs at least one of next.nodes".into()),
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    // Every entry parsed (a failed one is a problem above).
    let funcs: Vec<Function> = funcs.into_iter().flatten().map(|(f, _)| f).collect();
    let n = funcs.len();
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, f) in funcs.iter().enumerate() {
        for &j in &f.succs {
            preds[j].push(i);
        }
    }
    if let Some(cycle) = find_cycle(&funcs, &preds) {
        return Err(invalid(vec![Problem {
            place: funcs[cycle[0]].place.clone(),
            kind: ProblemKind::Cycle {
                path: cycle.iter().map(|&i| funcs[i].name.clone()).collect(),
            },
        }]));
    }

    // Data flow and numbers.
    let mut notes = vec![
        "runtime taken as single-core work_s at one vCPU, one job per function per request; \
         memory_mb_per_worker = mem_usage x 256 MB (FaaSFlow's container memory); input and output \
         sizes summed into input_mb/output_mb (1 MB = 10^6 bytes); parallel_fraction left at its default; \
         scale and function_info.yaml (images, QoS, max_containers) not used"
            .to_owned(),
    ];
    let mut data_from: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut control_only: Vec<String> = Vec::new();
    let mut no_runtime: Vec<&str> = Vec::new();
    let mut zero_runtime: Vec<&str> = Vec::new();
    let mut no_memory = 0usize;
    let mut steps: Vec<StepSpec> = Vec::with_capacity(n);
    // Names of the added `(switch)` steps, by function.
    let mut names = UniqueNames::default();
    for f in &funcs {
        names.reserve(&f.name);
    }
    let switch_step: Vec<Option<String>> = funcs
        .iter()
        .map(|f| {
            (f.next == NextKind::Switch && !f.virtual_)
                .then(|| names.unique(&format!("{} (switch)", f.name)))
        })
        .collect();
    // What a successor of function `i` waits for: its switch step, if it has one.
    let exit_of = |i: usize| -> String {
        switch_step[i]
            .clone()
            .unwrap_or_else(|| funcs[i].name.clone())
    };
    for (i, f) in funcs.iter().enumerate() {
        // Computed once, for the first input from another function.
        let mut ancestors: Option<BTreeSet<usize>> = None;
        for (param, p) in &f.inputs {
            let field = format!("input.{param}.value.function");
            match p.value.as_ref().and_then(|v| v.function.as_deref()) {
                None => problems.push(missing(&f.place, &field)),
                Some(INPUT) => {}
                Some(producer) => match index.get(producer) {
                    None => problems.push(Problem {
                        place: f.place.clone(),
                        kind: ProblemKind::UnknownStep {
                            field,
                            name: producer.to_owned(),
                        },
                    }),
                    Some(&j)
                        if !ancestors
                            .get_or_insert_with(|| ancestors_of(&preds, i))
                            .contains(&j) =>
                    {
                        problems.push(Problem {
                        place: f.place.clone(),
                        kind: ProblemKind::Other(format!(
                            "{field}: '{producer}' does not run before '{}' (no path of next from it)",
                            f.name
                        )),
                        })
                    }
                    Some(&j) => {
                        if !data_from[i].contains(&j) {
                            data_from[i].push(j);
                        }
                    }
                },
            }
        }
        let input_mb = sum_sizes(&mut problems, &f.place, "input", &f.inputs);
        let output_mb = sum_sizes(&mut problems, &f.place, "output", &f.outputs);
        let after: Vec<String> = preds[i].iter().map(|&p| exit_of(p)).collect();
        if f.virtual_ {
            let kind = if f.next == NextKind::Switch {
                "choice"
            } else {
                "pass"
            };
            steps.push(StepSpec {
                name: f.name.clone(),
                kind: Some(kind.into()),
                after,
                choices: choices_of(f, &funcs),
                data_from: (!data_from[i].is_empty()).then(|| {
                    data_from[i]
                        .iter()
                        .map(|&j| funcs[j].name.clone())
                        .collect()
                }),
                ..Default::default()
            });
            continue;
        }
        for &p in preds[i].iter().filter(|p| !data_from[i].contains(p)) {
            control_only.push(format!("'{}' -> '{}'", funcs[p].name, f.name));
        }
        let work_s = match f.runtime {
            None => {
                no_runtime.push(&f.name);
                opts.work_s
            }
            Some(r) if !(r.is_finite() && (0.0..=MAX_WORK_S).contains(&r)) => {
                problems.push(bad_number(
                    &f.place,
                    "runtime",
                    r,
                    &format!(
                        "must be a finite number >= 0 and <= {}",
                        fmt_number(MAX_WORK_S)
                    ),
                ));
                1.0
            }
            Some(r) if r < MIN_WORK_S => {
                zero_runtime.push(&f.name);
                MIN_WORK_S
            }
            Some(r) => r,
        };
        let memory_mb_per_worker = match f.mem_usage {
            None => {
                no_memory += 1;
                opts.memory_mb_per_worker
            }
            Some(m) if m.is_finite() && m > 0.0 && m <= 1.0 => {
                // In 1..=256: a share in (0, 1] of 256 MB, at least 1 MB.
                Some((m * CONTAINER_MEM_MB).round().max(1.0) as u32)
            }
            Some(m) => {
                problems.push(bad_number(
                    &f.place,
                    "mem_usage",
                    m,
                    "must be a share of the container's memory in (0, 1]",
                ));
                None
            }
        };
        let jobs = if foreach_nodes.contains(&i) {
            match f.split_ratio {
                None => {
                    notes.push(format!(
                        "foreach: '{}' runs once per key; assumed {} keys (no split_ratio)",
                        f.name, opts.items
                    ));
                    opts.items
                }
                Some(r) if r.fract() == 0.0 && (1.0..=f64::from(MAX_JOBS)).contains(&r) => {
                    notes.push(format!(
                        "foreach: '{}' runs once per key; jobs = split_ratio = {r}",
                        f.name
                    ));
                    r as u32
                }
                Some(r) => {
                    problems.push(bad_number(
                        &f.place,
                        "split_ratio",
                        r,
                        &format!("must be a whole number >= 1 and <= {MAX_JOBS}"),
                    ));
                    1
                }
            }
        } else {
            1
        };
        let function = f.source.clone().filter(|s| *s != f.name);
        let data_names: Vec<String> = data_from[i]
            .iter()
            .map(|&j| funcs[j].name.clone())
            .collect();
        // Written out unless it is the default (every step in `after`).
        let data_field = (data_names != after).then_some(data_names);
        steps.push(StepSpec {
            name: f.name.clone(),
            after,
            function,
            jobs: Some(jobs),
            work_s: Some(work_s),
            memory_mb_per_worker,
            input_mb: Some(input_mb),
            output_mb: Some(output_mb),
            data_from: data_field,
            ..Default::default()
        });
        if let Some(s) = &switch_step[i] {
            steps.push(StepSpec {
                name: s.clone(),
                kind: Some("choice".into()),
                after: vec![f.name.clone()],
                choices: choices_of(f, &funcs),
                ..Default::default()
            });
        }
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }

    for (i, f) in funcs.iter().enumerate() {
        if f.next != NextKind::Switch {
            continue;
        }
        let branches: Vec<String> = f
            .succs
            .iter()
            .zip(&f.conditions)
            .map(|(&j, c)| format!("'{}' if {c}", funcs[j].name))
            .collect();
        notes.push(format!(
            "switch: '{}' takes the first of {} whose condition holds; branches uniform (the file gives \
             no probabilities)",
            exit_of(i),
            branches.join(", ")
        ));
    }
    let virtual_names: Vec<&str> = funcs
        .iter()
        .filter(|f| f.virtual_)
        .map(|f| f.name.as_str())
        .collect();
    if !virtual_names.is_empty() {
        notes.push(format!(
            "VIRTUAL/END functions without work (runtime ignored): {}",
            virtual_names.join(", ")
        ));
    }
    if !no_runtime.is_empty() {
        notes.push(format!(
            "assumed: work_s = {} for {} (no runtime)",
            opts.work_s,
            no_runtime.join(", ")
        ));
    }
    if !zero_runtime.is_empty() {
        notes.push(format!(
            "assumed: work_s = {MIN_WORK_S} for {} (runtime 0)",
            zero_runtime.join(", ")
        ));
    }
    if no_memory > 0 {
        notes.push(match opts.memory_mb_per_worker {
            Some(m) => format!(
                "assumed: memory_mb_per_worker = {m} for {no_memory} function(s) without mem_usage"
            ),
            None => format!("{no_memory} function(s) without mem_usage keep the default memory"),
        });
    }
    if !control_only.is_empty() {
        notes.push(format!(
            "data: {} edge(s) carry no input (the function reads nothing of its predecessor), control-only: {}",
            control_only.len(),
            control_only.join(", ")
        ));
    }
    Ok(WorkflowSpec {
        name: name.to_owned(),
        slo_s: opts.slo_s,
        description: Some(describe("FaaSFlow", source_name, None, &notes)),
        retry: None,
        steps,
    })
}

/// A switch's branches, uniform (none for other functions).
fn choices_of(f: &Function, funcs: &[Function]) -> Vec<ChoiceSpec> {
    if f.next != NextKind::Switch {
        return Vec::new();
    }
    f.succs
        .iter()
        .map(|&j| ChoiceSpec {
            next: funcs[j].name.clone(),
            probability: None,
        })
        .collect()
}

/// Sums the `size`s of `params` (bytes) into MB; a bad size is a problem naming the parameter.
fn sum_sizes(
    problems: &mut Vec<Problem>,
    place: &str,
    part: &str,
    params: &[(String, RawParam)],
) -> f64 {
    let mut bytes = 0.0;
    for (param, p) in params {
        match p.size {
            Some(s) if s.is_finite() && s >= 0.0 => bytes += s,
            Some(s) => problems.push(bad_number(
                place,
                &format!("{part}.{param}.size"),
                s,
                "must be a finite number of bytes >= 0",
            )),
            None => {}
        }
    }
    let mb = bytes / BYTES_PER_MB;
    if mb > MAX_DATA_MB {
        problems.push(bad_number(
            place,
            &format!("{part} sizes (sum)"),
            bytes,
            &format!(
                "must be at most {} bytes",
                fmt_number(MAX_DATA_MB * BYTES_PER_MB)
            ),
        ));
        return 0.0;
    }
    mb
}

/// One cycle of `next` edges, from its first function back to it, if there is one.
fn find_cycle(funcs: &[Function], preds: &[Vec<usize>]) -> Option<Vec<usize>> {
    // Kahn's algorithm: what is left has a predecessor that is left, so walking predecessors from it
    // must repeat a function.
    let n = funcs.len();
    let mut indegree: Vec<usize> = preds.iter().map(Vec::len).collect();
    let mut ready: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut done = vec![false; n];
    while let Some(i) = ready.pop() {
        done[i] = true;
        for &j in &funcs[i].succs {
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.push(j);
            }
        }
    }
    let start = (0..n).find(|&i| !done[i])?;
    let mut seen_at: BTreeMap<usize, usize> = BTreeMap::new();
    let mut walk = Vec::new();
    let mut cur = start;
    while !seen_at.contains_key(&cur) {
        seen_at.insert(cur, walk.len());
        walk.push(cur);
        cur = *preds[cur].iter().find(|&&p| !done[p])?;
    }
    // `walk[k..]` goes backwards along the cycle (each one's predecessor follows it, and `cur` =
    // `walk[k]` precedes the last): forwards from `cur` it is `cur`, then `walk[k + 1..]` reversed.
    let k = seen_at[&cur];
    let mut cycle = vec![cur];
    cycle.extend(walk[k + 1..].iter().rev());
    cycle.push(cur);
    Some(cycle)
}

fn missing(place: &str, field: &str) -> Problem {
    Problem {
        place: place.to_owned(),
        kind: ProblemKind::MissingField {
            field: field.into(),
        },
    }
}

fn bad_number(place: &str, field: &str, v: f64, expected: &str) -> Problem {
    Problem {
        place: place.to_owned(),
        kind: ProblemKind::BadNumber {
            field: field.into(),
            value: fmt_number(v),
            expected: expected.into(),
        },
    }
}
