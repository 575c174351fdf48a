//! The platform crate's error type.

/// Errors of profiles, configurations and simulations. An SLO miss, a cold start or a failed request is
/// a metric in the report, never an error.
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
    /// A profile or config file is not valid YAML/JSON of the expected shape.
    #[error("{source_name}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        /// File name or label.
        source_name: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What the parser said.
        message: String,
    },
    /// A platform profile field is out of range; all problems are listed.
    #[error("{source_name}: invalid platform profile:\n{}", problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    InvalidProfile {
        /// File name or label.
        source_name: String,
        /// One line per problem, naming the field.
        problems: Vec<String>,
    },
    /// A step's configuration cannot run on this platform (memory not offered, workers do not fit in
    /// memory, fan-out out of range).
    #[error("step '{step}': infeasible configuration {config}: {reason}")]
    InfeasibleConfig {
        /// The step's name.
        step: String,
        /// The configuration, as `memory_mb/fan_out/workers`.
        config: String,
        /// Why it cannot run.
        reason: String,
    },
    /// A static config file does not match the workflow; all problems are listed.
    #[error("{source_name}: config does not match workflow '{workflow}':\n{}", problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    ConfigMismatch {
        /// File name or label.
        source_name: String,
        /// The workflow's name.
        workflow: String,
        /// One line per problem, naming the step.
        problems: Vec<String>,
    },
    /// Simulation options out of range.
    #[error("invalid simulation option {field}: {reason}")]
    InvalidOption {
        /// The option.
        field: String,
        /// Why.
        reason: String,
    },
}

pub(crate) fn parse_yaml_or_json<T: serde::de::DeserializeOwned>(
    text: &str,
    source_name: &str,
) -> Result<T, Error> {
    let text = des::text::strip_bom(text);
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| Error::Parse {
            source_name: source_name.to_owned(),
            line: Some(e.line()),
            message: e.to_string(),
        })
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| Error::Parse {
            source_name: source_name.to_owned(),
            line: e.location().map(|l| l.line()),
            message: e.to_string(),
        })
    }
}

/// Reads a profile or config file through [`des::text::read_text`]: a UTF-8 byte-order mark is dropped
/// and invalid UTF-8 names its byte offset and line.
pub(crate) fn read_file(path: &std::path::Path) -> Result<String, Error> {
    des::text::read_text(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}
