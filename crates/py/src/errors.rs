//! `faastune.FaastuneError` (a `ValueError`): every library error raised in Python, with its place.
//!
//! The exception's attributes: `kind` (`workflow`, `platform`, `config`, `option`, `optimizer`,
//! `model`, `environment`), `file`, `line`, `column` (each `None` when unknown), `place` (where: the
//! first problem's place, else `file:line`, else the option's name) and `problems` (a list of
//! `{"place": ..., "message": ...}`, every problem a validation found).

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

create_exception!(
    faastune,
    FaastuneError,
    PyValueError,
    "A faastune input or option is invalid; `place`, `file`, `line`, `column` and `problems` say where."
);

/// Where an error is: what a `FaastuneError` carries besides its message.
#[derive(Debug, Default, Clone)]
pub struct Place {
    /// The file (or other source label).
    pub file: Option<String>,
    /// 1-based line.
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
    /// Every problem: (place, message).
    pub problems: Vec<(String, String)>,
    /// The place when no problem names one (an option's name).
    pub place: Option<String>,
}

/// A `FaastuneError` of `kind` with `message` and `place`.
pub fn raise(kind: &str, message: String, place: Place) -> PyErr {
    Python::attach(|py| {
        let err = FaastuneError::new_err(message);
        let value = err.value(py);
        let set = || -> PyResult<()> {
            let where_ = place
                .problems
                .first()
                .map(|(p, _)| p.clone())
                .or_else(|| place.place.clone())
                .or_else(|| match (&place.file, place.line) {
                    (Some(f), Some(l)) => Some(format!("{f}:{l}")),
                    (Some(f), None) => Some(f.clone()),
                    _ => None,
                });
            value.setattr("kind", kind)?;
            value.setattr("file", place.file.clone())?;
            value.setattr("line", place.line)?;
            value.setattr("column", place.column)?;
            value.setattr("place", where_)?;
            let problems = place
                .problems
                .iter()
                .map(|(p, m)| {
                    let d = PyDict::new(py);
                    d.set_item("place", p)?;
                    d.set_item("message", m)?;
                    Ok(d)
                })
                .collect::<PyResult<Vec<_>>>()?;
            value.setattr("problems", problems)?;
            Ok(())
        };
        match set() {
            Ok(()) => err,
            Err(e) => e,
        }
    })
}

/// A workflow error: parse errors with file, line and column; validation with every problem.
pub fn workflow(e: workflow::Error) -> PyErr {
    let message = e.to_string();
    let place = match &e {
        workflow::Error::Io { path, .. } => Place {
            file: Some(path.clone()),
            ..Place::default()
        },
        workflow::Error::Parse {
            source_name,
            line,
            column,
            ..
        } => Place {
            file: Some(source_name.clone()),
            line: *line,
            column: *column,
            ..Place::default()
        },
        workflow::Error::Invalid {
            source_name,
            problems,
            ..
        } => Place {
            file: Some(source_name.clone()),
            problems: problems
                .iter()
                .map(|p| (p.place.clone(), p.kind.to_string()))
                .collect(),
            ..Place::default()
        },
    };
    raise("workflow", message, place)
}

/// A platform error: profiles, configs, infeasible configurations and simulation options.
pub fn platform(e: platform::Error) -> PyErr {
    let message = e.to_string();
    let lines = |ps: &[String]| -> Vec<(String, String)> {
        ps.iter()
            .map(|p| match p.split_once(": ") {
                Some((place, msg)) => (place.to_owned(), msg.to_owned()),
                None => (String::new(), p.clone()),
            })
            .collect()
    };
    let (kind, place) = match &e {
        platform::Error::Io { path, .. } => (
            "platform",
            Place {
                file: Some(path.clone()),
                ..Place::default()
            },
        ),
        platform::Error::Parse {
            source_name, line, ..
        } => (
            "platform",
            Place {
                file: Some(source_name.clone()),
                line: *line,
                ..Place::default()
            },
        ),
        platform::Error::InvalidProfile {
            source_name,
            problems,
        } => (
            "platform",
            Place {
                file: Some(source_name.clone()),
                problems: lines(problems),
                ..Place::default()
            },
        ),
        platform::Error::InfeasibleConfig { step, reason, .. } => (
            "config",
            Place {
                problems: vec![(format!("step '{step}'"), reason.clone())],
                ..Place::default()
            },
        ),
        platform::Error::ConfigMismatch {
            source_name,
            problems,
            ..
        } => (
            "config",
            Place {
                file: Some(source_name.clone()),
                problems: lines(problems),
                ..Place::default()
            },
        ),
        platform::Error::InvalidOption { field, .. } => (
            "option",
            Place {
                place: Some(field.clone()),
                ..Place::default()
            },
        ),
    };
    raise(kind, message, place)
}

/// An error of an option the Python call gave (`name` is the argument).
pub fn option(name: &str, message: impl std::fmt::Display) -> PyErr {
    raise(
        "option",
        format!("{name}: {message}"),
        Place {
            place: Some(name.to_owned()),
            ..Place::default()
        },
    )
}

/// An error of another library crate, placed at `place` (e.g. the argument that led to it).
pub fn other(kind: &str, place: &str, e: impl std::fmt::Display) -> PyErr {
    raise(
        kind,
        format!("{place}: {e}"),
        Place {
            place: Some(place.to_owned()),
            ..Place::default()
        },
    )
}
