//! Every invocation finishes, is reported pending or is dropped.

use std::collections::BTreeMap;

use cluster::{
    CpuModel, DeepRmEnv, DeepRmSettings, ServerlessEnv, ServerlessSettings, run_episode,
};
use des::SimTime;
use proptest::prelude::*;
use workload::{DeepRmJobDist, DeepRmJobSet, Pattern, SyntheticSpec, SyntheticWorkload};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn deeprm_accounts_for_every_job(seed in 0u64..1000, load in 0.1f64..1.9, max_len in 50usize..120, p in 0usize..5) {
        let dist = DeepRmJobDist::default();
        let rate = dist.rate_for_load(load).unwrap().rate;
        let set = DeepRmJobSet::generate(&dist, rate, 50, Pattern::Steady, seed, 0).unwrap();
        // A short episode and a small backlog leave jobs pending and drop some.
        let settings = DeepRmSettings { simu_len: 50, backlog_size: 5, episode_max_len: max_len, ..DeepRmSettings::default() };
        let mut env = DeepRmEnv::new(settings, &set).unwrap();
        let mut pol = scheduler::policy_by_name(scheduler::POLICY_NAMES[p]).unwrap();
        let mut rng = des::RngStreams::new(seed).stream("policy");
        let m = run_episode(&mut env, pol.as_mut(), &mut rng).unwrap();
        prop_assert_eq!(m.n_arrived as usize, set.n_jobs());
        prop_assert!(m.is_conserved(), "{:?}", m);
    }

    #[test]
    fn serverless_accounts_for_every_invocation(seed in 0u64..1000, horizon_s in 20.0f64..200.0, p in 0usize..5, ka in 0usize..2, shared in any::<bool>()) {
        let spec = SyntheticSpec { pattern: Pattern::Mixed, n_functions: 6, rate_per_s: 5.0, horizon_s: 200.0 };
        let w = SyntheticWorkload::generate(&spec, seed).unwrap();
        let n = w.invocations.len() as u64;
        let cpu_model = if shared { CpuModel::Shared } else { CpuModel::Reserved };
        let settings = ServerlessSettings { horizon: Some(SimTime::from_secs_f64(horizon_s)), cpu_model, ..ServerlessSettings::default() };
        let fs = w.functions.iter().map(|f| settings.function_from_profile(f)).collect::<Vec<_>>();
        let keep = scheduler::keep_alive_by_name(scheduler::KEEP_ALIVE_NAMES[ka], fs.len()).unwrap();
        let mut env = ServerlessEnv::new(settings, fs, Box::new(w.invocations.into_iter()), &BTreeMap::new(), keep, seed).unwrap();
        let mut pol = scheduler::policy_by_name(scheduler::POLICY_NAMES[p]).unwrap();
        let mut rng = des::RngStreams::new(seed).stream("policy");
        let m = run_episode(&mut env, pol.as_mut(), &mut rng).unwrap();
        prop_assert!(m.n_arrived <= n);
        prop_assert!(m.is_conserved(), "{:?}", m);
    }
}
