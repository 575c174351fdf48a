//! Bad input is an error, never a panic.

use std::collections::BTreeMap;

use cluster::{DeepRmEnv, DeepRmSettings, Environment, ServerlessEnv};
use workload::DeepRmJobSet;

use crate::{function, inv, one_machine};

fn env_err(invs: Vec<workload::Invocation>, f: cluster::FunctionSpec) -> String {
    let ka = scheduler::keep_alive_by_name("fixed", 1).unwrap();
    match ServerlessEnv::new(
        one_machine(1000.0, 1024.0),
        vec![f],
        Box::new(invs.into_iter()),
        &BTreeMap::new(),
        ka,
        0,
    ) {
        Err(e) => e.to_string(),
        Ok(mut env) => loop {
            match env.step(cluster::Action::Wait) {
                Err(e) => break e.to_string(),
                Ok(o) if o.done => break String::new(),
                Ok(_) => {}
            }
        },
    }
}

#[test]
fn serverless_input_errors() {
    let f = function("f", 100.0, 128.0, 0.0, 1.0);
    let e = env_err(vec![inv(0, 0, 2.0, 1.0), inv(1, 0, 1.0, 1.0)], f.clone());
    assert!(e.contains("invocation 1") && e.contains("sorted"), "{e}");
    let e = env_err(vec![inv(0, 3, 0.0, 1.0)], f.clone());
    assert!(e.contains("function 3"), "{e}");
    let e = env_err(vec![], function("huge", 100.0, 4096.0, 0.0, 1.0));
    assert!(e.contains("huge") && e.contains("no machine"), "{e}");
}

#[test]
fn deeprm_settings_errors() {
    let set = DeepRmJobSet {
        arrivals: vec![],
        seed: 0,
        index: 0,
    };
    for s in [
        DeepRmSettings {
            time_horizon: 10,
            ..DeepRmSettings::default()
        },
        DeepRmSettings {
            n_visible: 0,
            ..DeepRmSettings::default()
        },
        DeepRmSettings {
            episode_max_len: 10,
            ..DeepRmSettings::default()
        },
    ] {
        assert!(DeepRmEnv::new(s, &set).is_err());
    }
}
