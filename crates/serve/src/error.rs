//! The service's error type: every failure a request can meet, with its HTTP status and the `kind`
//! that the JSON body and the `faastune_serve_errors_total` metric carry.

/// An error answered to a client, or met while loading the served workflows.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed: bad JSON, a bad number, a bad id (HTTP 400).
    #[error("{0}")]
    BadRequest(String),
    /// No such workflow, step, execution or route (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// The request does not fit the execution's state: a step decided or finished twice, a finish
    /// before the decision, another version of the workflow (HTTP 409). Nothing was changed.
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than the service accepts (HTTP 413).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The route exists, the method does not (HTTP 405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The service requires an API key and the request has none or another (HTTP 401).
    #[error("{0}")]
    Unauthorized(String),
    /// The state store failed or is unreachable (HTTP 503); the request may be retried.
    #[error("state store: {0}")]
    Store(String),
    /// Other replicas kept changing the execution; the request may be retried (HTTP 503).
    #[error("{0}")]
    Contention(String),
    /// The served workflows' configuration could not be loaded (startup or reload; HTTP 400 for a
    /// reload request). The previous configuration keeps serving.
    #[error("{0}")]
    Config(String),
    /// A bug: a panic caught by the backstop layer, or stored state this version cannot read (HTTP
    /// 500).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_) | Error::Config(_) => 400,
            Error::Unauthorized(_) => 401,
            Error::NotFound(_) => 404,
            Error::MethodNotAllowed(_) => 405,
            Error::Conflict(_) => 409,
            Error::PayloadTooLarge(_) => 413,
            Error::Internal(_) => 500,
            Error::Store(_) | Error::Contention(_) => 503,
        }
    }

    /// The kind, as in the JSON body and the errors metric.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::PayloadTooLarge(_) => "payload_too_large",
            Error::MethodNotAllowed(_) => "method_not_allowed",
            Error::Unauthorized(_) => "unauthorized",
            Error::Store(_) => "store",
            Error::Contention(_) => "contention",
            Error::Config(_) => "config",
            Error::Internal(_) => "internal",
        }
    }
}

/// Every error kind, in the order the metric lists them.
pub const ERROR_KINDS: [&str; 10] = [
    "bad_request",
    "not_found",
    "conflict",
    "payload_too_large",
    "method_not_allowed",
    "unauthorized",
    "store",
    "contention",
    "config",
    "internal",
];

impl From<redis::RedisError> for Error {
    fn from(e: redis::RedisError) -> Self {
        Error::Store(e.to_string())
    }
}
