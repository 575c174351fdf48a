//! DeepRM's job distribution and Bernoulli arrivals (Mao et al., HotNets'16, `job_distribution.py`
//! `bi_model_dist` and `parameters.py`): 80% short jobs of 1..3 steps, 20% long jobs of 10..15 steps; a
//! uniformly chosen dominant resource demands 5..10 slots, every other resource 1..2; at most one job arrives
//! per time step, with probability `rate`.

use des::{RngStreams, SimRng};
use rand::Rng;

use crate::{Error, Pattern, RateProfile};

/// Largest `n_resources` of a [`DeepRmJobDist`] (every job carries one demand per resource).
pub const MAX_DEEPRM_RESOURCES: usize = 64;
/// Largest `res_slots` and job length (steps) of a [`DeepRmJobDist`]: the environment keeps an image
/// of `time_horizon >= longest job` steps.
pub const MAX_DEEPRM_STEPS_OR_SLOTS: u32 = 100_000;
/// Largest `simu_len` of a job set (steps, one optional job each, kept in memory).
pub const MAX_DEEPRM_SIMU_LEN: usize = 100_000_000;

/// One DeepRM job: its length in time steps and its demand in slots per resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeepRmJob {
    /// Length in time steps (at least 1).
    pub len_steps: u32,
    /// Demand in slots, one entry per resource.
    pub demand_slots: Vec<u32>,
}

/// The parameters of DeepRM's bimodal job distribution. Defaults are DeepRM's (`parameters.py`,
/// `job_distribution.py`).
#[derive(Debug, Clone, PartialEq)]
pub struct DeepRmJobDist {
    /// Number of resources (DeepRM: 2).
    pub n_resources: usize,
    /// Slots per resource of the machine (DeepRM `res_slot`: 10); used to convert rate to load.
    pub res_slots: u32,
    /// Probability of a short job (DeepRM `job_small_chance`: 0.8).
    pub small_prob: f64,
    /// Short job lengths, inclusive (DeepRM: 1..=3, i.e. `max_job_len / 5`).
    pub small_len_steps: (u32, u32),
    /// Long job lengths, inclusive (DeepRM: 10..=15, i.e. `max_job_len * 2 / 3 ..= max_job_len`).
    pub large_len_steps: (u32, u32),
    /// Dominant resource demand, inclusive (DeepRM: 5..=10, i.e. `max_job_size / 2 ..= max_job_size`).
    pub dominant_slots: (u32, u32),
    /// Other resources' demand, inclusive (DeepRM: 1..=2, i.e. `1 ..= max_job_size / 5`).
    pub other_slots: (u32, u32),
}

impl Default for DeepRmJobDist {
    fn default() -> Self {
        DeepRmJobDist {
            n_resources: 2,
            res_slots: 10,
            small_prob: 0.8,
            small_len_steps: (1, 3),
            large_len_steps: (10, 15),
            dominant_slots: (5, 10),
            other_slots: (1, 2),
        }
    }
}

/// The arrival rate for a requested load, and whether it had to be capped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadRate {
    /// The requested load per resource (1.0 = 100%).
    pub load_requested: f64,
    /// The Bernoulli arrival probability per step, `min(load / work_factor, 1)`.
    pub rate: f64,
    /// The load the rate gives in expectation (`work_factor * rate`); below the request when capped.
    pub load_expected: f64,
    /// True when the request needed more than one arrival per step and the rate was capped at 1.
    pub capped: bool,
}

impl DeepRmJobDist {
    /// Checks ranges (non-empty, lengths and demands positive, demands within the machine) and the
    /// documented upper bounds ([`MAX_DEEPRM_RESOURCES`], [`MAX_DEEPRM_STEPS_OR_SLOTS`]).
    pub fn validate(&self) -> Result<(), Error> {
        let range_ok = |r: (u32, u32)| r.0 >= 1 && r.0 <= r.1 && r.1 <= MAX_DEEPRM_STEPS_OR_SLOTS;
        if !(1..=MAX_DEEPRM_RESOURCES).contains(&self.n_resources) {
            return Err(Error::param(
                "n_resources",
                self.n_resources,
                "must be in 1..=64 (MAX_DEEPRM_RESOURCES)",
            ));
        }
        if !(1..=MAX_DEEPRM_STEPS_OR_SLOTS).contains(&self.res_slots) {
            return Err(Error::param(
                "res_slots",
                self.res_slots,
                "must be in 1..=100000 (MAX_DEEPRM_STEPS_OR_SLOTS)",
            ));
        }
        if !(0.0..=1.0).contains(&self.small_prob) {
            return Err(Error::param(
                "small_prob",
                self.small_prob,
                "must be in [0, 1]",
            ));
        }
        for (name, r) in [
            ("small_len_steps", self.small_len_steps),
            ("large_len_steps", self.large_len_steps),
            ("dominant_slots", self.dominant_slots),
            ("other_slots", self.other_slots),
        ] {
            if !range_ok(r) {
                return Err(Error::param(
                    name,
                    format!("{}..={}", r.0, r.1),
                    "need 1 <= lower <= upper <= 100000 (MAX_DEEPRM_STEPS_OR_SLOTS)",
                ));
            }
        }
        if self.dominant_slots.1 > self.res_slots || self.other_slots.1 > self.res_slots {
            return Err(Error::param(
                "dominant_slots",
                self.dominant_slots.1,
                "a demand exceeds res_slots",
            ));
        }
        Ok(())
    }

    /// Expected slot-steps of work a job puts on one resource: `E[len] * E[demand]`.
    /// With the defaults: `(0.8 * 2 + 0.2 * 12.5) * (7.5 / 2 + 1.5 / 2) = 4.1 * 4.5 = 18.45`.
    pub fn expected_work_slot_steps(&self) -> f64 {
        let mid = |r: (u32, u32)| (r.0 as f64 + r.1 as f64) / 2.0;
        let len = self.small_prob * mid(self.small_len_steps)
            + (1.0 - self.small_prob) * mid(self.large_len_steps);
        let n = self.n_resources as f64;
        let demand = mid(self.dominant_slots) / n + mid(self.other_slots) * (n - 1.0) / n;
        len * demand
    }

    /// Load per resource per unit of arrival rate: `E[work] / res_slots` (DeepRM: 1.845).
    pub fn work_factor(&self) -> f64 {
        self.expected_work_slot_steps() / self.res_slots as f64
    }

    /// Converts a load to a Bernoulli rate by DeepRM's formula `load = 1.845 * rate`, capping at one
    /// arrival per step (so 190% load asks for rate 1.03 and gets 1.0, an expected load of 184.5%).
    pub fn rate_for_load(&self, load: f64) -> Result<LoadRate, Error> {
        if !(load >= 0.0 && load.is_finite()) {
            return Err(Error::param(
                "load",
                load,
                "must be finite and non-negative",
            ));
        }
        let wf = self.work_factor();
        let raw = load / wf;
        let rate = raw.min(1.0);
        Ok(LoadRate {
            load_requested: load,
            rate,
            load_expected: rate * wf,
            capped: raw > 1.0,
        })
    }

    /// Draws one job (DeepRM's draw order: length class, length, dominant resource, demands).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> DeepRmJob {
        let r = |rng: &mut R, (lo, hi): (u32, u32)| rng.random_range(lo..=hi);
        let len_steps = if rng.random::<f64>() < self.small_prob {
            r(rng, self.small_len_steps)
        } else {
            r(rng, self.large_len_steps)
        };
        let dominant = rng.random_range(0..self.n_resources);
        let demand_slots = (0..self.n_resources)
            .map(|i| {
                if i == dominant {
                    r(rng, self.dominant_slots)
                } else {
                    r(rng, self.other_slots)
                }
            })
            .collect();
        DeepRmJob {
            len_steps,
            demand_slots,
        }
    }
}

/// A job set: for each of `simu_len` time steps, the job that arrives then (at most one).
#[derive(Debug, Clone, PartialEq)]
pub struct DeepRmJobSet {
    /// `arrivals[t]` is the job arriving at step `t`, if any.
    pub arrivals: Vec<Option<DeepRmJob>>,
    /// The root seed and job-set index it was drawn with.
    pub seed: u64,
    /// The job-set index (sub-stream index).
    pub index: u64,
}

impl DeepRmJobSet {
    /// Draws job set `index` of the run with root `seed`: step `t` gets a job with probability
    /// `rate * pattern(t)` (capped at 1), from the sub-streams `deeprm.arrivals` and `deeprm.pattern`.
    pub fn generate(
        dist: &DeepRmJobDist,
        rate: f64,
        simu_len: usize,
        pattern: Pattern,
        seed: u64,
        index: u64,
    ) -> Result<DeepRmJobSet, Error> {
        dist.validate()?;
        if !(0.0..=1.0).contains(&rate) {
            return Err(Error::param("rate", rate, "must be in [0, 1]"));
        }
        if simu_len > MAX_DEEPRM_SIMU_LEN {
            return Err(Error::param(
                "simu_len",
                simu_len,
                "must be at most 10^8 (MAX_DEEPRM_SIMU_LEN)",
            ));
        }
        let streams = RngStreams::new(seed);
        let mut rng: SimRng = streams.indexed("deeprm.arrivals", index);
        let profile = if pattern == Pattern::Steady || simu_len == 0 {
            RateProfile::steady()
        } else {
            let mut prng = streams.indexed("deeprm.pattern", index);
            // Segments of 5 steps; periodic cycles scaled to the job set (one long, 24 short cycles).
            let p = match pattern {
                Pattern::Periodic {
                    long_amplitude,
                    short_amplitude,
                    ..
                } => Pattern::Periodic {
                    long_period: simu_len as f64,
                    long_amplitude,
                    short_period: simu_len as f64 / 24.0,
                    short_amplitude,
                },
                other => other,
            };
            RateProfile::new(p, simu_len as f64, 5.0, &mut prng)?
        };
        let arrivals = (0..simu_len)
            .map(|t| {
                let p = (rate * profile.at(t as f64)).min(1.0);
                if rng.random::<f64>() < p {
                    Some(dist.sample(&mut rng))
                } else {
                    None
                }
            })
            .collect();
        Ok(DeepRmJobSet {
            arrivals,
            seed,
            index,
        })
    }

    /// The measured load per resource: slot-steps of work that arrived divided by `res_slots * simu_len`,
    /// averaged over resources.
    pub fn measured_load(&self, res_slots: u32) -> f64 {
        let n_steps = self.arrivals.len();
        let jobs: Vec<&DeepRmJob> = self.arrivals.iter().flatten().collect();
        let Some(first) = jobs.first() else {
            return 0.0;
        };
        let n_res = first.demand_slots.len();
        if n_steps == 0 || res_slots == 0 {
            return 0.0;
        }
        let work: f64 = jobs
            .iter()
            .map(|j| j.len_steps as f64 * j.demand_slots.iter().map(|&d| d as f64).sum::<f64>())
            .sum();
        work / (n_res as f64 * res_slots as f64 * n_steps as f64)
    }

    /// Number of jobs in the set.
    pub fn n_jobs(&self) -> usize {
        self.arrivals.iter().flatten().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_load_formula() {
        let d = DeepRmJobDist::default();
        assert!(
            (d.expected_work_slot_steps() - 18.45).abs() < 1e-12,
            "tolerance 1e-12"
        );
        assert!((d.work_factor() - 1.845).abs() < 1e-12, "tolerance 1e-12");
        let lr = d.rate_for_load(0.9225).unwrap();
        assert!(
            (lr.rate - 0.5).abs() < 1e-12 && !lr.capped,
            "tolerance 1e-12"
        );
        let lr = d.rate_for_load(1.9).unwrap();
        assert!(lr.capped && lr.rate == 1.0 && (lr.load_expected - 1.845).abs() < 1e-12);
        assert!(d.rate_for_load(f64::NAN).is_err());
    }

    #[test]
    fn measured_load_converges_to_formula() {
        let d = DeepRmJobDist::default();
        let set = DeepRmJobSet::generate(&d, 0.5, 200_000, Pattern::Steady, 7, 0).unwrap();
        let load = set.measured_load(10);
        // 200k steps: the standard error of the mean load is about 0.005.
        assert!(
            (load - 0.9225).abs() < 0.02,
            "measured {load}, expected 0.9225 +- 0.02"
        );
        for j in set.arrivals.iter().flatten() {
            assert!(matches!(j.len_steps, 1..=3 | 10..=15));
            let mut s = j.demand_slots.clone();
            s.sort();
            assert!((1..=2).contains(&s[0]) && (5..=10).contains(&s[1]), "{s:?}");
        }
    }
}
