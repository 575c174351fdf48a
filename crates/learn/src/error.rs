//! The crate's one error type: every failure names its place (node, edge, feature, config field).

/// Errors of the `learn` crate.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// The graph failed validation; every problem found is listed, each naming its place.
    #[error("invalid graph ({} problem(s)): {}", problems.len(), problems.join("; "))]
    InvalidGraph {
        /// One line per problem, e.g. `edge 17: dst 12 out of range (n_nodes 10)`.
        problems: Vec<String>,
    },
    /// An encoder configuration value is out of its documented range.
    #[error("invalid encoder config: {field}: {reason}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// An input does not have the shape the model expects.
    #[error("shape mismatch in {what}: expected {expected}, got {got}")]
    ShapeMismatch {
        /// What was checked (e.g. `node_features`, `targets`).
        what: &'static str,
        /// The expected length or dimension.
        expected: usize,
        /// The length or dimension received.
        got: usize,
    },
    /// A numeric input (features, targets, weights) is NaN or infinite.
    #[error("non-finite value in {what} at index {index}: {value}")]
    NonFinite {
        /// The input holding the value.
        what: &'static str,
        /// Flat index of the first non-finite value.
        index: usize,
        /// The value itself.
        value: f32,
    },
    /// The allocation environment failed (building it or stepping it).
    #[error("environment: {context}")]
    Env {
        /// What was being done, and the environment's message.
        context: String,
    },
    /// A checkpoint could not be written or read, or does not fit the model it is loaded into.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The ML framework failed to hand back tensor data.
    #[error("tensor backend: {context}")]
    Backend {
        /// What was being done, and the framework's message.
        context: String,
    },
}

/// Result with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
