//! `faastune bench gnn`: GNN encoder speed (forward and one training step) on a seeded random graph.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use learn::{Encoder, EncoderConfig, EncoderKind, Graph, NodeRegressor};
use serde::Serialize;

use crate::table::Table;

/// Arguments of `faastune bench gnn`.
#[derive(clap::Args, Debug)]
pub struct BenchGnnArgs {
    /// Nodes of the random graph.
    #[arg(long, default_value_t = 100_000)]
    pub nodes: usize,
    /// Edges of the random graph (uniform random endpoints; a self-loop per node is added on top).
    #[arg(long, default_value_t = 1_000_000)]
    pub edges: usize,
    /// Input features per node.
    #[arg(long, default_value_t = 16)]
    pub features: usize,
    /// Hidden (embedding) width.
    #[arg(long, default_value_t = 64)]
    pub hidden: usize,
    /// Message-passing layers.
    #[arg(long, default_value_t = 2)]
    pub layers: usize,
    /// Encoders to time, comma-separated: gcn, gat, mlp.
    #[arg(long, default_value = "gcn,gat", value_delimiter = ',')]
    pub encoders: Vec<String>,
    /// GAT attention heads.
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    /// Timed repetitions of each measurement (after one untimed warm-up); medians are reported.
    #[arg(long, default_value_t = 5)]
    pub repeat: u32,
    /// Skip the training-step measurement (forward only).
    #[arg(long)]
    pub no_train: bool,
    /// Root seed of the graph and the parameters.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON result to this file (e.g. bench/results/gnn_1m.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Serialize)]
struct EncoderResult {
    encoder: String,
    n_params: usize,
    forward_ms_median: f64,
    forward_ms_all: Vec<f64>,
    train_step_ms_median: Option<f64>,
    train_step_ms_all: Vec<f64>,
}

#[derive(Serialize)]
struct GnnBenchResult {
    bench: &'static str,
    nodes: usize,
    edges: usize,
    features: usize,
    hidden: usize,
    layers: usize,
    seed: u64,
    repeat: u32,
    threads: usize,
    graph_build_ms: f64,
    /// The first encoder's forward median (GCN by default).
    forward_ms_median: f64,
    /// The first encoder's training-step median (forward, backward, Adam update).
    train_step_ms_median: Option<f64>,
    results: Vec<EncoderResult>,
    version: &'static str,
}

fn median(xs: &[f64]) -> f64 {
    des::stats::median(&mut xs.to_vec()).unwrap_or(0.0)
}

fn time_ms<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(f64, T)> {
    // Wall clock: the benchmark measures forward/backward time.
    #[allow(clippy::disallowed_methods)]
    let t0 = Instant::now();
    let out = f()?;
    Ok((t0.elapsed().as_secs_f64() * 1e3, out))
}

/// Runs the benchmark and prints a table (or JSON).
pub fn run(args: BenchGnnArgs) -> anyhow::Result<()> {
    let repeat = args.repeat.max(1);
    let (graph_build_ms, graph) = time_ms(|| {
        Graph::random(args.nodes, args.edges, args.features, 4, args.seed)
            .context("building the random graph")
    })?;
    // Regression target for the training step: the weighted in-degree (a graph-dependent label).
    let targets = graph.weighted_in_degree();
    let mut results = Vec::new();
    for name in &args.encoders {
        let kind: EncoderKind = name.parse().with_context(|| format!("--encoders {name}"))?;
        let mut config = EncoderConfig::new(kind, args.features, args.hidden);
        config.n_layers = args.layers;
        if kind == EncoderKind::Gat {
            config.n_heads = args.heads;
        }
        let encoder = Encoder::new(config.clone(), args.seed).context("building the encoder")?;
        let mut forward = Vec::new();
        for rep in 0..=repeat {
            let (ms, emb) = time_ms(|| Ok(encoder.embed(&graph)?))?;
            anyhow::ensure!(
                emb.n_nodes == args.nodes && emb.dim == args.hidden,
                "unexpected embedding shape"
            );
            if rep > 0 {
                forward.push(ms);
            }
        }
        let mut train = Vec::new();
        if !args.no_train {
            let mut model =
                NodeRegressor::new(config, 1e-3, args.seed).context("building the regressor")?;
            for rep in 0..=repeat {
                let (ms, _loss) = time_ms(|| Ok(model.train_step(&graph, &targets)?))?;
                if rep > 0 {
                    train.push(ms);
                }
            }
        }
        results.push(EncoderResult {
            encoder: name.clone(),
            n_params: encoder.n_params(),
            forward_ms_median: median(&forward),
            forward_ms_all: forward,
            train_step_ms_median: (!train.is_empty()).then(|| median(&train)),
            train_step_ms_all: train,
        });
    }
    let first = results.first().context("--encoders is empty")?;
    let result = GnnBenchResult {
        bench: "gnn",
        nodes: args.nodes,
        edges: args.edges,
        features: args.features,
        hidden: args.hidden,
        layers: args.layers,
        seed: args.seed,
        repeat,
        threads: rayon_threads(),
        graph_build_ms,
        forward_ms_median: first.forward_ms_median,
        train_step_ms_median: first.train_step_ms_median,
        results,
        version: env!("CARGO_PKG_VERSION"),
    };
    let json = serde_json::to_string_pretty(&result)?;
    crate::cmd_bench::write_result(args.out.as_deref(), &json)?;
    if args.json {
        outln!("{json}")?;
    } else {
        outln!(
            "random graph: {} nodes, {} edges (+{} self-loops), {} features, seed {}, {} threads",
            result.nodes,
            result.edges,
            result.nodes,
            result.features,
            result.seed,
            result.threads
        )?;
        let mut t = Table::new([
            "encoder",
            "params",
            "forward ms (median)",
            "train step ms (median)",
        ]);
        for r in &result.results {
            t.row([
                r.encoder.clone(),
                r.n_params.to_string(),
                format!("{:.2}", r.forward_ms_median),
                r.train_step_ms_median
                    .map_or("-".to_string(), |v| format!("{v:.2}")),
            ]);
        }
        out!("{}", t.render())?;
    }
    Ok(())
}

/// Threads of the global pool the kernels run on (RAYON_NUM_THREADS or the core count).
fn rayon_threads() -> usize {
    learn::parallelism()
}
