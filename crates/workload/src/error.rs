//! The crate's one error type: every variant names the place (file and line, or parameter).

use std::path::PathBuf;

/// What can go wrong reading traces or building workloads.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A line of a trace file is malformed.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A function appears in one file of a trace but not in another it needs.
    #[error("{path}: no row for function {function} (needed by {needed_by})")]
    MissingFunction {
        /// The file that lacks the row.
        path: PathBuf,
        /// The function's hash.
        function: String,
        /// The file that names the function.
        needed_by: PathBuf,
    },
    /// A trace directory holds no file in a known format.
    #[error("{path}: {message}")]
    UnknownFormat {
        /// The directory or file.
        path: PathBuf,
        /// What was looked for.
        message: String,
    },
    /// A generator parameter is out of range.
    #[error("parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// Its value, as written.
        value: String,
        /// Why it is rejected.
        reason: &'static str,
    },
}

impl Error {
    pub(crate) fn param(name: &'static str, value: impl ToString, reason: &'static str) -> Self {
        Error::InvalidParameter {
            name,
            value: value.to_string(),
            reason,
        }
    }
}
