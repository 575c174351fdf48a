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
//!
//! Data flow: `data_from: [steps]` names whose outputs a step reads (default: every step in `after`);
//! a step in `after` but not in `data_from` is a control-only edge, which a topology transform may
//! drop. Batching: `batch: { size: 8, window_s: 0.5 }` makes one invocation process up to `size`
//! requests' work of the step (task steps only).
//!
//! Under load (task steps only): `max_concurrency` (ASL Map MaxConcurrency: the most instances of the
//! step that run at once; a larger fan-out runs in waves, each next instance starting when one
//! finishes) and `retry` (AWS Step Functions' Retrier for a throttled invocation; without one a throttle
//! fails the step at once). A workflow-level `retry` is the default of every task step without its own:
//!
//! ```yaml
//! name: video
//! retry: { interval_s: 1, backoff_rate: 2, max_attempts: 3 }   # Step Functions' defaults
//! steps:
//!   - name: encode
//!     jobs: 64
//!     work_s: 2
//!     max_concurrency: 16
//!     retry: { interval_s: 0.5, max_attempts: 6, max_delay_s: 10, jitter: full }
//! ```

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
    /// Default retrier of every task step that has no `retry` of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetrySpec>,
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
    /// Most instances of the step that run at once (ASL Map MaxConcurrency), >= 1; a larger fan-out
    /// runs in waves. Task steps only. Default: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    /// Fixed delay in seconds (pass and wait steps; added before a task's work otherwise). Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_s: Option<f64>,
    /// What the platform does when an invocation of this step is throttled (task steps only). Default:
    /// the workflow's `retry`; without either, a throttle fails the step at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetrySpec>,
    /// For `choice` steps: the successors that may run next and their probabilities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<ChoiceSpec>,
    /// The steps whose outputs this step reads (data flow), each one that runs before it (reachable
    /// through `after`). Default: every step in `after`. `after` stays the control order; a step in
    /// `after` that is not in `data_from` is a control-only edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_from: Option<Vec<String>>,
    /// Batching (task steps only): one invocation processes up to `size` requests' work of this step,
    /// waiting at most `window_s` for the batch to fill. Default: none (one invocation set per request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchSpec>,
}

/// A step's batching as written in a file (AWS Lambda event source mappings' `BatchSize` and
/// `MaximumBatchingWindowInSeconds`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchSpec {
    /// Most requests one batch holds, >= 1 and <= [`crate::limits::MAX_BATCH_SIZE`] (required).
    pub size: Option<u32>,
    /// Longest wait for a batch to fill, seconds, >= 0 and <= [`crate::limits::MAX_BATCH_WINDOW_S`].
    /// Default 0 (a batch holds the requests that reach the step at the same instant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<f64>,
}

/// A retrier as written in a file: AWS Step Functions' Retrier fields, each optional with Step
/// Functions' default. [`crate::Workflow::from_spec`] checks it into a [`crate::RetryPolicy`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Wait before the first retry, seconds (IntervalSeconds), > 0. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_s: Option<f64>,
    /// Factor by which the wait grows with each retry (BackoffRate), >= 1. Default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_rate: Option<f64>,
    /// Most retries after the first attempt (MaxAttempts); 0 never retries. Default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Cap on the wait before any retry, seconds (MaxDelaySeconds), > 0. Default: none (only
    /// [`crate::limits::MAX_RETRY_DELAY_S`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay_s: Option<f64>,
    /// `full` (wait a uniform draw below the backoff) or `none` (JitterStrategy). Default `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<String>,
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

/// Maps a YAML error to [`Error::Parse`] with its line and column.
pub(crate) fn yaml_parse_error(e: &serde_yaml_ng::Error, source_name: &str) -> Error {
    let loc = e.location();
    Error::Parse {
        source_name: source_name.to_owned(),
        line: loc.as_ref().map(|l| l.line()),
        column: loc.as_ref().map(|l| l.column()),
        message: e.to_string(),
    }
}

impl WorkflowSpec {
    /// Parses YAML (which also accepts most JSON); a leading UTF-8 byte-order mark is dropped.
    pub fn from_yaml_str(text: &str, source_name: &str) -> Result<Self, Error> {
        serde_yaml_ng::from_str(des::text::strip_bom(text))
            .map_err(|e| yaml_parse_error(&e, source_name))
    }

    /// Parses JSON exactly; a leading UTF-8 byte-order mark is dropped.
    pub fn from_json_str(text: &str, source_name: &str) -> Result<Self, Error> {
        serde_json::from_str(des::text::strip_bom(text)).map_err(|e| Error::Parse {
            source_name: source_name.to_owned(),
            line: Some(e.line()),
            column: Some(e.column()),
            message: e.to_string(),
        })
    }

    /// Parses JSON if the text starts with `{`, YAML otherwise.
    pub fn from_str_auto(text: &str, source_name: &str) -> Result<Self, Error> {
        let text = des::text::strip_bom(text);
        if text.trim_start().starts_with('{') {
            Self::from_json_str(text, source_name)
        } else {
            Self::from_yaml_str(text, source_name)
        }
    }

    /// Writes the native YAML format. Names that YAML 1.1 readers (PyYAML, older tools) take for
    /// booleans (`Yes`, `No`, `on`, `off`, `y`, `n`, ...) are single-quoted, so every reader sees strings.
    pub fn to_yaml(&self) -> String {
        // Serializing plain data structs with string keys cannot fail.
        let yaml = serde_yaml_ng::to_string(self).expect("workflow spec serializes to YAML");
        quote_yaml11_booleans(&yaml)
    }

    /// Writes the native format as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("workflow spec serializes to JSON")
    }
}

/// Plain scalars that YAML 1.1 reads as booleans; YAML 1.2 writers (serde_yaml_ng) leave them unquoted.
const YAML11_BOOLEANS: [&str; 22] = [
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
    "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
];

/// Single-quotes every plain scalar value of block-style YAML that YAML 1.1 reads as a boolean
/// (`name: Yes`, `- on`). Block scalars (`|-` descriptions) are left untouched.
fn quote_yaml11_booleans(yaml: &str) -> String {
    let mut out = String::with_capacity(yaml.len() + 16);
    // Indentation of the line that opened a block scalar, while inside one.
    let mut block_parent: Option<usize> = None;
    for line in yaml.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let indent = body.len() - body.trim_start().len();
        if let Some(parent) = block_parent {
            if body.trim().is_empty() || indent > parent {
                out.push_str(line);
                continue;
            }
            block_parent = None;
        }
        // The value starts after any `- ` list markers and one `key: `.
        let mut rest = &body[indent..];
        while let Some(r) = rest.strip_prefix("- ") {
            rest = r;
        }
        let value = match rest.find(": ") {
            Some(k) if !rest.starts_with(['\'', '"']) => &rest[k + 2..],
            _ => rest,
        };
        if value.starts_with(['|', '>']) {
            block_parent = Some(indent);
        }
        if YAML11_BOOLEANS.contains(&value) {
            let at = body.len() - value.len();
            out.push_str(&body[..at]);
            out.push('\'');
            out.push_str(value);
            out.push('\'');
            out.push_str(&line[body.len()..]);
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_booleans_are_quoted_outside_block_scalars() {
        let yaml = "name: Yes\ndescription: |-\n  a\n  - on\nsteps:\n- name: 'x'\n  after:\n  - No\n  - y2\n";
        assert_eq!(
            quote_yaml11_booleans(yaml),
            "name: 'Yes'\ndescription: |-\n  a\n  - on\nsteps:\n- name: 'x'\n  after:\n  - 'No'\n  - y2\n"
        );
    }
}
