//! Where a policy trains: the DeepRM or serverless environment of crate `cluster`, with a fresh job set
//! or workload for every episode drawn from the training seed.
//!
//! Episode `e` of a run with root seed `s` uses sub-seed `des::stream_seed(s, "train_episodes", 0)` and
//! index `e`, so training never sees the job sets `faastune alloc --seed s` evaluates on (those use the
//! root seed itself with indices `0..jobsets`).

use std::collections::BTreeMap;

use cluster::{DeepRmEnv, DeepRmSettings, Environment, ServerlessEnv, ServerlessSettings};
use serde::{Deserialize, Serialize};
use workload::{DeepRmJobSet, Pattern, SyntheticSpec, SyntheticWorkload};

use crate::error::{Error, Result};

/// DeepRM training episodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeepRmScenario {
    /// Loads per resource (1.0 = 100%); episode `e` uses `loads[e % len]`.
    pub loads: Vec<f64>,
    /// Arrival pattern: steady, bursty, periodic or mixed.
    pub workload: String,
    /// Steps during which jobs arrive (DeepRM trains with 50).
    pub simu_len: usize,
    /// Episode length limit in steps.
    pub episode_max_len: usize,
}

/// Serverless training episodes on a synthetic workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerlessScenario {
    /// Arrival-rate multipliers; episode `e` uses `loads[e % len]`.
    pub loads: Vec<f64>,
    /// Arrival pattern: steady, bursty, periodic or mixed.
    pub workload: String,
    /// Functions in the synthetic workload.
    pub n_functions: usize,
    /// Mean arrival rate (invocations per second) at load 1.
    pub rate_per_s: f64,
    /// Episode length in seconds of arrivals.
    pub horizon_s: f64,
    /// Keep-alive policy: fixed or histogram.
    pub keep_alive: String,
}

/// A training scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "scenario", rename_all = "lowercase")]
pub enum Scenario {
    /// DeepRM's time-stepped single machine.
    Deeprm(DeepRmScenario),
    /// The event-driven serverless platform.
    Serverless(ServerlessScenario),
}

fn env_err(context: &str, e: impl std::fmt::Display) -> Error {
    Error::Env {
        context: format!("{context}: {e}"),
    }
}

impl Scenario {
    /// DeepRM at `loads` with DeepRM's training episode length (`simu_len` 50, limit 4x).
    pub fn deeprm(loads: Vec<f64>, workload: &str) -> Scenario {
        Scenario::Deeprm(DeepRmScenario {
            loads,
            workload: workload.into(),
            simu_len: 50,
            episode_max_len: 200,
        })
    }

    /// Serverless at `loads` on a 12-function synthetic workload, 5-minute episodes, fixed keep-alive.
    pub fn serverless(loads: Vec<f64>, workload: &str) -> Scenario {
        Scenario::Serverless(ServerlessScenario {
            loads,
            workload: workload.into(),
            n_functions: 12,
            rate_per_s: SyntheticSpec::default().rate_per_s,
            horizon_s: 300.0,
            keep_alive: "fixed".into(),
        })
    }

    /// The scenario's name (`deeprm` or `serverless`).
    pub fn name(&self) -> &'static str {
        match self {
            Scenario::Deeprm(_) => "deeprm",
            Scenario::Serverless(_) => "serverless",
        }
    }

    fn loads(&self) -> &[f64] {
        match self {
            Scenario::Deeprm(d) => &d.loads,
            Scenario::Serverless(s) => &s.loads,
        }
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, reason: String| Err(Error::InvalidConfig { field, reason });
        if self.loads().is_empty() {
            return bad("loads", "at least one load".into());
        }
        if let Some(l) = self.loads().iter().find(|l| !(l.is_finite() && **l > 0.0)) {
            return bad("loads", format!("{l} must be finite and > 0"));
        }
        let workload = match self {
            Scenario::Deeprm(d) => &d.workload,
            Scenario::Serverless(s) => &s.workload,
        };
        if let Err(e) = Pattern::parse(workload) {
            return bad("workload", e.to_string());
        }
        match self {
            Scenario::Deeprm(d) => {
                let s = self.deeprm_settings(d);
                if let Err(e) = s.validate() {
                    return bad("simu_len/episode_max_len", e.to_string());
                }
            }
            Scenario::Serverless(s) => {
                if s.n_functions == 0 {
                    return bad("n_functions", "at least 1".into());
                }
                if !(s.rate_per_s.is_finite() && s.rate_per_s > 0.0) {
                    return bad("rate_per_s", format!("{} must be > 0", s.rate_per_s));
                }
                if !(s.horizon_s.is_finite() && s.horizon_s > 0.0) {
                    return bad("horizon_s", format!("{} must be > 0", s.horizon_s));
                }
                if let Err(e) = scheduler::keep_alive_by_name(&s.keep_alive, 1) {
                    return bad("keep_alive", e.to_string());
                }
            }
        }
        Ok(())
    }

    fn deeprm_settings(&self, d: &DeepRmScenario) -> DeepRmSettings {
        DeepRmSettings {
            simu_len: d.simu_len,
            episode_max_len: d.episode_max_len,
            ..DeepRmSettings::default()
        }
    }

    /// Machines in the action space (DeepRM: 1; serverless: `cluster::default_machines`).
    pub fn n_machines(&self) -> usize {
        match self {
            Scenario::Deeprm(_) => 1,
            Scenario::Serverless(_) => ServerlessSettings::default().machines.len(),
        }
    }

    /// Pending invocations in the action space: DeepRM's visible slots, serverless a window of 16.
    pub fn pending_window(&self) -> usize {
        match self {
            Scenario::Deeprm(_) => DeepRmSettings::default().n_visible,
            Scenario::Serverless(_) => 16,
        }
    }

    /// The environment of training episode `episode` of root seed `seed`.
    ///
    /// # Errors
    /// [`Error::Env`] when the workload or environment cannot be built.
    pub fn make_env(&self, seed: u64, episode: u64) -> Result<Box<dyn Environment>> {
        let sub = des::stream_seed(seed, "train_episodes", 0);
        let load = self.loads()[(episode % self.loads().len() as u64) as usize];
        match self {
            Scenario::Deeprm(d) => {
                let settings = self.deeprm_settings(d);
                let pattern = Pattern::parse(&d.workload).map_err(|e| env_err("workload", e))?;
                let lr = settings
                    .dist
                    .rate_for_load(load)
                    .map_err(|e| env_err("load", e))?;
                let set = DeepRmJobSet::generate(
                    &settings.dist,
                    lr.rate,
                    settings.simu_len,
                    pattern,
                    sub,
                    episode,
                )
                .map_err(|e| env_err("DeepRM job set", e))?;
                let env = DeepRmEnv::new(settings, &set).map_err(|e| env_err("DeepRM env", e))?;
                Ok(Box::new(env))
            }
            Scenario::Serverless(s) => {
                let pattern = Pattern::parse(&s.workload).map_err(|e| env_err("workload", e))?;
                let spec = SyntheticSpec {
                    pattern,
                    n_functions: s.n_functions,
                    rate_per_s: s.rate_per_s,
                    horizon_s: s.horizon_s,
                };
                let ep_seed = des::stream_seed(sub, "serverless_episode", episode);
                let w = SyntheticWorkload::generate(&spec, ep_seed)
                    .map_err(|e| env_err("synthetic workload", e))?;
                let invocations = w.scaled(ep_seed, load).map_err(|e| env_err("load", e))?;
                let settings = ServerlessSettings::default();
                let functions: Vec<_> = w
                    .functions
                    .iter()
                    .map(|p| settings.function_from_profile(p))
                    .collect();
                let keep = scheduler::keep_alive_by_name(&s.keep_alive, functions.len())
                    .map_err(|e| env_err("keep_alive", e))?;
                let env = ServerlessEnv::new(
                    settings,
                    functions,
                    Box::new(invocations.into_iter()),
                    &BTreeMap::new(),
                    keep,
                    ep_seed,
                )
                .map_err(|e| env_err("serverless env", e))?;
                Ok(Box::new(env))
            }
        }
    }
}
