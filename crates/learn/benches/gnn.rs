//! Criterion benchmarks of the sparse kernels (per edge) and of encoder forward / training steps.
//! Run: `cargo bench -p learn --bench gnn` (whole-graph scaling: `faastune bench gnn`, see bench/gnn.md).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use learn::{Encoder, EncoderConfig, EncoderKind, Graph, NodeRegressor, sparse};

/// Hidden width of every benchmark, as in the target (2 layers, 64 hidden).
const HIDDEN: usize = 64;

fn kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group("spmm_d64");
    group.sample_size(10);
    for n_edges in [10_000usize, 100_000, 1_000_000] {
        let n_nodes = n_edges / 10;
        let g = Graph::random(n_nodes, n_edges, HIDDEN, 1, 1).expect("random graph");
        let emb =
            Encoder::new(EncoderConfig::new(EncoderKind::Mlp, HIDDEN, HIDDEN), 0).expect("encoder");
        let x = emb.embed(&g).expect("embed").values;
        let s = sparse::SparseStructure::new(n_nodes, (0..=n_nodes).map(|i| i * 10).collect(), {
            // Same density as the graph, fixed layout: node i reads i*7+k mod n.
            (0..n_nodes)
                .flat_map(|i| (0..10).map(move |k| ((i * 7 + k * 13) % n_nodes) as u32))
                .collect()
        })
        .expect("structure");
        let w = vec![0.5f32; s.n_edges()];
        group.throughput(Throughput::Elements(s.n_edges() as u64));
        group.bench_with_input(BenchmarkId::new("forward", n_edges), &n_edges, |b, _| {
            b.iter(|| sparse::spmm(&s, &w, 1, &x, HIDDEN))
        });
        group.bench_with_input(
            BenchmarkId::new("backward_dx", n_edges),
            &n_edges,
            |b, _| b.iter(|| sparse::spmm_transpose(&s, &w, 1, &x, HIDDEN)),
        );
    }
    group.finish();
}

fn encoders(c: &mut Criterion) {
    let mut group = c.benchmark_group("encoder_2x64");
    group.sample_size(10);
    let (n_nodes, n_edges) = (10_000usize, 100_000usize);
    let g = Graph::random(n_nodes, n_edges, 16, 4, 1).expect("random graph");
    let target = g.weighted_in_degree();
    group.throughput(Throughput::Elements(n_edges as u64));
    for kind in [EncoderKind::Gcn, EncoderKind::Gat, EncoderKind::Mlp] {
        let config = EncoderConfig::new(kind, 16, HIDDEN);
        let enc = Encoder::new(config.clone(), 0).expect("encoder");
        group.bench_function(
            BenchmarkId::new(format!("{kind:?}_forward"), n_edges),
            |b| b.iter(|| enc.embed(&g).expect("embed")),
        );
        let mut model = NodeRegressor::new(config, 1e-3, 0).expect("model");
        group.bench_function(
            BenchmarkId::new(format!("{kind:?}_train_step"), n_edges),
            |b| b.iter(|| model.train_step(&g, &target).expect("step")),
        );
    }
    group.finish();
}

/// One allocation decision: graph state from an observation, and the whole policy decision (state,
/// encoder, heads, choice), for a DeepRM state and a serverless state taken mid-episode.
fn decisions(c: &mut Criterion) {
    use cluster::{Action, Policy};
    use learn::{Algo, Scenario, StateConfig, TrainConfig, Trainer};
    let mut group = c.benchmark_group("decision");
    for scenario in [
        Scenario::deeprm(vec![1.3], "steady"),
        Scenario::serverless(vec![2.0], "mixed"),
    ] {
        let name = scenario.name();
        // An observation with several pending and running invocations.
        let mut env = scenario.make_env(1, 0).expect("env");
        let mut obs = env.observe().clone();
        for _ in 0..2_000 {
            if obs.pending.len() >= 4 && obs.running.len() >= 4 {
                break;
            }
            env.step(Action::Wait).expect("step");
            obs = env.observe().clone();
        }
        let mut builder =
            learn::GraphStateBuilder::new(StateConfig::default()).expect("state config");
        group.bench_function(BenchmarkId::new("graph_state", name), |b| {
            b.iter(|| builder.build(&obs).expect("state"))
        });
        let trainer = Trainer::new(TrainConfig::new(
            Algo::Ppo,
            scenario.clone(),
            EncoderKind::Gcn,
            1,
        ))
        .expect("trainer");
        let mut policy = trainer.policy("rl", true).expect("policy");
        let mut rng = des::RngStreams::new(1).stream("bench");
        group.bench_function(BenchmarkId::new("gnn_policy_decide", name), |b| {
            b.iter(|| policy.decide(&obs, &mut rng))
        });
    }
    group.finish();
}

criterion_group!(benches, kernels, encoders, decisions);
criterion_main!(benches);
