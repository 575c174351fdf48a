//! SeBS-Flow workflow definitions (`600.workflows/*/definition.json` of spcl/serverless-benchmarks):
//! `root` and `states` of type task, map, parallel, loop, repeat and switch.
//!
//! Mapping: a task is a step; a map with `func_name` is one fan-out step (`jobs` = items of its array);
//! a map with its own `root`/`states` is a `pass` fork step followed by the nested states, each task run
//! once per item; a parallel is a fork step, one branch per entry of `parallel_functions` (an object of
//! single states, or upstream's newer list of `{root, states}` sub-workflows), joined by `next`; a switch is a choice step (cases and default, uniform). A **loop** (`func_name` over an
//! `array`, one element after the other: excamera's `rebase` carries state from segment to segment) and a
//! **repeat** (`count` times) cannot fan out: each becomes one step of a single job whose `work_s` is
//! iterations x the per-task work, so the planner sees the sequential time and cannot split it.

use serde::Deserialize;
use serde_json::Value;

use super::machine::{Edge, Flattener, Kind, Machine, Ordered, Repeat, State};
use super::{ImportOptions, describe, parse_error, task_defaults_note};
use crate::{Error, Problem, ProblemKind, WorkflowSpec};

#[derive(Debug, Deserialize)]
struct RawDefinition {
    root: Option<String>,
    states: Option<Ordered<RawState>>,
}

#[derive(Debug, Deserialize)]
struct RawState {
    #[serde(rename = "type")]
    ty: Option<String>,
    func_name: Option<String>,
    next: Option<String>,
    /// Map: the nested machine's first state and states.
    root: Option<String>,
    states: Option<Ordered<RawState>>,
    parallel_functions: Option<RawParallel>,
    /// Repeat: how many times.
    count: Option<Value>,
    /// Switch.
    cases: Option<Vec<RawCase>>,
    default: Option<String>,
}

/// The branches of a parallel state, in either of upstream's two spellings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawParallel {
    /// Newer definitions: a list of sub-workflows, each with its own `root` and `states`.
    Workflows(Vec<RawBranch>),
    /// Older definitions: an object of single states, each one branch.
    States(Ordered<RawState>),
}

impl RawParallel {
    fn is_empty(&self) -> bool {
        match self {
            RawParallel::Workflows(list) => list.is_empty(),
            RawParallel::States(states) => states.0.is_empty(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawBranch {
    root: Option<String>,
    states: Option<Ordered<RawState>>,
}

#[derive(Debug, Deserialize)]
struct RawCase {
    next: Option<String>,
}

/// Imports a SeBS-Flow definition; see [`super::import_str`].
pub(super) fn import(
    text: &str,
    source_name: &str,
    name: &str,
    opts: &ImportOptions,
) -> Result<WorkflowSpec, Error> {
    let raw: RawDefinition =
        serde_json::from_str(text).map_err(|e| parse_error(&e, source_name))?;
    let mut cv = Converter {
        problems: Vec::new(),
        notes: Vec::new(),
    };
    let root = cv.machine(raw.root.as_ref(), raw.states.as_ref(), String::new());
    let flat = Flattener::run(&root, opts);
    let mut problems = cv.problems;
    problems.extend(flat.problems);
    if !problems.is_empty() {
        return Err(Error::Invalid {
            source_name: source_name.to_owned(),
            workflow: name.to_owned(),
            problems,
        });
    }
    let mut notes = task_defaults_note(opts, flat.used_task_defaults, flat.used_items_default);
    notes.extend(cv.notes);
    notes.extend(flat.notes);
    Ok(WorkflowSpec {
        name: name.to_owned(),
        slo_s: opts.slo_s,
        description: Some(describe("SeBS-Flow", source_name, None, &notes)),
        retry: None,
        steps: flat.steps,
    })
}

struct Converter {
    problems: Vec<Problem>,
    notes: Vec<String>,
}

impl Converter {
    fn problem(&mut self, place: String, kind: ProblemKind) {
        self.problems.push(Problem { place, kind });
    }

    fn machine(
        &mut self,
        root: Option<&String>,
        states: Option<&Ordered<RawState>>,
        scope: String,
    ) -> Machine {
        let mut m = Machine {
            scope,
            start_field: "root",
            start_at: root.cloned(),
            states: Vec::new(),
        };
        if root.is_none() {
            let place = m.self_place();
            self.problem(
                place,
                ProblemKind::MissingField {
                    field: "root".into(),
                },
            );
        }
        let Some(states) = states else {
            let place = m.self_place();
            self.problem(
                place,
                ProblemKind::MissingField {
                    field: "states".into(),
                },
            );
            return m;
        };
        if states.0.is_empty() {
            let place = m.self_place();
            self.problem(place, ProblemKind::Other("states is empty".into()));
        }
        for (name, s) in &states.0 {
            let st = self.state(&m, name, s);
            m.states.push(st);
        }
        m
    }

    fn func_name(&mut self, place: &str, s: &RawState) -> Option<String> {
        if s.func_name.is_none() {
            self.problem(
                place.to_owned(),
                ProblemKind::MissingField {
                    field: "func_name".into(),
                },
            );
        }
        s.func_name.clone()
    }

    fn state(&mut self, m: &Machine, name: &str, s: &RawState) -> State {
        let place = m.place(name);
        let mut st = State {
            name: name.to_owned(),
            kind: Kind::Pass { wait_s: None },
            edges: Vec::new(),
            unmodelled_refs: Vec::new(),
        };
        if let Some(n) = &s.next {
            st.edges.push(Edge {
                target: n.clone(),
                field: "next".into(),
                probability: None,
            });
        }
        let Some(ty) = s.ty.as_deref() else {
            self.problem(
                place,
                ProblemKind::MissingField {
                    field: "type".into(),
                },
            );
            return st;
        };
        st.kind = match ty {
            "task" => Kind::Task {
                function: self.func_name(&place, s),
                repeat: Repeat::Once,
                retry: None,
            },
            "map" => match (&s.states, &s.func_name) {
                (Some(states), _) => {
                    let scope = nested_scope(m, name, "states");
                    Kind::Map {
                        items: None,
                        max_concurrency: None,
                        body: self.machine(s.root.as_ref(), Some(states), scope),
                        retry: None,
                    }
                }
                (None, Some(f)) => Kind::Task {
                    function: Some(f.clone()),
                    repeat: Repeat::FanOut(None),
                    retry: None,
                },
                (None, None) => {
                    self.problem(
                        place,
                        ProblemKind::MissingField {
                            field: "func_name (or root and states)".into(),
                        },
                    );
                    Kind::Pass { wait_s: None }
                }
            },
            "loop" => Kind::Task {
                function: self.func_name(&place, s),
                repeat: Repeat::Sequential(None),
                retry: None,
            },
            "repeat" => {
                let count = match &s.count {
                    None => {
                        self.problem(
                            place.clone(),
                            ProblemKind::MissingField {
                                field: "count".into(),
                            },
                        );
                        1
                    }
                    Some(v) => match v
                        .as_u64()
                        .and_then(|c| u32::try_from(c).ok())
                        .filter(|c| *c > 0)
                    {
                        Some(c) => c,
                        None => {
                            self.problem(
                                place.clone(),
                                ProblemKind::BadNumber {
                                    field: "count".into(),
                                    value: v.to_string(),
                                    expected: "must be an integer >= 1".into(),
                                },
                            );
                            1
                        }
                    },
                };
                Kind::Task {
                    function: self.func_name(&place, s),
                    repeat: Repeat::Sequential(Some(count)),
                    retry: None,
                }
            }
            "parallel" => match &s.parallel_functions {
                None => {
                    self.problem(
                        place,
                        ProblemKind::MissingField {
                            field: "parallel_functions".into(),
                        },
                    );
                    Kind::Parallel {
                        branches: Vec::new(),
                    }
                }
                Some(p) if p.is_empty() => {
                    self.problem(
                        place,
                        ProblemKind::Other("parallel_functions is empty".into()),
                    );
                    Kind::Parallel {
                        branches: Vec::new(),
                    }
                }
                Some(RawParallel::Workflows(list)) => {
                    // Each sub-workflow is a branch, joined by this state's `next`.
                    let branches = list
                        .iter()
                        .enumerate()
                        .map(|(i, b)| {
                            let scope = nested_scope(m, name, &format!("parallel_functions[{i}]"));
                            self.machine(b.root.as_ref(), b.states.as_ref(), scope)
                        })
                        .collect();
                    Kind::Parallel { branches }
                }
                Some(RawParallel::States(funcs)) => {
                    // Each entry runs on its own, joined by this state's `next`.
                    let mut branches = Vec::new();
                    for (fname, f) in &funcs.0 {
                        let mut b = Machine {
                            scope: nested_scope(m, name, "parallel_functions"),
                            start_field: "root",
                            start_at: Some(fname.clone()),
                            states: Vec::new(),
                        };
                        let fst = self.state(&b, fname, f);
                        b.states.push(fst);
                        branches.push(b);
                    }
                    Kind::Parallel { branches }
                }
            },
            "switch" => {
                st.edges.clear();
                if s.next.is_some() {
                    self.problem(
                        place.clone(),
                        ProblemKind::Other("a switch state cannot have next".into()),
                    );
                }
                for (i, c) in s.cases.iter().flatten().enumerate() {
                    match &c.next {
                        Some(n) => st.edges.push(Edge {
                            target: n.clone(),
                            field: format!("cases[{i}].next"),
                            probability: None,
                        }),
                        None => self.problem(
                            place.clone(),
                            ProblemKind::MissingField {
                                field: format!("cases[{i}].next"),
                            },
                        ),
                    }
                }
                if let Some(d) = &s.default {
                    st.edges.push(Edge {
                        target: d.clone(),
                        field: "default".into(),
                        probability: None,
                    });
                }
                if st.edges.is_empty() {
                    self.problem(
                        place,
                        ProblemKind::MissingField {
                            field: "cases".into(),
                        },
                    );
                }
                Kind::Choice
            }
            other => {
                self.problem(
                    place,
                    ProblemKind::UnsupportedState {
                        state_type: other.to_owned(),
                    },
                );
                Kind::Pass { wait_s: None }
            }
        };
        if matches!(ty, "loop" | "repeat") {
            self.notes.push(format!(
                "{ty} '{name}' runs its iterations one after another: each job does them all in turn (work_s = iterations x work_s), so it does not fan out"
            ));
        }
        st
    }
}

fn nested_scope(m: &Machine, state: &str, part: &str) -> String {
    if m.scope.is_empty() {
        format!("in '{state}' {part}")
    } else {
        format!("{} > '{state}' {part}", m.scope)
    }
}
