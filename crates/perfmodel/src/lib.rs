//! Fitted performance models of serverless steps (StepConf, Sec. III-B): measured or simulated
//! [`Sample`]s, StepConf Eq. 1 (both cases) fitted per step by least squares with the mapping delay
//! `t_map(p)`, predictions of step duration and cost for any `(m, p, q)` ([`PerfModel`]), profiling in
//! the simulator ([`profile`]) and error reports on configurations the fit did not see.
//!
//! - [`sample`]: the samples CSV format; [`dot`]: the SLApp DOT graphs with AWS `perf_profile`s.
//! - [`fit`]: least-squares fitting, the per-segment choice of Eq. 1's case, our Amdahl-form extension,
//!   a saturation memory chosen by cross-validation, and cross-validated error reports.
//! - [`model`]: the fitted model and allocation-free predictions.
//! - [`profile`]: profiling runs in the simulator (`platform::exec::run_step`) and held-out evaluation.
//! - [`calibrate`]: a workflow whose steps run in the simulator with the mean durations a model
//!   predicts (`faastune compare --model-file`); [`PerfModel::for_workflow`] applies a saved model
//!   to a workflow by step and function names.
//! - [`source`]: the model a planner uses, fitted in the simulator or read from a file (one place for
//!   `faastune plan`, the decision service and the Lambda configurator); a [`PerfModel`] is an
//!   [`optimizer::StepPredictor`].
//!
//! Architecture invariant: fitting and profiling are deterministic (same samples or same seed, same
//! bytes); the crate never reads the wall clock and never iterates a hash map.
#![warn(missing_docs)]

pub mod calibrate;
pub mod dot;
mod error;
pub mod fit;
mod lm;
pub mod model;
pub mod profile;
pub mod sample;
pub mod source;

pub use error::Error;
pub use fit::{ErrorReport, FitOptions, ModelChoice};
pub use model::{
    DurationModel, Eq1, FanOutTail, Features, MappingDelay, PerfModel, PlatformFacts, StepModel,
};
pub use sample::Sample;
