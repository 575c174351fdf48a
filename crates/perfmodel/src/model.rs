//! The fitted performance model: per step, StepConf Eq. 1 (or our Amdahl-form extension) for the
//! compute duration of an instance plus the mapping delay `t_map(p)`, and predictions of step duration
//! and cost for any configuration `(m, p, q)`.
//!
//! Predictions are pure arithmetic on a few `f64`s: no allocation, no branches on data beyond the
//! case split, so the optimizer can call them 10^6 times per decision budget.

use serde::{Deserialize, Serialize};
use workflow::StepId;

use platform::StepConfig;

/// The platform facts a model needs at prediction time: the memory -> vCPU curve and the prices
/// (copied from [`platform::Platform`] when the model is fitted, saved with it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformFacts {
    /// Name of the platform profile the model was fitted for.
    pub name: String,
    /// Memory with exactly one full vCPU, MB (StepConf's `m_s`; 1,769 MB on AWS Lambda).
    pub vcpu_full_mb: u32,
    /// vCPUs at `memory_mb_max`.
    pub vcpu_max: f64,
    /// Largest memory size, MB.
    pub memory_mb_max: u32,
    /// Compute price, USD per GB-second.
    pub price_usd_per_gb_s: f64,
    /// Price per invocation, USD.
    pub price_usd_per_request: f64,
    /// Billing granularity, ms.
    pub billing_granularity_ms: u32,
}

impl PlatformFacts {
    /// The facts of `platform`.
    pub fn of(platform: &platform::Platform) -> Self {
        let s = platform.spec();
        PlatformFacts {
            name: s.name.clone(),
            vcpu_full_mb: s.vcpu_full_mb,
            vcpu_max: s.vcpu_max,
            memory_mb_max: s.memory_mb_max,
            price_usd_per_gb_s: s.price_usd_per_gb_s,
            price_usd_per_request: s.price_usd_per_request,
            billing_granularity_ms: s.billing_granularity_ms,
        }
    }

    /// vCPUs at `memory_mb` (the same curve as [`platform::Platform::vcpus`]: a time-sliced share
    /// below `vcpu_full_mb`, then linear to `vcpu_max`).
    #[inline]
    pub fn vcpus(&self, memory_mb: u32) -> f64 {
        let m = f64::from(memory_mb);
        let full = f64::from(self.vcpu_full_mb);
        if m <= full || self.memory_mb_max == self.vcpu_full_mb {
            (m / full).min(self.vcpu_max)
        } else {
            1.0 + (m - full) * (self.vcpu_max - 1.0) / (f64::from(self.memory_mb_max) - full)
        }
    }

    /// The facts that differ between `self` (a model's) and `other` (a platform's), one
    /// `field: self vs other` line each, in field order; empty when every number agrees (the names
    /// may differ).
    pub fn differences(&self, other: &PlatformFacts) -> Vec<String> {
        let mut out = Vec::new();
        let mut num = |field: &str, a: f64, b: f64| {
            if a != b {
                out.push(format!("{field}: {a} vs {b}"));
            }
        };
        num(
            "vcpu_full_mb",
            f64::from(self.vcpu_full_mb),
            f64::from(other.vcpu_full_mb),
        );
        num("vcpu_max", self.vcpu_max, other.vcpu_max);
        num(
            "memory_mb_max",
            f64::from(self.memory_mb_max),
            f64::from(other.memory_mb_max),
        );
        num(
            "price_usd_per_gb_s",
            self.price_usd_per_gb_s,
            other.price_usd_per_gb_s,
        );
        num(
            "price_usd_per_request",
            self.price_usd_per_request,
            other.price_usd_per_request,
        );
        num(
            "billing_granularity_ms",
            f64::from(self.billing_granularity_ms),
            f64::from(other.billing_granularity_ms),
        );
        out
    }

    /// Billed cost of one instance that ran `duration_s` at `memory_mb`: the duration rounded up to the
    /// billing granularity, times GB, times the GB-second price, plus the request price.
    #[inline]
    pub fn instance_cost_usd(&self, memory_mb: u32, duration_s: f64) -> f64 {
        let g_s = f64::from(self.billing_granularity_ms) / 1e3;
        // Round to the microsecond first so that float noise never bills an extra millisecond.
        let billed_s = ((duration_s.max(0.0) * 1e6).round() / 1e6 / g_s).ceil() * g_s;
        billed_s * f64::from(memory_mb) / 1024.0 * self.price_usd_per_gb_s
            + self.price_usd_per_request
    }
}

/// How the Eq. 1 features `gamma_bar` (jobs per instance) and `k` (speed-up bound) are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Features {
    /// Exactly as in the paper: `gamma_bar = jobs / p`, `k = min(m / m_s, q)`.
    Paper,
    /// Our refinement (default): the busiest instance gets `g = ceil(jobs / p)` jobs, only
    /// `w = min(q, g)` workers are busy, and they run in `ceil(g / w)` rounds, so
    /// `gamma_bar = ceil(g / w) * w` (job slots) and `k = min(m / m_s, w)`. Equal to the paper's features
    /// whenever `p` divides `jobs` and `q` divides `jobs / p`.
    #[default]
    Rounds,
}

/// The features of one configuration, computed without allocation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfigFeatures {
    /// Jobs per instance `gamma_bar` (see [`Features`]).
    pub gamma_bar: f64,
    /// `k = min(m / m_s, q)` (or with busy workers, see [`Features`]).
    pub k: f64,
    /// vCPUs of the instance.
    pub vcpus: f64,
    /// Busy workers `w` (`q` in paper mode).
    pub busy_workers: f64,
}

impl Features {
    /// Busy workers of an instance with `workers` workers and `jobs_per_instance` jobs: `min(q, g)`
    /// with `g = ceil(jobs)` ([`Features::Rounds`]), `q` in paper mode.
    #[inline]
    pub fn busy_workers(self, workers: u32, jobs_per_instance: f64) -> f64 {
        let q = f64::from(workers.max(1));
        match self {
            Features::Paper => q,
            Features::Rounds => q.min(jobs_per_instance.ceil().max(1.0)),
        }
    }

    /// Features of `n_jobs` jobs on one instance with `memory_mb` and `workers`, for `p` instances
    /// sharing `jobs` (`n_jobs` = jobs of the instance; pass `jobs / p` as a float in paper mode).
    #[inline]
    pub fn compute(
        self,
        facts: &PlatformFacts,
        memory_mb: u32,
        workers: u32,
        jobs_per_instance: f64,
    ) -> ConfigFeatures {
        let m_rel = f64::from(memory_mb) / f64::from(facts.vcpu_full_mb);
        let q = f64::from(workers.max(1));
        let vcpus = facts.vcpus(memory_mb);
        match self {
            Features::Paper => ConfigFeatures {
                gamma_bar: jobs_per_instance,
                k: m_rel.min(q),
                vcpus,
                busy_workers: q,
            },
            Features::Rounds => {
                let g = jobs_per_instance.ceil().max(1.0);
                let w = q.min(g);
                let rounds = (g / w).ceil();
                ConfigFeatures {
                    gamma_bar: rounds * w,
                    k: m_rel.min(w),
                    vcpus,
                    busy_workers: w,
                }
            }
        }
    }
}

/// Instances of a step that run the same number of jobs: the platform gives the first `jobs % p`
/// instances one job more, so a step has one or two groups. StepConf's step duration is
/// `max_j [t_map(j) + t_ij]` (Sec. III-B); within a group the last-invoked instance finishes last, so
/// the maximum is over the groups' last instances.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InstanceGroup {
    /// Jobs on each instance of the group (`jobs / p`, a fraction, in paper mode).
    pub jobs_on_instance: f64,
    /// The group's last instance is the `map_fan`-th invoked: it starts at `t_map(map_fan)`.
    pub map_fan: u32,
    /// Instances in the group (for the fan-out tail).
    pub n_instances: u32,
}

/// The instance groups of `jobs` jobs on `fan_out` instances (at most two; the second is `None` when
/// the split is even). Paper features: one group of `jobs / p` jobs, as in StepConf.
#[inline]
pub fn instance_groups(features: Features, jobs: u32, fan_out: u32) -> [Option<InstanceGroup>; 2] {
    let p = fan_out.max(1);
    match features {
        Features::Paper => [
            Some(InstanceGroup {
                jobs_on_instance: f64::from(jobs) / f64::from(p),
                map_fan: p,
                n_instances: p,
            }),
            None,
        ],
        Features::Rounds => {
            let base = jobs / p;
            let extra = jobs % p;
            if extra == 0 {
                [
                    Some(InstanceGroup {
                        jobs_on_instance: f64::from(base),
                        map_fan: p,
                        n_instances: p,
                    }),
                    None,
                ]
            } else {
                let busy = InstanceGroup {
                    jobs_on_instance: f64::from(base + 1),
                    map_fan: extra,
                    n_instances: extra,
                };
                let rest = (base > 0).then_some(InstanceGroup {
                    jobs_on_instance: f64::from(base),
                    map_fan: p,
                    n_instances: p - extra,
                });
                [Some(busy), rest]
            }
        }
    }
}

/// StepConf Eq. 1 with its parameters (`delta_s`, the relative performance at `m_s`, is 1: durations
/// are relative to one full vCPU, and any other value rescales `alpha_2` and `beta_2`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "case", rename_all = "snake_case")]
pub enum Eq1 {
    /// Case 1, multi-core friendly: `t = (alpha1 * gamma_bar + beta1) * exp(-alpha2 * k) + phi1`.
    Case1 {
        /// `alpha_{i,1}`, seconds per job.
        alpha1_s: f64,
        /// `beta_{i,1}`, seconds.
        beta1_s: f64,
        /// `alpha_{i,2}`, per unit of `k`.
        alpha2: f64,
        /// `phi_{i,1}`, seconds.
        phi1_s: f64,
    },
    /// Case 2, single-threaded or `m < m_s`: `t = alpha2 * gamma_bar / (delta_s * k + beta2) + phi2`.
    Case2 {
        /// `alpha_{i,2}`, seconds per job at one vCPU.
        alpha2_s: f64,
        /// `beta_{i,2}` (same unit as `k`).
        beta2: f64,
        /// `phi_{i,2}`, seconds.
        phi2_s: f64,
    },
}

impl Eq1 {
    /// Predicted compute duration of an instance, seconds (StepConf Eq. 1).
    #[inline]
    pub fn eval(&self, f: &ConfigFeatures) -> f64 {
        match *self {
            Eq1::Case1 {
                alpha1_s,
                beta1_s,
                alpha2,
                phi1_s,
            } => (alpha1_s * f.gamma_bar + beta1_s) * (-alpha2 * f.k).exp() + phi1_s,
            Eq1::Case2 {
                alpha2_s,
                beta2,
                phi2_s,
            } => alpha2_s * f.gamma_bar / (f.k + beta2) + phi2_s,
        }
    }

    /// `1` or `2`.
    pub fn case(&self) -> u8 {
        match self {
            Eq1::Case1 { .. } => 1,
            Eq1::Case2 { .. } => 2,
        }
    }
}

/// How a step's instance duration is predicted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "form", rename_all = "snake_case")]
pub enum DurationModel {
    /// A step that runs no function (choice, pass): a fixed duration, no cost.
    Fixed {
        /// Duration, seconds.
        duration_s: f64,
    },
    /// StepConf Eq. 1, piece-wise: `low` (case 2, as the paper prescribes) below `m_s`, `high` (case 1
    /// or 2, whichever fits better) from `m_s` on.
    Eq1 {
        /// How `gamma_bar` and `k` are computed.
        features: Features,
        /// Used for `m < m_s`.
        low: Eq1,
        /// Used for `m >= m_s`.
        high: Eq1,
    },
    /// Ours: Amdahl's law on the vCPU share, linear in its parameters:
    /// `t = gamma_bar * (serial / min(c, w) + parallel / c + io / w) + fixed` with `c` vCPUs, `w` busy
    /// workers and `gamma_bar` job slots ([`Features::Rounds`]). It mirrors the simulator's execution
    /// model (see `platform::exec`), so its accuracy there is an optimistic bound.
    Amdahl {
        /// Single-threaded seconds per job at one vCPU.
        serial_s: f64,
        /// Multi-core seconds per job at one vCPU.
        parallel_s: f64,
        /// Per-job seconds that do not depend on CPU (storage), shared by nothing.
        io_s: f64,
        /// Fixed seconds per instance.
        fixed_s: f64,
    },
}

/// The mapping delay of a step (StepConf `t_map(p)`, Fig. 4 and 7): the last of `p` instances starts
/// `per_instance_s * (p - 1) + growth_s * max(0, p - 1 - knee)^2` seconds after the step starts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct MappingDelay {
    /// Linear delay per instance, seconds.
    pub per_instance_s: f64,
    /// Instances after which the delay grows quadratically.
    pub knee: u32,
    /// Quadratic growth beyond the knee, seconds.
    pub growth_s: f64,
}

impl MappingDelay {
    /// `t_map(p)`, seconds.
    #[inline]
    pub fn delay_s(&self, fan_out: u32) -> f64 {
        let j = f64::from(fan_out.max(1) - 1);
        let beyond = (j - f64::from(self.knee)).max(0.0);
        self.per_instance_s * j + self.growth_s * beyond * beyond
    }
}

/// The fan-out tail (ours, not in StepConf): the step ends with the *slowest* of its `p` instances,
/// and storage jitter and stragglers make the expected maximum of `p` instance durations grow with
/// `p`, in proportion to the instance duration. StepConf ignores this fluctuation (Sec. III-B: "the last
/// invoked function ... is the last to finish"). The step's compute part is
/// `t_hat * (1 + linear * (p - 1) + log * ln p)`; both coefficients are `>= 0` and zero when fitted
/// without the tail.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct FanOutTail {
    /// Growth per extra instance.
    pub linear: f64,
    /// Growth per unit of `ln p`.
    pub log: f64,
}

impl FanOutTail {
    /// The factor `1 + linear * (p - 1) + log * ln p`.
    #[inline]
    pub fn factor(&self, fan_out: u32) -> f64 {
        let p = f64::from(fan_out.max(1));
        if self.linear == 0.0 && self.log == 0.0 {
            return 1.0;
        }
        1.0 + self.linear * (p - 1.0) + self.log * p.ln()
    }
}

/// The fitted model of one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepModel {
    /// Step (or function) name.
    pub name: String,
    /// Jobs of the step `gamma` (fan-outs split these).
    pub jobs: u32,
    /// Instance duration model.
    pub duration: DurationModel,
    /// Mapping delay.
    pub mapping: MappingDelay,
    /// Fan-out tail (ours; zero for the paper's model).
    #[serde(default)]
    pub tail: FanOutTail,
    /// Saturation (ours, not in StepConf): memory per busy worker, MB, above which a larger instance
    /// is no faster (the code cannot use the extra vCPU share: I/O waits, a lock, a single-threaded
    /// runtime below one core). Durations are predicted at `min(m, w * saturation_mb)` with `w` busy
    /// workers; billing still uses `m`. `None` (the default, and the paper's model): no saturation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saturation_mb: Option<u32>,
}

/// The memory a duration model sees: `memory_mb` capped at `busy_workers * saturation_mb` (see
/// [`StepModel::saturation_mb`]); `memory_mb` itself without saturation.
#[inline]
pub fn saturated_memory_mb(memory_mb: u32, busy_workers: f64, saturation_mb: Option<u32>) -> u32 {
    match saturation_mb {
        Some(s) => {
            let cap = busy_workers.max(1.0) * f64::from(s.max(1));
            if f64::from(memory_mb) > cap {
                // Invariant: 1 <= cap < memory_mb <= u32::MAX, and cap is a whole number.
                cap as u32
            } else {
                memory_mb
            }
        }
        None => memory_mb,
    }
}

impl StepModel {
    /// A one-line summary of the fitted parameters (for tables).
    pub fn describe(&self) -> String {
        let d = match &self.duration {
            DurationModel::Fixed { duration_s } => return format!("fixed {duration_s:.4} s"),
            DurationModel::Eq1 {
                features,
                low,
                high,
            } => {
                let e = |e: &Eq1| match *e {
                    Eq1::Case1 {
                        alpha1_s,
                        beta1_s,
                        alpha2,
                        phi1_s,
                    } => {
                        format!(
                            "case1(a1={alpha1_s:.4}, b1={beta1_s:.4}, a2={alpha2:.4}, phi1={phi1_s:.4})"
                        )
                    }
                    Eq1::Case2 {
                        alpha2_s,
                        beta2,
                        phi2_s,
                    } => format!("case2(a2={alpha2_s:.4}, b2={beta2:.4}, phi2={phi2_s:.4})"),
                };
                let f = match features {
                    Features::Paper => "paper",
                    Features::Rounds => "rounds",
                };
                format!("eq1[{f}] m<m_s: {} m>=m_s: {}", e(low), e(high))
            }
            DurationModel::Amdahl {
                serial_s,
                parallel_s,
                io_s,
                fixed_s,
            } => {
                format!(
                    "amdahl(serial={serial_s:.4}, parallel={parallel_s:.4}, io={io_s:.4}, fixed={fixed_s:.4})"
                )
            }
        };
        let m = &self.mapping;
        let mut out = format!(
            "{d}; t_map(per={:.5}, knee={}, growth={:.6})",
            m.per_instance_s, m.knee, m.growth_s
        );
        if let Some(s) = self.saturation_mb {
            out.push_str(&format!("; saturates at {s} MB per worker"));
        }
        if self.tail != FanOutTail::default() {
            out.push_str(&format!(
                "; tail(lin={:.5}, log={:.5})",
                self.tail.linear, self.tail.log
            ));
        }
        out
    }

    /// Predicted compute duration of one instance that runs `jobs_on_instance` jobs, seconds.
    #[inline]
    pub fn instance_duration_s(
        &self,
        facts: &PlatformFacts,
        memory_mb: u32,
        workers: u32,
        jobs_on_instance: f64,
    ) -> f64 {
        match &self.duration {
            DurationModel::Fixed { duration_s } => *duration_s,
            DurationModel::Eq1 {
                features,
                low,
                high,
            } => {
                let m = saturated_memory_mb(
                    memory_mb,
                    features.busy_workers(workers, jobs_on_instance),
                    self.saturation_mb,
                );
                let f = features.compute(facts, m, workers, jobs_on_instance);
                // StepConf Eq. 1: case 2 below m_s, the fitted case from m_s on.
                let t = if m < facts.vcpu_full_mb {
                    low.eval(&f)
                } else {
                    high.eval(&f)
                };
                t.max(0.0)
            }
            DurationModel::Amdahl {
                serial_s,
                parallel_s,
                io_s,
                fixed_s,
            } => {
                let m = saturated_memory_mb(
                    memory_mb,
                    Features::Rounds.busy_workers(workers, jobs_on_instance),
                    self.saturation_mb,
                );
                let f = Features::Rounds.compute(facts, m, workers, jobs_on_instance);
                f.gamma_bar
                    * (serial_s / f.vcpus.min(f.busy_workers)
                        + parallel_s / f.vcpus
                        + io_s / f.busy_workers)
                    + fixed_s
            }
        }
    }

    /// The features used for instance groups by this model.
    fn features(&self) -> Features {
        match self.duration {
            DurationModel::Eq1 { features, .. } => features,
            _ => Features::Rounds,
        }
    }

    /// Predicted step duration, seconds: StepConf's `max_j [t_map(j) + t_ij]` over the (at most two)
    /// [`InstanceGroup`]s, each `t_map(last) + t_hat(jobs on instance) * tail(n)` with our
    /// [`FanOutTail`] (factor 1 when fitted without it). In paper mode this is exactly
    /// `t_map(p) + t_hat` with `gamma_bar = jobs / p` (StepConf Sec. III-B).
    #[inline]
    pub fn duration_s(&self, facts: &PlatformFacts, cfg: StepConfig) -> f64 {
        if let DurationModel::Fixed { duration_s } = self.duration {
            return duration_s;
        }
        let mut t = 0.0f64;
        for g in instance_groups(self.features(), self.jobs, cfg.fan_out)
            .into_iter()
            .flatten()
        {
            let inst =
                self.instance_duration_s(facts, cfg.memory_mb, cfg.workers, g.jobs_on_instance);
            t = t.max(self.mapping.delay_s(g.map_fan) + inst * self.tail.factor(g.n_instances));
        }
        t
    }

    /// Predicted step cost, USD: every instance is billed for its own predicted duration (rounded up to
    /// the billing granularity) at `m` GB, plus the request price, i.e. `p * (t * m_GB * price +
    /// price_per_request)` when `p` divides the jobs.
    #[inline]
    pub fn cost_usd(&self, facts: &PlatformFacts, cfg: StepConfig) -> f64 {
        if let DurationModel::Fixed { .. } = self.duration {
            return 0.0;
        }
        // Every instance of a group is billed its own duration (the tail is a maximum, not a mean).
        let mut cost = 0.0;
        for g in instance_groups(self.features(), self.jobs, cfg.fan_out)
            .into_iter()
            .flatten()
        {
            let t = self.instance_duration_s(facts, cfg.memory_mb, cfg.workers, g.jobs_on_instance);
            cost += f64::from(g.n_instances) * facts.instance_cost_usd(cfg.memory_mb, t);
        }
        cost
    }
}

/// A fitted performance model of a workflow: one [`StepModel`] per step, indexed by [`StepId`], and
/// the platform facts used for predictions. Serializable: [`PerfModel::to_json`] /
/// [`PerfModel::from_json`] round-trip bit-identically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerfModel {
    /// Workflow name.
    pub workflow: String,
    /// Root seed of the profiling runs (none for measured samples).
    pub seed: Option<u64>,
    /// Platform facts.
    pub platform: PlatformFacts,
    /// One model per step, in step-id order.
    pub steps: Vec<StepModel>,
}

/// A fitted model is what the optimizer plans with.
impl optimizer::StepPredictor for PerfModel {
    fn duration_s(&self, step: StepId, cfg: StepConfig) -> f64 {
        self.predict_duration_s(step, cfg)
    }
    fn cost_usd(&self, step: StepId, cfg: StepConfig) -> f64 {
        self.predict_cost_usd(step, cfg)
    }
}

impl PerfModel {
    /// Checks that this model has one step model per step of `workflow` (it was fitted to it, or mapped
    /// onto it by [`PerfModel::for_workflow`]).
    pub fn check_fits(&self, workflow: &workflow::Workflow) -> Result<(), crate::Error> {
        if self.steps.len() == workflow.n_steps() {
            return Ok(());
        }
        Err(crate::Error::Invalid {
            place: format!("model of '{}'", self.workflow),
            message: format!(
                "{} step models for workflow '{}' with {} steps",
                self.steps.len(),
                workflow.name,
                workflow.n_steps()
            ),
        })
    }

    /// The model of `step`. Panics if `step` is not a step of the fitted workflow (a programming
    /// error: ids come from the same workflow).
    #[inline]
    pub fn step(&self, step: StepId) -> &StepModel {
        &self.steps[step.idx()]
    }

    /// Predicted duration of `step` under `cfg`, seconds (mapping delay + instance duration; the
    /// orchestrator's transition delay and cold starts are not included). No allocation.
    #[inline]
    pub fn predict_duration_s(&self, step: StepId, cfg: StepConfig) -> f64 {
        self.steps[step.idx()].duration_s(&self.platform, cfg)
    }

    /// Predicted compute and request cost of `step` under `cfg`, USD (no transition price). No
    /// allocation.
    #[inline]
    pub fn predict_cost_usd(&self, step: StepId, cfg: StepConfig) -> f64 {
        self.steps[step.idx()].cost_usd(&self.platform, cfg)
    }

    /// The model as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a model of plain numbers and strings serializes")
    }

    /// Parses a model from JSON labelled `source_name` in errors.
    pub fn from_json(text: &str, source_name: &str) -> Result<Self, crate::Error> {
        let m: PerfModel =
            serde_json::from_str(des::text::strip_bom(text)).map_err(|e| crate::Error::Model {
                source_name: source_name.to_owned(),
                message: e.to_string(),
            })?;
        let problems = m.problems();
        if !problems.is_empty() {
            return Err(crate::Error::Model {
                source_name: source_name.to_owned(),
                message: problems.join("; "),
            });
        }
        Ok(m)
    }

    /// Every value of the model that no fit writes, each naming its field (`steps[2] ('resize')
    /// .duration.high.alpha2_s = -1: must be finite and >= 0`): a platform fact or parameter that is
    /// negative, not finite or zero where a divisor, a saturation of 0 MB, a step name that repeats.
    /// Empty for every model [`crate::fit`] and [`crate::profile`] produce.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let f = &self.platform;
        for (field, v) in [
            ("vcpu_full_mb", f.vcpu_full_mb),
            ("memory_mb_max", f.memory_mb_max),
            ("billing_granularity_ms", f.billing_granularity_ms),
        ] {
            if v == 0 {
                out.push(format!("platform.{field} = 0: must be >= 1"));
            }
        }
        if !(f.vcpu_max.is_finite() && f.vcpu_max > 0.0) {
            out.push(format!(
                "platform.vcpu_max = {}: must be finite and > 0",
                f.vcpu_max
            ));
        }
        for (field, v) in [
            ("price_usd_per_gb_s", f.price_usd_per_gb_s),
            ("price_usd_per_request", f.price_usd_per_request),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                out.push(format!("platform.{field} = {v}: must be finite and >= 0"));
            }
        }
        let mut seen: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for (i, m) in self.steps.iter().enumerate() {
            let place = format!("steps[{i}] ('{}')", m.name);
            if let Some(first) = seen.insert(&m.name, i) {
                out.push(format!("{place}: the name repeats steps[{first}]"));
                seen.insert(&m.name, first);
            }
            let mut num = |field: &str, v: f64| {
                if !(v.is_finite() && v >= 0.0) {
                    out.push(format!("{place}.{field} = {v}: must be finite and >= 0"));
                }
            };
            match &m.duration {
                DurationModel::Fixed { duration_s } => num("duration.duration_s", *duration_s),
                DurationModel::Eq1 { low, high, .. } => {
                    for (seg, e) in [("low", low), ("high", high)] {
                        match *e {
                            Eq1::Case1 {
                                alpha1_s,
                                beta1_s,
                                alpha2,
                                phi1_s,
                            } => {
                                num(&format!("duration.{seg}.alpha1_s"), alpha1_s);
                                num(&format!("duration.{seg}.beta1_s"), beta1_s);
                                num(&format!("duration.{seg}.alpha2"), alpha2);
                                num(&format!("duration.{seg}.phi1_s"), phi1_s);
                            }
                            Eq1::Case2 {
                                alpha2_s,
                                beta2,
                                phi2_s,
                            } => {
                                num(&format!("duration.{seg}.alpha2_s"), alpha2_s);
                                num(&format!("duration.{seg}.beta2"), beta2);
                                num(&format!("duration.{seg}.phi2_s"), phi2_s);
                            }
                        }
                    }
                }
                DurationModel::Amdahl {
                    serial_s,
                    parallel_s,
                    io_s,
                    fixed_s,
                } => {
                    num("duration.serial_s", *serial_s);
                    num("duration.parallel_s", *parallel_s);
                    num("duration.io_s", *io_s);
                    num("duration.fixed_s", *fixed_s);
                }
            }
            num("mapping.per_instance_s", m.mapping.per_instance_s);
            num("mapping.growth_s", m.mapping.growth_s);
            num("tail.linear", m.tail.linear);
            num("tail.log", m.tail.log);
            if m.saturation_mb == Some(0) {
                out.push(format!("{place}.saturation_mb = 0: must be >= 1"));
            }
        }
        out
    }

    /// This model applied to `workflow` (a model read from `source_name`, e.g. saved by `faastune fit
    /// --samples ... --save`, whose step models are in function-name order): one step model per step,
    /// in [`StepId`] order, predicting with `facts` (the platform planned on).
    ///
    /// - Every task step takes the step model whose `name` is the step's name, else the one named
    ///   after the step's `function`; extra step models are ignored. Non-task steps take a fixed
    ///   duration of their `wait_s`, as [`crate::profile::fit_workflow`] gives them.
    /// - `jobs` are the workflow's: a step model's `jobs` describe the runs it was measured on, the
    ///   workflow's the runs being planned, and Eq. 1 (or the Amdahl form) scales with the jobs per
    ///   instance. Each step whose jobs differ from its model's gets a note (the returned strings).
    /// - `facts` replace the model's platform facts: the parameters are in units of the vCPU share
    ///   (Eq. 1's `k = m / m_s`, the Amdahl form's vCPUs), so predictions follow the planned platform's
    ///   memory -> vCPU curve, and costs its prices ([`PlatformFacts::differences`] lists what changed).
    ///
    /// # Errors
    /// [`crate::Error::MissingSteps`] naming every task step without a model and every name the model
    /// has; [`crate::Error::Invalid`] for a task step whose model is a fixed duration (a non-task step's).
    pub fn for_workflow(
        &self,
        workflow: &workflow::Workflow,
        facts: PlatformFacts,
        source_name: &str,
    ) -> Result<(PerfModel, Vec<String>), crate::Error> {
        let by_name: std::collections::BTreeMap<&str, &StepModel> = self
            .steps
            .iter()
            .rev()
            .map(|m| (m.name.as_str(), m))
            .collect();
        let mut steps = Vec::with_capacity(workflow.n_steps());
        let mut missing = Vec::new();
        let mut notes = Vec::new();
        for step in workflow.steps() {
            if step.kind != workflow::StepKind::Task {
                steps.push(StepModel {
                    name: step.name.clone(),
                    jobs: 0,
                    duration: DurationModel::Fixed {
                        duration_s: step.wait_s,
                    },
                    mapping: MappingDelay::default(),
                    tail: FanOutTail::default(),
                    saturation_mb: None,
                });
                continue;
            }
            let Some(found) = by_name
                .get(step.name.as_str())
                .or_else(|| by_name.get(step.function.as_str()))
            else {
                missing.push(step.name.clone());
                continue;
            };
            if let DurationModel::Fixed { .. } = found.duration {
                return Err(crate::Error::Invalid {
                    place: format!("{source_name}: model '{}'", found.name),
                    message: format!(
                        "a fixed duration (a non-task step's model), but step '{}' of workflow '{}' is a task",
                        step.name, workflow.name
                    ),
                });
            }
            if found.jobs != step.jobs {
                notes.push(format!(
                    "step '{}': model '{}' was fitted on runs of {} job(s), the workflow step has {}: predictions use the workflow's {} (durations scale with the jobs per instance)",
                    step.name, found.name, found.jobs, step.jobs, step.jobs
                ));
            }
            let mut m = (*found).clone();
            m.name = step.name.clone();
            m.jobs = step.jobs;
            steps.push(m);
        }
        if !missing.is_empty() {
            return Err(crate::Error::MissingSteps {
                source_name: source_name.to_owned(),
                workflow: workflow.name.clone(),
                missing,
                available: self.steps.iter().map(|m| m.name.clone()).collect(),
            });
        }
        Ok((
            PerfModel {
                workflow: workflow.name.clone(),
                seed: self.seed,
                platform: facts,
                steps,
            },
            notes,
        ))
    }

    /// Reads a model file written by [`PerfModel::to_json`].
    pub fn load(path: &std::path::Path) -> Result<Self, crate::Error> {
        let text = des::text::read_text(path).map_err(|source| crate::Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text, &path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl StepModel {
        fn to_json_value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap()
        }
    }

    #[test]
    fn facts_match_the_platform() {
        let p = platform::Platform::lambda();
        let f = PlatformFacts::of(&p);
        for m in [128, 512, 1769, 2048, 4096, 10_240] {
            assert!((f.vcpus(m) - p.vcpus(m)).abs() < 1e-12, "{m}");
        }
        // Same billing as the platform (1.0001 s at 1024 MB bills 1.001 GB-s).
        assert!(
            (f.instance_cost_usd(1024, 1.0001) - p.instance_cost_usd(1024, 1_000_100)).abs()
                < 1e-15
        );
        assert!(
            (f.instance_cost_usd(1024, 1.0) - p.instance_cost_usd(1024, 1_000_000)).abs() < 1e-15
        );
    }

    #[test]
    fn rounds_features_count_job_slots() {
        let f = PlatformFacts::of(&platform::Platform::lambda());
        // 5 jobs, 2 workers: 3 rounds of 2 slots.
        let c = Features::Rounds.compute(&f, 3538, 2, 5.0);
        assert_eq!((c.gamma_bar, c.busy_workers), (6.0, 2.0));
        assert!((c.k - 2.0).abs() < 1e-12);
        // 2 jobs, 8 workers: only 2 busy.
        let c = Features::Rounds.compute(&f, 10_240, 8, 2.0);
        assert_eq!((c.gamma_bar, c.busy_workers), (2.0, 2.0));
        let c = Features::Paper.compute(&f, 10_240, 8, 2.0);
        assert_eq!((c.gamma_bar, c.busy_workers), (2.0, 8.0));
    }

    #[test]
    fn cost_follows_aws_pricing() {
        let facts = PlatformFacts::of(&platform::Platform::lambda());
        let m = StepModel {
            name: "s".into(),
            jobs: 8,
            duration: DurationModel::Eq1 {
                features: Features::Rounds,
                low: Eq1::Case2 {
                    alpha2_s: 1.0,
                    beta2: 0.0,
                    phi2_s: 0.0,
                },
                high: Eq1::Case2 {
                    alpha2_s: 1.0,
                    beta2: 0.0,
                    phi2_s: 0.0,
                },
            },
            mapping: MappingDelay {
                per_instance_s: 0.01,
                knee: 0,
                growth_s: 0.0,
            },
            tail: FanOutTail::default(),
            saturation_mb: None,
        };
        // 8 jobs on 4 instances at 1769 MB, one worker: 2 s each (k = 1), t_map(4) = 0.03 s.
        let cfg = StepConfig::new(1769, 4, 1);
        assert!((m.duration_s(&facts, cfg) - 2.03).abs() < 1e-12);
        let want =
            4.0 * (2.0 * 1769.0 / 1024.0 * facts.price_usd_per_gb_s + facts.price_usd_per_request);
        assert!((m.cost_usd(&facts, cfg) - want).abs() < 1e-15);
    }
    #[test]
    fn saturation_caps_the_memory_per_busy_worker() {
        let facts = PlatformFacts::of(&platform::Platform::lambda());
        let case2 = Eq1::Case2 {
            alpha2_s: 1.0,
            beta2: 0.0,
            phi2_s: 0.0,
        };
        let mut m = StepModel {
            name: "s".into(),
            jobs: 4,
            duration: DurationModel::Eq1 {
                features: Features::Rounds,
                low: case2,
                high: case2,
            },
            mapping: MappingDelay::default(),
            tail: FanOutTail::default(),
            saturation_mb: None,
        };
        let plain = m.to_json_value();
        m.saturation_mb = Some(500);
        // One worker: 4 jobs at 500 MB whatever the memory above it.
        let one = m.duration_s(&facts, StepConfig::new(2000, 1, 1));
        assert!((one - 4.0 * 1769.0 / 500.0).abs() < 1e-9, "{one}");
        assert_eq!(one, m.duration_s(&facts, StepConfig::new(10_240, 1, 1)));
        // Two busy workers saturate at 1000 MB: 2 rounds of 2 slots at k = 1000 / 1769.
        let two = m.duration_s(&facts, StepConfig::new(4000, 1, 2));
        assert!((two - 4.0 * 1769.0 / 1000.0).abs() < 1e-9, "{two}");
        // Below the cap nothing changes.
        assert_eq!(saturated_memory_mb(400, 1.0, Some(500)), 400);
        // A model without saturation writes no field, so models saved before it reload to the
        // same bytes.
        assert!(plain.get("saturation_mb").is_none());
        assert_eq!(m.to_json_value()["saturation_mb"], 500);
    }
    fn amdahl_model(name: &str, jobs: u32) -> StepModel {
        StepModel {
            name: name.into(),
            jobs,
            duration: DurationModel::Amdahl {
                serial_s: 0.5,
                parallel_s: 0.0,
                io_s: 0.0,
                fixed_s: 0.0,
            },
            mapping: MappingDelay::default(),
            tail: FanOutTail::default(),
            saturation_mb: None,
        }
    }

    fn samples_model(names: &[&str]) -> PerfModel {
        PerfModel {
            workflow: "samples.csv".into(),
            seed: None,
            platform: PlatformFacts::of(&platform::Platform::lambda()),
            steps: names.iter().map(|n| amdahl_model(n, 1)).collect(),
        }
    }

    fn wf(text: &str) -> workflow::Workflow {
        workflow::Workflow::from_str_auto(text, "w.yaml").unwrap()
    }

    #[test]
    fn a_saved_model_maps_to_steps_by_step_then_function_name() {
        let w = wf(
            "name: w\nsteps:\n  - {name: resize, jobs: 4, work_s: 1}\n  - {name: gate, kind: pass, after: [resize], wait_s: 0.5}\n  - {name: thumb, function: encode, jobs: 1, work_s: 1, after: [gate]}\n",
        );
        // Function-name order, an extra model, and the step named by its function.
        let m = samples_model(&["encode", "extra", "resize"]);
        let facts = PlatformFacts::of(&platform::Platform::lambda());
        let (mapped, notes) = m.for_workflow(&w, facts.clone(), "m.json").unwrap();
        let names: Vec<&str> = mapped.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["resize", "gate", "thumb"]);
        // The workflow's jobs: 4 jobs on one instance take 4 x 0.5 s at one vCPU.
        let cfg = StepConfig::new(1769, 1, 1);
        assert!((mapped.predict_duration_s(StepId(0), cfg) - 2.0).abs() < 1e-12);
        assert_eq!(mapped.predict_duration_s(StepId(1), cfg), 0.5);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("step 'resize'") && notes[0].contains("has 4"),
            "{notes:?}"
        );
        // A missing step names itself and what the model has.
        let e = samples_model(&["encode"])
            .for_workflow(&w, facts.clone(), "m.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("m.json: no model for step(s) 'resize' of workflow 'w'")
                && e.ends_with("the model has: 'encode'"),
            "{e}"
        );
        // A fixed (non-task) model cannot stand for a task.
        let mut m = samples_model(&["encode", "resize"]);
        m.steps[1].duration = DurationModel::Fixed { duration_s: 1.0 };
        let e = m.for_workflow(&w, facts, "m.json").unwrap_err().to_string();
        assert!(
            e.contains("model 'resize'") && e.contains("is a task"),
            "{e}"
        );
    }

    #[test]
    fn model_files_with_bad_values_name_the_field() {
        let mut m = samples_model(&["a", "b", "a"]);
        m.steps[1].duration = DurationModel::Amdahl {
            serial_s: -1.0,
            parallel_s: 0.0,
            io_s: 0.0,
            fixed_s: 0.0,
        };
        m.steps[0].saturation_mb = Some(0);
        m.platform.price_usd_per_gb_s = -2.0;
        let e = PerfModel::from_json(&m.to_json(), "m.json")
            .unwrap_err()
            .to_string();
        for want in [
            "m.json: invalid model: ",
            "platform.price_usd_per_gb_s = -2: must be finite and >= 0",
            "steps[1] ('b').duration.serial_s = -1: must be finite and >= 0",
            "steps[0] ('a').saturation_mb = 0",
            "steps[2] ('a'): the name repeats steps[0]",
        ] {
            assert!(e.contains(want), "{want} not in {e}");
        }
        // Syntax and shape errors carry serde's line and column.
        let e = PerfModel::from_json("{\n  \"workflow\": 3\n}", "m.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("m.json: invalid model: ") && e.contains("line 2"),
            "{e}"
        );
        // Every model the fit writes is valid and round-trips.
        let good = samples_model(&["a"]);
        assert_eq!(PerfModel::from_json(&good.to_json(), "m").unwrap(), good);
    }
}
