//! `faastune bench ...`: whole-scenario benchmarks that report throughput and write results as JSON.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use platform::{Arrivals, SimOptions, Simulation, StaticPolicy};
use serde::Serialize;

use crate::cmd_simulate::{load_platform, load_static_config, load_workflow};
use crate::table::Table;

/// Benchmarks.
#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Simulation throughput: N requests of a workflow on one thread.
    Sim(BenchSimArgs),
    /// Topology scorers against the simulator: Kendall tau, top-1 regret, speed, real workflows.
    Topology(crate::cmd_bench_topology::BenchTopologyArgs),
    /// GNN encoder speed: forward and training step of a 2-layer, 64-hidden encoder on a random graph.
    #[cfg(feature = "gnn")]
    Gnn(crate::cmd_bench_gnn::BenchGnnArgs),
    /// GNN encoder speed (this binary was built without the `gnn` feature: see the error it prints).
    #[cfg(not(feature = "gnn"))]
    Gnn {
        /// Arguments, ignored.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// Arguments of `faastune bench sim`.
#[derive(clap::Args, Debug)]
pub struct BenchSimArgs {
    /// Workflow file.
    #[arg(long)]
    pub workflow: PathBuf,
    /// Static config (default: `<stem>.config.yaml` beside the workflow, else a default).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Platform profile (default: built-in Lambda-like, with all its noise).
    #[arg(long)]
    pub platform: Option<PathBuf>,
    /// Requests to simulate.
    #[arg(long, default_value_t = 100_000)]
    pub requests: u64,
    /// Arrival rate, requests per second (Poisson).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Repetitions; the median wall time is reported.
    #[arg(long, default_value_t = 3)]
    pub repeat: u32,
    /// Root seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON result to this file (e.g. bench/results/sim_synthetic16.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Serialize)]
struct SimBenchResult {
    bench: &'static str,
    workflow: String,
    requests: u64,
    rate_per_s: f64,
    seed: u64,
    repeat: u32,
    wall_s_median: f64,
    wall_s_all: Vec<f64>,
    platform: String,
    instance_executions: u64,
    events: u64,
    /// Throttled invocation attempts (a limit was reached: compare speeds only without).
    throttles: u64,
    requests_failed_throttled: u64,
    instance_executions_per_s: f64,
    events_per_s: f64,
    requests_per_s: f64,
    threads: u32,
    version: &'static str,
}

/// Writes a benchmark's JSON result to `out` (creating its folder), when given.
pub fn write_result(out: Option<&std::path::Path>, json: &str) -> anyhow::Result<()> {
    if let Some(out) = out {
        if let Some(dir) = out.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(out, format!("{json}\n"))
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

/// Runs a benchmark.
pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Sim(a) => bench_sim(a),
        BenchCommand::Topology(a) => crate::cmd_bench_topology::run(a),
        #[cfg(feature = "gnn")]
        BenchCommand::Gnn(a) => crate::cmd_bench_gnn::run(a),
        #[cfg(not(feature = "gnn"))]
        BenchCommand::Gnn { .. } => anyhow::bail!(
            "faastune was built without the `gnn` feature (it adds the ML framework); run: \
             cargo run --release --features gnn -- bench gnn --nodes N --edges E"
        ),
    }
}

fn bench_sim(args: BenchSimArgs) -> anyhow::Result<()> {
    crate::bounds::check_count(
        "--repeat",
        u64::from(args.repeat),
        1,
        u64::from(crate::bounds::BENCH_REPEAT_MAX),
    )?;
    let wf = load_workflow(&args.workflow)?;
    let platform = load_platform(args.platform.as_deref())?;
    let (configs, _) = load_static_config(args.config.as_deref(), &args.workflow, &wf, &platform)?;
    let opts = SimOptions {
        n_requests: args.requests,
        arrivals: Arrivals::Poisson {
            rate_per_s: args.rate,
        },
        seed: args.seed,
        slo_s: None,
        keep_records: false,
        ..SimOptions::default()
    };
    let sim = Simulation::new(&wf, &platform, opts)?;
    let mut walls = Vec::new();
    let mut last = None;
    for _ in 0..args.repeat.max(1) {
        let mut policy = StaticPolicy::new("static", configs.clone());
        // Wall clock: the benchmark measures simulation speed.
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let report = sim.run(&mut policy)?;
        walls.push(t0.elapsed().as_secs_f64());
        last = Some(report);
    }
    let report = last.expect("at least one repetition");
    let wall = des::stats::median(&mut walls.clone()).unwrap_or(0.0);
    let result = SimBenchResult {
        bench: "sim",
        workflow: wf.name.clone(),
        requests: args.requests,
        rate_per_s: args.rate,
        seed: args.seed,
        repeat: args.repeat.max(1),
        wall_s_median: wall,
        wall_s_all: walls,
        platform: report.platform.clone(),
        instance_executions: report.n_instance_executions,
        events: report.n_events,
        throttles: report.load.n_throttles,
        requests_failed_throttled: report.load.n_failed_throttled,
        instance_executions_per_s: report.n_instance_executions as f64 / wall,
        events_per_s: report.n_events as f64 / wall,
        requests_per_s: args.requests as f64 / wall,
        threads: 1,
        version: env!("CARGO_PKG_VERSION"),
    };
    let json = serde_json::to_string_pretty(&result)?;
    write_result(args.out.as_deref(), &json)?;
    if args.json {
        outln!("{json}")?;
    } else {
        let mut t = Table::new(["metric", "value"]);
        t.row(["workflow".to_string(), result.workflow.clone()]);
        t.row(["requests".to_string(), result.requests.to_string()]);
        t.row([
            "wall time median (s)".to_string(),
            format!("{:.3}", result.wall_s_median),
        ]);
        t.row([
            "instance executions".to_string(),
            result.instance_executions.to_string(),
        ]);
        t.row([
            "instance executions / s".to_string(),
            format!("{:.0}", result.instance_executions_per_s),
        ]);
        t.row([
            "events / s".to_string(),
            format!("{:.0}", result.events_per_s),
        ]);
        t.row([
            "requests / s".to_string(),
            format!("{:.0}", result.requests_per_s),
        ]);
        out!("{}", t.render())?;
    }
    Ok(())
}
