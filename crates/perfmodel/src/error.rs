//! The perfmodel crate's error type: one enum, every variant with the place it refers to.

/// Errors of sample readers, profiling and fitting. Bad user input (a malformed file, a missing column,
/// NaN, too few samples) is an error with its place, never a panic.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path as given.
        path: String,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A line of a samples CSV file is malformed.
    #[error("{source_name}:{line}: {message}")]
    Csv {
        /// File name or label.
        source_name: String,
        /// 1-based line number (the header is line 1).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A DOT graph is malformed or a `perf_profile` attribute cannot be read.
    #[error("{source_name}:{line}: {message}")]
    Dot {
        /// File name or label.
        source_name: String,
        /// 1-based line number where the problem starts.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A function has too few usable samples to fit the model.
    #[error("function '{function}': {message}")]
    NotEnoughSamples {
        /// The function (or step) name.
        function: String,
        /// What is missing.
        message: String,
    },
    /// A saved model file is not valid JSON of the expected shape.
    #[error("{source_name}: invalid model: {message}")]
    Model {
        /// File name or label.
        source_name: String,
        /// What the parser said.
        message: String,
    },
    /// The workflow and the model disagree, or profiling options are out of range.
    #[error("{place}: {message}")]
    Invalid {
        /// Where (a step, an option).
        place: String,
        /// Why.
        message: String,
    },
    /// The platform rejected something (e.g. an infeasible profiling configuration).
    #[error(transparent)]
    Platform(#[from] platform::Error),
}
