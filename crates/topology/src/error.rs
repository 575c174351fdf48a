//! The topology crate's one error type.

/// What can go wrong when transforming, evaluating or searching topologies.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A transform does not apply to this workflow; `place` names the step or edge and `reason` why.
    #[error("{transform}: {place}: {reason}")]
    NotApplicable {
        /// The transform as written (`fuse(a,b)`).
        transform: String,
        /// The step or edge concerned.
        place: String,
        /// Why it does not apply.
        reason: String,
    },
    /// A transform written as text could not be parsed.
    #[error("bad transform '{text}': {reason}")]
    Parse {
        /// The text given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A transformed workflow failed validation (a bug in a transform: reported, never hidden).
    #[error("transform {transform} produced an invalid workflow")]
    Invalid {
        /// The transform.
        transform: String,
        /// The validation error.
        #[source]
        source: workflow::Error,
    },
    /// The platform model refused a run.
    #[error(transparent)]
    Platform(#[from] platform::Error),
    /// The optimizer could not plan.
    #[error(transparent)]
    Optimizer(#[from] optimizer::Error),
    /// Profiling or fitting failed.
    #[error(transparent)]
    Perfmodel(#[from] perfmodel::Error),
    /// A bad setting (field and reason).
    #[error("{field}: {reason}")]
    Setting {
        /// The setting.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The learned scorer failed (loading, shapes).
    #[cfg(feature = "gnn")]
    #[error(transparent)]
    Learn(#[from] learn::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
