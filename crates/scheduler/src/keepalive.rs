//! Keep-alive policies: a fixed TTL, and the hybrid histogram policy of Shahrad et al., "Serverless in the
//! Wild" (ATC'20, section 4.2).

use cluster::{KeepAliveDecision, KeepAlivePolicy};
use des::SimTime;

use crate::Error;

/// Names accepted by [`keep_alive_by_name`].
pub const KEEP_ALIVE_NAMES: [&str; 2] = ["fixed", "histogram"];

/// The keep-alive policy called `name`: `fixed` (10-minute TTL) or `histogram` (defaults of
/// [`HistogramSettings`]), for `n_functions` functions.
pub fn keep_alive_by_name(
    name: &str,
    n_functions: usize,
) -> Result<Box<dyn KeepAlivePolicy>, Error> {
    match name {
        "fixed" => Ok(Box::new(FixedTtl::default())),
        "histogram" => Ok(Box::new(HybridHistogram::new(
            HistogramSettings::default(),
            n_functions,
        )?)),
        _ => Err(Error::UnknownPolicy {
            kind: "keep-alive",
            name: name.into(),
            expected: KEEP_ALIVE_NAMES.join(", "),
        }),
    }
}

/// Keep every idle instance warm for a fixed time (AWS Lambda and Azure Functions: about 10 minutes).
#[derive(Debug, Clone, Copy)]
pub struct FixedTtl {
    /// How long an idle instance stays warm.
    pub ttl: SimTime,
}

impl Default for FixedTtl {
    fn default() -> Self {
        FixedTtl {
            ttl: SimTime::from_ms(10 * 60 * 1000),
        }
    }
}

impl KeepAlivePolicy for FixedTtl {
    fn name(&self) -> String {
        "fixed".into()
    }

    fn on_arrival(&mut self, _function_idx: u32, _now: SimTime) {}

    fn on_idle(&mut self, _function_idx: u32, _now: SimTime) -> KeepAliveDecision {
        KeepAliveDecision {
            pre_warm: SimTime::ZERO,
            keep_alive: self.ttl,
        }
    }
}

/// Parameters of the hybrid histogram policy; defaults are the paper's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistogramSettings {
    /// Histogram range (paper: 4 hours).
    pub range: SimTime,
    /// Bin width (paper: 1 minute).
    pub bin: SimTime,
    /// Head percentile for the pre-warm window (paper: 5th).
    pub head_pct: f64,
    /// Tail percentile for the keep-alive window (paper: 99th).
    pub tail_pct: f64,
    /// Margin: the head shrinks and the tail grows by this fraction (paper: 10%).
    pub margin: f64,
    /// The histogram is used only when the coefficient of variation of its bin counts is at least this
    /// (paper: 2); otherwise the standard keep-alive applies.
    pub cv_threshold: f64,
    /// Idle times needed before the histogram is trusted (below: standard keep-alive).
    pub min_samples: u64,
    /// Above this fraction of out-of-range idle times, the time-series fallback applies.
    pub oob_threshold: f64,
    /// Out-of-range idle times the time-series forecast looks at (the most recent ones).
    pub oob_window: usize,
    /// How the next out-of-range idle time is forecast.
    pub forecast: OobForecast,
}

/// The time-series forecast of the next out-of-range idle time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OobForecast {
    /// ARIMA(p, d, q), p, q <= 2, d <= 1, order by AIC, as the paper ([`crate::arima::auto`]); with fewer
    /// than 6 idle times, or no finite fit, the mean.
    Arima,
    /// The mean of the recent out-of-range idle times.
    Mean,
}

impl Default for HistogramSettings {
    fn default() -> Self {
        HistogramSettings {
            range: SimTime::from_ms(4 * 3600 * 1000),
            bin: SimTime::from_ms(60 * 1000),
            head_pct: 5.0,
            tail_pct: 99.0,
            margin: 0.10,
            cv_threshold: 2.0,
            min_samples: 10,
            oob_threshold: 0.5,
            oob_window: 32,
            forecast: OobForecast::Arima,
        }
    }
}

/// Largest number of bins (`range / bin`) of a [`HybridHistogram`] (the paper: 240 one-minute bins).
pub const MAX_HISTOGRAM_BINS: u64 = 100_000;
/// Largest bins x functions of a [`HybridHistogram`] (one histogram per function is kept).
pub const MAX_HISTOGRAM_CELLS: u64 = 100_000_000;

#[derive(Debug, Clone, Default)]
struct FunctionHistogram {
    bins: Vec<u64>,
    n_in_range: u64,
    n_oob: u64,
    recent_oob: Vec<SimTime>,
    /// The forecast of the next out-of-range idle time, microseconds (updated with each one).
    oob_forecast_us: Option<f64>,
    idle_since: Option<SimTime>,
}

/// Fewer out-of-range idle times than this: the mean, not ARIMA.
const ARIMA_MIN_POINTS: usize = 6;

/// The next out-of-range idle time after `recent` (microseconds), by `how`; at least `floor_us` (an
/// out-of-range time is longer than the histogram's range) and at most twice the longest seen.
fn forecast_oob(recent: &[SimTime], how: OobForecast, floor_us: f64) -> Option<f64> {
    if recent.is_empty() {
        return None;
    }
    let secs: Vec<f64> = recent.iter().map(|t| t.as_secs_f64()).collect();
    let mean = secs.iter().sum::<f64>() / secs.len() as f64;
    let f = match how {
        OobForecast::Arima if secs.len() >= ARIMA_MIN_POINTS => crate::arima::auto(&secs, 2, 1, 2)
            .map(|m| m.forecast(&secs))
            .filter(|f| f.is_finite())
            .unwrap_or(mean),
        _ => mean,
    };
    let max = secs.iter().copied().fold(0.0, f64::max);
    Some((f * 1e6).clamp(floor_us.min(2.0 * max * 1e6), 2.0 * max * 1e6))
}

/// Shahrad et al.'s hybrid histogram policy, per function: record idle times (from an instance becoming
/// idle to the function's next arrival) in a histogram of `range / bin` bins. When the histogram is
/// representative (enough samples, CV of bin counts >= threshold), unload after execution and pre-warm at
/// the head percentile (minus the margin), keeping warm until the tail percentile (plus the margin); when
/// it is not, use the standard keep-alive (no pre-warm, keep alive for the whole range); when most idle
/// times fall outside the range, forecast the next one from the last `oob_window` out-of-range idle times
/// with ARIMA, as the paper does ([`OobForecast::Arima`], [`crate::arima`]; or their mean), and pre-warm
/// at 85% of the forecast, keeping warm for 30% of it (the paper's 15% margins on either side).
#[derive(Debug, Clone)]
pub struct HybridHistogram {
    settings: HistogramSettings,
    functions: Vec<FunctionHistogram>,
}

impl HybridHistogram {
    /// A policy for `n_functions` functions.
    pub fn new(settings: HistogramSettings, n_functions: usize) -> Result<HybridHistogram, Error> {
        let bad = |name, value: f64, reason| {
            Err(Error::InvalidParameter {
                name,
                value: value.to_string(),
                reason,
            })
        };
        if settings.bin == SimTime::ZERO || settings.range < settings.bin {
            return bad("bin", settings.bin.as_secs_f64(), "need 0 < bin <= range");
        }
        if !(0.0..=100.0).contains(&settings.head_pct)
            || !(settings.head_pct..=100.0).contains(&settings.tail_pct)
        {
            return bad(
                "tail_pct",
                settings.tail_pct,
                "need 0 <= head <= tail <= 100",
            );
        }
        if !(0.0..1.0).contains(&settings.margin) {
            return bad("margin", settings.margin, "must be in [0, 1)");
        }
        let n_bins = settings.range.as_us() / settings.bin.as_us();
        if n_bins > MAX_HISTOGRAM_BINS
            || n_bins.saturating_mul(n_functions as u64) > MAX_HISTOGRAM_CELLS
        {
            return bad(
                "bin",
                settings.bin.as_secs_f64(),
                "range / bin must be at most 100000 bins, and bins x functions at most 10^8",
            );
        }
        let n_bins = n_bins as usize;
        let f = FunctionHistogram {
            bins: vec![0; n_bins],
            ..Default::default()
        };
        Ok(HybridHistogram {
            settings,
            functions: vec![f; n_functions],
        })
    }

    fn standard(&self) -> KeepAliveDecision {
        KeepAliveDecision {
            pre_warm: SimTime::ZERO,
            keep_alive: self.settings.range,
        }
    }

    /// The decision for function `f` from its current histogram.
    pub fn windows(&self, f: usize) -> KeepAliveDecision {
        let Some(h) = self.functions.get(f) else {
            return self.standard();
        };
        let s = &self.settings;
        let n = h.n_in_range + h.n_oob;
        if n < s.min_samples {
            return self.standard();
        }
        if h.n_oob as f64 > s.oob_threshold * n as f64
            && let Some(next_us) = h.oob_forecast_us
        {
            return KeepAliveDecision {
                pre_warm: SimTime::from_us((0.85 * next_us) as u64),
                keep_alive: SimTime::from_us((0.30 * next_us) as u64),
            };
        }
        if h.n_in_range == 0 {
            return self.standard();
        }
        let nb = h.bins.len() as f64;
        let mean = h.n_in_range as f64 / nb;
        let var = h
            .bins
            .iter()
            .map(|&c| (c as f64 - mean).powi(2))
            .sum::<f64>()
            / nb;
        let cv = var.sqrt() / mean;
        if cv < s.cv_threshold {
            return self.standard();
        }
        // The bin holding the nearest-rank percentile (`des::stats`' definition) of the in-range times.
        let pct_bin = |pct: f64| -> usize {
            let rank = des::stats::nearest_rank(h.n_in_range, pct / 100.0);
            let mut seen = 0;
            for (i, &c) in h.bins.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return i;
                }
            }
            h.bins.len() - 1
        };
        let bin_us = s.bin.as_us() as f64;
        // Head: the lower edge of the head bin, minus the margin; tail: the upper edge, plus the margin.
        let head_us = pct_bin(s.head_pct) as f64 * bin_us * (1.0 - s.margin);
        let tail_us = (pct_bin(s.tail_pct) + 1) as f64 * bin_us * (1.0 + s.margin);
        let pre_warm = SimTime::from_us(head_us.round() as u64);
        KeepAliveDecision {
            pre_warm,
            keep_alive: SimTime::from_us(tail_us.round() as u64) - pre_warm,
        }
    }
}

impl KeepAlivePolicy for HybridHistogram {
    fn name(&self) -> String {
        "histogram".into()
    }

    fn on_arrival(&mut self, function_idx: u32, now: SimTime) {
        let s = self.settings;
        let Some(h) = self.functions.get_mut(function_idx as usize) else {
            return;
        };
        let Some(start) = h.idle_since.take() else {
            return;
        };
        let idle = now - start;
        let bin = (idle.as_us() / s.bin.as_us()) as usize;
        if bin < h.bins.len() {
            h.bins[bin] += 1;
            h.n_in_range += 1;
        } else {
            h.n_oob += 1;
            h.recent_oob.push(idle);
            if h.recent_oob.len() > s.oob_window {
                h.recent_oob.remove(0);
            }
            h.oob_forecast_us = forecast_oob(&h.recent_oob, s.forecast, s.range.as_us() as f64);
        }
    }

    fn on_idle(&mut self, function_idx: u32, now: SimTime) -> KeepAliveDecision {
        if let Some(h) = self.functions.get_mut(function_idx as usize) {
            h.idle_since = Some(now);
        }
        self.windows(function_idx as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(m: u64) -> SimTime {
        SimTime::from_ms(m * 60_000)
    }

    #[test]
    fn histogram_learns_a_regular_idle_time() {
        let mut h = HybridHistogram::new(HistogramSettings::default(), 1).unwrap();
        // Before enough samples: the standard keep-alive (4 hours, no pre-warm).
        assert_eq!(
            h.on_idle(0, SimTime::ZERO),
            KeepAliveDecision {
                pre_warm: SimTime::ZERO,
                keep_alive: minutes(240)
            }
        );
        // Idle times of 30.5 minutes, twenty times: all in bin 30.
        let mut t = SimTime::ZERO;
        for _ in 0..20 {
            t += SimTime::from_ms(30 * 60_000 + 30_000);
            h.on_arrival(0, t);
            t += SimTime::from_ms(1_000);
            h.on_idle(0, t);
        }
        let d = h.windows(0);
        // Head = 30 min * 0.9 = 27 min; tail = 31 min * 1.1 = 34.1 min; keep-alive = 34.1 - 27 = 7.1 min.
        assert_eq!(d.pre_warm, minutes(27));
        assert_eq!(
            d.keep_alive,
            SimTime::from_ms(34 * 60_000 + 6_000) - minutes(27)
        );
    }

    #[test]
    fn out_of_range_idle_times_use_the_forecast() {
        let mut h = HybridHistogram::new(HistogramSettings::default(), 1).unwrap();
        let mut t = SimTime::ZERO;
        for _ in 0..20 {
            h.on_idle(0, t);
            t += minutes(300);
            h.on_arrival(0, t);
        }
        let d = h.windows(0);
        assert_eq!(d.pre_warm, minutes(255));
        assert_eq!(d.keep_alive, minutes(90));
    }

    #[test]
    fn spread_histograms_fall_back_to_standard() {
        let mut h = HybridHistogram::new(HistogramSettings::default(), 1).unwrap();
        let mut t = SimTime::ZERO;
        for i in 0..240 {
            h.on_idle(0, t);
            t += minutes(i) + SimTime::from_ms(1);
            h.on_arrival(0, t);
        }
        assert_eq!(
            h.windows(0),
            KeepAliveDecision {
                pre_warm: SimTime::ZERO,
                keep_alive: minutes(240)
            }
        );
        assert!(keep_alive_by_name("lru", 1).is_err());
    }
}
