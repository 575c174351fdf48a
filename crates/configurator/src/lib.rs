//! `faastune-configurator`: StepConf's per-step configurator as an AWS Lambda function (the
//! `provided.al2023` runtime; `cargo build --release --bin faastune-configurator`). The state machine
//! that `faastune aws export-asl --dynamic --configurator ARN` writes invokes it before each function
//! step; it decides with the decision service's code ([`serve::App`], [`serve::engine::Engine`]: the
//! same policy objects as `faastune plan`'s dynamic policies and `faastune serve`), so a Lambda and an
//! HTTP service given the same workflow, model, SLO and elapsed times answer the same.
//!
//! - [`Settings`]: what it serves, from environment variables (`FAASTUNE_WORKFLOW`, ...).
//! - [`handle`]: one invocation: an [`Event`] in, a decision (or an execution's state) out.
//! - `main.rs`: the Lambda Runtime API loop (`lambda_runtime`), or one event from a file
//!   (`--event FILE`) to try it locally.
//!
//! Where the execution state lives matters more here than in the service: concurrent invocations
//! run in separate Lambda instances, each with its own memory, so a workflow with parallel branches
//! (or more than one execution at a time) needs `FAASTUNE_STORE=redis://...` shared by all instances;
//! the memory store is right only with the function's reserved concurrency at 1. Documentation:
//! `docs/serve.md`, "The Lambda configurator".
#![warn(missing_docs)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use serve::config::{ModelSpec, Source, StandardPredictors, WorkflowConfig};
use serve::engine::FinishReport;
use serve::{App, Error};

/// The environment variables it reads, with what each means (for messages and `--help`).
pub const ENV_VARS: [(&str, &str); 12] = [
    (
        "FAASTUNE_WORKFLOW",
        "the workflow file to serve (relative paths: from the working directory, /var/task in Lambda)",
    ),
    (
        "FAASTUNE_WORKFLOWS_DIR",
        "instead: every workflow file of this directory, each with NAME.serve.yaml settings",
    ),
    (
        "FAASTUNE_SLO_S",
        "end-to-end SLO, seconds (default: the workflow's slo_s; with FAASTUNE_WORKFLOW)",
    ),
    (
        "FAASTUNE_POLICY",
        "stepconf (default), intra-only, inter-only, replan",
    ),
    ("FAASTUNE_MODEL", "fitted (default), paper, oracle"),
    (
        "FAASTUNE_MODEL_FILE",
        "instead: a saved model (faastune fit --save); with FAASTUNE_WORKFLOW",
    ),
    (
        "FAASTUNE_PLATFORM",
        "a platform profile (default: the built-in Lambda-like one)",
    ),
    (
        "FAASTUNE_SEED",
        "the profiling seed of fitted models (default 0)",
    ),
    (
        "FAASTUNE_STORE",
        "memory (default; right only with reserved concurrency 1) or redis://HOST:PORT[/DB]",
    ),
    (
        "FAASTUNE_REDIS_PREFIX",
        "key prefix in Redis (default faastune:)",
    ),
    (
        "FAASTUNE_TTL_S",
        "forget an execution after this many seconds without a call (default 86400)",
    ),
    (
        "FAASTUNE_LOG",
        "log filter: a level (info, the default) or target=level,...; logs are JSON lines",
    ),
];

/// What the configurator serves and where it keeps state, read from the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The workflows.
    pub source: Source,
    /// `memory` or a Redis URL.
    pub store: String,
    /// Key prefix in Redis.
    pub redis_prefix: String,
    /// Idle executions are forgotten after this long.
    pub ttl: Duration,
    /// The log filter.
    pub log: String,
}

impl Settings {
    /// Reads the settings through `var` (the process environment in `main`: `std::env::var(..).ok()`).
    /// Errors name the variable.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |k: &str| var(k).filter(|v| !v.trim().is_empty());
        let bad = |k: &str, v: &str, why: &str| Error::Config(format!("{k}={v:?}: {why}"));
        let workflow = get("FAASTUNE_WORKFLOW").map(PathBuf::from);
        let dir = get("FAASTUNE_WORKFLOWS_DIR").map(PathBuf::from);
        let slo_s = match get("FAASTUNE_SLO_S") {
            Some(v) => {
                let x: f64 = v
                    .trim()
                    .parse()
                    .map_err(|_| bad("FAASTUNE_SLO_S", &v, "not a number"))?;
                if !(x.is_finite() && x > 0.0) {
                    return Err(bad("FAASTUNE_SLO_S", &v, "must be a finite number > 0"));
                }
                Some(x)
            }
            None => None,
        };
        let model = match (get("FAASTUNE_MODEL_FILE"), get("FAASTUNE_MODEL")) {
            (Some(_), Some(m)) => {
                return Err(bad(
                    "FAASTUNE_MODEL",
                    &m,
                    "give FAASTUNE_MODEL or FAASTUNE_MODEL_FILE, not both",
                ));
            }
            (Some(f), None) => ModelSpec::File(PathBuf::from(f)),
            (None, Some(m)) => {
                let m = m.trim().to_owned();
                if !["fitted", "paper", "oracle"].contains(&m.as_str()) {
                    return Err(bad(
                        "FAASTUNE_MODEL",
                        &m,
                        "unknown model; valid: fitted, paper, oracle",
                    ));
                }
                ModelSpec::Named(m)
            }
            (None, None) => ModelSpec::Named("fitted".to_owned()),
        };
        let seed = match get("FAASTUNE_SEED") {
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| bad("FAASTUNE_SEED", &v, "not a whole number >= 0"))?,
            None => 0,
        };
        let ttl_s: u64 = match get("FAASTUNE_TTL_S") {
            Some(v) => match v.trim().parse() {
                Ok(x) if x > 0 => x,
                _ => return Err(bad("FAASTUNE_TTL_S", &v, "must be a whole number > 0")),
            },
            None => 86_400,
        };
        let config = WorkflowConfig {
            workflow: workflow.clone().unwrap_or_default(),
            slo_s,
            policy: get("FAASTUNE_POLICY")
                .map(|p| p.trim().to_owned())
                .unwrap_or_else(|| "stepconf".to_owned()),
            model,
            platform: get("FAASTUNE_PLATFORM").map(PathBuf::from),
            seed,
            origin: "FAASTUNE_WORKFLOW".to_owned(),
        };
        let source = match (workflow, dir) {
            (Some(_), None) => Source::Single(config),
            (None, Some(dir)) => {
                if let ModelSpec::File(f) = &config.model {
                    return Err(bad(
                        "FAASTUNE_MODEL_FILE",
                        &f.display().to_string(),
                        "names one workflow's model: with FAASTUNE_WORKFLOWS_DIR give model_file in each NAME.serve.yaml",
                    ));
                }
                if slo_s.is_some() {
                    return Err(Error::Config(
                        "FAASTUNE_SLO_S is for FAASTUNE_WORKFLOW: with FAASTUNE_WORKFLOWS_DIR give slo_s in each NAME.serve.yaml".to_owned(),
                    ));
                }
                Source::Dir {
                    dir,
                    defaults: WorkflowConfig {
                        origin: "FAASTUNE_WORKFLOWS_DIR".to_owned(),
                        ..config
                    },
                }
            }
            (Some(_), Some(_)) => {
                return Err(Error::Config(
                    "give FAASTUNE_WORKFLOW or FAASTUNE_WORKFLOWS_DIR, not both".to_owned(),
                ));
            }
            (None, None) => {
                return Err(Error::Config(
                    "set FAASTUNE_WORKFLOW (a workflow file) or FAASTUNE_WORKFLOWS_DIR (a directory of them)".to_owned(),
                ));
            }
        };
        let store = get("FAASTUNE_STORE")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|| "memory".to_owned());
        if store != "memory" && !store.starts_with("redis://") {
            return Err(bad(
                "FAASTUNE_STORE",
                &store,
                "give memory or redis://HOST:PORT[/DB]",
            ));
        }
        Ok(Settings {
            source,
            store,
            redis_prefix: get("FAASTUNE_REDIS_PREFIX").unwrap_or_else(|| "faastune:".to_owned()),
            ttl: Duration::from_secs(ttl_s),
            log: get("FAASTUNE_LOG").unwrap_or_else(|| "info".to_owned()),
        })
    }

    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(|k| std::env::var(k).ok())
    }
}

/// Opens the store and builds every workflow's engine (profiling and fitting for fitted models, on a
/// blocking thread), as the Lambda's initialisation does once per instance.
pub async fn open(settings: &Settings) -> Result<Arc<App>, Error> {
    let store = serve::open_store(&settings.store, &settings.redis_prefix, settings.ttl).await?;
    let source = settings.source.clone();
    let app =
        tokio::task::spawn_blocking(move || App::new(source, Arc::new(StandardPredictors), store))
            .await
            .map_err(|e| Error::Internal(format!("loading workflows: {e}")))??;
    Ok(Arc::new(app))
}

/// What an invocation asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The configuration of a step (the default): `{memory_mb, alias, fan_out, workers, sub_slo_s,
    /// predicted_duration_s, ...}`, as `POST .../decide` answers.
    #[default]
    Decide,
    /// A step finished: `duration_s` (and optionally `start_s`, `cost_usd`, `n_cold_starts`) feed the
    /// policy's `observe`; answers the execution, as `POST .../finish` does.
    Finish,
    /// The execution's state, as `GET .../executions/{id}` answers it.
    Get,
    /// The execution ended: its state is removed (`DELETE .../executions/{id}`); answers
    /// `{"ended": "<execution>"}`.
    End,
}

/// One invocation's payload. The dynamic state machine sends `{"workflow", "execution", "step",
/// "started_at"}` (the execution's name and `$$.Execution.StartTime`); the other fields serve
/// `finish`, `get` and `end` and callers that know the elapsed time. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// What to do (default: decide).
    #[serde(default)]
    pub action: Action,
    /// The workflow (may be left out when one workflow is served).
    pub workflow: Option<String>,
    /// The execution's id (in Step Functions: its name, unique per state machine).
    pub execution: String,
    /// The step (decide, finish).
    pub step: Option<String>,
    /// Seconds since the execution started (decide; or `started_at`).
    pub elapsed_s: Option<f64>,
    /// When the execution started: RFC 3339 or seconds since the Unix epoch (decide).
    pub started_at: Option<Value>,
    /// How long the step took, seconds (finish).
    pub duration_s: Option<f64>,
    /// When the step started, seconds since the execution started (finish; default: its decision's
    /// time).
    pub start_s: Option<f64>,
    /// The step's cost, USD (finish; default 0).
    pub cost_usd: Option<f64>,
    /// Instances that started cold (finish; default 0).
    pub n_cold_starts: Option<u32>,
}

/// An example of each action's event, for messages.
const EVENT_EXAMPLE: &str = r#"{"workflow": "orders", "execution": "run-1", "step": "Split", "started_at": "2026-05-01T12:00:00Z"}"#;

/// Reads an invocation's payload; the error says what is wrong and shows a valid event.
pub fn parse_event(payload: Value) -> Result<Event, Error> {
    if !payload.is_object() {
        return Err(Error::BadRequest(format!(
            "the event must be a JSON object such as {EVENT_EXAMPLE}, not {}",
            short(&payload)
        )));
    }
    serde_json::from_value(payload)
        .map_err(|e| Error::BadRequest(format!("event: {e} (expected e.g. {EVENT_EXAMPLE})")))
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

fn need<'a, T>(field: &'a Option<T>, name: &str, action: &str) -> Result<&'a T, Error> {
    field
        .as_ref()
        .ok_or_else(|| Error::BadRequest(format!("a {action} event needs \"{name}\"")))
}

fn refuse_extra(present: bool, name: &str, action: &str) -> Result<(), Error> {
    if present {
        return Err(Error::BadRequest(format!(
            "\"{name}\" has no meaning in a {action} event"
        )));
    }
    Ok(())
}

/// One invocation: the event's action on `app`, answered as the HTTP API answers it. Nothing
/// changes when it fails; the error's [`Error::kind`] becomes the Lambda error type
/// (`faastune.<kind>`, e.g. `faastune.conflict` for a step decided twice), which a state machine can
/// match in `Retry` and `Catch`.
pub async fn handle(app: &App, payload: Value) -> Result<Value, Error> {
    let t0 = serve::clock::instant_now();
    let event = parse_event(payload)?;
    let engine = app.engine(event.workflow.as_deref())?;
    let id = event.execution.as_str();
    let finish_fields = event.duration_s.is_some()
        || event.start_s.is_some()
        || event.cost_usd.is_some()
        || event.n_cold_starts.is_some();
    let time_fields = event.elapsed_s.is_some() || event.started_at.is_some();
    let out = match event.action {
        Action::Decide => {
            refuse_extra(
                finish_fields,
                "duration_s/start_s/cost_usd/n_cold_starts",
                "decide",
            )?;
            let step = need(&event.step, "step", "decide")?;
            let elapsed_s = serve::clock::elapsed_since_start(
                event.elapsed_s,
                event.started_at.as_ref(),
                EVENT_EXAMPLE,
            )?;
            let d = engine.decide(&app.store, id, step, elapsed_s).await?;
            engine.metrics.latency(t0.elapsed().as_secs_f64());
            tracing::info!(
                workflow = %d.workflow, execution = %d.execution, step = %d.step,
                elapsed_s = d.elapsed_s, memory_mb = d.memory_mb, fan_out = d.fan_out,
                workers = d.workers, sub_slo_s = d.sub_slo_s, "decided"
            );
            to_value(&d)?
        }
        Action::Finish => {
            refuse_extra(time_fields, "elapsed_s/started_at", "finish")?;
            let step = need(&event.step, "step", "finish")?;
            let report = FinishReport {
                duration_s: *need(&event.duration_s, "duration_s", "finish")?,
                start_s: event.start_s,
                cost_usd: event.cost_usd.unwrap_or(0.0),
                n_cold_starts: event.n_cold_starts.unwrap_or(0),
            };
            let state = engine.finish(&app.store, id, step, report).await?;
            tracing::info!(workflow = %engine.name, execution = %id, step = %step,
                duration_s = report.duration_s, "finished");
            to_value(&serve::http::view(&engine, id, &state))?
        }
        Action::Get | Action::End => {
            let what = if event.action == Action::Get {
                "get"
            } else {
                "end"
            };
            refuse_extra(event.step.is_some(), "step", what)?;
            refuse_extra(time_fields || finish_fields, "a time or duration", what)?;
            if event.action == Action::Get {
                let state = engine.get(&app.store, id).await?;
                to_value(&serve::http::view(&engine, id, &state))?
            } else {
                engine.delete(&app.store, id).await?;
                tracing::info!(workflow = %engine.name, execution = %id, "ended");
                serde_json::json!({ "ended": id })
            }
        }
    };
    Ok(out)
}

fn to_value(x: &impl serde::Serialize) -> Result<Value, Error> {
    serde_json::to_value(x).map_err(|e| Error::Internal(format!("answer: {e}")))
}

/// The Lambda error type of `e`: `faastune.<kind>`.
pub fn error_type(e: &Error) -> String {
    format!("faastune.{}", e.kind())
}
