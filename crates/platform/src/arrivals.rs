//! How requests arrive: a constant-rate Poisson process, evenly spaced arrivals, or a time-varying rate
//! (a piecewise-constant schedule read from a file, one of `workload`'s steady/bursty/periodic/mixed
//! patterns around a mean, or an Azure Functions 2019 trace function's per-minute counts, scaled).
//!
//! Every process is lazy and seeded: [`Arrivals::stream`] yields nondecreasing arrival times from one
//! random stream, so a 24-hour run at 100 requests per second holds no list of arrivals in memory.
//!
//! # Specs (`--arrivals`, [`Arrivals::parse`])
//!
//! - `poisson:RATE`: a Poisson process, RATE requests per second.
//! - `fixed:RATE`: one request every `1 / RATE` seconds, the first at time zero.
//! - `schedule:FILE`: a piecewise-constant rate read from FILE (format below), Poisson within it.
//! - `pattern:NAME:MEAN`: `workload`'s pattern NAME (`steady`, `bursty`, `periodic`, `mixed`) as a rate
//!   multiplier with mean one, in 60-second segments, times MEAN requests per second, over the run's
//!   horizon (required). The bursty spikes come from the sub-stream `arrivals.pattern` of the run's seed.
//! - `azure2019:DIR[:FUNCTION][:SCALE]`: one function of the Azure Functions 2019 trace in DIR
//!   (`invocations.csv`, `durations.csv`, `memory.csv`): each minute gets exactly
//!   `round(count x SCALE)` arrivals spread uniformly at random over it, until the end of the trace or the
//!   horizon. FUNCTION is a `HashFunction` of `invocations.csv` (or a unique prefix of one) or a 0-based row
//!   index (an index is tried before a prefix); empty or absent: the function with the most invocations
//!   (ties: the lowest index). SCALE is `2` or `x2` (default 1, at most `workload::MAX_LOAD_SCALE`). Only
//!   the scale: `azure2019:DIR::2`.
//!
//! A spec is split at `:`, so paths that contain `:` (Windows drive letters) are not supported.
//!
//! # The schedule file format
//!
//! ```text
//! # rates.txt: a quiet start, a burst, a pause, then back to normal for an hour
//! start_s,rate_per_s      # optional header
//! 0      5
//! 600    50               # from 10 minutes on: 50 requests per second
//! 660,   0                # commas work too; a zero rate is a pause
//! 720    5
//! 4320   end              # optional: arrivals stop at 4,320 s
//! ```
//!
//! One segment per line, `START_S RATE_PER_S` (separated by whitespace or one comma): the rate, requests
//! per second, from START_S seconds until the next line's start. `#` starts a comment; blank lines are
//! ignored; an optional header `start_s,rate_per_s` may come first. Starts are strictly increasing, the
//! first is 0, every start and the end are at most [`crate::limits::ARRIVAL_SPAN_S_MAX`]; rates are finite,
//! in `[0, `[`crate::limits::RATE_PER_S_MAX`]`]`, and at least one is positive. An optional last line
//! `END_S end` ends the schedule (END_S after the last start); without it the last rate lasts forever. At
//! most [`crate::limits::SCHEDULE_SEGMENTS_MAX`] segments. Every malformed line is reported with its file
//! and line (all of them in one error).
//!
//! # Determinism
//!
//! Given the random stream, the times are fixed: a schedule draws exponential gaps at the current
//! segment's rate, and a gap that would cross into the next segment is discarded and drawn afresh from the
//! boundary at the next segment's rate (exact for piecewise-constant rates by memorylessness); zero-rate
//! segments draw nothing. With exact counts, a segment's `k` arrivals are its `k` uniform order statistics
//! drawn one after another (`next = t + (end - t) (1 - U^(1/k))`), which is the distribution of `k`
//! sorted uniform times without holding them: one draw per arrival and no buffer, however busy a minute.

use std::path::Path;
use std::sync::Arc;

use des::{RngStreams, SimRng, SimTime};
use rand::Rng as _;
use rand_distr::{Distribution as _, Exp};
use workload::{Azure2019Trace, Pattern, RateProfile};

use crate::Error;
use crate::limits::{
    ARRIVAL_SPAN_S_MAX, RATE_PER_S_MAX, RATE_PER_S_MIN, SCHEDULE_SEGMENTS_MAX, fmt_num,
};

/// Segment length of `pattern:` schedules, seconds (as `workload`'s synthetic generator).
const PATTERN_SEGMENT_S: f64 = 60.0;
/// Length of one column of an Azure Functions 2019 trace, seconds.
const AZURE_MINUTE_S: f64 = 60.0;
/// Problems listed in one error before the rest are only counted.
const PROBLEMS_LISTED_MAX: usize = 10;
/// What `--arrivals` accepts, for error messages.
const SPEC_FORMS: &str = "poisson:RATE, fixed:RATE, schedule:FILE, pattern:NAME:MEAN or \
                          azure2019:DIR[:FUNCTION][:SCALE]";

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
/// boundary is redrawn from the boundary, which the memoryless property makes exact). A last segment
/// without an end has no count to be exact about: it is Poisson either way.
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

fn invalid(reason: String) -> Error {
    Error::InvalidOption {
        field: "arrivals".into(),
        reason,
    }
}

/// A platform error from a `workload` one, keeping the file and line.
fn from_workload(e: workload::Error) -> Error {
    match e {
        workload::Error::Io { path, source } => Error::Io {
            path: path.display().to_string(),
            source,
        },
        workload::Error::Parse {
            path,
            line,
            message,
        } => Error::Parse {
            source_name: path.display().to_string(),
            line: Some(line),
            message,
        },
        other => invalid(other.to_string()),
    }
}

/// The first problem, then the others (at most [`PROBLEMS_LISTED_MAX`] in all, the rest counted).
fn join_problems(problems: &[String]) -> String {
    let mut out = problems[..problems.len().min(PROBLEMS_LISTED_MAX)].join("; ");
    if problems.len() > PROBLEMS_LISTED_MAX {
        out.push_str(&format!(
            "; and {} more",
            problems.len() - PROBLEMS_LISTED_MAX
        ));
    }
    out
}

impl Arrivals {
    /// A Poisson process at `rate_per_s`.
    pub fn poisson(rate_per_s: f64) -> Arrivals {
        Arrivals::Poisson { rate_per_s }
    }

    /// A piecewise-constant schedule.
    pub fn schedule(schedule: RateSchedule) -> Arrivals {
        Arrivals::Schedule(Arc::new(schedule))
    }

    /// Parses an `--arrivals` spec: `poisson:RATE`, `fixed:RATE`, `schedule:FILE`, `pattern:NAME:MEAN` or
    /// `azure2019:DIR[:FUNCTION][:SCALE]` (see the module docs). `horizon_s` is the run's horizon: a
    /// pattern needs one, a trace stops at it. `seed` is the run's root seed (a pattern's spikes come from
    /// its sub-stream `arrivals.pattern`). The result passes [`Arrivals::check`].
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for `arrivals` saying what was expected (or `rate` for a constant rate out
    /// of bounds), [`Error::Parse`] naming the file and line of a malformed schedule or trace file,
    /// [`Error::Io`] for a file that cannot be read.
    pub fn parse(spec: &str, horizon_s: Option<f64>, seed: u64) -> Result<Arrivals, Error> {
        let spec = spec.trim();
        let Some((kind, rest)) = spec.split_once(':') else {
            return Err(invalid(format!("{spec:?}: expected {SPEC_FORMS}")));
        };
        let arrivals = match kind {
            "poisson" => Arrivals::Poisson {
                rate_per_s: parse_number(rest, spec, "poisson:RATE")?,
            },
            "fixed" => Arrivals::Fixed {
                rate_per_s: parse_number(rest, spec, "fixed:RATE")?,
            },
            "schedule" => {
                if rest.is_empty() {
                    return Err(invalid(format!("{spec:?}: expected schedule:FILE")));
                }
                Arrivals::schedule(RateSchedule::from_file(Path::new(rest))?)
            }
            "pattern" => {
                let Some((name, mean)) = rest.split_once(':') else {
                    return Err(invalid(format!(
                        "{spec:?}: expected pattern:NAME:MEAN (NAME steady, bursty, periodic or \
                         mixed; MEAN requests per second)"
                    )));
                };
                let pattern = Pattern::parse(name).map_err(|_| {
                    invalid(format!(
                        "{spec:?}: unknown pattern {name:?}: expected steady, bursty, periodic or mixed"
                    ))
                })?;
                let mean = parse_number(mean, spec, "pattern:NAME:MEAN")?;
                let Some(horizon_s) = horizon_s else {
                    return Err(invalid(format!(
                        "{spec:?}: a pattern needs the run's horizon (the span its rate varies over)"
                    )));
                };
                Arrivals::schedule(RateSchedule::from_pattern(pattern, mean, horizon_s, seed)?)
            }
            "azure2019" => {
                let parts: Vec<&str> = rest.split(':').collect();
                if parts[0].is_empty() || parts.len() > 3 {
                    return Err(invalid(format!(
                        "{spec:?}: expected azure2019:DIR[:FUNCTION][:SCALE] (paths containing ':' \
                         are not supported)"
                    )));
                }
                let function = parts.get(1).copied().filter(|f| !f.is_empty());
                let scale = match parts.get(2).copied().filter(|s| !s.is_empty()) {
                    None => 1.0,
                    Some(s) => parse_number(
                        s.strip_prefix('x').unwrap_or(s),
                        spec,
                        "azure2019:DIR:FUNCTION:SCALE (SCALE a number such as 2 or x2)",
                    )?,
                };
                let trace = Azure2019Trace::read(Path::new(parts[0])).map_err(from_workload)?;
                Arrivals::schedule(RateSchedule::from_azure2019(
                    &trace, function, scale, horizon_s,
                )?)
            }
            _ => return Err(invalid(format!("{spec:?}: expected {SPEC_FORMS}"))),
        };
        arrivals.check()?;
        Ok(arrivals)
    }

    /// Checks the bounds: a constant rate finite within `[`[`RATE_PER_S_MIN`]`, `[`RATE_PER_S_MAX`]`]`;
    /// a schedule as [`RateSchedule::check`]. [`crate::Simulation::new`] calls it.
    ///
    /// # Errors
    /// [`Error::InvalidOption`]: `rate` for a constant rate, `arrivals` for a schedule (every problem,
    /// each with its segment).
    pub fn check(&self) -> Result<(), Error> {
        match self {
            Arrivals::Poisson { rate_per_s } | Arrivals::Fixed { rate_per_s } => {
                let rate = *rate_per_s;
                // Comparisons with NaN are false, so NaN fails.
                if rate.is_finite() && (RATE_PER_S_MIN..=RATE_PER_S_MAX).contains(&rate) {
                    Ok(())
                } else {
                    Err(Error::InvalidOption {
                        field: "rate".into(),
                        reason: format!(
                            "{}: must be in [{RATE_PER_S_MIN:e}, {RATE_PER_S_MAX:e}] requests per second",
                            fmt_num(rate)
                        ),
                    })
                }
            }
            Arrivals::Schedule(s) => s.check(),
        }
    }

    /// The long-run mean rate, requests per second (for a schedule: arrivals expected over its span
    /// divided by the span; the last segment's rate when it lasts forever).
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

/// A number of a spec, or an error naming the spec and the form expected.
fn parse_number(text: &str, spec: &str, form: &str) -> Result<f64, Error> {
    text.trim().parse::<f64>().map_err(|_| {
        invalid(format!(
            "{spec:?}: {text:?} is not a number: expected {form}"
        ))
    })
}

impl RateSchedule {
    /// Reads a schedule file (format in the module docs) through [`des::text::read_text`] (a UTF-8
    /// byte-order mark dropped, invalid UTF-8 reported with its place). Its name is `schedule:PATH`.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Parse`] naming the file and the first bad
    /// line, with every other problem in the message.
    pub fn from_file(path: &Path) -> Result<RateSchedule, Error> {
        let text = crate::error::read_file(path)?;
        RateSchedule::from_str(&text, &path.display().to_string())
    }

    /// Parses a schedule's text (format in the module docs); `source_name` names it in errors and in the
    /// schedule's name, `schedule:SOURCE_NAME`. A UTF-8 byte-order mark is dropped.
    ///
    /// # Errors
    /// [`Error::Parse`] naming `source_name` and the first bad line, with every other problem in the
    /// message (or no line when the text has no segment or no positive rate).
    pub fn from_str(text: &str, source_name: &str) -> Result<RateSchedule, Error> {
        let text = des::text::strip_bom(text);
        let mut problems: Vec<(usize, String)> = Vec::new();
        let mut starts_s: Vec<f64> = Vec::new();
        let mut rates_per_s: Vec<f64> = Vec::new();
        // The end and its line.
        let mut end: Option<(f64, usize)> = None;
        let mut seen_content = false;
        for (idx, raw) in text.lines().enumerate() {
            let line = idx + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let fields: Vec<&str> = if content.contains(',') {
                content.split(',').map(str::trim).collect()
            } else {
                content.split_whitespace().collect()
            };
            let first_content = !seen_content;
            seen_content = true;
            if first_content
                && fields.len() == 2
                && fields[0].eq_ignore_ascii_case("start_s")
                && fields[1].eq_ignore_ascii_case("rate_per_s")
            {
                continue;
            }
            if let Some((_, end_line)) = end {
                problems.push((
                    line,
                    format!("nothing may follow the end line (line {end_line})"),
                ));
                continue;
            }
            if fields.len() != 2 || fields.iter().any(|f| f.is_empty()) {
                problems.push((
                    line,
                    format!(
                        "expected two numbers START_S RATE_PER_S (or END_S end), found {content:?}"
                    ),
                ));
                continue;
            }
            let number = |what: &str, text: &str| -> Result<f64, String> {
                text.parse::<f64>()
                    .map_err(|_| format!("{what} {text:?} is not a number"))
            };
            let time_ok = |what: &str, v: f64| -> Result<f64, String> {
                if v.is_finite() && (0.0..=ARRIVAL_SPAN_S_MAX).contains(&v) {
                    Ok(v)
                } else {
                    Err(format!(
                        "{what} {}: must be a finite number of seconds in [0, {ARRIVAL_SPAN_S_MAX:e}]",
                        fmt_num(v)
                    ))
                }
            };
            if fields[1].eq_ignore_ascii_case("end") {
                let parsed = number("end", fields[0]).and_then(|v| time_ok("end", v));
                match &parsed {
                    Err(m) => problems.push((line, m.clone())),
                    Ok(v) => match starts_s.last() {
                        None => problems.push((
                            line,
                            "the end line comes before any segment START_S RATE_PER_S".into(),
                        )),
                        Some(&last) if *v <= last => problems.push((
                            line,
                            format!(
                                "end {} is not after the last segment's start {}",
                                fmt_num(*v),
                                fmt_num(last)
                            ),
                        )),
                        Some(_) => {}
                    },
                }
                // Even a bad end line ends the schedule, so later lines are reported as such.
                end = Some((parsed.unwrap_or(f64::NAN), line));
                continue;
            }
            let start = number("start", fields[0]).and_then(|v| time_ok("start", v));
            let rate = number("rate", fields[1]).and_then(|v| {
                if v.is_finite() && (0.0..=RATE_PER_S_MAX).contains(&v) {
                    Ok(v)
                } else {
                    Err(format!(
                        "rate {}: must be a finite number of requests per second in [0, {RATE_PER_S_MAX:e}]",
                        fmt_num(v)
                    ))
                }
            });
            let start = match start {
                Err(m) => {
                    problems.push((line, m));
                    None
                }
                Ok(v) => match starts_s.last() {
                    None if v != 0.0 => {
                        problems.push((
                            line,
                            format!("the first segment must start at 0, not {}", fmt_num(v)),
                        ));
                        None
                    }
                    Some(&last) if v <= last => {
                        problems.push((
                            line,
                            format!(
                                "start {} is not after the previous segment's start {}",
                                fmt_num(v),
                                fmt_num(last)
                            ),
                        ));
                        None
                    }
                    _ => Some(v),
                },
            };
            let rate = match rate {
                Err(m) => {
                    problems.push((line, m));
                    None
                }
                Ok(r) => Some(r),
            };
            if let (Some(start), Some(rate)) = (start, rate) {
                if starts_s.len() >= SCHEDULE_SEGMENTS_MAX {
                    problems.push((
                        line,
                        format!(
                            "more than {SCHEDULE_SEGMENTS_MAX} segments (limits::SCHEDULE_SEGMENTS_MAX)"
                        ),
                    ));
                    break;
                }
                starts_s.push(start);
                rates_per_s.push(rate);
            }
        }
        if let Some(&(line, _)) = problems.first() {
            let listed: Vec<String> = problems[1..]
                .iter()
                .map(|(l, m)| format!("line {l}: {m}"))
                .collect();
            let mut message = problems[0].1.clone();
            if !listed.is_empty() {
                message.push_str(&format!(
                    " (and {} more: {})",
                    listed.len(),
                    join_problems(&listed)
                ));
            }
            return Err(Error::Parse {
                source_name: source_name.to_owned(),
                line: Some(line),
                message,
            });
        }
        let whole = |message: &str| Error::Parse {
            source_name: source_name.to_owned(),
            line: None,
            message: message.to_owned(),
        };
        if starts_s.is_empty() {
            return Err(whole(
                "no segments: expected lines START_S RATE_PER_S, the first starting at 0",
            ));
        }
        if !rates_per_s.iter().any(|&r| r > 0.0) {
            return Err(whole("every rate is zero: no request would arrive"));
        }
        Ok(RateSchedule {
            name: format!("schedule:{source_name}"),
            starts_s,
            rates_per_s,
            end_s: end.map(|(v, _)| v),
            exact_counts: false,
        })
    }

    /// `workload`'s `pattern` as a rate multiplier (mean one over the horizon, 60-second segments) times
    /// `mean_rate_per_s`, ending at `horizon_s`. Random spikes (bursty, mixed) come from the sub-stream
    /// `arrivals.pattern` of `seed`, so the same seed gives the same schedule. Named
    /// `pattern:NAME:MEAN`.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] (`arrivals`) for a mean outside `(0, `[`RATE_PER_S_MAX`]`]`, a horizon
    /// outside `(0, `[`ARRIVAL_SPAN_S_MAX`]`]` or one with more than [`SCHEDULE_SEGMENTS_MAX`] segments.
    pub fn from_pattern(
        pattern: Pattern,
        mean_rate_per_s: f64,
        horizon_s: f64,
        seed: u64,
    ) -> Result<RateSchedule, Error> {
        let name = format!("pattern:{}:{mean_rate_per_s}", pattern.name());
        if !(mean_rate_per_s > 0.0 && mean_rate_per_s <= RATE_PER_S_MAX) {
            return Err(invalid(format!(
                "{name}: mean {}: must be in (0, {RATE_PER_S_MAX:e}] requests per second",
                fmt_num(mean_rate_per_s)
            )));
        }
        if !(horizon_s > 0.0 && horizon_s <= ARRIVAL_SPAN_S_MAX) {
            return Err(invalid(format!(
                "{name}: horizon {}: must be in (0, {ARRIVAL_SPAN_S_MAX:e}] seconds",
                fmt_num(horizon_s)
            )));
        }
        let n_segments = (horizon_s / PATTERN_SEGMENT_S).ceil();
        if n_segments > SCHEDULE_SEGMENTS_MAX as f64 {
            return Err(invalid(format!(
                "{name}: horizon {} s is {} segments of {PATTERN_SEGMENT_S} s: at most \
                 {SCHEDULE_SEGMENTS_MAX} (limits::SCHEDULE_SEGMENTS_MAX)",
                fmt_num(horizon_s),
                fmt_num(n_segments)
            )));
        }
        let mut rng = RngStreams::new(seed).stream("arrivals.pattern");
        let profile = RateProfile::new(pattern, horizon_s, PATTERN_SEGMENT_S, &mut rng)
            .map_err(|e| invalid(format!("{name}: {e}")))?;
        let mut starts_s = Vec::with_capacity(profile.multipliers().len());
        let mut rates_per_s = Vec::with_capacity(profile.multipliers().len());
        for (i, &m) in profile.multipliers().iter().enumerate() {
            let start = i as f64 * profile.segment();
            // Invariant: ceil(horizon / segment) segments all start before the horizon; the guard keeps
            // the schedule valid should rounding say otherwise.
            if i > 0 && start >= horizon_s {
                break;
            }
            starts_s.push(start);
            rates_per_s.push(m * mean_rate_per_s);
        }
        Ok(RateSchedule {
            name,
            starts_s,
            rates_per_s,
            end_s: Some(horizon_s),
            exact_counts: false,
        })
    }

    /// One function of an Azure Functions 2019 trace as exact per-minute counts: minute `m` gets
    /// `round(counts[f][m] x scale)` arrivals uniform over it, until the end of the trace or `horizon_s`,
    /// whichever comes first (a minute cut by the horizon gets its share). `function` selects by
    /// `HashFunction` (exact, else a 0-based row index, else a unique prefix); `None`: the function with
    /// the most invocations (ties: the lowest index). Named `azure2019:HASHFUNCTION:xSCALE`.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] (`arrivals`) for an unknown or ambiguous function (saying how to name a
    /// valid one), a scale outside `[0, workload::MAX_LOAD_SCALE]`, a horizon that is not positive, or a
    /// trace with no function or no minute.
    pub fn from_azure2019(
        trace: &Azure2019Trace,
        function: Option<&str>,
        scale: f64,
        horizon_s: Option<f64>,
    ) -> Result<RateSchedule, Error> {
        let dir = trace.dir.display();
        if !(0.0..=workload::MAX_LOAD_SCALE).contains(&scale) {
            return Err(invalid(format!(
                "azure2019:{dir}: scale {}: must be in [0, {}] (workload::MAX_LOAD_SCALE)",
                fmt_num(scale),
                workload::MAX_LOAD_SCALE
            )));
        }
        if let Some(h) = horizon_s
            && !(h > 0.0 && h.is_finite())
        {
            return Err(invalid(format!(
                "azure2019:{dir}: horizon {}: must be a positive number of seconds",
                fmt_num(h)
            )));
        }
        let n_minutes = trace.n_minutes();
        if trace.functions.is_empty() || n_minutes == 0 {
            return Err(invalid(format!(
                "azure2019:{dir}: the trace has no function or no minute column"
            )));
        }
        let f = select_function(trace, function)?;
        let trace_end_s = n_minutes as f64 * AZURE_MINUTE_S;
        let end_s = horizon_s.map_or(trace_end_s, |h| h.min(trace_end_s));
        let n_used = ((end_s / AZURE_MINUTE_S).ceil() as usize).clamp(1, n_minutes);
        let counts = &trace.counts[f];
        let starts_s = (0..n_used).map(|m| m as f64 * AZURE_MINUTE_S).collect();
        let rates_per_s = counts[..n_used]
            .iter()
            .map(|&c| f64::from(c) * scale / AZURE_MINUTE_S)
            .collect();
        Ok(RateSchedule {
            name: format!("azure2019:{}:x{scale}", trace.functions[f].name),
            starts_s,
            rates_per_s,
            end_s: Some(end_s),
            exact_counts: true,
        })
    }

    /// Checks the bounds, listing every problem: at least one segment and at most
    /// [`SCHEDULE_SEGMENTS_MAX`], as many rates as starts, starts strictly increasing from 0 and at most
    /// [`ARRIVAL_SPAN_S_MAX`], rates finite in `[0, `[`RATE_PER_S_MAX`]`]` with at least one positive, an
    /// end (if any) after the last start and at most [`ARRIVAL_SPAN_S_MAX`].
    ///
    /// # Errors
    /// [`Error::InvalidOption`] (`arrivals`) naming the schedule and each bad segment.
    pub fn check(&self) -> Result<(), Error> {
        let mut problems: Vec<String> = Vec::new();
        let n = self.starts_s.len();
        if n == 0 {
            problems.push("no segments".into());
        }
        if n > SCHEDULE_SEGMENTS_MAX {
            problems.push(format!(
                "{n} segments: at most {SCHEDULE_SEGMENTS_MAX} (limits::SCHEDULE_SEGMENTS_MAX)"
            ));
        }
        if self.rates_per_s.len() != n {
            problems.push(format!("{n} starts but {} rates", self.rates_per_s.len()));
        }
        if let Some(&first) = self.starts_s.first()
            && first != 0.0
        {
            problems.push(format!(
                "the first segment starts at {}, not 0",
                fmt_num(first)
            ));
        }
        for (i, &start) in self.starts_s.iter().enumerate() {
            if !(start.is_finite() && (0.0..=ARRIVAL_SPAN_S_MAX).contains(&start)) {
                problems.push(format!(
                    "segment {i}: start {}: must be in [0, {ARRIVAL_SPAN_S_MAX:e}] seconds",
                    fmt_num(start)
                ));
            } else if i > 0 && start <= self.starts_s[i - 1] {
                problems.push(format!(
                    "segment {i}: start {} is not after the previous start {}",
                    fmt_num(start),
                    fmt_num(self.starts_s[i - 1])
                ));
            }
        }
        for (i, &rate) in self.rates_per_s.iter().enumerate() {
            if !(rate.is_finite() && (0.0..=RATE_PER_S_MAX).contains(&rate)) {
                problems.push(format!(
                    "segment {i}: rate {}: must be in [0, {RATE_PER_S_MAX:e}] requests per second",
                    fmt_num(rate)
                ));
            }
        }
        if n > 0 && !self.rates_per_s.iter().any(|&r| r > 0.0) {
            problems.push("every rate is zero: no request would arrive".into());
        }
        if let Some(end) = self.end_s {
            if !(end.is_finite() && end <= ARRIVAL_SPAN_S_MAX) {
                problems.push(format!(
                    "end {}: must be at most {ARRIVAL_SPAN_S_MAX:e} seconds",
                    fmt_num(end)
                ));
            } else if let Some(&last) = self.starts_s.last()
                && end <= last
            {
                problems.push(format!(
                    "end {} is not after the last segment's start {}",
                    fmt_num(end),
                    fmt_num(last)
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(invalid(format!(
                "{}: {}",
                self.name,
                join_problems(&problems)
            )))
        }
    }

    /// Arrivals expected over the schedule's span divided by the span (the last segment's rate when
    /// the schedule has no end: the long-run mean).
    pub fn mean_rate_per_s(&self) -> f64 {
        let n = self.starts_s.len().min(self.rates_per_s.len());
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

    /// Number of segments the stream walks (starts and rates paired).
    fn n_segments(&self) -> usize {
        self.starts_s.len().min(self.rates_per_s.len())
    }

    /// End of segment `i`, seconds (infinite for an open last segment).
    fn segment_end_s(&self, i: usize) -> f64 {
        if i + 1 < self.n_segments() {
            self.starts_s[i + 1]
        } else {
            self.end_s.unwrap_or(f64::INFINITY)
        }
    }
}

/// Selects a trace function by `HashFunction`, 0-based index or unique `HashFunction` prefix; `None`:
/// the busiest (ties: lowest index).
fn select_function(trace: &Azure2019Trace, function: Option<&str>) -> Result<usize, Error> {
    let totals: Vec<u64> = trace
        .counts
        .iter()
        .map(|row| row.iter().map(|&c| u64::from(c)).sum())
        .collect();
    let mut busiest = 0;
    for (f, &total) in totals.iter().enumerate() {
        if total > totals[busiest] {
            busiest = f;
        }
    }
    let Some(sel) = function else {
        return Ok(busiest);
    };
    let n = trace.functions.len();
    let dir = trace.dir.display();
    let exact: Vec<usize> = (0..n).filter(|&f| trace.functions[f].name == sel).collect();
    let prefix: Vec<usize> = (0..n)
        .filter(|&f| trace.functions[f].name.starts_with(sel))
        .collect();
    let ambiguous = |matches: &[usize]| {
        invalid(format!(
            "azure2019:{dir}: function {sel:?} matches rows {} of invocations.csv (0-based): give \
             the row index instead",
            matches
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    };
    match exact.len() {
        1 => return Ok(exact[0]),
        0 => {}
        _ => return Err(ambiguous(&exact)),
    }
    if let Ok(idx) = sel.parse::<usize>()
        && idx < n
    {
        return Ok(idx);
    }
    match prefix.len() {
        1 => Ok(prefix[0]),
        0 => Err(invalid(format!(
            "azure2019:{dir}: no function {sel:?}: give a 0-based row index of invocations.csv \
             (0..={}) or a HashFunction from it (a unique prefix will do); the busiest, the default, \
             is row {busiest}, {}",
            n - 1,
            trace.functions[busiest].name
        ))),
        _ => Err(ambiguous(&prefix)),
    }
}

/// Where a stream is in its schedule.
#[derive(Debug, Default, Clone)]
struct ScheduleCursor {
    /// The current segment.
    segment: usize,
    /// The last arrival (or boundary) drawn, seconds.
    t_s: f64,
    /// Exact-count mode: arrivals of the current segment still to hand out (`None`: not yet counted).
    remaining: Option<u64>,
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
    /// The next arrival time, or `None` when the process has ended (a schedule past its end, or past its
    /// last positive rate when it has no end). Invalid rates, which [`Arrivals::check`] rejects, give no
    /// arrivals rather than a panic.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<SimTime> {
        match self.arrivals {
            Arrivals::Poisson { rate_per_s } => {
                if self.started {
                    let gap_s = Exp::new(*rate_per_s)
                        .expect("rate checked > 0")
                        .sample(&mut self.rng);
                    self.next += SimTime::from_secs_f64(gap_s);
                }
                self.started = true;
                Some(self.next)
            }
            Arrivals::Fixed { rate_per_s } => {
                if self.started {
                    self.next += SimTime::from_secs_f64(1.0 / rate_per_s);
                }
                self.started = true;
                Some(self.next)
            }
            Arrivals::Schedule(s) => {
                if !self.started {
                    self.started = true;
                    self.cursor.t_s = s.starts_s.first().copied().unwrap_or(0.0).max(0.0);
                }
                next_in_schedule(s, &mut self.cursor, &mut self.rng).map(SimTime::from_secs_f64)
            }
        }
    }
}

/// The next arrival of a schedule, seconds, or `None` past its end.
fn next_in_schedule(s: &RateSchedule, c: &mut ScheduleCursor, rng: &mut SimRng) -> Option<f64> {
    let n = s.n_segments();
    while c.segment < n {
        let i = c.segment;
        let start = s.starts_s[i];
        let end = s.segment_end_s(i);
        let rate = s.rates_per_s[i];
        // Invariant: arrivals of segment i lie in [max(t, start), end], so times never decrease.
        c.t_s = c.t_s.max(start);
        let positive = rate > 0.0 && rate.is_finite();
        if positive && s.exact_counts && end.is_finite() {
            let left = *c.remaining.get_or_insert_with(|| {
                // `as` saturates; a NaN product gives zero.
                (rate * (end - start).max(0.0)).round() as u64
            });
            if left > 0 {
                // The smallest of `left` uniform times on [t, end): 1 - U^(1/left), with U in (0, 1].
                let u = 1.0 - rng.random::<f64>();
                let frac = -(u.ln() / left as f64).exp_m1();
                c.t_s = (c.t_s + (end - c.t_s) * frac).min(end);
                c.remaining = Some(left - 1);
                return Some(c.t_s);
            }
        } else if positive {
            let gap_s = Exp::new(rate).expect("rate > 0 and finite").sample(rng);
            let t = c.t_s + gap_s;
            if t < end {
                c.t_s = t;
                return Some(t);
            }
            // The gap crosses the boundary: discarded, redrawn from the boundary (memorylessness).
        }
        c.segment += 1;
        c.remaining = None;
        c.t_s = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng(seed: u64) -> SimRng {
        RngStreams::new(seed).stream("arrivals")
    }

    fn schedule(
        starts_s: &[f64],
        rates_per_s: &[f64],
        end_s: Option<f64>,
        exact: bool,
    ) -> Arrivals {
        Arrivals::schedule(RateSchedule {
            name: "test".into(),
            starts_s: starts_s.to_vec(),
            rates_per_s: rates_per_s.to_vec(),
            end_s,
            exact_counts: exact,
        })
    }

    fn all_times(a: &Arrivals, seed: u64, max: usize) -> Vec<SimTime> {
        let mut s = a.stream(rng(seed));
        let mut out = Vec::new();
        while out.len() < max {
            match s.next() {
                Some(t) => out.push(t),
                None => break,
            }
        }
        out
    }

    #[test]
    fn poisson_and_fixed_draw_as_before() {
        // The old draws, written out: time zero first, then one exponential gap per arrival.
        let mut old = rng(3);
        let mut t = SimTime::ZERO;
        let mut expected = vec![t];
        for _ in 0..999 {
            t += SimTime::from_secs_f64(Exp::new(7.5).unwrap().sample(&mut old));
            expected.push(t);
        }
        assert_eq!(all_times(&Arrivals::poisson(7.5), 3, 1000), expected);
        let fixed = all_times(&Arrivals::Fixed { rate_per_s: 4.0 }, 3, 5);
        let us: Vec<u64> = fixed.iter().map(|t| t.as_us()).collect();
        assert_eq!(us, [0, 250_000, 500_000, 750_000, 1_000_000]);
    }

    #[test]
    fn exact_counts_are_exact_sorted_and_inside_their_segments() {
        let a = schedule(
            &[0.0, 60.0, 120.0],
            &[0.5, 0.0, 10.0 / 60.0],
            Some(180.0),
            true,
        );
        let times = all_times(&a, 9, 1000);
        assert_eq!(times.len(), 30 + 10);
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        let in_seg = |lo: f64, hi: f64| {
            times
                .iter()
                .filter(|t| t.as_secs_f64() >= lo && t.as_secs_f64() < hi)
                .count()
        };
        assert_eq!(in_seg(0.0, 60.0), 30);
        assert_eq!(in_seg(60.0, 120.0), 0);
        assert_eq!(in_seg(120.0, 180.0), 10);
    }

    #[test]
    fn open_ended_zero_rate_ends_the_stream() {
        let a = schedule(&[0.0, 10.0], &[2.0, 0.0], None, false);
        let times = all_times(&a, 1, 100_000);
        assert!(!times.is_empty() && times.len() < 100);
        assert!(times.iter().all(|t| t.as_secs_f64() <= 10.0));
    }

    #[test]
    fn check_lists_every_problem() {
        let bad = schedule(&[1.0, 1.0], &[-1.0, f64::NAN], Some(0.5), false);
        let e = bad.check().unwrap_err().to_string();
        for needle in [
            "starts at 1",
            "segment 1: start 1",
            "segment 0: rate -1",
            "rate NaN",
            "end 0.5",
        ] {
            assert!(e.contains(needle), "{needle:?} missing from {e}");
        }
        assert!(schedule(&[0.0], &[0.0], None, false).check().is_err());
        assert!(Arrivals::poisson(0.0).check().is_err());
        assert!(Arrivals::Fixed { rate_per_s: 2e6 }.check().is_err());
        assert!(
            schedule(&[0.0, 5.0], &[1.0, 0.0], Some(6.0), true)
                .check()
                .is_ok()
        );
    }

    #[test]
    fn unchecked_schedules_never_panic() {
        for a in [
            schedule(&[], &[], None, false),
            schedule(&[0.0, 1.0], &[1.0], Some(2.0), true),
            schedule(&[0.0], &[f64::INFINITY], Some(1.0), true),
            schedule(&[5.0, 1.0], &[1e6, 1e6], Some(0.0), true),
            schedule(&[0.0], &[-3.0], None, false),
        ] {
            let _ = all_times(&a, 2, 1000);
        }
    }

    #[test]
    fn spec_errors_say_what_was_expected() {
        for (spec, needle) in [
            ("", "expected poisson:RATE"),
            ("poisson", "expected poisson:RATE"),
            ("poisson:fast", "not a number"),
            ("uniform:3", "expected poisson:RATE"),
            ("pattern:bursty", "pattern:NAME:MEAN"),
            ("pattern:wavy:3", "unknown pattern"),
            ("pattern:bursty:3", "horizon"),
            ("azure2019:", "azure2019:DIR"),
            ("azure2019:a:b:c:d", "not supported"),
            ("schedule:", "schedule:FILE"),
        ] {
            let e = Arrivals::parse(spec, None, 1).unwrap_err();
            let msg = e.to_string();
            assert!(
                matches!(&e, Error::InvalidOption { field, .. } if field == "arrivals"),
                "{spec}: {msg}"
            );
            assert!(msg.contains(needle), "{spec}: {msg} lacks {needle:?}");
        }
        let e = Arrivals::parse("poisson:0", None, 1).unwrap_err();
        assert!(matches!(e, Error::InvalidOption { field, .. } if field == "rate"));
        assert_eq!(
            Arrivals::parse(" fixed:2.5 ", None, 1).unwrap(),
            Arrivals::Fixed { rate_per_s: 2.5 }
        );
    }
}
