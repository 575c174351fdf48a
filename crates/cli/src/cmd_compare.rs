//! `faastune compare`: every policy on the same request stream (same seed, so the same arrivals, cold
//! starts, storage latencies and stragglers for all), one row per policy. With `--model-file` the
//! policies plan with the saved model and run on the workflow calibrated to it
//! (`perfmodel::calibrate`), and the output says so (docs/real-data.md).

use std::path::PathBuf;

use anyhow::Context;
use platform::{Platform, SimOptions, SimReport, Simulation};
use serde::Serialize;
use workflow::Workflow;

use crate::cmd_plan::resolve_slo;
use crate::cmd_simulate::{ArrivalKind, load_platform, load_workflow};
use crate::predictor::{CalibrationReport, ModelArgs, prepare_simulation, render_calibration};
use crate::table::{Table, pct, secs, usd};
use crate::timed::Timed;

/// Arguments of `faastune compare`.
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Workflow file.
    #[arg(long)]
    pub workflow: PathBuf,
    /// End-to-end SLO, seconds (default: the workflow's `slo_s`).
    #[arg(long)]
    pub slo: Option<f64>,
    /// Requests per policy.
    #[arg(long, default_value_t = 200)]
    pub requests: u64,
    /// Arrival rate, requests per second.
    #[arg(long, default_value_t = 0.5)]
    pub rate: f64,
    /// Arrival process.
    #[arg(long, value_enum, default_value_t = ArrivalKind::Poisson)]
    pub arrivals: ArrivalKind,
    /// Policies, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    pub policies: Option<Vec<String>>,
    /// Platform profile (default: built-in Lambda-like).
    #[arg(long)]
    pub platform: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also report wall-clock decision times (`decision_us_p99`); they differ from run to run, so
    /// without this flag the output is byte-identical for the same seed.
    #[arg(long)]
    pub timings: bool,
    /// Also draw each policy's latency CDF (every request) with the SLO line to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
}

/// One policy's row.
#[derive(Serialize, Debug, Clone)]
pub struct PolicyRow {
    /// Policy name.
    pub name: String,
    /// Share of requests within the SLO.
    pub slo_attainment: f64,
    /// Mean cost per request, USD.
    pub cost_usd_mean: f64,
    /// Mean latency, seconds.
    pub latency_s_mean: f64,
    /// Median latency, seconds.
    pub latency_s_p50: f64,
    /// 95th percentile latency, seconds.
    pub latency_s_p95: f64,
    /// 99th percentile latency, seconds.
    pub latency_s_p99: f64,
    /// 99th percentile wall-clock time of one decision, microseconds; only with `--timings` (wall
    /// time is not reproducible).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_us_p99: Option<f64>,
    /// Decisions made.
    pub n_decisions: usize,
    /// Share of instances that started cold.
    pub cold_start_rate: f64,
}

#[derive(Serialize)]
struct CompareOutput<'a> {
    workflow: &'a str,
    slo_s: f64,
    requests: u64,
    rate_per_s: f64,
    seed: u64,
    model: &'a str,
    /// With `--model-file`: `simulated_on`, `model_file` and the per-step `calibration`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    calibration: Option<CalibrationReport>,
    policies: Vec<PolicyRow>,
}

/// Every policy name, in report order.
pub fn all_policies() -> Vec<String> {
    optimizer::POLICY_NAMES
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Simulates `policy_name` and returns its row and report; with `timings`, the row has the policy's
/// wall-clock decision time.
pub fn run_policy(
    policy_name: &str,
    wf: &Workflow,
    platform: &Platform,
    predictor: &dyn optimizer::StepPredictor,
    slo_s: f64,
    opts: &SimOptions,
    timings: bool,
) -> anyhow::Result<(PolicyRow, SimReport)> {
    let policy = optimizer::policy_by_name(policy_name, wf, platform, predictor, slo_s)
        .with_context(|| format!("building policy {policy_name}"))?;
    let mut timed = Timed::new(policy);
    let sim = Simulation::new(
        wf,
        platform,
        SimOptions {
            slo_s: Some(slo_s),
            ..opts.clone()
        },
    )?;
    let r = sim
        .run(&mut timed)
        .with_context(|| format!("simulating policy {policy_name}"))?;
    let row = PolicyRow {
        name: policy_name.to_owned(),
        slo_attainment: r.slo_attainment.unwrap_or(0.0),
        cost_usd_mean: r.cost_usd.mean,
        latency_s_mean: r.latency_s.mean,
        latency_s_p50: r.latency_s.p50,
        latency_s_p95: r.latency_s.p95,
        latency_s_p99: r.latency_s.p99,
        decision_us_p99: timings.then(|| timed.decision_us_percentile(99.0)),
        n_decisions: timed.n_decisions(),
        cold_start_rate: r.cold_start_rate,
    };
    Ok((row, r))
}

/// Runs `faastune compare`.
pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    if let Some(p) = &args.plot {
        crate::cmd_report::check_plot_path(p)?;
    }
    let wf = load_workflow(&args.workflow)?;
    let platform = load_platform(args.platform.as_deref())?;
    let slo_s = resolve_slo(args.slo, &wf)?;
    let prepared = prepare_simulation(&args.model, &wf, &platform)?;
    // With a model file the policies run on the calibrated workflow (same names, structure, ids).
    let wf = &prepared.workflow;
    let predictor = &prepared.predictor;
    let names = args.policies.clone().unwrap_or_else(all_policies);
    let opts = SimOptions {
        n_requests: args.requests,
        arrivals: args.arrivals.with_rate(args.rate),
        seed: args.model.seed,
        slo_s: Some(slo_s),
        // Per-request records only for the figure; they change no metric.
        keep_records: args.plot.is_some(),
        ..SimOptions::default()
    };
    let mut rows = Vec::new();
    let mut dists = Vec::new();
    for name in &names {
        let (row, rep) = run_policy(
            name,
            wf,
            &platform,
            predictor.as_ref(),
            slo_s,
            &opts,
            args.timings,
        )?;
        rows.push(row);
        if args.plot.is_some() {
            dists.push(report::Distribution {
                name: name.clone(),
                data: report::LatencyDist::Samples(
                    rep.request_records
                        .iter()
                        .filter(|r| !r.failed)
                        .map(|r| r.latency_s)
                        .collect(),
                ),
            });
        }
    }
    if let Some(path) = &args.plot {
        let caption = report::Caption::new(
            format!(
                "{}: latency CDF per policy at SLO {slo_s} s ({} requests at {}/s, model {})",
                wf.name,
                args.requests,
                args.rate,
                args.model.label()
            ),
            crate::cmd_report::command_line(),
            Some(args.model.seed),
        );
        crate::cmd_report::write_plot(report::latency_cdf(&dists, Some(slo_s), &caption), path)?;
    }
    if args.json {
        let out = CompareOutput {
            workflow: &wf.name,
            slo_s,
            requests: args.requests,
            rate_per_s: args.rate,
            seed: args.model.seed,
            model: args.model.name(),
            calibration: prepared.calibration,
            policies: rows,
        };
        outln!("{}", serde_json::to_string_pretty(&out)?)?;
        return Ok(());
    }
    outln!(
        "compare on workflow {} | SLO {slo_s} s | {} requests at {}/s | model {} | seed {}",
        wf.name,
        args.requests,
        args.rate,
        args.model.label(),
        args.model.seed
    )?;
    if let Some(c) = &prepared.calibration {
        out!("{}", render_calibration(c))?;
    }
    outln!()?;
    out!("{}", render_rows(&rows))?;
    Ok(())
}

/// The comparison table; the decision-time column only when the rows have timings.
pub fn render_rows(rows: &[PolicyRow]) -> String {
    let timings = rows.iter().any(|r| r.decision_us_p99.is_some());
    let mut headers = vec![
        "policy",
        "SLO met",
        "cost mean (USD)",
        "p50 (s)",
        "p95 (s)",
        "p99 (s)",
    ];
    if timings {
        headers.push("decision p99 (us)");
    }
    let mut t = Table::new(headers);
    for r in rows {
        let mut cells = vec![
            r.name.clone(),
            pct(r.slo_attainment),
            usd(r.cost_usd_mean),
            secs(r.latency_s_p50),
            secs(r.latency_s_p95),
            secs(r.latency_s_p99),
        ];
        if timings {
            cells.push(
                r.decision_us_p99
                    .map_or("-".into(), |us| format!("{us:.1}")),
            );
        }
        t.row(cells);
    }
    t.render()
}
