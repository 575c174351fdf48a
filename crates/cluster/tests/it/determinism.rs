//! The same seed gives identical results; a different seed gives different ones.

use std::collections::BTreeMap;

use cluster::{
    DeepRmEnv, DeepRmSettings, RunMetrics, ServerlessEnv, ServerlessSettings, run_episode,
};
use workload::{Azure2019Trace, DeepRmJobDist, DeepRmJobSet, Pattern};

fn deeprm(seed: u64, policy: &str) -> RunMetrics {
    let dist = DeepRmJobDist::default();
    let set = DeepRmJobSet::generate(&dist, 0.6, 50, Pattern::Steady, seed, 0).unwrap();
    let mut env = DeepRmEnv::new(
        DeepRmSettings {
            simu_len: 50,
            ..DeepRmSettings::default()
        },
        &set,
    )
    .unwrap();
    let mut p = scheduler::policy_by_name(policy).unwrap();
    let mut rng = des::RngStreams::new(seed).stream("policy");
    run_episode(&mut env, p.as_mut(), &mut rng).unwrap()
}

fn azure(seed: u64, policy: &str, keep_alive: &str) -> RunMetrics {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/azure-functions-samples/azure2019_sampled_at_65cf381/5");
    let trace = Azure2019Trace::read(&dir).unwrap();
    let settings = ServerlessSettings::default();
    let fs = trace
        .functions
        .iter()
        .map(|f| settings.function_from_profile(f))
        .collect::<Vec<_>>();
    let ka = scheduler::keep_alive_by_name(keep_alive, fs.len()).unwrap();
    let stream = trace.stream(seed, 1.0, Some(3)).unwrap();
    let mut env =
        ServerlessEnv::new(settings, fs, Box::new(stream), &BTreeMap::new(), ka, seed).unwrap();
    let mut p = scheduler::policy_by_name(policy).unwrap();
    let mut rng = des::RngStreams::new(seed).stream("policy");
    run_episode(&mut env, p.as_mut(), &mut rng).unwrap()
}

#[test]
fn same_seed_same_metrics() {
    for policy in scheduler::POLICY_NAMES {
        assert_eq!(deeprm(5, policy), deeprm(5, policy), "{policy}");
    }
    assert_ne!(deeprm(5, "random"), deeprm(6, "random"));
    for (policy, ka) in [("tetris", "fixed"), ("random", "histogram")] {
        let a = azure(3, policy, ka);
        assert!(a.n_finished > 1000, "{policy}: {}", a.n_finished);
        assert_eq!(a, azure(3, policy, ka), "{policy}");
        assert_ne!(
            a.slowdown_mean(),
            azure(4, policy, ka).slowdown_mean(),
            "{policy}"
        );
    }
}
