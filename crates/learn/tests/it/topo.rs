//! The learned topology scorer (`learn::topo`): it learns a small synthetic ranking exactly, Kendall's
//! tau-b on known values, checkpoints round-trip bit for bit, bad files and bad configs are errors that
//! name their place.

use des::stats::kendall_tau;
use learn::topo::{RankGroup, TopoScorer, TopoScorerConfig};
use learn::{Edge, Error, Graph};
use rand::Rng;

use crate::rl::tmp;

const N_FEATURES: usize = 3;
/// Nodes per synthetic graph: fixed, so the mean readout carries the sum of a feature.
const N_NODES: usize = 5;

/// A random chain-plus-shortcut graph with both directions of every edge, random edge types (0 or 1)
/// and features uniform in [-1, 1); its target is the sum of feature 0 over its nodes.
fn synthetic(r: &mut des::SimRng) -> (Graph, f32) {
    let features: Vec<f32> = (0..N_NODES * N_FEATURES)
        .map(|_| r.random_range(-1.0f32..1.0))
        .collect();
    let mut edges = Vec::new();
    let mut link = |a: u32, b: u32, t: u8| {
        for (src_idx, dst_idx) in [(a, b), (b, a)] {
            edges.push(Edge {
                src_idx,
                dst_idx,
                weight: 1.0,
                edge_type: t,
            });
        }
    };
    for k in 1..N_NODES as u32 {
        link(k - 1, k, r.random_range(0..2u8));
    }
    link(0, r.random_range(2..N_NODES as u32), 1);
    let target = features.iter().step_by(N_FEATURES).sum();
    (
        Graph::new(N_NODES, N_FEATURES, features, &edges).unwrap(),
        target,
    )
}

fn synthetic_groups(n_groups: usize, per_group: usize, seed: u64) -> Vec<RankGroup> {
    let mut r = crate::rng(seed);
    (0..n_groups)
        .map(|_| {
            let (graphs, targets) = (0..per_group).map(|_| synthetic(&mut r)).unzip();
            RankGroup { graphs, targets }
        })
        .collect()
}

fn small_config(seed: u64) -> TopoScorerConfig {
    let mut c = TopoScorerConfig::new(N_FEATURES);
    c.hidden_dim = 16;
    c.mlp_hidden = 16;
    c.learning_rate = 1e-2;
    c.groups_per_batch = 2;
    c.seed = seed;
    c
}

fn mean_tau(model: &TopoScorer, groups: &[RankGroup]) -> f64 {
    let taus: Vec<f64> = groups
        .iter()
        .map(|g| {
            let refs: Vec<&Graph> = g.graphs.iter().collect();
            let phi: Vec<f64> = model
                .phi(&refs)
                .unwrap()
                .into_iter()
                .map(f64::from)
                .collect();
            let t: Vec<f64> = g.targets.iter().map(|&x| f64::from(x)).collect();
            kendall_tau(&phi, &t)
        })
        .collect();
    des::stats::mean(&taus).unwrap_or(f64::NAN)
}

#[test]
fn learns_a_synthetic_ranking_exactly() {
    let groups = synthetic_groups(6, 5, 11);
    let mut model = TopoScorer::new(small_config(5)).unwrap();
    model.fit_normalizer(&groups);
    let before = model.evaluate(&groups).unwrap();
    assert_eq!(before.n_pairs, 6 * 10, "5 distinct targets per group");
    assert!(
        before.pair_accuracy < 0.9,
        "the untrained model must not already rank well: {before:?}"
    );
    let mut last = None;
    for _ in 0..EPOCHS {
        last = Some(model.train_epoch(&groups).unwrap());
    }
    let last = last.unwrap();
    assert_eq!(last.epoch, EPOCHS);
    let after = model.evaluate(&groups).unwrap();
    eprintln!("before {before:?}; last epoch {last:?}; after {after:?}");
    assert_eq!(after.pair_accuracy, 1.0, "{after:?}");
    assert!(after.loss < 0.5 * before.loss, "{before:?} -> {after:?}");
    assert_eq!(mean_tau(&model, &groups), 1.0);
    // Scores are sigmoid(phi), in [0, 1] (f32 saturates at 1 for phi above ~17).
    let refs: Vec<&Graph> = groups[0].graphs.iter().collect();
    let (phi, s) = (model.phi(&refs).unwrap(), model.score(&refs).unwrap());
    for (p, s) in phi.iter().zip(&s) {
        let expected = 1.0 / (1.0 + (-f64::from(*p)).exp());
        assert!((f64::from(*s) - expected).abs() < 1e-6, "phi {p} score {s}");
        assert!((0.0..=1.0).contains(s));
    }
}

/// Epochs of [`learns_a_synthetic_ranking_exactly`] (3 Adam steps each).
const EPOCHS: usize = 60;

#[test]
fn ties_are_skipped_and_training_is_deterministic() {
    let mut groups = synthetic_groups(3, 4, 21);
    groups[0].targets = vec![1.0, 1.0, 1.0, 1.0];
    groups[1].targets[1] = groups[1].targets[0];
    let run = || {
        let mut m = TopoScorer::new(small_config(9)).unwrap();
        m.fit_normalizer(&groups);
        let stats: Vec<_> = (0..3).map(|_| m.train_epoch(&groups).unwrap()).collect();
        (m, stats)
    };
    let (a, sa) = run();
    let (b, sb) = run();
    assert_eq!(sa, sb);
    // Group 0: no pairs; group 1: 6 pairs less the tie; group 2: 6.
    assert_eq!(sa[0].n_pairs, 5 + 6);
    let refs: Vec<&Graph> = groups.iter().flat_map(|g| &g.graphs).collect();
    assert_eq!(a.phi(&refs).unwrap(), b.phi(&refs).unwrap());
    let (pa, pb) = (tmp("topo-det-a.safetensors"), tmp("topo-det-b.safetensors"));
    a.save(&pa, None).unwrap();
    b.save(&pb, None).unwrap();
    assert_eq!(std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
}

#[test]
fn save_load_round_trip_gives_identical_phi() {
    let groups = synthetic_groups(2, 4, 31);
    let mut model = TopoScorer::new(small_config(3)).unwrap();
    model.fit_normalizer(&groups);
    model.train_epoch(&groups).unwrap();
    let path = tmp("topo-round-trip.safetensors");
    model
        .save(&path, Some("faastune train --scenario topology"))
        .unwrap();
    let side: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(side["config"]["hidden_dim"], 16);
    assert_eq!(side["command"], "faastune train --scenario topology");
    let loaded = TopoScorer::load(&path).unwrap();
    assert_eq!(loaded.config(), model.config());
    assert_eq!(loaded.normalizer(), model.normalizer());
    assert_eq!(loaded.epochs_done(), 1);
    let refs: Vec<&Graph> = groups.iter().flat_map(|g| &g.graphs).collect();
    assert_eq!(loaded.phi(&refs).unwrap(), model.phi(&refs).unwrap());
}

#[test]
fn bad_checkpoints_are_errors_naming_the_file() {
    let model = TopoScorer::new(small_config(1)).unwrap();
    let good = tmp("topo-good.safetensors");
    model.save(&good, None).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let cases: [(&str, Vec<u8>); 4] = [
        (
            "topo-truncated.safetensors",
            bytes[..bytes.len() / 2].to_vec(),
        ),
        (
            "topo-garbage.safetensors",
            b"not a checkpoint at all".to_vec(),
        ),
        ("topo-empty.safetensors", Vec::new()),
        ("topo-header-only.safetensors", bytes[..12].to_vec()),
    ];
    for (name, content) in cases {
        let path = tmp(name);
        std::fs::write(&path, content).unwrap();
        let err = TopoScorer::load(&path).unwrap_err();
        assert!(matches!(err, Error::Checkpoint { .. }), "{name}: {err:?}");
        assert!(err.to_string().contains(name), "{name}: {err}");
    }
    let missing = tmp("topo-missing.safetensors");
    let err = TopoScorer::load(&missing).unwrap_err();
    assert!(
        err.to_string().contains("topo-missing.safetensors"),
        "{err}"
    );
    // A scorer of another size loads with its own saved config.
    let mut other = small_config(1);
    other.hidden_dim = 8;
    let other_path = tmp("topo-other.safetensors");
    TopoScorer::new(other)
        .unwrap()
        .save(&other_path, None)
        .unwrap();
    assert_eq!(
        TopoScorer::load(&other_path).unwrap().config().hidden_dim,
        8
    );
}

/// Puts one config field out of range.
type Breaker = fn(&mut TopoScorerConfig);

#[test]
fn config_errors_name_the_field() {
    assert!(TopoScorerConfig::new(4).validate().is_ok());
    let cases: [(&str, Breaker); 8] = [
        ("n_node_features", |c| c.n_node_features = 0),
        ("hidden_dim", |c| c.hidden_dim = 0),
        ("layers", |c| c.layers = 0),
        ("mlp_hidden", |c| c.mlp_hidden = 0),
        ("learning_rate", |c| c.learning_rate = f64::NAN),
        ("weight_decay", |c| c.weight_decay = -1.0),
        ("epochs", |c| c.epochs = 0),
        ("groups_per_batch", |c| c.groups_per_batch = 0),
    ];
    for (field, break_it) in cases {
        let mut c = TopoScorerConfig::new(4);
        break_it(&mut c);
        let err = c.validate().unwrap_err();
        assert!(err.to_string().contains(field), "{field}: {err}");
        assert!(TopoScorer::new(c).is_err(), "{field}");
    }
}

#[test]
fn graphs_that_do_not_fit_are_errors() {
    let model = TopoScorer::new(small_config(1)).unwrap();
    let wide = Graph::random(4, 6, N_FEATURES + 1, 2, 1).unwrap();
    assert!(matches!(
        model.phi(&[&wide]),
        Err(Error::ShapeMismatch { .. })
    ));
    let empty = Graph::new(0, N_FEATURES, Vec::new(), &[]).unwrap();
    assert!(model.score(&[&empty]).is_err());
    assert_eq!(model.phi(&[]).unwrap(), Vec::<f32>::new());
    let mut groups = synthetic_groups(1, 3, 2);
    groups[0].targets.pop();
    assert!(model.evaluate(&groups).is_err());
}
