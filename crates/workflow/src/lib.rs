//! Workflow DAGs of serverless steps: the native file format ([`WorkflowSpec`]), validation into a
//! [`Workflow`] (every problem reported at once, with its place), topological order and critical path,
//! and importers from other formats ([`import`]).
//!
//! Architecture invariant: this crate is a leaf; it knows nothing of platforms, prices or simulation.
#![warn(missing_docs)]

mod dag;
mod error;
pub mod import;
pub mod limits;
mod spec;

pub use dag::{Step, StepId, StepKind, Workflow};
pub use error::{Error, Problem, ProblemKind};
pub use spec::{ChoiceSpec, StepSpec, WorkflowSpec};
