//! `faastune fit`: fit the performance model (StepConf Eq. 1 and the mapping delay) to measured samples
//! (CSV), to the AWS Lambda profiles of a SLApp DOT graph, or to a workflow profiled in the simulator,
//! and report the error on samples the fit did not see.
//!
//! - `--samples FILE.csv` / `--dot FILE`: per function, k-fold cross-validation (`--folds`, default
//!   leave-one-out) gives `max_rel_error` and `mean_rel_error`; the parameters are fitted on all samples.
//! - `--workflow FILE`: every task step is profiled in the simulator on the training grid (seeded by
//!   `--seed`) and evaluated on the held-out configurations of StepConf's grid
//!   (M x P x Q = 8 x 6 x 4, feasible ones).

use std::path::PathBuf;

use anyhow::{Context, bail};
use perfmodel::fit::{ErrorReport, by_function, cross_validate, fit_function};
use perfmodel::profile::{ProfileOptions, fit_workflow};
use perfmodel::{FitOptions, ModelChoice, PerfModel, PlatformFacts, StepModel};
use serde::Serialize;

/// Which model to fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelArg {
    /// Eq. 1 or the Amdahl form, whichever cross-validates better, with a saturation memory when it
    /// cross-validates clearly better (with rounds of workers, the fan-out tail and, for workflows,
    /// the probed mapping delay).
    Auto,
    /// StepConf Eq. 1 with our refinements (rounds of workers, fan-out tail).
    Eq1,
    /// StepConf Eq. 1 exactly as published: `gamma_bar = jobs / p`, `k = min(m / m_s, q)`, no tail.
    Paper,
    /// Our Amdahl form only.
    Amdahl,
}

impl ModelArg {
    fn options(self) -> FitOptions {
        match self {
            ModelArg::Auto => FitOptions::default(),
            ModelArg::Eq1 => FitOptions {
                choice: ModelChoice::Eq1,
                ..FitOptions::default()
            },
            ModelArg::Paper => FitOptions::paper(),
            ModelArg::Amdahl => FitOptions {
                choice: ModelChoice::Amdahl,
                ..FitOptions::default()
            },
        }
    }
}

/// Arguments of `faastune fit`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["samples", "dot", "workflow"])))]
pub struct FitArgs {
    /// Samples CSV (columns function,memory_mb,fan_out,workers,jobs,duration_s; fan_out, workers and
    /// jobs optional).
    #[arg(long, value_name = "FILE.csv")]
    pub samples: Option<PathBuf>,
    /// A DOT graph whose nodes carry perf_profile = {memory MB: mean ms} (SLApp format).
    #[arg(long, value_name = "FILE")]
    pub dot: Option<PathBuf>,
    /// A workflow to profile in the simulator; the error is measured on StepConf's grid.
    #[arg(long, value_name = "FILE")]
    pub workflow: Option<PathBuf>,
    /// Root seed of profiling (--workflow).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Model to fit.
    #[arg(long, value_enum, default_value_t = ModelArg::Auto)]
    pub model: ModelArg,
    /// Never fit a saturation memory (a memory per worker above which a function gets no faster;
    /// chosen by cross-validation by default, never with --model paper).
    #[arg(long)]
    pub no_saturation: bool,
    /// Folds of cross-validation for --samples/--dot (default: leave-one-out).
    #[arg(long)]
    pub folds: Option<usize>,
    /// Platform profile (YAML/JSON); default: the built-in Lambda-like platform.
    #[arg(long, value_name = "FILE")]
    pub platform: Option<PathBuf>,
    /// Repetitions per training configuration (--workflow).
    #[arg(long, default_value_t = 30)]
    pub reps: u32,
    /// Repetitions per held-out configuration, the ground-truth mean (--workflow).
    #[arg(long, default_value_t = 200)]
    pub reps_truth: u32,
    /// Write the fitted model (PerfModel JSON) to this file.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also draw predicted against measured duration on the held-out configurations and the error
    /// distribution to FILE.svg or FILE.png (with --workflow).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
}

#[derive(Serialize)]
struct FunctionRow {
    function: String,
    n_samples: usize,
    n_heldout: usize,
    max_rel_error: f64,
    mean_rel_error: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost_max_rel_error: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost_mean_rel_error: Option<f64>,
    model: StepModel,
    /// Fallbacks the fit took for too few samples (also printed to stderr).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct Output {
    input: String,
    mode: &'static str,
    model: &'static str,
    validation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    platform: String,
    max_rel_error: f64,
    mean_rel_error: f64,
    functions: Vec<FunctionRow>,
}

/// Runs `faastune fit`.
pub fn run(args: FitArgs) -> anyhow::Result<()> {
    if let Some(p) = &args.plot {
        crate::cmd_report::check_plot_path(p)?;
        if args.workflow.is_none() {
            bail!(
                "--plot draws held-out configurations simulated from --workflow; with --samples or --dot there are none to draw"
            );
        }
    }
    let platform = match &args.platform {
        Some(p) => platform::Platform::load(p)
            .with_context(|| format!("reading platform {}", p.display()))?,
        None => platform::Platform::lambda(),
    };
    let facts = PlatformFacts::of(&platform);
    let fit = FitOptions {
        saturation: args.model.options().saturation && !args.no_saturation,
        ..args.model.options()
    };
    let model_name = match args.model {
        ModelArg::Auto => "auto",
        ModelArg::Eq1 => "eq1",
        ModelArg::Paper => "paper",
        ModelArg::Amdahl => "amdahl",
    };
    let (out, model) = if let Some(path) = &args.workflow {
        let wf = workflow::Workflow::load(path)
            .with_context(|| format!("reading workflow {}", path.display()))?;
        let opts = ProfileOptions {
            seed: args.seed,
            reps_train: args.reps,
            reps_truth: args.reps_truth,
            ..ProfileOptions::default()
        };
        let model = fit_workflow(&platform, &wf, &opts, fit)
            .with_context(|| format!("fitting workflow {}", path.display()))?;
        let held = perfmodel::profile::held_out(&platform, &wf, &model, &opts)
            .context("evaluating on held-out configurations")?;
        let evals = perfmodel::profile::summarise(&platform, &wf, &opts, &held);
        if let Some(plot) = &args.plot {
            let caption = fit_caption(
                &wf.name,
                model_name,
                args.seed,
                crate::cmd_report::command_line(),
            );
            let points = fit_points(&wf, &held);
            crate::cmd_report::write_plot(report::fit_accuracy(&points, &caption), plot)?;
        }
        let functions = evals
            .into_iter()
            .map(|e| {
                let id = wf
                    .find(&e.step)
                    .expect("evaluated steps belong to the workflow");
                FunctionRow {
                    function: e.step,
                    n_samples: e.n_train,
                    n_heldout: e.duration.n,
                    max_rel_error: e.duration.max_rel_error,
                    mean_rel_error: e.duration.mean_rel_error,
                    cost_max_rel_error: Some(e.cost.max_rel_error),
                    cost_mean_rel_error: Some(e.cost.mean_rel_error),
                    model: model.step(id).clone(),
                    warnings: Vec::new(),
                }
            })
            .collect();
        let validation = format!(
            "held-out: feasible configurations of StepConf's grid (M x P x Q = 8 x 6 x 4), simulated mean of {} runs; training: {} configurations x {} runs",
            args.reps_truth,
            opts.train.configs().count(),
            args.reps
        );
        (
            output(
                path,
                "workflow",
                model_name,
                validation,
                Some(args.seed),
                &facts,
                functions,
            ),
            model,
        )
    } else {
        let (path, mode, samples) = if let Some(path) = &args.samples {
            (
                path,
                "samples",
                perfmodel::sample::read_csv(path)
                    .with_context(|| format!("reading samples {}", path.display()))?,
            )
        } else if let Some(path) = &args.dot {
            let name = path.display().to_string();
            let g = perfmodel::dot::read_dot(path)
                .with_context(|| format!("reading DOT graph {name}"))?;
            (
                path,
                "dot",
                perfmodel::dot::perf_profile_samples(&g, &name, "")
                    .with_context(|| format!("reading perf_profile in {name}"))?,
            )
        } else {
            bail!("give one of --samples, --dot or --workflow");
        };
        if samples.is_empty() {
            bail!(
                "{}: no samples (a DOT graph needs nodes with a perf_profile attribute)",
                path.display()
            );
        }
        let mut functions = Vec::new();
        let mut steps = Vec::new();
        for (name, s) in by_function(&samples) {
            let k = args.folds.unwrap_or(s.len());
            let report = if s.len() >= 2 {
                cross_validate(&name, &s, &facts, fit, k)?
            } else {
                ErrorReport::default()
            };
            let perfmodel::fit::FunctionFit { model: m, warnings } =
                fit_function(&name, &s, &facts, fit)
                    .with_context(|| format!("fitting function '{name}'"))?;
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            functions.push(FunctionRow {
                function: name,
                n_samples: s.len(),
                n_heldout: report.n,
                max_rel_error: report.max_rel_error,
                mean_rel_error: report.mean_rel_error,
                cost_max_rel_error: None,
                cost_mean_rel_error: None,
                model: m.clone(),
                warnings,
            });
            steps.push(m);
        }
        let validation = match args.folds {
            Some(k) => format!("{k}-fold cross-validation per function"),
            None => "leave-one-out cross-validation per function".into(),
        };
        let model = PerfModel {
            workflow: path.display().to_string(),
            seed: None,
            platform: facts.clone(),
            steps,
        };
        (
            output(path, mode, model_name, validation, None, &facts, functions),
            model,
        )
    };
    if let Some(save) = &args.save {
        std::fs::write(save, model.to_json())
            .with_context(|| format!("writing model {}", save.display()))?;
    }
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).context("serializing the report")?
        )?;
    } else {
        print_table(&out)?;
    }
    Ok(())
}

fn output(
    path: &std::path::Path,
    mode: &'static str,
    model: &'static str,
    validation: String,
    seed: Option<u64>,
    facts: &PlatformFacts,
    functions: Vec<FunctionRow>,
) -> Output {
    let max = functions
        .iter()
        .map(|f| f.max_rel_error)
        .fold(0.0, f64::max);
    let n: usize = functions.iter().map(|f| f.n_heldout).sum();
    let mean = if n == 0 {
        0.0
    } else {
        functions
            .iter()
            .map(|f| f.mean_rel_error * f.n_heldout as f64)
            .sum::<f64>()
            / n as f64
    };
    Output {
        input: path.display().to_string(),
        mode,
        model,
        validation,
        seed,
        platform: facts.name.clone(),
        max_rel_error: max,
        mean_rel_error: mean,
        functions,
    }
}

fn print_table(out: &Output) -> anyhow::Result<()> {
    outln!(
        "fit {} ({}), model {}, platform {}{}",
        out.input,
        out.mode,
        out.model,
        out.platform,
        out.seed.map(|s| format!(", seed {s}")).unwrap_or_default()
    )?;
    outln!("validation: {}", out.validation)?;
    let w = out
        .functions
        .iter()
        .map(|f| f.function.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let cost = out.functions.iter().any(|f| f.cost_max_rel_error.is_some());
    out!(
        "{:<w$}  {:>7}  {:>8}  {:>9}  {:>9}",
        "function",
        "samples",
        "held-out",
        "max_err",
        "mean_err"
    )?;
    if cost {
        out!("  {:>9}  {:>9}", "cost_max", "cost_mean")?;
    }
    outln!("  parameters")?;
    for f in &out.functions {
        out!(
            "{:<w$}  {:>7}  {:>8}  {:>8.2}%  {:>8.2}%",
            f.function,
            f.n_samples,
            f.n_heldout,
            100.0 * f.max_rel_error,
            100.0 * f.mean_rel_error
        )?;
        if cost {
            out!(
                "  {:>8.2}%  {:>8.2}%",
                100.0 * f.cost_max_rel_error.unwrap_or(0.0),
                100.0 * f.cost_mean_rel_error.unwrap_or(0.0)
            )?;
        }
        outln!("  {}", f.model.describe())?;
    }
    outln!(
        "all functions: max relative error {:.2}%, mean {:.2}%",
        100.0 * out.max_rel_error,
        100.0 * out.mean_rel_error
    )?;
    Ok(())
}

fn fit_caption(wf: &str, model: &str, seed: u64, command: String) -> report::Caption {
    report::Caption::new(
        format!("{wf}: {model} model on held-out configurations"),
        command,
        Some(seed),
    )
    .with_note(
        "Held-out: feasible configurations of StepConf's grid not in the training grid; measured = simulated mean.",
    )
}

/// The figure's points: predicted and measured duration of every held-out configuration.
fn fit_points(
    wf: &workflow::Workflow,
    held: &[perfmodel::profile::HeldOut],
) -> Vec<report::FitPoint> {
    held.iter()
        .map(|h| report::FitPoint {
            step: wf.step(h.step).name.clone(),
            measured_s: h.measured.duration_s,
            predicted_s: h.predicted_duration_s,
        })
        .collect()
}

/// `fit --workflow PATH --seed SEED --plot`'s figure (the auto model), for `faastune report`.
pub fn workflow_fit_figure(
    path: &std::path::Path,
    seed: u64,
    reps: u32,
    reps_truth: u32,
    command: Option<String>,
) -> anyhow::Result<report::Figure> {
    let platform = platform::Platform::lambda();
    let wf = workflow::Workflow::load(path)
        .with_context(|| format!("reading workflow {}", path.display()))?;
    let opts = ProfileOptions {
        seed,
        reps_train: reps,
        reps_truth,
        ..ProfileOptions::default()
    };
    let fit = ModelArg::Auto.options();
    let model = fit_workflow(&platform, &wf, &opts, fit)
        .with_context(|| format!("fitting workflow {}", path.display()))?;
    let command = command.unwrap_or_else(|| {
        format!(
            "faastune fit --workflow {} --seed {seed} --reps {reps} --reps-truth {reps_truth} --plot FILE",
            path.display()
        )
    });
    let caption = fit_caption(&wf.name, "auto", seed, command);
    let held = perfmodel::profile::held_out(&platform, &wf, &model, &opts)
        .with_context(|| format!("evaluating the fit of {}", path.display()))?;
    report::fit_accuracy(&fit_points(&wf, &held), &caption)
        .with_context(|| format!("drawing the fit of {}", path.display()))
}
