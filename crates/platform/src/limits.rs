//! Documented upper (and lower) bounds on user input: platform profile fields and simulation options.
//!
//! Each bound is orders of magnitude beyond any real platform or experiment and small enough that no
//! product of bounded values overflows the arithmetic: simulated time is whole microseconds in a `u64`
//! (about 1.8e13 s, see [`des::SimTime`], which saturates at [`des::SimTime::MAX`] rather than wrapping),
//! costs are `f64` USD. A value outside its bound is a validation error naming the field or option; it
//! never reaches the simulator.

/// Largest memory size a profile may offer (`memory_mb_max`, and so every memory field), MB: 1 TiB,
/// the bound a workflow's per-worker memory has (`workflow::limits`).
pub const MEMORY_MB_MAX: u32 = workflow::limits::MAX_MEMORY_MB_PER_WORKER;
/// Largest `vcpu_max`.
pub const VCPU_MAX: f64 = 1_024.0;
/// Largest price of any kind (per GB-second, per request, per transition), USD. AWS Lambda charges
/// 1.7e-5 per GB-second.
pub const PRICE_USD_MAX: f64 = 1.0;
/// Largest billing granularity, ms (one hour).
pub const BILLING_GRANULARITY_MS_MAX: u32 = 3_600_000;
/// Largest keep-alive, seconds (one year: "forever" in any simulated run).
pub const KEEP_ALIVE_S_MAX: f64 = 31_536_000.0;
/// Largest delay of any kind (transition delay, mean cold start, mapping-delay coefficients, median
/// storage latency), seconds (one day).
pub const DELAY_S_MAX: f64 = 86_400.0;
/// Largest coefficient of variation of cold starts.
pub const COLD_START_CV_MAX: f64 = 10.0;
/// Smallest and largest storage bandwidth, MB per second (1 KB/s .. 1 PB/s).
pub const BANDWIDTH_MB_PER_S_MIN: f64 = 1e-3;
/// See [`BANDWIDTH_MB_PER_S_MIN`].
pub const BANDWIDTH_MB_PER_S_MAX: f64 = 1e9;
/// Largest concurrency of any kind (account limit, reserved and provisioned concurrency, scaling
/// rate).
pub const CONCURRENCY_MAX: u32 = 10_000_000;
/// Largest straggler slowdown factor.
pub const SLOWDOWN_MAX: f64 = 1_000.0;

/// Most requests in one simulation (the report keeps one latency per request for exact percentiles:
/// 8 bytes each).
pub const REQUESTS_MAX: u64 = 100_000_000;
/// Largest arrival rate, requests per second (arrival times are whole microseconds).
pub const RATE_PER_S_MAX: f64 = 1e6;
/// Smallest arrival rate, requests per second (one request every 31.7 years).
pub const RATE_PER_S_MIN: f64 = 1e-9;
/// Longest span of arrivals (`requests / rate`), seconds: about 31,700 years, a factor 18 below the
/// range of simulated time so that Poisson gaps and step durations cannot reach it in practice.
pub const ARRIVAL_SPAN_S_MAX: f64 = 1e12;
/// Largest SLO, seconds (about 3.2 years): the bound of a workflow file's `slo_s`
/// (`workflow::limits`), so an SLO given on the command line has the same bound as one in the file.
pub const SLO_S_MAX: f64 = workflow::limits::MAX_SLO_S;
/// Most segments of a time-varying arrival rate (a schedule file's lines, a pattern's 60-second
/// segments, a trace's minutes): each is kept in memory (16 bytes), and 10^7 minutes is 19 years. The
/// bound of `workload`'s pattern profiles (`workload::MAX_SEGMENTS`).
pub const SCHEDULE_SEGMENTS_MAX: usize = workload::MAX_SEGMENTS;

/// A number for an error message: plain for ordinary magnitudes, scientific for huge or tiny ones
/// (`1e300`, not 301 digits).
pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && a.is_finite() && !(1e-4..1e9).contains(&a) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_messages_stay_short() {
        assert_eq!(fmt_num(1e300), "1e300");
        assert_eq!(fmt_num(-2.5e-7), "-2.5e-7");
        assert_eq!(fmt_num(31_536_000.0), "31536000");
        assert_eq!(fmt_num(0.025), "0.025");
        assert_eq!(fmt_num(f64::NAN), "NaN");
        assert_eq!(fmt_num(0.0), "0");
    }
}
