//! The workflow functions of `faastune._native`: load, validate and import workflows; simulate, fit,
//! plan and compare. Each takes what the CLI's flags take and returns the CLI's `--json` object
//! (parsed by Python's `json`, so every float is the same double), through the same library calls.

use std::path::PathBuf;

use optimizer::StepPredictor;
use perfmodel::source::ModelSource;
use platform::{
    Arrivals, Platform, SimOptions, Simulation, StaticConfig, StaticPolicy, StepConfig,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use workflow::Workflow;
use workflow::import::{Format, ImportOptions};

use crate::errors;

/// JSON text as Python objects (`json.loads`).
pub fn json_to_py<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (text,))
}

/// A workflow argument: a path (`str` or `os.PathLike`) or a spec as a `dict`.
pub enum Source {
    /// A file.
    Path(PathBuf),
    /// A spec given as a dict, as JSON text.
    Spec(String),
}

impl Source {
    /// Reads `obj`: a dict becomes its JSON text; anything else goes through `os.fspath`.
    pub fn extract(obj: &Bound<'_, PyAny>) -> PyResult<Source> {
        let py = obj.py();
        if obj.is_instance_of::<PyDict>() {
            let text: String = py
                .import("json")?
                .call_method1("dumps", (obj,))?
                .extract()?;
            return Ok(Source::Spec(text));
        }
        let path = py.import("os")?.call_method1("fspath", (obj,))?;
        let path: String = path.cast::<PyString>()?.extract()?;
        Ok(Source::Path(PathBuf::from(path)))
    }

    /// The source's name in messages.
    pub fn name(&self) -> String {
        match self {
            Source::Path(p) => p.display().to_string(),
            Source::Spec(_) => "<dict>".to_owned(),
        }
    }

    /// The validated workflow.
    pub fn workflow(&self) -> PyResult<Workflow> {
        match self {
            Source::Path(p) => Workflow::load(p),
            Source::Spec(text) => Workflow::from_str_auto(text, "<dict>"),
        }
        .map_err(errors::workflow)
    }
}

/// The platform profile at `path`, or the built-in Lambda-like one.
pub fn load_platform(path: Option<&Bound<'_, PyAny>>) -> PyResult<Platform> {
    match path {
        None => Ok(Platform::lambda()),
        Some(p) => match Source::extract(p)? {
            Source::Path(p) => Platform::load(&p).map_err(errors::platform),
            Source::Spec(_) => Err(errors::option(
                "platform",
                "give a profile file path (a dict is not read here)",
            )),
        },
    }
}

/// The SLO from the argument, else the workflow's, else an error (as `faastune plan`).
fn resolve_slo(slo: Option<f64>, wf: &Workflow) -> PyResult<f64> {
    let slo_s = slo.or(wf.slo_s).ok_or_else(|| {
        errors::option(
            "slo",
            format!("workflow '{}' has no slo_s: give slo=SECONDS", wf.name),
        )
    })?;
    if !(slo_s.is_finite() && slo_s > 0.0) {
        return Err(errors::option("slo", format!("{slo_s}: must be positive")));
    }
    Ok(slo_s)
}

/// Loads and validates a workflow (a path or a spec dict); returns its spec as a dict (the native
/// format: `faastune.save_workflow` writes it back, and loading it again gives the same workflow).
#[pyfunction]
pub fn load_workflow<'py>(
    py: Python<'py>,
    workflow: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let wf = Source::extract(workflow)?.workflow()?;
    json_to_py(py, &wf.to_spec().to_json())
}

/// Validates a workflow; returns a summary (`name`, `n_steps`, `steps` in topological order,
/// `slo_s`) or raises `FaastuneError` listing every problem with its place.
#[pyfunction]
pub fn validate_workflow<'py>(
    py: Python<'py>,
    workflow: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let wf = Source::extract(workflow)?.workflow()?;
    let d = PyDict::new(py);
    d.set_item("name", &wf.name)?;
    d.set_item("n_steps", wf.n_steps())?;
    let order: Vec<&str> = wf
        .topo_order()
        .iter()
        .map(|id| wf.step(*id).name.as_str())
        .collect();
    d.set_item("steps", order)?;
    d.set_item("slo_s", wf.slo_s)?;
    Ok(d)
}

/// Imports a workflow from another format (`asl`, `workflowhub`, `sebs`, `faasflow`); returns the
/// native spec as a dict, assumptions recorded in its `description` (as `faastune import`).
#[pyfunction]
#[pyo3(signature = (path, format, *, name=None, work_s=None, jobs=None, items=None, memory_mb_per_worker=None, slo_s=None, per_job=false))]
#[allow(clippy::too_many_arguments)]
pub fn import_workflow<'py>(
    py: Python<'py>,
    path: &Bound<'py, PyAny>,
    format: &str,
    name: Option<String>,
    work_s: Option<f64>,
    jobs: Option<u32>,
    items: Option<u32>,
    memory_mb_per_worker: Option<u32>,
    slo_s: Option<f64>,
    per_job: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let format: Format = format
        .parse()
        .map_err(|e: workflow::import::UnknownFormat| errors::option("format", e))?;
    let Source::Path(path) = Source::extract(path)? else {
        return Err(errors::option("path", "give a file path"));
    };
    let d = ImportOptions::default();
    let opts = ImportOptions {
        name,
        work_s: work_s.unwrap_or(d.work_s),
        jobs: jobs.unwrap_or(d.jobs),
        items: items.unwrap_or(d.items),
        memory_mb_per_worker,
        group_jobs: !per_job,
        slo_s,
    };
    let spec = workflow::import::import_file(format, &path, &opts).map_err(errors::workflow)?;
    json_to_py(py, &spec.to_json())
}

/// Writes a workflow spec (a dict, or a path to a workflow) to `path` as YAML (`.yaml`/`.yml`) or
/// JSON (otherwise), after validating it.
#[pyfunction]
pub fn save_workflow(workflow: &Bound<'_, PyAny>, path: &Bound<'_, PyAny>) -> PyResult<()> {
    let wf = Source::extract(workflow)?.workflow()?;
    let Source::Path(path) = Source::extract(path)? else {
        return Err(errors::option("path", "give a file path"));
    };
    let spec = wf.to_spec();
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    let text = if yaml {
        spec.to_yaml()
    } else {
        spec.to_json() + "\n"
    };
    std::fs::write(&path, text).map_err(|e| errors::other("io", &path.display().to_string(), e))
}

/// The static configuration of `simulate`: the file, `<stem>.config.yaml` beside a workflow file, or
/// the platform's default (as `faastune simulate`).
fn static_config(
    config: Option<&Bound<'_, PyAny>>,
    source: &Source,
    wf: &Workflow,
    platform: &Platform,
) -> PyResult<Vec<StepConfig>> {
    let from_text = |text: &str, name: &str| {
        StaticConfig::from_str_auto(text, name)
            .and_then(|c| c.resolve(wf, platform, name))
            .map_err(errors::platform)
    };
    if let Some(c) = config {
        return match Source::extract(c)? {
            Source::Path(p) => {
                let name = p.display().to_string();
                StaticConfig::load(&p)
                    .and_then(|c| c.resolve(wf, platform, &name))
                    .map_err(errors::platform)
            }
            Source::Spec(text) => from_text(&text, "<config dict>"),
        };
    }
    if let Source::Path(p) = source {
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("workflow");
        let sibling = p.with_file_name(format!("{stem}.config.yaml"));
        if sibling.exists() {
            let name = sibling.display().to_string();
            return StaticConfig::load(&sibling)
                .and_then(|c| c.resolve(wf, platform, &name))
                .map_err(errors::platform);
        }
    }
    StaticConfig::default_for(wf, platform).map_err(errors::platform)
}

/// The arrival process: `poisson`/`fixed` at `rate`, or a full spec (`poisson:RATE`,
/// `schedule:FILE`, `pattern:NAME:MEAN`, `azure2019:DIR[:FUNCTION][:SCALE]`).
fn arrivals(spec: &str, rate: f64, horizon_s: Option<f64>, seed: u64) -> PyResult<Arrivals> {
    match spec {
        "poisson" => Ok(Arrivals::Poisson { rate_per_s: rate }),
        "fixed" => Ok(Arrivals::Fixed { rate_per_s: rate }),
        _ => Arrivals::parse(spec, horizon_s, seed).map_err(errors::platform),
    }
}

/// Simulates requests of a workflow under a static per-step configuration; returns the report of
/// `faastune simulate --json` with the same arguments (same seed, same numbers).
#[pyfunction]
#[pyo3(signature = (workflow, *, config=None, platform=None, requests=None, rate=1.0, arrivals="poisson", minutes=None, slo=None, seed=0, records=false))]
#[allow(clippy::too_many_arguments)]
pub fn simulate<'py>(
    py: Python<'py>,
    workflow: &Bound<'py, PyAny>,
    config: Option<&Bound<'py, PyAny>>,
    platform: Option<&Bound<'py, PyAny>>,
    requests: Option<u64>,
    rate: f64,
    arrivals: &str,
    minutes: Option<f64>,
    slo: Option<f64>,
    seed: u64,
    records: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let source = Source::extract(workflow)?;
    let wf = source.workflow()?;
    let platform = load_platform(platform)?;
    let configs = static_config(config, &source, &wf, &platform)?;
    if let Some(m) = minutes
        && !(m.is_finite() && m > 0.0 && m <= platform::limits::ARRIVAL_SPAN_S_MAX / 60.0)
    {
        return Err(errors::option(
            "minutes",
            format!(
                "{m}: must be in (0, {}]",
                platform::limits::ARRIVAL_SPAN_S_MAX / 60.0
            ),
        ));
    }
    let horizon_s = minutes.map(|m| m * 60.0);
    let arrivals = self::arrivals(arrivals, rate, horizon_s, seed)?;
    let opts = SimOptions {
        n_requests: requests.unwrap_or(if horizon_s.is_some() {
            platform::limits::REQUESTS_MAX
        } else {
            100
        }),
        arrivals,
        seed,
        slo_s: slo,
        keep_records: records,
        horizon_s,
        metrics_interval_s: None,
        control_interval_s: None,
    };
    let sim = Simulation::new(&wf, &platform, opts).map_err(errors::platform)?;
    let mut policy = StaticPolicy::new("static-config", configs);
    let report = sim.run(&mut policy).map_err(errors::platform)?;
    json_to_py(py, &report.to_json())
}

/// The predictor of `model` (`fitted`, `paper`, `oracle`) or a saved `model_file`.
fn predictor(
    model: &str,
    model_file: Option<&Bound<'_, PyAny>>,
    seed: u64,
    wf: &Workflow,
    platform: &Platform,
) -> PyResult<Box<dyn StepPredictor>> {
    let source = match (model_file, model) {
        (Some(f), _) => match Source::extract(f)? {
            Source::Path(p) => ModelSource::File(p),
            Source::Spec(_) => return Err(errors::option("model_file", "give a file path")),
        },
        (None, "oracle") => return Ok(Box::new(optimizer::OraclePredictor::new(wf, platform))),
        (None, "fitted") => ModelSource::Fitted,
        (None, "paper") => ModelSource::Paper,
        (None, other) => {
            return Err(errors::option(
                "model",
                format!("{other:?}: expected fitted, paper or oracle"),
            ));
        }
    };
    let loaded = perfmodel::source::load(&source, seed, wf, platform)
        .map_err(|e| errors::other("model", "model", e))?;
    Ok(Box::new(loaded.model))
}

/// The explained plan a policy makes at the SLO (`faastune plan --json`).
#[pyfunction]
#[pyo3(signature = (workflow, *, slo=None, policy="replan", platform=None, model="fitted", model_file=None, seed=0))]
#[allow(clippy::too_many_arguments)]
pub fn plan<'py>(
    py: Python<'py>,
    workflow: &Bound<'py, PyAny>,
    slo: Option<f64>,
    policy: &str,
    platform: Option<&Bound<'py, PyAny>>,
    model: &str,
    model_file: Option<&Bound<'py, PyAny>>,
    seed: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let wf = Source::extract(workflow)?.workflow()?;
    let platform = load_platform(platform)?;
    let slo_s = resolve_slo(slo, &wf)?;
    let pred = predictor(model, model_file, seed, &wf, &platform)?;
    let plan = optimizer::plan(&wf, &platform, pred.as_ref(), slo_s, policy)
        .map_err(|e| errors::other("optimizer", "policy", e))?;
    json_to_py(py, &plan.to_json())
}

/// Counts a policy's decisions (the `n_decisions` of `faastune compare`).
struct Counted<P> {
    inner: P,
    n_decisions: usize,
}

impl<P: platform::Policy> platform::Policy for Counted<P> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn choose(&mut self, ctx: &platform::StepContext<'_>) -> StepConfig {
        self.n_decisions += 1;
        self.inner.choose(ctx)
    }
    fn observe(&mut self, ctx: &platform::StepContext<'_>, outcome: &platform::StepOutcome) {
        self.inner.observe(ctx, outcome)
    }
}

/// Every policy on the same request stream (`faastune compare --json`, without `--timings` and
/// `--model-file`): `{"workflow", "slo_s", "requests", "rate_per_s", "seed", "model", "policies":
/// [rows]}`.
#[pyfunction]
#[pyo3(signature = (workflow, *, slo=None, requests=200, rate=0.5, arrivals="poisson", policies=None, platform=None, model="fitted", seed=0))]
#[allow(clippy::too_many_arguments)]
pub fn compare<'py>(
    py: Python<'py>,
    workflow: &Bound<'py, PyAny>,
    slo: Option<f64>,
    requests: u64,
    rate: f64,
    arrivals: &str,
    policies: Option<Vec<String>>,
    platform: Option<&Bound<'py, PyAny>>,
    model: &str,
    seed: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let wf = Source::extract(workflow)?.workflow()?;
    let platform = load_platform(platform)?;
    let slo_s = resolve_slo(slo, &wf)?;
    let pred = predictor(model, None, seed, &wf, &platform)?;
    let arrivals = match arrivals {
        "poisson" => Arrivals::Poisson { rate_per_s: rate },
        "fixed" => Arrivals::Fixed { rate_per_s: rate },
        other => {
            return Err(errors::option(
                "arrivals",
                format!("{other:?}: expected poisson or fixed"),
            ));
        }
    };
    let names: Vec<String> = policies.unwrap_or_else(|| {
        optimizer::POLICY_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect()
    });
    let mut rows = Vec::new();
    for name in &names {
        let policy = optimizer::policy_by_name(name, &wf, &platform, pred.as_ref(), slo_s)
            .map_err(|e| errors::other("optimizer", "policies", e))?;
        let mut counted = Counted {
            inner: policy,
            n_decisions: 0,
        };
        let opts = SimOptions {
            n_requests: requests,
            arrivals: arrivals.clone(),
            seed,
            slo_s: Some(slo_s),
            keep_records: false,
            ..SimOptions::default()
        };
        let r = Simulation::new(&wf, &platform, opts)
            .and_then(|s| s.run(&mut counted))
            .map_err(errors::platform)?;
        rows.push(serde_json::json!({
            "name": name,
            "slo_attainment": r.slo_attainment.unwrap_or(0.0),
            "cost_usd_mean": r.cost_usd.mean,
            "latency_s_mean": r.latency_s.mean,
            "latency_s_p50": r.latency_s.p50,
            "latency_s_p95": r.latency_s.p95,
            "latency_s_p99": r.latency_s.p99,
            "n_decisions": counted.n_decisions,
            "cold_start_rate": r.cold_start_rate,
        }));
    }
    let out = serde_json::json!({
        "workflow": wf.name,
        "slo_s": slo_s,
        "requests": requests,
        "rate_per_s": rate,
        "seed": seed,
        "model": model,
        "policies": rows,
    });
    json_to_py(py, &out.to_string())
}

/// Profiles every task step in the simulator and fits the performance model the planner uses
/// (`fitted`: StepConf Eq. 1 with our refinements; `paper`: Eq. 1 as published): the model `faastune
/// plan --seed SEED` plans with (`perfmodel::source`, profiling on the seed's `profiling` stream).
/// Returns it in the model file format (`plan(model_file=...)` reads it back; `faastune fit
/// --workflow` profiles with its own repetitions and seed, so its file differs).
#[pyfunction]
#[pyo3(signature = (workflow, *, platform=None, model="fitted", seed=0))]
pub fn fit<'py>(
    py: Python<'py>,
    workflow: &Bound<'py, PyAny>,
    platform: Option<&Bound<'py, PyAny>>,
    model: &str,
    seed: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let wf = Source::extract(workflow)?.workflow()?;
    let platform = load_platform(platform)?;
    let source = match model {
        "fitted" => ModelSource::Fitted,
        "paper" => ModelSource::Paper,
        other => {
            return Err(errors::option(
                "model",
                format!("{other:?}: expected fitted or paper"),
            ));
        }
    };
    let loaded = perfmodel::source::load(&source, seed, &wf, &platform)
        .map_err(|e| errors::other("model", "model", e))?;
    json_to_py(py, &loaded.model.to_json())
}

/// The names of the configuration policies, in report order.
#[pyfunction]
pub fn policies() -> Vec<&'static str> {
    optimizer::POLICY_NAMES.to_vec()
}
