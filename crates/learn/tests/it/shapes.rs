//! Encoder output shapes for every kind, widths and depths.

use learn::{Encoder, EncoderConfig, EncoderKind, Graph};

#[test]
fn every_encoder_returns_one_embedding_per_node() {
    let g = Graph::random(37, 150, 5, 4, 7).unwrap();
    for kind in [EncoderKind::Gcn, EncoderKind::Gat, EncoderKind::Mlp] {
        for (hidden, n_layers) in [(64usize, 1usize), (64, 2), (128, 3), (256, 2)] {
            let mut c = EncoderConfig::new(kind, 5, hidden);
            c.n_layers = n_layers;
            let emb = Encoder::new(c, 1).unwrap().embed(&g).unwrap();
            assert_eq!(
                (emb.n_nodes, emb.dim, emb.values.len()),
                (37, hidden, 37 * hidden),
                "{kind:?} {hidden}"
            );
            assert!(
                emb.values.iter().all(|v| v.is_finite()),
                "{kind:?}: non-finite embedding"
            );
            assert_eq!(emb.row(36).map(<[f32]>::len), Some(hidden));
            assert!(emb.row(37).is_none());
        }
    }
}

#[test]
fn layer_norm_centres_each_embedding() {
    let g = Graph::random(20, 60, 3, 1, 3).unwrap();
    let emb = Encoder::new(EncoderConfig::new(EncoderKind::Gcn, 3, 64), 2)
        .unwrap()
        .embed(&g)
        .unwrap();
    for i in 0..20 {
        let row = emb.row(i).unwrap();
        let mean: f32 = row.iter().sum::<f32>() / 64.0;
        let var: f32 = row.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 64.0;
        // gamma = 1, beta = 0 at init: mean 0, variance 1 (tolerance 1e-3, eps 1e-5 in the denominator).
        assert!(
            mean.abs() < 1e-3 && (var - 1.0).abs() < 1e-3,
            "node {i}: mean {mean} var {var}"
        );
    }
}

#[test]
fn a_graph_without_edges_still_encodes() {
    let g = Graph::new(3, 2, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[]).unwrap();
    let emb = Encoder::new(EncoderConfig::new(EncoderKind::Gat, 2, 64), 0)
        .unwrap()
        .embed(&g)
        .unwrap();
    assert_eq!(emb.values.len(), 3 * 64);
}
