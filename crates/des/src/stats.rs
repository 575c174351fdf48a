//! Summaries of samples: the one percentile definition of the project (nearest rank), the median, the
//! mean and the population standard deviation.
//!
//! **Definition.** The `q`-quantile of `n` sorted values `x[0] <= ... <= x[n-1]` is the nearest-rank
//! value `x[r - 1]` with `r = max(1, ceil(q * n))` (Hyndman and Fan's definition 1, the inverse of the
//! empirical CDF). The `p`-th percentile is the `p / 100`-quantile, the median the 0.5-quantile (the
//! lower middle value when `n` is even).
//!
//! Why nearest rank rather than numpy's default linear interpolation: a reported p99 latency or p50
//! decision time is then a value that was observed (never a blend of two requests), it needs no
//! arithmetic on the values (so it works on integers and cannot overflow), and it is what the
//! simulation reports already used. `q` outside `[0, 1]` is clamped (and a NaN `q` gives the smallest
//! value), so no input panics; an empty sample has no quantile (`None`).
//!
//! Values are sorted with [`f64::total_cmp`]: a NaN sorts after every number, so callers that can see
//! NaN filter it first (the summaries here do not).

/// The 1-based nearest rank of quantile `q` among `n` values: `max(1, ceil(q n))`, at most `n`
/// (0 when `n` is 0). Histograms that count values in bins instead of keeping them (the slowdown
/// histogram of `cluster`, the idle-time histogram of `scheduler`) find the bin holding this rank.
pub fn nearest_rank(n: u64, q: f64) -> u64 {
    if n == 0 {
        return 0;
    }
    // `q * n` exactly as the reports always computed it, so outputs do not move by one rank.
    let r = (q.clamp(0.0, 1.0) * n as f64).ceil();
    // A NaN `q` survives the clamp; `as u64` maps it to 0, then to rank 1.
    (r as u64).clamp(1, n)
}

/// The nearest-rank `q`-quantile of values already sorted ascending; `None` when empty.
pub fn quantile_sorted<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[nearest_rank(sorted.len() as u64, q) as usize - 1])
}

/// The nearest-rank `p`-th percentile (`p` in `0..=100`) of values already sorted ascending; `None`
/// when empty.
pub fn percentile_sorted<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    quantile_sorted(sorted, p / 100.0)
}

/// Sorts `values` ascending by [`f64::total_cmp`] (NaN last).
pub fn sort(values: &mut [f64]) {
    values.sort_by(f64::total_cmp);
}

/// The nearest-rank `q`-quantile of `values` (sorted in place); `None` when empty.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    sort(values);
    quantile_sorted(values, q)
}

/// The median (nearest rank: the lower middle value for an even count) of `values` (sorted in
/// place); `None` when empty.
pub fn median(values: &mut [f64]) -> Option<f64> {
    quantile(values, 0.5)
}

/// The arithmetic mean; `None` when empty.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The mean and the population standard deviation (divisor `n`); `None` when empty.
pub fn mean_std(values: &[f64]) -> Option<(f64, f64)> {
    let mean = mean(values)?;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
    Some((mean, var.sqrt()))
}

/// Mean, nearest-rank percentiles and extremes of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    /// Number of values.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Smallest value.
    pub min: f64,
    /// Median (nearest rank).
    pub p50: f64,
    /// 95th percentile (nearest rank).
    pub p95: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Largest value.
    pub max: f64,
}

impl Summary {
    /// Summarises `values` (sorted in place); `None` when empty.
    pub fn of(values: &mut [f64]) -> Option<Summary> {
        sort(values);
        let n = values.len();
        let at = |p: f64| percentile_sorted(values, p);
        Some(Summary {
            n,
            mean: mean(values)?,
            min: *values.first()?,
            p50: at(50.0)?,
            p95: at(95.0)?,
            p99: at(99.0)?,
            max: *values.last()?,
        })
    }
}

/// Kendall's tau-b between two rankings of the same items: `(concordant - discordant) /
/// sqrt((n0 - ties in a) * (n0 - ties in b))` over the pairs up to the shorter length (a pair tied in
/// both counts in neither). `NaN` (undefined, never a made-up 0) with fewer than two items or when one
/// side is all ties; callers averaging over groups skip it. Values compare by `total_cmp`. O(n^2).
pub fn kendall_tau(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (mut conc, mut disc, mut ties_a, mut ties_b) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..n {
        for j in i + 1..n {
            let da = a[i].total_cmp(&a[j]) as i64;
            let db = b[i].total_cmp(&b[j]) as i64;
            if da == 0 && db == 0 {
                continue;
            }
            if da == 0 {
                ties_a += 1;
            } else if db == 0 {
                ties_b += 1;
            } else if da == db {
                conc += 1;
            } else {
                disc += 1;
            }
        }
    }
    let n0 = (conc + disc + ties_a) as f64 * (conc + disc + ties_b) as f64;
    if n0 <= 0.0 {
        return f64::NAN;
    }
    (conc - disc) as f64 / n0.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_by_hand() {
        // 1..=10: p50 is the 5th value, p95 and p99 the 10th, p10 the 1st, p11 the 2nd.
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile_sorted(&v, 50.0), Some(5.0));
        assert_eq!(percentile_sorted(&v, 95.0), Some(10.0));
        assert_eq!(percentile_sorted(&v, 10.0), Some(1.0));
        assert_eq!(percentile_sorted(&v, 11.0), Some(2.0));
        assert_eq!(percentile_sorted(&v, 0.0), Some(1.0));
        assert_eq!(percentile_sorted(&v, 100.0), Some(10.0));
        // 100 values: p99 is the 99th exactly (no float drift to the 100th).
        let w: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile_sorted(&w, 99.0), Some(99));
        assert_eq!(quantile_sorted(&w, 0.99), Some(99));
    }

    #[test]
    fn edges_never_panic() {
        let v = [3.0];
        for q in [f64::NAN, -1.0, 2.0, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(quantile_sorted(&v, q), Some(3.0));
        }
        assert_eq!(quantile_sorted::<f64>(&[], 0.5), None);
        assert_eq!(median(&mut []), None);
        assert_eq!(mean(&[]), None);
        assert!(Summary::of(&mut []).is_none());
        assert_eq!(quantile_sorted(&[1.0, 2.0], f64::NAN), Some(1.0));
        assert_eq!(nearest_rank(0, 0.5), 0);
        assert_eq!(nearest_rank(u64::MAX, 1.0), u64::MAX);
    }

    #[test]
    fn median_is_the_lower_middle_and_summary_sorts() {
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.0));
        let mut v = [5.0, 1.0, 4.0, 2.0, 3.0];
        let s = Summary::of(&mut v).unwrap();
        assert_eq!((s.n, s.min, s.p50, s.max), (5, 1.0, 3.0, 5.0));
        assert!((s.mean - 3.0).abs() < 1e-15, "tolerance 1e-15");
        let (m, sd) = mean_std(&[1.0, 3.0]).unwrap();
        assert!(
            (m - 2.0).abs() < 1e-15 && (sd - 1.0).abs() < 1e-15,
            "tolerance 1e-15"
        );
    }

    #[test]
    fn kendall_tau_known_values() {
        let a = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(kendall_tau(&a, &a), 1.0);
        assert_eq!(kendall_tau(&a, &[4.0, 3.0, 2.0, 1.0]), -1.0);
        // One discordant pair of three.
        assert!((kendall_tau(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]) - 1.0 / 3.0).abs() < 1e-12);
        // Ties: (1,2) tie in a, (2,3) tie in b, the other 4 concordant: 4 / sqrt(5 * 5).
        assert!((kendall_tau(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 3.0]) - 0.8).abs() < 1e-12);
        // Undefined cases are NaN.
        assert!(kendall_tau(&[1.0], &[1.0]).is_nan());
        assert!(kendall_tau(&[], &[]).is_nan());
        assert!(kendall_tau(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_nan());
    }
}
