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
    /// A saved model has no step model for some task steps of the workflow it is applied to.
    #[error(
        "{source_name}: no model for step(s) {} of workflow '{workflow}' (a step takes the model named like the step, else like its function); the model has: {}",
        quoted(.missing),
        quoted(.available)
    )]
    MissingSteps {
        /// The model's file name or label.
        source_name: String,
        /// The workflow's name.
        workflow: String,
        /// Task steps without a model, in step order.
        missing: Vec<String>,
        /// The names of the model's step models, in the model's order.
        available: Vec<String>,
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

/// `'a', 'b'` (or `none`).
fn quoted(names: &[String]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
