//! `faastune train --scenario topology`: AutoFlow's topology scorer S(G) = sigmoid(phi(G)), trained
//! with a pairwise ranking loss on generated workflows and their candidate topologies, each measured
//! in the simulator ("historical executions"). Writes the scorer (safetensors, config and feature
//! normaliser in its metadata), its `.json` and the training curve (`.csv`) side by side.

use std::io::Write as _;
use std::time::Instant;

use anyhow::{Context, bail};
use learn::topo::TopoScorerConfig;
use topology::dataset::{DatasetOptions, build_dataset, load_dataset, save_dataset};
use topology::features::NODE_FEATURES;
use topology::gnn::{rank_groups, train};

use crate::cmd_simulate::load_platform;
use crate::cmd_train::TrainArgs;

/// The curve's header.
const CSV_HEADER: &str =
    "epoch,train_loss,train_pair_accuracy,val_loss,val_pair_accuracy,val_kendall_tau";

fn bar(quiet: bool, len: u64, unit: &str) -> anyhow::Result<indicatif::ProgressBar> {
    let b = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(len)
    };
    b.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {unit}  {{msg}}"
        ))
        .context("progress bar template")?
        .progress_chars("=> "),
    );
    Ok(b)
}

/// Runs `faastune train --scenario topology`.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    use crate::bounds::{check_count, check_f64};
    if args.resume.is_some() || args.init_from.is_some() {
        bail!(
            "--resume and --init-from are for allocation policies; a topology scorer trains from scratch"
        );
    }
    check_count("--workflows", args.workflows as u64, 2, 100_000)?;
    check_count("--epochs", args.epochs as u64, 1, 100_000)?;
    check_count("--depth", args.depth as u64, 1, 4)?;
    check_count("--max-candidates", args.max_candidates as u64, 2, 10_000)?;
    check_count("--requests", args.requests, 1, 1_000_000)?;
    check_f64("--holdout", args.holdout, 0.0, 0.9)?;
    check_f64("--weight-decay", args.weight_decay, 0.0, 1.0)?;
    let command = format!(
        "faastune {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    let platform = load_platform(None)?;
    let mut data = DatasetOptions::new(platform);
    data.n_workflows = args.workflows;
    data.depth = args.depth;
    data.max_candidates = args.max_candidates;
    data.n_requests = args.requests;
    data.seed = args.seed;
    let mut config = TopoScorerConfig::new(NODE_FEATURES);
    config.hidden_dim = args.hidden;
    config.learning_rate = args.lr;
    config.weight_decay = args.weight_decay;
    config.epochs = args.epochs;
    config.seed = args.seed;
    config.validate().context("scorer config")?;
    eprintln!(
        "# faastune train scenario=topology workflows={} depth={} max_candidates={} requests={} \
         epochs={} hidden={} lr={} weight_decay={} seed={} holdout={}",
        args.workflows,
        args.depth,
        args.max_candidates,
        args.requests,
        args.epochs,
        args.hidden,
        args.lr,
        args.weight_decay,
        args.seed,
        args.holdout
    );
    // Wall clock: progress and elapsed time only.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    // What makes the dataset (not the training settings): a file built otherwise is refused.
    let settings = format!(
        "workflows={} depth={} max_candidates={} requests={} seed={}",
        args.workflows, args.depth, args.max_candidates, args.requests, args.seed
    );
    let cached = match &args.dataset {
        Some(path) if path.exists() => {
            let file = load_dataset(path)?;
            if file.settings != settings {
                bail!(
                    "--dataset {}: built with '{}', this command needs '{}' (delete it or pass another file)",
                    path.display(),
                    file.settings,
                    settings
                );
            }
            eprintln!("read {} ({} workflows)", path.display(), file.groups.len());
            Some(file.groups)
        }
        _ => None,
    };
    let groups = match cached {
        Some(g) => g,
        None => {
            let b = bar(args.quiet, args.workflows as u64, "workflows")?;
            let groups = build_dataset(&data, 0, &mut |done, _| b.set_position(done as u64))
                .context("building the dataset")?;
            b.finish();
            if let Some(path) = &args.dataset {
                save_dataset(path, &settings, &groups)?;
                eprintln!("wrote {}", path.display());
            }
            groups
        }
    };
    let data_s = started.elapsed().as_secs_f64();
    let n_candidates: usize = groups.iter().map(|g| g.samples.len()).sum();
    if groups.len() < 2 {
        bail!(
            "only {} usable workflow groups were generated; raise --workflows",
            groups.len()
        );
    }
    let n_val = ((groups.len() as f64) * args.holdout).round() as usize;
    let n_val = n_val.min(groups.len() - 1);
    let (tr, va) = groups.split_at(groups.len() - n_val);
    let train_groups = rank_groups(tr)?;
    let val_groups = rank_groups(va)?;
    let curve_path = learn::checkpoint::sidecar(&args.out, "csv");
    let mut curve = std::fs::File::create(&curve_path)
        .with_context(|| format!("writing {}", curve_path.display()))?;
    writeln!(curve, "{CSV_HEADER}")?;
    let b = bar(args.quiet, args.epochs as u64, "epochs")?;
    let mut write_error = None;
    #[allow(clippy::disallowed_methods)]
    let train_started = Instant::now();
    let (model, records, kept) = train(config, &train_groups, &val_groups, &mut |r| {
        if let Err(e) = writeln!(
            curve,
            "{},{},{},{},{},{}",
            r.train.epoch,
            r.train.loss,
            r.train.pair_accuracy,
            r.val.loss,
            r.val.pair_accuracy,
            r.val_kendall_tau
        ) {
            write_error = Some(e);
        }
        b.set_message(format!(
            "loss {:.4}  val pairs {:.3}  val tau {:.3}",
            r.train.loss, r.val.pair_accuracy, r.val_kendall_tau
        ));
        b.inc(1);
    })?;
    b.finish();
    if let Some(e) = write_error {
        return Err(e).with_context(|| format!("writing {}", curve_path.display()));
    }
    let train_s = train_started.elapsed().as_secs_f64();
    model
        .save(&args.out, Some(&command))
        .with_context(|| format!("saving {}", args.out.display()))?;
    eprintln!(
        "wrote {}, {}, {}; dataset {} workflows / {} candidates in {:.1} s, training {:.1} s",
        args.out.display(),
        learn::checkpoint::sidecar(&args.out, "json").display(),
        curve_path.display(),
        groups.len(),
        n_candidates,
        data_s,
        train_s
    );
    if let Some(r) = records.get(kept.max(1) - 1) {
        outln!(
            "kept epoch {} of {}: train_loss {:.4} train_pair_accuracy {:.4} val_pair_accuracy {:.4} val_kendall_tau {:.4} ({} train / {} held-out workflows)",
            kept,
            records.len(),
            r.train.loss,
            r.train.pair_accuracy,
            r.val.pair_accuracy,
            r.val_kendall_tau,
            tr.len(),
            va.len()
        )?;
    }
    Ok(())
}
