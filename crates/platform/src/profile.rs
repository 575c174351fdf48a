//! Platform profiles: the data that describes a FaaS platform (memory -> CPU, prices, cold starts,
//! keep-alive, mapping delay, storage latency, stragglers). [`PlatformSpec`] is the file format with
//! documented defaults (an AWS Lambda-like platform, x86, us-east-1); [`Platform`] is the validated form.
//!
//! Sources of the defaults (see `../shared/data/README.md`): memory 128..10,240 MB, one full vCPU at
//! 1,769 MB and six at 10,240 MB; 0.0000166667 USD per GB-second billed per 1 ms; 0.20 USD per million
//! requests; Step Functions standard 0.025 USD per 1,000 state transitions; cold starts "almost always
//! within 800 ms" for small packages (median about 0.2-0.3 s); StepConf Fig. 4 for the mapping delay
//! (low up to about 30 concurrent instances, growing fast beyond 40). Storage latency and straggler
//! figures are modelling choices (an S3-like store: tens of ms median with a heavy log-normal tail).
//!
//! Concurrency (AWS Lambda documentation, "Lambda quotas" and "Understanding Lambda function scaling"):
//! an account concurrency limit of 1,000 per Region; reserved concurrency per function (a cap, taken
//! out of the account's unreserved pool); each function scales by at most 1,000 new execution
//! environments every 10 seconds (modelled as a token bucket of 1,000 tokens refilled at 100 per
//! second, one token per cold start). Provisioned concurrency (AWS Lambda pricing, x86, us-east-1):
//! 0.0000041667 USD per GB-second provisioned, and 0.0000097222 USD per GB-second of duration on a
//! provisioned environment (instead of 0.0000166667), requests at the usual price; environments take
//! "a few minutes" to provision (`provisioning_delay_s`, default 120 s). Not modelled: AWS's rule that
//! 100 units stay unreserved (a profile may reserve up to the whole limit), billing of provisioned
//! concurrency in 5-minute increments (it is billed per second it is ready).

use serde::{Deserialize, Serialize};

use crate::error::{Error, parse_yaml_or_json, read_file};

/// A platform profile as written in a file. Every field has a default (the Lambda-like platform).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlatformSpec {
    /// Profile name.
    pub name: String,
    /// Smallest memory size offered, MB.
    pub memory_mb_min: u32,
    /// Largest memory size offered, MB.
    pub memory_mb_max: u32,
    /// Memory sizes are offered in steps of this many MB from `memory_mb_min`.
    pub memory_mb_step: u32,
    /// Memory at which a function gets exactly one full vCPU, MB (StepConf's `m_s`).
    pub vcpu_full_mb: u32,
    /// vCPUs at `memory_mb_max`; CPU grows linearly from one at `vcpu_full_mb`.
    pub vcpu_max: f64,
    /// Compute price, USD per GB-second.
    pub price_usd_per_gb_s: f64,
    /// Price per function invocation, USD.
    pub price_usd_per_request: f64,
    /// Orchestrator price per state transition, USD.
    pub price_usd_per_transition: f64,
    /// Billing granularity, ms (durations are rounded up to a multiple).
    pub billing_granularity_ms: u32,
    /// Whether cold-start (init) time is billed (AWS bills the init phase of on-demand functions since
    /// August 2025).
    pub bill_cold_start: bool,
    /// Warm instances are kept this long after their last use, seconds.
    pub keep_alive_s: f64,
    /// Orchestration delay before every step starts, seconds.
    pub transition_delay_s: f64,
    /// Cold-start time distribution.
    pub cold_start: ColdStartSpec,
    /// Delay before the j-th instance of a step is invoked.
    pub mapping_delay: MappingDelaySpec,
    /// Storage service latency and bandwidth.
    pub storage: StorageSpec,
    /// Straggling instances.
    pub straggler: StragglerSpec,
    /// Price of provisioned concurrency while it is ready, USD per GB-second.
    pub price_usd_per_gb_s_provisioned: f64,
    /// Duration price of an invocation on a provisioned environment, USD per GB-second.
    pub price_usd_per_gb_s_provisioned_duration: f64,
    /// Concurrency limits, scaling rate, reserved and provisioned concurrency.
    pub concurrency: ConcurrencySpec,
}

/// Concurrency: limits, the scaling rate of new execution environments, reserved and provisioned
/// concurrency at the run's start, and how long changes take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConcurrencySpec {
    /// Most instances running at once over the whole account (AWS default 1,000).
    pub account_limit: u32,
    /// New execution environments (cold starts) a function may create per `scale_period_s` (AWS:
    /// 1,000 every 10 seconds); 0 switches the scaling limit off.
    pub scale_environments: u32,
    /// The period of `scale_environments`, seconds.
    pub scale_period_s: f64,
    /// Reserved concurrency by function name at the run's start (a cap on the function; the sum is
    /// taken out of the account's unreserved concurrency).
    pub reserved: std::collections::BTreeMap<String, u32>,
    /// Provisioned concurrency at the run's start (ready at time zero).
    pub provisioned: Vec<ProvisionedSpec>,
    /// Seconds before newly requested provisioned environments are ready.
    pub provisioning_delay_s: f64,
    /// Seconds before a change of memory (alias), reserved concurrency or step configuration applies.
    pub update_delay_s: f64,
}

/// Provisioned concurrency of one function at one memory size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionedSpec {
    /// Function name.
    pub function: String,
    /// Memory of the provisioned environments, MB.
    pub memory_mb: u32,
    /// Provisioned environments.
    pub level: u32,
}

impl Default for ConcurrencySpec {
    fn default() -> Self {
        ConcurrencySpec {
            account_limit: 1_000,
            scale_environments: 1_000,
            scale_period_s: 10.0,
            reserved: std::collections::BTreeMap::new(),
            provisioned: Vec::new(),
            provisioning_delay_s: 120.0,
            update_delay_s: 10.0,
        }
    }
}

/// Cold starts: log-normal with the function's mean (the step's `cold_start_s`, else `mean_s`) and
/// coefficient of variation `cv` (0 gives a constant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ColdStartSpec {
    /// Mean cold start of a function that does not give its own, seconds.
    pub mean_s: f64,
    /// Coefficient of variation (standard deviation / mean).
    pub cv: f64,
}

/// Mapping delay (StepConf Fig. 4, Fig. 7): instance `j` (0-based) of a step is invoked
/// `per_instance_s * j + growth_s * max(0, j - knee)^2` seconds after the step starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MappingDelaySpec {
    /// Linear delay per instance, seconds.
    pub per_instance_s: f64,
    /// Number of instances after which the delay grows quadratically.
    pub knee: u32,
    /// Quadratic growth coefficient beyond the knee, seconds.
    pub growth_s: f64,
}

/// Storage: each job reads its input and writes its output; each access costs a log-normal latency
/// (median `latency_s_median`, log-space standard deviation `latency_sigma`) plus size / bandwidth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSpec {
    /// Median latency of one access, seconds.
    pub latency_s_median: f64,
    /// Log-space standard deviation of the latency (0 gives a constant; 1 is a heavy tail).
    pub latency_sigma: f64,
    /// Transfer bandwidth of one worker, MB per second.
    pub bandwidth_mb_per_s: f64,
}

/// Stragglers: with `probability`, an instance's compute is slowed by a factor uniform in
/// `[slowdown_min, slowdown_max]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StragglerSpec {
    /// Probability that an instance straggles.
    pub probability: f64,
    /// Smallest slowdown factor.
    pub slowdown_min: f64,
    /// Largest slowdown factor.
    pub slowdown_max: f64,
}

impl Default for PlatformSpec {
    fn default() -> Self {
        PlatformSpec {
            name: "aws-lambda-x86".into(),
            memory_mb_min: 128,
            memory_mb_max: 10_240,
            memory_mb_step: 1,
            vcpu_full_mb: 1_769,
            vcpu_max: 6.0,
            price_usd_per_gb_s: 0.000_016_666_7,
            price_usd_per_request: 0.000_000_2,
            price_usd_per_transition: 0.000_025,
            billing_granularity_ms: 1,
            bill_cold_start: true,
            keep_alive_s: 600.0,
            transition_delay_s: 0.02,
            cold_start: ColdStartSpec::default(),
            mapping_delay: MappingDelaySpec::default(),
            storage: StorageSpec::default(),
            straggler: StragglerSpec::default(),
            price_usd_per_gb_s_provisioned: 0.000_004_166_7,
            price_usd_per_gb_s_provisioned_duration: 0.000_009_722_2,
            concurrency: ConcurrencySpec::default(),
        }
    }
}

impl Default for ColdStartSpec {
    fn default() -> Self {
        ColdStartSpec {
            mean_s: 0.4,
            cv: 0.5,
        }
    }
}

impl Default for MappingDelaySpec {
    fn default() -> Self {
        MappingDelaySpec {
            per_instance_s: 0.008,
            knee: 32,
            growth_s: 0.0015,
        }
    }
}

impl Default for StorageSpec {
    fn default() -> Self {
        StorageSpec {
            latency_s_median: 0.025,
            latency_sigma: 0.8,
            bandwidth_mb_per_s: 90.0,
        }
    }
}

impl Default for StragglerSpec {
    fn default() -> Self {
        StragglerSpec {
            probability: 0.01,
            slowdown_min: 1.5,
            slowdown_max: 3.0,
        }
    }
}

impl PlatformSpec {
    /// The default profile with every source of randomness and delay switched off: no storage jitter
    /// or latency, no stragglers, no cold starts, no mapping or transition delay. Useful for
    /// hand-checked scenarios and for measuring a configuration's mean behaviour.
    pub fn deterministic() -> Self {
        PlatformSpec {
            name: "aws-lambda-x86-deterministic".into(),
            transition_delay_s: 0.0,
            cold_start: ColdStartSpec {
                mean_s: 0.0,
                cv: 0.0,
            },
            mapping_delay: MappingDelaySpec {
                per_instance_s: 0.0,
                knee: 0,
                growth_s: 0.0,
            },
            storage: StorageSpec {
                latency_s_median: 0.0,
                latency_sigma: 0.0,
                bandwidth_mb_per_s: 90.0,
            },
            straggler: StragglerSpec {
                probability: 0.0,
                slowdown_min: 1.0,
                slowdown_max: 1.0,
            },
            ..PlatformSpec::default()
        }
    }
}

/// A validated platform profile. Invariants: every number is finite and within its bound in
/// [`crate::limits`];
/// `memory_mb_min <= vcpu_full_mb <= memory_mb_max`; `vcpu_max >= 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct Platform {
    spec: PlatformSpec,
}

impl Default for Platform {
    fn default() -> Self {
        Platform::lambda()
    }
}

impl Platform {
    /// The Lambda-like default.
    pub fn lambda() -> Self {
        Platform::from_spec(PlatformSpec::default(), "built-in").expect("default profile is valid")
    }

    /// The default with all noise and delays off (see [`PlatformSpec::deterministic`]).
    pub fn deterministic() -> Self {
        Platform::from_spec(PlatformSpec::deterministic(), "built-in")
            .expect("deterministic profile is valid")
    }

    /// Reads a profile file (YAML, or JSON when it starts with `{`).
    pub fn load(path: &std::path::Path) -> Result<Self, Error> {
        let text = read_file(path)?;
        let name = path.display().to_string();
        Platform::from_spec(parse_yaml_or_json(&text, &name)?, &name)
    }

    /// Parses and validates profile text (YAML, or JSON when it starts with `{`); errors name
    /// `source_name` and the line.
    pub fn from_text(text: &str, source_name: &str) -> Result<Self, Error> {
        Platform::from_spec(parse_yaml_or_json(text, source_name)?, source_name)
    }

    /// Validates a spec against the bounds in [`crate::limits`]; all problems are reported at once,
    /// each naming its field.
    pub fn from_spec(spec: PlatformSpec, source_name: &str) -> Result<Self, Error> {
        use crate::limits::*;
        let mut problems = Vec::new();
        // Comparisons with NaN are false, so every check also rejects NaN (and `is_finite` the infinities).
        let mut num = |field: &str, v: f64, lo: f64, hi: f64| {
            if !(v.is_finite() && v >= lo && v <= hi) {
                problems.push(format!(
                    "{field} = {}: must be in [{}, {}]",
                    fmt_num(v),
                    fmt_num(lo),
                    fmt_num(hi)
                ));
            }
        };
        num("vcpu_max", spec.vcpu_max, 1.0, VCPU_MAX);
        num(
            "price_usd_per_gb_s",
            spec.price_usd_per_gb_s,
            0.0,
            PRICE_USD_MAX,
        );
        num(
            "price_usd_per_request",
            spec.price_usd_per_request,
            0.0,
            PRICE_USD_MAX,
        );
        num(
            "price_usd_per_transition",
            spec.price_usd_per_transition,
            0.0,
            PRICE_USD_MAX,
        );
        num("keep_alive_s", spec.keep_alive_s, 0.0, KEEP_ALIVE_S_MAX);
        num(
            "transition_delay_s",
            spec.transition_delay_s,
            0.0,
            DELAY_S_MAX,
        );
        num(
            "cold_start.mean_s",
            spec.cold_start.mean_s,
            0.0,
            DELAY_S_MAX,
        );
        num("cold_start.cv", spec.cold_start.cv, 0.0, COLD_START_CV_MAX);
        let md = &spec.mapping_delay;
        num(
            "mapping_delay.per_instance_s",
            md.per_instance_s,
            0.0,
            DELAY_S_MAX,
        );
        num("mapping_delay.growth_s", md.growth_s, 0.0, DELAY_S_MAX);
        let st = &spec.storage;
        num(
            "storage.latency_s_median",
            st.latency_s_median,
            0.0,
            DELAY_S_MAX,
        );
        num("storage.latency_sigma", st.latency_sigma, 0.0, 5.0);
        num(
            "storage.bandwidth_mb_per_s",
            st.bandwidth_mb_per_s,
            BANDWIDTH_MB_PER_S_MIN,
            BANDWIDTH_MB_PER_S_MAX,
        );
        num(
            "price_usd_per_gb_s_provisioned",
            spec.price_usd_per_gb_s_provisioned,
            0.0,
            PRICE_USD_MAX,
        );
        num(
            "price_usd_per_gb_s_provisioned_duration",
            spec.price_usd_per_gb_s_provisioned_duration,
            0.0,
            PRICE_USD_MAX,
        );
        let cc = &spec.concurrency;
        num(
            "concurrency.scale_period_s",
            cc.scale_period_s,
            1e-3,
            DELAY_S_MAX,
        );
        num(
            "concurrency.provisioning_delay_s",
            cc.provisioning_delay_s,
            0.0,
            DELAY_S_MAX,
        );
        num(
            "concurrency.update_delay_s",
            cc.update_delay_s,
            0.0,
            DELAY_S_MAX,
        );
        let sg = &spec.straggler;
        num("straggler.probability", sg.probability, 0.0, 1.0);
        num("straggler.slowdown_min", sg.slowdown_min, 1.0, SLOWDOWN_MAX);
        if sg.slowdown_max.is_finite() && sg.slowdown_max < sg.slowdown_min {
            problems.push(format!(
                "straggler.slowdown_max = {}: must be >= straggler.slowdown_min ({})",
                fmt_num(sg.slowdown_max),
                fmt_num(sg.slowdown_min)
            ));
        } else {
            num("straggler.slowdown_max", sg.slowdown_max, 1.0, SLOWDOWN_MAX);
        }
        if spec.memory_mb_min == 0 || spec.memory_mb_min > spec.memory_mb_max {
            problems.push(format!(
                "memory_mb_min = {}, memory_mb_max = {}: need 0 < min <= max",
                spec.memory_mb_min, spec.memory_mb_max
            ));
        }
        if spec.memory_mb_max > MEMORY_MB_MAX {
            problems.push(format!(
                "memory_mb_max = {}: must be <= {MEMORY_MB_MAX} (1 TiB)",
                spec.memory_mb_max
            ));
        }
        if spec.memory_mb_step == 0 {
            problems.push("memory_mb_step = 0: must be >= 1".into());
        }
        if spec.billing_granularity_ms == 0
            || spec.billing_granularity_ms > BILLING_GRANULARITY_MS_MAX
        {
            problems.push(format!(
                "billing_granularity_ms = {}: must be in [1, {BILLING_GRANULARITY_MS_MAX}]",
                spec.billing_granularity_ms
            ));
        }
        if !(1..=CONCURRENCY_MAX).contains(&cc.account_limit) {
            problems.push(format!(
                "concurrency.account_limit = {}: must be in [1, {CONCURRENCY_MAX}]",
                cc.account_limit
            ));
        }
        if cc.scale_environments > CONCURRENCY_MAX {
            problems.push(format!(
                "concurrency.scale_environments = {}: must be <= {CONCURRENCY_MAX}",
                cc.scale_environments
            ));
        }
        let reserved_sum: u64 = cc.reserved.values().map(|&r| u64::from(r)).sum();
        if reserved_sum > u64::from(cc.account_limit) {
            problems.push(format!(
                "concurrency.reserved: {reserved_sum} reserved in all, more than \
                 concurrency.account_limit ({})",
                cc.account_limit
            ));
        }
        let mut provisioned_sum = 0u64;
        for (i, p) in cc.provisioned.iter().enumerate() {
            provisioned_sum += u64::from(p.level);
            if let Some(&r) = cc.reserved.get(&p.function)
                && p.level > r
            {
                problems.push(format!(
                    "concurrency.provisioned[{i}] ({}, {} MB): level {} is above the function's \
                     reserved concurrency {r}",
                    p.function, p.memory_mb, p.level
                ));
            }
            if cc.provisioned[..i]
                .iter()
                .any(|q| q.function == p.function && q.memory_mb == p.memory_mb)
            {
                problems.push(format!(
                    "concurrency.provisioned[{i}] ({}, {} MB): given twice",
                    p.function, p.memory_mb
                ));
            }
        }
        if provisioned_sum > u64::from(cc.account_limit) {
            problems.push(format!(
                "concurrency.provisioned: {provisioned_sum} provisioned in all, more than \
                 concurrency.account_limit ({})",
                cc.account_limit
            ));
        }
        if spec.vcpu_full_mb == 0 || spec.vcpu_full_mb > spec.memory_mb_max {
            problems.push(format!(
                "vcpu_full_mb = {}: must be in 1..=memory_mb_max",
                spec.vcpu_full_mb
            ));
        }
        if !problems.is_empty() {
            return Err(Error::InvalidProfile {
                source_name: source_name.to_owned(),
                problems,
            });
        }
        Ok(Platform { spec })
    }

    /// The profile's data.
    pub fn spec(&self) -> &PlatformSpec {
        &self.spec
    }

    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Whether the platform offers this memory size.
    pub fn offers_memory(&self, memory_mb: u32) -> bool {
        let s = &self.spec;
        (s.memory_mb_min..=s.memory_mb_max).contains(&memory_mb)
            && (memory_mb - s.memory_mb_min).is_multiple_of(s.memory_mb_step)
    }

    /// vCPUs allotted at `memory_mb`: `memory_mb / vcpu_full_mb` below one full vCPU (a time-sliced
    /// share), then linear from one at `vcpu_full_mb` to `vcpu_max` at `memory_mb_max`.
    pub fn vcpus(&self, memory_mb: u32) -> f64 {
        let s = &self.spec;
        let m = f64::from(memory_mb);
        let full = f64::from(s.vcpu_full_mb);
        if m <= full || s.memory_mb_max == s.vcpu_full_mb {
            (m / full).min(s.vcpu_max)
        } else {
            1.0 + (m - full) * (s.vcpu_max - 1.0) / (f64::from(s.memory_mb_max) - full)
        }
    }

    /// Mapping delay of instance `j` (0-based) after the step starts, seconds (StepConf `t_map(j)`).
    pub fn mapping_delay_s(&self, j: u32) -> f64 {
        let md = &self.spec.mapping_delay;
        let beyond = f64::from(j.saturating_sub(md.knee));
        md.per_instance_s * f64::from(j) + md.growth_s * beyond * beyond
    }

    /// Billed cost of one instance that ran `duration_us` at `memory_mb`: the duration rounded up to
    /// the billing granularity, times GB, times the GB-second price, plus the request price.
    pub fn instance_cost_usd(&self, memory_mb: u32, duration_us: u64) -> f64 {
        let g_us = u64::from(self.spec.billing_granularity_ms) * 1_000;
        // Saturating: a duration near `SimTime::MAX` (a saturated, "never" time) bills the largest
        // representable duration instead of wrapping to a tiny one.
        let billed_us = duration_us.div_ceil(g_us).saturating_mul(g_us);
        billed_us as f64 / 1e6 * f64::from(memory_mb) / 1024.0 * self.spec.price_usd_per_gb_s
            + self.spec.price_usd_per_request
    }

    /// Cost of one invocation of `duration_us` on a provisioned environment at `memory_mb`, USD: the
    /// provisioned duration price (rounded up to the billing granularity) plus the request price.
    pub fn provisioned_invocation_cost_usd(&self, memory_mb: u32, duration_us: u64) -> f64 {
        let g_us = u64::from(self.spec.billing_granularity_ms) * 1_000;
        let billed_us = duration_us.div_ceil(g_us).saturating_mul(g_us);
        billed_us as f64 / 1e6 * f64::from(memory_mb) / 1024.0
            * self.spec.price_usd_per_gb_s_provisioned_duration
            + self.spec.price_usd_per_request
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vcpus_follow_lambda() {
        let p = Platform::lambda();
        assert!((p.vcpus(1769) - 1.0).abs() < 1e-12);
        assert!((p.vcpus(10_240) - 6.0).abs() < 1e-12);
        assert!((p.vcpus(884) - 884.0 / 1769.0).abs() < 1e-12);
        assert!(
            p.offers_memory(128)
                && p.offers_memory(10_240)
                && !p.offers_memory(127)
                && !p.offers_memory(10_241)
        );
    }

    #[test]
    fn billing_rounds_up_to_the_ms() {
        let p = Platform::lambda();
        // 1.0001 s at 1024 MB bills 1.001 GB-s.
        let c = p.instance_cost_usd(1024, 1_000_100);
        assert!((c - (1.001 * 0.000_016_666_7 + 0.000_000_2)).abs() < 1e-15);
    }

    #[test]
    fn bad_profile_lists_every_problem() {
        let spec = PlatformSpec {
            vcpu_max: f64::NAN,
            memory_mb_step: 0,
            keep_alive_s: -1.0,
            ..PlatformSpec::default()
        };
        let e = Platform::from_spec(spec, "p.yaml").unwrap_err().to_string();
        assert!(
            e.contains("vcpu_max = NaN")
                && e.contains("memory_mb_step = 0")
                && e.contains("keep_alive_s = -1"),
            "{e}"
        );
    }

    #[test]
    fn mapping_delay_grows_past_the_knee() {
        let p = Platform::lambda();
        assert_eq!(p.mapping_delay_s(0), 0.0);
        let d31 = p.mapping_delay_s(31);
        let d63 = p.mapping_delay_s(63);
        assert!(d31 < 0.3 && d63 > 1.5, "{d31} {d63}");
    }
}
