//! Retry policies of task steps: AWS Step Functions' Retrier (IntervalSeconds, BackoffRate,
//! MaxAttempts, MaxDelaySeconds, JitterStrategy) as the platform applies it to a throttled invocation,
//! and its validation, shared by the native format and the ASL importer.

use std::fmt;

use crate::dag::{Range, check_number, fmt_number};
use crate::limits::{MAX_RETRY_ATTEMPTS, MAX_RETRY_DELAY_S, MIN_RETRY_BACKOFF_RATE};
use crate::spec::RetrySpec;
use crate::{Problem, ProblemKind};

/// How the platform spreads the wait before a retry (Step Functions' JitterStrategy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// FULL: wait a uniform draw in `[0, backoff_s)`, so that throttled invocations do not all come
    /// back at the same instant.
    Full,
    /// NONE: wait exactly [`RetryPolicy::backoff_s`].
    None,
}

impl Jitter {
    /// The name used in the native format (`full`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            Jitter::Full => "full",
            Jitter::None => "none",
        }
    }

    fn parse(s: &str) -> Option<Jitter> {
        match s {
            "full" => Some(Jitter::Full),
            "none" => Some(Jitter::None),
            _ => None,
        }
    }
}

impl fmt::Display for Jitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated retrier: what the platform does when an invocation of a task step is throttled.
///
/// The throttled invocation is retried up to `max_attempts` times (so it runs at most
/// `max_attempts + 1` times); retry number `k` (1-based) starts [`RetryPolicy::backoff_s`]`(k)` seconds
/// after the throttle, or a uniform draw below that with [`Jitter::Full`]. When the retries are used up,
/// the step fails, as in Step Functions when a Retrier's MaxAttempts is exhausted. Every number is
/// finite and within [`crate::limits`] (`interval_s` and `max_delay_s` in `(0, MAX_RETRY_DELAY_S]`,
/// `backoff_rate >= 1`, `max_attempts <= MAX_RETRY_ATTEMPTS`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Wait before the first retry, seconds (IntervalSeconds). Default 1.
    pub interval_s: f64,
    /// Factor by which the wait grows with each retry (BackoffRate), >= 1. Default 2.
    pub backoff_rate: f64,
    /// Most retries after the first attempt (MaxAttempts); 0 never retries. Default 3.
    pub max_attempts: u32,
    /// Cap on the wait before any retry, seconds (MaxDelaySeconds). Default none: only
    /// [`MAX_RETRY_DELAY_S`] caps it.
    pub max_delay_s: Option<f64>,
    /// How the wait is spread (JitterStrategy). Default [`Jitter::None`].
    pub jitter: Jitter,
}

impl Default for RetryPolicy {
    /// Step Functions' defaults: IntervalSeconds 1, BackoffRate 2.0, MaxAttempts 3, no MaxDelaySeconds,
    /// JitterStrategy NONE.
    fn default() -> Self {
        RetryPolicy {
            interval_s: 1.0,
            backoff_rate: 2.0,
            max_attempts: 3,
            max_delay_s: None,
            jitter: Jitter::None,
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based) without jitter, seconds:
    /// `min(interval_s x backoff_rate^(retry - 1), max_delay_s)`, and never more than
    /// [`MAX_RETRY_DELAY_S`]. With [`Jitter::Full`] the platform waits a uniform draw in
    /// `[0, backoff_s(retry))` instead, as Step Functions' FULL jitter does. `retry = 0` (the first
    /// attempt, which is no retry) waits 0.
    ///
    /// Finite and in `[0, MAX_RETRY_DELAY_S]` for every `retry` up to `u32::MAX` (a growing wait is
    /// clamped, never `inf`), and never panics, even for a policy built by hand with bad numbers.
    pub fn backoff_s(&self, retry: u32) -> f64 {
        if retry == 0 {
            return 0.0;
        }
        // `min`/`max` return the other operand when one is NaN, so the result is always a number.
        let cap = self
            .max_delay_s
            .map_or(MAX_RETRY_DELAY_S, |m| m.min(MAX_RETRY_DELAY_S));
        let growth = self.backoff_rate.powf(f64::from(retry - 1));
        // Invariant: `interval_s * growth` may be inf for a huge `retry`; `min` turns it into the cap.
        (self.interval_s * growth).min(cap).max(0.0)
    }

    /// Back to the file format, every field written out.
    pub(crate) fn to_spec(self) -> RetrySpec {
        RetrySpec {
            interval_s: Some(self.interval_s),
            backoff_rate: Some(self.backoff_rate),
            max_attempts: Some(self.max_attempts),
            max_delay_s: self.max_delay_s,
            jitter: Some(self.jitter.as_str().to_owned()),
        }
    }
}

/// Checks a retrier; every bad field is reported at `place`, its name given by `field` (from the native
/// name, e.g. `backoff_rate` -> `retry.backoff_rate`, or `Retry[0].BackoffRate` for ASL). Missing
/// fields take Step Functions' defaults. `None` when some field is bad.
pub(crate) fn check_retry(
    problems: &mut Vec<Problem>,
    place: &str,
    field: &dyn Fn(&str) -> String,
    spec: &RetrySpec,
) -> Option<RetryPolicy> {
    let d = RetryPolicy::default();
    let mut ok = true;
    let interval_s = spec.interval_s.unwrap_or(d.interval_s);
    if spec.interval_s.is_some() {
        ok &= check_number(
            problems,
            place,
            &field("interval_s"),
            interval_s,
            Range::Positive(MAX_RETRY_DELAY_S),
        );
    }
    let backoff_rate = spec.backoff_rate.unwrap_or(d.backoff_rate);
    if !(backoff_rate.is_finite() && backoff_rate >= MIN_RETRY_BACKOFF_RATE) {
        ok = false;
        problems.push(Problem {
            place: place.to_owned(),
            kind: ProblemKind::BadNumber {
                field: field("backoff_rate"),
                value: fmt_number(backoff_rate),
                expected: format!(
                    "must be a finite number >= {}",
                    fmt_number(MIN_RETRY_BACKOFF_RATE)
                ),
            },
        });
    }
    let max_attempts = spec.max_attempts.unwrap_or(d.max_attempts);
    if max_attempts > MAX_RETRY_ATTEMPTS {
        ok = false;
        problems.push(Problem {
            place: place.to_owned(),
            kind: ProblemKind::BadNumber {
                field: field("max_attempts"),
                value: max_attempts.to_string(),
                expected: format!("must be <= {MAX_RETRY_ATTEMPTS} (0 never retries)"),
            },
        });
    }
    if let Some(m) = spec.max_delay_s {
        ok &= check_number(
            problems,
            place,
            &field("max_delay_s"),
            m,
            Range::Positive(MAX_RETRY_DELAY_S),
        );
    }
    let jitter = match spec.jitter.as_deref() {
        None => d.jitter,
        Some(j) => Jitter::parse(j).unwrap_or_else(|| {
            ok = false;
            problems.push(Problem {
                place: place.to_owned(),
                kind: ProblemKind::Other(format!(
                    "{}: '{j}' is not one of full, none",
                    field("jitter")
                )),
            });
            d.jitter
        }),
    };
    ok.then_some(RetryPolicy {
        interval_s,
        backoff_rate,
        max_attempts,
        max_delay_s: spec.max_delay_s,
        jitter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_never_leaves_its_range_even_for_bad_hand_built_policies() {
        let weird = [
            RetryPolicy {
                interval_s: f64::NAN,
                ..Default::default()
            },
            RetryPolicy {
                interval_s: -1.0,
                max_delay_s: Some(-5.0),
                ..Default::default()
            },
            RetryPolicy {
                backoff_rate: f64::INFINITY,
                max_delay_s: Some(f64::NAN),
                ..Default::default()
            },
            RetryPolicy {
                backoff_rate: 0.0,
                ..Default::default()
            },
        ];
        for p in weird {
            for k in [0, 1, 2, 1000, u32::MAX] {
                let b = p.backoff_s(k);
                assert!(
                    (0.0..=MAX_RETRY_DELAY_S).contains(&b),
                    "{p:?} retry {k}: {b}"
                );
            }
        }
    }
}
