//! Step configurations (`StepConfig { memory_mb, fan_out, workers }`), their feasibility on a platform,
//! and static per-step config files.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use workflow::{Step, StepKind, Workflow};

use crate::Platform;
use crate::error::{Error, parse_yaml_or_json, read_file};

/// How one step runs: memory per instance `m`, inter-function parallelism `p` (instances the step fans
/// out to) and intra-function parallelism `q` (worker processes inside one instance).
#[derive(
    Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// Memory of each instance, MB.
    pub memory_mb: u32,
    /// Number of instances (`p`).
    #[serde(default = "one")]
    pub fan_out: u32,
    /// Worker processes per instance (`q`).
    #[serde(default = "one")]
    pub workers: u32,
}

fn one() -> u32 {
    1
}

impl StepConfig {
    /// A configuration.
    pub const fn new(memory_mb: u32, fan_out: u32, workers: u32) -> Self {
        StepConfig {
            memory_mb,
            fan_out,
            workers,
        }
    }
}

impl fmt::Display for StepConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}MB/p{}/q{}",
            self.memory_mb, self.fan_out, self.workers
        )
    }
}

impl Platform {
    /// Checks that `config` can run `step` on this platform: memory offered, fan-out between 1 and the
    /// step's jobs (and its `max_fan_out`), workers >= 1 and all workers fit in memory. Non-task steps
    /// accept any configuration (they run no function).
    pub fn check_config(&self, step: &Step, config: StepConfig) -> Result<(), Error> {
        if step.kind != StepKind::Task {
            return Ok(());
        }
        let fail = |reason: String| {
            Err(Error::InfeasibleConfig {
                step: step.name.clone(),
                config: config.to_string(),
                reason,
            })
        };
        let s = self.spec();
        if !self.offers_memory(config.memory_mb) {
            return fail(format!(
                "memory {} MB is not offered by platform '{}' ({}..={} MB in steps of {})",
                config.memory_mb, s.name, s.memory_mb_min, s.memory_mb_max, s.memory_mb_step
            ));
        }
        if config.workers == 0 {
            return fail("workers must be >= 1".into());
        }
        if config.fan_out == 0 {
            return fail("fan_out must be >= 1".into());
        }
        if config.fan_out > step.jobs {
            return fail(format!(
                "fan_out {} exceeds the step's {} jobs",
                config.fan_out, step.jobs
            ));
        }
        if let Some(max) = step.max_fan_out
            && config.fan_out > max
        {
            return fail(format!(
                "fan_out {} exceeds the step's max_fan_out {max}",
                config.fan_out
            ));
        }
        let need = u64::from(config.workers) * u64::from(step.memory_mb_per_worker);
        if need > u64::from(config.memory_mb) {
            return fail(format!(
                "out of memory: {} workers x {} MB per worker = {need} MB > {} MB",
                config.workers, step.memory_mb_per_worker, config.memory_mb
            ));
        }
        Ok(())
    }
}

/// A static per-step config file: `{"steps": {"extract": {"memory_mb": 2048, "fan_out": 8, "workers": 2}}}`,
/// with an optional `default` for steps not listed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// Configuration for steps not listed in `steps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<StepConfig>,
    /// Per step name.
    #[serde(default)]
    pub steps: BTreeMap<String, StepConfig>,
}

impl StaticConfig {
    /// Reads a config file (YAML, or JSON when it starts with `{`).
    pub fn load(path: &std::path::Path) -> Result<Self, Error> {
        let text = read_file(path)?;
        Self::from_str_auto(&text, &path.display().to_string())
    }

    /// Parses config text.
    pub fn from_str_auto(text: &str, source_name: &str) -> Result<Self, Error> {
        parse_yaml_or_json(text, source_name)
    }

    /// The configuration `faastune simulate` (and the Python package's `simulate`) uses when no config
    /// file is given: every step at the platform's one-full-vCPU memory (`vcpu_full_mb`, raised to a
    /// task step's `memory_mb_per_worker`, capped at `memory_mb_max`), one instance, one worker.
    /// Fails with the first step that cannot run so ([`Platform::check_config`]).
    pub fn default_for(workflow: &Workflow, platform: &Platform) -> Result<Vec<StepConfig>, Error> {
        let m_s = platform.spec().vcpu_full_mb;
        let cfg = workflow
            .steps()
            .iter()
            .map(|s| {
                let m = if s.kind == StepKind::Task {
                    m_s.max(s.memory_mb_per_worker)
                } else {
                    m_s
                };
                StepConfig::new(m.min(platform.spec().memory_mb_max), 1, 1)
            })
            .collect::<Vec<_>>();
        for (s, c) in workflow.steps().iter().zip(&cfg) {
            platform.check_config(s, *c)?;
        }
        Ok(cfg)
    }

    /// One configuration per step of `workflow` (by [`workflow::StepId`] index), checked on `platform`.
    /// Every problem is reported at once: unknown steps, task steps without a config, infeasible configs.
    pub fn resolve(
        &self,
        workflow: &Workflow,
        platform: &Platform,
        source_name: &str,
    ) -> Result<Vec<StepConfig>, Error> {
        let mut problems = Vec::new();
        for name in self.steps.keys() {
            if workflow.find(name).is_none() {
                problems.push(format!("steps.{name}: unknown step '{name}'"));
            }
        }
        let mut out = Vec::with_capacity(workflow.n_steps());
        for step in workflow.steps() {
            let cfg = self.steps.get(&step.name).copied().or(self.default);
            match cfg {
                None if step.kind == StepKind::Task => {
                    problems.push(format!(
                        "step '{}': no configuration (and no `default`)",
                        step.name
                    ));
                    out.push(StepConfig::new(platform.spec().memory_mb_min, 1, 1));
                }
                None => out.push(StepConfig::new(platform.spec().memory_mb_min, 1, 1)),
                Some(c) => {
                    if let Err(e) = platform.check_config(step, c) {
                        problems.push(e.to_string());
                    }
                    out.push(c);
                }
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(Error::ConfigMismatch {
                source_name: source_name.to_owned(),
                workflow: workflow.name.clone(),
                problems,
            })
        }
    }
}
