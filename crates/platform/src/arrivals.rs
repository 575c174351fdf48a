//! How requests arrive: a constant-rate Poisson process, evenly spaced arrivals, or a time-varying rate
//! (a piecewise-constant schedule read from a file, one of `workload`'s steady/bursty/periodic/mixed
//! patterns around a mean, or an Azure Functions 2019 trace function's per-minute counts, scaled).
//!
//! Every process is lazy and seeded: [`Arrivals::stream`] yields nondecreasing arrival times from one
//! random stream, so a 24-hour run at 100 requests per second holds no list of arrivals in memory.

use std::sync::Arc;

use des::{SimRng, SimTime};
use rand_distr::{Distribution as _, Exp};

/// How requests arrive.
#[derive(Debug, Clone, PartialEq)]
pub enum Arrivals {
    /// A Poisson process with this rate (requests per second).
    Poisson {
        /// Requests per second.
        rate_per_s: f64,
    },
    /// One request every `1 / rate_per_s` seconds, the first at time zero.
    Fixed {
        /// Requests per second.
        rate_per_s: f64,
    },
    /// A time-varying rate: piecewise constant (see [`RateSchedule`]).
    Schedule(Arc<RateSchedule>),
}

/// A piecewise-constant arrival rate: segment `i` runs from `starts_s[i]` to `starts_s[i + 1]` (the
/// last to `end_s`, or forever when `None`) at `rates_per_s[i]` requests per second.
///
/// `exact_counts`: when set, each segment gets exactly `round(rate * length)` arrivals spread uniformly
/// at random over it (a trace's recorded per-minute counts); otherwise arrivals are a non-homogeneous
/// Poisson process with this rate (exact for piecewise-constant rates: a gap that crosses a segment
/// boundary is redrawn from the boundary, which the memoryless property makes exact).
#[derive(Debug, Clone, PartialEq)]
pub struct RateSchedule {
    /// What the schedule came from, for reports (`schedule:FILE`, `pattern:bursty:50`, ...).
    pub name: String,
    /// Segment starts, seconds, strictly increasing, the first 0.
    pub starts_s: Vec<f64>,
    /// Rate of each segment, requests per second, >= 0.
    pub rates_per_s: Vec<f64>,
    /// End of the last segment, seconds (`None`: it lasts forever).
    pub end_s: Option<f64>,
    /// Exact per-segment counts instead of Poisson arrivals.
    pub exact_counts: bool,
}

impl Arrivals {
    /// A Poisson process at `rate_per_s`.
    pub fn poisson(rate_per_s: f64) -> Arrivals {
        Arrivals::Poisson { rate_per_s }
    }

    /// The long-run mean rate, requests per second (for a schedule: arrivals expected over its span
    /// divided by the span; the last segment's rate when it lasts forever and is the only one).
    pub fn mean_rate_per_s(&self) -> f64 {
        match self {
            Arrivals::Poisson { rate_per_s } | Arrivals::Fixed { rate_per_s } => *rate_per_s,
            Arrivals::Schedule(s) => s.mean_rate_per_s(),
        }
    }

    /// When arrivals stop by themselves, seconds (a schedule with an end), else `None`.
    pub fn end_s(&self) -> Option<f64> {
        match self {
            Arrivals::Schedule(s) => s.end_s,
            _ => None,
        }
    }

    /// A short description for reports: `poisson:10`, `fixed:10`, or the schedule's name.
    pub fn describe(&self) -> String {
        match self {
            Arrivals::Poisson { rate_per_s } => format!("poisson:{rate_per_s}"),
            Arrivals::Fixed { rate_per_s } => format!("fixed:{rate_per_s}"),
            Arrivals::Schedule(s) => s.name.clone(),
        }
    }

    /// The lazy stream of arrival times drawn from `rng`. The constant-rate processes draw exactly as
    /// earlier versions did (one exponential gap per arrival), so their results are unchanged.
    pub fn stream(&self, rng: SimRng) -> ArrivalStream<'_> {
        ArrivalStream {
            arrivals: self,
            rng,
            next: SimTime::ZERO,
            started: false,
            cursor: ScheduleCursor::default(),
        }
    }
}

impl RateSchedule {
    /// Arrivals expected over the schedule's span divided by the span (the first segment's rate when
    /// the schedule has one open segment).
    pub fn mean_rate_per_s(&self) -> f64 {
        let n = self.starts_s.len();
        let Some(end) = self.end_s else {
            return self.rates_per_s.last().copied().unwrap_or(0.0);
        };
        let mut total = 0.0;
        for i in 0..n {
            let hi = if i + 1 < n { self.starts_s[i + 1] } else { end };
            total += self.rates_per_s[i] * (hi - self.starts_s[i]).max(0.0);
        }
        if end > 0.0 { total / end } else { 0.0 }
    }
}

/// Where a stream is in its schedule (segment index and the arrivals left in an exact-count segment).
#[derive(Debug, Default, Clone)]
struct ScheduleCursor {
    segment: usize,
    /// Exact-count mode: the current segment's arrival times, sorted, and the next to hand out.
    buffered: Vec<SimTime>,
    pos: usize,
    filled: bool,
}

/// The lazy, seeded stream of arrival times of an [`Arrivals`] (nondecreasing).
pub struct ArrivalStream<'a> {
    arrivals: &'a Arrivals,
    rng: SimRng,
    next: SimTime,
    started: bool,
    cursor: ScheduleCursor,
}

impl ArrivalStream<'_> {
    /// The next arrival time, or `None` when the process has ended (a schedule past its end).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<SimTime> {
        match self.arrivals {
            Arrivals::Poisson { rate_per_s } => {
                if self.started {
                    let gap_s = Exp::new(*rate_per_s)
                        .expect("rate checked > 0")
                        .sample(&mut self.rng);
                    self.next = self.next + SimTime::from_secs_f64(gap_s);
                }
                self.started = true;
                Some(self.next)
            }
            Arrivals::Fixed { rate_per_s } => {
                if self.started {
                    self.next = self.next + SimTime::from_secs_f64(1.0 / rate_per_s);
                }
                self.started = true;
                Some(self.next)
            }
            Arrivals::Schedule(s) => {
                let _ = (s, &mut self.cursor);
                todo!("schedule streams: issue 10 arrivals")
            }
        }
    }
}
