//! A tiny supervised task: learn each node's weighted in-degree from random features. Message passing
//! can see the degree; the MLP baseline cannot, so GCN and GAT must beat it.

use learn::{EncoderConfig, EncoderKind, Graph, NodeRegressor};

const N_STEPS: usize = 150;

/// (initial loss, final loss) of `N_STEPS` Adam steps.
fn fit(kind: EncoderKind, g: &Graph, target: &[f32]) -> (f32, f32) {
    let mut m = NodeRegressor::new(EncoderConfig::new(kind, g.n_features(), 64), 1e-2, 3).unwrap();
    let first = m.loss(g, target).unwrap();
    for _ in 0..N_STEPS {
        m.train_step(g, target).unwrap();
    }
    assert_eq!(m.n_steps(), N_STEPS as u64);
    (first, m.loss(g, target).unwrap())
}

#[test]
fn gnn_encoders_learn_node_degree_and_the_mlp_cannot() {
    let g = Graph::random(120, 480, 4, 1, 17).unwrap();
    // Standardised target: loss 1.0 is what predicting the mean achieves.
    let deg = g.weighted_in_degree();
    let mean = deg.iter().sum::<f32>() / deg.len() as f32;
    let sd = (deg.iter().map(|d| (d - mean).powi(2)).sum::<f32>() / deg.len() as f32).sqrt();
    let target: Vec<f32> = deg.iter().map(|d| (d - mean) / sd).collect();

    let (gcn_first, gcn_last) = fit(EncoderKind::Gcn, &g, &target);
    let (gat_first, gat_last) = fit(EncoderKind::Gat, &g, &target);
    let (_, mlp_last) = fit(EncoderKind::Mlp, &g, &target);
    eprintln!("gcn {gcn_first} -> {gcn_last}; gat {gat_first} -> {gat_last}; mlp -> {mlp_last}");
    assert!(
        gcn_last < GCN_BOUND,
        "GCN final loss {gcn_last} (from {gcn_first})"
    );
    assert!(
        gat_last < GAT_BOUND,
        "GAT final loss {gat_last} (from {gat_first})"
    );
    assert!(
        gcn_last < 0.5 * gcn_first && gat_last < 0.5 * gat_first,
        "loss must at least halve"
    );
    assert!(
        mlp_last > 1.5 * gcn_last.max(gat_last),
        "MLP {mlp_last} must do clearly worse than the GNNs"
    );
}

// Bounds from a measured run (GCN 2.467 -> 0.088, GAT 2.448 -> 0.066, MLP -> 0.263) with ~2x margin.
const GCN_BOUND: f32 = 0.15;
const GAT_BOUND: f32 = 0.15;
