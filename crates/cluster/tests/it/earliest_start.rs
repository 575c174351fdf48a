//! DeepRM's earliest-start rule is one function: the environment starts a placed job exactly where
//! `Observation::earliest_start` (and `cluster::earliest_start`) says; huge settings are errors, not
//! allocations.

use cluster::{Action, DeepRmEnv, DeepRmSettings, Environment, Resources, earliest_start};
use workload::{DeepRmJob, DeepRmJobSet};

fn job(len_steps: u32, demand: u32) -> Option<DeepRmJob> {
    Some(DeepRmJob {
        len_steps,
        demand_slots: vec![demand, demand],
    })
}

#[test]
fn earliest_start_by_hand() {
    let r = |v: f64| Resources::new(&[v, v]);
    // Free: 2 slots now, 10 from step 1 on; a 3-slot job of 2 steps starts at step 1.
    let profile = [r(2.0), r(10.0), r(10.0), r(10.0)];
    assert_eq!(earliest_start(&r(3.0), 2, &profile), Some(1));
    assert_eq!(earliest_start(&r(2.0), 2, &profile), Some(0));
    assert_eq!(earliest_start(&r(3.0), 4, &profile), None);
    assert_eq!(earliest_start(&r(3.0), 5, &profile), None);
    assert_eq!(earliest_start(&r(11.0), 1, &profile), None);
}

#[test]
fn deeprm_env_places_jobs_where_the_observation_says() {
    // A long job holding 8 of 10 slots arrives at step 0; a 5-slot job at step 1 cannot start before
    // the long one ends.
    let set = DeepRmJobSet {
        arrivals: vec![job(10, 8), job(2, 5)],
        seed: 0,
        index: 0,
    };
    let settings = DeepRmSettings {
        simu_len: 2,
        episode_max_len: 40,
        ..DeepRmSettings::default()
    };
    let mut env = DeepRmEnv::new(settings, &set).unwrap();
    assert_eq!(env.observe().earliest_start(0, 0), Some(0));
    let place = Action::Place {
        pending_idx: 0,
        machine_idx: 0,
    };
    env.step(place).unwrap();
    env.step(Action::Wait).unwrap();
    // Step 1: the second job is visible; the rule says it starts 9 steps from now (step 10).
    let want = env.observe().earliest_start(0, 0);
    assert_eq!(want, Some(9));
    env.step(place).unwrap();
    let rec = &env.records()[1];
    assert_eq!(rec.start_step, Some(1 + 9));
    assert_eq!(env.observe().earliest_start(5, 0), None, "out of range");
}

#[test]
fn huge_deeprm_settings_are_errors() {
    let set = DeepRmJobSet {
        arrivals: vec![],
        seed: 0,
        index: 0,
    };
    for (s, name) in [
        (
            DeepRmSettings {
                time_horizon: usize::MAX,
                ..DeepRmSettings::default()
            },
            "time_horizon",
        ),
        (
            DeepRmSettings {
                n_visible: usize::MAX,
                ..DeepRmSettings::default()
            },
            "n_visible",
        ),
        (
            DeepRmSettings {
                backlog_size: usize::MAX,
                ..DeepRmSettings::default()
            },
            "backlog_size",
        ),
        (
            DeepRmSettings {
                simu_len: usize::MAX,
                episode_max_len: usize::MAX,
                ..DeepRmSettings::default()
            },
            "simu_len",
        ),
    ] {
        let e = DeepRmEnv::new(s, &set).err().unwrap().to_string();
        assert!(e.contains(name), "{e}");
    }
}
