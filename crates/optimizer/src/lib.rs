//! Configuration policies for serverless workflows (StepConf, `../shared/seeds/002_18c824bf2257f091.txt`):
//! choose every step's memory, fan-out and workers so that the request meets its SLO at the lowest
//! cost.
//!
//! - [`StepPredictor`]: what the optimizer knows (predicted duration and cost of a step under a
//!   configuration); [`OraclePredictor`] reads the simulator's noise-free execution model.
//! - [`ConfigSpace`] and [`Model`]: `Theta = M x P x Q` per step, filtered by the platform, priced and
//!   Pareto-pruned.
//! - [`Solver`]: the exact FWCP solver (StepConf Eq. 6), a DAG-aware branch and bound, on a whole
//!   workflow or on the remaining sub-DAG of a running request.
//! - Policies ([`platform::Policy`]), by name ([`POLICY_NAMES`], [`policy_by_name`]): `stepconf`
//!   (Algorithm 2 at every step start), `no-no`, `static`, `intra-only`, `inter-only`, `optimal`
//!   (StepConf's baselines) and `replan` (ours: exact re-planning of the remaining sub-DAG with a
//!   learned tail margin, a single-straggler robust constraint and a cold-start penalty; see
//!   [`ReplanPolicy`]).
//!
//! For the CLI: [`plan`] (`faastune plan`), [`policy_by_name`] + `platform::Simulation::run`
//! (`compare`, `sweep`), [`POLICY_NAMES`]. A fitted `perfmodel::PerfModel` plugs in by implementing
//! [`StepPredictor`]. Measured solve and decision times and policy results: `bench/optimizer.md`
//! (`cargo run --release -p optimizer --example measure`).
//! - [`Plan`] and [`plan`]: the plan a policy makes before any request runs, explained per step.
//! - [`ServicePolicy`] and [`service_policy_by_name`]: the dynamic policies with their per-request
//!   state ([`RequestState`]) and learned state ([`LearnedState`]) exported and imported, for a
//!   decision service that keeps them outside the process (`faastune serve`).
//!
//! Architecture invariant: the optimizer never runs the simulator; it sees the platform only through
//! [`platform::StepContext`] and its predictor. Same inputs give the same plans and decisions.
#![warn(missing_docs)]

mod error;
mod plan;
mod predict;
mod replan;
mod service;
pub mod solver;
mod space;
mod stepconf;

pub use error::Error;
pub use plan::{Plan, PlanStep};
pub use predict::{OraclePredictor, StepPredictor};
pub use replan::{GLOBAL_WINDOW_FACTOR, ReplanLearned, ReplanOptions, ReplanPolicy};
pub use service::{
    Explain, LearnedState, RequestState, SERVICE_POLICY_NAMES, ServicePolicy,
    service_policy_by_name, service_policy_with_space,
};
pub use solver::{Solution, SolveOptions, Solver, SubProblem};
pub use space::{ConfigSpace, Knobs, Model, StepOption, pareto_front};
pub use stepconf::{CacheEntry, StepConf, StepConfPolicy};

use platform::{Platform, Policy, StaticPolicy};
use workflow::Workflow;

/// Every policy name [`policy_by_name`] and [`plan`] accept, in the order reports list them.
pub const POLICY_NAMES: [&str; 7] = [
    "stepconf",
    "no-no",
    "static",
    "intra-only",
    "inter-only",
    "optimal",
    "replan",
];

/// Checks an SLO: finite and > 0.
fn check_slo(slo_s: f64) -> Result<(), Error> {
    if slo_s.is_finite() && slo_s > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidSlo { slo_s })
    }
}

fn unknown(name: &str) -> Error {
    Error::UnknownPolicy {
        name: name.to_owned(),
        valid: POLICY_NAMES.to_vec(),
    }
}

/// The knobs a named policy may turn.
fn knobs_of(name: &str) -> Result<Knobs, Error> {
    Ok(match name {
        "stepconf" | "static" | "optimal" | "replan" => Knobs::ALL,
        "no-no" => Knobs::NONE,
        "intra-only" => Knobs::INTRA,
        "inter-only" => Knobs::INTER,
        _ => return Err(unknown(name)),
    })
}

/// The exact optimum of FWCP for a whole request with deadline `slo_s` (StepConf Eq. 6): every step
/// free, starting from the request's arrival. Infeasible SLO: the fastest plan, `feasible: false`.
pub fn solve_exact(model: &Model, slo_s: f64) -> Solution {
    let n = model.n_steps();
    let fixed = vec![None; n];
    let ready = vec![0.0; n];
    Solver::default().solve(
        model,
        model.fronts(),
        &SubProblem {
            fixed_finish_s: &fixed,
            ready_s: &ready,
            deadline_s: slo_s,
            robust_factor: &[],
        },
    )
}

/// The plan policy `policy_name` makes for `workflow` on `platform` at SLO `slo_s` with the paper's
/// configuration set, before any request runs (predicted means, nothing observed yet). Dynamic
/// policies' plans are what they would choose if every step took its predicted time: `stepconf`,
/// `intra-only`, `inter-only` and `static`/`no-no` run Algorithm 2 offline; `optimal` and `replan` solve
/// FWCP exactly. Fails on an invalid SLO, an unknown name (the error lists the valid ones), a step no
/// configuration can run, or unusable predictions; an SLO no configuration meets gives a best-effort
/// plan with `feasible: false`.
pub fn plan(
    workflow: &Workflow,
    platform: &Platform,
    predictor: &dyn StepPredictor,
    slo_s: f64,
    policy_name: &str,
) -> Result<Plan, Error> {
    plan_with_space(
        workflow,
        platform,
        predictor,
        slo_s,
        policy_name,
        &ConfigSpace::paper(),
    )
}

/// [`plan`] with a configuration set of your own.
pub fn plan_with_space(
    workflow: &Workflow,
    platform: &Platform,
    predictor: &dyn StepPredictor,
    slo_s: f64,
    policy_name: &str,
    space: &ConfigSpace,
) -> Result<Plan, Error> {
    check_slo(slo_s)?;
    let knobs = knobs_of(policy_name)?;
    let model = Model::new(workflow, platform, predictor, &space.restricted(knobs))?;
    Ok(match policy_name {
        "optimal" | "replan" => {
            let sol = solve_exact(&model, slo_s);
            let chosen: Vec<StepOption> = (0..model.n_steps())
                .map(|i| model.pareto(i)[sol.choice[i].unwrap_or(0)])
                .collect();
            Plan::build(
                policy_name,
                workflow,
                slo_s,
                &chosen,
                &vec![None; model.n_steps()],
            )
        }
        _ => StepConf::new(model).offline_plan(policy_name, workflow, slo_s),
    })
}

/// The policy called `name` for `workflow` on `platform`, deciding with `predictor`'s predictions and
/// the paper's configuration set. `slo_s` is the SLO static policies plan for and the one dynamic
/// policies use when the simulation gives none. Static policies (`no-no`, `static`, `optimal`) plan
/// once here; dynamic ones (`stepconf`, `intra-only`, `inter-only`, `replan`) decide at every step
/// start. Errors as in [`plan`]; an unknown name's error lists the valid ones.
pub fn policy_by_name(
    name: &str,
    workflow: &Workflow,
    platform: &Platform,
    predictor: &dyn StepPredictor,
    slo_s: f64,
) -> Result<Box<dyn Policy>, Error> {
    policy_with_space(
        name,
        workflow,
        platform,
        predictor,
        slo_s,
        &ConfigSpace::paper(),
    )
}

/// [`policy_by_name`] with a configuration set of your own.
pub fn policy_with_space(
    name: &str,
    workflow: &Workflow,
    platform: &Platform,
    predictor: &dyn StepPredictor,
    slo_s: f64,
    space: &ConfigSpace,
) -> Result<Box<dyn Policy>, Error> {
    check_slo(slo_s)?;
    let knobs = knobs_of(name)?;
    let model = Model::new(workflow, platform, predictor, &space.restricted(knobs))?;
    Ok(match name {
        "stepconf" | "intra-only" | "inter-only" | "replan" => service::dynamic(name, model, slo_s),
        "no-no" | "static" => Box::new(StaticPolicy::new(
            name,
            StepConf::new(model)
                .offline_plan(name, workflow, slo_s)
                .configs(),
        )),
        "optimal" => {
            let sol = solve_exact(&model, slo_s);
            let configs = (0..model.n_steps())
                .map(|i| model.pareto(i)[sol.choice[i].unwrap_or(0)].config)
                .collect();
            Box::new(StaticPolicy::new(name, configs))
        }
        _ => return Err(unknown(name)),
    })
}
