//! The execution model of one step (the simulator's ground truth, BRIEF "The platform model").
//!
//! A step with `p` instances splits its `jobs` evenly (the first `jobs % p` instances take one more).
//! Instance `j` is invoked `t_map(j)` after the step starts ([`Platform::mapping_delay_s`]); a cold
//! instance first pays a cold start. Inside, `q` workers take jobs as they become free (list
//! scheduling). A job's compute follows Amdahl's law on the worker's share of the instance's vCPUs:
//! with `c` vCPUs and `w = min(q, jobs on the instance)` busy workers, each worker gets `a = c / w`
//! cores and a job takes `work_s * ((1 - f) / min(a, 1) + f / a)` (a single-threaded part cannot use
//! more than one core; below one core everything is time-sliced). Each job reads its input and writes
//! its output through storage (log-normal latency per access plus size / bandwidth). With a small
//! probability an instance straggles and its compute is slowed by a random factor.
//!
//! The step finishes when its last instance finishes. Each instance is billed for its duration
//! (including the cold start when the platform bills init time), rounded up to the billing
//! granularity, plus the per-request price.
//!
//! Common random numbers: a step's draws come from one 64-bit step key (the simulation's is keyed by
//! `(seed, request, step)`). Instance `j` draws its straggler and storage noise from its own stream
//! keyed by `(step key, j)`, and its cold start, only when it starts cold, from a second stream keyed by
//! `(step key, j, "cold")`. So an instance's draws do not shift with whether it or any other instance
//! found a warm instance, nor with the other instances' job counts; the configuration changes an
//! instance's draws only through the number of jobs it runs (its `k`-th job always gets the `k`-th
//! storage draws of its stream), and memory and workers not at all.

use des::{FastRng, SimTime};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use workflow::Step;

use crate::{Platform, StepConfig};

/// Where instances come from: a warm pool (the simulation's, shared across requests) or a fixed
/// assumption (all cold, all warm) for profiling.
pub trait InstanceSource {
    /// An instance is needed at `invoke`; returns `true` if a warm one was available (it is taken).
    fn acquire(&mut self, invoke: SimTime) -> bool;
    /// The instance becomes idle (warm) at `free_at`.
    fn release(&mut self, free_at: SimTime);
}

/// Every instance starts cold (a first request, or profiling of cold behaviour).
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysCold;

impl InstanceSource for AlwaysCold {
    fn acquire(&mut self, _invoke: SimTime) -> bool {
        false
    }
    fn release(&mut self, _free_at: SimTime) {}
}

/// Every instance is warm (steady state under load).
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysWarm;

impl InstanceSource for AlwaysWarm {
    fn acquire(&mut self, _invoke: SimTime) -> bool {
        true
    }
    fn release(&mut self, _free_at: SimTime) {}
}

/// The result of running one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepExecution {
    /// When the last instance finished.
    pub finish: SimTime,
    /// Compute and request cost of all instances, USD (no transition price).
    pub cost_usd: f64,
    /// Instances that started cold.
    pub n_cold_starts: u32,
    /// Instances run (= fan-out).
    pub n_instances: u32,
}

/// `e^x` to about 1e-8 relative error for `|x| <= 700`, several times cheaper than libm's `exp`.
/// Used for log-normal draws (storage latency, cold starts), which dominate the simulator's inner loop;
/// pure IEEE arithmetic, so results are identical on every platform.
#[inline]
pub fn exp_fast(x: f64) -> f64 {
    let x = x.clamp(-700.0, 700.0);
    // e^x = 2^n * e^r with n = round(x / ln 2) and |r| <= ln 2 / 2; degree-8 Taylor series for e^r
    // (remainder below 3e-10 relative).
    // Round to nearest by truncating casts (`f64::round` is a slow library call on baseline x86-64).
    let t = x * std::f64::consts::LOG2_E;
    let n = (t + if t >= 0.0 { 0.5 } else { -0.5 }) as i64 as f64;
    let r = x - n * std::f64::consts::LN_2;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0
                            + r * (1.0 / 720.0 + r * (1.0 / 5040.0 + r / 40320.0)))))));
    p * f64::from_bits(((n as i64 + 1023) as u64) << 52)
}

/// Seconds of compute for one job of `step` at `memory_mb` with `busy_workers` workers sharing the
/// instance's vCPUs, without straggling (the Amdahl model described in the module docs).
pub fn job_compute_s(platform: &Platform, step: &Step, memory_mb: u32, busy_workers: u32) -> f64 {
    let cores = platform.vcpus(memory_mb);
    let share = cores / f64::from(busy_workers.max(1));
    let f = step.parallel_fraction;
    step.work_s * ((1.0 - f) / share.min(1.0) + f / share)
}

/// Seconds of storage I/O for one job without latency noise: two median latencies (when there is
/// data to move) plus size / bandwidth.
pub fn job_storage_mean_free_s(platform: &Platform, step: &Step) -> f64 {
    let st = &platform.spec().storage;
    let mut t = (step.input_mb + step.output_mb) / st.bandwidth_mb_per_s;
    if step.input_mb > 0.0 {
        t += st.latency_s_median;
    }
    if step.output_mb > 0.0 {
        t += st.latency_s_median;
    }
    t
}

/// Draws a cold start for `step`'s function, microseconds.
pub fn draw_cold_start<R: Rng + ?Sized>(platform: &Platform, step: &Step, rng: &mut R) -> SimTime {
    let cs = &platform.spec().cold_start;
    let mean = step.cold_start_s.unwrap_or(cs.mean_s);
    if mean <= 0.0 {
        return SimTime::ZERO;
    }
    if cs.cv <= 0.0 {
        return SimTime::from_secs_f64(mean);
    }
    // Log-normal with the given mean and coefficient of variation.
    let sigma2 = (1.0 + cs.cv * cs.cv).ln();
    let mu = mean.ln() - sigma2 / 2.0;
    let z: f64 = StandardNormal.sample(rng);
    SimTime::from_secs_f64(exp_fast(mu + sigma2.sqrt() * z))
}

/// Busy time of one instance running `n_jobs` jobs with `config.workers` workers (no cold start).
/// `free_at` is scratch space (one slot per busy worker).
pub fn instance_busy<R: Rng + ?Sized>(
    platform: &Platform,
    step: &Step,
    config: StepConfig,
    n_jobs: u32,
    rng: &mut R,
    free_at: &mut Vec<f64>,
) -> SimTime {
    if n_jobs == 0 {
        return SimTime::ZERO;
    }
    let spec = platform.spec();
    let busy = config.workers.min(n_jobs);
    let mut compute_s = job_compute_s(platform, step, config.memory_mb, busy);
    let sg = &spec.straggler;
    if sg.probability > 0.0 && rng.random::<f64>() < sg.probability {
        compute_s *= sg.slowdown_min + (sg.slowdown_max - sg.slowdown_min) * rng.random::<f64>();
    }
    let st = &spec.storage;
    let transfer_s = (step.input_mb + step.output_mb) / st.bandwidth_mb_per_s;
    let n_accesses = u32::from(step.input_mb > 0.0) + u32::from(step.output_mb > 0.0);
    let noisy = st.latency_sigma > 0.0 && st.latency_s_median > 0.0 && n_accesses > 0;
    if !noisy {
        let job_s = compute_s + transfer_s + f64::from(n_accesses) * st.latency_s_median;
        let rounds = n_jobs.div_ceil(busy);
        return SimTime::from_secs_f64(f64::from(rounds) * job_s);
    }
    // List scheduling: each job goes to the worker that frees first (ties: lowest index).
    free_at.clear();
    free_at.resize(busy as usize, 0.0);
    let base_s = compute_s + transfer_s;
    for _ in 0..n_jobs {
        let mut job_s = base_s;
        for _ in 0..n_accesses {
            let z: f64 = StandardNormal.sample(rng);
            job_s += st.latency_s_median * exp_fast(st.latency_sigma * z);
        }
        // The worker that frees first (ties: lowest index).
        let mut w_idx = 0;
        for (i, &t) in free_at.iter().enumerate() {
            if t < free_at[w_idx] {
                w_idx = i;
            }
        }
        free_at[w_idx] += job_s;
    }
    SimTime::from_secs_f64(free_at.iter().copied().fold(0.0, f64::max))
}

/// SplitMix64's finaliser: a bijective mix of 64 bits.
#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Salt of the instances' execution streams (straggler, storage).
const SALT_EXEC: u64 = 0x6578_6563_0000_0001;
/// Salt of the instances' cold-start streams.
const SALT_COLD: u64 = 0x636f_6c64_0000_0002;
/// Salt of the instances' retry-jitter streams.
const SALT_RETRY: u64 = 0x7265_7472_0000_0003;

/// The stream of instance `instance_idx` of the step with key `step_key`, for one kind of draw
/// (`salt`). Two rounds of SplitMix64 give the 128-bit state of the PCG generator; seeding costs a few
/// multiplications, so every instance can have its own stream.
#[inline]
fn instance_rng(step_key: u64, instance_idx: u32, salt: u64) -> FastRng {
    let a = mix64(
        step_key
            .wrapping_add(u64::from(instance_idx).wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .wrapping_add(salt),
    );
    let b = mix64(a.wrapping_add(0x9e37_79b9_7f4a_7c15) ^ salt);
    FastRng::new((u128::from(a) << 64) | u128::from(b))
}

/// One instance's run: its cold start (zero when warm) and its busy time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceRun {
    /// Cold-start time (zero for a warm or provisioned instance).
    pub cold: SimTime,
    /// Time running its jobs.
    pub busy: SimTime,
}

/// Jobs of instance `instance_idx` when `step`'s jobs are split evenly over `fan_out` instances (the
/// first `jobs % fan_out` take one more).
#[inline]
pub fn instance_jobs(step: &Step, fan_out: u32, instance_idx: u32) -> u32 {
    let p = fan_out.max(1);
    step.jobs / p + u32::from(instance_idx < step.jobs % p)
}

/// Runs instance `instance_idx` of a step with key `step_key` under `config`: its cold start (drawn
/// from its own cold stream, only when not `warm`) and busy time (from its own execution stream). The
/// draws do not depend on when or in which order instances run (see the module docs).
pub fn run_instance(
    platform: &Platform,
    step: &Step,
    config: StepConfig,
    instance_idx: u32,
    warm: bool,
    step_key: u64,
    scratch: &mut Vec<f64>,
) -> InstanceRun {
    run_instance_of(
        platform,
        step,
        config,
        step.jobs,
        instance_idx,
        warm,
        step_key,
        scratch,
    )
}

/// Runs instance `instance_idx` as [`run_instance`] does, with the step's work being `jobs` jobs
/// instead of `step.jobs` (a cross-request batch runs its members' jobs together), split evenly over
/// `config.fan_out` instances the same way.
#[allow(clippy::too_many_arguments)]
pub fn run_instance_of(
    platform: &Platform,
    step: &Step,
    config: StepConfig,
    jobs: u32,
    instance_idx: u32,
    warm: bool,
    step_key: u64,
    scratch: &mut Vec<f64>,
) -> InstanceRun {
    let cold = if warm {
        SimTime::ZERO
    } else {
        draw_cold_start(
            platform,
            step,
            &mut instance_rng(step_key, instance_idx, SALT_COLD),
        )
    };
    let p = config.fan_out.max(1);
    let n_jobs = jobs / p + u32::from(instance_idx < jobs % p);
    let mut rng = instance_rng(step_key, instance_idx, SALT_EXEC);
    let busy = instance_busy(platform, step, config, n_jobs, &mut rng, scratch);
    InstanceRun { cold, busy }
}

/// A uniform draw in [0, 1) for retry `attempt` of instance `instance_idx` (full jitter), from the
/// instance's own retry stream: retries do not shift any other draw.
pub fn retry_jitter(step_key: u64, instance_idx: u32, attempt: u32) -> f64 {
    let mut rng = instance_rng(
        step_key ^ u64::from(attempt).wrapping_mul(0xd6e8_feb8_6659_fd93),
        instance_idx,
        SALT_RETRY,
    );
    rng.random::<f64>()
}

/// Runs one step that starts at `start` with `config` (assumed feasible: see
/// [`Platform::check_config`]), taking instances from `source` in instance order. The step key is
/// one draw of `rng`; see [`run_step_keyed`].
pub fn run_step<R: Rng + ?Sized>(
    platform: &Platform,
    step: &Step,
    config: StepConfig,
    start: SimTime,
    source: &mut dyn InstanceSource,
    rng: &mut R,
    scratch: &mut Vec<f64>,
) -> StepExecution {
    let step_key: u64 = rng.random();
    run_step_keyed(platform, step, config, start, source, step_key, scratch)
}

/// Runs one step as [`run_step`] does, with every instance's draws from its own streams derived from
/// `step_key` (common random numbers: see the module docs).
pub fn run_step_keyed(
    platform: &Platform,
    step: &Step,
    config: StepConfig,
    start: SimTime,
    source: &mut dyn InstanceSource,
    step_key: u64,
    scratch: &mut Vec<f64>,
) -> StepExecution {
    let p = config.fan_out.max(1);
    let mut finish = start;
    let mut cost_usd = 0.0;
    let mut n_cold_starts = 0;
    let bill_cold = platform.spec().bill_cold_start;
    for j in 0..p {
        let invoke = start + SimTime::from_secs_f64(platform.mapping_delay_s(j));
        let warm = source.acquire(invoke);
        n_cold_starts += u32::from(!warm);
        let run = run_instance(platform, step, config, j, warm, step_key, scratch);
        let done = invoke + run.cold + run.busy;
        let billed = if bill_cold {
            run.cold + run.busy
        } else {
            run.busy
        };
        cost_usd += platform.instance_cost_usd(config.memory_mb, billed.as_us());
        source.release(done);
        finish = finish.max(done);
    }
    StepExecution {
        finish,
        cost_usd,
        n_cold_starts,
        n_instances: p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn step(work_s: f64, f: f64, jobs: u32) -> Step {
        let spec = workflow::WorkflowSpec {
            name: "w".into(),
            steps: vec![workflow::StepSpec {
                name: "s".into(),
                jobs: Some(jobs),
                work_s: Some(work_s),
                parallel_fraction: Some(f),
                ..Default::default()
            }],
            ..Default::default()
        };
        workflow::Workflow::from_spec(&spec, "t").unwrap().steps()[0].clone()
    }

    #[test]
    fn exp_fast_matches_libm() {
        let mut x = -30.0;
        while x < 30.0 {
            let rel = (exp_fast(x) - x.exp()).abs() / x.exp();
            assert!(rel < 1e-9, "x = {x}: relative error {rel}");
            x += 0.0137;
        }
        assert!(exp_fast(-1e9) >= 0.0 && exp_fast(1e9).is_finite());
    }

    #[test]
    fn amdahl_on_vcpu_share() {
        let p = Platform::deterministic();
        let s = step(2.0, 0.5, 4);
        // One core at 1769 MB, one worker: 2 s.
        assert!((job_compute_s(&p, &s, 1769, 1) - 2.0).abs() < 1e-12);
        // Half a core: everything twice as slow.
        assert!((job_compute_s(&p, &s, 1769 / 2, 1) - 2.0 * 1769.0 / 884.0).abs() < 1e-9);
        // Six cores, one worker: serial 1 s + parallel 1/6 s.
        assert!((job_compute_s(&p, &s, 10_240, 1) - (1.0 + 1.0 / 6.0)).abs() < 1e-12);
        // Six cores, three workers: two cores each.
        assert!((job_compute_s(&p, &s, 10_240, 3) - 1.5).abs() < 1e-12);
    }

    #[test]
    fn deterministic_instance_runs_rounds_of_jobs() {
        let p = Platform::deterministic();
        let s = step(1.0, 0.0, 5);
        let mut rng = des::SimRng::seed_from_u64(1);
        let mut scratch = Vec::new();
        // 5 jobs, 2 workers sharing one vCPU (half a core each, 2 s a job): 3 rounds.
        let t = instance_busy(
            &p,
            &s,
            StepConfig::new(1769, 1, 2),
            5,
            &mut rng,
            &mut scratch,
        );
        assert_eq!(t, SimTime::from_secs_f64(6.0));
    }
}
