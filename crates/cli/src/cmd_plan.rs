//! `faastune plan`: the configuration a policy chooses for every step of a workflow at an SLO, with
//! predicted durations and costs, each step's sub-SLO and the critical path: an explained plan. With
//! `--model-file`, predicted by a saved model (e.g. fitted to measured samples).

use std::path::PathBuf;

use anyhow::Context;

use crate::cmd_simulate::{load_platform, load_workflow};
use crate::predictor::{ModelArgs, build_predictor};
use crate::table::{Table, secs, usd};

/// Arguments of `faastune plan`.
#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// Workflow file.
    #[arg(long)]
    pub workflow: PathBuf,
    /// End-to-end SLO, seconds (default: the workflow's `slo_s`).
    #[arg(long)]
    pub slo: Option<f64>,
    /// Policy: stepconf, no-no, static, intra-only, inter-only, optimal, replan.
    #[arg(long, default_value = "replan")]
    pub policy: String,
    /// Platform profile (default: built-in Lambda-like).
    #[arg(long)]
    pub platform: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also draw the plan as a Gantt chart (critical path, sub-SLOs, the SLO) to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Also draw every step's configuration space (cost against duration of every configuration,
    /// the Pareto front, the chosen one) to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub plot_space: Option<PathBuf>,
}

/// The SLO from the flag, else the workflow's, else an error.
pub fn resolve_slo(flag: Option<f64>, wf: &workflow::Workflow) -> anyhow::Result<f64> {
    let slo_s = flag
        .or(wf.slo_s)
        .with_context(|| format!("workflow '{}' has no slo_s: give --slo SECONDS", wf.name))?;
    let source = if flag.is_some() {
        "--slo".to_owned()
    } else {
        format!("workflow '{}' slo_s", wf.name)
    };
    crate::bounds::check_slo(&source, slo_s)?;
    Ok(slo_s)
}

/// Runs `faastune plan`.
pub fn run(args: PlanArgs) -> anyhow::Result<()> {
    for p in [&args.plot, &args.plot_space].into_iter().flatten() {
        crate::cmd_report::check_plot_path(p)?;
    }
    let wf = load_workflow(&args.workflow)?;
    let platform = load_platform(args.platform.as_deref())?;
    let slo_s = resolve_slo(args.slo, &wf)?;
    let predictor = build_predictor(&args.model, &wf, &platform)?;
    let plan = optimizer::plan(&wf, &platform, predictor.as_ref(), slo_s, &args.policy)
        .with_context(|| format!("planning '{}' with policy {}", wf.name, args.policy))?;
    let command = crate::cmd_report::command_line();
    if let Some(path) = &args.plot {
        let caption = gantt_caption(&plan, &args.model.label(), &command, args.model.seed);
        crate::cmd_report::write_plot(gantt_figure(&plan, &caption), path)?;
    }
    if let Some(path) = &args.plot_space {
        let caption = report::Caption::new(
            format!(
                "{}: configuration space per step, {} plan at SLO {} s",
                wf.name, plan.policy, plan.slo_s
            ),
            command.clone(),
            Some(args.model.seed),
        )
        .with_note(format!(
            "Predicted by the {} model; StepConf's grid of memory x fan-out x workers.",
            args.model.label()
        ));
        let fig = space_figure(&wf, &platform, predictor.as_ref(), &plan, &caption)?;
        crate::cmd_report::write_plot(Ok(fig), path)?;
    }
    if args.json {
        outln!("{}", plan.to_json())?;
        return Ok(());
    }
    out!(
        "{}",
        render_plan(&plan, &wf, &args.model.label(), args.model.seed)
    )?;
    Ok(())
}

/// The human-readable plan.
pub fn render_plan(
    plan: &optimizer::Plan,
    wf: &workflow::Workflow,
    model: &str,
    seed: u64,
) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "plan for workflow {} | policy {} | SLO {} s | model {model} (seed {seed})\n",
        wf.name, plan.policy, plan.slo_s
    ));
    out.push_str(&format!(
        "predicted latency {} s, cost {} USD per request: {}\n",
        secs(plan.latency_s_pred),
        usd(plan.cost_usd_pred),
        if plan.feasible {
            "meets the SLO"
        } else {
            "INFEASIBLE: no configuration meets the SLO; best-effort (fastest) plan"
        }
    ));
    out.push_str(&format!(
        "critical path: {}\n\n",
        plan.critical_path.join(" -> ")
    ));
    let mut t = Table::new([
        "step",
        "memory_mb",
        "fan_out",
        "workers",
        "start (s)",
        "duration (s)",
        "sub-SLO (s)",
        "cost (USD)",
    ]);
    for s in &plan.steps {
        if !s.is_task {
            t.row([
                s.name.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                secs(s.start_s_pred),
                secs(s.duration_s_pred),
                secs(s.sub_slo_s),
                "0".into(),
            ]);
            continue;
        }
        t.row([
            s.name.clone(),
            s.memory_mb.to_string(),
            s.fan_out.to_string(),
            s.workers.to_string(),
            secs(s.start_s_pred),
            secs(s.duration_s_pred),
            secs(s.sub_slo_s),
            usd(s.cost_usd_pred),
        ]);
    }
    out.push_str(&t.render());
    out
}

/// The Gantt chart's caption: the workflow, policy, SLO and predicted latency and cost.
pub fn gantt_caption(
    plan: &optimizer::Plan,
    model: &str,
    command: &str,
    seed: u64,
) -> report::Caption {
    report::Caption::new(
        format!(
            "{}: {} plan at SLO {} s (predicted {} s, {} USD per request)",
            plan.workflow,
            plan.policy,
            plan.slo_s,
            secs(plan.latency_s_pred),
            usd(plan.cost_usd_pred)
        ),
        command,
        Some(seed),
    )
    .with_note(format!(
        "Predicted start and duration of each step by the {model} model{}; configuration as memory/fan-out p/workers q.",
        if plan.feasible {
            ""
        } else {
            " (INFEASIBLE: the fastest plan)"
        }
    ))
}

/// The plan as a Gantt chart.
pub fn gantt_figure(
    plan: &optimizer::Plan,
    caption: &report::Caption,
) -> Result<report::Figure, report::Error> {
    let steps = plan
        .steps
        .iter()
        .map(|s| report::GanttStep {
            name: s.name.clone(),
            start_s: s.start_s_pred,
            duration_s: s.duration_s_pred,
            sub_slo_s: s.sub_slo_s,
            critical: plan.critical_path.contains(&s.name),
            config: if s.is_task {
                s.config().to_string()
            } else {
                String::new()
            },
        })
        .collect();
    report::plan_gantt(
        &report::GanttPlan {
            slo_s: plan.slo_s,
            steps,
        },
        caption,
    )
}

/// Every task step's configuration space under the predictor (StepConf's grid), with the plan's
/// choice marked.
pub fn space_figure(
    wf: &workflow::Workflow,
    platform: &platform::Platform,
    predictor: &dyn optimizer::StepPredictor,
    plan: &optimizer::Plan,
    caption: &report::Caption,
) -> anyhow::Result<report::Figure> {
    let model = optimizer::Model::new(wf, platform, predictor, &optimizer::ConfigSpace::paper())
        .with_context(|| format!("pricing the configurations of '{}'", wf.name))?;
    let mut steps = Vec::new();
    for (i, ps) in plan.steps.iter().enumerate() {
        if !ps.is_task {
            continue;
        }
        let options: Vec<&optimizer::StepOption> = model.options(i).collect();
        let chosen = options.iter().position(|o| o.config == ps.config());
        steps.push(report::StepSpace {
            step: ps.name.clone(),
            options: options
                .iter()
                .map(|o| report::ConfigOption {
                    label: o.config.to_string(),
                    duration_s: o.duration_s,
                    cost_usd: o.cost_usd,
                })
                .collect(),
            chosen,
        });
    }
    Ok(report::config_space(&steps, caption)?)
}
