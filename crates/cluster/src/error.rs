//! The crate's one error type.

/// What can go wrong building or stepping an environment.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is out of range.
    #[error("setting {name} = {value}: {reason}")]
    InvalidSetting {
        /// The setting's name.
        name: &'static str,
        /// Its value, as written.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
    /// The invocation stream is not sorted by arrival.
    #[error(
        "invocation {id} arrives at {arrival} before the previous one at {previous}: the stream must be sorted"
    )]
    UnsortedStream {
        /// The invocation's id.
        id: u64,
        /// Its arrival.
        arrival: des::SimTime,
        /// The previous arrival.
        previous: des::SimTime,
    },
    /// An invocation names a function the environment does not know.
    #[error(
        "invocation {id} names function {function_idx}, but only {n_functions} functions are configured"
    )]
    UnknownFunction {
        /// The invocation's id.
        id: u64,
        /// The function index it names.
        function_idx: u32,
        /// How many functions there are.
        n_functions: usize,
    },
    /// A function does not fit on any machine, so its invocations could never run.
    #[error("function {function} needs {demand} but no machine is that large")]
    FunctionTooLarge {
        /// The function's name.
        function: String,
        /// Its demand, formatted.
        demand: String,
    },
    /// A workload error (trace or generator).
    #[error(transparent)]
    Workload(#[from] workload::Error),
}

impl Error {
    pub(crate) fn setting(name: &'static str, value: impl ToString, reason: impl ToString) -> Self {
        Error::InvalidSetting {
            name,
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }
}
