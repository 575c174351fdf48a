//! Search, scorers, the dataset and the evaluation measures: determinism, dedup, zero regret for
//! the exact scorer with a beam wide enough, and errors that name the place.

use platform::Platform;
use topology::canon::canonical_key;
use topology::dataset::{DatasetOptions, build_dataset, build_group};
use topology::evaluation::{kendall_tau, real_case, regret, regret_case};
use topology::objective::EvalOptions;
use topology::search::{AnalyticScorer, BeamOptions, Scorer, SimScorer, beam_search, enumerate};
use topology::transform::CandidateOptions;
use workflow::Workflow;

fn wf(yaml: &str) -> Workflow {
    Workflow::from_str_auto(yaml, "test.yaml").unwrap()
}

/// A chain whose middle step reads nothing from the first (parallelizable), fusable pairs and a
/// shardable step.
fn small() -> Workflow {
    wf("name: s\nslo_s: 30\nsteps:\n\
        - {name: a, jobs: 1, work_s: 0.8, input_mb: 5, output_mb: 20}\n\
        - {name: b, after: [a], data_from: [], jobs: 1, work_s: 0.4, input_mb: 1, output_mb: 1}\n\
        - {name: c, after: [b], data_from: [a, b], jobs: 8, work_s: 1.5, input_mb: 20, output_mb: 2}\n")
}

fn eval(rate: f64) -> EvalOptions {
    let mut e = EvalOptions::new(Platform::lambda(), 30.0, rate);
    e.n_requests = 40;
    e.seed = 3;
    e
}

#[test]
fn enumeration_starts_with_the_original_and_never_repeats_a_topology() {
    let w = small();
    let all = enumerate(&w, 2, &CandidateOptions::default(), 10_000).unwrap();
    assert!(all.len() > 3, "{}", all.len());
    assert!(all[0].1.is_empty());
    assert_eq!(canonical_key(&all[0].0), canonical_key(&w));
    let mut keys: Vec<u64> = all.iter().map(|(w, _)| canonical_key(w)).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), all.len(), "duplicate topologies enumerated");
    // Depth 0: the original only; past the limit, an error that says so.
    assert_eq!(
        enumerate(&w, 0, &CandidateOptions::default(), 10_000)
            .unwrap()
            .len(),
        1
    );
    let e = enumerate(&w, 2, &CandidateOptions::default(), 3)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("enumeration") && e.contains("more than 3"),
        "{e}"
    );
}

#[test]
fn beam_search_is_deterministic_sorted_and_keeps_the_original() {
    let w = small();
    let beam = BeamOptions {
        depth: 2,
        width: 3,
        candidates: CandidateOptions::default(),
    };
    let mut s = AnalyticScorer { opts: eval(2.0) };
    let a = beam_search(&w, &mut s, &beam).unwrap();
    let b = beam_search(&w, &mut s, &beam).unwrap();
    let key = |r: &[topology::search::Ranked]| -> Vec<(Vec<String>, u64)> {
        r.iter()
            .map(|x| (x.transforms.clone(), x.score.to_bits()))
            .collect()
    };
    assert_eq!(key(&a), key(&b));
    assert!(
        a.iter().any(|r| r.transforms.is_empty()),
        "original missing"
    );
    assert!(a.windows(2).all(|p| p[0].score >= p[1].score), "not sorted");
    for r in &a {
        // Every ranked topology is a valid workflow as written.
        Workflow::from_spec(&r.workflow.to_spec(), "ranked").unwrap();
    }
}

#[test]
fn the_exact_scorer_with_a_beam_as_wide_as_the_candidates_has_no_regret() {
    let w = small();
    let e = eval(2.0);
    let cands = CandidateOptions::default();
    let n1 = enumerate(&w, 1, &cands, 10_000).unwrap().len();
    let mut scorers: Vec<Box<dyn Scorer>> = vec![
        Box::new(SimScorer { opts: e.clone() }),
        Box::new(AnalyticScorer { opts: e.clone() }),
    ];
    let case = regret_case(&w, &e, 1, n1, &cands, &mut scorers, 10_000).unwrap();
    assert_eq!(case.n_enumerated, n1);
    assert_eq!(case.chosen.len(), 2);
    assert_eq!(case.chosen[0].0, "sim");
    assert_eq!(case.chosen[0].2, 0.0, "{case:?}");
    assert!(case.chosen[1].2 >= 0.0);
}

#[test]
fn kendall_tau_and_regret_measure_what_they_say() {
    let a = [1.0, 2.0, 3.0, 4.0];
    assert_eq!(kendall_tau(&a, &a), 1.0);
    assert_eq!(kendall_tau(&a, &[4.0, 3.0, 2.0, 1.0]), -1.0);
    assert!(kendall_tau(&[1.0], &[1.0]).is_nan());
    assert!(kendall_tau(&a, &[1.0, 1.0, 1.0, 1.0]).is_nan());
    assert_eq!(regret(-1.0, -1.0), 0.0);
    assert!((regret(0.0, -(1.1f64).ln()) - 0.1).abs() < 1e-12);
    assert_eq!(regret(-2.0, -1.0), 0.0);
}

#[test]
fn a_group_measures_the_original_first_and_every_candidate() {
    let w = small();
    let g = build_group(&w, &eval(5.0), 1, 6, &CandidateOptions::default(), 9).unwrap();
    assert!(
        g.samples.len() >= 2 && g.samples.len() <= 6,
        "{}",
        g.samples.len()
    );
    assert!(g.samples[0].transforms.is_empty());
    for s in &g.samples {
        assert!(s.value.is_finite(), "{:?}", s.transforms);
        assert_eq!(s.features.n_nodes, s.workflow.n_steps());
    }
    // The same seed gives the same group.
    let h = build_group(&w, &eval(5.0), 1, 6, &CandidateOptions::default(), 9).unwrap();
    let vals = |g: &topology::dataset::Group| -> Vec<u64> {
        g.samples.iter().map(|s| s.value.to_bits()).collect()
    };
    assert_eq!(vals(&g), vals(&h));
}

#[test]
fn a_dataset_is_reproducible_and_bad_settings_name_their_field() {
    let mut o = DatasetOptions::new(Platform::lambda());
    o.n_workflows = 2;
    o.max_candidates = 4;
    o.n_requests = 20;
    o.generator.max_steps = 5;
    let a = build_dataset(&o, 0, &mut |_, _| {}).unwrap();
    let b = build_dataset(&o, 0, &mut |_, _| {}).unwrap();
    assert!(!a.is_empty());
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    o.rate_per_s = (5.0, 1.0);
    let e = build_dataset(&o, 0, &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("rate_per_s"), "{e}");
}

#[test]
fn reshaping_keeps_the_original_unless_the_simulator_confirms_better() {
    let w = small();
    let e = eval(2.0);
    let beam = BeamOptions {
        depth: 2,
        width: 3,
        candidates: CandidateOptions::default(),
    };
    let mut s = AnalyticScorer { opts: e.clone() };
    let c = real_case(&w, "test", &e, &mut s, &beam, 5).unwrap();
    if c.chosen.is_empty() {
        assert!(!c.cheaper);
        assert_eq!(
            c.chosen_measured.cost_usd_per_request,
            c.original.cost_usd_per_request
        );
    } else {
        assert!(e.objective.value(&c.chosen_measured) > e.objective.value(&c.original));
    }
    if c.cheaper {
        assert!(c.chosen_measured.cost_usd_per_request < c.original.cost_usd_per_request);
        assert!(
            c.chosen_measured.slo_attainment
                >= e.objective.min_attainment.min(c.original.slo_attainment)
        );
    }
    assert!(!c.cheaper_strict || c.cheaper);
}
