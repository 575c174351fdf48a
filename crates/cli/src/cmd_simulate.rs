//! `faastune simulate`: many requests of a workflow through the simulator under a static per-step
//! configuration; an aligned summary table, or one JSON object with `--json`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use platform::{
    Arrivals, Platform, SimOptions, SimReport, Simulation, StaticConfig, StaticPolicy, StepConfig,
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
    /// Number of requests.
    #[arg(long, default_value_t = 100)]
    pub requests: u64,
    /// Mean arrival rate, requests per second.
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    /// Arrival process.
    #[arg(long, value_enum, default_value_t = ArrivalKind::Poisson)]
    pub arrivals: ArrivalKind,
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
            let cfg = wf
                .steps()
                .iter()
                .map(|s| {
                    let m = if s.kind == StepKind::Task {
                        m_s.max(s.memory_mb_per_worker)
                    } else {
                        m_s
                    };
                    StepConfig::new(m.min(platform.spec().memory_mb_max), 1, 1)
                })
                .collect::<Vec<_>>();
            for (s, c) in wf.steps().iter().zip(&cfg) {
                platform
                    .check_config(s, *c)
                    .context("default configuration (give --config)")?;
            }
            Ok((
                cfg,
                format!("default ({m_s} MB, 1 instance, 1 worker per step)"),
            ))
        }
    }
}

/// Runs `faastune simulate`.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let wf = load_workflow(&args.workflow)?;
    let platform = load_platform(args.platform.as_deref())?;
    let (configs, config_name) =
        load_static_config(args.config.as_deref(), &args.workflow, &wf, &platform)?;
    let opts = SimOptions {
        n_requests: args.requests,
        arrivals: args.arrivals.with_rate(args.rate),
        seed: args.seed,
        slo_s: args.slo,
        keep_records: args.records,
        ..SimOptions::default()
    };
    let sim = Simulation::new(&wf, &platform, opts).context("simulation options")?;
    let report = sim.run(&mut StaticPolicy::new("static-config", configs.clone()))?;
    if args.json {
        outln!("{}", report.to_json())?;
    } else {
        out!(
            "{}",
            render_report(&report, &wf, Some(&configs), &config_name, args.rate)
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
    rate: f64,
) -> String {
    let mut out = format!(
        "workflow {} on {} | policy {} ({config_name}) | {} requests at {rate}/s | seed {}\n\n",
        r.workflow, r.platform, r.policy, r.requests, r.seed
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
