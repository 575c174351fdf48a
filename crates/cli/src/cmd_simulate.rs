//! `faastune simulate`: many requests of a workflow through the simulator under a static per-step
//! configuration, optionally under time-varying load, for a number of minutes, with a controller
//! changing provisioned/reserved concurrency while it runs, and a monitoring stream written to a file;
//! an aligned summary table, or one JSON object with `--json`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use platform::control::{
    Kpa, KpaSettings, ScheduledActions, TargetTracking, TargetTrackingSettings,
};
use platform::metrics_io::{MetricsFormat, write_metrics};
use platform::{
    Arrivals, Controller, Platform, SimOptions, SimReport, Simulation, StaticConfig, StaticPolicy,
    StepConfig,
};
use workflow::{StepKind, Workflow};

use crate::table::{Table, pct, secs, usd};

/// Arguments of `faastune simulate`.
#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// Workflow file (native YAML or JSON).
    #[arg(long)]
    pub workflow: PathBuf,
    /// Static per-step config file (YAML or JSON). Default: `<workflow stem>.config.yaml` beside the
    /// workflow if it exists, else 1769 MB, one instance, one worker per step.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Platform profile file. Default: the built-in Lambda-like profile.
    #[arg(long)]
    pub platform: Option<PathBuf>,
    /// Most requests to start (default 100; with `--minutes`, as many as arrive).
    #[arg(long)]
    pub requests: Option<u64>,
    /// Mean arrival rate of `--arrivals poisson` or `fixed`, requests per second.
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    /// Arrival process: `poisson` or `fixed` (at `--rate`), `poisson:RATE`, `fixed:RATE`,
    /// `schedule:FILE` (piecewise-constant rates), `pattern:NAME:MEAN` (steady, bursty, periodic,
    /// mixed around MEAN requests/s), `azure2019:DIR[:FUNCTION][:SCALE]` (a trace function's
    /// per-minute counts).
    #[arg(long, default_value = "poisson")]
    pub arrivals: String,
    /// Simulated minutes: arrivals stop and the run is cut at this horizon (requests still running are
    /// reported as running).
    #[arg(long)]
    pub minutes: Option<f64>,
    /// Runtime controller: `static` (no change), `target-tracking` (AWS Application Auto Scaling on
    /// provisioned-concurrency utilisation), `kpa` (Knative's pod autoscaler on provisioned
    /// concurrency), `schedule:FILE` (scheduled actions).
    #[arg(long, default_value = "static")]
    pub controller: String,
    /// Control interval, seconds (default: the controller's: 60 s target tracking, 2 s KPA).
    #[arg(long)]
    pub control_interval: Option<f64>,
    /// Write the monitoring stream (per function and workflow, every `--metrics-interval`) to this
    /// file: `.csv`, or `.parquet` (built with the `parquet` feature).
    #[arg(long)]
    pub metrics: Option<PathBuf>,
    /// Interval of the monitoring stream, seconds.
    #[arg(long, default_value_t = 60.0)]
    pub metrics_interval: f64,
    /// End-to-end SLO in seconds (default: the workflow's `slo_s`).
    #[arg(long)]
    pub slo: Option<f64>,
    /// Root seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Include one record per request in the JSON output.
    #[arg(long)]
    pub records: bool,
}

/// Arrival processes on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrivalKind {
    /// Poisson arrivals at the given rate.
    Poisson,
    /// Evenly spaced arrivals at the given rate.
    Fixed,
}

impl ArrivalKind {
    /// The arrival process at `rate_per_s`.
    pub fn with_rate(self, rate_per_s: f64) -> Arrivals {
        match self {
            ArrivalKind::Poisson => Arrivals::Poisson { rate_per_s },
            ArrivalKind::Fixed => Arrivals::Fixed { rate_per_s },
        }
    }
}

/// Loads a workflow file with context.
pub fn load_workflow(path: &Path) -> anyhow::Result<Workflow> {
    Workflow::load(path).with_context(|| format!("loading workflow {}", path.display()))
}

/// Loads a platform profile, or the built-in default.
pub fn load_platform(path: Option<&Path>) -> anyhow::Result<Platform> {
    match path {
        Some(p) => {
            Platform::load(p).with_context(|| format!("loading platform profile {}", p.display()))
        }
        None => Ok(Platform::lambda()),
    }
}

/// Resolves the static configuration: the given file, the sibling `<stem>.config.yaml`, or a default.
pub fn load_static_config(
    config: Option<&Path>,
    workflow_path: &Path,
    wf: &Workflow,
    platform: &Platform,
) -> anyhow::Result<(Vec<StepConfig>, String)> {
    let sibling = workflow_path.with_file_name(format!(
        "{}.config.yaml",
        workflow_path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("workflow")
    ));
    let path = match config {
        Some(p) => Some(p.to_path_buf()),
        None if sibling.exists() => Some(sibling),
        None => None,
    };
    match path {
        Some(p) => {
            let name = p.display().to_string();
            let cfg = StaticConfig::load(&p)
                .and_then(|c| c.resolve(wf, platform, &name))
                .with_context(|| format!("loading config {name}"))?;
            Ok((cfg, name))
        }
        None => {
            let m_s = platform.spec().vcpu_full_mb;
            let cfg = StaticConfig::default_for(wf, platform)
                .context("default configuration (give --config)")?;
            Ok((
                cfg,
                format!("default ({m_s} MB, 1 instance, 1 worker per step)"),
            ))
        }
    }
}

/// Parses `--arrivals`: a bare `poisson`/`fixed` takes `--rate`; anything else is a full spec.
pub fn parse_arrivals(
    spec: &str,
    rate: f64,
    horizon_s: Option<f64>,
    seed: u64,
) -> anyhow::Result<Arrivals> {
    match spec {
        "poisson" => Ok(Arrivals::Poisson { rate_per_s: rate }),
        "fixed" => Ok(Arrivals::Fixed { rate_per_s: rate }),
        _ => Arrivals::parse(spec, horizon_s, seed).with_context(|| format!("--arrivals {spec}")),
    }
}

/// Builds the `--controller`.
pub fn parse_controller(spec: &str, wf: &Workflow) -> anyhow::Result<Box<dyn Controller>> {
    Ok(match spec {
        "static" => Box::new(platform::StaticController),
        "target-tracking" => Box::new(
            TargetTracking::new(TargetTrackingSettings::default())
                .context("--controller target-tracking")?,
        ),
        "kpa" => Box::new(Kpa::new(KpaSettings::default()).context("--controller kpa")?),
        _ => match spec.strip_prefix("schedule:") {
            Some(path) => Box::new(
                ScheduledActions::from_file(Path::new(path), wf)
                    .with_context(|| format!("--controller {spec}"))?,
            ),
            None => anyhow::bail!(
                "--controller {spec}: expected static, target-tracking, kpa or schedule:FILE"
            ),
        },
    })
}

/// Runs `faastune simulate`.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let wf = load_workflow(&args.workflow)?;
    let platform = load_platform(args.platform.as_deref())?;
    let (configs, config_name) =
        load_static_config(args.config.as_deref(), &args.workflow, &wf, &platform)?;
    if let Some(m) = args.minutes {
        crate::bounds::check_f64(
            "--minutes",
            m,
            1e-3 / 60.0,
            platform::limits::ARRIVAL_SPAN_S_MAX / 60.0,
        )?;
    }
    let horizon_s = args.minutes.map(|m| m * 60.0);
    let arrivals = parse_arrivals(&args.arrivals, args.rate, horizon_s, args.seed)?;
    let metrics_format = args
        .metrics
        .as_deref()
        .map(|p| MetricsFormat::from_path(p).and_then(|f| f.check_writable(p).map(|()| f)))
        .transpose()?;
    let mut controller = parse_controller(&args.controller, &wf)?;
    let opts = SimOptions {
        n_requests: args.requests.unwrap_or(if horizon_s.is_some() {
            platform::limits::REQUESTS_MAX
        } else {
            100
        }),
        arrivals,
        seed: args.seed,
        slo_s: args.slo,
        keep_records: args.records,
        horizon_s,
        metrics_interval_s: args.metrics.is_some().then_some(args.metrics_interval),
        control_interval_s: args.control_interval,
    };
    let sim = Simulation::new(&wf, &platform, opts).context("simulation options")?;
    let mut policy = StaticPolicy::new("static-config", configs.clone());
    let mut report = if args.controller == "static" {
        sim.run(&mut policy)?
    } else {
        sim.run_controlled(&mut policy, controller.as_mut())?
    };
    if let (Some(path), Some(format)) = (&args.metrics, metrics_format) {
        write_metrics(path, &wf.name, &report.metrics, format)
            .with_context(|| format!("writing --metrics {}", path.display()))?;
        // The stream went to the file; the report stays a summary.
        report.metrics.clear();
    }
    if args.json {
        outln!("{}", report.to_json())?;
    } else {
        out!(
            "{}",
            render_report(
                &report,
                &wf,
                Some(&configs),
                &config_name,
                &report.load.arrivals.clone()
            )
        )?;
    }
    Ok(())
}

/// The human-readable summary of a simulation report.
pub fn render_report(
    r: &SimReport,
    wf: &Workflow,
    configs: Option<&[StepConfig]>,
    config_name: &str,
    arrivals: &str,
) -> String {
    let l = &r.load;
    let mut out = format!(
        "workflow {} on {} | policy {} ({config_name}) | {} requests, arrivals {arrivals} | \
         controller {} | seed {}\n\n",
        r.workflow, r.platform, r.policy, l.n_arrived, l.controller, r.seed
    );
    let mut t = Table::new(["metric", "value"]);
    t.row(["latency mean (s)".to_string(), secs(r.latency_s.mean)]);
    t.row(["latency p50 (s)".to_string(), secs(r.latency_s.p50)]);
    t.row(["latency p95 (s)".to_string(), secs(r.latency_s.p95)]);
    t.row(["latency p99 (s)".to_string(), secs(r.latency_s.p99)]);
    t.row(["cost mean (USD)".to_string(), usd(r.cost_usd.mean)]);
    t.row(["cost total (USD)".to_string(), usd(r.cost_usd.total)]);
    t.row(["cold-start rate".to_string(), pct(r.cold_start_rate)]);
    if let (Some(slo), Some(att)) = (r.slo_s, r.slo_attainment) {
        t.row([format!("SLO {slo} s attainment"), pct(att)]);
    }
    if r.n_failed > 0 {
        t.row(["failed requests".to_string(), r.n_failed.to_string()]);
    }
    t.row([
        "throughput (requests/s)".to_string(),
        format!("{:.3}", l.throughput_per_s),
    ]);
    t.row([
        "concurrency mean / max".to_string(),
        format!("{:.2} / {}", l.concurrency_mean, l.concurrency_max),
    ]);
    t.row(["throttles".to_string(), l.n_throttles.to_string()]);
    t.row(["retries".to_string(), l.n_retries.to_string()]);
    t.row([
        "failed by throttling".to_string(),
        l.n_failed_throttled.to_string(),
    ]);
    if l.n_running > 0 {
        t.row([
            "running at the horizon".to_string(),
            l.n_running.to_string(),
        ]);
    }
    if r.cost_usd.provisioned > 0.0 {
        t.row([
            "provisioned cost (USD)".to_string(),
            usd(r.cost_usd.provisioned),
        ]);
    }
    if l.n_changes > 0 {
        t.row([
            "controller changes (clamped)".to_string(),
            format!("{} ({})", l.n_changes, l.n_changes_clamped),
        ]);
    }
    out.push_str(&t.render());
    out.push('\n');
    let mut t = Table::new([
        "step",
        "config",
        "runs",
        "duration mean (s)",
        "cost mean (USD)",
        "cold starts",
    ]);
    for (i, s) in r.steps.iter().enumerate() {
        let cfg = match (configs, wf.steps()[i].kind) {
            (Some(c), StepKind::Task) => c[i].to_string(),
            (_, StepKind::Task) => "dynamic".into(),
            (_, k) => k.as_str().to_string(),
        };
        t.row([
            s.name.clone(),
            cfg,
            s.n_runs.to_string(),
            secs(s.duration_s_mean),
            usd(s.cost_usd_mean),
            pct(s.cold_start_rate),
        ]);
    }
    out.push_str(&t.render());
    out
}
