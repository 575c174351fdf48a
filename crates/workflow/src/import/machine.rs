//! A small state-machine form shared by the AWS States Language and SeBS-Flow importers, and its
//! flattening into native steps (nested branches, fan-out, choice probabilities, loop cutting).
//!
//! Front ends translate their file into a [`Machine`] (reporting format problems on the way); then
//! [`Flattener::machine`] turns each state into one step (a Parallel or Map into a `pass` fork step followed
//! by its branches), wires `after` lists from Next edges, and cuts loops so that the result is a DAG.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use super::{ImportOptions, UniqueNames};
use crate::limits::{MAX_CONCURRENCY, MAX_FAN_OUT, MAX_JOBS};
use crate::{ChoiceSpec, Problem, ProblemKind, RetrySpec, StepSpec};

/// A JSON object whose keys keep their file order (serde_json's own map sorts them). Duplicate keys are
/// kept too, so that validation can report them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ordered<T>(pub Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, T>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        deserializer.deserialize_map(V(std::marker::PhantomData))
    }
}

/// A state machine: states in file order and the state it starts at.
#[derive(Debug, Clone, Default)]
pub(crate) struct Machine {
    /// Where this machine is, for problem places: empty at the top level, else e.g.
    /// `in 'Parallel State' branch 0`.
    pub scope: String,
    /// The field that names the first state (`StartAt`, `root`), for problems.
    pub start_field: &'static str,
    /// The first state's name, if the file gives one (a missing one is reported by the front end).
    pub start_at: Option<String>,
    /// The states, in file order.
    pub states: Vec<State>,
}

/// One state of a [`Machine`].
#[derive(Debug, Clone)]
pub(crate) struct State {
    /// The state's name in the file.
    pub name: String,
    /// What it does.
    pub kind: Kind,
    /// Transitions out of the state, in order; a choice has one per branch.
    pub edges: Vec<Edge>,
    /// References that must name a state of the machine but are not modelled (e.g. ASL Catch handlers).
    pub unmodelled_refs: Vec<(String, String)>,
}

/// A transition to another state of the same machine.
#[derive(Debug, Clone)]
pub(crate) struct Edge {
    /// The target state's name.
    pub target: String,
    /// The field it came from (`Next`, `Choices[1].Next`, `Default`), for problems.
    pub field: String,
    /// The branch probability of a choice edge, if the file gives one.
    pub probability: Option<f64>,
}

/// How many times a task runs per execution of its state.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Repeat {
    /// Once.
    Once,
    /// Once per item of an array, all at once (a fan-out); `None` means use [`ImportOptions::items`].
    FanOut(Option<u32>),
    /// Once per item, one after the other (a loop); `None` means use [`ImportOptions::items`].
    Sequential(Option<u32>),
}

/// What a state does.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// Runs a function.
    Task {
        /// The function's name, when the file says (else the step name is used).
        function: Option<String>,
        /// How often the function runs per execution of this state.
        repeat: Repeat,
        /// What a throttled invocation does (ASL: the first Retrier matching a throttle), already
        /// checked; `None` inherits the enclosing Map's, if any.
        retry: Option<RetrySpec>,
    },
    /// Does nothing for `wait_s` seconds (ASL Pass, Wait, Succeed).
    Pass {
        /// The fixed delay, if any.
        wait_s: Option<f64>,
    },
    /// Fails the execution.
    Fail,
    /// Takes exactly one of its edges.
    Choice,
    /// Runs every branch at once; the next state waits for all of them.
    Parallel {
        /// The branches.
        branches: Vec<Machine>,
    },
    /// Runs the body once per item, `max_concurrency` at a time (`None`: unbounded).
    Map {
        /// Items to iterate over, if the file says (else [`ImportOptions::items`]).
        items: Option<u32>,
        /// ASL MaxConcurrency when > 0.
        max_concurrency: Option<u32>,
        /// The iteration's state machine.
        body: Machine,
        /// The Map's own retrier for a throttle (already checked), for the tasks of its iterations
        /// that have none.
        retry: Option<RetrySpec>,
    },
}

impl Machine {
    /// The place of state `name` in this machine, for problems.
    pub fn place(&self, name: &str) -> String {
        if self.scope.is_empty() {
            format!("state '{name}'")
        } else {
            format!("state '{name}' ({})", self.scope)
        }
    }

    /// The place of the machine itself.
    pub fn self_place(&self) -> String {
        if self.scope.is_empty() {
            "state machine".to_owned()
        } else {
            format!("state machine {}", self.scope)
        }
    }

    fn count_names(&self, counts: &mut BTreeMap<String, usize>) {
        for s in &self.states {
            *counts.entry(s.name.clone()).or_default() += 1;
            match &s.kind {
                Kind::Parallel { branches } => branches.iter().for_each(|b| b.count_names(counts)),
                Kind::Map { body, .. } => body.count_names(counts),
                _ => {}
            }
        }
    }
}

/// What the enclosing Map states multiply a task by.
#[derive(Debug, Clone)]
struct Ctx {
    /// Flattened name of the enclosing Parallel/Map state, used to prefix clashing names.
    prefix: Option<String>,
    /// Product of the item counts of the enclosing Maps.
    items: u64,
    /// Product over enclosing Maps of (MaxConcurrency if > 0, else items).
    concurrency: u64,
    /// Whether any enclosing Map bounds its concurrency.
    bounded: bool,
    /// Expected executions per request of the enclosing loops (1 outside loops).
    repeat: f64,
    /// The innermost enclosing Map's retrier for a throttle, if any.
    retry: Option<RetrySpec>,
}

/// Turns [`Machine`]s into native steps; collects problems and notes (assumptions) on the way.
pub(crate) struct Flattener<'o> {
    opts: &'o ImportOptions,
    /// Problems found, in the order met.
    pub problems: Vec<Problem>,
    /// The steps produced, in a topological order of each machine.
    pub steps: Vec<StepSpec>,
    /// Human-readable notes for the description (loops cut, unreachable states, defaults used).
    pub notes: Vec<String>,
    /// Whether a task used [`ImportOptions::work_s`]/[`ImportOptions::jobs`].
    pub used_task_defaults: bool,
    /// Whether a Map or loop used [`ImportOptions::items`].
    pub used_items_default: bool,
    used: UniqueNames,
    counts: BTreeMap<String, usize>,
    /// Names of the top-level states of the file, which keep their own names.
    top_names: BTreeSet<String>,
}

impl<'o> Flattener<'o> {
    /// Flattens `root` (the top-level machine) into steps.
    pub fn run(root: &Machine, opts: &'o ImportOptions) -> Flattener<'o> {
        let mut counts = BTreeMap::new();
        root.count_names(&mut counts);
        // Top-level names keep their own name; nested ones yield to them when they clash.
        let mut used = UniqueNames::default();
        for s in &root.states {
            used.reserve(&s.name);
        }
        let top_names = root.states.iter().map(|s| s.name.clone()).collect();
        let mut f = Flattener {
            opts,
            problems: Vec::new(),
            steps: Vec::new(),
            notes: Vec::new(),
            used_task_defaults: false,
            used_items_default: false,
            used,
            counts,
            top_names,
        };
        f.check_refs(root);
        let ctx = Ctx {
            prefix: None,
            items: 1,
            concurrency: 1,
            bounded: false,
            repeat: 1.0,
            retry: None,
        };
        f.machine(root, &[], &ctx);
        f
    }

    /// Reports, for every machine at any depth (reachable or not): a start that is not a
    /// state, state names used twice, and transitions or other references to unknown states.
    fn check_refs(&mut self, m: &Machine) {
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, s) in m.states.iter().enumerate() {
            if index.insert(s.name.as_str(), i).is_some() {
                self.problems.push(Problem {
                    place: m.place(&s.name),
                    kind: ProblemKind::Other(
                        "state name used twice in the same states object".into(),
                    ),
                });
            }
        }
        // An empty or missing states object is reported by the front end.
        let bad_start = m
            .start_at
            .as_deref()
            .filter(|n| !m.states.is_empty() && !index.contains_key(n));
        if let Some(name) = bad_start {
            self.problems.push(Problem {
                place: m.self_place(),
                kind: ProblemKind::UnknownStep {
                    field: m.start_field.into(),
                    name: name.to_owned(),
                },
            });
        }
        for s in &m.states {
            let refs = s
                .edges
                .iter()
                .map(|e| (&e.field, &e.target))
                .chain(s.unmodelled_refs.iter().map(|(f, t)| (f, t)));
            for (field, target) in refs {
                if !index.contains_key(target.as_str()) {
                    self.problems.push(Problem {
                        place: m.place(&s.name),
                        kind: ProblemKind::UnknownStep {
                            field: field.clone(),
                            name: target.clone(),
                        },
                    });
                }
            }
            match &s.kind {
                Kind::Parallel { branches } => branches.iter().for_each(|b| self.check_refs(b)),
                Kind::Map { body, .. } => self.check_refs(body),
                _ => {}
            }
        }
    }

    fn flat_name(&mut self, raw: &str, ctx: &Ctx) -> String {
        let Some(prefix) = &ctx.prefix else {
            // Top level: reserved up front (duplicates are reported separately); states the importer
            // adds (a loop's exit step) take a free name.
            if self.top_names.contains(raw) {
                return raw.to_owned();
            }
            return self.used.unique(raw);
        };
        let base = if self.counts.get(raw).copied().unwrap_or(0) > 1 {
            format!("{prefix}/{raw}")
        } else {
            raw.to_owned()
        };
        self.used.unique(&base)
    }

    /// Flattens one machine whose first state waits for `preds`; returns the steps the machine's
    /// successor must wait for (its exits).
    fn machine(&mut self, m: &Machine, preds: &[String], ctx: &Ctx) -> Vec<String> {
        let (planned, repeat) = self.plan_loops(m);
        let m = planned.as_ref().unwrap_or(m);
        let n = m.states.len();
        // Problems with names and references were reported by `check_refs`; here they are skipped.
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, s) in m.states.iter().enumerate() {
            index.entry(s.name.as_str()).or_insert(i);
        }
        let succ: Vec<Vec<Option<usize>>> = m
            .states
            .iter()
            .map(|s| {
                s.edges
                    .iter()
                    .map(|e| index.get(e.target.as_str()).copied())
                    .collect()
            })
            .collect();
        let Some(start) = m
            .start_at
            .as_deref()
            .and_then(|name| index.get(name).copied())
        else {
            return Vec::new();
        };

        // Depth-first search from the start: reachability, back edges (loops) and a reverse postorder,
        // which is a topological order once the back edges are cut. Each state's distinct targets are
        // visited last to first, so that the reverse postorder lists branches in file order.
        let targets = distinct_targets(&succ);
        let mut state = vec![0u8; n]; // 0 unseen, 1 on the stack, 2 done
        let mut back: BTreeSet<(usize, usize)> = BTreeSet::new(); // (state, target state)
        let mut post = Vec::with_capacity(n);
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (v, ref mut k)) = stack.last_mut() {
            if *k < targets[v].len() {
                let w = targets[v][targets[v].len() - 1 - *k];
                *k += 1;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => {
                        back.insert((v, w));
                    }
                    _ => {}
                }
            } else {
                state[v] = 2;
                post.push(v);
                stack.pop();
            }
        }
        post.reverse();
        let order = post;

        let unreachable: Vec<&str> = m
            .states
            .iter()
            .enumerate()
            .filter(|(i, _)| state[*i] == 0)
            .map(|(_, s)| s.name.as_str())
            .collect();
        if !unreachable.is_empty() {
            let list = unreachable
                .iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", ");
            self.notes.push(format!(
                "warning{}: unreachable state(s) skipped: {list}",
                scope_suffix(m)
            ));
        }
        for &(v, w) in &back {
            let s = &m.states[v];
            let what = if matches!(s.kind, Kind::Choice) {
                "the choice's other branches renormalised"
            } else {
                "its loop note says how the loop is modelled"
            };
            let fields: Vec<&str> = s
                .edges
                .iter()
                .zip(&succ[v])
                .filter(|(_, t)| **t == Some(w))
                .map(|(e, _)| e.field.as_str())
                .collect();
            self.notes.push(format!(
                "loop cut{}: '{}' {} -> '{}' dropped; {what}",
                scope_suffix(m),
                s.name,
                fields.join(", "),
                m.states[w].name,
            ));
        }

        // Names first: a choice step names its successors' steps.
        let mut flat: Vec<String> = vec![String::new(); n];
        for &v in &order {
            flat[v] = self.flat_name(&m.states[v].name, ctx);
        }
        let mut pending_after: Vec<Vec<String>> = vec![Vec::new(); n];
        // The names already in each `pending_after` list, so that a join of many branches is linear.
        let mut pending_seen: Vec<BTreeSet<String>> = vec![BTreeSet::new(); n];
        pending_after[start] = preds.to_vec();
        pending_seen[start] = preds.iter().cloned().collect();
        let mut exits_of_machine = Vec::new();
        for &v in &order {
            let s = &m.states[v];
            let name = flat[v].clone();
            let after = std::mem::take(&mut pending_after[v]);
            let forward: Vec<(usize, usize)> = succ[v]
                .iter()
                .enumerate()
                .filter_map(|(e, t)| t.filter(|t| !back.contains(&(v, *t))).map(|t| (e, t)))
                .collect();
            let in_loop;
            let sctx = if repeat[v] == 1.0 {
                ctx
            } else {
                in_loop = Ctx {
                    repeat: ctx.repeat * repeat[v],
                    ..ctx.clone()
                };
                &in_loop
            };
            let exits = self.state(m, s, &name, after, &forward, &flat, sctx);
            let mut targets: Vec<usize> = forward.iter().map(|&(_, t)| t).collect();
            let mut seen = BTreeSet::new();
            targets.retain(|t| seen.insert(*t));
            if targets.is_empty() && !matches!(s.kind, Kind::Fail) {
                exits_of_machine.extend(exits.iter().cloned());
            }
            for t in targets {
                for x in &exits {
                    if pending_seen[t].insert(x.clone()) {
                        pending_after[t].push(x.clone());
                    }
                }
            }
        }
        exits_of_machine
    }

    /// Emits the step(s) of one state; returns its exits.
    #[allow(clippy::too_many_arguments)]
    fn state(
        &mut self,
        m: &Machine,
        s: &State,
        name: &str,
        after: Vec<String>,
        forward: &[(usize, usize)],
        flat: &[String],
        ctx: &Ctx,
    ) -> Vec<String> {
        let base = StepSpec {
            name: name.to_owned(),
            after,
            ..Default::default()
        };
        match &s.kind {
            Kind::Task {
                function,
                repeat,
                retry,
            } => {
                self.used_task_defaults = true;
                let (items, sequential) = match *repeat {
                    Repeat::Once => (1, false),
                    Repeat::FanOut(n) => (self.items_or_default(n), false),
                    Repeat::Sequential(n) => (self.items_or_default(n), true),
                };
                let place = m.place(&s.name);
                let mut jobs = u64::from(self.opts.jobs).saturating_mul(ctx.items);
                // A task inside a loop runs once per iteration, one after another: its work adds up.
                let mut work_s = self.opts.work_s * ctx.repeat;
                // The most instances at once allowed by the enclosing Maps: a bound on both the fan-out
                // and the concurrency.
                let max_fan_out = ctx.bounded.then_some(ctx.concurrency);
                if sequential {
                    // A loop's iterations depend on each other: one job that does them all in turn.
                    // Its fan-out bound is the enclosing Maps' (if any), unchanged.
                    work_s *= f64::from(items);
                } else {
                    jobs = jobs.saturating_mul(u64::from(items));
                }
                let jobs = match u32::try_from(jobs) {
                    Ok(j) if j <= MAX_JOBS => j,
                    _ => {
                        self.problems.push(Problem {
                            place: place.clone(),
                            kind: ProblemKind::BadNumber {
                                field: "jobs (items x jobs of the enclosing maps)".into(),
                                value: jobs.to_string(),
                                expected: format!("must be at most {MAX_JOBS}"),
                            },
                        });
                        1
                    }
                };
                self.steps.push(StepSpec {
                    function: function.clone().filter(|f| f != name),
                    jobs: Some(jobs),
                    work_s: Some(work_s),
                    memory_mb_per_worker: self.opts.memory_mb_per_worker,
                    // A bound above the most jobs a step may run never binds.
                    max_fan_out: max_fan_out.map(|c| {
                        u32::try_from(c.min(u64::from(MAX_FAN_OUT))).unwrap_or(MAX_FAN_OUT)
                    }),
                    max_concurrency: max_fan_out.map(|c| {
                        u32::try_from(c.min(u64::from(MAX_CONCURRENCY))).unwrap_or(MAX_CONCURRENCY)
                    }),
                    retry: retry.clone().or_else(|| ctx.retry.clone()),
                    ..base
                });
                vec![name.to_owned()]
            }
            Kind::Pass { wait_s } => {
                self.steps.push(StepSpec {
                    kind: Some("pass".into()),
                    wait_s: wait_s.map(|w| w * ctx.repeat).filter(|w| *w > 0.0),
                    ..base
                });
                vec![name.to_owned()]
            }
            Kind::Fail => {
                self.steps.push(StepSpec {
                    kind: Some("fail".into()),
                    ..base
                });
                Vec::new()
            }
            Kind::Choice => {
                let choices = self.choice_probabilities(m, s, forward, flat);
                if choices.is_empty() {
                    // Every branch loops back: nothing to choose between in the DAG.
                    self.steps.push(StepSpec {
                        kind: Some("pass".into()),
                        ..base
                    });
                } else {
                    self.steps.push(StepSpec {
                        kind: Some("choice".into()),
                        choices,
                        ..base
                    });
                }
                vec![name.to_owned()]
            }
            Kind::Parallel { branches } => {
                self.steps.push(StepSpec {
                    kind: Some("pass".into()),
                    ..base
                });
                let inner = Ctx {
                    prefix: Some(name.to_owned()),
                    ..ctx.clone()
                };
                let mut exits = Vec::new();
                for b in branches {
                    exits.extend(self.machine(b, &[name.to_owned()], &inner));
                }
                if exits.is_empty() {
                    vec![name.to_owned()]
                } else {
                    exits
                }
            }
            Kind::Map {
                items,
                max_concurrency,
                body,
                retry,
            } => {
                self.steps.push(StepSpec {
                    kind: Some("pass".into()),
                    ..base
                });
                let n_items = u64::from(self.items_or_default(*items));
                let inner = Ctx {
                    prefix: Some(name.to_owned()),
                    items: ctx.items.saturating_mul(n_items),
                    concurrency: ctx
                        .concurrency
                        .saturating_mul(max_concurrency.map_or(n_items, u64::from)),
                    bounded: ctx.bounded || max_concurrency.is_some(),
                    repeat: ctx.repeat,
                    retry: retry.clone().or_else(|| ctx.retry.clone()),
                };
                let exits = self.machine(body, &[name.to_owned()], &inner);
                if exits.is_empty() {
                    vec![name.to_owned()]
                } else {
                    exits
                }
            }
        }
    }

    /// Plans the loops of `m` (its strongly connected states) before they are cut into a DAG.
    ///
    /// Every execution of a loop ends by taking one of its exits, so no state of the loop may end the
    /// path once its back edge is cut. A loop whose only exits leave from its last state (a do-while:
    /// work, then a Choice back or out) is kept as it is. Otherwise (a polling loop that checks first,
    /// `Choice -> Wait -> Choice`, or exits from the middle) the exits move to one step the importer adds
    /// after the loop body, `'<state> (loop exit)'`, which chooses among them; the states of the loop
    /// wait for nothing else. The loop runs its expected number of iterations when the file gives the
    /// probabilities of its one exiting Choice (non-standard `Probability`, 1 / P(exit)); otherwise one
    /// pass. Work and waits of the loop's states are multiplied by that number. Each loop is described.
    ///
    /// Returns the machine with its exits moved (`None` when unchanged) and the repeat factor of every
    /// state of the returned machine.
    fn plan_loops(&mut self, m: &Machine) -> (Option<Machine>, Vec<f64>) {
        let n = m.states.len();
        let mut repeat = vec![1.0; n];
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, s) in m.states.iter().enumerate() {
            index.entry(s.name.as_str()).or_insert(i);
        }
        let Some(start) = m.start_at.as_deref().and_then(|x| index.get(x).copied()) else {
            return (None, repeat);
        };
        let succ: Vec<Vec<Option<usize>>> = m
            .states
            .iter()
            .map(|s| {
                s.edges
                    .iter()
                    .map(|e| index.get(e.target.as_str()).copied())
                    .collect()
            })
            .collect();
        let targets = distinct_targets(&succ);
        let components = loops(&targets, start);
        if components.is_empty() {
            return (None, repeat);
        }
        let mut planned: Option<Machine> = None;
        for (entry, members) in components {
            let inside = |t: usize| members.binary_search(&t).is_ok();
            // Exit edges (state, edge) and the loop's sinks once its back edges are cut, found by the
            // same depth-first order as the flattening (targets last to first, from the entry).
            let exits: Vec<(usize, usize)> = members
                .iter()
                .flat_map(|&u| {
                    succ[u]
                        .iter()
                        .enumerate()
                        .filter(|(_, t)| t.is_some_and(|t| !inside(t)))
                        .map(move |(e, _)| (u, e))
                })
                .collect();
            let sinks = loop_sinks(&targets, entry, &members);
            let sources: BTreeSet<usize> = exits.iter().map(|&(u, _)| u).collect();
            let names = |set: &mut dyn Iterator<Item = usize>| {
                set.map(|u| format!("'{}'", m.states[u].name))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let what = format!(
                "loop{} through {}",
                scope_suffix(m),
                names(&mut members.iter().copied())
            );
            if exits.is_empty() {
                self.notes.push(format!(
                    "{what}: no way out of it in the file (it ends by error or timeout); modelled as one pass"
                ));
                continue;
            }
            // Iterations: 1 / P(exit) when the one exiting state is a Choice whose file gives probabilities.
            let mut iterations = None;
            if let [u] = sources.iter().copied().collect::<Vec<_>>()[..]
                && matches!(m.states[u].kind, Kind::Choice)
                && let Some(p) = edge_probabilities(&m.states[u].edges)
            {
                let p_exit: f64 = succ[u]
                    .iter()
                    .zip(&p)
                    .filter(|(t, _)| t.is_some_and(|t| !inside(t)))
                    .map(|(_, p)| p)
                    .sum();
                if p_exit > 0.0 {
                    iterations = Some((1.0 / p_exit, 1.0 - p_exit));
                } else {
                    self.problems.push(Problem {
                        place: m.place(&m.states[u].name),
                        kind: ProblemKind::Other(
                            "the loop's exits all have probability 0: it never ends".into(),
                        ),
                    });
                }
            }
            let how = match iterations {
                Some((k, p_stay)) => {
                    for &u in &members {
                        repeat[u] = k;
                    }
                    format!(
                        "modelled as {} expected iterations (the file gives it probability {} of going round \
                         again): work and waits of its states x {}",
                        round3(k),
                        round3(p_stay),
                        round3(k)
                    )
                }
                None => "modelled as one pass (the file does not give its number of iterations)"
                    .to_owned(),
            };
            let do_while = sources.len() == 1 && sinks.len() == 1 && sources.contains(&sinks[0]);
            if do_while {
                self.notes.push(format!("{what}: {how}"));
                continue;
            }
            // Move the exits after the loop body.
            let mm = planned.get_or_insert_with(|| m.clone());
            let first = exits[0].0;
            let mut exit_name = format!("{} (loop exit)", m.states[first].name);
            let mut k = 2;
            while mm.states.iter().any(|s| s.name == exit_name) {
                exit_name = format!("{} (loop exit)~{k}", m.states[first].name);
                k += 1;
            }
            // Exit probabilities given in the file become shares of leaving: renormalised over the exits.
            let exit_share = |u: usize, e: usize| -> Option<f64> {
                let p = edge_probabilities(&m.states[u].edges)?;
                let total: f64 = succ[u]
                    .iter()
                    .zip(&p)
                    .filter(|(t, _)| t.is_some_and(|t| !inside(t)))
                    .map(|(_, p)| p)
                    .sum();
                (total > 0.0).then(|| p[e] / total)
            };
            let shares: Vec<Option<f64>> = exits.iter().map(|&(u, e)| exit_share(u, e)).collect();
            let renormalised = sources.len() == 1 && shares.iter().all(Option::is_some);
            let mut moved = Vec::new();
            for (&(u, e), share) in exits.iter().zip(&shares).rev() {
                let mut edge = mm.states[u].edges.remove(e);
                edge.field = format!("{} {}", m.states[u].name, edge.field);
                edge.probability = if renormalised { *share } else { None };
                moved.push(edge);
            }
            moved.reverse();
            let n_targets = moved
                .iter()
                .map(|e| &e.target)
                .collect::<BTreeSet<_>>()
                .len();
            let fields: Vec<String> = moved.iter().map(|e| e.field.clone()).collect();
            mm.states.push(State {
                name: exit_name.clone(),
                kind: if n_targets > 1 {
                    Kind::Choice
                } else {
                    Kind::Pass { wait_s: None }
                },
                edges: moved,
                unmodelled_refs: Vec::new(),
            });
            repeat.push(1.0);
            for &t in &sinks {
                mm.states[t].edges.push(Edge {
                    target: exit_name.clone(),
                    field: "loop exit".into(),
                    probability: None,
                });
            }
            self.notes.push(format!(
                "{what}: {how}; its exits ({}) are taken after the loop body, by step '{exit_name}'{}",
                fields.join(", "),
                if renormalised {
                    " (their given probabilities renormalised over the exits)"
                } else {
                    " (uniform over the exits)"
                }
            ));
        }
        (planned, repeat)
    }

    fn items_or_default(&mut self, n: Option<u32>) -> u32 {
        n.unwrap_or_else(|| {
            self.used_items_default = true;
            self.opts.items
        })
    }

    /// Branch probabilities of a choice state over its forward edges: given ones are kept, the rest of
    /// the probability mass is shared uniformly by the branches without one (a `Default` is a branch
    /// too); branches to the same state add up; loop-back branches are dropped and the remaining ones
    /// renormalised (the probability of leaving the loop by each exit).
    fn choice_probabilities(
        &mut self,
        m: &Machine,
        s: &State,
        forward: &[(usize, usize)],
        flat: &[String],
    ) -> Vec<ChoiceSpec> {
        let place = m.place(&s.name);
        let mut given_sum = 0.0;
        let mut n_free = 0usize;
        for e in &s.edges {
            match e.probability {
                Some(p) if p.is_finite() && (0.0..=1.0).contains(&p) => given_sum += p,
                Some(p) => self.problems.push(Problem {
                    place: place.clone(),
                    kind: ProblemKind::BadNumber {
                        field: format!("{} probability", e.field),
                        value: format!("{p}"),
                        expected: "must be between 0 and 1".into(),
                    },
                }),
                None => n_free += 1,
            }
        }
        let all_valid = s.edges.iter().all(|e| {
            e.probability
                .is_none_or(|p| p.is_finite() && (0.0..=1.0).contains(&p))
        });
        if given_sum > 1.0 + 1e-9 {
            self.problems.push(Problem {
                place: place.clone(),
                kind: ProblemKind::Other(format!(
                    "choice probabilities sum to {given_sum}, more than 1"
                )),
            });
        } else if n_free == 0 && all_valid && given_sum < 1.0 - 1e-9 {
            // Never renormalised silently: the file must say where the rest goes.
            self.problems.push(Problem {
                place: place.clone(),
                kind: ProblemKind::Other(format!(
                    "choice probabilities sum to {given_sum}, less than 1 (give the rest to a branch, \
                     or leave one without a Probability to take it)"
                )),
            });
        }
        let share = if n_free > 0 {
            (1.0 - given_sum).max(0.0) / n_free as f64
        } else {
            0.0
        };
        let mut merged: Vec<(usize, f64)> = Vec::new();
        for &(e, t) in forward {
            let p = s.edges[e]
                .probability
                .filter(|p| p.is_finite() && (0.0..=1.0).contains(p))
                .unwrap_or(share);
            match merged.iter_mut().find(|(x, _)| *x == t) {
                Some((_, q)) => *q += p,
                None => merged.push((t, p)),
            }
        }
        let total: f64 = merged.iter().map(|x| x.1).sum();
        if merged.is_empty() {
            return Vec::new();
        }
        if total <= 0.0 {
            self.problems.push(Problem {
                place,
                kind: ProblemKind::Other(
                    "every branch that leaves the choice has probability 0".into(),
                ),
            });
            return Vec::new();
        }
        merged
            .into_iter()
            .map(|(t, p)| ChoiceSpec {
                next: flat[t].clone(),
                probability: Some(p / total),
            })
            .collect()
    }
}

/// The loops reachable from `start`: strongly connected sets of states with more than one state or a
/// self-loop, each as (its entry, the first state a depth-first search from `start` reaches, members
/// sorted). Iterative Tarjan, linear in states and edges.
fn loops(targets: &[Vec<usize>], start: usize) -> Vec<(usize, Vec<usize>)> {
    const NONE: usize = usize::MAX;
    let n = targets.len();
    let mut disc = vec![NONE; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    let mut counter = 0;
    disc[start] = counter;
    low[start] = counter;
    counter += 1;
    stack.push(start);
    on_stack[start] = true;
    let mut call: Vec<(usize, usize)> = vec![(start, 0)];
    while let Some(&mut (v, ref mut k)) = call.last_mut() {
        if *k < targets[v].len() {
            let w = targets[v][*k];
            *k += 1;
            if disc[w] == NONE {
                disc[w] = counter;
                low[w] = counter;
                counter += 1;
                stack.push(w);
                on_stack[w] = true;
                call.push((w, 0));
            } else if on_stack[w] {
                low[v] = low[v].min(disc[w]);
            }
        } else {
            call.pop();
            if let Some(&(u, _)) = call.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == disc[v] {
                let mut members = Vec::new();
                loop {
                    let x = stack
                        .pop()
                        .expect("the component's states are on the stack");
                    on_stack[x] = false;
                    members.push(x);
                    if x == v {
                        break;
                    }
                }
                if members.len() > 1 || targets[v].contains(&v) {
                    members.sort_unstable();
                    // Invariant: the root of a Tarjan component is its first-discovered state.
                    out.push((v, members));
                }
            }
        }
    }
    out.reverse();
    out
}

/// The states of a loop with no edge forward inside it once its back edges are cut: a depth-first
/// search from `entry` over the loop's own edges, targets last to first as in the flattening.
fn loop_sinks(targets: &[Vec<usize>], entry: usize, members: &[usize]) -> Vec<usize> {
    let inside = |t: &usize| members.binary_search(t).is_ok();
    let inner = |v: usize| -> Vec<usize> { targets[v].iter().copied().filter(inside).collect() };
    let mut state: BTreeMap<usize, u8> = BTreeMap::new(); // 1 on the stack, 2 done
    let mut has_forward: BTreeSet<usize> = BTreeSet::new();
    // Frames of (state, its targets inside the loop, next target to visit from the last).
    let mut stack: Vec<(usize, Vec<usize>, usize)> = vec![(entry, inner(entry), 0)];
    state.insert(entry, 1);
    while let Some((v, ts, k)) = stack.last_mut() {
        let v = *v;
        if *k < ts.len() {
            let w = ts[ts.len() - 1 - *k];
            *k += 1;
            match state.get(&w) {
                None => {
                    has_forward.insert(v);
                    state.insert(w, 1);
                    stack.push((w, inner(w), 0));
                }
                Some(2) => {
                    has_forward.insert(v);
                }
                _ => {} // a back edge
            }
        } else {
            state.insert(v, 2);
            stack.pop();
        }
    }
    members
        .iter()
        .copied()
        .filter(|u| !has_forward.contains(u))
        .collect()
}

/// The probability of each edge of a choice when the file gives at least one (non-standard
/// `Probability`), the rest shared by the edges without one; `None` when it gives none or a bad one.
fn edge_probabilities(edges: &[Edge]) -> Option<Vec<f64>> {
    let valid = |p: f64| p.is_finite() && (0.0..=1.0).contains(&p);
    if edges.iter().all(|e| e.probability.is_none())
        || edges
            .iter()
            .any(|e| e.probability.is_some_and(|p| !valid(p)))
    {
        return None;
    }
    let given: f64 = edges.iter().filter_map(|e| e.probability).sum();
    let n_free = edges.iter().filter(|e| e.probability.is_none()).count();
    let share = if n_free > 0 {
        (1.0 - given).max(0.0) / n_free as f64
    } else {
        0.0
    };
    Some(
        edges
            .iter()
            .map(|e| e.probability.unwrap_or(share))
            .collect(),
    )
}

/// Rounds to 3 decimals for descriptions.
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn scope_suffix(m: &Machine) -> String {
    if m.scope.is_empty() {
        String::new()
    } else {
        format!(" {}", m.scope)
    }
}

/// Each state's distinct resolved targets, in file order (unknown targets left out).
fn distinct_targets(succ: &[Vec<Option<usize>>]) -> Vec<Vec<usize>> {
    succ.iter()
        .map(|row| {
            let mut seen = BTreeSet::new();
            row.iter()
                .flatten()
                .copied()
                .filter(|x| seen.insert(*x))
                .collect()
        })
        .collect()
}
