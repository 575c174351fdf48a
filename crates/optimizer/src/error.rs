//! The optimizer crate's error type.

/// Errors of the optimizer: bad SLOs, unknown policies, steps that no configuration can run, and
/// predictions that are not usable numbers. An SLO that cannot be met is not an error: the plan is
/// returned best effort with `feasible: false`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SLO is not a finite number > 0.
    #[error("invalid SLO {slo_s} s: must be a finite number > 0")]
    InvalidSlo {
        /// The SLO as given, seconds.
        slo_s: f64,
    },
    /// No policy has this name.
    #[error("unknown policy '{name}'; valid policies: {}", valid.join(", "))]
    UnknownPolicy {
        /// The name as given.
        name: String,
        /// Every valid name.
        valid: Vec<&'static str>,
    },
    /// No configuration of the configuration set can run the step on the platform.
    #[error(
        "step '{step}': no configuration in the configuration set can run it ({n_tried} tried; e.g. {example})"
    )]
    NoFeasibleConfig {
        /// The step's name.
        step: String,
        /// Configurations tried.
        n_tried: usize,
        /// Why the first one was rejected.
        example: String,
    },
    /// The predictor returned a duration or cost that is negative, NaN or infinite.
    #[error("step '{step}': predictor gave an unusable {what} {value} for {config}")]
    BadPrediction {
        /// The step's name.
        step: String,
        /// The configuration.
        config: String,
        /// `duration_s` or `cost_usd`.
        what: &'static str,
        /// The value returned.
        value: f64,
    },
    /// A configuration set is empty or has a zero entry.
    #[error("invalid configuration set: {reason}")]
    InvalidConfigSpace {
        /// What is wrong.
        reason: String,
    },
    /// A policy state handed to [`crate::ServicePolicy`] does not fit the policy or the workflow.
    #[error("policy {policy}: state does not fit: {message}")]
    InvalidPolicyState {
        /// The policy's name.
        policy: String,
        /// What does not fit.
        message: String,
    },
}
