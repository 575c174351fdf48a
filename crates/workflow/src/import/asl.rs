//! AWS States Language (Step Functions) import: Task, Map, Parallel, Choice, Pass, Wait, Succeed, Fail,
//! nested at any depth, in JSONPath or JSONata form (`"Seconds": "{% 10 %}"`, `Arguments.FunctionName`
//! read like `Seconds` and `Parameters.FunctionName`; an expression only known at run time is noted as
//! such). See the module docs of [`super`] for how states map to steps.
//!
//! `Catch` handlers are error paths: a Task, Parallel or Map with catchers is followed by a choice step
//! `'<state> (catch)'` between its normal next state and each handler. A handler is taken with the
//! catcher's (non-standard) `Probability`, default 0, so the error path is visible in the workflow but
//! not simulated unless asked for.
//!
//! `Retry` on a Task or Map state: the first retrier whose `ErrorEquals` matches a Lambda throttle
//! (`Lambda.TooManyRequestsException`, `States.TaskFailed`, `States.ALL`) becomes the step's `retry`;
//! every retrier is checked. The rules are in the module docs of [`super`].
//!
//! Data flow (`data_from`), the decidable subset: a Task state with `"ResultPath": null` discards its
//! result and passes its own input on unchanged, so a task step that follows it directly reads what
//! that state read, not its output: its `data_from` names the state's own data sources instead (and
//! through a chain of such states, theirs), which makes the edge control-only. This holds at any
//! depth, for a state whose name is used once in the file (and has no `~` or `/`, so that it is its
//! step's name). Everything else keeps the default (a step reads every step it waits for): a
//! `ResultPath` that names a field merges the result into the input, `InputPath` and `Parameters`
//! select from an input whose origin the importer does not track, the successor of a Choice, Pass,
//! Parallel or Map step, and Map and Parallel states with `"ResultPath": null` (their branches' steps
//! are modelled, not the state's own output).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use super::machine::{Edge, Flattener, Kind, Machine, Ordered, Repeat, State};
use super::{ImportOptions, describe, parse_error, task_defaults_note};
use crate::dag::fmt_number;
use crate::limits::MAX_RETRY_ATTEMPTS;
use crate::retry::check_retry;
use crate::{Error, Problem, ProblemKind, RetrySpec, StepSpec, WorkflowSpec};

/// The error names in a Retrier's `ErrorEquals` that match a throttled Lambda invocation.
const THROTTLE_ERRORS: [&str; 3] = [
    "Lambda.TooManyRequestsException",
    "States.TaskFailed",
    "States.ALL",
];

/// A state machine (the top level, a Parallel branch, or a Map's Iterator/ItemProcessor).
#[derive(Debug, Deserialize)]
struct RawMachine {
    #[serde(rename = "StartAt")]
    start_at: Option<String>,
    #[serde(rename = "States")]
    states: Option<Ordered<RawState>>,
    #[serde(rename = "Comment")]
    comment: Option<String>,
}

/// One state; fields the importer does not model (ResultPath, Retry of a Parallel, ...) are ignored.
#[derive(Debug, Deserialize)]
struct RawState {
    #[serde(rename = "Type")]
    ty: Option<String>,
    #[serde(rename = "Next")]
    next: Option<String>,
    #[serde(rename = "End")]
    end: Option<bool>,
    #[serde(rename = "Resource")]
    resource: Option<String>,
    #[serde(rename = "Parameters")]
    parameters: Option<Value>,
    /// JSONata form of `Parameters`.
    #[serde(rename = "Arguments")]
    arguments: Option<Value>,
    /// JSONata form of `ItemsPath`: a literal array, or an expression.
    #[serde(rename = "Items")]
    items: Option<Value>,
    #[serde(rename = "Branches")]
    branches: Option<Vec<RawMachine>>,
    #[serde(rename = "Iterator")]
    iterator: Option<RawMachine>,
    #[serde(rename = "ItemProcessor")]
    item_processor: Option<RawMachine>,
    #[serde(rename = "MaxConcurrency")]
    max_concurrency: Option<Value>,
    #[serde(rename = "Choices")]
    choices: Option<Vec<RawRule>>,
    #[serde(rename = "Default")]
    default: Option<String>,
    /// Non-standard: probability of the Default branch.
    #[serde(rename = "DefaultProbability")]
    default_probability: Option<Value>,
    #[serde(rename = "Seconds")]
    seconds: Option<Value>,
    #[serde(rename = "SecondsPath")]
    seconds_path: Option<String>,
    #[serde(rename = "Timestamp")]
    timestamp: Option<String>,
    #[serde(rename = "TimestampPath")]
    timestamp_path: Option<String>,
    #[serde(rename = "Catch")]
    catch: Option<Vec<RawCatcher>>,
    #[serde(rename = "Retry")]
    retry: Option<Vec<RawRetrier>>,
    /// `Some(Value::Null)` for `"ResultPath": null`; `None` when the field is absent.
    #[serde(rename = "ResultPath", default, deserialize_with = "present")]
    result_path: Option<Value>,
}

/// Deserializes a field that is present, `null` included, as `Some` (absent fields take the default).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A Retrier, its values kept raw so that a bad one is reported with its state.
#[derive(Debug, Deserialize)]
struct RawRetrier {
    #[serde(rename = "ErrorEquals")]
    error_equals: Option<Vec<String>>,
    #[serde(rename = "IntervalSeconds")]
    interval_seconds: Option<Value>,
    #[serde(rename = "BackoffRate")]
    backoff_rate: Option<Value>,
    #[serde(rename = "MaxAttempts")]
    max_attempts: Option<Value>,
    #[serde(rename = "MaxDelaySeconds")]
    max_delay_seconds: Option<Value>,
    #[serde(rename = "JitterStrategy")]
    jitter_strategy: Option<Value>,
}

/// A top-level Choice rule: only its target and an optional (non-standard) probability matter here.
#[derive(Debug, Deserialize)]
struct RawRule {
    #[serde(rename = "Next")]
    next: Option<String>,
    /// Non-standard: probability that this rule is the one taken.
    #[serde(rename = "Probability")]
    probability: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct RawCatcher {
    #[serde(rename = "Next")]
    next: Option<String>,
    /// Non-standard: probability that the state fails with an error this catcher takes. Default 0.
    #[serde(rename = "Probability")]
    probability: Option<Value>,
}

/// The inside of a JSONata expression (`"{% $x + 1 %}"` -> `$x + 1`), if `v` is one.
fn jsonata(v: &Value) -> Option<&str> {
    v.as_str()?
        .trim()
        .strip_prefix("{%")?
        .strip_suffix("%}")
        .map(str::trim)
}

/// Imports an ASL document; see [`super::import_str`].
pub(super) fn import(
    text: &str,
    source_name: &str,
    name: &str,
    opts: &ImportOptions,
) -> Result<WorkflowSpec, Error> {
    let raw: RawMachine = serde_json::from_str(text).map_err(|e| parse_error(&e, source_name))?;
    let mut cv = Converter {
        problems: Vec::new(),
        notes: Vec::new(),
        catchers: Vec::new(),
        synthetic: BTreeSet::new(),
        name_counts: BTreeMap::new(),
        discards_result: Vec::new(),
    };
    let root = cv.machine(&raw, String::new());
    let mut flat = Flattener::run(&root, opts);
    let mut problems = cv.problems;
    problems.extend(flat.problems);
    if !problems.is_empty() {
        return Err(Error::Invalid {
            source_name: source_name.to_owned(),
            workflow: name.to_owned(),
            problems,
        });
    }
    let passed_through: Vec<String> = cv
        .discards_result
        .iter()
        .filter(|n| cv.name_counts.get(*n) == Some(&1) && !n.contains(['~', '/']))
        .cloned()
        .collect();
    let rewired = pass_through_data(&mut flat.steps, &passed_through);
    let mut notes = task_defaults_note(opts, flat.used_task_defaults, flat.used_items_default);
    notes.extend(cv.notes);
    if !rewired.is_empty() {
        notes.push(format!(
            "data: ResultPath null passes a state's input through, so the task after it reads that state's \
             inputs, not its output (control-only edge): {}",
            rewired.join(", ")
        ));
    }
    notes.extend(flat.notes);
    Ok(WorkflowSpec {
        name: name.to_owned(),
        slo_s: opts.slo_s,
        description: Some(describe(
            "AWS States Language",
            source_name,
            raw.comment.as_deref(),
            &notes,
        )),
        retry: None,
        steps: flat.steps,
    })
}

struct Converter {
    problems: Vec<Problem>,
    notes: Vec<String>,
    /// The Catch edges of the state being converted (Task, Parallel, Map).
    catchers: Vec<Edge>,
    /// Names of the states the importer added (catch choices), unique in the file.
    synthetic: BTreeSet<String>,
    /// How often each state name is used in the file, at any depth.
    name_counts: BTreeMap<String, usize>,
    /// Task states with `"ResultPath": null`, in file order.
    discards_result: Vec<String>,
}

impl Converter {
    fn problem(&mut self, place: String, kind: ProblemKind) {
        self.problems.push(Problem { place, kind });
    }

    fn machine(&mut self, raw: &RawMachine, scope: String) -> Machine {
        let mut m = Machine {
            scope,
            start_field: "StartAt",
            start_at: raw.start_at.clone(),
            states: Vec::new(),
        };
        if raw.start_at.is_none() {
            let place = m.self_place();
            self.problem(
                place,
                ProblemKind::MissingField {
                    field: "StartAt".into(),
                },
            );
        }
        let Some(states) = &raw.states else {
            let place = m.self_place();
            self.problem(
                place,
                ProblemKind::MissingField {
                    field: "States".into(),
                },
            );
            return m;
        };
        if states.0.is_empty() {
            let place = m.self_place();
            self.problem(place, ProblemKind::Other("States is empty".into()));
        }
        let mut taken: BTreeSet<&str> = states.0.iter().map(|(n, _)| n.as_str()).collect();
        let mut added = Vec::new();
        for (name, s) in &states.0 {
            *self.name_counts.entry(name.clone()).or_insert(0) += 1;
            if s.ty.as_deref() == Some("Task") && s.result_path == Some(Value::Null) {
                self.discards_result.push(name.clone());
            }
            let mut st = self.state(&m, name, s);
            let mut catchers = std::mem::take(&mut self.catchers);
            // A handler that is not a state of this machine is reported at the state that names it.
            catchers.retain(|c| {
                let known = taken.contains(c.target.as_str());
                if !known {
                    self.problems.push(Problem {
                        place: m.place(name),
                        kind: ProblemKind::UnknownStep {
                            field: c.field.clone(),
                            name: c.target.clone(),
                        },
                    });
                }
                known
            });
            if !catchers.is_empty() {
                added.extend(self.catch_path(&mut st, catchers, &mut taken));
            }
            m.states.push(st);
        }
        m.states.extend(added);
        m
    }

    /// Routes `st` through a choice state `'<name> (catch)'` between its normal next state and its
    /// catchers' handlers; a state that ends gets a `'<name> (done)'` pass state as its normal next.
    /// Returns the states added.
    fn catch_path(
        &mut self,
        st: &mut State,
        catchers: Vec<Edge>,
        taken: &mut BTreeSet<&str>,
    ) -> Vec<State> {
        let mut fresh = |base: String| {
            let mut name = base.clone();
            let mut k = 2;
            while taken.contains(name.as_str()) || self.synthetic.contains(&name) {
                name = format!("{base}~{k}");
                k += 1;
            }
            self.synthetic.insert(name.clone());
            name
        };
        let choice = fresh(format!("{} (catch)", st.name));
        let mut added = Vec::new();
        let mut normal = std::mem::take(&mut st.edges);
        if normal.is_empty() {
            let done = fresh(format!("{} (done)", st.name));
            added.push(State {
                name: done.clone(),
                kind: Kind::Pass { wait_s: None },
                edges: Vec::new(),
                unmodelled_refs: Vec::new(),
            });
            normal.push(Edge {
                target: done,
                field: "End".into(),
                probability: None,
            });
        }
        let described: Vec<String> = catchers
            .iter()
            .map(|c| {
                format!(
                    "'{}' ({}, probability {})",
                    c.target,
                    c.field.trim_end_matches(".Next"),
                    c.probability.unwrap_or(0.0)
                )
            })
            .collect();
        self.notes.push(format!(
            "error path: '{}' is followed by choice '{choice}' between its next state and its Catch handler(s) {} \
             (failure probability from the catcher's Probability, default 0)",
            st.name,
            described.join(", ")
        ));
        for e in &mut normal {
            e.probability = None;
        }
        normal.extend(catchers);
        added.push(State {
            name: choice.clone(),
            kind: Kind::Choice,
            edges: normal,
            unmodelled_refs: Vec::new(),
        });
        st.edges = vec![Edge {
            target: choice,
            field: "Catch".into(),
            probability: None,
        }];
        added
    }

    fn state(&mut self, m: &Machine, name: &str, s: &RawState) -> State {
        let place = m.place(name);
        let mut st = State {
            name: name.to_owned(),
            kind: Kind::Pass { wait_s: None },
            edges: Vec::new(),
            unmodelled_refs: Vec::new(),
        };
        let catches = matches!(s.ty.as_deref(), Some("Task" | "Parallel" | "Map"));
        let mut catchers = Vec::new();
        for (i, c) in s.catch.iter().flatten().enumerate() {
            let probability = c
                .probability
                .as_ref()
                .and_then(|v| self.number(&place, &format!("Catch[{i}].Probability"), v, true));
            match &c.next {
                Some(n) if catches => catchers.push(Edge {
                    target: n.clone(),
                    field: format!("Catch[{i}].Next"),
                    probability: Some(probability.unwrap_or(0.0)),
                }),
                Some(n) => st
                    .unmodelled_refs
                    .push((format!("Catch[{i}].Next"), n.clone())),
                None => self.problem(
                    place.clone(),
                    ProblemKind::MissingField {
                        field: format!("Catch[{i}].Next"),
                    },
                ),
            }
        }
        self.catchers = catchers;
        let Some(ty) = s.ty.as_deref() else {
            self.problem(
                place,
                ProblemKind::MissingField {
                    field: "Type".into(),
                },
            );
            return st;
        };
        let (kind, transitions) = match ty {
            "Task" => {
                if s.resource.is_none() {
                    self.problem(
                        place.clone(),
                        ProblemKind::MissingField {
                            field: "Resource".into(),
                        },
                    );
                }
                let function = s
                    .resource
                    .as_deref()
                    .and_then(|r| function_name(r, s.parameters.as_ref().or(s.arguments.as_ref())));
                (
                    Kind::Task {
                        function,
                        repeat: Repeat::Once,
                        retry: self.retry(&place, s).map(|(_, r)| r),
                    },
                    Transitions::NextOrEnd,
                )
            }
            "Pass" => (Kind::Pass { wait_s: None }, Transitions::NextOrEnd),
            "Succeed" => (Kind::Pass { wait_s: None }, Transitions::None),
            "Fail" => (Kind::Fail, Transitions::None),
            "Wait" => {
                let literal = s.seconds.as_ref().and_then(|v| {
                    jsonata(v).map(|e| e.parse::<f64>().map(Value::from).unwrap_or(Value::Null))
                });
                let wait_s = match (&s.seconds, &literal) {
                    (Some(_), Some(Value::Null)) => {
                        self.notes.push(format!(
                            "assumed: Wait '{name}' waits 0 s (its Seconds expression is only known at run time)"
                        ));
                        None
                    }
                    (Some(_), Some(v)) | (Some(v), None) => {
                        self.number(&place, "Seconds", v, false)
                    }
                    (None, _) => {
                        let how = if s.seconds_path.is_some() {
                            "SecondsPath"
                        } else if s.timestamp.is_some() {
                            "Timestamp"
                        } else if s.timestamp_path.is_some() {
                            "TimestampPath"
                        } else {
                            self.problem(
                                place.clone(),
                                ProblemKind::MissingField {
                                    field: "Seconds".into(),
                                },
                            );
                            ""
                        };
                        if !how.is_empty() {
                            self.notes.push(format!("assumed: Wait '{name}' waits 0 s (its {how} is only known at run time)"));
                        }
                        None
                    }
                };
                (Kind::Pass { wait_s }, Transitions::NextOrEnd)
            }
            "Choice" => {
                match &s.choices {
                    None => self.problem(
                        place.clone(),
                        ProblemKind::MissingField {
                            field: "Choices".into(),
                        },
                    ),
                    Some(rules) if rules.is_empty() => {
                        self.problem(place.clone(), ProblemKind::Other("Choices is empty".into()))
                    }
                    Some(rules) => {
                        for (i, r) in rules.iter().enumerate() {
                            let probability = r.probability.as_ref().and_then(|v| {
                                self.number(&place, &format!("Choices[{i}].Probability"), v, true)
                            });
                            match &r.next {
                                Some(n) => st.edges.push(Edge {
                                    target: n.clone(),
                                    field: format!("Choices[{i}].Next"),
                                    probability,
                                }),
                                None => self.problem(
                                    place.clone(),
                                    ProblemKind::MissingField {
                                        field: format!("Choices[{i}].Next"),
                                    },
                                ),
                            }
                        }
                    }
                }
                if let Some(d) = &s.default {
                    let probability = s
                        .default_probability
                        .as_ref()
                        .and_then(|v| self.number(&place, "DefaultProbability", v, true));
                    st.edges.push(Edge {
                        target: d.clone(),
                        field: "Default".into(),
                        probability,
                    });
                }
                if s.end.is_some() || s.next.is_some() {
                    self.problem(
                        place.clone(),
                        ProblemKind::Other("a Choice state cannot have Next or End".into()),
                    );
                }
                (Kind::Choice, Transitions::Choice)
            }
            "Parallel" => {
                let branches = match &s.branches {
                    None => {
                        self.problem(
                            place.clone(),
                            ProblemKind::MissingField {
                                field: "Branches".into(),
                            },
                        );
                        Vec::new()
                    }
                    Some(bs) if bs.is_empty() => {
                        self.problem(
                            place.clone(),
                            ProblemKind::Other("Branches is empty".into()),
                        );
                        Vec::new()
                    }
                    Some(bs) => bs
                        .iter()
                        .enumerate()
                        .map(|(i, b)| {
                            self.machine(b, nested_scope(m, name, &format!("branch {i}")))
                        })
                        .collect(),
                };
                (Kind::Parallel { branches }, Transitions::NextOrEnd)
            }
            "Map" => {
                let body_raw = s.item_processor.as_ref().or(s.iterator.as_ref());
                let body = match body_raw {
                    Some(b) => self.machine(b, nested_scope(m, name, "iterator")),
                    None => {
                        self.problem(
                            place.clone(),
                            ProblemKind::MissingField {
                                field: "ItemProcessor (or Iterator)".into(),
                            },
                        );
                        Machine {
                            scope: nested_scope(m, name, "iterator"),
                            start_field: "StartAt",
                            ..Default::default()
                        }
                    }
                };
                let literal = s.max_concurrency.as_ref().and_then(|v| {
                    jsonata(v).map(|e| e.parse::<u64>().map(Value::from).unwrap_or(Value::Null))
                });
                if literal == Some(Value::Null) {
                    self.notes.push(format!(
                        "assumed: Map '{name}' runs all items at once (its MaxConcurrency expression is only known at run time)"
                    ));
                }
                let max_concurrency = match literal.as_ref().or(s.max_concurrency.as_ref()) {
                    None | Some(Value::Null) => None,
                    Some(v) => match v.as_u64() {
                        Some(0) => None,
                        Some(c) => Some(u32::try_from(c).unwrap_or(u32::MAX)),
                        None => {
                            self.problem(
                                place.clone(),
                                ProblemKind::BadNumber {
                                    field: "MaxConcurrency".into(),
                                    value: v.to_string(),
                                    expected: "must be an integer >= 0".into(),
                                },
                            );
                            None
                        }
                    },
                };
                // A literal `Items` array (JSONata) gives the item count; a path or expression does not.
                let items = s
                    .items
                    .as_ref()
                    .and_then(Value::as_array)
                    .map(|a| u32::try_from(a.len()).unwrap_or(u32::MAX).max(1));
                let retry = self.retry(&place, s).map(|(i, r)| {
                    self.notes.push(format!(
                        "assumed: Map '{name}' Retry[{i}] retries each throttled invocation of the tasks of its \
                         iterations that have no matching Retry of their own (Step Functions would rerun the whole Map)"
                    ));
                    r
                });
                (
                    Kind::Map {
                        items,
                        max_concurrency,
                        body,
                        retry,
                    },
                    Transitions::NextOrEnd,
                )
            }
            other => {
                self.problem(
                    place,
                    ProblemKind::UnsupportedState {
                        state_type: other.to_owned(),
                    },
                );
                return st;
            }
        };
        match transitions {
            Transitions::NextOrEnd => match (&s.next, s.end) {
                (Some(n), None | Some(false)) => st.edges.push(Edge {
                    target: n.clone(),
                    field: "Next".into(),
                    probability: None,
                }),
                (None, Some(true)) => {}
                (Some(_), Some(true)) => self.problem(
                    place,
                    ProblemKind::Other("has both Next and \"End\": true".into()),
                ),
                (None, _) => self.problem(
                    place,
                    ProblemKind::MissingField {
                        field: "Next (or \"End\": true)".into(),
                    },
                ),
            },
            Transitions::None => {
                if s.next.is_some() || s.end.is_some() {
                    self.problem(
                        place,
                        ProblemKind::Other(format!("a {ty} state cannot have Next or End")),
                    );
                }
            }
            Transitions::Choice => {}
        }
        st.kind = kind;
        st
    }

    /// Checks every retrier of `s` and returns the first that matches a Lambda throttle (its index and
    /// its values, every field written out), if any; see the module docs.
    fn retry(&mut self, place: &str, s: &RawState) -> Option<(usize, RetrySpec)> {
        // `Some(None)`: the first matching retrier is bad (reported; the import fails).
        let mut chosen: Option<Option<(usize, RetrySpec)>> = None;
        for (i, r) in s.retry.iter().flatten().enumerate() {
            let field = |f: &str| format!("Retry[{i}].{f}");
            let matches = match &r.error_equals {
                None => {
                    self.problem(
                        place.to_owned(),
                        ProblemKind::MissingField {
                            field: field("ErrorEquals"),
                        },
                    );
                    false
                }
                Some(errors) if errors.is_empty() => {
                    self.problem(
                        place.to_owned(),
                        ProblemKind::Other(format!("{} is empty", field("ErrorEquals"))),
                    );
                    false
                }
                Some(errors) => errors.iter().any(|e| THROTTLE_ERRORS.contains(&e.as_str())),
            };
            let mut whole = |name: &str, v: &Option<Value>| {
                v.as_ref()
                    .and_then(|v| self.retry_number(place, &field(name), v, true))
            };
            let interval_s = whole("IntervalSeconds", &r.interval_seconds);
            let max_delay_s = whole("MaxDelaySeconds", &r.max_delay_seconds);
            let max_attempts = whole("MaxAttempts", &r.max_attempts).and_then(|n| {
                // A whole number; the bound is checked below, so a huge one is reported, not wrapped.
                if n >= 0.0 && n <= f64::from(MAX_RETRY_ATTEMPTS) {
                    Some(n as u32)
                } else {
                    self.problem(
                        place.to_owned(),
                        ProblemKind::BadNumber {
                            field: field("MaxAttempts"),
                            value: fmt_number(n),
                            expected: format!(
                                "must be a whole number >= 0 and <= {MAX_RETRY_ATTEMPTS}"
                            ),
                        },
                    );
                    None
                }
            });
            let backoff_rate = r
                .backoff_rate
                .as_ref()
                .and_then(|v| self.retry_number(place, &field("BackoffRate"), v, false));
            let jitter = r.jitter_strategy.as_ref().and_then(|v| match v.as_str() {
                Some("FULL") => Some("full".to_owned()),
                Some("NONE") => Some("none".to_owned()),
                _ => {
                    self.problem(
                        place.to_owned(),
                        ProblemKind::Other(format!(
                            "{}: {v} is not one of \"FULL\", \"NONE\"",
                            field("JitterStrategy")
                        )),
                    );
                    None
                }
            });
            let spec = RetrySpec {
                interval_s,
                backoff_rate,
                max_attempts,
                max_delay_s,
                jitter,
            };
            let asl_field = |f: &str| {
                field(match f {
                    "interval_s" => "IntervalSeconds",
                    "backoff_rate" => "BackoffRate",
                    "max_attempts" => "MaxAttempts",
                    "max_delay_s" => "MaxDelaySeconds",
                    _ => "JitterStrategy",
                })
            };
            let policy = check_retry(&mut self.problems, place, &asl_field, &spec);
            if matches && chosen.is_none() {
                chosen = Some(policy.map(|p| (i, p.to_spec())));
            }
        }
        chosen.flatten()
    }

    /// A retrier's JSON number, a whole number when `whole`; its range is checked by [`check_retry`].
    fn retry_number(&mut self, place: &str, field: &str, v: &Value, whole: bool) -> Option<f64> {
        match v.as_f64() {
            Some(x) if !whole || x.fract() == 0.0 => Some(x),
            _ => {
                self.problem(
                    place.to_owned(),
                    ProblemKind::BadNumber {
                        field: field.into(),
                        value: v.to_string(),
                        expected: if whole {
                            "must be a whole number".into()
                        } else {
                            "must be a number".into()
                        },
                    },
                );
                None
            }
        }
    }

    /// A JSON number that must be finite and >= 0 (and <= 1 when `fraction`).
    fn number(&mut self, place: &str, field: &str, v: &Value, fraction: bool) -> Option<f64> {
        match v.as_f64() {
            Some(x) if x >= 0.0 && (!fraction || x <= 1.0) => Some(x),
            _ => {
                self.problem(
                    place.to_owned(),
                    ProblemKind::BadNumber {
                        field: field.into(),
                        value: v.to_string(),
                        expected: if fraction {
                            "must be between 0 and 1".into()
                        } else {
                            "must be a number >= 0".into()
                        },
                    },
                );
                None
            }
        }
    }
}

/// Which transition fields a state type takes.
enum Transitions {
    /// Exactly one of Next or `"End": true`.
    NextOrEnd,
    /// Neither (Succeed, Fail).
    None,
    /// Choices and Default only.
    Choice,
}

/// Sets the `data_from` of every task step that follows one of the `passed` task steps directly (see
/// the module docs); returns the edges changed, as `'from' -> 'to'`. A step's data sources are its
/// `data_from`, else its `after`; a passed step is replaced by its own sources, resolved the same
/// way, so every source stays an ancestor.
fn pass_through_data(steps: &mut [StepSpec], passed: &[String]) -> Vec<String> {
    let is_task = |s: &StepSpec| s.kind.as_deref().is_none_or(|k| k == "task");
    let passed: BTreeSet<&str> = passed
        .iter()
        .map(String::as_str)
        .filter(|n| steps.iter().any(|s| s.name == *n && is_task(s)))
        .collect();
    if passed.is_empty() {
        return Vec::new();
    }
    let index: BTreeMap<String, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), i))
        .collect();
    // Sources after the rewrite, by step, filled on demand (the steps form a DAG).
    let mut resolved: Vec<Option<Vec<String>>> = vec![None; steps.len()];
    let mut changed = Vec::new();
    for i in 0..steps.len() {
        if !is_task(&steps[i]) || !steps[i].after.iter().any(|a| passed.contains(a.as_str())) {
            continue;
        }
        let data = sources(steps, i, &passed, &index, &mut resolved);
        let own = steps[i]
            .data_from
            .clone()
            .unwrap_or_else(|| steps[i].after.clone());
        if data != own {
            for p in own.iter().filter(|p| passed.contains(p.as_str())) {
                changed.push(format!("'{p}' -> '{}'", steps[i].name));
            }
            steps[i].data_from = Some(data);
        }
    }
    changed
}

/// The data sources of step `i` once every passed step among them is replaced by its own.
fn sources(
    steps: &[StepSpec],
    i: usize,
    passed: &BTreeSet<&str>,
    index: &BTreeMap<String, usize>,
    resolved: &mut Vec<Option<Vec<String>>>,
) -> Vec<String> {
    if let Some(r) = &resolved[i] {
        return r.clone();
    }
    let s = &steps[i];
    let mut out: Vec<String> = Vec::new();
    for d in s.data_from.as_ref().unwrap_or(&s.after) {
        let inner = match index.get(d) {
            Some(&j) if passed.contains(d.as_str()) && j != i => {
                sources(steps, j, passed, index, resolved)
            }
            _ => vec![d.clone()],
        };
        for x in inner {
            if !out.contains(&x) {
                out.push(x);
            }
        }
    }
    resolved[i] = Some(out.clone());
    out
}

fn nested_scope(m: &Machine, state: &str, part: &str) -> String {
    if m.scope.is_empty() {
        format!("in '{state}' {part}")
    } else {
        format!("{} > '{state}' {part}", m.scope)
    }
}

/// The Lambda function a Task invokes: from a Lambda ARN (`...:function:NAME[:qualifier]`), or from
/// `Parameters.FunctionName` (JSONata: `Arguments.FunctionName`) of the `arn:aws:states:::lambda:invoke`
/// integration; `None` when that is an expression known only at run time.
fn function_name(resource: &str, parameters: Option<&Value>) -> Option<String> {
    let from_arn = |arn: &str| -> Option<String> {
        let rest = arn.split(":function:").nth(1)?;
        rest.split(':')
            .next()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if resource.starts_with("arn:aws:states:::lambda:invoke") {
        let f = parameters?.get("FunctionName")?.as_str()?;
        if jsonata(&Value::from(f)).is_some() {
            // Only known at run time (the JSONata form of `FunctionName.$`).
            return None;
        }
        return from_arn(f)
            .or_else(|| Some(f.to_owned()).filter(|s| !s.is_empty() && !s.contains(':')));
    }
    from_arn(resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_from_resources() {
        assert_eq!(
            function_name("arn:aws:lambda:us-east-2:1:function:App10_f1", None).as_deref(),
            Some("App10_f1")
        );
        assert_eq!(
            function_name("arn:aws:lambda:us-east-2:1:function:f:prod", None).as_deref(),
            Some("f")
        );
        let p = serde_json::json!({"FunctionName": "arn:aws:lambda:us-east-1:1:function:resize:$LATEST"});
        assert_eq!(
            function_name("arn:aws:states:::lambda:invoke", Some(&p)).as_deref(),
            Some("resize")
        );
        let p = serde_json::json!({"FunctionName": "thumb"});
        assert_eq!(
            function_name("arn:aws:states:::lambda:invoke", Some(&p)).as_deref(),
            Some("thumb")
        );
        assert_eq!(
            function_name("arn:aws:states:::sqs:sendMessage", None),
            None
        );
    }
}
