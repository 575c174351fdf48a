//! The AutoFlow resource agent (issue 12): it finds the known best policy of a tiny environment
//! within a fixed budget, A3C with several workers trains, a checkpoint round trip gives identical
//! actions, and bad checkpoints and configs name the file or field.

use std::path::Path;
use std::sync::Arc;

use learn::Algo;
use learn::autoscale::{
    AutoscaleAgent, AutoscaleConfig, AutoscaleEnvFactory, AutoscaleScenario, AutoscaleTrainer,
};
use platform::autoscale::{AutoscaleEnv, AutoscaleSettings, FunctionAction, Knob};
use platform::{Arrivals, Platform, RateSchedule, SimOptions, StepConfig};
use workflow::Workflow;

/// One single-threaded function that starts at 10,240 MB with a generous SLO; the load steps from 1
/// to 4 requests per second halfway. Memory above the platform's one full vCPU (1,769 MB) buys no
/// speed, and provisioned concurrency only costs (cold starts cannot break a 20-second SLO), so the
/// best policy takes memory down and never raises provisioned concurrency.
fn tiny_env(episode: u64, horizon_s: f64) -> learn::Result<AutoscaleEnv> {
    let wf = Workflow::from_str_auto(
        "name: tiny\nslo_s: 20\nsteps:\n  - {name: work, jobs: 1, work_s: 2.0}\n",
        "tiny.yaml",
    )
    .expect("tiny workflow");
    let schedule = RateSchedule::from_str(&format!("0 1\n{} 4\n", horizon_s / 2.0), "step-change")
        .expect("schedule");
    let settings = AutoscaleSettings {
        interval_s: 30.0,
        ..AutoscaleSettings::default()
    };
    AutoscaleEnv::new(
        Arc::new(wf),
        Arc::new(Platform::lambda()),
        vec![StepConfig::new(10240, 1, 1)],
        SimOptions {
            arrivals: Arrivals::schedule(schedule),
            seed: 100 + episode,
            horizon_s: Some(horizon_s),
            ..SimOptions::default()
        },
        settings,
    )
    .map_err(|e| learn::Error::Env {
        context: e.to_string(),
    })
}

/// A fresh directory for this process and test.
fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("faastune-autoscale-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn scenario(horizon_s: f64) -> AutoscaleScenario {
    AutoscaleScenario {
        workflows: vec!["tiny.yaml".into()],
        patterns: vec!["steady".into()],
        rates_per_s: vec![2.5],
        horizon_s,
        settings: AutoscaleSettings {
            interval_s: 30.0,
            ..AutoscaleSettings::default()
        },
    }
}

fn factory(horizon_s: f64) -> AutoscaleEnvFactory {
    Arc::new(move |e| tiny_env(e, horizon_s))
}

fn config(algo: Algo, horizon_s: f64, seed: u64) -> AutoscaleConfig {
    let mut c = AutoscaleConfig::new(algo, scenario(horizon_s), seed);
    c.encoder.hidden_dim = 16;
    c.head_hidden = 16;
    c.workers = 1;
    c.episodes_per_iteration = 4;
    c
}

/// Reward of one episode where every function keeps its settings.
fn keep_reward(env: &mut AutoscaleEnv) -> f64 {
    let mut total = 0.0;
    let obs = env.reset().expect("reset");
    let keep = vec![
        FunctionAction {
            memory: Knob::Keep,
            concurrency: Knob::Keep,
        };
        obs.n_functions()
    ];
    loop {
        let s = env.step(&keep).expect("step");
        total += s.reward;
        if s.done {
            return total;
        }
    }
}

#[test]
fn the_agent_finds_the_known_best_policy_of_a_tiny_environment() {
    let horizon = 600.0;
    let mut c = config(Algo::Ppo, horizon, 7);
    c.iterations = 100;
    c.learning_rate = 3e-3;
    let mut t = AutoscaleTrainer::new(c, factory(horizon)).expect("trainer");
    t.run(|_| {}).expect("training");
    // A held-out episode (its seed was never trained on).
    let per_request = |env: &mut AutoscaleEnv| {
        let r = env.report().expect("report");
        (
            r.cost_usd.total / r.requests.max(1) as f64,
            r.cost_usd.provisioned,
        )
    };
    let mut env = tiny_env(1_000, horizon).expect("env");
    let (reward, _) = t.agent(true, 1).run_episode(&mut env).expect("episode");
    let (trained, provisioned) = per_request(&mut env);
    let mut keep_env = tiny_env(1_000, horizon).expect("env");
    let keep = keep_reward(&mut keep_env);
    let (kept, _) = per_request(&mut keep_env);
    assert_eq!(provisioned, 0.0, "the greedy agent provisioned concurrency");
    assert!(
        trained < 0.6 * kept,
        "cost per request {trained} vs {kept} keeping 10,240 MB (rewards {reward} vs {keep})"
    );
    assert!(
        reward > keep,
        "reward {reward} not above keeping everything {keep}"
    );
}

#[test]
fn a3c_with_several_workers_trains_and_is_measured() {
    let horizon = 300.0;
    let mut c = config(Algo::A3c, horizon, 3);
    c.workers = 2;
    c.iterations = 2;
    let mut t = AutoscaleTrainer::new(c, factory(horizon)).expect("trainer");
    t.run(|_| {}).expect("training");
    assert_eq!(t.iterations_done(), 2);
    for s in t.curve() {
        assert_eq!(s.episodes, 4);
        assert!(s.decisions > 0);
        assert!(s.mean_reward.is_finite() && s.cost_per_request_usd > 0.0);
        assert!((0.0..=1.0).contains(&s.slo_attainment));
    }
}

#[test]
fn one_worker_training_is_deterministic() {
    let horizon = 300.0;
    let run = || {
        let mut c = config(Algo::Reinforce, horizon, 5);
        c.iterations = 2;
        let mut t = AutoscaleTrainer::new(c, factory(horizon)).expect("trainer");
        t.run(|_| {}).expect("training");
        t.curve().to_vec()
    };
    assert_eq!(run(), run());
}

#[test]
fn a_checkpoint_round_trip_gives_identical_actions() {
    let horizon = 300.0;
    let mut c = config(Algo::Ppo, horizon, 11);
    c.iterations = 1;
    let mut t = AutoscaleTrainer::new(c, factory(horizon)).expect("trainer");
    t.run(|_| {}).expect("training");
    let dir = scratch("round-trip");
    let path = dir.join("agent.safetensors");
    t.save(&path, Some("test")).expect("save");
    assert!(path.with_extension("json").is_file());
    let mut loaded = AutoscaleAgent::load(&path, true, 1).expect("load");
    let mut live = t.agent(true, 1);
    let mut env = tiny_env(5, horizon).expect("env");
    let mut obs = env.reset().expect("reset");
    for _ in 0..5 {
        let a = live.decide(&obs).expect("live");
        assert_eq!(a, loaded.decide(&obs).expect("loaded"));
        let s = env.step(&a).expect("step");
        if s.done {
            break;
        }
        obs = s.obs;
    }
    assert_eq!(loaded.meta().iterations_done, 1);
    assert_eq!(loaded.meta().command.as_deref(), Some("test"));
    // Resume continues the count.
    let mut r = AutoscaleTrainer::resume(&path, factory(horizon)).expect("resume");
    r.set_iterations(2);
    r.run(|_| {}).expect("resumed training");
    assert_eq!(r.iterations_done(), 2);
}

#[test]
fn bad_checkpoints_and_configs_name_the_file_or_field() {
    let dir = scratch("bad");
    let missing = dir.join("missing.safetensors");
    let e = AutoscaleAgent::load(&missing, true, 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.safetensors"), "{e}");
    let garbage = dir.join("garbage.safetensors");
    std::fs::write(&garbage, b"not a checkpoint").expect("write");
    let e = AutoscaleAgent::load(&garbage, true, 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("garbage.safetensors"), "{e}");
    // The shipped topology scorer is a faastune checkpoint of another format.
    let topo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/topology-gcn.safetensors");
    if topo.is_file() {
        let e = AutoscaleAgent::load(&topo, true, 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("topology-gcn.safetensors"), "{e}");
    }
    let mut c = config(Algo::Ppo, 300.0, 1);
    c.gamma = 1.5;
    let e = AutoscaleTrainer::new(c, factory(300.0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("gamma"), "{e}");
    let mut c = config(Algo::Dqn, 300.0, 1);
    c.algo = Algo::Dqn;
    let e = AutoscaleTrainer::new(c, factory(300.0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("algo"), "{e}");
    let mut c = config(Algo::Ppo, 300.0, 1);
    c.scenario.settings.interval_s = 0.0;
    let e = AutoscaleTrainer::new(c, factory(300.0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("interval_s"), "{e}");
}
