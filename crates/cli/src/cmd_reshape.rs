//! `faastune reshape`: propose alternative topologies of a workflow (fuse, parallelize, batch, shard),
//! rank them with a scorer by beam search, verify the best in the simulator beside the original, and
//! write the chosen one.

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde::Serialize;
use topology::objective::{EvalOptions, Goal, Measured, ModelKind, Objective, evaluate};
use topology::search::{AnalyticScorer, BeamOptions, Ranked, Scorer, SimScorer, beam_search};
use topology::transform::CandidateOptions;
use workflow::Workflow;

use crate::cmd_plan::resolve_slo;
use crate::cmd_simulate::{load_platform, load_workflow, parse_arrivals};
use crate::table::{Table, pct, secs, usd};

/// Arguments of `faastune reshape`.
#[derive(clap::Args, Debug)]
pub struct ReshapeArgs {
    /// Workflow file.
    #[arg(long)]
    pub workflow: PathBuf,
    /// End-to-end SLO, seconds (default: the workflow's `slo_s`).
    #[arg(long)]
    pub slo: Option<f64>,
    /// Arrival rate, requests per second (with `--arrivals poisson|fixed`).
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    /// Arrival process: `poisson`, `fixed` (at `--rate`) or a full spec as `simulate --arrivals` takes.
    #[arg(long, default_value = "poisson")]
    pub arrivals: String,
    /// Requests simulated per verified candidate (and per candidate with `--scorer sim`).
    #[arg(long, default_value_t = 200)]
    pub requests: u64,
    /// Scorer: `analytic` (the plan's predictions), `sim` (exact, slow) or `gnn:FILE` (a trained
    /// scorer; needs the `gnn` feature).
    #[arg(long, default_value = "analytic")]
    pub scorer: String,
    /// Most transforms in a sequence.
    #[arg(long, default_value_t = 3)]
    pub depth: usize,
    /// Topologies kept and expanded per depth.
    #[arg(long, default_value_t = 4)]
    pub width: usize,
    /// Topologies shown (and verified).
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Skip the simulator's verification of the shown topologies.
    #[arg(long)]
    pub no_verify: bool,
    /// Write the chosen topology as workflow YAML.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also draw the original and the shown topologies as graphs (steps a transform made in orange)
    /// to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// What is optimised subject to the SLO: cost, latency or throughput.
    #[arg(long, default_value = "cost")]
    pub goal: String,
    /// Share of requests that must meet the SLO.
    #[arg(long, default_value_t = 0.95)]
    pub min_attainment: f64,
    /// The optimizer's policy that configures every candidate.
    #[arg(long, default_value = "optimal")]
    pub policy: String,
    /// The model candidates are planned with: oracle or fitted.
    #[arg(long, default_value = "oracle")]
    pub model: String,
    /// Batch sizes proposed, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "4,16")]
    pub batch_sizes: Vec<u32>,
    /// Batching window proposed, seconds.
    #[arg(long, default_value_t = 1.0)]
    pub batch_window: f64,
    /// Shard counts proposed, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "2,4,8")]
    pub shard_ways: Vec<u32>,
    /// Platform profile (default: built-in Lambda-like).
    #[arg(long)]
    pub platform: Option<PathBuf>,
    /// Root seed (the same arrivals and noise for every candidate).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Row {
    rank: usize,
    transforms: Vec<String>,
    score: f64,
    steps: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    measured: Option<Measured>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<f64>,
}

#[derive(Serialize)]
struct Output<'a> {
    workflow: &'a str,
    slo_s: f64,
    arrivals: String,
    requests: u64,
    seed: u64,
    scorer: String,
    model: &'a str,
    policy: &'a str,
    goal: &'a str,
    min_attainment: f64,
    depth: usize,
    width: usize,
    n_scored: usize,
    original: Row,
    ranked: Vec<Row>,
    chosen: Vec<String>,
    verdict: String,
}

/// A scorer from its spec: `analytic`, `sim` or `gnn:FILE`.
pub fn build_scorer(spec: &str, opts: &EvalOptions) -> anyhow::Result<Box<dyn Scorer>> {
    match spec {
        "sim" => Ok(Box::new(SimScorer { opts: opts.clone() })),
        "analytic" => Ok(Box::new(AnalyticScorer { opts: opts.clone() })),
        s if s.starts_with("gnn:") => gnn_scorer(&s[4..], opts),
        _ => bail!("--scorer {spec}: not one of analytic, sim, gnn:FILE"),
    }
}

#[cfg(feature = "gnn")]
fn gnn_scorer(path: &str, opts: &EvalOptions) -> anyhow::Result<Box<dyn Scorer>> {
    Ok(Box::new(
        topology::gnn::GnnScorer::load(std::path::Path::new(path), opts.clone())
            .with_context(|| format!("--scorer gnn:{path}"))?,
    ))
}

#[cfg(not(feature = "gnn"))]
fn gnn_scorer(path: &str, _opts: &EvalOptions) -> anyhow::Result<Box<dyn Scorer>> {
    bail!(
        "--scorer gnn:{path}: this binary was built without the `gnn` feature (the ML framework); \
         build with `cargo build --release --features gnn`, or use --scorer analytic|sim"
    )
}

/// Runs `faastune reshape`.
pub fn run(args: ReshapeArgs) -> anyhow::Result<()> {
    use crate::bounds::{check_count, check_f64};
    if let Some(p) = &args.plot {
        crate::cmd_report::check_plot_path(p)?;
    }
    let wf = load_workflow(&args.workflow)?;
    let platform = load_platform(args.platform.as_deref())?;
    let slo_s = resolve_slo(args.slo, &wf)?;
    check_f64("--rate", args.rate, 1e-6, platform::limits::RATE_PER_S_MAX)?;
    check_count("--requests", args.requests, 1, 10_000_000)?;
    check_count("--depth", args.depth as u64, 0, 6)?;
    check_count("--width", args.width as u64, 1, 1000)?;
    check_count("--top", args.top as u64, 1, 1000)?;
    check_f64(
        "--batch-window",
        args.batch_window,
        0.0,
        workflow::limits::MAX_BATCH_WINDOW_S,
    )?;
    let arrivals = parse_arrivals(&args.arrivals, args.rate, None, args.seed)?;
    let mut opts = EvalOptions::new(platform, slo_s, args.rate);
    opts.arrivals = arrivals;
    opts.n_requests = args.requests;
    opts.seed = args.seed;
    opts.policy = args.policy.clone();
    opts.model = ModelKind::parse(&args.model).context("--model")?;
    opts.objective = Objective {
        goal: Goal::parse(&args.goal).context("--goal")?,
        min_attainment: args.min_attainment,
    };
    opts.check().context("reshape settings")?;
    let beam = BeamOptions {
        depth: args.depth,
        width: args.width,
        candidates: CandidateOptions {
            batch_sizes: args.batch_sizes.clone(),
            batch_window_s: args.batch_window,
            shard_ways: args.shard_ways.clone(),
            ..CandidateOptions::default()
        },
    };
    let mut scorer = build_scorer(&args.scorer, &opts)?;
    let ranked = beam_search(&wf, scorer.as_mut(), &beam)
        .with_context(|| format!("searching topologies of '{}'", wf.name))?;
    let n_scored = ranked.len();
    let original_rank = ranked
        .iter()
        .position(|r| r.transforms.is_empty())
        .expect("the original is always ranked");
    let verify = |r: &Ranked| -> anyhow::Result<Option<(Measured, f64)>> {
        if args.no_verify {
            return Ok(None);
        }
        match evaluate(&r.workflow, &opts) {
            Ok(m) => {
                let v = opts.objective.value(&m);
                Ok(Some((m, v)))
            }
            Err(e) if r.transforms.is_empty() => Err(e).context("simulating the original topology"),
            Err(_) => Ok(None),
        }
    };
    let mut rows = Vec::new();
    let mut best: Option<(usize, f64)> = None;
    for (i, r) in ranked.iter().take(args.top).enumerate() {
        let v = verify(r)?;
        if let Some((_, val)) = &v
            && best.is_none_or(|(_, b)| *val > b)
        {
            best = Some((i, *val));
        }
        rows.push(row(i, r, v));
    }
    let original = row(
        original_rank,
        &ranked[original_rank],
        verify(&ranked[original_rank])?,
    );
    let original_value = original.value;
    // The chosen topology: the best verified one when it beats the original, else the original;
    // without verification, the scorer's first.
    let (chosen_idx, verdict) = match (best, original_value) {
        (Some((i, v)), Some(ov)) if v > ov && !ranked[i].transforms.is_empty() => {
            let m = rows[i].measured.as_ref().expect("verified");
            let om = original.measured.as_ref().expect("verified");
            (
                i,
                format!(
                    "the simulator confirms: {} per request ({:+.1}%), p95 {} ({:+.1}%), {} of requests \
                     within the SLO (original {})",
                    usd(m.cost_usd_per_request),
                    100.0 * (m.cost_usd_per_request / om.cost_usd_per_request - 1.0),
                    secs(m.latency_s_p95),
                    100.0 * (m.latency_s_p95 / om.latency_s_p95 - 1.0),
                    pct(m.slo_attainment),
                    pct(om.slo_attainment)
                ),
            )
        }
        (_, Some(_)) => (
            original_rank,
            format!(
                "no topology among the {} shown beats the original under the objective in the \
                 simulator: the original is kept",
                rows.len()
            ),
        ),
        _ => (
            0,
            "not verified (--no-verify): the scorer's first".to_owned(),
        ),
    };
    let chosen = &ranked[chosen_idx];
    if let Some(path) = &args.plot {
        let mut graphs = vec![topology_graph(
            &wf,
            &wf,
            format!("original (rank {})", original_rank + 1),
        )];
        for (i, r) in ranked.iter().take(args.top).enumerate() {
            if r.transforms.is_empty() {
                continue;
            }
            let mut title = format!("{}. {}", i + 1, describe(&r.transforms));
            if let Some(m) = &rows[i].measured {
                title.push_str(&format!(" · {} USD/request", usd(m.cost_usd_per_request)));
            }
            if i == chosen_idx {
                title.push_str(" · chosen");
            }
            graphs.push(topology_graph(&wf, &r.workflow, title));
        }
        let caption = report::Caption::new(
            format!(
                "{}: ranked topologies ({} scorer, SLO {slo_s} s)",
                wf.name,
                scorer.name()
            ),
            crate::cmd_report::command_line(),
            Some(args.seed),
        )
        .with_note(
            "Steps in orange were made by a transform (fused, parallelised, batched or sharded).",
        );
        crate::cmd_report::write_plot(report::topologies(&graphs, &caption), path)?;
    }
    if let Some(path) = &args.out {
        std::fs::write(path, chosen.workflow.to_spec().to_yaml())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        let out = Output {
            workflow: &wf.name,
            slo_s,
            arrivals: opts.arrivals.describe(),
            requests: args.requests,
            seed: args.seed,
            scorer: scorer.name(),
            model: opts.model.as_str(),
            policy: &args.policy,
            goal: &args.goal,
            min_attainment: args.min_attainment,
            depth: args.depth,
            width: args.width,
            n_scored,
            original,
            ranked: rows,
            chosen: chosen.transforms.clone(),
            verdict,
        };
        outln!("{}", serde_json::to_string_pretty(&out)?)?;
        return Ok(());
    }
    outln!(
        "reshape {} | SLO {slo_s} s | {} | scorer {} | {} topologies scored (depth {}, width {}) | \
         plans: {} with the {} model | seed {}\n",
        wf.name,
        opts.arrivals.describe(),
        scorer.name(),
        n_scored,
        args.depth,
        args.width,
        args.policy,
        opts.model.as_str(),
        args.seed
    )?;
    let mut t = Table::new([
        "rank",
        "transforms",
        "score",
        "steps",
        "cost/request",
        "p95 (s)",
        "SLO met",
        "throughput at limit (/s)",
    ]);
    let mut push = |r: &Row| {
        let (c, p, a, th) = match &r.measured {
            Some(m) => (
                usd(m.cost_usd_per_request),
                secs(m.latency_s_p95),
                pct(m.slo_attainment),
                format!("{:.1}", m.throughput_at_limit_per_s),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        t.row([
            (r.rank + 1).to_string(),
            if r.transforms.is_empty() {
                "(original)".to_owned()
            } else {
                r.transforms.join(" ; ")
            },
            format!("{:.4}", r.score),
            r.steps.to_string(),
            c,
            p,
            a,
            th,
        ]);
    };
    for r in &rows {
        push(r);
    }
    if original.rank >= rows.len() {
        push(&original);
    }
    out!("{}", t.render())?;
    outln!("\nchosen: {}", describe(&chosen.transforms))?;
    outln!("{verdict}")?;
    if let Some(path) = &args.out {
        outln!("wrote {}", path.display())?;
    }
    Ok(())
}

fn describe(ts: &[String]) -> String {
    if ts.is_empty() {
        "(original)".into()
    } else {
        ts.join(" ; ")
    }
}

fn row(rank: usize, r: &Ranked, v: Option<(Measured, f64)>) -> Row {
    let (measured, value) = match v {
        Some((m, v)) => (Some(m), Some(v)),
        None => (None, None),
    };
    Row {
        rank,
        transforms: r.transforms.clone(),
        score: r.score,
        steps: steps_of(&r.workflow),
        measured,
        value,
    }
}

fn steps_of(w: &Workflow) -> usize {
    w.n_steps()
}

/// A topology as a graph for the figure: its steps, its dependency edges, and the steps whose names
/// the original does not have (made by a transform) highlighted.
fn topology_graph(original: &Workflow, w: &Workflow, title: String) -> report::Topology {
    let names: Vec<String> = w.steps().iter().map(|s| s.name.clone()).collect();
    let mut edges = Vec::new();
    for id in w.step_ids() {
        for p in w.preds(id) {
            edges.push((p.idx(), id.idx()));
        }
    }
    let highlight = w
        .step_ids()
        .filter(|&id| original.find(&w.step(id).name).is_none())
        .map(|id| id.idx())
        .collect();
    report::Topology {
        title,
        nodes: names,
        edges,
        highlight,
    }
}
