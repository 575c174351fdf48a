//! The native workflow file format (YAML or JSON), as read from disk before validation.
//!
//! ```yaml
//! name: video
//! slo_s: 30
//! steps:
//!   - name: extract
//!     after: []
//!     jobs: 64                  # independent jobs, split evenly over the step's fan-out instances
//!     work_s: 1.5               # single-core CPU seconds per job at one full vCPU
//!     parallel_fraction: 0.1    # share of a job's work that can use several cores (Amdahl)
//!     memory_mb_per_worker: 256 # memory one worker process needs
//!     input_mb: 10              # read from storage per job
//!     output_mb: 10             # written to storage per job
//!     cold_start_s: 0.8         # optional mean cold start of this function
//! ```
//!
//! Optional fields beyond the core schema: `kind` (`task`, the default; `choice`; `pass`; `fail`),
//! `function` (steps with the same function share warm instances; defaults to the step name),
//! `max_fan_out` (an upper bound on the step's fan-out, e.g. an ASL Map's MaxConcurrency), `wait_s`
//! (a fixed delay, for pass/wait steps), and `choices` (for a `choice` step: which successor runs, with
//! probabilities; uniform over the listed successors unless given).

use serde::{Deserialize, Serialize};

use crate::Error;

/// A workflow as written in a file. Every numeric field is optional here so that validation can
/// report all missing and bad fields at once; [`crate::Workflow::from_spec`] checks it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSpec {
    /// The workflow's name.
    pub name: String,
    /// Default end-to-end SLO in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo_s: Option<f64>,
    /// Free-text provenance (e.g. "imported from AWS States Language file App8.json").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The steps, in any order.
    pub steps: Vec<StepSpec>,
}

/// One step as written in a file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Unique step name.
    pub name: String,
    /// `task` (default), `choice`, `pass` or `fail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Names of the steps that must finish first.
    #[serde(default)]
    pub after: Vec<String>,
    /// Function name; steps of one function share warm instances. Defaults to the step name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Independent jobs, split evenly over the step's fan-out instances (task steps: required, >= 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<u32>,
    /// Single-core CPU seconds per job at one full vCPU (task steps: required, > 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_s: Option<f64>,
    /// Share of a job's work that can use several cores, in [0, 1]. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_fraction: Option<f64>,
    /// Memory one worker process needs, MB. Default 128.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb_per_worker: Option<u32>,
    /// Data read from storage per job, MB. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_mb: Option<f64>,
    /// Data written to storage per job, MB. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_mb: Option<f64>,
    /// Mean cold start of this function, seconds. Default: the platform profile's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_start_s: Option<f64>,
    /// Upper bound on the fan-out (e.g. ASL Map MaxConcurrency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fan_out: Option<u32>,
    /// Fixed delay in seconds (pass and wait steps; added before a task's work otherwise). Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_s: Option<f64>,
    /// For `choice` steps: the successors that may run next and their probabilities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<ChoiceSpec>,
}

/// One branch of a choice step.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceSpec {
    /// The successor step that runs when this branch is taken.
    pub next: String,
    /// Probability of this branch; branches without one share the rest uniformly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

impl WorkflowSpec {
    /// Parses YAML (which also accepts most JSON).
    pub fn from_yaml_str(text: &str, source_name: &str) -> Result<Self, Error> {
        serde_yaml_ng::from_str(text).map_err(|e| {
            let loc = e.location();
            Error::Parse {
                source_name: source_name.to_owned(),
                line: loc.as_ref().map(|l| l.line()),
                column: loc.as_ref().map(|l| l.column()),
                message: e.to_string(),
            }
        })
    }

    /// Parses JSON exactly.
    pub fn from_json_str(text: &str, source_name: &str) -> Result<Self, Error> {
        serde_json::from_str(text).map_err(|e| Error::Parse {
            source_name: source_name.to_owned(),
            line: Some(e.line()),
            column: Some(e.column()),
            message: e.to_string(),
        })
    }

    /// Parses JSON if the text starts with `{`, YAML otherwise.
    pub fn from_str_auto(text: &str, source_name: &str) -> Result<Self, Error> {
        if text.trim_start().starts_with('{') {
            Self::from_json_str(text, source_name)
        } else {
            Self::from_yaml_str(text, source_name)
        }
    }

    /// Writes the native YAML format.
    pub fn to_yaml(&self) -> String {
        // Serializing plain data structs with string keys cannot fail.
        serde_yaml_ng::to_string(self).expect("workflow spec serializes to YAML")
    }

    /// Writes the native format as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("workflow spec serializes to JSON")
    }
}
