//! Reading and rewriting a Step Functions definition (Amazon States Language) in place: which Task
//! states call which Lambda function, which Map states enclose them, and the rewrite a plan asks for
//! (each Task pointed at an alias, each Map's `MaxConcurrency`). Everything else in the definition is
//! kept as it is (object keys come out sorted: JSON objects are unordered, and Step Functions reads them
//! so). States are listed in name order within each `States` object.
//!
//! A Task calls a Lambda function either directly (`"Resource": "arn:aws:lambda:...:function:NAME"`) or
//! through the optimised integration (`"Resource": "arn:aws:states:::lambda:invoke"` with
//! `Parameters.FunctionName`, or `Arguments.FunctionName` in JSONata). A `FunctionName.$` path or a
//! JSONata expression is only known at run time: such a Task is reported and left alone.

use serde_json::Value;

use crate::naming::FunctionRef;

/// Where a Task names its function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionField {
    /// `Resource` is the function's ARN.
    Resource,
    /// `Parameters.FunctionName` (JSONPath) of the `lambda:invoke` integration.
    ParametersFunctionName,
    /// `Arguments.FunctionName` (JSONata) of the `lambda:invoke` integration.
    ArgumentsFunctionName,
}

impl FunctionField {
    /// The field's name in the definition.
    pub fn as_str(&self) -> &'static str {
        match self {
            FunctionField::Resource => "Resource",
            FunctionField::ParametersFunctionName => "Parameters.FunctionName",
            FunctionField::ArgumentsFunctionName => "Arguments.FunctionName",
        }
    }
}

/// A Task state that invokes a Lambda function.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskState {
    /// The state's name.
    pub name: String,
    /// The enclosing states' names, outermost first (Parallel and Map states).
    pub parents: Vec<String>,
    /// JSON pointer to the state object.
    pub pointer: String,
    /// The function reference as written.
    pub function: FunctionRef,
    /// Which field names it.
    pub field: FunctionField,
    /// JSON pointer to the innermost enclosing Map state, if any.
    pub map: Option<String>,
}

impl TaskState {
    /// The names a workflow imported from this definition may give the state: its own name, then the
    /// importer's prefixed forms for names used more than once (`Parent/Name`).
    pub fn candidate_names(&self) -> Vec<String> {
        let mut names = vec![self.name.clone()];
        for i in (0..self.parents.len()).rev() {
            names.push(format!("{}/{}", self.parents[i..].join("/"), self.name));
        }
        names
    }
}

/// A Map state.
#[derive(Debug, Clone, PartialEq)]
pub struct MapState {
    /// The state's name.
    pub name: String,
    /// JSON pointer to the state object.
    pub pointer: String,
    /// `MaxConcurrency` as written (0 or absent: unlimited).
    pub max_concurrency: Option<u64>,
}

/// What a definition holds that faastune configures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inventory {
    /// Task states with a Lambda function known before the run, in document order.
    pub tasks: Vec<TaskState>,
    /// Map states, in document order.
    pub maps: Vec<MapState>,
    /// Task states whose function is only known at run time (pointer, why).
    pub dynamic: Vec<(String, String)>,
}

/// A definition that is not a state machine faastune can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {what}")]
pub struct DefinitionError {
    /// Where (a JSON pointer, or `definition`).
    pub place: String,
    /// What is wrong.
    pub what: String,
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Parses the definition text.
pub fn parse(text: &str) -> Result<Value, DefinitionError> {
    serde_json::from_str(text).map_err(|e| DefinitionError {
        place: "definition".into(),
        what: format!("not JSON: {e}"),
    })
}

/// Lists the Task and Map states of a definition.
pub fn inventory(def: &Value) -> Result<Inventory, DefinitionError> {
    let mut inv = Inventory::default();
    walk(def, "", &[], None, &mut inv)?;
    Ok(inv)
}

fn walk(
    machine: &Value,
    pointer: &str,
    parents: &[String],
    map: Option<&str>,
    inv: &mut Inventory,
) -> Result<(), DefinitionError> {
    let states = machine
        .get("States")
        .and_then(Value::as_object)
        .ok_or_else(|| DefinitionError {
            place: if pointer.is_empty() {
                "definition".into()
            } else {
                pointer.to_owned()
            },
            what: "no 'States' object".into(),
        })?;
    for (name, state) in states {
        let here = format!("{pointer}/States/{}", escape(name));
        let ty = state.get("Type").and_then(Value::as_str).unwrap_or("");
        let mut inner: Vec<String> = parents.to_vec();
        inner.push(name.clone());
        match ty {
            "Task" => task(name, state, &here, parents, map, inv),
            "Parallel" => {
                let branches =
                    state
                        .get("Branches")
                        .and_then(Value::as_array)
                        .ok_or_else(|| DefinitionError {
                            place: here.clone(),
                            what: "Parallel state without a 'Branches' array".into(),
                        })?;
                for (i, b) in branches.iter().enumerate() {
                    walk(b, &format!("{here}/Branches/{i}"), &inner, map, inv)?;
                }
            }
            "Map" => {
                let key = ["ItemProcessor", "Iterator"]
                    .into_iter()
                    .find(|k| state.get(*k).is_some())
                    .ok_or_else(|| DefinitionError {
                        place: here.clone(),
                        what: "Map state without 'ItemProcessor' or 'Iterator'".into(),
                    })?;
                inv.maps.push(MapState {
                    name: name.clone(),
                    pointer: here.clone(),
                    max_concurrency: state.get("MaxConcurrency").and_then(Value::as_u64),
                });
                walk(
                    &state[key],
                    &format!("{here}/{key}"),
                    &inner,
                    Some(&here),
                    inv,
                )?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn task(
    name: &str,
    state: &Value,
    pointer: &str,
    parents: &[String],
    map: Option<&str>,
    inv: &mut Inventory,
) {
    let resource = state.get("Resource").and_then(Value::as_str).unwrap_or("");
    let found = if resource.starts_with("arn:aws:states:::lambda:invoke") {
        let (field, holder) = if state.get("Arguments").is_some() {
            (FunctionField::ArgumentsFunctionName, "Arguments")
        } else {
            (FunctionField::ParametersFunctionName, "Parameters")
        };
        let params = state.get(holder);
        match params
            .and_then(|p| p.get("FunctionName"))
            .and_then(Value::as_str)
        {
            Some(f) if f.starts_with("{%") => {
                Err("FunctionName is a JSONata expression".to_owned())
            }
            Some(f) => FunctionRef::parse(f)
                .map(|r| (r, field))
                .ok_or_else(|| format!("FunctionName {f:?} is not a Lambda function reference")),
            None if params.and_then(|p| p.get("FunctionName.$")).is_some() => {
                Err("FunctionName.$ is a path evaluated at run time".to_owned())
            }
            None => Err(format!("{holder}.FunctionName is missing")),
        }
    } else if resource.contains(":lambda:") && resource.contains(":function:") {
        FunctionRef::parse(resource)
            .map(|r| (r, FunctionField::Resource))
            .ok_or_else(|| format!("Resource {resource:?} is not a Lambda function ARN"))
    } else {
        return; // Another service's Task (SNS, DynamoDB, ...): not ours to configure.
    };
    match found {
        Ok((function, field)) => inv.tasks.push(TaskState {
            name: name.to_owned(),
            parents: parents.to_vec(),
            pointer: pointer.to_owned(),
            function,
            field,
            map: map.map(str::to_owned),
        }),
        Err(why) => inv.dynamic.push((pointer.to_owned(), why)),
    }
}

/// Points a Task at `qualifier` (an alias), in `def`.
pub fn set_task_qualifier(def: &mut Value, task: &TaskState, qualifier: &str) {
    let new = task.function.with_qualifier(qualifier);
    let state = def
        .pointer_mut(&task.pointer)
        .expect("task pointers come from this definition");
    match task.field {
        FunctionField::Resource => state["Resource"] = Value::String(new),
        FunctionField::ParametersFunctionName => {
            state["Parameters"]["FunctionName"] = Value::String(new)
        }
        FunctionField::ArgumentsFunctionName => {
            state["Arguments"]["FunctionName"] = Value::String(new)
        }
    }
}

/// Sets a Map state's `MaxConcurrency`.
pub fn set_map_concurrency(def: &mut Value, map: &MapState, max_concurrency: u64) {
    def.pointer_mut(&map.pointer)
        .expect("map pointers come from this definition")["MaxConcurrency"] =
        Value::from(max_concurrency);
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEF: &str = r#"{
      "StartAt": "Split",
      "States": {
        "Split": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:split", "Next": "Each" },
        "Each": { "Type": "Map", "MaxConcurrency": 4, "Next": "Both",
          "ItemProcessor": { "StartAt": "Work", "States": {
            "Work": { "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                      "Parameters": { "FunctionName": "work:$LATEST", "Payload.$": "$" }, "End": true } } } },
        "Both": { "Type": "Parallel", "Next": "Dyn", "Branches": [
          { "StartAt": "Notify", "States": { "Notify": { "Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": true } } },
          { "StartAt": "Work", "States": { "Work": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:merge", "End": true } } } ] },
        "Dyn": { "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": { "FunctionName.$": "$.fn" }, "End": true }
      }
    }"#;

    #[test]
    fn inventory_finds_tasks_maps_and_dynamic_ones() {
        let def = parse(DEF).unwrap();
        let inv = inventory(&def).unwrap();
        let names: Vec<_> = inv
            .tasks
            .iter()
            .map(|t| (t.name.as_str(), t.function.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [("Work", "merge"), ("Work", "work"), ("Split", "split")]
        );
        assert_eq!(inv.tasks[1].map.as_deref(), Some("/States/Each"));
        assert_eq!(inv.tasks[1].field, FunctionField::ParametersFunctionName);
        assert_eq!(inv.tasks[0].candidate_names(), ["Work", "Both/Work"]);
        assert_eq!(inv.maps[0].max_concurrency, Some(4));
        assert_eq!(inv.dynamic.len(), 1);
        assert!(inv.dynamic[0].1.contains("run time"));
    }

    #[test]
    fn rewrite_touches_only_the_configured_fields() {
        let mut def = parse(DEF).unwrap();
        let inv = inventory(&def).unwrap();
        set_task_qualifier(&mut def, &inv.tasks[2], "faastune-512mb-w1");
        set_task_qualifier(&mut def, &inv.tasks[1], "faastune-2048mb-w2");
        set_map_concurrency(&mut def, &inv.maps[0], 16);
        assert_eq!(
            def["States"]["Split"]["Resource"],
            "arn:aws:lambda:us-east-1:123456789012:function:split:faastune-512mb-w1"
        );
        let work = &def["States"]["Each"]["ItemProcessor"]["States"]["Work"];
        assert_eq!(
            work["Parameters"]["FunctionName"],
            "work:faastune-2048mb-w2"
        );
        assert_eq!(work["Parameters"]["Payload.$"], "$");
        assert_eq!(def["States"]["Each"]["MaxConcurrency"], 16);
        // Everything else unchanged.
        let mut back = def.clone();
        set_task_qualifier(&mut back, &inv.tasks[2], "x");
        assert_eq!(
            back["States"]["Both"],
            parse(DEF).unwrap()["States"]["Both"]
        );
    }

    #[test]
    fn bad_definitions_name_the_place() {
        let e = inventory(&parse(r#"{"StartAt": "A"}"#).unwrap()).unwrap_err();
        assert_eq!(e.to_string(), "definition: no 'States' object");
        let e = inventory(&parse(r#"{"States": {"M": {"Type": "Map"}}}"#).unwrap()).unwrap_err();
        assert!(
            e.to_string().starts_with("/States/M: Map state without"),
            "{e}"
        );
        assert!(parse("{").unwrap_err().to_string().contains("not JSON"));
    }
}
