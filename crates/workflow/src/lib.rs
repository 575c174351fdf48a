//! Workflow DAGs of serverless steps: the native file format ([`WorkflowSpec`]), validation into a
//! [`Workflow`] (every problem reported at once, with its place), topological order and critical path,
//! and importers from other formats ([`import`]).
//!
//! For workflows under load, a task step may say how many of its instances run at once
//! ([`Step::max_concurrency`], ASL Map MaxConcurrency) and what the platform does when an invocation is
//! throttled ([`Step::retry`], a [`RetryPolicy`] with AWS Step Functions' Retrier fields and defaults,
//! given per step or as the workflow's default `retry:`; without one a throttle fails the step at once).
//!
//! Architecture invariant: this crate is a leaf; it knows nothing of platforms, prices or simulation.
#![warn(missing_docs)]

mod dag;
mod error;
pub mod import;
pub mod limits;
mod retry;
mod spec;

pub use dag::{Batch, Step, StepId, StepKind, Workflow};
pub use error::{Error, Problem, ProblemKind};
pub use retry::{Jitter, RetryPolicy};
pub use spec::{BatchSpec, ChoiceSpec, RetrySpec, StepSpec, WorkflowSpec};
