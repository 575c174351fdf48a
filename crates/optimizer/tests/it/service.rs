//! `ServicePolicy`: a policy that imports each request's state (and the learned state) before every
//! call and exports it after decides exactly as one that made every call itself, the simulator's way.

use optimizer::{
    LearnedState, OraclePredictor, RequestState, ServicePolicy, service_policy_by_name,
};
use platform::{Platform, StepConfig, StepContext, StepOutcome};

use crate::example;

fn policy(name: &str) -> Box<dyn ServicePolicy> {
    let wf = example("synthetic16.yaml");
    let platform = Platform::lambda();
    let pred = OraclePredictor::new(&wf, &platform);
    service_policy_by_name(name, &wf, &platform, &pred, 40.0).expect("policy")
}

/// Where an externalised run keeps state between calls.
#[derive(Default)]
struct Store {
    requests: Vec<Option<RequestState>>,
    learned: Option<LearnedState>,
}

impl Store {
    /// A fresh policy object (as after a restart, or on another replica) given the stored state.
    fn load(&self, name: &str, r: u64) -> Box<dyn ServicePolicy> {
        let mut p = policy(name);
        if let Some(l) = &self.learned {
            p.import_learned(l.clone()).expect("learned state fits");
        }
        if let Some(s) = &self.requests[r as usize] {
            p.import_request(r, s.clone()).expect("request state fits");
        }
        p
    }

    fn save(&mut self, p: &mut dyn ServicePolicy, r: u64) {
        self.requests[r as usize] = Some(p.export_request(r));
        p.forget_request(r);
        self.learned = p.export_learned();
    }
}

/// Drives `n_req` interleaved requests of synthetic16 (steps in topological order, made-up
/// durations and cold starts) through `name`: one policy object throughout, or (`store`) a fresh
/// object per call that imports the stored state first and exports it after. Returns every
/// decision and its explanation's sub-SLO.
fn drive(name: &str, n_req: u64, mut store: Option<&mut Store>) -> Vec<(StepConfig, f64)> {
    let wf = example("synthetic16.yaml");
    let platform = Platform::lambda();
    let mut one = policy(name);
    let mut outcomes = vec![vec![None; wf.n_steps()]; n_req as usize];
    let mut out = Vec::new();
    for (k, &step) in wf.topo_order().iter().enumerate() {
        for r in 0..n_req {
            let elapsed_s = 1.5 * k as f64 + 0.1 * r as f64;
            let ctx = StepContext {
                workflow: &wf,
                platform: &platform,
                step,
                request_idx: r,
                elapsed_s,
                slo_s: Some(40.0),
                outcomes: &outcomes[r as usize],
            };
            let mut p = match store.as_deref() {
                Some(s) => s.load(name, r),
                None => std::mem::replace(&mut one, policy("stepconf")),
            };
            let config = p.choose(&ctx);
            let sub_slo_s = p.last_explain().expect("explained").sub_slo_s;
            out.push((config, sub_slo_s));
            let duration_s = 1.0 + 0.37 * ((k as u64 * 7 + r * 3) % 5) as f64;
            let outcome = StepOutcome {
                config,
                start_s: elapsed_s,
                duration_s,
                cost_usd: 0.0,
                n_cold_starts: u32::from((k + r as usize).is_multiple_of(3)),
            };
            outcomes[r as usize][step.idx()] = Some(outcome);
            let ctx = StepContext {
                workflow: &wf,
                platform: &platform,
                step,
                request_idx: r,
                elapsed_s: elapsed_s + duration_s,
                slo_s: Some(40.0),
                outcomes: &outcomes[r as usize],
            };
            match store.as_deref_mut() {
                Some(s) => {
                    s.save(p.as_mut(), r);
                    let mut p = s.load(name, r);
                    p.observe(&ctx, &outcome);
                    s.save(p.as_mut(), r);
                }
                None => {
                    p.observe(&ctx, &outcome);
                    one = p;
                }
            }
        }
    }
    out
}

#[test]
fn externalised_state_decides_like_one_policy_object() {
    for name in ["stepconf", "replan"] {
        let reference = drive(name, 3, None);
        let mut store = Store {
            requests: vec![None; 3],
            learned: None,
        };
        let externalised = drive(name, 3, Some(&mut store));
        assert_eq!(reference.len(), 48);
        assert_eq!(reference, externalised, "{name}");
        // The decisions are not all the same (the test would hide nothing otherwise).
        assert!(reference.iter().any(|d| d.0 != reference[0].0), "{name}");
    }
}

#[test]
fn foreign_or_misshapen_state_is_refused_and_changes_nothing() {
    let mut sc = policy("stepconf");
    let mut rp = policy("replan");
    let sc_state = sc.export_request(0);
    let rp_state = rp.export_request(0);
    let e = sc
        .import_request(0, rp_state.clone())
        .unwrap_err()
        .to_string();
    assert!(e.contains("stepconf") && e.contains("replan's"), "{e}");
    let e = rp.import_request(0, sc_state).unwrap_err().to_string();
    assert!(e.contains("StepConf's"), "{e}");
    let e = rp
        .import_request(
            0,
            RequestState::Replan {
                started: vec![None; 3],
            },
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("3 slots") && e.contains("16 steps"), "{e}");
    let mut bad = vec![None; 16];
    bad[2] = Some((f64::NAN, 1.0));
    let e = rp
        .import_request(0, RequestState::Replan { started: bad })
        .unwrap_err()
        .to_string();
    assert!(e.contains("slot 2"), "{e}");
    let Some(LearnedState::Replan(mut l)) = rp.export_learned() else {
        panic!("replan learns")
    };
    l.multiplier.pop();
    let e = rp
        .import_learned(LearnedState::Replan(l))
        .unwrap_err()
        .to_string();
    assert!(e.contains("multiplier has 15 entries"), "{e}");
    assert!(sc.export_learned().is_none());
    assert_eq!(rp.export_request(0), rp_state);
}
