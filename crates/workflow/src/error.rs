//! The crate's error type. Validation collects every [`Problem`] with its place before failing.

use std::fmt;

/// Everything that can go wrong reading, importing or validating a workflow.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path as given.
        path: String,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid YAML/JSON of the expected shape.
    #[error("{source_name}{}: {message}", fmt_line(*line, *column))]
    Parse {
        /// File name or other label of the input.
        source_name: String,
        /// 1-based line of the problem, when known.
        line: Option<usize>,
        /// 1-based column of the problem, when known.
        column: Option<usize>,
        /// What the parser said.
        message: String,
    },
    /// The workflow parsed but is not valid; every problem found is listed.
    #[error("{source_name}: workflow '{workflow}' has {} problem(s):\n{}", problems.len(), ProblemList(problems))]
    Invalid {
        /// File name or other label of the input.
        source_name: String,
        /// The workflow's name.
        workflow: String,
        /// All problems, in file order.
        problems: Vec<Problem>,
    },
}

fn fmt_line(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl Error {
    /// The validation problems, if this is an [`Error::Invalid`].
    pub fn problems(&self) -> &[Problem] {
        match self {
            Error::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

/// One validation problem and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Where: e.g. `step 'encode' (steps[4])`, or `state 'Map1'` for imports.
    pub place: String,
    /// What.
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.kind)
    }
}

/// The kinds of validation problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProblemKind {
    /// The dependencies form a cycle; `path` starts and ends at the same step.
    #[error("dependency cycle: {}", path.join(" -> "))]
    Cycle {
        /// Step names along the cycle, first repeated at the end.
        path: Vec<String>,
    },
    /// A reference to a step that does not exist.
    #[error("{field}: unknown step '{name}'")]
    UnknownStep {
        /// The field holding the reference.
        field: String,
        /// The name referenced.
        name: String,
    },
    /// Two steps share a name.
    #[error("duplicate step name '{name}' (first at steps[{first_idx}])")]
    DuplicateStep {
        /// The repeated name.
        name: String,
        /// Index of the first step with that name.
        first_idx: usize,
    },
    /// A required field is absent.
    #[error("missing field '{field}'")]
    MissingField {
        /// The field's name.
        field: String,
    },
    /// A number is negative, NaN, infinite or out of range.
    #[error("{field} = {value}: {expected}")]
    BadNumber {
        /// The field's name.
        field: String,
        /// The offending value, as text.
        value: String,
        /// What was expected (e.g. "must be a finite number >= 0").
        expected: String,
    },
    /// A state type the importer does not support.
    #[error("unsupported state type '{state_type}'")]
    UnsupportedState {
        /// The type as written.
        state_type: String,
    },
    /// Any other structural problem, explained.
    #[error("{0}")]
    Other(String),
}
