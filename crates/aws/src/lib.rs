//! faastune on AWS Lambda and Step Functions, through the official AWS SDK for Rust.
//!
//! - [`session::Session`]: clients built from the standard AWS configuration (profiles, region,
//!   credentials chain, `AWS_ENDPOINT_URL`) or an explicit endpoint (a local API server such as moto).
//! - [`import`]: a state machine's definition through the API, converted by the ASL importer and
//!   enriched with each Task function's memory, timeout and architecture.
//! - [`profile`]: each function at each memory size (and worker count) invoked with `LogType=Tail`, its
//!   `REPORT` line parsed ([`report`]), cold and warm runs separated, sizes that time out or run out of
//!   memory skipped, and the samples CSV `faastune fit` reads.
//! - [`deploy`]: a plan as versions and aliases per configuration ([`naming`]), the definition's Tasks
//!   pointed at them and Map `MaxConcurrency` set ([`plan`], [`definition`]); without `apply`, the diff.
//!   A failed apply undoes what it did.
//! - [`dynamic`]: the dynamic state machine (StepConf Sec. V-B): a configurator Task before each function
//!   step, whose decision selects the alias and the Map's concurrency at run time.
//!
//! Nothing here changes a function's `$LATEST` for longer than it takes to publish a version: every
//! configuration change is made, published and reverted, so what runs today keeps running.

pub mod definition;
pub mod deploy;
pub mod dynamic;
pub mod import;
pub mod naming;
pub mod plan;
pub mod profile;
pub mod report;
pub mod session;

/// An error of the AWS adapter; every variant names the file, function, state machine or field.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to AWS failed (permissions, unknown resource, throttling, network); `action` is the API
    /// action (`lambda:GetFunctionConfiguration`) and `target` what it was called on.
    #[error("AWS {action} on {target} failed: {message}")]
    Api {
        /// API action.
        action: String,
        /// The resource.
        target: String,
        /// What the server (or the SDK) said.
        message: String,
    },
    /// A file could not be read or is malformed.
    #[error("{path}: {what}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        what: String,
    },
    /// The state machine's definition cannot be read.
    #[error("state machine {machine}: {what}")]
    Definition {
        /// The state machine.
        machine: String,
        /// What is wrong.
        what: String,
    },
    /// The plan does not fit the state machine; nothing was changed.
    #[error(
        "plan {plan} (workflow '{workflow}') does not fit state machine {machine}; nothing was changed:\n  - {}",
        problems.join("\n  - ")
    )]
    PlanMismatch {
        /// The plan file.
        plan: String,
        /// The plan's workflow.
        workflow: String,
        /// The state machine.
        machine: String,
        /// Every problem found.
        problems: Vec<String>,
    },
    /// A setting is invalid (names the flag or field).
    #[error("{0}")]
    Invalid(String),
    /// Importing the definition failed.
    #[error(transparent)]
    Import(#[from] workflow::Error),
    /// An apply failed and was rolled back (or could not be fully: `undo_failures` lists what is left).
    #[error(
        "{cause}\n{}",
        if undo_failures.is_empty() {
            "every change made before the failure was undone".to_owned()
        } else {
            format!("undoing the changes made before the failure left these behind:\n  - {}", undo_failures.join("\n  - "))
        }
    )]
    RolledBack {
        /// The failure.
        cause: Box<Error>,
        /// Undo steps that failed.
        undo_failures: Vec<String>,
    },
}
