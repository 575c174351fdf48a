//! From a faastune plan (`faastune plan --json`) and a state machine's definition to the changes that
//! deploy it: one alias per (function, memory, workers), each Task pointed at its alias, each Map's
//! `MaxConcurrency` set to its fan-out. Pure: the API calls are in `crate::deploy`. [`Changes::render`]
//! is the diff `faastune aws deploy` prints without `--apply`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::definition::{self, Inventory};
use crate::naming;

/// One step of a plan file (the fields of `faastune plan --json` that deploying needs).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PlanFileStep {
    /// Step name.
    pub name: String,
    /// Memory per instance, MB.
    pub memory_mb: u32,
    /// Instances (Map MaxConcurrency when the step is inside a Map).
    pub fan_out: u32,
    /// Workers per instance.
    pub workers: u32,
    /// Whether the step runs a function.
    pub is_task: bool,
}

/// A plan file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PlanFile {
    /// Workflow name.
    pub workflow: String,
    /// The policy that made it.
    #[serde(default)]
    pub policy: String,
    /// The SLO it was made for, seconds.
    #[serde(default)]
    pub slo_s: Option<f64>,
    /// The steps.
    pub steps: Vec<PlanFileStep>,
}

impl PlanFile {
    /// Reads a plan file; errors name the file (and the line and column for bad JSON).
    pub fn load(path: &Path) -> Result<PlanFile, crate::Error> {
        let text = std::fs::read_to_string(path).map_err(|e| crate::Error::File {
            path: path.display().to_string(),
            what: e.to_string(),
        })?;
        serde_json::from_str(&text).map_err(|e| crate::Error::File {
            path: path.display().to_string(),
            what: format!("not a faastune plan (faastune plan --json): {e}"),
        })
    }
}

/// The current configuration of one function's `$LATEST` (what `GetFunctionConfiguration` says).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionNow {
    /// Function name.
    pub name: String,
    /// Memory, MB.
    pub memory_mb: u32,
    /// Timeout, seconds.
    pub timeout_s: u32,
    /// Architecture (`x86_64` or `arm64`).
    pub architecture: String,
}

/// One configuration to deploy: a version of `function` with `memory_mb` and `workers`, behind `alias`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Target {
    /// Function name.
    pub function: String,
    /// Memory, MB.
    pub memory_mb: u32,
    /// Workers (`FAASTUNE_WORKERS`).
    pub workers: u32,
    /// The alias.
    pub alias: String,
}

/// One field of the definition that changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateChange {
    /// The state's name.
    pub state: String,
    /// The plan step it follows.
    pub step: String,
    /// The field (`Resource`, `Parameters.FunctionName`, `MaxConcurrency`).
    pub field: String,
    /// Its value now.
    pub before: String,
    /// Its value after deploying.
    pub after: String,
}

/// Everything deploying a plan changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Changes {
    /// The aliases to create or move, one per distinct configuration.
    pub targets: Vec<Target>,
    /// Per function, its `$LATEST` memory now (for the diff).
    pub functions: Vec<FunctionNow>,
    /// The definition's fields that change.
    pub states: Vec<StateChange>,
    /// The definition after deploying.
    #[serde(skip)]
    pub definition: Value,
    /// What the plan asks that the definition cannot express (a fan-out outside a Map, a dynamic
    /// function name): reported, not applied.
    pub warnings: Vec<String>,
}

/// Works out the changes; every problem of the plan against the definition is reported at once, before
/// anything is changed.
pub fn changes(
    plan: &PlanFile,
    plan_name: &str,
    machine_name: &str,
    def: &Value,
    functions: &[FunctionNow],
) -> Result<Changes, crate::Error> {
    let inv: Inventory = definition::inventory(def).map_err(|e| crate::Error::Definition {
        machine: machine_name.to_owned(),
        what: e.to_string(),
    })?;
    let steps: BTreeMap<&str, &PlanFileStep> = plan
        .steps
        .iter()
        .filter(|s| s.is_task)
        .map(|s| (s.name.as_str(), s))
        .collect();
    let mut problems = Vec::new();
    let mut matched: Vec<(usize, &PlanFileStep)> = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    for (i, t) in inv.tasks.iter().enumerate() {
        match t
            .candidate_names()
            .iter()
            .find_map(|n| steps.get(n.as_str()))
        {
            Some(s) => {
                used.insert(s.name.as_str());
                matched.push((i, s));
            }
            None => problems.push(format!(
                "Task state '{}' (function {}) has no step in the plan",
                t.name, t.function.name
            )),
        }
    }
    let unused: Vec<&str> = steps
        .keys()
        .filter(|k| !used.contains(*k))
        .copied()
        .collect();
    if !unused.is_empty() {
        problems.push(format!(
            "plan steps with no Task state in the state machine: {}",
            unused.join(", ")
        ));
    }
    for (_, s) in &matched {
        if let Err(e) = naming::check_memory(s.memory_mb) {
            problems.push(format!("step '{}': {e}", s.name));
        }
        if let Err(e) = naming::check_workers(s.workers) {
            problems.push(format!("step '{}': {e}", s.name));
        }
        if s.fan_out == 0 {
            problems.push(format!("step '{}': fan_out must be >= 1", s.name));
        }
    }
    if !problems.is_empty() {
        return Err(crate::Error::PlanMismatch {
            plan: plan_name.to_owned(),
            workflow: plan.workflow.clone(),
            machine: machine_name.to_owned(),
            problems,
        });
    }

    let mut out = def.clone();
    let mut targets = std::collections::BTreeSet::new();
    let mut states = Vec::new();
    let mut warnings: Vec<String> = inv
        .dynamic
        .iter()
        .map(|(p, why)| format!("{p}: {why}; left as it is"))
        .collect();
    let mut map_fan: BTreeMap<String, (u32, Vec<String>)> = BTreeMap::new();
    for (i, s) in &matched {
        let t = &inv.tasks[*i];
        let alias = naming::alias_name(s.memory_mb, s.workers);
        targets.insert(Target {
            function: t.function.name.clone(),
            memory_mb: s.memory_mb,
            workers: s.workers,
            alias: alias.clone(),
        });
        let before = t.function.text();
        let after = t.function.with_qualifier(&alias);
        if before != after {
            states.push(StateChange {
                state: t.name.clone(),
                step: s.name.clone(),
                field: t.field.as_str().to_owned(),
                before,
                after,
            });
            definition::set_task_qualifier(&mut out, t, &alias);
        }
        match &t.map {
            Some(m) => {
                let e = map_fan.entry(m.clone()).or_insert((0, Vec::new()));
                e.0 = e.0.max(s.fan_out);
                e.1.push(s.name.clone());
            }
            None if s.fan_out > 1 => warnings.push(format!(
                "step '{}': fan-out {} for a Task outside a Map cannot be expressed in the definition; \
                 it runs one instance",
                s.name, s.fan_out
            )),
            None => {}
        }
    }
    for m in &inv.maps {
        let Some((fan, steps)) = map_fan.get(&m.pointer) else {
            continue;
        };
        let now = m.max_concurrency.unwrap_or(0);
        if now != u64::from(*fan) {
            states.push(StateChange {
                state: m.name.clone(),
                step: steps.join(", "),
                field: "MaxConcurrency".into(),
                before: if now == 0 {
                    "unlimited".into()
                } else {
                    now.to_string()
                },
                after: fan.to_string(),
            });
            definition::set_map_concurrency(&mut out, m, u64::from(*fan));
        }
    }
    let names: std::collections::BTreeSet<&str> =
        targets.iter().map(|t| t.function.as_str()).collect();
    let functions = functions
        .iter()
        .filter(|f| names.contains(f.name.as_str()))
        .cloned()
        .collect();
    Ok(Changes {
        targets: targets.into_iter().collect(),
        functions,
        states,
        definition: out,
        warnings,
    })
}

/// The changes that deploy `def` for dynamic configuration (StepConf end to end): every function of
/// the definition gets an alias for each `(memory_mb, workers)` of `configs` (the configurations the
/// configurator may choose: the optimizer's memory sizes times its worker counts), and the definition
/// becomes [`crate::dynamic::make_dynamic`]'s, with `configurator` deciding before each function step.
/// Every problem is reported at once, before anything is changed.
pub fn dynamic_changes(
    machine_name: &str,
    def: &Value,
    functions: &[FunctionNow],
    configs: &[(u32, u32)],
    configurator: &crate::dynamic::Configurator,
    workflow: &str,
) -> Result<Changes, crate::Error> {
    let definition_error = |what: String| crate::Error::Definition {
        machine: machine_name.to_owned(),
        what,
    };
    let inv: Inventory = definition::inventory(def).map_err(|e| definition_error(e.to_string()))?;
    let mut problems: Vec<String> = Vec::new();
    for &(m, w) in configs {
        if let Err(e) = naming::check_memory(m) {
            problems.push(format!("configuration ({m} MB, {w} workers): {e}"));
        }
        if let Err(e) = naming::check_workers(w) {
            problems.push(format!("configuration ({m} MB, {w} workers): {e}"));
        }
    }
    if configs.is_empty() {
        problems.push("no configurations to deploy".to_owned());
    }
    let (out, configured) = match crate::dynamic::make_dynamic(def, workflow, configurator) {
        Ok(x) => x,
        Err(errors) => {
            problems.extend(errors.iter().map(ToString::to_string));
            (Value::Null, Vec::new())
        }
    };
    if !problems.is_empty() {
        return Err(definition_error(format!(
            "cannot be deployed for dynamic configuration; nothing was changed:\n  - {}",
            problems.join("\n  - ")
        )));
    }
    let who = match configurator {
        crate::dynamic::Configurator::Lambda(f) => format!("Lambda {f}"),
        crate::dynamic::Configurator::Http { url, .. } => url.clone(),
    };
    let mut targets = std::collections::BTreeSet::new();
    let mut states = Vec::new();
    for t in &inv.tasks {
        for &(m, w) in configs {
            targets.insert(Target {
                function: t.function.name.clone(),
                memory_mb: m,
                workers: w,
                alias: naming::alias_name(m, w),
            });
        }
        if configured.contains(&t.name) {
            states.push(StateChange {
                state: t.name.clone(),
                step: t.name.clone(),
                field: t.field.as_str().to_owned(),
                before: t.function.text(),
                after: format!("the alias {who} decides at run time"),
            });
        }
    }
    let functions = {
        let names: std::collections::BTreeSet<&str> =
            targets.iter().map(|t| t.function.as_str()).collect();
        functions
            .iter()
            .filter(|f| names.contains(f.name.as_str()))
            .cloned()
            .collect()
    };
    Ok(Changes {
        targets: targets.into_iter().collect(),
        functions,
        states,
        definition: out,
        warnings: inv
            .dynamic
            .iter()
            .map(|(p, why)| format!("{p}: {why}; left as it is"))
            .collect(),
    })
}

impl Changes {
    /// The diff as text: per function its memory now and the aliases it gets, per state the fields
    /// that change, then the warnings.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "functions (memory of $LATEST now -> configurations deployed as aliases):\n",
        );
        for f in &self.functions {
            let mine: Vec<&Target> = self
                .targets
                .iter()
                .filter(|t| t.function == f.name)
                .collect();
            // A dynamic deployment has dozens per function: their count and range.
            let listed = match mine.as_slice() {
                [first, .., last] if mine.len() > 6 => format!(
                    "{} aliases, {} ... {} ({}-{} MB, {}-{} workers)",
                    mine.len(),
                    first.alias,
                    last.alias,
                    mine.iter().map(|t| t.memory_mb).min().unwrap_or(0),
                    mine.iter().map(|t| t.memory_mb).max().unwrap_or(0),
                    mine.iter().map(|t| t.workers).min().unwrap_or(0),
                    mine.iter().map(|t| t.workers).max().unwrap_or(0),
                ),
                _ => mine
                    .iter()
                    .map(|t| format!("{} ({} MB, {} workers)", t.alias, t.memory_mb, t.workers))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            out.push_str(&format!(
                "  {:<24} {:>6} MB -> {listed}\n",
                f.name, f.memory_mb
            ));
        }
        out.push_str("states:\n");
        if self.states.is_empty() {
            out.push_str("  (no change)\n");
        }
        for s in &self.states {
            out.push_str(&format!(
                "  {:<24} {:<24} {} -> {}\n",
                s.state, s.field, s.before, s.after
            ));
        }
        for w in &self.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEF: &str = r#"{"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:fa", "Next": "M"},
        "M": {"Type": "Map", "Next": "C", "ItemProcessor": {"StartAt": "B", "States": {
            "B": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "fb"}, "End": true}}}},
        "C": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:fa", "End": true}}}"#;

    fn step(name: &str, m: u32, p: u32, q: u32) -> PlanFileStep {
        PlanFileStep {
            name: name.into(),
            memory_mb: m,
            fan_out: p,
            workers: q,
            is_task: true,
        }
    }

    fn plan(steps: Vec<PlanFileStep>) -> PlanFile {
        PlanFile {
            workflow: "wf".into(),
            policy: "replan".into(),
            slo_s: Some(10.0),
            steps,
        }
    }

    fn now() -> Vec<FunctionNow> {
        ["fa", "fb"]
            .map(|n| FunctionNow {
                name: n.into(),
                memory_mb: 128,
                timeout_s: 3,
                architecture: "x86_64".into(),
            })
            .to_vec()
    }

    #[test]
    fn a_plan_becomes_aliases_resources_and_map_concurrency() {
        let def = definition::parse(DEF).unwrap();
        let p = plan(vec![
            step("A", 1024, 1, 1),
            step("B", 512, 8, 2),
            step("C", 1024, 1, 1),
        ]);
        let c = changes(&p, "plan.json", "sm", &def, &now()).unwrap();
        let aliases: Vec<_> = c
            .targets
            .iter()
            .map(|t| (t.function.as_str(), t.alias.as_str()))
            .collect();
        // A and C share one configuration of fa: one alias.
        assert_eq!(
            aliases,
            [("fa", "faastune-1024mb-w1"), ("fb", "faastune-512mb-w2")]
        );
        assert_eq!(
            c.definition["States"]["C"]["Resource"],
            "arn:aws:lambda:us-east-1:1:function:fa:faastune-1024mb-w1"
        );
        assert_eq!(c.definition["States"]["M"]["MaxConcurrency"], 8);
        let text = c.render();
        assert!(
            text.contains("fb") && text.contains("128 MB -> faastune-512mb-w2 (512 MB, 2 workers)"),
            "{text}"
        );
        assert!(
            text.contains("MaxConcurrency           unlimited -> 8"),
            "{text}"
        );
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn a_plan_for_another_workflow_is_refused_with_every_problem() {
        let def = definition::parse(DEF).unwrap();
        let p = plan(vec![
            step("A", 64, 1, 1),
            step("X", 512, 1, 1),
            step("C", 1024, 2, 99),
        ]);
        let e = changes(&p, "plan.json", "sm", &def, &now())
            .unwrap_err()
            .to_string();
        for want in [
            "plan.json",
            "Task state 'B' (function fb) has no step in the plan",
            "plan steps with no Task state in the state machine: X",
            "step 'A': memory 64 MB is outside",
            "step 'C': workers 99",
        ] {
            assert!(e.contains(want), "missing {want:?} in {e}");
        }
    }

    #[test]
    fn a_fan_out_outside_a_map_is_a_warning() {
        let def = definition::parse(DEF).unwrap();
        let p = plan(vec![
            step("A", 1024, 4, 1),
            step("B", 512, 1, 1),
            step("C", 1024, 1, 1),
        ]);
        let c = changes(&p, "plan.json", "sm", &def, &now()).unwrap();
        assert_eq!(c.warnings.len(), 1);
        assert!(c.render().contains("warning: step 'A': fan-out 4"));
    }
}
