//! The dynamic state machine of StepConf (Sec. V-B): a configurator Task before each function step
//! decides, at run time, the step's configuration, and the step uses it.
//!
//! For every Lambda Task `T` of a `States` object (top level, Parallel branches), a state
//! `T (faastune configure)` is inserted before it: it calls the configurator with the execution's name,
//! the step's name and the execution's start time, and keeps the decision at `$.faastune`
//! (`memory_mb`, `alias`, `fan_out`, `workers`, `sub_slo_s`, `predicted_duration_s`); every transition to
//! `T` (`StartAt`, `Next`, `Default`, `Choices[].Next`, `Catch[].Next`) goes to the configure state
//! instead. `T` then invokes its function through `arn:aws:states:::lambda:invoke` with
//! `"FunctionName.$": "States.Format('<function>:{}', $.faastune.alias)"`: the alias carries the memory
//! and the worker count (`faastune aws deploy` publishes them). A Task that named its function by ARN in
//! `Resource` is converted to that integration with the state input as payload and `"OutputPath":
//! "$.Payload"`, so its output is unchanged.
//!
//! A Map whose item processor starts with a Lambda Task is configured once, before the Map: the Map's
//! concurrency comes from the decision (`MaxConcurrencyPath`: `$.faastune.fan_out`), each iteration
//! receives `{"item": <the item>, "faastune": <the decision>}` (`ItemSelector`), and the task invokes its
//! alias with the item as payload.
//!
//! The configurator is a Lambda function (the `faastune-configurator` handler; ARN or name) or the
//! `faastune serve` HTTP API through an HTTP Task (`arn:aws:states:::http:invoke`, which needs an
//! EventBridge connection ARN). What cannot be rewritten without changing what a function receives (a
//! Map with its own `ItemSelector`/`Parameters`, a Lambda Task later in an item processor, a Task whose
//! output is shaped by `ResultPath`/`ResultSelector` while naming its function by ARN, JSONata states,
//! run-time function names) is an error naming the state; nothing is half-rewritten.

use serde_json::{Map, Value, json};

use crate::definition::{DefinitionError, FunctionField};
use crate::naming::FunctionRef;

/// Where the configurator runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Configurator {
    /// A Lambda function (name or ARN).
    Lambda(String),
    /// `faastune serve` at this base URL, called through an HTTP Task with this EventBridge connection.
    Http {
        /// Base URL (`https://configurator.example.com`).
        url: String,
        /// The EventBridge connection the HTTP Task authenticates with.
        connection_arn: String,
    },
}

/// Suffix of the inserted states' names.
pub const CONFIGURE_SUFFIX: &str = " (faastune configure)";

/// Where the decision is kept in the state's data.
const DECISION_PATH: &str = "$.faastune";

/// Rewrites `def` (already parsed) for dynamic configuration by `configurator` for workflow
/// `workflow`. Returns the new definition and the names of the configured steps.
pub fn make_dynamic(
    def: &Value,
    workflow: &str,
    configurator: &Configurator,
) -> Result<(Value, Vec<String>), Vec<DefinitionError>> {
    if def.get("QueryLanguage").and_then(Value::as_str) == Some("JSONata") {
        return Err(vec![DefinitionError {
            place: "definition".into(),
            what: "JSONata state machines are not supported by --dynamic (JSONPath only)".into(),
        }]);
    }
    let mut out = def.clone();
    let mut errors = Vec::new();
    let mut configured = Vec::new();
    rewrite_machine(
        &mut out,
        "",
        workflow,
        configurator,
        &mut errors,
        &mut configured,
    );
    if errors.is_empty() {
        Ok((out, configured))
    } else {
        Err(errors)
    }
}

fn err(place: &str, what: impl Into<String>) -> DefinitionError {
    DefinitionError {
        place: place.to_owned(),
        what: what.into(),
    }
}

/// The function a Lambda Task names, and how; `None` for other Tasks. Errors for run-time names.
fn lambda_function(state: &Value) -> Result<Option<(FunctionRef, FunctionField)>, String> {
    if state.get("Type").and_then(Value::as_str) != Some("Task") {
        return Ok(None);
    }
    if state.get("QueryLanguage").and_then(Value::as_str) == Some("JSONata")
        || state.get("Arguments").is_some()
    {
        return Err("JSONata states are not supported by --dynamic".into());
    }
    let resource = state.get("Resource").and_then(Value::as_str).unwrap_or("");
    if resource.starts_with("arn:aws:states:::lambda:invoke") {
        if resource != "arn:aws:states:::lambda:invoke" {
            return Err(format!(
                "{resource} (a callback integration) is not supported by --dynamic"
            ));
        }
        let params = state.get("Parameters");
        return match params
            .and_then(|p| p.get("FunctionName"))
            .and_then(Value::as_str)
        {
            Some(f) => FunctionRef::parse(f)
                .map(|r| Some((r, FunctionField::ParametersFunctionName)))
                .ok_or_else(|| format!("FunctionName {f:?} is not a Lambda function reference")),
            None => Err("its function is only known at run time (FunctionName.$)".into()),
        };
    }
    if resource.contains(":lambda:") && resource.contains(":function:") {
        return FunctionRef::parse(resource)
            .map(|r| Some((r, FunctionField::Resource)))
            .ok_or_else(|| format!("Resource {resource:?} is not a Lambda function ARN"));
    }
    Ok(None)
}

/// Escapes text for a literal argument of an intrinsic function (`'...'`).
fn intrinsic_literal(text: &str) -> String {
    let mut s = String::new();
    for c in text.chars() {
        if matches!(c, '\'' | '{' | '}' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

/// The configure state for `step`, followed by `next`.
fn configure_state(step: &str, workflow: &str, configurator: &Configurator, next: &str) -> Value {
    let fields = [
        "memory_mb",
        "alias",
        "fan_out",
        "workers",
        "sub_slo_s",
        "predicted_duration_s",
    ];
    let (resource, parameters, body) = match configurator {
        Configurator::Lambda(f) => (
            "arn:aws:states:::lambda:invoke",
            json!({
                "FunctionName": f,
                "Payload": {
                    "workflow": workflow,
                    "execution.$": "$$.Execution.Name",
                    "step": step,
                    "started_at.$": "$$.Execution.StartTime",
                }
            }),
            "$.Payload",
        ),
        Configurator::Http {
            url,
            connection_arn,
        } => (
            "arn:aws:states:::http:invoke",
            json!({
                "ApiEndpoint.$": format!(
                    "States.Format('{}/v1/workflows/{}/executions/{{}}/steps/{}/decide', $$.Execution.Name)",
                    intrinsic_literal(url.trim_end_matches('/')),
                    intrinsic_literal(&percent(workflow)),
                    intrinsic_literal(&percent(step)),
                ),
                "Method": "POST",
                "Authentication": { "ConnectionArn": connection_arn },
                "RequestBody": { "started_at.$": "$$.Execution.StartTime" },
            }),
            "$.ResponseBody",
        ),
    };
    let selector: Map<String, Value> = fields
        .iter()
        .map(|f| (format!("{f}.$"), Value::String(format!("{body}.{f}"))))
        .collect();
    json!({
        "Type": "Task",
        "Comment": format!("faastune: decide the configuration of step '{step}' (StepConf, per execution)"),
        "Resource": resource,
        "Parameters": parameters,
        "ResultSelector": selector,
        "ResultPath": DECISION_PATH,
        "Next": next,
    })
}

/// Percent-encodes a path segment.
fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where the original state input is kept in the wrapper `{"input": ..., "faastune": decision}` a
/// configured step receives.
const INPUT_PATH: &str = "$.input";

/// `base` followed by the JSONPath `path` (`$`, `$.x`, `$['x']`) evaluated inside it.
fn compose(base: &str, path: Option<&str>) -> String {
    match path {
        None | Some("$") => base.to_owned(),
        Some(p) => format!("{base}{}", &p[1..]),
    }
}

/// Re-roots every JSONPath value of a payload template (`"key.$": "$.x"`) under `base`; context-object
/// paths (`$$.`) stay; an intrinsic function that reads the state input is an error.
fn reroot(v: &mut Value, base: &str, place: &str) -> Result<(), DefinitionError> {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if k.ends_with(".$")
                    && let Value::String(text) = val
                {
                    if text.starts_with("$$") {
                        continue;
                    }
                    if text.starts_with('$') {
                        *text = compose(base, Some(text));
                    } else if text.contains("$.") || text.contains("$[") || text.contains(", $)") {
                        return Err(err(
                            place,
                            format!(
                                "{k}: an intrinsic function reading the state input ({text}) is not rewritten by --dynamic"
                            ),
                        ));
                    }
                } else {
                    reroot(val, base, place)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => items.iter_mut().try_for_each(|i| reroot(i, base, place)),
        _ => Ok(()),
    }
}

/// Makes a state that now receives the wrapper give the same output as before: `ResultPath` and
/// `OutputPath` re-rooted in `$.input` (a result that replaces the whole input needs nothing).
fn unwrap_output(obj: &mut Map<String, Value>, result_base: Option<&str>) {
    let output = obj
        .get("OutputPath")
        .and_then(Value::as_str)
        .map(str::to_owned);
    match obj.get("ResultPath").cloned() {
        None => {
            if let Some(base) = result_base {
                obj.insert(
                    "OutputPath".into(),
                    Value::String(compose(base, output.as_deref())),
                );
            }
        }
        Some(Value::String(rp)) if rp == "$" => {
            if let Some(base) = result_base {
                obj.insert(
                    "OutputPath".into(),
                    Value::String(compose(base, output.as_deref())),
                );
            }
        }
        Some(Value::String(rp)) => {
            obj.insert(
                "ResultPath".into(),
                Value::String(compose(INPUT_PATH, Some(&rp))),
            );
            obj.insert(
                "OutputPath".into(),
                Value::String(compose(INPUT_PATH, output.as_deref())),
            );
        }
        Some(_) => {
            // ResultPath null: the output is the (wrapped) input.
            obj.insert(
                "OutputPath".into(),
                Value::String(compose(INPUT_PATH, output.as_deref())),
            );
        }
    }
}

/// Points a Lambda Task at the decided alias. The Task receives `{"input": <its input>, "faastune":
/// <decision>}`; its payload template, result and output paths are re-rooted so the function receives
/// and the next state gets what they did before.
fn rewrite_task(
    state: &mut Value,
    function: &FunctionRef,
    field: &FunctionField,
    place: &str,
) -> Result<(), DefinitionError> {
    let base = FunctionRef {
        qualifier: None,
        ..function.clone()
    }
    .text();
    let name = format!(
        "States.Format('{}:{{}}', {DECISION_PATH}.alias)",
        intrinsic_literal(&base)
    );
    let obj = state.as_object_mut().expect("states are objects");
    if obj
        .get("InputPath")
        .is_some_and(|p| p.as_str() != Some("$"))
    {
        return Err(err(place, "has an InputPath: not rewritten by --dynamic"));
    }
    match field {
        FunctionField::Resource => {
            let has_selector = obj.contains_key("ResultSelector");
            let replaces = obj
                .get("ResultPath")
                .is_none_or(|r| r.as_str() == Some("$"));
            if !has_selector && !replaces {
                return Err(err(
                    place,
                    "names its function by ARN and places its result with ResultPath: convert it to \
                     arn:aws:states:::lambda:invoke (or add a ResultSelector) first",
                ));
            }
            let mut params = Map::new();
            params.insert("FunctionName.$".into(), Value::String(name));
            match obj.remove("Parameters") {
                Some(mut p) => {
                    reroot(&mut p, INPUT_PATH, place)?;
                    params.insert("Payload".into(), p);
                }
                None => {
                    params.insert("Payload.$".into(), Value::String(INPUT_PATH.into()));
                }
            }
            obj.insert(
                "Resource".into(),
                Value::String("arn:aws:states:::lambda:invoke".into()),
            );
            obj.insert("Parameters".into(), Value::Object(params));
            // The integration's result is {"Payload": <the function's output>, ...}.
            if let Some(sel) = obj.get_mut("ResultSelector") {
                reroot(sel, "$.Payload", place)?;
                unwrap_output(obj, None);
            } else {
                unwrap_output(obj, Some("$.Payload"));
            }
        }
        FunctionField::ParametersFunctionName => {
            let params = obj
                .get_mut("Parameters")
                .expect("checked by lambda_function");
            reroot(params, INPUT_PATH, place)?;
            let params = params.as_object_mut().expect("an object");
            params.remove("FunctionName");
            params.insert("FunctionName.$".into(), Value::String(name));
            unwrap_output(obj, None);
        }
        FunctionField::ArgumentsFunctionName => {
            return Err(err(place, "JSONata states are not supported by --dynamic"));
        }
    }
    // A catcher that keeps the input (ResultPath other than $) now keeps the wrapper: re-rooted here,
    // unwrapped by a Pass state the caller inserts before its target.
    if let Some(catches) = obj.get_mut("Catch").and_then(Value::as_array_mut) {
        for c in catches {
            match c.get("ResultPath").cloned() {
                None => {}
                Some(Value::String(rp)) if rp == "$" => {}
                Some(Value::String(rp)) => {
                    c["ResultPath"] = Value::String(compose(INPUT_PATH, Some(&rp)));
                    c["faastune_unwrap"] = Value::Bool(true);
                }
                Some(_) => c["faastune_unwrap"] = Value::Bool(true),
            }
        }
    }
    Ok(())
}

/// Every transition target field of a state, mutably.
fn retarget(state: &mut Value, from: &str, to: &str) {
    let hit = |v: &mut Value| {
        if v.as_str() == Some(from) {
            *v = Value::String(to.to_owned());
        }
    };
    if let Some(v) = state.get_mut("Next") {
        hit(v);
    }
    if let Some(v) = state.get_mut("Default") {
        hit(v);
    }
    for key in ["Choices", "Catch"] {
        if let Some(list) = state.get_mut(key).and_then(Value::as_array_mut) {
            for c in list {
                if let Some(v) = c.get_mut("Next") {
                    hit(v);
                }
            }
        }
    }
}

fn rewrite_machine(
    machine: &mut Value,
    pointer: &str,
    workflow: &str,
    configurator: &Configurator,
    errors: &mut Vec<DefinitionError>,
    configured: &mut Vec<String>,
) {
    let Some(states) = machine.get("States").and_then(Value::as_object) else {
        errors.push(err(pointer, "no 'States' object"));
        return;
    };
    // (state the configure states go before, step it configures)
    let mut targets: Vec<(String, String)> = Vec::new();
    let names: Vec<String> = states.keys().cloned().collect();
    for name in &names {
        let place = format!("{pointer}/States/{name}");
        let state = &machine["States"][name];
        match state.get("Type").and_then(Value::as_str) {
            Some("Task") => match lambda_function(state) {
                Ok(Some((f, field))) => {
                    let st = machine["States"].get_mut(name).expect("listed");
                    match rewrite_task(st, &f, &field, &place) {
                        Ok(()) => targets.push((name.clone(), name.clone())),
                        Err(e) => errors.push(e),
                    }
                }
                Ok(None) => {}
                Err(why) => errors.push(err(&place, why)),
            },
            Some("Parallel") => {
                let n = state
                    .get("Branches")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                for i in 0..n {
                    let branch = &mut machine["States"][name]["Branches"][i];
                    rewrite_machine(
                        branch,
                        &format!("{place}/Branches/{i}"),
                        workflow,
                        configurator,
                        errors,
                        configured,
                    );
                }
            }
            Some("Map") => {
                if let Some(step) = rewrite_map(machine, name, &place, errors) {
                    targets.push((name.clone(), step));
                }
            }
            _ => {}
        }
    }
    if !errors.is_empty() {
        return;
    }
    for (state, step) in targets {
        let wrap = format!("{state} (faastune input)");
        let configure = format!("{state}{CONFIGURE_SUFFIX}");
        let states = machine["States"].as_object_mut().expect("checked");
        if states.contains_key(&wrap) || states.contains_key(&configure) {
            errors.push(err(
                &format!("{pointer}/States/{state}"),
                format!("a state named '{wrap}' or '{configure}' already exists"),
            ));
            continue;
        }
        for (_, s) in states.iter_mut() {
            retarget(s, &state, &wrap);
        }
        // Catchers of the configured state that keep its (now wrapped) input: unwrap before their target.
        let mut unwraps = Vec::new();
        if let Some(catches) = states[&state]
            .get_mut("Catch")
            .and_then(Value::as_array_mut)
        {
            for (i, c) in catches.iter_mut().enumerate() {
                if c.as_object_mut()
                    .and_then(|o| o.remove("faastune_unwrap"))
                    .is_some()
                {
                    let target = c["Next"].as_str().unwrap_or_default().to_owned();
                    let u = format!("{state} (faastune catch {i})");
                    c["Next"] = Value::String(u.clone());
                    unwraps.push((u, target));
                }
            }
        }
        for (u, target) in unwraps {
            states.insert(
                u,
                json!({"Type": "Pass", "Comment": "faastune: the caught input, unwrapped", "OutputPath": INPUT_PATH, "Next": target}),
            );
        }
        states.insert(
            wrap.clone(),
            json!({
                "Type": "Pass",
                "Comment": "faastune: keep the input beside the configurator's decision",
                "Parameters": { "input.$": "$" },
                "Next": configure,
            }),
        );
        states.insert(
            configure.clone(),
            configure_state(&step, workflow, configurator, &state),
        );
        if machine.get("StartAt").and_then(Value::as_str) == Some(state.as_str()) {
            machine["StartAt"] = Value::String(wrap);
        }
        configured.push(step);
    }
}

/// Rewrites a Map whose item processor starts with a Lambda Task; the configured step's name, or
/// `None` when the Map runs no Lambda Task.
fn rewrite_map(
    machine: &mut Value,
    name: &str,
    place: &str,
    errors: &mut Vec<DefinitionError>,
) -> Option<String> {
    let key = ["ItemProcessor", "Iterator"]
        .into_iter()
        .find(|k| machine["States"][name].get(*k).is_some())?;
    let processor = &machine["States"][name][key];
    let start = processor.get("StartAt").and_then(Value::as_str)?.to_owned();
    let inner = processor.get("States").and_then(Value::as_object)?;
    let mut lambdas = Vec::new();
    for (n, s) in inner {
        match lambda_function(s) {
            Ok(Some(f)) => lambdas.push((n.clone(), f)),
            Ok(None) => {}
            Err(why) => errors.push(err(&format!("{place}/{key}/States/{n}"), why)),
        }
    }
    if lambdas.is_empty() {
        return None;
    }
    let mut ok = true;
    for (n, _) in &lambdas {
        if *n != start {
            errors.push(err(
                &format!("{place}/{key}/States/{n}"),
                "only the first state of a Map's item processor can be configured dynamically",
            ));
            ok = false;
        }
    }
    let map = machine["States"][name]
        .as_object()
        .expect("states are objects");
    for k in [
        "ItemSelector",
        "Parameters",
        "ItemBatcher",
        "ItemReader",
        "InputPath",
    ] {
        if map.contains_key(k) {
            errors.push(err(
                place,
                format!("a Map with its own {k} cannot be configured dynamically"),
            ));
            ok = false;
        }
    }
    if !ok || lambdas.len() != 1 {
        return None;
    }
    let (_, (f, field)) = &lambdas[0];
    let task_place = format!("{place}/{key}/States/{start}");
    let task = &mut machine["States"][name][key]["States"][&start];
    if let Err(e) = rewrite_task(task, f, field, &task_place) {
        errors.push(e);
        return None;
    }
    if task
        .get("Catch")
        .is_some_and(|c| c.to_string().contains("faastune_unwrap"))
    {
        errors.push(err(
            &task_place,
            "a catcher with a ResultPath inside a Map is not rewritten by --dynamic",
        ));
        return None;
    }
    let map = machine["States"][name]
        .as_object_mut()
        .expect("states are objects");
    let items = map
        .get("ItemsPath")
        .and_then(Value::as_str)
        .map(str::to_owned);
    map.insert(
        "ItemsPath".into(),
        Value::String(compose(INPUT_PATH, items.as_deref())),
    );
    map.remove("MaxConcurrency");
    map.insert(
        "MaxConcurrencyPath".into(),
        Value::String(format!("{DECISION_PATH}.fan_out")),
    );
    map.insert(
        "ItemSelector".into(),
        json!({ "input.$": "$$.Map.Item.Value", "faastune.$": DECISION_PATH }),
    );
    unwrap_output(map, None);
    Some(start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition;

    const DEF: &str = r#"{"StartAt": "Split", "States": {
        "Split": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:split", "Next": "Route"},
        "Route": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Each"}], "Default": "Merge"},
        "Each": {"Type": "Map", "MaxConcurrency": 4, "ItemsPath": "$.items", "ResultPath": "$.results", "Next": "Merge", "ItemProcessor": {"StartAt": "Work", "States": {
            "Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "work:$LATEST", "Payload.$": "$"}, "OutputPath": "$.Payload", "End": true}}}},
        "Merge": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:merge",
                  "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Merge"}], "End": true}}}"#;

    #[test]
    fn every_lambda_step_gets_a_configure_state_before_it() {
        let def = definition::parse(DEF).unwrap();
        let (out, steps) = make_dynamic(
            &def,
            "orders",
            &Configurator::Lambda("faastune-configurator".into()),
        )
        .unwrap();
        assert_eq!(steps, ["Work", "Merge", "Split"]);
        // StartAt -> wrap the input -> decide -> the step.
        assert_eq!(out["StartAt"], "Split (faastune input)");
        let wrap = &out["States"]["Split (faastune input)"];
        assert_eq!(wrap["Parameters"]["input.$"], "$");
        assert_eq!(wrap["Next"], "Split (faastune configure)");
        let cfg = &out["States"]["Split (faastune configure)"];
        assert_eq!(cfg["Next"], "Split");
        assert_eq!(cfg["Parameters"]["Payload"]["step"], "Split");
        assert_eq!(
            cfg["Parameters"]["Payload"]["execution.$"],
            "$$.Execution.Name"
        );
        assert_eq!(cfg["ResultPath"], "$.faastune");
        assert_eq!(cfg["ResultSelector"]["alias.$"], "$.Payload.alias");
        // The step: its alias from the decision, the original input as payload, the function's output.
        let split = &out["States"]["Split"];
        assert_eq!(split["Resource"], "arn:aws:states:::lambda:invoke");
        assert_eq!(
            split["Parameters"]["FunctionName.$"],
            "States.Format('arn:aws:lambda:us-east-1:1:function:split:{}', $.faastune.alias)"
        );
        assert_eq!(split["Parameters"]["Payload.$"], "$.input");
        assert_eq!(split["OutputPath"], "$.Payload");
        assert_eq!(split["Next"], "Route");
        // Choices, Default and Catch targets go through the new states; the catcher that keeps the
        // input is unwrapped before its target.
        assert_eq!(
            out["States"]["Route"]["Choices"][0]["Next"],
            "Each (faastune input)"
        );
        assert_eq!(out["States"]["Route"]["Default"], "Merge (faastune input)");
        let merge = &out["States"]["Merge"];
        assert_eq!(merge["Catch"][0]["ResultPath"], "$.input.error");
        assert_eq!(merge["Catch"][0]["Next"], "Merge (faastune catch 0)");
        let unwrap = &out["States"]["Merge (faastune catch 0)"];
        assert_eq!(
            (unwrap["OutputPath"].as_str(), unwrap["Next"].as_str()),
            (Some("$.input"), Some("Merge (faastune input)"))
        );
        // The Map: decided once before it; items, concurrency and the alias from the decision.
        let each = &out["States"]["Each"];
        assert_eq!(each.get("MaxConcurrency"), None);
        assert_eq!(each["MaxConcurrencyPath"], "$.faastune.fan_out");
        assert_eq!(each["ItemsPath"], "$.input.items");
        assert_eq!(each["ItemSelector"]["input.$"], "$$.Map.Item.Value");
        assert_eq!(each["ResultPath"], "$.input.results");
        assert_eq!(each["OutputPath"], "$.input");
        let work = &each["ItemProcessor"]["States"]["Work"];
        assert_eq!(
            work["Parameters"]["FunctionName.$"],
            "States.Format('work:{}', $.faastune.alias)"
        );
        assert_eq!(work["Parameters"]["Payload.$"], "$.input");
        assert_eq!(
            work["OutputPath"], "$.Payload",
            "the user's own OutputPath is kept"
        );
        assert_eq!(
            out["States"]["Each (faastune configure)"]["Parameters"]["Payload"]["step"],
            "Work"
        );
        // Still a definition the inventory reads; no static function names left to configure.
        let inv = definition::inventory(&out).unwrap();
        assert_eq!(inv.tasks.len(), 3, "the three configure states");
        assert_eq!(inv.dynamic.len(), 3, "the three rewritten tasks");
    }

    #[test]
    fn payload_templates_and_result_paths_are_re_rooted() {
        let def = definition::parse(r#"{"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f", "Payload": {"id.$": "$.order.id", "exec.$": "$$.Execution.Id", "k": 1}},
            "ResultSelector": {"v.$": "$.Payload.v"}, "ResultPath": null, "End": true}}}"#).unwrap();
        let (out, _) = make_dynamic(&def, "w", &Configurator::Lambda("c".into())).unwrap();
        let t = &out["States"]["T"];
        assert_eq!(t["Parameters"]["Payload"]["id.$"], "$.input.order.id");
        assert_eq!(t["Parameters"]["Payload"]["exec.$"], "$$.Execution.Id");
        assert_eq!(
            t["ResultSelector"]["v.$"], "$.Payload.v",
            "selectors read the result"
        );
        assert_eq!(
            t["OutputPath"], "$.input",
            "ResultPath null: the input, unwrapped"
        );
        let bad = definition::parse(r#"{"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f", "Payload": {"s.$": "States.Format('{}', $.x)"}}, "End": true}}}"#).unwrap();
        let e = make_dynamic(&bad, "w", &Configurator::Lambda("c".into())).unwrap_err();
        assert!(
            e[0].to_string()
                .contains("intrinsic function reading the state input"),
            "{e:?}"
        );
    }

    #[test]
    fn the_http_configurator_calls_the_serve_api() {
        let def = definition::parse(DEF).unwrap();
        let c = Configurator::Http {
            url: "https://cfg.example.com/".into(),
            connection_arn: "arn:aws:events:us-east-1:1:connection/c/1".into(),
        };
        let (out, _) = make_dynamic(&def, "my flow", &c).unwrap();
        let cfg = &out["States"]["Split (faastune configure)"];
        assert_eq!(cfg["Resource"], "arn:aws:states:::http:invoke");
        assert_eq!(
            cfg["Parameters"]["ApiEndpoint.$"],
            "States.Format('https://cfg.example.com/v1/workflows/my%20flow/executions/{}/steps/Split/decide', $$.Execution.Name)"
        );
        assert_eq!(cfg["ResultSelector"]["workers.$"], "$.ResponseBody.workers");
    }

    #[test]
    fn what_cannot_be_rewritten_is_named_and_nothing_is_returned() {
        let bad = r#"{"StartAt": "M", "States": {
            "M": {"Type": "Map", "ItemSelector": {"x.$": "$"}, "End": true, "ItemProcessor": {"StartAt": "A", "States": {
                "A": {"Type": "Pass", "Next": "B"},
                "B": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:b", "End": true}}}},
            "D": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName.$": "$.f"}, "End": true},
            "R": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:r", "ResultPath": "$.r", "End": true}}}"#;
        let e = make_dynamic(
            &definition::parse(bad).unwrap(),
            "w",
            &Configurator::Lambda("c".into()),
        )
        .unwrap_err();
        let text: Vec<String> = e.iter().map(ToString::to_string).collect();
        let all = text.join("\n");
        for want in [
            "/States/M/ItemProcessor/States/B: only the first state",
            "/States/M: a Map with its own ItemSelector",
            "/States/D: its function is only known at run time",
            "/States/R: names its function by ARN and places its result with ResultPath",
        ] {
            assert!(all.contains(want), "missing {want:?} in\n{all}");
        }
        let jsonata = r#"{"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}"#;
        assert!(
            make_dynamic(
                &definition::parse(jsonata).unwrap(),
                "w",
                &Configurator::Lambda("c".into())
            )
            .is_err()
        );
    }
}
