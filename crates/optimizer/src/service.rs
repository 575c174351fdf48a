//! Dynamic policies as a decision service runs them (issue 14, `faastune serve`): the same
//! [`platform::Policy`] objects the simulator drives, plus what a service needs to keep a request's
//! state outside the process, so that several replicas can serve one execution and a restart loses
//! nothing.
//!
//! What the dynamic policies keep, and where it goes:
//! - **Per request** ([`RequestState`]): StepConf's global cache of latest finish times (Algorithm 2,
//!   one [`CacheEntry`] slot per step); replan's start time and predicted execution time of every
//!   step it configured. A service imports a request's state before [`Policy::choose`] or
//!   [`Policy::observe`], exports it after, and forgets it (the policy then holds no request at all).
//! - **Across requests** ([`LearnedState`]): nothing for StepConf; replan's learned tail margins,
//!   straggler factors, recent (probably warm) configurations and cold-start excess
//!   ([`ReplanLearned`]).
//!
//! Everything else a decision reads comes from the [`platform::StepContext`] the caller builds (the
//! time spent, the SLO, the finished steps' outcomes), so a policy that imported a request's state
//! and the learned state decides exactly as one that made every earlier call itself.

use platform::{Platform, Policy};
use serde::{Deserialize, Serialize};
use workflow::Workflow;

use crate::replan::{ReplanLearned, ReplanOptions, ReplanPolicy};
use crate::space::{ConfigSpace, Knobs, Model};
use crate::stepconf::{CacheEntry, StepConfPolicy};
use crate::{Error, check_slo};

/// The policies [`service_policy_by_name`] builds: the dynamic ones.
pub const SERVICE_POLICY_NAMES: [&str; 4] = ["stepconf", "intra-only", "inter-only", "replan"];

/// One request's state inside a dynamic policy, by step index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum RequestState {
    /// StepConf's global cache (Algorithm 2): per step, the latest finish time of the scope that starts
    /// there, once an earlier decision has set it.
    StepConf {
        /// One slot per step.
        cache: Vec<Option<CacheEntry>>,
    },
    /// Replan: per step it configured and has not seen finish, `(start_s, exec_s)`: when it started
    /// (seconds since arrival) and the execution time it planned with.
    Replan {
        /// One slot per step.
        started: Vec<Option<(f64, f64)>>,
    },
}

/// What a dynamic policy has learned across requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum LearnedState {
    /// Replan's margins, factors and recent configurations.
    Replan(ReplanLearned),
}

/// Why the last [`Policy::choose`] chose what it did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Explain {
    /// The step's time budget, seconds, counted like StepConf's durations (from its predecessors'
    /// finish: the orchestrator's transition delay, the step's `wait_s` and its execution): StepConf's
    /// sub-SLO (Eq. 13); for replan, the duration the re-plan gave the step (predicted duration times
    /// the learned margin, plus the cold-start penalty when it probably starts cold).
    pub sub_slo_s: f64,
    /// The predictor's duration of the chosen configuration, seconds, counted the same way (no margin).
    pub predicted_duration_s: f64,
    /// The predictor's cost of the chosen configuration, USD (compute, requests and transitions).
    pub predicted_cost_usd: f64,
}

/// A dynamic [`Policy`] whose state can live outside the process. Implemented by the policies
/// [`service_policy_by_name`] builds; see the module docs for the protocol.
pub trait ServicePolicy: Policy + Send {
    /// Request `request_idx`'s state: empty (no step decided) when the policy holds none.
    fn export_request(&self, request_idx: u64) -> RequestState;

    /// Makes `state` request `request_idx`'s state, replacing any the policy held. Fails, changing
    /// nothing, when the state belongs to another policy kind or does not have one slot per step.
    fn import_request(&mut self, request_idx: u64, state: RequestState) -> Result<(), Error>;

    /// Drops request `request_idx`'s state (it has finished, or lives elsewhere).
    fn forget_request(&mut self, request_idx: u64);

    /// What the policy has learned across requests; `None` when it learns nothing.
    fn export_learned(&self) -> Option<LearnedState>;

    /// Replaces what the policy has learned. Fails, changing nothing, on another policy's state or one
    /// that does not fit the workflow.
    fn import_learned(&mut self, state: LearnedState) -> Result<(), Error>;

    /// Why the last [`Policy::choose`] chose what it did; `None` before the first.
    fn last_explain(&self) -> Option<Explain>;
}

fn invalid(policy: &str, message: String) -> Error {
    Error::InvalidPolicyState {
        policy: policy.to_owned(),
        message,
    }
}

fn check_len<T>(policy: &str, what: &str, v: &[T], n: usize) -> Result<(), Error> {
    if v.len() == n {
        Ok(())
    } else {
        Err(invalid(
            policy,
            format!("{what} has {} slots, the workflow {n} steps", v.len()),
        ))
    }
}

impl ServicePolicy for StepConfPolicy {
    fn export_request(&self, request_idx: u64) -> RequestState {
        let n = self.core().model().n_steps();
        RequestState::StepConf {
            cache: self
                .cache(request_idx)
                .map_or_else(|| vec![None; n], <[_]>::to_vec),
        }
    }

    fn import_request(&mut self, request_idx: u64, state: RequestState) -> Result<(), Error> {
        let name = self.name().to_owned();
        let RequestState::StepConf { cache } = state else {
            return Err(invalid(&name, "the state is replan's".to_owned()));
        };
        let n = self.core().model().n_steps();
        check_len(&name, "the cache", &cache, n)?;
        for (i, e) in cache.iter().enumerate() {
            let Some(e) = e else { continue };
            if !e.latest_finish_s.is_finite() {
                return Err(invalid(
                    &name,
                    format!("cache slot {i}: latest finish {} s", e.latest_finish_s),
                ));
            }
            if e.stop.is_some_and(|k| k as usize >= n) {
                return Err(invalid(
                    &name,
                    format!("cache slot {i}: scope end {:?} is no step", e.stop),
                ));
            }
        }
        self.set_cache(request_idx, cache);
        Ok(())
    }

    fn forget_request(&mut self, request_idx: u64) {
        self.forget(request_idx);
    }

    fn export_learned(&self) -> Option<LearnedState> {
        None
    }

    fn import_learned(&mut self, _state: LearnedState) -> Result<(), Error> {
        Err(invalid(
            self.name(),
            "it learns nothing across requests".to_owned(),
        ))
    }

    fn last_explain(&self) -> Option<Explain> {
        let (v, d) = self.last_decision()?;
        let o = self.core().model().pareto(v)[d.option_idx];
        Some(Explain {
            sub_slo_s: d.sub_slo_s,
            predicted_duration_s: o.duration_s,
            predicted_cost_usd: o.cost_usd,
        })
    }
}

impl ServicePolicy for ReplanPolicy {
    fn export_request(&self, request_idx: u64) -> RequestState {
        let n = self.model().n_steps();
        RequestState::Replan {
            started: self
                .started(request_idx)
                .map_or_else(|| vec![None; n], <[_]>::to_vec),
        }
    }

    fn import_request(&mut self, request_idx: u64, state: RequestState) -> Result<(), Error> {
        let RequestState::Replan { started } = state else {
            return Err(invalid("replan", "the state is StepConf's".to_owned()));
        };
        check_len("replan", "the state", &started, self.model().n_steps())?;
        if let Some(i) = started
            .iter()
            .position(|x| x.is_some_and(|(s, e)| !s.is_finite() || !e.is_finite()))
        {
            return Err(invalid(
                "replan",
                format!("slot {i} holds a number that is not finite"),
            ));
        }
        self.set_started(request_idx, started);
        Ok(())
    }

    fn forget_request(&mut self, request_idx: u64) {
        self.forget(request_idx);
    }

    fn export_learned(&self) -> Option<LearnedState> {
        Some(LearnedState::Replan(self.learned()))
    }

    fn import_learned(&mut self, state: LearnedState) -> Result<(), Error> {
        let LearnedState::Replan(l) = state;
        self.set_learned(l).map_err(|m| invalid("replan", m))
    }

    fn last_explain(&self) -> Option<Explain> {
        let (v, planned) = self.last_decision()?;
        let o = self
            .model()
            .lookup(v, planned.config)
            .copied()
            .unwrap_or(planned);
        Some(Explain {
            sub_slo_s: planned.duration_s,
            predicted_duration_s: o.duration_s,
            predicted_cost_usd: o.cost_usd,
        })
    }
}

/// The dynamic policy called `name` ([`SERVICE_POLICY_NAMES`]) for `workflow` on `platform`, as
/// [`crate::policy_by_name`] builds it (the same construction: [`crate::policy_by_name`] calls this
/// for these names), with the paper's configuration set.
pub fn service_policy_by_name(
    name: &str,
    workflow: &Workflow,
    platform: &Platform,
    predictor: &dyn crate::StepPredictor,
    slo_s: f64,
) -> Result<Box<dyn ServicePolicy>, Error> {
    service_policy_with_space(
        name,
        workflow,
        platform,
        predictor,
        slo_s,
        &ConfigSpace::paper(),
    )
}

/// [`service_policy_by_name`] with a configuration set of your own.
pub fn service_policy_with_space(
    name: &str,
    workflow: &Workflow,
    platform: &Platform,
    predictor: &dyn crate::StepPredictor,
    slo_s: f64,
    space: &ConfigSpace,
) -> Result<Box<dyn ServicePolicy>, Error> {
    check_slo(slo_s)?;
    let knobs = match name {
        "stepconf" | "replan" => Knobs::ALL,
        "intra-only" => Knobs::INTRA,
        "inter-only" => Knobs::INTER,
        _ => {
            return Err(Error::UnknownPolicy {
                name: name.to_owned(),
                valid: SERVICE_POLICY_NAMES.to_vec(),
            });
        }
    };
    let model = Model::new(workflow, platform, predictor, &space.restricted(knobs))?;
    Ok(dynamic(name, model, slo_s))
}

/// The dynamic policy `name` over `model` (the one place both [`crate::policy_with_space`] and
/// [`service_policy_with_space`] build them). `name` is one of [`SERVICE_POLICY_NAMES`].
pub(crate) fn dynamic(name: &str, model: Model, slo_s: f64) -> Box<dyn ServicePolicy> {
    if name == "replan" {
        Box::new(ReplanPolicy::new(model, slo_s, ReplanOptions::default()))
    } else {
        Box::new(StepConfPolicy::new(name, model, slo_s))
    }
}
