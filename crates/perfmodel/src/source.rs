//! Where the model a planner uses comes from: StepConf Eq. 1 fitted to profiling runs in the simulator
//! (our refinements, or the paper's exact form), or a saved model file (`faastune fit --save`, e.g.
//! fitted to measured samples) applied to the workflow by step and function names. `faastune plan`,
//! the decision service and the Lambda configurator all build their model here, so one workflow, seed
//! and file give the same decisions everywhere.

use std::path::PathBuf;

use platform::Platform;
use workflow::Workflow;

use crate::{Error, FitOptions, PerfModel, PlatformFacts};

/// A fitted model's origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// Eq. 1 with our refinements, fitted to profiling runs in the simulator.
    Fitted,
    /// Eq. 1 exactly as published, fitted to the same runs.
    Paper,
    /// A saved model file.
    File(PathBuf),
}

/// A model and what a user should know about it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The model, for the workflow's steps.
    pub model: PerfModel,
    /// Platform facts the saved model was fitted with that differ from the platform planned on
    /// (one line; the platform's facts are used).
    pub warnings: Vec<String>,
    /// Steps whose jobs differ from their model's ([`PerfModel::for_workflow`]).
    pub notes: Vec<String>,
}

/// Builds the model of `source` for `workflow` on `platform`; profiling (the fitted kinds) runs on
/// `seed`'s `profiling` sub-stream, as `faastune plan --seed` does. Errors name the file, or the
/// workflow that could not be profiled.
pub fn load(
    source: &ModelSource,
    seed: u64,
    workflow: &Workflow,
    platform: &Platform,
) -> Result<Loaded, Error> {
    let fit = match source {
        ModelSource::File(path) => return load_file(path, workflow, platform),
        ModelSource::Fitted => FitOptions::default(),
        ModelSource::Paper => FitOptions::paper(),
    };
    let opts = crate::profile::ProfileOptions {
        seed: des::stream_seed(seed, "profiling", 0),
        ..Default::default()
    };
    let model = crate::profile::fit_workflow(platform, workflow, &opts, fit).map_err(|e| {
        Error::Invalid {
            place: format!("profiling and fitting workflow '{}'", workflow.name),
            message: e.to_string(),
        }
    })?;
    Ok(Loaded {
        model,
        warnings: Vec::new(),
        notes: Vec::new(),
    })
}

/// Reads the model file `path` and applies it to `workflow` with `platform`'s facts.
fn load_file(
    path: &std::path::Path,
    workflow: &Workflow,
    platform: &Platform,
) -> Result<Loaded, Error> {
    let name = path.display().to_string();
    let saved = PerfModel::load(path).map_err(|e| Error::Invalid {
        place: format!("reading model file {name}"),
        message: e.to_string(),
    })?;
    let facts = PlatformFacts::of(platform);
    let differences = saved.platform.differences(&facts);
    let mut warnings = Vec::new();
    if !differences.is_empty() {
        warnings.push(format!(
            "model {name} was fitted for platform '{}', planning on '{}' uses the latter's facts (model vs platform): {}",
            saved.platform.name,
            facts.name,
            differences.join(", ")
        ));
    }
    let (model, notes) =
        saved
            .for_workflow(workflow, facts, &name)
            .map_err(|e| Error::Invalid {
                place: format!("applying model file {name} to workflow '{}'", workflow.name),
                message: e.to_string(),
            })?;
    Ok(Loaded {
        model,
        warnings,
        notes,
    })
}
