//! Documented upper bounds on every number of a workflow, checked by [`crate::Workflow::from_spec`].
//!
//! The bounds keep every derived quantity finite and inside the simulator's integer time: the longest
//! step, `MAX_JOBS x (MAX_WORK_S + MAX_WAIT_S)` seconds, is 2 x 10^12 s = 2 x 10^18 us, below
//! `u64::MAX` microseconds (1.8 x 10^19). A number above its bound is a [`crate::ProblemKind::BadNumber`]
//! with its place, never an overflow, an `inf` or a panic downstream.
//!
//! Retries (a step's `retry`) are bounded the same way: every wait before a retry is at most
//! [`MAX_RETRY_DELAY_S`] (see [`crate::RetryPolicy::backoff_s`]), so the waits of all retries of one
//! invocation, at most `MAX_RETRY_ATTEMPTS x MAX_RETRY_DELAY_S` = 8.64 x 10^12 s = 8.64 x 10^18 us, also
//! stay below `u64::MAX` microseconds. A retrier's `backoff_rate` needs no upper bound (any finite rate
//! >= [`MIN_RETRY_BACKOFF_RATE`] is safe because the wait is capped).

/// Most jobs one step may run: 1,000,000.
pub const MAX_JOBS: u32 = 1_000_000;
/// Most single-core CPU seconds per job: 10^6 s (about 11.6 days).
pub const MAX_WORK_S: f64 = 1e6;
/// Longest fixed delay of a step: 10^6 s.
pub const MAX_WAIT_S: f64 = 1e6;
/// Longest mean cold start: 3,600 s.
pub const MAX_COLD_START_S: f64 = 3600.0;
/// Most data read or written per job: 10^7 MB (10 TB).
pub const MAX_DATA_MB: f64 = 1e7;
/// Most memory per worker: 1,048,576 MB (1 TB).
pub const MAX_MEMORY_MB_PER_WORKER: u32 = 1 << 20;
/// Largest fan-out bound: [`MAX_JOBS`] (a larger bound than jobs can never bind).
pub const MAX_FAN_OUT: u32 = MAX_JOBS;
/// Longest end-to-end SLO: 10^8 s (about 3.2 years).
pub const MAX_SLO_S: f64 = 1e8;
/// Most steps in one workflow: 10,000,000.
pub const MAX_STEPS: usize = 10_000_000;
/// Most instances of one step that run at once (`max_concurrency`): [`MAX_JOBS`] (a larger bound than
/// jobs can never bind).
pub const MAX_CONCURRENCY: u32 = MAX_JOBS;
/// Longest wait before one retry: 86,400 s (one day). It bounds a retrier's `interval_s` and
/// `max_delay_s`, and [`crate::RetryPolicy::backoff_s`] never returns more. Step Functions allows longer
/// waits (IntervalSeconds up to 99,999,999 s, MaxDelaySeconds up to 31,622,400 s); a retrier asking for
/// one is a problem rather than silently shortened. One day keeps the waits of all retries of one
/// invocation inside the simulator's integer time (see the module docs).
pub const MAX_RETRY_DELAY_S: f64 = 86_400.0;
/// Most retries of one invocation (`max_attempts`): 99,999,999, Step Functions' MaxAttempts maximum.
pub const MAX_RETRY_ATTEMPTS: u32 = 99_999_999;
/// Smallest backoff rate: 1.0, Step Functions' rule (the wait between retries never shrinks).
pub const MIN_RETRY_BACKOFF_RATE: f64 = 1.0;
/// Largest batch of one step (`batch.size`): 10,000, AWS Lambda's largest event source mapping
/// `BatchSize` (SQS standard queues).
pub const MAX_BATCH_SIZE: u32 = 10_000;
/// Longest batching window (`batch.window_s`): 300 s, AWS Lambda's largest
/// `MaximumBatchingWindowInSeconds`.
pub const MAX_BATCH_WINDOW_S: f64 = 300.0;
