//! `faastune alloc`: run allocation heuristics and keep-alive policies in the DeepRM or serverless
//! environment and report slowdown, utilization, cold starts, SLO violations and cost per (policy, load).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, bail};
use cluster::{
    CpuModel, DeepRmEnv, DeepRmSettings, RunMetrics, ServerlessEnv, ServerlessSettings, run_episode,
};
use des::RngStreams;
use workload::{
    Azure2019Trace, Azure2021Trace, DeepRmJobSet, Invocation, Pattern, SyntheticSpec,
    SyntheticWorkload,
};

/// Which environment `alloc` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// DeepRM's time-stepped single machine (2 resources x 10 slots, horizon 20, 10 visible slots).
    Deeprm,
    /// The event-driven serverless platform (heterogeneous machines, cold starts, keep-alive, cost).
    Serverless,
}

/// How running serverless invocations use a machine's CPU (`cluster::CpuModel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CpuModelArg {
    /// Each running invocation holds its CPU (memory / 1,769 MB vCPU); a placement needs it free.
    Reserved,
    /// Processor sharing: only memory limits placement, co-located invocations slow each other.
    Shared,
}

/// Arguments of `faastune alloc`.
#[derive(clap::Args, Debug)]
pub struct AllocArgs {
    /// Environment: deeprm or serverless.
    #[arg(long, value_enum)]
    pub scenario: Scenario,
    /// Serverless: an Azure Functions 2019 trace directory (invocations.csv, durations.csv, memory.csv) or an
    /// Azure 2021 file (app,func,end_timestamp,duration). Without it, a synthetic workload (--workload).
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Loads, comma-separated. DeepRM: load per resource (1.0 = 100%; default 0.1,0.3,..,1.9), converted
    /// to an arrival rate by DeepRM's formula. Serverless: arrival-rate multiplier (default 1).
    #[arg(long, value_delimiter = ',')]
    pub load: Vec<f64>,
    /// Allocation policies, comma-separated: fcfs, sjf, packer, tetris, random, and trained checkpoints
    /// `rl:FILE` (greedy) or `rl-sample:FILE` (sampled; needs the `gnn` feature).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "fcfs,sjf,packer,tetris,random"
    )]
    pub policies: Vec<String>,
    /// Keep-alive policy (serverless): fixed (10-minute TTL) or histogram (Shahrad et al.).
    #[arg(long, default_value = "fixed")]
    pub keep_alive: String,
    /// CPU model (serverless): reserved (CPU held per invocation, no slowdown) or shared (processor
    /// sharing: co-located invocations slow each other).
    #[arg(long, value_enum, default_value = "reserved")]
    pub cpu_model: CpuModelArg,
    /// Root seed; every random draw comes from a named sub-stream of it.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// DeepRM: job sets per load (DeepRM's `run_script.py`: `num_ex` 100).
    #[arg(long, default_value_t = 100)]
    pub jobsets: u64,
    /// DeepRM: steps during which jobs arrive in each job set (DeepRM's `run_script.py`: 200).
    #[arg(long, default_value_t = 200)]
    pub simu_len: usize,
    /// DeepRM: episode length limit in steps; unfinished jobs are reported pending (DeepRM: 4 x simu_len).
    #[arg(long)]
    pub episode_max_len: Option<usize>,
    /// Arrival pattern: steady, bursty, periodic or mixed (DeepRM job sets; serverless synthetic workload).
    #[arg(long, default_value = "steady")]
    pub workload: String,
    /// Serverless with an Azure 2019 trace: replay only the first N minutes (default: the whole day).
    #[arg(long)]
    pub minutes: Option<usize>,
    /// Tetris* knob: weight of the normalised packing term (1 = Packer, 0 = SJF).
    #[arg(long, default_value_t = scheduler::TETRIS_KNOB_DEFAULT)]
    pub tetris_knob: f64,
    /// Also draw mean slowdown against load per policy (DeepRM Fig. 4; with one load, bars per
    /// policy) to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Also draw each policy's slowdown CDF at the largest load to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub plot_cdf: Option<PathBuf>,
}

struct Row {
    policy: String,
    load: f64,
    load_measured: Option<f64>,
    m: RunMetrics,
}

/// Runs `faastune alloc`.
pub fn run(args: AllocArgs) -> anyhow::Result<()> {
    use crate::bounds::{
        JOBSET_STEPS_MAX, JOBSETS_MAX, LOAD_MAX, MINUTES_MAX, SIMU_LEN_MAX, check_count, check_f64,
    };
    for l in &args.load {
        check_f64("--load", *l, 0.0, LOAD_MAX)?;
    }
    check_count("--jobsets", args.jobsets, 1, JOBSETS_MAX)?;
    check_count("--simu-len", args.simu_len as u64, 1, SIMU_LEN_MAX as u64)?;
    if let Some(n) = args.episode_max_len {
        check_count("--episode-max-len", n as u64, 1, 4 * SIMU_LEN_MAX as u64)?;
    }
    if args.scenario == Scenario::Deeprm {
        let steps = args.jobsets.saturating_mul(args.simu_len as u64);
        anyhow::ensure!(
            steps <= JOBSET_STEPS_MAX,
            "--jobsets {} x --simu-len {} = {steps} arrival steps: must be <= {JOBSET_STEPS_MAX}",
            args.jobsets,
            args.simu_len
        );
    }
    if let Some(m) = args.minutes {
        check_count("--minutes", m as u64, 1, MINUTES_MAX as u64)?;
    }
    for p in &args.policies {
        // Check every name before running anything.
        make_policy(p, &args)?;
    }
    for p in [&args.plot, &args.plot_cdf].into_iter().flatten() {
        crate::cmd_report::check_plot_path(p)?;
    }
    let (rows, context) = match args.scenario {
        Scenario::Deeprm => run_deeprm(&args)?,
        Scenario::Serverless => run_serverless(&args)?,
    };
    plot(&args, &rows)?;
    if args.json {
        print_json(&args, &rows, &context)?;
    } else {
        print_table(&args, &rows, &context)?;
    }
    Ok(())
}

/// `--plot` and `--plot-cdf`.
fn plot(args: &AllocArgs, rows: &[Row]) -> anyhow::Result<()> {
    let command = crate::cmd_report::command_line();
    let scenario = match args.scenario {
        Scenario::Deeprm => "DeepRM mode",
        Scenario::Serverless => "serverless mode",
    };
    let mut policies: Vec<&str> = Vec::new();
    for r in rows {
        if !policies.contains(&r.policy.as_str()) {
            policies.push(&r.policy);
        }
    }
    if let Some(path) = &args.plot {
        let mut loads: Vec<f64> = rows.iter().map(|r| r.load).collect();
        loads.sort_by(f64::total_cmp);
        loads.dedup();
        let fig = if loads.len() > 1 {
            let series: Vec<report::Series> = policies
                .iter()
                .map(|p| {
                    report::Series::new(
                        *p,
                        rows.iter()
                            .filter(|r| r.policy == *p)
                            .filter_map(|r| Some((r.load, r.m.slowdown_mean()?)))
                            .collect(),
                    )
                })
                .collect();
            report::lines(
                &series,
                "load (share of cluster capacity)",
                "mean slowdown (finish − arrival) / duration",
                None,
                &report::Caption::new(
                    format!("{scenario}: mean slowdown against load per policy"),
                    command.clone(),
                    Some(args.seed),
                ),
            )
        } else {
            report::bars(
                &report::BarChart {
                    value_label: "slowdown (finish − arrival) / duration".into(),
                    categories: policies.iter().map(|p| p.to_string()).collect(),
                    series: vec![
                        (
                            "mean".into(),
                            policies
                                .iter()
                                .map(|p| {
                                    rows.iter()
                                        .find(|r| r.policy == *p)
                                        .and_then(|r| r.m.slowdown_mean())
                                })
                                .collect(),
                        ),
                        (
                            "p95".into(),
                            policies
                                .iter()
                                .map(|p| {
                                    rows.iter()
                                        .find(|r| r.policy == *p)
                                        .and_then(|r| r.m.slowdown_p95())
                                })
                                .collect(),
                        ),
                    ],
                },
                &report::Caption::new(
                    format!("{scenario}: slowdown per policy at load {}", loads[0]),
                    command.clone(),
                    Some(args.seed),
                ),
            )
        };
        crate::cmd_report::write_plot(fig, path)?;
    }
    if let Some(path) = &args.plot_cdf {
        let top = rows
            .iter()
            .map(|r| r.load)
            .fold(f64::NEG_INFINITY, f64::max);
        // The slowdown sketch keeps quantiles (within 0.05%), not every value: 1%..99%.
        let qs: Vec<f64> = (1..=99).map(|i| f64::from(i) / 100.0).collect();
        let dists: Vec<report::Distribution> = rows
            .iter()
            .filter(|r| r.load == top)
            .map(|r| report::Distribution {
                name: r.policy.clone(),
                data: report::LatencyDist::Quantiles(
                    qs.iter()
                        .filter_map(|&q| Some((q, r.m.slowdown.quantile(q)?)))
                        .collect(),
                ),
            })
            .collect();
        let caption = report::Caption::new(
            format!("{scenario}: slowdown CDF per policy at load {top}"),
            command,
            Some(args.seed),
        )
        .with_note("Percentiles 1..99 of each policy's slowdown (a sketch within 0.05%).");
        crate::cmd_report::write_plot(
            report::cdf(
                &dists,
                "slowdown (finish − arrival) / duration",
                None,
                &caption,
            ),
            path,
        )?;
    }
    Ok(())
}

/// Builds a policy by name: a heuristic, or `rl:FILE` (a trained checkpoint, greedy) / `rl-sample:FILE`
/// (sampling from the learned policy; draws from the run's `policy` stream).
fn make_policy(name: &str, args: &AllocArgs) -> anyhow::Result<Box<dyn cluster::Policy>> {
    if let Some((kind, file)) = name.split_once(':')
        && (kind == "rl" || kind == "rl-sample")
    {
        return learned_policy(
            name,
            kind == "rl",
            std::path::Path::new(file),
            args.scenario,
        );
    }
    if name == "tetris" {
        return Ok(Box::new(
            scheduler::Tetris::new(args.tetris_knob).context("--tetris-knob")?,
        ));
    }
    scheduler::policy_by_name(name).context("--policies")
}

/// Loads a checkpoint as a policy, refusing one trained for the other scenario (a DeepRM policy in
/// serverless mode, or back).
#[cfg(feature = "gnn")]
fn learned_policy(
    name: &str,
    greedy: bool,
    file: &std::path::Path,
    scenario: Scenario,
) -> anyhow::Result<Box<dyn cluster::Policy>> {
    let (policy, meta) = learn::LearnedPolicy::load(file, name, greedy)
        .with_context(|| format!("--policies {name}"))?;
    let want = match scenario {
        Scenario::Deeprm => "deeprm",
        Scenario::Serverless => "serverless",
    };
    if meta.config.scenario.name() != want {
        bail!(
            "--policies {name}: trained for --scenario {}, not {want}",
            meta.config.scenario.name()
        );
    }
    Ok(Box::new(policy))
}

#[cfg(not(feature = "gnn"))]
fn learned_policy(
    name: &str,
    _greedy: bool,
    _file: &std::path::Path,
    _scenario: Scenario,
) -> anyhow::Result<Box<dyn cluster::Policy>> {
    bail!(
        "--policies {name}: learned policies need the `gnn` feature; run: cargo run --release \
         --features gnn -- alloc ... --policies tetris,{name}"
    )
}

fn run_deeprm(args: &AllocArgs) -> anyhow::Result<(Vec<Row>, BTreeMap<String, serde_json::Value>)> {
    let settings = DeepRmSettings {
        simu_len: args.simu_len,
        episode_max_len: args.episode_max_len.unwrap_or(4 * args.simu_len),
        ..DeepRmSettings::default()
    };
    settings.validate().context("DeepRM settings")?;
    let pattern = Pattern::parse(&args.workload).context("--workload")?;
    let loads = if args.load.is_empty() {
        (0..10).map(|i| 0.1 + 0.2 * i as f64).collect()
    } else {
        args.load.clone()
    };
    let mut rows = Vec::new();
    for &load in &loads {
        let lr = settings.dist.rate_for_load(load).context("--load")?;
        let sets = (0..args.jobsets)
            .map(|i| {
                DeepRmJobSet::generate(
                    &settings.dist,
                    lr.rate,
                    settings.simu_len,
                    pattern,
                    args.seed,
                    i,
                )
            })
            .collect::<Result<Vec<_>, _>>()
            .context("generating DeepRM job sets")?;
        let measured = sets
            .iter()
            .map(|s| s.measured_load(settings.dist.res_slots))
            .sum::<f64>()
            / sets.len().max(1) as f64;
        for name in &args.policies {
            let mut policy = make_policy(name, args)?;
            let mut total = RunMetrics::default();
            for (i, set) in sets.iter().enumerate() {
                let mut env =
                    DeepRmEnv::new(settings.clone(), set).context("DeepRM environment")?;
                let mut rng = RngStreams::new(args.seed).indexed("policy", i as u64);
                let m = run_episode(&mut env, policy.as_mut(), &mut rng)?;
                total.merge(&m);
            }
            rows.push(Row {
                policy: name.clone(),
                load,
                load_measured: Some(measured),
                m: total,
            });
        }
    }
    let mut ctx = BTreeMap::new();
    let d = &settings.dist;
    ctx.insert("n_resources".into(), d.n_resources.into());
    ctx.insert("res_slots".into(), d.res_slots.into());
    ctx.insert("time_horizon".into(), settings.time_horizon.into());
    ctx.insert("n_visible".into(), settings.n_visible.into());
    ctx.insert("backlog_size".into(), settings.backlog_size.into());
    ctx.insert("simu_len".into(), settings.simu_len.into());
    ctx.insert("episode_max_len".into(), settings.episode_max_len.into());
    ctx.insert("jobsets".into(), args.jobsets.into());
    ctx.insert("workload".into(), pattern.name().into());
    ctx.insert("tetris_knob".into(), args.tetris_knob.into());
    ctx.insert("load_per_rate".into(), d.work_factor().into());
    Ok((rows, ctx))
}

enum Source {
    Azure2019(Azure2019Trace),
    Azure2021(Azure2021Trace),
    Synthetic(SyntheticWorkload),
}

fn load_source(args: &AllocArgs) -> anyhow::Result<(Source, String)> {
    match &args.trace {
        None => {
            let pattern = Pattern::parse(&args.workload).context("--workload")?;
            let spec = SyntheticSpec {
                pattern,
                ..SyntheticSpec::default()
            };
            let w = SyntheticWorkload::generate(&spec, args.seed)
                .context("generating the synthetic workload")?;
            let desc = format!(
                "synthetic {} ({} functions, {} /s, {} s)",
                pattern.name(),
                spec.n_functions,
                spec.rate_per_s,
                spec.horizon_s
            );
            Ok((Source::Synthetic(w), desc))
        }
        Some(p) if p.is_file() => {
            let t = Azure2021Trace::read(p, 256)
                .with_context(|| format!("reading Azure 2021 trace {}", p.display()))?;
            Ok((Source::Azure2021(t), format!("azure2021 {}", p.display())))
        }
        Some(p) if p.join("invocations.csv").is_file() => {
            let t = Azure2019Trace::read(p)
                .with_context(|| format!("reading Azure 2019 trace {}", p.display()))?;
            Ok((Source::Azure2019(t), format!("azure2019 {}", p.display())))
        }
        Some(p) => bail!(
            "--trace {}: expected an Azure 2019 directory (with invocations.csv, durations.csv, memory.csv) or an Azure 2021 CSV file",
            p.display()
        ),
    }
}

fn run_serverless(
    args: &AllocArgs,
) -> anyhow::Result<(Vec<Row>, BTreeMap<String, serde_json::Value>)> {
    let settings = ServerlessSettings {
        cpu_model: match args.cpu_model {
            CpuModelArg::Reserved => CpuModel::Reserved,
            CpuModelArg::Shared => CpuModel::Shared,
        },
        ..ServerlessSettings::default()
    };
    let (source, desc) = load_source(args)?;
    let profiles = match &source {
        Source::Azure2019(t) => &t.functions,
        Source::Azure2021(t) => &t.functions,
        Source::Synthetic(w) => &w.functions,
    };
    let functions: Vec<_> = profiles
        .iter()
        .map(|p| settings.function_from_profile(p))
        .collect();
    let loads = if args.load.is_empty() {
        vec![1.0]
    } else {
        args.load.clone()
    };
    let mut rows = Vec::new();
    for &load in &loads {
        for name in &args.policies {
            let stream: Box<dyn Iterator<Item = Invocation> + '_> = match &source {
                Source::Azure2019(t) => {
                    Box::new(t.stream(args.seed, load, args.minutes).context("--load")?)
                }
                Source::Azure2021(t) => {
                    Box::new(t.scaled(args.seed, load).context("--load")?.into_iter())
                }
                Source::Synthetic(w) => {
                    Box::new(w.scaled(args.seed, load).context("--load")?.into_iter())
                }
            };
            let keep = scheduler::keep_alive_by_name(&args.keep_alive, functions.len())
                .context("--keep-alive")?;
            let mut env = ServerlessEnv::new(
                settings.clone(),
                functions.clone(),
                stream,
                &BTreeMap::new(),
                keep,
                args.seed,
            )
            .context("serverless environment")?;
            let mut policy = make_policy(name, args)?;
            let mut rng = RngStreams::new(args.seed).stream("policy");
            let m = run_episode(&mut env, policy.as_mut(), &mut rng)?;
            rows.push(Row {
                policy: name.clone(),
                load,
                load_measured: None,
                m,
            });
        }
    }
    let mut ctx = BTreeMap::new();
    ctx.insert("workload".into(), desc.into());
    ctx.insert("keep_alive".into(), args.keep_alive.clone().into());
    ctx.insert("n_functions".into(), functions.len().into());
    ctx.insert(
        "machines".into(),
        settings
            .machines
            .iter()
            .map(|m| format!("{}: {} mCPU, {} MB", m.name, m.cpu_millicores, m.memory_mb))
            .collect::<Vec<_>>()
            .into(),
    );
    ctx.insert(
        "cold_start_median_s".into(),
        settings.cold_start.median_s.into(),
    );
    ctx.insert("slo_slack_s".into(), settings.slo_slack_s.into());
    if args.cpu_model == CpuModelArg::Shared {
        // Only when not the default, so the default output stays as it was.
        ctx.insert("cpu_model".into(), "shared".into());
    }
    if let Some(m) = args.minutes {
        ctx.insert("minutes".into(), m.into());
    }
    Ok((rows, ctx))
}

fn opt(v: Option<f64>) -> serde_json::Value {
    v.filter(|x| x.is_finite())
        .map_or(serde_json::Value::Null, serde_json::Value::from)
}

fn print_json(
    args: &AllocArgs,
    rows: &[Row],
    ctx: &BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<()> {
    let serverless = args.scenario == Scenario::Serverless;
    let runs: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let m = &r.m;
            serde_json::json!({
                "policy": r.policy,
                "load": r.load,
                "load_measured": opt(r.load_measured),
                "slowdown_mean": opt(m.slowdown_mean()),
                "slowdown_p95": opt(m.slowdown_p95()),
                "utilization": m.utilization,
                "cold_start_rate": if serverless { opt(m.cold_start_rate()) } else { serde_json::Value::Null },
                "slo_violation_rate": if serverless { opt(m.slo_violation_rate()) } else { serde_json::Value::Null },
                "cost_usd": if serverless { serde_json::Value::from(m.cost_usd) } else { serde_json::Value::Null },
                "idle_memory_gb_s": if serverless { serde_json::Value::from(m.idle_memory_gb_s) } else { serde_json::Value::Null },
                "n_arrived": m.n_arrived,
                "n_finished": m.n_finished,
                "n_pending": m.n_pending,
                "n_dropped": m.n_dropped,
                "n_cold_starts": m.n_cold_starts,
            })
        })
        .collect();
    let out = serde_json::json!({
        "command": "alloc",
        "version": env!("CARGO_PKG_VERSION"),
        "scenario": match args.scenario { Scenario::Deeprm => "deeprm", Scenario::Serverless => "serverless" },
        "seed": args.seed,
        "settings": ctx,
        "runs": runs,
    });
    outln!("{}", serde_json::to_string(&out)?)?;
    Ok(())
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.digits$}"),
        _ => "-".into(),
    }
}

fn print_table(
    args: &AllocArgs,
    rows: &[Row],
    ctx: &BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<()> {
    let serverless = args.scenario == Scenario::Serverless;
    let mut head = format!(
        "# faastune alloc --scenario {:?} seed={}",
        args.scenario, args.seed
    )
    .to_lowercase();
    for (k, v) in ctx {
        let _ = write!(head, " {k}={v}");
    }
    outln!("{head}")?;
    let header = [
        "policy",
        "load",
        "load_measured",
        "slowdown_mean",
        "slowdown_p95",
        "utilization",
        "cold_start_rate",
        "slo_violation_rate",
        "cost_usd",
        "idle_memory_gb_s",
        "n_finished",
        "n_pending",
        "n_dropped",
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let m = &r.m;
            let sv = |s: String| if serverless { s } else { "-".into() };
            vec![
                r.policy.clone(),
                format!("{:.2}", r.load),
                fmt_opt(r.load_measured, 3),
                fmt_opt(m.slowdown_mean(), 3),
                fmt_opt(m.slowdown_p95(), 3),
                format!("{:.3}", m.utilization),
                sv(fmt_opt(m.cold_start_rate(), 4)),
                sv(fmt_opt(m.slo_violation_rate(), 4)),
                sv(format!("{:.6}", m.cost_usd)),
                sv(format!("{:.1}", m.idle_memory_gb_s)),
                m.n_finished.to_string(),
                m.n_pending.to_string(),
                m.n_dropped.to_string(),
            ]
        })
        .collect();
    let mut table = crate::table::Table::new(header);
    for r in body {
        table.row(r);
    }
    out!("{}", table.render())?;
    Ok(())
}
