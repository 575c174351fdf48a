//! The learned scorer over real candidate sets: training on measured groups, scoring through the
//! `Scorer` trait, and a checkpoint that scores the same after a round trip.

use learn::topo::TopoScorerConfig;
use platform::Platform;
use topology::dataset::{DatasetOptions, build_dataset};
use topology::features::NODE_FEATURES;
use topology::gnn::{GnnScorer, rank_groups, train};
use topology::objective::EvalOptions;
use topology::search::Scorer;

#[test]
fn a_scorer_trains_on_measured_groups_and_survives_a_checkpoint_round_trip() {
    let mut o = DatasetOptions::new(Platform::lambda());
    o.n_workflows = 4;
    o.max_candidates = 5;
    o.n_requests = 20;
    o.generator.max_steps = 6;
    let groups = build_dataset(&o, 0, &mut |_, _| {}).unwrap();
    assert!(groups.len() >= 2, "{}", groups.len());
    let rg = rank_groups(&groups).unwrap();
    let mut c = TopoScorerConfig::new(NODE_FEATURES);
    c.hidden_dim = 8;
    c.mlp_hidden = 8;
    c.epochs = 3;
    c.seed = 2;
    let mut epochs = 0;
    let (model, curve, _) = train(c, &rg[1..], &rg[..1], &mut |_| epochs += 1).unwrap();
    assert_eq!((epochs, curve.len()), (3, 3));
    assert!(curve.iter().all(|r| r.train.loss.is_finite()));

    let g = &groups[0];
    let e = EvalOptions::new(Platform::lambda(), g.slo_s, g.rate_per_s);
    let cands: Vec<_> = g.samples.iter().map(|s| s.workflow.clone()).collect();
    let dir = std::env::temp_dir().join(format!("topology-gnn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("scorer.safetensors");
    model.save(&path, Some("test")).unwrap();
    let mut s = GnnScorer::from_model(model, e.clone());
    let a = s.score(&cands).unwrap();
    assert_eq!(a.len(), cands.len());
    assert!(a.iter().all(|x| (0.0..=1.0).contains(x)), "{a:?}");

    let mut loaded = GnnScorer::load(&path, e.clone()).unwrap();
    assert_eq!(loaded.score(&cands).unwrap(), a);
    assert!(loaded.name().starts_with("gnn:"));

    // A file that is not a scorer: the error names it.
    let bad = dir.join("bad.safetensors");
    std::fs::write(&bad, b"not a checkpoint").unwrap();
    let err = GnnScorer::load(&bad, e).err().unwrap().to_string();
    assert!(err.contains("bad.safetensors"), "{err}");
}
