//! Documented bounds of command-line numbers that no library type checks (the simulator's own options
//! and platform profiles are bounded in `platform::limits`). A number out of range is an error naming
//! its flag, before anything runs or allocates.

use platform::limits::fmt_num;

/// Most SLO points of `sweep --steps`.
pub const SWEEP_STEPS_MAX: usize = 1_000;
/// Most repetitions of `bench sim --repeat`.
pub const BENCH_REPEAT_MAX: u32 = 1_000;
/// Largest `alloc --load` (a multiple of the nominal load or arrival rate).
pub const LOAD_MAX: f64 = 100.0;
/// Most DeepRM job sets per load (`alloc --jobsets`).
pub const JOBSETS_MAX: u64 = 100_000;
/// Most arrival steps of one DeepRM job set (`alloc --simu-len`, `train --simu-len`) and of one
/// episode (`alloc --episode-max-len`).
pub const SIMU_LEN_MAX: usize = 100_000;
/// Most arrival steps of all DeepRM job sets of one load together (`--jobsets` x `--simu-len`): the job
/// sets are generated before the policies run.
pub const JOBSET_STEPS_MAX: u64 = 10_000_000;
/// Most minutes of an Azure 2019 trace day (`alloc --minutes`).
pub const MINUTES_MAX: usize = 1_440;
/// Longest serverless training episode (`train --horizon-s`), seconds: one day.
#[cfg(feature = "gnn")]
pub const TRAIN_HORIZON_S_MAX: f64 = 86_400.0;

/// Checks that `flag`'s value is a finite number in `[lo, hi]` (NaN fails).
pub fn check_f64(flag: &str, v: f64, lo: f64, hi: f64) -> anyhow::Result<()> {
    anyhow::ensure!(
        v.is_finite() && v >= lo && v <= hi,
        "{flag} {}: must be a number in [{}, {}]",
        fmt_num(v),
        fmt_num(lo),
        fmt_num(hi)
    );
    Ok(())
}

/// Checks that `flag`'s count is in `[lo, hi]`.
pub fn check_count(flag: &str, v: u64, lo: u64, hi: u64) -> anyhow::Result<()> {
    anyhow::ensure!(
        (lo..=hi).contains(&v),
        "{flag} {v}: must be in [{lo}, {hi}]"
    );
    Ok(())
}

/// Checks an SLO (from `flag`, or the workflow's `slo_s`) against `platform::limits::SLO_S_MAX`.
pub fn check_slo(flag: &str, slo_s: f64) -> anyhow::Result<()> {
    anyhow::ensure!(
        slo_s.is_finite() && slo_s > 0.0 && slo_s <= platform::limits::SLO_S_MAX,
        "{flag} {}: must be a number of seconds > 0 and <= {:e}",
        fmt_num(slo_s),
        platform::limits::SLO_S_MAX
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_numbers_name_their_flag() {
        let e = check_f64("--load", 1e300, 0.0, LOAD_MAX).unwrap_err();
        assert_eq!(e.to_string(), "--load 1e300: must be a number in [0, 100]");
        assert!(check_f64("--load", f64::NAN, 0.0, LOAD_MAX).is_err());
        assert!(check_f64("--load", 100.0, 0.0, LOAD_MAX).is_ok());
        assert!(check_count("--jobsets", u64::MAX, 1, JOBSETS_MAX).is_err());
        assert!(
            check_slo("--slo", 1e300)
                .unwrap_err()
                .to_string()
                .contains("--slo 1e300")
        );
        assert!(check_slo("--slo", 30.0).is_ok());
    }
}
