//! Bad input gives a clear error that names its place; nothing panics.

use learn::{Edge, Encoder, EncoderConfig, EncoderKind, Error, Graph, NodeRegressor};

#[test]
fn nan_features_and_out_of_range_edges_are_named() {
    let edges = [Edge {
        src_idx: 0,
        dst_idx: 9,
        weight: 1.0,
        edge_type: 0,
    }];
    let err = Graph::new(2, 1, vec![f32::NAN, 0.0], &edges).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("node 0 feature 0: NaN") && msg.contains("edge 0: dst 9 out of range"),
        "{msg}"
    );
    let err = Graph::new(2, 3, vec![0.0; 5], &[]).unwrap_err();
    assert!(
        err.to_string()
            .contains("node_features has 5 values, expected"),
        "{err}"
    );
}

#[test]
fn bad_configs_and_targets_are_errors() {
    let mut c = EncoderConfig::new(EncoderKind::Gat, 4, 64);
    c.n_heads = 5;
    assert!(matches!(
        Encoder::new(c, 0),
        Err(Error::InvalidConfig {
            field: "n_heads",
            ..
        })
    ));
    let mut c = EncoderConfig::new(EncoderKind::Gcn, 4, 64);
    c.dropout = 1.0;
    assert!(matches!(
        Encoder::new(c, 0),
        Err(Error::InvalidConfig {
            field: "dropout",
            ..
        })
    ));
    assert!("transformer".parse::<EncoderKind>().is_err());

    let g = Graph::random(5, 10, 4, 1, 0).unwrap();
    let wrong_width = Graph::random(5, 10, 3, 1, 0).unwrap();
    let enc = Encoder::new(EncoderConfig::new(EncoderKind::Gcn, 4, 64), 0).unwrap();
    assert!(matches!(
        enc.embed(&wrong_width),
        Err(Error::ShapeMismatch {
            expected: 4,
            got: 3,
            ..
        })
    ));
    let mut m = NodeRegressor::new(EncoderConfig::new(EncoderKind::Gcn, 4, 64), 1e-2, 0).unwrap();
    assert!(matches!(
        m.train_step(&g, &[0.0; 4]),
        Err(Error::ShapeMismatch {
            expected: 5,
            got: 4,
            ..
        })
    ));
    let err = m
        .train_step(&g, &[0.0, 1.0, f32::NAN, 0.0, 0.0])
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFinite {
                what: "targets",
                index: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("targets at index 2"), "{err}");
    assert!(NodeRegressor::new(EncoderConfig::new(EncoderKind::Gcn, 4, 64), f64::NAN, 0).is_err());
}
