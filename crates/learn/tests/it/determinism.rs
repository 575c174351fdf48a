//! Same seed, same bytes: encoders and training are bit-identical across runs and rayon thread counts.

use learn::{Encoder, EncoderConfig, EncoderKind, Graph, NodeRegressor};

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Embeddings of GCN and GAT, then three training steps (with dropout) and predictions.
fn run(g: &Graph) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    for kind in [EncoderKind::Gcn, EncoderKind::Gat] {
        let c = EncoderConfig::new(kind, 8, 64);
        out.push(bits(
            &Encoder::new(c.clone(), 5).unwrap().embed(g).unwrap().values,
        ));
        let mut c = c;
        c.dropout = 0.2;
        let mut m = NodeRegressor::new(c, 1e-2, 5).unwrap();
        let target = g.weighted_in_degree();
        let losses: Vec<f32> = (0..3).map(|_| m.train_step(g, &target).unwrap()).collect();
        out.push(bits(&losses));
        out.push(bits(&m.predict(g).unwrap()));
    }
    out
}

#[test]
fn results_do_not_depend_on_thread_count() {
    // Large enough that the kernels split rows across threads (rows per task >= 64).
    let g = Graph::random(3000, 20_000, 8, 4, 9).unwrap();
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    };
    let one = pool(1).install(|| run(&g));
    let two = pool(2).install(|| run(&g));
    let again = pool(2).install(|| run(&g));
    assert_eq!(one, two, "1 thread vs 2 threads");
    assert_eq!(two, again, "same seed twice");
}

#[test]
fn different_seeds_give_different_parameters() {
    let g = Graph::random(50, 200, 8, 1, 1).unwrap();
    let c = EncoderConfig::new(EncoderKind::Gcn, 8, 64);
    let a = Encoder::new(c.clone(), 1).unwrap().embed(&g).unwrap();
    let b = Encoder::new(c, 2).unwrap().embed(&g).unwrap();
    assert_ne!(bits(&a.values), bits(&b.values));
    assert_eq!(
        Graph::random(50, 200, 8, 1, 1).unwrap().node_features(),
        g.node_features()
    );
}
