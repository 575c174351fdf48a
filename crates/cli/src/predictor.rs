//! Choosing the performance model the optimizer plans with: a StepConf Eq. 1 model fitted to
//! profiling runs in the simulator (`fitted`: what a user of a real platform has; the default), the
//! same with the paper's exact Eq. 1 (`paper`), or the simulator's noise-free execution model
//! (`oracle`: an upper bound on what any fitted model can know).

use anyhow::Context;
use perfmodel::PerfModel;
use platform::{Platform, StepConfig};
use workflow::{StepId, Workflow};

/// Which model predicts step durations and costs.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// Eq. 1 with our refinements, fitted to simulator profiling runs (perfmodel's default).
    Fitted,
    /// Eq. 1 exactly as published, fitted to the same profiling runs.
    Paper,
    /// The simulator's noise-free execution model.
    Oracle,
}

impl ModelKind {
    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Fitted => "fitted",
            ModelKind::Paper => "paper",
            ModelKind::Oracle => "oracle",
        }
    }
}

/// Model flags shared by `plan`, `compare`, `sweep` and `demo`.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelArgs {
    /// Performance model the optimizer plans with.
    #[arg(long, value_enum, default_value_t = ModelKind::Fitted)]
    pub model: ModelKind,
    /// Root seed of the simulation (and of the profiling runs, on their own sub-streams).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// A fitted [`PerfModel`] as the optimizer's predictor.
pub struct Fitted(pub PerfModel);

impl optimizer::StepPredictor for Fitted {
    fn duration_s(&self, step: StepId, cfg: StepConfig) -> f64 {
        self.0.predict_duration_s(step, cfg)
    }
    fn cost_usd(&self, step: StepId, cfg: StepConfig) -> f64 {
        self.0.predict_cost_usd(step, cfg)
    }
}

/// Builds the predictor (profiling and fitting the workflow for the fitted kinds).
pub fn build_predictor(
    args: &ModelArgs,
    wf: &Workflow,
    platform: &Platform,
) -> anyhow::Result<Box<dyn optimizer::StepPredictor>> {
    let fit = match args.model {
        ModelKind::Oracle => return Ok(Box::new(optimizer::OraclePredictor::new(wf, platform))),
        ModelKind::Fitted => perfmodel::FitOptions::default(),
        ModelKind::Paper => perfmodel::FitOptions::paper(),
    };
    let opts = perfmodel::profile::ProfileOptions {
        seed: des::stream_seed(args.seed, "profiling", 0),
        ..Default::default()
    };
    let model = perfmodel::profile::fit_workflow(platform, wf, &opts, fit)
        .with_context(|| format!("profiling and fitting workflow '{}'", wf.name))?;
    Ok(Box::new(Fitted(model)))
}
