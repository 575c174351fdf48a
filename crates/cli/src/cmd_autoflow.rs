//! `faastune autoflow` (AutoFlow's feedback loop: the resource agent acting on the monitoring stream
//! every control interval, beside the baselines) and `faastune train --scenario autoscale` (training
//! that agent on workflows under steady, diurnal, bursty and periodic load).
//!
//! Baselines, all on the same arrivals and seed:
//! - `static-mean`: the seed's naive static allocation: one fixed configuration (StepConf's per-step
//!   plan at the SLO) and fixed provisioned concurrency per function sized for the mean load
//!   (`ceil(mean rate x busy seconds per request)`, measured under the plan), fixed topology.
//! - `static-peak`: the same sized for the peak rate of the arrivals (both scaled down to fit the
//!   account's concurrency limit when they would exceed it).
//! - `stepconf`: StepConf's per-step plan at the SLO (exact optimizer, planned with the simulator's
//!   model and checked at the mean load), on-demand concurrency only.
//! - `target-tracking`, `kpa`: that plan with AWS target tracking on provisioned-concurrency
//!   utilisation or Knative's KPA driving provisioned concurrency.
//! - `agent`: that plan as the start, the agent moving memory and provisioned concurrency.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use learn::Algo;
use learn::autoscale::{
    AutoscaleAgent, AutoscaleConfig, AutoscaleEnvFactory, AutoscaleScenario, AutoscaleStats,
    AutoscaleTrainer,
};
use platform::autoscale::{
    AgentController, AutoscaleEnv, AutoscaleSettings, LoadPattern, episode_arrivals,
};
use platform::control::{Kpa, KpaSettings, TargetTracking, TargetTrackingSettings};
use platform::{
    Arrivals, Controller, Platform, ProvisionedSpec, SimOptions, SimReport, Simulation,
    StaticController, StaticPolicy, StepConfig,
};
use serde::Serialize;
use workflow::Workflow;

use crate::cmd_simulate::{load_platform, parse_arrivals};
use crate::cmd_train::TrainArgs;

/// Most simulated minutes of one run.
const MINUTES_MAX: f64 = 7.0 * 24.0 * 60.0;

/// A workflow ready to run: the workflow, its platform, SLO and StepConf plan.
pub struct Prepared {
    /// The workflow.
    pub wf: Arc<Workflow>,
    /// The platform.
    pub platform: Arc<Platform>,
    /// The SLO, seconds.
    pub slo_s: f64,
    /// StepConf's per-step plan at the SLO, checked at the mean rate.
    pub plan: Vec<StepConfig>,
}

/// Loads `path` (a workflow file, or `asl:`, `sebs:`, `workflowhub:`, `faasflow:` FILE through the
/// importers, as `bench topology` reads them), plans it at the SLO (`slo_s`, else the workflow's,
/// else 1.5 x the latency of its fastest plan) for `mean_rate_per_s`.
pub fn prepare(
    path: &str,
    platform: &Platform,
    slo_s: Option<f64>,
    mean_rate_per_s: f64,
    seed: u64,
) -> anyhow::Result<Prepared> {
    let wf = crate::cmd_bench_topology::load_real(path)?;
    let slo_s = match slo_s.or(wf.slo_s) {
        Some(s) => s,
        // As `bench topology` does for imported workflows: 1.5 x the fastest plan's latency.
        None => {
            let probe =
                topology::objective::EvalOptions::new(platform.clone(), 1.0, mean_rate_per_s);
            topology::evaluation::default_slo(&wf, &probe, 1.5)
                .with_context(|| format!("{path}: a default SLO (give --slo)"))?
        }
    };
    let mut opts = topology::objective::EvalOptions::new(platform.clone(), slo_s, mean_rate_per_s);
    opts.seed = seed;
    let (_, _, plan) = topology::objective::evaluate_full(&wf, &opts)
        .with_context(|| format!("planning {path} at SLO {slo_s} s"))?;
    Ok(Prepared {
        wf: Arc::new(wf),
        platform: Arc::new(platform.clone()),
        slo_s,
        plan: plan.configs(),
    })
}

/// Memory of each function (its first step's) under `configs`, in simulator order.
fn function_memory(wf: &Workflow, names: &[String], configs: &[StepConfig]) -> Vec<u32> {
    names
        .iter()
        .map(|f| {
            wf.steps()
                .iter()
                .zip(configs)
                .find(|(s, _)| s.function == *f)
                .map_or(1024, |(_, c)| c.memory_mb)
        })
        .collect()
}

/// Busy seconds per request of each function under `configs` (one calibration run at the mean rate).
fn busy_s_per_request(
    p: &Prepared,
    configs: &[StepConfig],
    rate: f64,
    seed: u64,
) -> anyhow::Result<Vec<f64>> {
    let horizon = (400.0 / rate).clamp(60.0, 3600.0);
    let sim = Simulation::new(
        &p.wf,
        &p.platform,
        SimOptions {
            n_requests: platform::limits::REQUESTS_MAX,
            arrivals: Arrivals::poisson(rate),
            seed: des::stream_seed(seed, "calibration", 0),
            slo_s: Some(p.slo_s),
            horizon_s: Some(horizon),
            metrics_interval_s: Some(horizon),
            ..SimOptions::default()
        },
    )?;
    let mut policy = StaticPolicy::new("calibration", configs.to_vec());
    let r = sim.run(&mut policy)?;
    let n = sim.function_names().len();
    let mut busy = vec![0.0; n];
    for w in &r.metrics {
        for (i, f) in w.functions.iter().enumerate().take(n) {
            busy[i] += f.concurrent_executions_mean * w.length_s();
        }
    }
    let arrived = r.load.n_arrived.max(1) as f64;
    Ok(busy.into_iter().map(|b| b / arrived).collect())
}

/// Peak of the arrival rate over `[0, horizon_s]` (per-minute schedules: their largest rate).
fn peak_rate(arrivals: &Arrivals, horizon_s: f64) -> f64 {
    match arrivals {
        Arrivals::Schedule(s) => s
            .starts_s
            .iter()
            .zip(&s.rates_per_s)
            .filter(|(t, _)| **t < horizon_s)
            .map(|(_, r)| *r)
            .fold(0.0, f64::max),
        _ => arrivals.mean_rate_per_s(),
    }
}

/// The platform with `levels` provisioned per function at `memory`.
fn with_provisioned(
    platform: &Platform,
    names: &[String],
    memory: &[u32],
    levels: &[u32],
) -> anyhow::Result<Platform> {
    let mut spec = platform.spec().clone();
    spec.concurrency.provisioned = names
        .iter()
        .zip(memory)
        .zip(levels)
        .filter(|(_, l)| **l > 0)
        .map(|((f, m), l)| ProvisionedSpec {
            function: f.clone(),
            memory_mb: *m,
            level: *l,
        })
        .collect();
    Platform::from_spec(spec, "static provisioned concurrency").context("static baseline")
}

/// One policy's run, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyRun {
    /// Policy name.
    pub policy: String,
    /// Completed requests per second.
    pub throughput_per_s: f64,
    /// Mean latency, seconds.
    pub latency_s_mean: f64,
    /// p95 latency, seconds.
    pub latency_s_p95: f64,
    /// p99 latency, seconds.
    pub latency_s_p99: f64,
    /// Cost per completed request, USD (everything, provisioned concurrency included).
    pub cost_usd_per_request: f64,
    /// Share of requests within the SLO.
    pub slo_attainment: f64,
    /// Share of paid instance-time that did work: busy / (busy + idle provisioned).
    pub utilisation: f64,
    /// Throttled invocation attempts.
    pub throttles: u64,
    /// Cold starts.
    pub cold_starts: u64,
    /// Requests completed.
    pub completed: u64,
    /// Requests failed by throttling.
    pub failed: u64,
    /// Changes the controller made.
    pub changes: u64,
}

impl PolicyRun {
    fn of(policy: &str, r: &SimReport) -> PolicyRun {
        let (mut busy, mut idle_pc, mut cold, mut thr) = (0.0, 0.0, 0u64, 0u64);
        for w in &r.metrics {
            for f in &w.functions {
                busy += f.concurrent_executions_mean * w.length_s();
                for p in &f.provisioned {
                    idle_pc += (p.level_mean - p.in_use_mean).max(0.0) * w.length_s();
                }
                cold += f.cold_starts;
                thr += f.throttles;
            }
        }
        PolicyRun {
            policy: policy.into(),
            throughput_per_s: r.load.throughput_per_s,
            latency_s_mean: r.latency_s.mean,
            latency_s_p95: r.latency_s.p95,
            latency_s_p99: r.latency_s.p99,
            cost_usd_per_request: r.cost_usd.total / r.requests.max(1) as f64,
            slo_attainment: r.slo_attainment.unwrap_or(1.0),
            utilisation: if busy + idle_pc > 0.0 {
                busy / (busy + idle_pc)
            } else {
                0.0
            },
            throttles: thr,
            cold_starts: cold,
            completed: r.requests,
            failed: r.load.n_failed_throttled,
            changes: r.load.n_changes,
        }
    }
}

/// The run's settings shared by every policy.
pub struct RunSpec<'a> {
    /// The workflow, planned.
    pub prepared: &'a Prepared,
    /// Arrivals.
    pub arrivals: Arrivals,
    /// Simulated seconds.
    pub horizon_s: f64,
    /// Control interval (and metrics window), seconds.
    pub interval_s: f64,
    /// Root seed.
    pub seed: u64,
}

impl RunSpec<'_> {
    fn sim<'p>(&'p self, platform: &'p Platform) -> anyhow::Result<Simulation<'p>> {
        Ok(Simulation::new(
            &self.prepared.wf,
            platform,
            SimOptions {
                n_requests: platform::limits::REQUESTS_MAX,
                arrivals: self.arrivals.clone(),
                seed: self.seed,
                slo_s: Some(self.prepared.slo_s),
                keep_records: false,
                horizon_s: Some(self.horizon_s),
                metrics_interval_s: Some(self.interval_s),
                control_interval_s: Some(self.interval_s),
            },
        )?)
    }

    /// Runs a baseline by name (`static-mean`, `static-peak`, `stepconf`, `target-tracking`, `kpa`).
    pub fn baseline(&self, name: &str) -> anyhow::Result<SimReport> {
        let p = self.prepared;
        let names = Simulation::new(&p.wf, &p.platform, SimOptions::default())?
            .function_names()
            .to_vec();
        let (configs, platform, mut controller): (Vec<StepConfig>, Platform, Box<dyn Controller>) =
            match name {
                "static-mean" | "static-peak" => {
                    let cfg = p.plan.clone();
                    let mean = self.arrivals.mean_rate_per_s();
                    let rate = if name == "static-mean" {
                        mean
                    } else {
                        peak_rate(&self.arrivals, self.horizon_s).max(mean)
                    };
                    let busy = busy_s_per_request(p, &cfg, mean.max(0.01), self.seed)?;
                    let mut levels: Vec<u32> = busy
                        .iter()
                        .map(|b| (rate * b).ceil().max(0.0) as u32)
                        .collect();
                    // The account cannot provision more than its limit: scale down to fit.
                    let limit = u64::from(p.platform.spec().concurrency.account_limit);
                    let total: u64 = levels.iter().map(|&l| u64::from(l)).sum();
                    if total > limit {
                        for l in &mut levels {
                            *l = (u64::from(*l) * limit / total) as u32;
                        }
                    }
                    let memory = function_memory(&p.wf, &names, &cfg);
                    let platform = with_provisioned(&p.platform, &names, &memory, &levels)?;
                    (cfg, platform, Box::new(StaticController))
                }
                "stepconf" => (
                    p.plan.clone(),
                    (*p.platform).clone(),
                    Box::new(StaticController),
                ),
                "target-tracking" => (
                    p.plan.clone(),
                    (*p.platform).clone(),
                    Box::new(TargetTracking::new(TargetTrackingSettings::default())?),
                ),
                "kpa" => (
                    p.plan.clone(),
                    (*p.platform).clone(),
                    Box::new(Kpa::new(KpaSettings::default())?),
                ),
                other => bail!(
                    "unknown policy {other:?} (agent, static-mean, static-peak, stepconf, \
                     target-tracking, kpa)"
                ),
            };
        let sim = self.sim(&platform)?;
        let mut policy = StaticPolicy::new(name, configs);
        Ok(sim.run_controlled(&mut policy, controller.as_mut())?)
    }

    /// Runs the agent from StepConf's plan.
    pub fn agent(
        &self,
        agent: &mut AutoscaleAgent,
        settings: &AutoscaleSettings,
    ) -> anyhow::Result<SimReport> {
        let p = self.prepared;
        let sim = self.sim(&p.platform)?;
        let mut failure = None;
        let report = {
            let mut controller = AgentController::new(
                &p.wf,
                &p.platform,
                &p.plan,
                settings,
                Some(p.slo_s),
                |obs: &platform::autoscale::AutoscaleObs| match agent.decide(obs) {
                    Ok(a) => a,
                    Err(e) => {
                        failure.get_or_insert(e);
                        Vec::new()
                    }
                },
            )?;
            let mut policy = StaticPolicy::new("agent", p.plan.clone());
            sim.run_controlled(&mut policy, &mut controller)?
        };
        if let Some(e) = failure {
            return Err(e).context("the agent failed to decide");
        }
        Ok(report)
    }
}

/// Arguments of `faastune autoflow`.
#[derive(clap::Args, Debug)]
pub struct AutoflowArgs {
    /// The workflow: a native file, or `asl:`, `sebs:`, `workflowhub:` or `faasflow:` FILE (imported).
    #[arg(long)]
    pub workflow: PathBuf,
    /// Arrivals: poisson or fixed (with --rate), or a full spec (`pattern:bursty:50`,
    /// `azure2019:DIR::SCALE`, `schedule:FILE`, ...), or `load:PATTERN` for the training patterns
    /// (steady, diurnal, bursty, periodic) at --rate.
    #[arg(long, default_value = "poisson")]
    pub arrivals: String,
    /// Mean arrival rate, requests per second.
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
    /// Simulated minutes.
    #[arg(long, default_value_t = 60.0)]
    pub minutes: f64,
    /// The trained agent (`faastune train --scenario autoscale`).
    #[arg(long)]
    pub agent: Option<PathBuf>,
    /// Policies to run, comma-separated: agent, static-mean, static-peak, stepconf,
    /// target-tracking, kpa (default: agent if --agent is given, and every baseline).
    #[arg(long, value_delimiter = ',')]
    pub policies: Vec<String>,
    /// End-to-end SLO, seconds (default: the workflow's).
    #[arg(long)]
    pub slo: Option<f64>,
    /// Control interval, seconds (default: the agent's training interval, else 60).
    #[arg(long)]
    pub interval_s: Option<f64>,
    /// Root seed of the arrivals and the simulation.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Platform profile (default: the built-in Lambda-like one).
    #[arg(long)]
    pub platform: Option<PathBuf>,
    /// Write the agent's monitoring stream (CSV, or Parquet with the `parquet` feature) here.
    #[arg(long)]
    pub metrics: Option<PathBuf>,
    /// Also draw per-policy time series (arrivals, concurrency, throttles, cost and p95 latency per
    /// control interval) to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Directory of the Azure Functions 2019 sample for `load:diurnal`.
    #[arg(long)]
    pub azure_dir: Option<PathBuf>,
    /// The topology scorer (`faastune train --scenario topology`) for the reshape loop.
    #[arg(long, requires = "reshape_every")]
    pub scorer: Option<PathBuf>,
    /// Every this many simulated minutes, re-rank the agent's topology with the scorer (the observed
    /// metrics as node features) and switch when the simulator confirms a gain above --switch-margin.
    #[arg(long, requires = "scorer")]
    pub reshape_every: Option<f64>,
    /// Smallest relative cost gain, verified in the simulator at the observed load, that pays for a
    /// switch (a redeploy: fresh cold starts). Negative values switch to the scorer's best whenever it
    /// differs (for experiments).
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub switch_margin: f64,
    /// One JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// The report of `faastune autoflow`.
#[derive(Debug, Serialize)]
struct AutoflowReport {
    workflow: String,
    arrivals: String,
    minutes: f64,
    slo_s: f64,
    interval_s: f64,
    seed: u64,
    agent: Option<String>,
    runs: Vec<PolicyRun>,
    /// Topology switches of the agent's reshape loop, in time order.
    switches: Vec<Switch>,
}

/// One topology switch of the reshape loop.
#[derive(Debug, Clone, Serialize)]
pub struct Switch {
    /// Simulated time of the switch, seconds.
    pub at_s: f64,
    /// Transforms from the topology in use to the new one.
    pub transforms: Vec<String>,
    /// Arrival rate observed over the last period, requests per second.
    pub observed_rate_per_s: f64,
    /// Simulator-verified cost per request at that rate: the topology in use, then the new one.
    pub cost_usd_per_request: (f64, f64),
}

/// Parses `--arrivals` with the training patterns as `load:PATTERN`.
pub fn arrivals_of(
    spec: &str,
    rate: f64,
    horizon_s: f64,
    azure_dir: Option<&Path>,
    seed: u64,
    episode: u64,
) -> anyhow::Result<Arrivals> {
    match spec.strip_prefix("load:") {
        Some(p) => {
            let pattern: LoadPattern = p.parse().with_context(|| format!("--arrivals {spec}"))?;
            Ok(
                episode_arrivals(pattern, rate, horizon_s, azure_dir, seed, episode)
                    .with_context(|| format!("--arrivals {spec}"))?,
            )
        }
        None => parse_arrivals(spec, rate, Some(horizon_s), seed),
    }
}

/// Runs `faastune autoflow`.
pub fn run(args: AutoflowArgs) -> anyhow::Result<()> {
    use crate::bounds::check_f64;
    check_f64("--minutes", args.minutes, 1.0, MINUTES_MAX)?;
    check_f64("--rate", args.rate, 1e-3, 1e5)?;
    let horizon_s = args.minutes * 60.0;
    if let Some(p) = &args.plot {
        crate::cmd_report::check_plot_path(p)?;
    }
    let platform = load_platform(args.platform.as_deref())?;
    let mut agent = match &args.agent {
        Some(path) => Some(
            AutoscaleAgent::load(path, true, args.seed)
                .with_context(|| format!("--agent {}", path.display()))?,
        ),
        None => None,
    };
    let mut settings = agent
        .as_ref()
        .map(|a| a.meta().config.scenario.settings.clone())
        .unwrap_or_default();
    if let Some(i) = args.interval_s {
        check_f64("--interval-s", i, 1.0, 3600.0)?;
        settings.interval_s = i;
    }
    let arrivals = arrivals_of(
        &args.arrivals,
        args.rate,
        horizon_s,
        args.azure_dir.as_deref(),
        args.seed,
        0,
    )?;
    let wf_path = args.workflow.display().to_string();
    let prepared = prepare(
        &wf_path,
        &platform,
        args.slo,
        arrivals.mean_rate_per_s().max(1e-3),
        args.seed,
    )?;
    let mut policies = args.policies.clone();
    if policies.is_empty() {
        if agent.is_some() {
            policies.push("agent".into());
        }
        for b in [
            "static-mean",
            "static-peak",
            "stepconf",
            "target-tracking",
            "kpa",
        ] {
            policies.push(b.into());
        }
    }
    let spec = RunSpec {
        prepared: &prepared,
        arrivals: arrivals.clone(),
        horizon_s,
        interval_s: settings.interval_s,
        seed: args.seed,
    };
    let mut runs = Vec::new();
    let mut switches = Vec::new();
    let mut series: Vec<(String, Vec<platform::MonitorWindow>)> = Vec::new();
    for name in &policies {
        let report = if name == "agent" {
            let Some(a) = agent.as_mut() else {
                bail!("--policies agent needs --agent FILE");
            };
            let r = match (&args.scorer, args.reshape_every) {
                (Some(scorer), Some(every)) => {
                    check_f64("--reshape-every", every, 1.0, MINUTES_MAX)?;
                    let Some(agent_path) = &args.agent else {
                        bail!("--scorer needs --agent FILE");
                    };
                    let (r, sw) = reshape_loop(
                        &spec,
                        agent_path,
                        &settings,
                        scorer,
                        every * 60.0,
                        args.switch_margin,
                    )?;
                    switches = sw;
                    r
                }
                _ => spec.agent(a, &settings)?,
            };
            if let Some(path) = &args.metrics {
                let format = platform::metrics_io::MetricsFormat::from_path(path)
                    .with_context(|| format!("--metrics {}", path.display()))?;
                platform::metrics_io::write_metrics(path, &prepared.wf.name, &r.metrics, format)
                    .with_context(|| format!("writing --metrics {}", path.display()))?;
            }
            r
        } else {
            spec.baseline(name)?
        };
        runs.push(PolicyRun::of(name, &report));
        series.push((name.clone(), report.metrics.clone()));
    }
    if let Some(path) = &args.plot {
        let caption = report::Caption::new(
            format!(
                "{}: per-interval time series per policy ({})",
                prepared.wf.name,
                arrivals.describe()
            ),
            crate::cmd_report::command_line(),
            Some(args.seed),
        );
        crate::cmd_report::write_plot(time_series_figure(&series, &caption), path)?;
    }
    let report = AutoflowReport {
        workflow: prepared.wf.name.clone(),
        arrivals: arrivals.describe(),
        minutes: args.minutes,
        slo_s: prepared.slo_s,
        interval_s: settings.interval_s,
        seed: args.seed,
        agent: args.agent.as_ref().map(|p| p.display().to_string()),
        runs,
        switches,
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?)?;
        return Ok(());
    }
    outln!(
        "# faastune autoflow workflow={} arrivals={} minutes={} slo={} s interval={} s seed={}",
        report.workflow,
        report.arrivals,
        report.minutes,
        report.slo_s,
        report.interval_s,
        report.seed
    )?;
    outln!("{}", render_runs(&report.runs))?;
    for sw in &report.switches {
        outln!(
            "switch at {:.0} s (observed {:.2}/s): {} ; verified USD/request {:.7} -> {:.7}",
            sw.at_s,
            sw.observed_rate_per_s,
            sw.transforms.join(" ; "),
            sw.cost_usd_per_request.0,
            sw.cost_usd_per_request.1
        )?;
    }
    Ok(())
}

/// `arrivals` from `t0_s` on, as a process that starts at 0 (Poisson and fixed rates are the same
/// process; a schedule loses the segments before `t0_s`).
fn shift_arrivals(arrivals: &Arrivals, t0_s: f64) -> anyhow::Result<Arrivals> {
    Ok(match arrivals {
        Arrivals::Schedule(s) => {
            let mut starts = Vec::new();
            let mut rates = Vec::new();
            for (i, (&t, &r)) in s.starts_s.iter().zip(&s.rates_per_s).enumerate() {
                let next = s.starts_s.get(i + 1).copied().unwrap_or(f64::INFINITY);
                if next <= t0_s {
                    continue;
                }
                starts.push((t - t0_s).max(0.0));
                rates.push(r);
            }
            if starts.is_empty() {
                starts.push(0.0);
                rates.push(0.0);
            }
            Arrivals::schedule(platform::RateSchedule {
                name: format!("{} from {t0_s} s", s.name),
                starts_s: starts,
                rates_per_s: rates,
                end_s: s.end_s.map(|e| (e - t0_s).max(1e-3)),
                exact_counts: s.exact_counts,
            })
        }
        other => other.clone(),
    })
}

/// Observed metrics per function over `windows` (the topology scorer's node history) and the
/// arrival rate.
fn observed(windows: &[platform::MonitorWindow]) -> (topology::features::History, f64) {
    let mut hist = topology::features::History::new();
    let mut acc: std::collections::BTreeMap<String, (f64, f64, f64, f64)> = Default::default();
    let (mut started, mut len) = (0u64, 0.0);
    for w in windows {
        started += w.workflow.started;
        len += w.length_s();
        for f in &w.functions {
            let e = acc.entry(f.function.clone()).or_default();
            let n = f.invocations as f64;
            e.0 += n;
            e.1 += f.duration_s.p95.unwrap_or(0.0) * n;
            e.2 += f.cold_starts as f64;
            e.3 += f.throttles as f64;
        }
    }
    for (name, (n, p95n, cold, thr)) in acc {
        if n > 0.0 {
            hist.insert(
                name,
                topology::features::FunctionHistory {
                    duration_s_p95: p95n / n,
                    cold_start_rate: cold / n,
                    throttles_per_invocation: thr / n,
                },
            );
        }
    }
    (hist, if len > 0.0 { started as f64 / len } else { 0.0 })
}

/// One deployment of the reshape loop: a topology, its plan, and when it went live.
struct Deployment {
    wf: Arc<Workflow>,
    plan: Vec<StepConfig>,
    since_s: f64,
    index: u64,
}

/// Runs `deployment` from its start to `until_s` under the agent (a fresh simulation: a new
/// deployment starts cold). Deterministic, so a longer run repeats a shorter one's prefix.
fn run_deployment(
    spec: &RunSpec<'_>,
    d: &Deployment,
    agent_path: &Path,
    settings: &AutoscaleSettings,
    until_s: f64,
) -> anyhow::Result<SimReport> {
    let p = spec.prepared;
    let seed = if d.index == 0 {
        spec.seed
    } else {
        des::stream_seed(spec.seed, "deployment", d.index)
    };
    let sim = Simulation::new(
        &d.wf,
        &p.platform,
        SimOptions {
            n_requests: platform::limits::REQUESTS_MAX,
            arrivals: shift_arrivals(&spec.arrivals, d.since_s)?,
            seed,
            slo_s: Some(p.slo_s),
            keep_records: true,
            horizon_s: Some(until_s - d.since_s),
            metrics_interval_s: Some(spec.interval_s),
            control_interval_s: Some(spec.interval_s),
        },
    )?;
    let mut agent = AutoscaleAgent::load(agent_path, true, spec.seed)
        .with_context(|| format!("--agent {}", agent_path.display()))?;
    let mut failure = None;
    let report = {
        let mut controller = AgentController::new(
            &d.wf,
            &p.platform,
            &d.plan,
            settings,
            Some(p.slo_s),
            |obs: &platform::autoscale::AutoscaleObs| match agent.decide(obs) {
                Ok(a) => a,
                Err(e) => {
                    failure.get_or_insert(e);
                    Vec::new()
                }
            },
        )?;
        let mut policy = StaticPolicy::new("agent", d.plan.clone());
        sim.run_controlled(&mut policy, &mut controller)?
    };
    if let Some(e) = failure {
        return Err(e).context("the agent failed to decide");
    }
    Ok(report)
}

/// AutoFlow's loop: the agent acts every control interval; every `every_s` the topology scorer
/// re-ranks candidates of the topology in use with the observed metrics, the best is verified in the
/// simulator against the one in use at the observed rate, and the agent's deployment switches when
/// the verified cost gain exceeds `margin` (the new deployment starts cold: its first requests pay
/// the redeploy). Requests still in flight at a switch are reported as running, not completed.
/// Returns the whole run (the deployments' reports joined) and the switches.
fn reshape_loop(
    spec: &RunSpec<'_>,
    agent_path: &Path,
    settings: &AutoscaleSettings,
    scorer_path: &Path,
    every_s: f64,
    margin: f64,
) -> anyhow::Result<(SimReport, Vec<Switch>)> {
    use topology::objective::{EvalOptions, evaluate_full};
    use topology::search::{BeamOptions, beam_search};
    let p = spec.prepared;
    let mut d = Deployment {
        wf: p.wf.clone(),
        plan: p.plan.clone(),
        since_s: 0.0,
        index: 0,
    };
    let mut done: Vec<(f64, SimReport)> = Vec::new();
    let mut switches = Vec::new();
    let mut at = every_s;
    loop {
        let until = at.min(spec.horizon_s);
        let report = run_deployment(spec, &d, agent_path, settings, until)?;
        if until >= spec.horizon_s {
            done.push((d.since_s, report));
            break;
        }
        // The last period's metrics (windows ending after `at - every_s`, in deployment time).
        let from = (at - every_s - d.since_s).max(0.0);
        let recent: Vec<platform::MonitorWindow> = report
            .metrics
            .iter()
            .filter(|w| w.end_s > from + 1e-9)
            .cloned()
            .collect();
        let (history, rate) = observed(&recent);
        at += every_s;
        if rate <= 0.0 {
            continue;
        }
        let mut opts = EvalOptions::new((*p.platform).clone(), p.slo_s, rate);
        opts.seed = spec.seed;
        let mut scorer = topology::gnn::GnnScorer::load(scorer_path, opts.clone())
            .with_context(|| format!("--scorer {}", scorer_path.display()))?;
        scorer.history = Some(history);
        let ranked = beam_search(&d.wf, &mut scorer, &BeamOptions::default())
            .context("re-ranking topologies")?;
        let Some(best) = ranked.iter().find(|r| !r.transforms.is_empty()) else {
            continue;
        };
        let (m_cur, _, _) = evaluate_full(&d.wf, &opts).context("verifying the topology in use")?;
        let (m_new, _, plan_new) =
            evaluate_full(&best.workflow, &opts).context("verifying the candidate")?;
        let gain = 1.0 - m_new.cost_usd_per_request / m_cur.cost_usd_per_request;
        let keeps_slo = opts.objective.meets(&m_new) || !opts.objective.meets(&m_cur);
        if keeps_slo && gain > margin {
            let switch_at = until;
            switches.push(Switch {
                at_s: switch_at,
                transforms: best.transforms.clone(),
                observed_rate_per_s: rate,
                cost_usd_per_request: (m_cur.cost_usd_per_request, m_new.cost_usd_per_request),
            });
            done.push((d.since_s, report));
            d = Deployment {
                wf: Arc::new(best.workflow.clone()),
                plan: plan_new.configs(),
                since_s: switch_at,
                index: d.index + 1,
            };
        }
    }
    Ok((join_reports(&done, spec), switches))
}

/// The deployments' reports as one run: latencies, costs and counts over every deployment, windows
/// shifted to run time.
fn join_reports(parts: &[(f64, SimReport)], spec: &RunSpec<'_>) -> SimReport {
    let mut out = parts[0].1.clone();
    if parts.len() == 1 {
        return out;
    }
    let slo = spec.prepared.slo_s;
    let mut latencies = Vec::new();
    let (mut met, mut n, mut cost, mut prov) = (0u64, 0u64, 0.0, 0.0);
    let mut metrics = Vec::new();
    let (mut failed, mut changes, mut arrived, mut throttles) = (0, 0, 0, 0);
    for (since, r) in parts {
        for rec in &r.request_records {
            if !rec.throttled {
                latencies.push(rec.latency_s);
                met += u64::from(rec.latency_s <= slo && !rec.failed);
            }
            n += 1;
        }
        cost += r.cost_usd.total;
        prov += r.cost_usd.provisioned;
        failed += r.load.n_failed_throttled;
        changes += r.load.n_changes;
        arrived += r.load.n_arrived;
        throttles += r.load.n_throttles;
        for w in &r.metrics {
            let mut w = w.clone();
            w.start_s += since;
            w.end_s += since;
            metrics.push(w);
        }
    }
    out.latency_s = platform::Distribution::of(&mut latencies);
    out.requests = n;
    out.cost_usd.total = cost;
    out.cost_usd.provisioned = prov;
    out.cost_usd.mean = cost / n.max(1) as f64;
    out.slo_attainment = Some(met as f64 / n.max(1) as f64);
    out.load.n_failed_throttled = failed;
    out.load.n_changes = changes;
    out.load.n_arrived = arrived;
    out.load.n_throttles = throttles;
    out.load.n_completed = n;
    out.load.throughput_per_s = n as f64 / spec.horizon_s;
    out.metrics = metrics;
    out.request_records = Vec::new();
    out
}

/// The table of policy runs.
pub fn render_runs(runs: &[PolicyRun]) -> String {
    let mut t = crate::table::Table::new([
        "policy",
        "throughput/s",
        "mean s",
        "p95 s",
        "p99 s",
        "USD/request",
        "SLO met",
        "utilisation",
        "throttles",
        "cold starts",
        "changes",
    ]);
    for r in runs {
        t.row([
            r.policy.clone(),
            format!("{:.2}", r.throughput_per_s),
            format!("{:.3}", r.latency_s_mean),
            format!("{:.3}", r.latency_s_p95),
            format!("{:.3}", r.latency_s_p99),
            format!("{:.7}", r.cost_usd_per_request),
            format!("{:.1}%", 100.0 * r.slo_attainment),
            format!("{:.1}%", 100.0 * r.utilisation),
            r.throttles.to_string(),
            r.cold_starts.to_string(),
            r.changes.to_string(),
        ]);
    }
    t.render()
}

/// Runs `faastune train --scenario autoscale`.
pub fn train(args: &TrainArgs) -> anyhow::Result<()> {
    use crate::bounds::{check_count, check_f64};
    if args.init_from.is_some() {
        bail!(
            "--init-from is for allocation policies; an autoscaling agent trains from scratch or --resume"
        );
    }
    let command = format!(
        "faastune {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    check_f64("--minutes", args.minutes, 2.0, MINUTES_MAX)?;
    let platform = load_platform(None)?;
    let settings = AutoscaleSettings {
        interval_s: args.interval_s,
        k: args.k,
        slo_penalty: args.slo_penalty,
        reward_baseline: args.reward_baseline.parse().context("--reward-baseline")?,
        ..AutoscaleSettings::default()
    };
    settings.validate().context("autoscale settings")?;
    let workflows: Vec<String> = if args.workflow.is_empty() {
        vec!["examples/pipeline5.yaml".into()]
    } else {
        args.workflow.clone()
    };
    let patterns: Vec<String> = if args.patterns.is_empty() {
        LoadPattern::ALL.iter().map(|p| p.to_string()).collect()
    } else {
        args.patterns.clone()
    };
    for p in &patterns {
        p.parse::<LoadPattern>()
            .with_context(|| format!("--patterns {p}"))?;
    }
    let rates = if args.rates.is_empty() {
        vec![5.0]
    } else {
        args.rates.clone()
    };
    let scenario = AutoscaleScenario {
        workflows: workflows.clone(),
        patterns,
        rates_per_s: rates,
        horizon_s: args.minutes * 60.0,
        settings,
    };
    let algo: Algo = args.algo.parse()?;
    let mut trainer_config = AutoscaleConfig::new(algo, scenario.clone(), args.seed);
    check_count("--episodes", args.episodes as u64, 1, 10_000)?;
    trainer_config.iterations = args.iterations;
    trainer_config.episodes_per_iteration = args.episodes;
    trainer_config.workers = args.workers;
    trainer_config.learning_rate = args.lr;
    trainer_config.gamma = args.gamma;
    trainer_config.entropy_coef = args.entropy;
    trainer_config.encoder.hidden_dim = args.hidden;
    trainer_config.head_hidden = args.hidden;
    trainer_config.keep_prior = args.keep_prior;
    trainer_config.validate().context("training config")?;

    // Plans per (workflow, rate), made once.
    let mut prepared = Vec::new();
    for w in &scenario.workflows {
        for &r in &scenario.rates_per_s {
            let (path, rate) = learn::autoscale::split_rate(w, r);
            if prepared
                .iter()
                .any(|((pw, pr), _): &((String, u64), _)| pw == path && *pr == rate.to_bits())
            {
                continue;
            }
            prepared.push((
                (path.to_string(), rate.to_bits()),
                Arc::new(prepare(path, &platform, None, rate, args.seed)?),
            ));
        }
    }
    let prepared = Arc::new(prepared);
    let azure_dir = args.azure_dir.clone();
    let seed = args.seed;
    let scen = scenario.clone();
    let factory: AutoscaleEnvFactory = Arc::new(move |episode: u64| {
        let (w, pattern, rate) = scen.episode(episode);
        let p = prepared
            .iter()
            .find(|((pw, pr), _)| pw == w && *pr == rate.to_bits())
            .map(|(_, p)| p.clone())
            .ok_or_else(|| learn::Error::Env {
                context: format!("no plan for {w} at {rate}/s"),
            })?;
        let pattern: LoadPattern =
            pattern
                .parse()
                .map_err(|e: platform::Error| learn::Error::Env {
                    context: e.to_string(),
                })?;
        let env_seed = des::stream_seed(seed, "autoscale_train", episode);
        let arrivals = episode_arrivals(
            pattern,
            rate,
            scen.horizon_s,
            azure_dir.as_deref(),
            env_seed,
            episode,
        )
        .map_err(|e| learn::Error::Env {
            context: e.to_string(),
        })?;
        AutoscaleEnv::new(
            p.wf.clone(),
            p.platform.clone(),
            p.plan.clone(),
            SimOptions {
                arrivals,
                seed: env_seed,
                slo_s: Some(p.slo_s),
                horizon_s: Some(scen.horizon_s),
                ..SimOptions::default()
            },
            scen.settings.clone(),
        )
        .map_err(|e| learn::Error::Env {
            context: format!("{w}: {e}"),
        })
    });
    let mut trainer = match &args.resume {
        Some(path) => {
            let mut t = AutoscaleTrainer::resume(path, factory)
                .with_context(|| format!("--resume {}", path.display()))?;
            t.set_iterations(args.iterations);
            t
        }
        None => AutoscaleTrainer::new(trainer_config, factory)?,
    };
    let c = trainer.config().clone();
    let curve_path = learn::checkpoint::sidecar(&args.out, "csv");
    let resumed = args.resume.is_some() && curve_path.is_file();
    let mut curve = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed)
        .truncate(!resumed)
        .open(&curve_path)
        .with_context(|| format!("writing {}", curve_path.display()))?;
    if !resumed {
        writeln!(curve, "{}", AutoscaleStats::CSV_HEADER)?;
    }
    eprintln!(
        "# faastune train scenario=autoscale algo={} hidden={} seed={} iterations={} episodes/iteration={} workers={} workflows={:?} patterns={:?} rates={:?} minutes={} interval={} s k={} slo_penalty={} reward_baseline={:?}",
        c.algo.name(),
        c.encoder.hidden_dim,
        c.seed,
        c.iterations,
        c.episodes_per_iteration,
        c.workers,
        c.scenario.workflows,
        c.scenario.patterns,
        c.scenario.rates_per_s,
        c.scenario.horizon_s / 60.0,
        c.scenario.settings.interval_s,
        c.scenario.settings.k,
        c.scenario.settings.slo_penalty,
        c.scenario.settings.reward_baseline,
    );
    let start_it = trainer.iterations_done();
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(c.iterations.saturating_sub(start_it))
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} it  {msg}",
        )
        .context("progress bar template")?
        .progress_chars("=> "),
    );
    // Wall clock: training progress and elapsed time only.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let mut write_error = None;
    while trainer.iterations_done() < c.iterations {
        let s = trainer.iterate()?;
        if let Err(e) = writeln!(curve, "{}", s.csv_row()) {
            write_error = Some(e);
        }
        bar.set_message(format!(
            "reward {:.2}  USD/request {:.7}  SLO {:.1}%  entropy {:.3}",
            s.mean_reward,
            s.cost_per_request_usd,
            100.0 * s.slo_attainment,
            s.entropy
        ));
        bar.inc(1);
        if args.save_every > 0 && s.iteration.is_multiple_of(args.save_every) {
            trainer
                .save(&args.out, Some(&command))
                .context("saving the checkpoint")?;
        }
    }
    bar.finish();
    if let Some(e) = write_error {
        return Err(e).with_context(|| format!("writing {}", curve_path.display()));
    }
    let meta = trainer
        .save(&args.out, Some(&command))
        .context("saving the checkpoint")?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "wrote {} ({} parameters, {} iterations), {}, {}; {:.1} s for {} iterations",
        args.out.display(),
        meta.n_params,
        meta.iterations_done,
        learn::checkpoint::sidecar(&args.out, "json").display(),
        curve_path.display(),
        secs,
        meta.iterations_done - start_it
    );
    if let Some(last) = trainer.curve().last() {
        outln!(
            "iteration {} mean_reward {:.3} cost_per_request_usd {:.7} slo_attainment {:.4} entropy {:.4}",
            last.iteration,
            last.mean_reward,
            last.cost_per_request_usd,
            last.slo_attainment,
            last.entropy
        )?;
    }
    Ok(())
}

/// Per-policy time series over the monitoring windows: arrivals, mean concurrency, throttles, cost
/// and p95 latency, one panel each, x in minutes (window ends).
fn time_series_figure(
    runs: &[(String, Vec<platform::MonitorWindow>)],
    caption: &report::Caption,
) -> Result<report::Figure, report::Error> {
    type Metric = fn(&platform::MonitorWindow) -> Option<f64>;
    let metrics: [(&str, Metric); 5] = [
        ("executions started per s", |w| {
            Some(w.workflow.started as f64 / w.length_s().max(1e-9))
        }),
        ("concurrent executions (mean)", |w| {
            Some(w.workflow.concurrent_executions_mean)
        }),
        ("throttles per window", |w| {
            Some(w.functions.iter().map(|f| f.throttles).sum::<u64>() as f64)
        }),
        ("cost per window (USD)", |w| Some(w.workflow.cost_usd)),
        ("latency p95 (s)", |w| w.workflow.latency_s.p95),
    ];
    let panels: Vec<report::Panel> = metrics
        .iter()
        .map(|(label, f)| report::Panel {
            y_label: (*label).to_owned(),
            series: runs
                .iter()
                .map(|(name, ws)| {
                    report::Series::new(
                        name.clone(),
                        ws.iter()
                            .filter_map(|w| Some((w.end_s / 60.0, f(w)?)))
                            .collect(),
                    )
                })
                .collect(),
        })
        .collect();
    report::panels(&panels, "time (min)", caption)
}
