//! `faastune sweep`: cost against SLO for every policy (StepConf Fig. 19-21), and the same-speed saving
//! and same-cost speed-up against `no-no` (StepConf Fig. 18), on the same request stream. With
//! `--model-file`, on the workflow calibrated to the saved model, as `compare` does.

use std::path::PathBuf;

use platform::SimOptions;
use serde::Serialize;

use crate::cmd_compare::{PolicyRow, all_policies, run_policy};
use crate::cmd_simulate::{ArrivalKind, load_platform, load_workflow};
use crate::predictor::{CalibrationReport, ModelArgs, prepare_simulation, render_calibration};
use crate::table::{Table, pct, secs, usd};

/// Arguments of `faastune sweep`.
#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// Workflow file.
    #[arg(long)]
    pub workflow: PathBuf,
    /// Smallest SLO, seconds.
    #[arg(long)]
    pub slo_from: f64,
    /// Largest SLO, seconds.
    #[arg(long)]
    pub slo_to: f64,
    /// Number of SLO values, evenly spaced (>= 2).
    #[arg(long, default_value_t = 8)]
    pub steps: usize,
    /// Requests per (policy, SLO).
    #[arg(long, default_value_t = 100)]
    pub requests: u64,
    /// Arrival rate, requests per second.
    #[arg(long, default_value_t = 0.5)]
    pub rate: f64,
    /// Policies, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    pub policies: Option<Vec<String>>,
    /// SLO attainment a point needs to count in the summary (same-speed, same-cost comparisons).
    #[arg(long, default_value_t = 0.95)]
    pub min_attainment: f64,
    /// Platform profile.
    #[arg(long)]
    pub platform: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Print one JSON object.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV rows.
    #[arg(long)]
    pub csv: bool,
    /// Also report wall-clock decision times (`decision_us_p99`, a CSV column); without this flag the
    /// output is byte-identical for the same seed.
    #[arg(long)]
    pub timings: bool,
    /// Also draw cost and SLO attainment against SLO per policy to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
}

#[derive(Serialize, Clone, Debug)]
struct SweepPoint {
    slo_s: f64,
    #[serde(flatten)]
    row: PolicyRow,
}

#[derive(Serialize, Debug)]
struct VersusNoNo {
    policy: String,
    /// Largest `1 - cost / cost(no-no)` at one SLO where both meet `min_attainment` (same speed).
    same_speed_saving_max: Option<f64>,
    /// Largest `latency(no-no) / latency(policy)` (mean latency) where the policy costs no more than no-no
    /// does at that point and both meet `min_attainment` (same cost).
    same_cost_speedup_max: Option<f64>,
}

#[derive(Serialize)]
struct SweepOutput {
    workflow: String,
    seed: u64,
    requests: u64,
    model: &'static str,
    /// With `--model-file`: `simulated_on`, `model_file` and the per-step `calibration`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    calibration: Option<CalibrationReport>,
    min_attainment: f64,
    points: Vec<SweepPoint>,
    versus_no_no: Vec<VersusNoNo>,
}

fn summarise(points: &[SweepPoint], names: &[String], min_att: f64) -> Vec<VersusNoNo> {
    let ok = |p: &&SweepPoint| p.row.slo_attainment >= min_att;
    let nono: Vec<&SweepPoint> = points
        .iter()
        .filter(|p| p.row.name == "no-no")
        .filter(ok)
        .collect();
    names
        .iter()
        .filter(|n| n.as_str() != "no-no")
        .map(|name| {
            let mine: Vec<&SweepPoint> = points
                .iter()
                .filter(|p| &p.row.name == name)
                .filter(ok)
                .collect();
            let saving = nono
                .iter()
                .filter_map(|b| {
                    mine.iter()
                        .find(|p| p.slo_s == b.slo_s)
                        .map(|p| 1.0 - p.row.cost_usd_mean / b.row.cost_usd_mean)
                })
                .fold(None, |acc: Option<f64>, x| {
                    Some(acc.map_or(x, |a| a.max(x)))
                });
            let speedup = nono
                .iter()
                .filter_map(|b| {
                    mine.iter()
                        .filter(|p| p.row.cost_usd_mean <= b.row.cost_usd_mean)
                        .map(|p| p.row.latency_s_mean)
                        .fold(None, |acc: Option<f64>, x| {
                            Some(acc.map_or(x, |a| a.min(x)))
                        })
                        .map(|best| b.row.latency_s_mean / best)
                })
                .fold(None, |acc: Option<f64>, x| {
                    Some(acc.map_or(x, |a| a.max(x)))
                });
            VersusNoNo {
                policy: name.clone(),
                same_speed_saving_max: saving,
                same_cost_speedup_max: speedup,
            }
        })
        .collect()
}

/// Runs `faastune sweep`.
pub fn run(args: SweepArgs) -> anyhow::Result<()> {
    use crate::bounds::{SWEEP_STEPS_MAX, check_count, check_f64, check_slo};
    check_count("--steps", args.steps as u64, 2, SWEEP_STEPS_MAX as u64)?;
    check_slo("--slo-from", args.slo_from)?;
    check_slo("--slo-to", args.slo_to)?;
    anyhow::ensure!(
        args.slo_to > args.slo_from,
        "need --slo-from < --slo-to (got {} and {})",
        args.slo_from,
        args.slo_to
    );
    check_f64("--min-attainment", args.min_attainment, 0.0, 1.0)?;
    if let Some(p) = &args.plot {
        crate::cmd_report::check_plot_path(p)?;
    }
    let wf = load_workflow(&args.workflow)?;
    let platform = load_platform(args.platform.as_deref())?;
    let prepared = prepare_simulation(&args.model, &wf, &platform)?;
    // With a model file the policies run on the calibrated workflow (same names, structure, ids).
    let wf = &prepared.workflow;
    let predictor = &prepared.predictor;
    let names = args.policies.clone().unwrap_or_else(all_policies);
    let opts = SimOptions {
        n_requests: args.requests,
        arrivals: ArrivalKind::Poisson.with_rate(args.rate),
        seed: args.model.seed,
        slo_s: None,
        keep_records: false,
        ..SimOptions::default()
    };
    let mut points = Vec::new();
    for i in 0..args.steps {
        let slo_s =
            args.slo_from + (args.slo_to - args.slo_from) * i as f64 / (args.steps - 1) as f64;
        for name in &names {
            let (row, _) = run_policy(
                name,
                wf,
                &platform,
                predictor.as_ref(),
                slo_s,
                &opts,
                args.timings,
            )?;
            points.push(SweepPoint { slo_s, row });
        }
    }
    let versus = summarise(&points, &names, args.min_attainment);
    if let Some(path) = &args.plot {
        let curves: Vec<report::SloCurve> = names
            .iter()
            .map(|n| report::SloCurve {
                policy: n.clone(),
                points: points
                    .iter()
                    .filter(|p| &p.row.name == n)
                    .map(|p| report::SloPoint {
                        slo_s: p.slo_s,
                        cost_usd_mean: p.row.cost_usd_mean,
                        slo_attainment: p.row.slo_attainment,
                    })
                    .collect(),
            })
            .collect();
        let caption = report::Caption::new(
            format!(
                "{}: cost against SLO per policy ({} requests per point, model {})",
                wf.name,
                args.requests,
                args.model.label()
            ),
            crate::cmd_report::command_line(),
            Some(args.model.seed),
        );
        crate::cmd_report::write_plot(
            report::cost_vs_slo(&curves, Some(args.min_attainment), &caption),
            path,
        )?;
    }
    if args.json {
        let out = SweepOutput {
            workflow: wf.name.clone(),
            seed: args.model.seed,
            requests: args.requests,
            model: args.model.name(),
            calibration: prepared.calibration,
            min_attainment: args.min_attainment,
            points,
            versus_no_no: versus,
        };
        outln!("{}", serde_json::to_string_pretty(&out)?)?;
        return Ok(());
    }
    if args.csv {
        outln!(
            "slo_s,policy,slo_attainment,cost_usd_mean,latency_s_mean,latency_s_p50,latency_s_p95,latency_s_p99{}",
            if args.timings { ",decision_us_p99" } else { "" }
        )?;
        for p in &points {
            let r = &p.row;
            outln!(
                "{},{},{},{},{},{},{},{}{}",
                p.slo_s,
                r.name,
                r.slo_attainment,
                r.cost_usd_mean,
                r.latency_s_mean,
                r.latency_s_p50,
                r.latency_s_p95,
                r.latency_s_p99,
                r.decision_us_p99
                    .map(|us| format!(",{us}"))
                    .unwrap_or_default()
            )?;
        }
        return Ok(());
    }
    outln!(
        "sweep on workflow {} | SLO {}..{} s in {} steps | {} requests each | model {} | seed {}",
        wf.name,
        args.slo_from,
        args.slo_to,
        args.steps,
        args.requests,
        args.model.label(),
        args.model.seed
    )?;
    if let Some(c) = &prepared.calibration {
        out!("{}", render_calibration(c))?;
    }
    outln!()?;
    let mut t = Table::new([
        "SLO (s)",
        "policy",
        "SLO met",
        "cost mean (USD)",
        "latency mean (s)",
        "p99 (s)",
    ]);
    for p in &points {
        t.row([
            format!("{:.2}", p.slo_s),
            p.row.name.clone(),
            pct(p.row.slo_attainment),
            usd(p.row.cost_usd_mean),
            secs(p.row.latency_s_mean),
            secs(p.row.latency_s_p99),
        ]);
    }
    out!("{}", t.render())?;
    outln!(
        "\nagainst no-no (points with SLO attainment >= {}):",
        pct(args.min_attainment)
    )?;
    let mut t = Table::new([
        "policy",
        "same-speed saving (max)",
        "same-cost speed-up (max)",
    ]);
    for v in &versus {
        t.row([
            v.policy.clone(),
            v.same_speed_saving_max.map_or("-".into(), pct),
            v.same_cost_speedup_max
                .map_or("-".into(), |x| format!("{x:.2}x")),
        ]);
    }
    out!("{}", t.render())?;
    Ok(())
}
