//! `faastune train`: train a learned allocation policy (GNN + REINFORCE / A3C / PPO, or the flat DQN
//! baseline) in the DeepRM or serverless environment; write the checkpoint (safetensors), its resolved
//! config (`.json`) and the training curve (`.csv`) side by side.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use learn::{Algo, EncoderKind, IterationStats, Scenario, TrainConfig, Trainer};

use crate::cmd_alloc::Scenario as ScenarioArg;

/// What `faastune train` trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TrainScenario {
    /// An allocation policy in DeepRM's time-stepped single machine.
    Deeprm,
    /// An allocation policy on the event-driven serverless platform.
    Serverless,
    /// AutoFlow's topology scorer S(G) (`reshape --scorer gnn:FILE`), on generated workflows.
    Topology,
    /// AutoFlow's resource agent (`autoflow --agent FILE`): memory and provisioned concurrency per
    /// function under time-varying load.
    Autoscale,
}

/// Arguments of `faastune train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Environment: deeprm or serverless (allocation policies, synthetic workload), or topology
    /// (the topology scorer: the flags from --workflows to --holdout apply).
    #[arg(long, value_enum)]
    pub scenario: Option<TrainScenario>,
    /// Load (DeepRM: per resource, 1.0 = 100%; serverless: arrival-rate multiplier).
    #[arg(long)]
    pub load: Option<f64>,
    /// Several loads, comma-separated; episodes cycle through them.
    #[arg(long, value_delimiter = ',')]
    pub loads: Vec<f64>,
    /// Arrival pattern: steady, bursty, periodic or mixed.
    #[arg(long, default_value = "steady")]
    pub workload: String,
    /// Algorithm: reinforce, a3c, ppo or dqn.
    #[arg(long, default_value = "ppo")]
    pub algo: String,
    /// GNN encoder: gcn, gat or mlp (ignored by dqn, whose network is an MLP over the flat state).
    #[arg(long, default_value = "gcn")]
    pub encoder: String,
    /// Embedding width of the encoder.
    #[arg(long, default_value_t = 64)]
    pub hidden: usize,
    /// Iterations in total (a resumed run continues up to this count).
    #[arg(long, default_value_t = 100)]
    pub iterations: u64,
    /// Episodes per iteration.
    #[arg(long, default_value_t = 8)]
    pub episodes: usize,
    /// A3C worker threads.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Root seed of the run (job sets, initial weights, action sampling).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Discount per decision.
    #[arg(long, default_value_t = 0.99)]
    pub gamma: f64,
    /// Entropy bonus weight.
    #[arg(long, default_value_t = 0.01)]
    pub entropy: f64,
    /// Advantage normalisation: batch (standard) or episode (every episode weighs the same; for
    /// training one policy on several loads).
    #[arg(long, default_value = "batch")]
    pub adv_norm: String,
    /// DeepRM: steps of arrivals per training episode (DeepRM trains with 50).
    #[arg(long, default_value_t = 50)]
    pub simu_len: usize,
    /// Serverless: seconds of arrivals per training episode.
    #[arg(long, default_value_t = 300.0)]
    pub horizon_s: f64,
    /// Write the checkpoint every N iterations as well as at the end.
    #[arg(long, default_value_t = 10)]
    pub save_every: u64,
    /// The checkpoint to write (safetensors); `.json` and `.csv` go beside it.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue from this checkpoint (its config is used; --iterations sets the new total).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Start from this checkpoint's weights but train with this command's settings (fine-tuning:
    /// e.g. a policy trained on one workload pattern, tuned on another). Iterations count from 0.
    #[arg(long, conflicts_with = "resume")]
    pub init_from: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Also draw the training curve (the `.csv` beside the checkpoint: one panel per changing
    /// column) to FILE.svg or FILE.png (allocation and autoscale scenarios).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Topology: workflows generated for the dataset (each with its candidate set).
    #[arg(long, default_value_t = 200)]
    pub workflows: usize,
    /// Topology: training epochs over the dataset.
    #[arg(long, default_value_t = 40)]
    pub epochs: usize,
    /// Topology: most transforms per candidate.
    #[arg(long, default_value_t = 2)]
    pub depth: usize,
    /// Topology: most candidates per workflow (the original and a seeded sample of the rest).
    #[arg(long, default_value_t = 24)]
    pub max_candidates: usize,
    /// Topology: requests simulated per candidate.
    #[arg(long, default_value_t = 100)]
    pub requests: u64,
    /// Topology: share of the workflows held out for validation (the last ones generated).
    #[arg(long, default_value_t = 0.2)]
    pub holdout: f64,
    /// Topology: L2 penalty on the scorer's weights (Adam weight decay; 0 = none).
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Topology: the dataset file (JSON: every candidate's transforms, measurement, features and
    /// workflow). Read when it exists and was built with the same dataset settings (retraining then
    /// takes seconds); otherwise the dataset is built and written there.
    #[arg(long)]
    pub dataset: Option<PathBuf>,
    /// Autoscale: workflow files, comma-separated (episodes cycle through them; default
    /// examples/pipeline5.yaml); `PATH@RATE` runs that workflow at RATE requests per second instead
    /// of --rates.
    #[arg(long, value_delimiter = ',')]
    pub workflow: Vec<String>,
    /// Autoscale: load patterns, comma-separated: steady, diurnal, bursty, periodic (default all).
    #[arg(long, value_delimiter = ',')]
    pub patterns: Vec<String>,
    /// Autoscale: mean arrival rates, requests per second, comma-separated (default 5).
    #[arg(long, value_delimiter = ',')]
    pub rates: Vec<f64>,
    /// Autoscale: simulated minutes per episode.
    #[arg(long, default_value_t = 30.0)]
    pub minutes: f64,
    /// Autoscale: control interval, seconds.
    #[arg(long, default_value_t = 60.0)]
    pub interval_s: f64,
    /// Autoscale: value of a request completed within the SLO, in reference costs per request (the
    /// k of the seed's reward R = k T - C).
    #[arg(long, default_value_t = 3.0)]
    pub k: f64,
    /// Autoscale: penalty per request completed late or failed, in reference costs per request.
    #[arg(long, default_value_t = 1.0)]
    pub slo_penalty: f64,
    /// Autoscale: the heads' initial preference for "keep" (logit over down and up; 0 = uniform).
    #[arg(long, default_value_t = 2.0)]
    pub keep_prior: f64,
    /// Autoscale: what rewards are measured against: initial (R minus what the initial
    /// configuration earns on the same arrivals: less noise, same best policy) or none (R itself).
    #[arg(long, default_value = "initial")]
    pub reward_baseline: String,
    /// Autoscale: directory of the Azure Functions 2019 sample (diurnal episodes).
    #[arg(long)]
    pub azure_dir: Option<PathBuf>,
}

fn build_config(args: &TrainArgs) -> anyhow::Result<TrainConfig> {
    use crate::bounds::{SIMU_LEN_MAX, TRAIN_HORIZON_S_MAX, check_count, check_f64};
    check_f64("--horizon-s", args.horizon_s, 1.0, TRAIN_HORIZON_S_MAX)?;
    check_count("--simu-len", args.simu_len as u64, 1, SIMU_LEN_MAX as u64)?;
    let scenario_arg = match args.scenario {
        Some(TrainScenario::Deeprm) => ScenarioArg::Deeprm,
        Some(TrainScenario::Serverless) => ScenarioArg::Serverless,
        Some(TrainScenario::Autoscale) => {
            bail!("--scenario autoscale trains the resource agent, not an allocation policy")
        }
        Some(TrainScenario::Topology) => {
            bail!("--scenario topology trains a topology scorer, not a policy")
        }
        None => {
            bail!("--scenario deeprm|serverless|topology|autoscale is required (unless --resume)")
        }
    };
    let mut loads = args.loads.clone();
    if let Some(l) = args.load {
        loads.push(l);
    }
    if loads.is_empty() {
        loads.push(match scenario_arg {
            ScenarioArg::Deeprm => 1.3,
            ScenarioArg::Serverless => 1.0,
        });
    }
    let mut scenario = match scenario_arg {
        ScenarioArg::Deeprm => Scenario::deeprm(loads, &args.workload),
        ScenarioArg::Serverless => Scenario::serverless(loads, &args.workload),
    };
    match &mut scenario {
        Scenario::Deeprm(d) => {
            d.simu_len = args.simu_len;
            d.episode_max_len = 4 * args.simu_len;
        }
        Scenario::Serverless(s) => s.horizon_s = args.horizon_s,
    }
    let algo: Algo = args.algo.parse().context("--algo")?;
    let kind: EncoderKind = args.encoder.parse().context("--encoder")?;
    let mut c = TrainConfig::new(algo, scenario, kind, args.seed);
    c.encoder.hidden_dim = args.hidden;
    c.iterations = args.iterations;
    c.episodes_per_iteration = args.episodes;
    c.workers = if algo == Algo::A3c { args.workers } else { 1 };
    c.learning_rate = args.lr;
    c.gamma = args.gamma;
    c.entropy_coef = args.entropy;
    c.adv_norm = args.adv_norm.parse().context("--adv-norm")?;
    c.validate().context("training config")?;
    Ok(c)
}

/// Runs `faastune train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let Some(plot) = args.plot.clone() else {
        return train(args);
    };
    crate::cmd_report::check_plot_path(&plot)?;
    if args.scenario == Some(TrainScenario::Topology) {
        bail!(
            "--plot draws allocation and autoscale training curves; --scenario topology has none"
        );
    }
    let curve = learn::checkpoint::sidecar(&args.out, "csv");
    let (command, seed) = (crate::cmd_report::command_line(), args.seed);
    train(args)?;
    let fig = crate::cmd_report::training_curve_figure(
        &curve,
        &format!("training curve ({})", curve.display()),
        &command,
        Some(seed),
    )?;
    fig.write(&plot)
        .with_context(|| format!("writing figure {}", plot.display()))
}

fn train(args: TrainArgs) -> anyhow::Result<()> {
    if args.scenario == Some(TrainScenario::Topology) {
        return crate::cmd_train_topology::run(&args);
    }
    if args.scenario == Some(TrainScenario::Autoscale) {
        return crate::cmd_autoflow::train(&args);
    }
    let command = format!(
        "faastune {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    let mut trainer = match &args.resume {
        Some(path) => {
            let mut t = learn::checkpoint::resume(path)
                .with_context(|| format!("--resume {}", path.display()))?;
            t.set_iterations(args.iterations);
            t
        }
        None => {
            let config = build_config(&args)?;
            match &args.init_from {
                Some(path) => learn::checkpoint::fine_tune(path, config)
                    .with_context(|| format!("--init-from {}", path.display()))?,
                None => Trainer::new(config)?,
            }
        }
    };
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
        writeln!(curve, "{}", IterationStats::CSV_HEADER)?;
    }
    let c = trainer.config().clone();
    eprintln!(
        "# faastune train scenario={} algo={} encoder={} hidden={} seed={} iterations={} episodes/iteration={} workers={} loads={:?}",
        c.scenario.name(),
        c.algo.name(),
        if c.algo == Algo::Dqn {
            "flat-mlp".into()
        } else {
            format!("{:?}", c.encoder.kind).to_lowercase()
        },
        c.encoder.hidden_dim,
        c.seed,
        c.iterations,
        c.episodes_per_iteration,
        c.workers,
        match &c.scenario {
            Scenario::Deeprm(d) => d.loads.clone(),
            Scenario::Serverless(s) => s.loads.clone(),
        },
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
            "reward {:.1}  slowdown {:.3}  {} {:.3}",
            s.mean_reward,
            s.mean_slowdown,
            if c.algo == Algo::Dqn {
                "eps"
            } else {
                "entropy"
            },
            s.entropy
        ));
        bar.inc(1);
        if args.save_every > 0 && s.iteration.is_multiple_of(args.save_every) {
            learn::checkpoint::save(&trainer, &args.out, Some(&command))
                .context("saving the checkpoint")?;
        }
    }
    bar.finish();
    if let Some(e) = write_error {
        return Err(e).with_context(|| format!("writing {}", curve_path.display()));
    }
    let meta = learn::checkpoint::save(&trainer, &args.out, Some(&command))
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
            "iteration {} mean_reward {:.3} mean_slowdown {:.4} entropy {:.4}",
            last.iteration,
            last.mean_reward,
            last.mean_slowdown,
            last.entropy
        )?;
    }
    Ok(())
}
