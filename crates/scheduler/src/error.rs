//! The crate's one error type.

/// What can go wrong choosing a policy.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A policy name that is not known.
    #[error("unknown {kind} policy {name:?}; expected one of {expected}")]
    UnknownPolicy {
        /// `allocation` or `keep-alive`.
        kind: &'static str,
        /// The name given.
        name: String,
        /// The known names.
        expected: String,
    },
    /// A parameter out of range.
    #[error("parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// Its name.
        name: &'static str,
        /// Its value.
        value: String,
        /// Why.
        reason: &'static str,
    },
}
