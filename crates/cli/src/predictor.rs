//! Choosing the performance model the optimizer plans with: a StepConf Eq. 1 model fitted to
//! profiling runs in the simulator (`fitted`: what a user of a real platform has; the default), the
//! same with the paper's exact Eq. 1 (`paper`), the simulator's noise-free execution model
//! (`oracle`: an upper bound on what any fitted model can know), or a saved model (`--model-file`,
//! e.g. fitted to measured samples by `faastune fit --samples ... --save`), applied to the workflow by
//! step and function names; the commands that simulate then run on a platform calibrated to it
//! ([`prepare_simulation`], `perfmodel::calibrate`).

use std::path::PathBuf;

use anyhow::Context;
use perfmodel::PerfModel;
use perfmodel::calibrate::StepCalibration;
use perfmodel::source::ModelSource;
use platform::Platform;
use serde::Serialize;
use workflow::Workflow;

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
    /// A saved performance model (`faastune fit ... --save FILE`, e.g. fitted to measured samples)
    /// instead of profiling the workflow in the simulator: each task step takes the model named like
    /// the step, else like its function. Simulations (compare, sweep, demo) then run on a platform
    /// calibrated to it. See docs/real-data.md.
    #[arg(long, value_name = "FILE", conflicts_with = "model")]
    pub model_file: Option<PathBuf>,
    /// Root seed of the simulation (and of the profiling runs, on their own sub-streams).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl ModelArgs {
    /// The model's name in JSON outputs: `fitted`, `paper`, `oracle`, or `file` (with
    /// `model_file` beside it).
    pub fn name(&self) -> &'static str {
        if self.model_file.is_some() {
            "file"
        } else {
            self.model.as_str()
        }
    }

    /// The model in table headers: its name, or `file PATH`.
    pub fn label(&self) -> String {
        match &self.model_file {
            Some(p) => format!("file {}", p.display()),
            None => self.model.as_str().to_owned(),
        }
    }
}

/// Builds the predictor (profiling and fitting the workflow for the fitted kinds;
/// [`perfmodel::source`], the one place `plan`, `serve` and the Lambda configurator build it).
pub fn build_predictor(
    args: &ModelArgs,
    wf: &Workflow,
    platform: &Platform,
) -> anyhow::Result<Box<dyn optimizer::StepPredictor>> {
    let source = match (&args.model_file, args.model) {
        (Some(path), _) => ModelSource::File(path.clone()),
        (None, ModelKind::Oracle) => {
            return Ok(Box::new(optimizer::OraclePredictor::new(wf, platform)));
        }
        (None, ModelKind::Fitted) => ModelSource::Fitted,
        (None, ModelKind::Paper) => ModelSource::Paper,
    };
    Ok(Box::new(load(&source, args.seed, wf, platform)?))
}

/// The model of `source`, printing its warnings and notes to stderr.
fn load(
    source: &ModelSource,
    seed: u64,
    wf: &Workflow,
    platform: &Platform,
) -> anyhow::Result<PerfModel> {
    let loaded = perfmodel::source::load(source, seed, wf, platform)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    for n in &loaded.notes {
        eprintln!("note: {n}");
    }
    Ok(loaded.model)
}

/// The platform a simulation runs on when a model file is given: the workflow calibrated to it.
#[derive(Serialize, Debug, Clone)]
pub struct CalibrationReport {
    /// `simulated on a platform calibrated to model FILE`.
    pub simulated_on: String,
    /// The model file.
    pub model_file: String,
    /// Per task step: the calibrated parameters and how closely the simulator's expected mean
    /// durations match the model's predictions on the optimizer's configuration grid.
    pub calibration: Vec<StepCalibration>,
}

/// What a command that simulates policies needs: the predictor the optimizer plans with and the
/// workflow the simulator runs (calibrated to the model file when one is given, else `wf` itself).
pub struct Prepared {
    /// The optimizer's predictor.
    pub predictor: Box<dyn optimizer::StepPredictor>,
    /// The workflow to plan and simulate (same names, structure and step ids as the input).
    pub workflow: Workflow,
    /// How the workflow was calibrated, with a model file.
    pub calibration: Option<CalibrationReport>,
}

/// Builds the predictor and, with `--model-file`, calibrates the simulated workflow to the model
/// (`perfmodel::calibrate` over StepConf's configuration grid, the optimizer's default).
pub fn prepare_simulation(
    args: &ModelArgs,
    wf: &Workflow,
    platform: &Platform,
) -> anyhow::Result<Prepared> {
    let Some(path) = &args.model_file else {
        return Ok(Prepared {
            predictor: build_predictor(args, wf, platform)?,
            workflow: wf.clone(),
            calibration: None,
        });
    };
    let model = load(&ModelSource::File(path.clone()), args.seed, wf, platform)?;
    let name = path.display().to_string();
    let cal =
        perfmodel::calibrate::calibrate(platform, wf, &model, &perfmodel::profile::Grid::paper())
            .with_context(|| format!("calibrating workflow '{}' to model {name}", wf.name))?;
    Ok(Prepared {
        predictor: Box::new(model),
        workflow: cal.workflow,
        calibration: Some(CalibrationReport {
            simulated_on: format!("simulated on a platform calibrated to model {name}"),
            model_file: name,
            calibration: cal.steps,
        }),
    })
}

/// The calibration lines of a table output: the sentence, then one line per step.
pub fn render_calibration(c: &CalibrationReport) -> String {
    let mut out = format!(
        "{}
",
        c.simulated_on
    );
    for s in &c.calibration {
        out.push_str(&format!(
            "  {}: work_s {:.6}, parallel_fraction {:.4}, input_mb {:.4}; expected mean vs model over {} configurations: max {:.2}%, mean {:.2}%\n",
            s.step,
            s.work_s,
            s.parallel_fraction,
            s.input_mb,
            s.n_configs,
            100.0 * s.max_rel_error,
            100.0 * s.mean_rel_error
        ));
    }
    out
}
