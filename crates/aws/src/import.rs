//! `faastune aws import`: a state machine's definition through the API, converted by the ASL importer
//! (`workflow::import`), and each Task function's current memory, timeout and architecture read with
//! `GetFunctionConfiguration` and written into the workflow's description (and returned, for the
//! caller to print or save).

use workflow::WorkflowSpec;
use workflow::import::{Format, ImportOptions, import_str};

use crate::Error;
use crate::definition;
use crate::plan::FunctionNow;
use crate::session::Session;

/// An imported state machine.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The state machine's name.
    pub machine: String,
    /// The definition as the API returned it.
    pub definition: String,
    /// The workflow (passes `Workflow::from_spec`).
    pub spec: WorkflowSpec,
    /// Each Lambda function a Task names, in the order first named.
    pub functions: Vec<FunctionNow>,
}

/// Imports state machine `arn`. `opts.name` defaults to the state machine's name.
pub fn import_state_machine(
    s: &Session,
    arn: &str,
    opts: &ImportOptions,
) -> Result<Imported, Error> {
    let (machine, text) = s.describe_state_machine(arn)?;
    let def = definition::parse(&text).map_err(|e| Error::Definition {
        machine: arn.to_owned(),
        what: e.to_string(),
    })?;
    let inv = definition::inventory(&def).map_err(|e| Error::Definition {
        machine: arn.to_owned(),
        what: e.to_string(),
    })?;
    let mut opts = opts.clone();
    if opts.name.is_none() {
        opts.name = Some(machine.clone());
    }
    let mut spec = import_str(Format::Asl, &text, &format!("state machine {arn}"), &opts)?;
    let mut functions: Vec<FunctionNow> = Vec::new();
    for t in &inv.tasks {
        if functions.iter().any(|f| f.name == t.function.name) {
            continue;
        }
        functions.push(s.function_now(&t.function.name)?);
    }
    let mut note = format!("Imported from AWS state machine {arn} (faastune aws import).");
    for f in &functions {
        note.push_str(&format!(
            " Function {}: {} MB, timeout {} s, {}.",
            f.name, f.memory_mb, f.timeout_s, f.architecture
        ));
    }
    for (p, why) in &inv.dynamic {
        note.push_str(&format!(
            " Task {p}: {why}; its function is not known before the run."
        ));
    }
    spec.description = Some(match spec.description.take() {
        Some(d) => format!("{note}\n{d}"),
        None => note,
    });
    Ok(Imported {
        machine,
        definition: text,
        spec,
        functions,
    })
}
