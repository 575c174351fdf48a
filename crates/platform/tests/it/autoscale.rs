//! The autoscaling environment (issue 12): episodes, determinism, action semantics, the reward, errors,
//! hang-free drops, the inference-time controller matching the environment, and the episode loads.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use platform::autoscale::{
    ActionApplier, AgentController, AutoscaleEnv, AutoscaleObs, AutoscaleSettings, FunctionAction,
    Knob, LoadPattern, N_FEATURES, episode_arrivals, function_graph, interval_reward,
};
use platform::limits::REQUESTS_MAX;
use platform::{
    Arrivals, Change, Error, MonitorWindow, Platform, SimOptions, Simulation, StaticPolicy,
    StepConfig, WorkflowWindow,
};
use workflow::Workflow;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn azure_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/azure-functions-samples/azure2019_sampled_at_65cf381/10")
}

fn pipeline5() -> Arc<Workflow> {
    Arc::new(Workflow::load(&examples().join("pipeline5.yaml")).unwrap())
}

fn initial(wf: &Workflow, memory_mb: u32) -> Vec<StepConfig> {
    vec![StepConfig::new(memory_mb, 1, 1); wf.n_steps()]
}

fn options(rate_per_s: f64, seed: u64, horizon_s: Option<f64>) -> SimOptions {
    SimOptions {
        arrivals: Arrivals::poisson(rate_per_s),
        seed,
        horizon_s,
        ..SimOptions::default()
    }
}

fn env(rate_per_s: f64, seed: u64) -> AutoscaleEnv {
    let wf = pipeline5();
    let init = initial(&wf, 1024);
    AutoscaleEnv::new(
        wf,
        Arc::new(Platform::lambda()),
        init,
        options(rate_per_s, seed, Some(600.0)),
        AutoscaleSettings::default(),
    )
    .unwrap()
}

fn act(memory: Knob, concurrency: Knob) -> FunctionAction {
    FunctionAction {
        memory,
        concurrency,
    }
}

/// A fixed, varied schedule of actions: decision `i` (0 = after the first window), function `f`.
fn scripted(i: usize, n: usize) -> Vec<FunctionAction> {
    const KNOBS: [Knob; 3] = [Knob::Up, Knob::Keep, Knob::Down];
    (0..n)
        .map(|f| act(KNOBS[(i + f) % 3], KNOBS[(i * 2 + f) % 3]))
        .collect()
}

/// Runs one episode under `scripted`: the observations (reset's first) and the rewards.
fn episode(env: &mut AutoscaleEnv) -> (Vec<AutoscaleObs>, Vec<f64>) {
    let mut observations = vec![env.reset().unwrap()];
    let mut rewards = Vec::new();
    for i in 0.. {
        let s = env.step(&scripted(i, env.n_functions())).unwrap();
        observations.push(s.obs);
        rewards.push(s.reward);
        if s.done {
            break;
        }
        assert!(i < 100, "the episode ends");
    }
    (observations, rewards)
}

fn field_of(e: Error) -> String {
    match e {
        Error::InvalidOption { field, .. } => field,
        other => panic!("expected an invalid option, got {other}"),
    }
}

#[test]
fn a_ten_minute_episode_has_nine_steps_a_report_and_repeats_exactly() {
    let mut a = env(2.0, 7);
    assert_eq!(a.n_functions(), 5);
    assert!(a.ref_cost() > 0.0 && (a.ref_rate_per_s() - 2.0).abs() < 1e-12);
    let (obs, rewards) = episode(&mut a);
    // Decisions at 60, 120, ..., 600 s: the first observation comes from reset, the last window's
    // step is done.
    assert_eq!(rewards.len(), 9);
    assert_eq!(obs.len(), 10);
    for (i, o) in obs.iter().enumerate() {
        assert!(
            (o.now_s - 60.0 * (i + 1) as f64).abs() < 1e-9,
            "{}",
            o.now_s
        );
        assert_eq!(o.n_features, N_FEATURES);
        assert_eq!(o.features.len(), 5 * N_FEATURES);
        assert!(o.features.iter().all(|x| x.is_finite()), "{:?}", o.features);
        assert!(
            o.features.iter().all(|x| (-12.0..=12.0).contains(x)),
            "{:?}",
            o.features
        );
        assert_eq!(o.edges, vec![(0, 1), (1, 2), (2, 3), (3, 4)]);
    }
    assert!(rewards.iter().all(|r| r.is_finite()));
    let report = a.report().expect("a finished episode has a report").clone();
    assert_eq!(report.load.controller, "autoscale-env");
    assert!((report.makespan_s - 600.0).abs() < 1e-9);
    assert!(report.load.n_changes > 0);
    // Rewards are O(1) (the reward scale).
    assert!(
        rewards[0] > 0.5 && rewards[0] < 3.5,
        "first reward {}",
        rewards[0]
    );

    let (obs2, rewards2) = episode(&mut env(2.0, 7));
    assert_eq!(obs, obs2);
    assert_eq!(rewards, rewards2);
    // The same env, reset, repeats its episode too.
    let (obs3, rewards3) = episode(&mut a);
    assert_eq!((&obs, &rewards), (&obs3, &rewards3));
    // Another seed gives another episode.
    let (_, rewards4) = episode(&mut env(2.0, 8));
    assert_ne!(rewards, rewards4);
}

#[test]
fn up_then_down_moves_memory_and_provisioned_level_one_rung() {
    let wf = pipeline5();
    let platform = Platform::lambda();
    let settings = AutoscaleSettings::default();
    let mut ap = ActionApplier::new(&wf, &platform, &initial(&wf, 1024), &settings).unwrap();
    let keep = FunctionAction::KEEP;
    let n = ap.function_names().len();
    let one = |a: FunctionAction| {
        let mut v = vec![keep; n];
        v[1] = a;
        v
    };
    let pc = |memory_mb, level| Change::ProvisionedConcurrency {
        function: "transform".into(),
        memory_mb,
        level,
    };
    let mem = |memory_mb| Change::FunctionMemory {
        function: "transform".into(),
        memory_mb: Some(memory_mb),
    };
    assert_eq!(ap.apply(&vec![keep; n]).unwrap(), vec![]);
    assert_eq!(
        ap.apply(&one(act(Knob::Keep, Knob::Up))).unwrap(),
        vec![pc(1024, 1)]
    );
    assert_eq!(
        ap.apply(&one(act(Knob::Keep, Knob::Up))).unwrap(),
        vec![pc(1024, 2)]
    );
    // Memory up with something provisioned: the provisioned level moves to the new memory.
    assert_eq!(
        ap.apply(&one(act(Knob::Up, Knob::Keep))).unwrap(),
        vec![mem(1536), pc(1024, 0), pc(1536, 2)]
    );
    assert_eq!(
        ap.apply(&one(act(Knob::Down, Knob::Down))).unwrap(),
        vec![mem(1024), pc(1536, 0), pc(1024, 1)]
    );
    assert_eq!(
        ap.apply(&one(act(Knob::Keep, Knob::Down))).unwrap(),
        vec![pc(1024, 0)]
    );
    // At the bottom of the provisioned ladder Down changes nothing; memory moves alone at level 0.
    assert_eq!(ap.apply(&one(act(Knob::Keep, Knob::Down))).unwrap(), vec![]);
    assert_eq!(
        ap.apply(&one(act(Knob::Down, Knob::Keep))).unwrap(),
        vec![mem(512)]
    );
    assert_eq!(ap.memory_mb()[1], 512);
    assert_eq!(ap.rungs(), &[0, 0, 0, 0, 0]);
    // pipeline5's steps need 128 MB per worker (the default): memory stops at 128, the ladder's
    // bottom.
    assert_eq!(
        ap.apply(&one(act(Knob::Down, Knob::Keep))).unwrap(),
        vec![mem(256)]
    );
    assert_eq!(
        ap.apply(&one(act(Knob::Down, Knob::Keep))).unwrap(),
        vec![mem(128)]
    );
    assert_eq!(ap.apply(&one(act(Knob::Down, Knob::Keep))).unwrap(), vec![]);
    // Two workers per instance need 256 MB: that is the floor then.
    let two_workers = vec![StepConfig::new(1024, 1, 2); wf.n_steps()];
    let floors = ActionApplier::new(&wf, &platform, &two_workers, &settings)
        .unwrap()
        .memory_floors_mb()
        .to_vec();
    assert_eq!(floors, vec![256; 5]);
    // At the top of both ladders Up changes nothing.
    for _ in 0..30 {
        ap.apply(&one(act(Knob::Up, Knob::Up))).unwrap();
    }
    assert_eq!(ap.memory_mb()[1], 10_240);
    assert_eq!(ap.provisioned_levels()[1], 256);
    assert_eq!(ap.apply(&one(act(Knob::Up, Knob::Up))).unwrap(), vec![]);

    // In the simulation, provisioned concurrency asked for at 60 s is ready after the 120 s delay and
    // billed in the windows from then on.
    let mut e = env(0.5, 3);
    e.reset().unwrap();
    let mut windows = Vec::new();
    let up: Vec<FunctionAction> = (0..5).map(|_| act(Knob::Keep, Knob::Up)).collect();
    let mut actions = up.clone();
    loop {
        let s = e.step(&actions).unwrap();
        actions = vec![keep; 5];
        windows.push(s.window);
        if s.done {
            break;
        }
    }
    let level = |w: &MonitorWindow| w.functions[1].provisioned_level();
    // Window 0 is [60, 120): requested, not ready. Window 2 is [180, 240): ready all along.
    assert_eq!(level(&windows[0]), 0);
    assert_eq!(windows[0].functions[1].provisioned[0].level_requested, 1);
    for w in &windows[2..] {
        assert_eq!(level(w), 1);
        let pc = &w.functions[1].provisioned[0];
        assert_eq!(pc.memory_mb, 1024);
        assert!((pc.level_mean - 1.0).abs() < 1e-9);
        // One GB for 60 s at the provisioned price at least.
        assert!(w.functions[1].cost_usd >= 60.0 * 0.000_004_166_7 - 1e-12);
    }
}

#[test]
fn provisioning_with_no_load_lowers_the_reward() {
    let run = |knob: Knob| {
        let mut e = env(0.001, 5);
        e.reset().unwrap();
        let mut rewards = Vec::new();
        loop {
            let s = e.step(&[act(Knob::Keep, knob); 5]).unwrap();
            rewards.push(s.reward);
            if s.done {
                break rewards;
            }
        }
    };
    let keep = run(Knob::Keep);
    let more = run(Knob::Up);
    // Windows once the first provisioned environments are ready (after 120 s) cost more each.
    for i in 2..keep.len() {
        assert!(more[i] < keep[i], "window {i}: {} vs {}", more[i], keep[i]);
    }
    assert!(more.iter().sum::<f64>() < keep.iter().sum::<f64>());
}

#[test]
fn the_reward_formula_on_a_hand_built_window() {
    let settings = AutoscaleSettings::default();
    let mut w = MonitorWindow {
        start_s: 60.0,
        end_s: 120.0,
        workflow: WorkflowWindow {
            started: 70,
            succeeded: 50,
            failed: 10,
            failed_throttled: 4,
            slo_attainment: Some(40.0 / 60.0),
            cost_usd: 0.06,
            ..WorkflowWindow::default()
        },
        functions: Vec::new(),
    };
    // G = 40/60, L = 20/60, C = 0.001 USD/s; ref cost 0.001 USD, ref rate 1/s:
    // (3 x 0.001 x 40/60 - 1 x 0.001 x 20/60 - 0.001) / 0.001 = 2 - 1/3 - 1.
    let r = interval_reward(&w, &settings, 0.001, 1.0);
    assert!((r - (2.0 - 1.0 / 3.0 - 1.0)).abs() < 1e-12, "{r}");
    // Twice the reference rate halves it.
    assert!((interval_reward(&w, &settings, 0.001, 2.0) - r / 2.0).abs() < 1e-12);
    // Without an SLO every completion counts (56 = 60 finished - 4 failed by throttling).
    w.workflow.slo_attainment = None;
    let r = interval_reward(&w, &settings, 0.001, 1.0);
    assert!(
        (r - (3.0 * 56.0 / 60.0 - 4.0 / 60.0 - 1.0)).abs() < 1e-12,
        "{r}"
    );
    // k and the penalty weigh as stated.
    let s2 = AutoscaleSettings {
        k: 1.0,
        slo_penalty: 0.0,
        ..AutoscaleSettings::default()
    };
    let r = interval_reward(&w, &s2, 0.001, 1.0);
    assert!((r - (56.0 / 60.0 - 1.0)).abs() < 1e-12, "{r}");
    // An empty window earns nothing.
    assert_eq!(
        interval_reward(&MonitorWindow::default(), &settings, 0.001, 1.0),
        0.0
    );
}

#[test]
fn bad_actions_settings_and_options_are_errors_naming_the_field() {
    let mut e = env(1.0, 1);
    let err = e.step(&[FunctionAction::KEEP; 5]).unwrap_err();
    assert_eq!(field_of(err), "step");
    e.reset().unwrap();
    let err = e.step(&[FunctionAction::KEEP; 3]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("expected 5"), "{msg}");
    assert_eq!(field_of(err), "actions");
    // The episode goes on after a refused step.
    assert!(!e.step(&[FunctionAction::KEEP; 5]).unwrap().done);

    let wf = pipeline5();
    let platform = Arc::new(Platform::lambda());
    let new = |settings: AutoscaleSettings, horizon_s: Option<f64>| {
        AutoscaleEnv::new(
            Arc::clone(&wf),
            Arc::clone(&platform),
            initial(&wf, 1024),
            options(1.0, 1, horizon_s),
            settings,
        )
        .unwrap_err()
    };
    let bad = |edit: fn(&mut AutoscaleSettings)| {
        let mut s = AutoscaleSettings::default();
        edit(&mut s);
        assert!(s.validate().is_err());
        field_of(new(s, Some(600.0)))
    };
    assert_eq!(bad(|s| s.interval_s = 0.0), "autoscale.interval_s");
    assert_eq!(bad(|s| s.interval_s = -60.0), "autoscale.interval_s");
    assert_eq!(bad(|s| s.interval_s = f64::NAN), "autoscale.interval_s");
    assert_eq!(
        bad(|s| s.provisioned_ladder.clear()),
        "autoscale.provisioned_ladder"
    );
    assert_eq!(
        bad(|s| s.provisioned_ladder = vec![0, 4, 4]),
        "autoscale.provisioned_ladder"
    );
    assert_eq!(
        bad(|s| s.memory_ladder = vec![512, 256]),
        "autoscale.memory_ladder"
    );
    assert_eq!(bad(|s| s.memory_ladder.clear()), "autoscale.memory_ladder");
    assert_eq!(bad(|s| s.k = -1.0), "autoscale.k");
    // Every problem at once.
    assert_eq!(
        bad(|s| {
            s.interval_s = 0.0;
            s.memory_ladder.clear();
        }),
        "autoscale.interval_s, autoscale.memory_ladder"
    );
    assert_eq!(
        field_of(new(AutoscaleSettings::default(), None)),
        "horizon_s"
    );
    assert_eq!(
        field_of(new(AutoscaleSettings::default(), Some(90.0))),
        "horizon_s"
    );
    // A ladder of sizes the platform does not offer.
    let s = AutoscaleSettings {
        memory_ladder: vec![64, 100],
        ..AutoscaleSettings::default()
    };
    assert_eq!(field_of(new(s, Some(600.0))), "autoscale.memory_ladder");
    // Initial configurations: one per step.
    let err = AutoscaleEnv::new(
        Arc::clone(&wf),
        Arc::clone(&platform),
        initial(&wf, 1024)[..2].to_vec(),
        options(1.0, 1, Some(600.0)),
        AutoscaleSettings::default(),
    )
    .unwrap_err();
    assert_eq!(field_of(err), "initial");

    // Settings read from a file: every field optional, unknown fields refused.
    let s: AutoscaleSettings = serde_json::from_str(r#"{"interval_s": 30}"#).unwrap();
    assert_eq!(s.interval_s, 30.0);
    assert_eq!(
        s.provisioned_ladder,
        AutoscaleSettings::default().provisioned_ladder
    );
    assert!(serde_json::from_str::<AutoscaleSettings>(r#"{"interval": 30}"#).is_err());
}

#[test]
fn dropping_or_resetting_an_env_mid_episode_does_not_hang() {
    let mut e = env(5.0, 2);
    e.reset().unwrap();
    e.step(&[FunctionAction::KEEP; 5]).unwrap();
    drop(e);
    // Dropped right after reset, and before any reset.
    let mut e = env(5.0, 2);
    e.reset().unwrap();
    drop(e);
    drop(env(5.0, 2));
    // A reset mid-episode starts afresh and matches a fresh env.
    let mut e = env(5.0, 2);
    e.reset().unwrap();
    e.step(&[act(Knob::Up, Knob::Up); 5]).unwrap();
    let (obs, rewards) = episode(&mut e);
    assert_eq!((obs, rewards), episode(&mut env(5.0, 2)));
}

#[test]
fn the_agent_controller_earns_what_the_env_does_for_the_same_actions() {
    let seed = 11;
    let mut e = env(2.0, seed);
    let (_, env_rewards) = episode(&mut e);
    let env_report = e.report().unwrap().clone();

    let wf = pipeline5();
    let platform = Platform::lambda();
    let init = initial(&wf, 1024);
    let settings = AutoscaleSettings::default();
    let mut n_calls = 0;
    let mut ctl = AgentController::new(&wf, &platform, &init, &settings, None, |obs| {
        // Decision i is taken at (i + 1) x 60 s, as in the env.
        let i = (obs.now_s / 60.0).round() as usize - 1;
        n_calls += 1;
        // The env keeps everything at the last decision (its actions would act after the horizon).
        if i + 1 == 10 {
            vec![FunctionAction::KEEP; obs.n_functions()]
        } else {
            scripted(i, obs.n_functions())
        }
    })
    .unwrap()
    .with_name("autoscale-env");
    let opts = SimOptions {
        n_requests: REQUESTS_MAX,
        metrics_interval_s: Some(60.0),
        ..options(2.0, seed, Some(600.0))
    };
    let report = Simulation::new(&wf, &platform, opts)
        .unwrap()
        .run_controlled(&mut StaticPolicy::new("initial", init.clone()), &mut ctl)
        .unwrap();
    drop(ctl);
    assert_eq!(n_calls, 10);
    assert_eq!(report.metrics.len(), 10);
    let rewards: Vec<f64> = report.metrics[1..]
        .iter()
        .map(|w| interval_reward(w, &settings, e.ref_cost(), e.ref_rate_per_s()))
        .collect();
    assert_eq!(rewards, env_rewards);
    assert_eq!(report.cost_usd, env_report.cost_usd);
    assert_eq!(report.latency_s, env_report.latency_s);
    assert_eq!(report.load, env_report.load);
}

#[test]
fn the_ecommerce_example_validates_and_runs_an_episode() {
    let wf = Arc::new(Workflow::load(&examples().join("ecommerce.yaml")).unwrap());
    assert_eq!(wf.n_steps(), 6);
    assert_eq!(wf.slo_s, Some(2.0));
    let (names, edges) = function_graph(&wf);
    assert_eq!(
        names,
        [
            "validate",
            "fraud_score",
            "payment",
            "inventory",
            "notify",
            "done"
        ]
    );
    assert_eq!(edges, vec![(0, 1), (1, 2), (2, 3), (2, 4), (3, 5), (4, 5)]);
    let init = initial(&wf, 1024);
    let mut e = AutoscaleEnv::new(
        wf,
        Arc::new(Platform::lambda()),
        init,
        options(5.0, 1, Some(300.0)),
        AutoscaleSettings::default(),
    )
    .unwrap();
    let (obs, rewards) = episode(&mut e);
    assert_eq!(rewards.len(), 4);
    assert_eq!(obs[0].edges, edges);
    assert!(e.report().unwrap().requests > 1000);
}

#[test]
fn episode_loads_have_their_mean_and_shape_and_differ_by_episode() {
    let horizon_s = 3_600.0;
    let mean_over = |a: &Arrivals| match a {
        Arrivals::Schedule(s) => {
            let n = s.starts_s.len();
            let mut total = 0.0;
            for i in 0..n {
                let hi = s.starts_s.get(i + 1).copied().unwrap_or(s.end_s.unwrap());
                total += s.rates_per_s[i] * (hi - s.starts_s[i]);
            }
            (total / horizon_s, s.rates_per_s.clone())
        }
        other => (other.mean_rate_per_s(), vec![other.mean_rate_per_s()]),
    };
    let dir = azure_dir();
    for p in LoadPattern::ALL {
        assert_eq!(p.name().parse::<LoadPattern>().unwrap(), p);
        let a = episode_arrivals(p, 4.0, horizon_s, Some(&dir), 9, 0).unwrap();
        a.check().unwrap();
        let (mean, rates) = mean_over(&a);
        assert!((mean - 4.0).abs() < 1e-9, "{p}: mean {mean}");
        let (lo, hi) = rates
            .iter()
            .fold((f64::MAX, 0.0f64), |(l, h), &r| (l.min(r), h.max(r)));
        match p {
            LoadPattern::Steady => assert!(matches!(a, Arrivals::Poisson { .. })),
            LoadPattern::Bursty => {
                assert!(hi / lo >= 5.0 - 1e-9 && hi / lo <= 10.0 + 1e-9, "{lo} {hi}");
                // Same seed and episode: same load; another episode: another.
                assert_eq!(a, episode_arrivals(p, 4.0, horizon_s, None, 9, 0).unwrap());
                assert_ne!(a, episode_arrivals(p, 4.0, horizon_s, None, 9, 1).unwrap());
            }
            LoadPattern::Periodic | LoadPattern::Diurnal => {
                assert!(hi > lo, "{p}: flat");
                let b = episode_arrivals(p, 4.0, horizon_s, Some(&dir), 9, 1).unwrap();
                assert_ne!(a.describe(), b.describe());
                assert_ne!(mean_over(&a).1, mean_over(&b).1);
            }
        }
    }
    // The shipped sample has three diurnal functions: episode 3 is episode 0's function from 6 h on.
    let d = |e| episode_arrivals(LoadPattern::Diurnal, 4.0, 600.0, Some(&dir), 0, e).unwrap();
    let (d0, d3) = (d(0).describe(), d(3).describe());
    assert!(
        d0.contains(":from0min:") && d3.contains(":from360min:"),
        "{d0} {d3}"
    );
    assert_eq!(d0.split(":from").next(), d3.split(":from").next());
    assert!("weekly".parse::<LoadPattern>().is_err());
    assert!(episode_arrivals(LoadPattern::Bursty, 0.0, 600.0, None, 0, 0).is_err());
    // A missing trace directory is an I/O error naming it.
    let err = episode_arrivals(
        LoadPattern::Diurnal,
        1.0,
        600.0,
        Some(Path::new("no/such/dir")),
        0,
        0,
    )
    .unwrap_err();
    assert!(err.to_string().contains("no/such/dir"), "{err}");
    // An env over a bursty episode: the rewards' scale comes from the episode's mean rate.
    let wf = pipeline5();
    let init = initial(&wf, 1024);
    let arrivals = episode_arrivals(LoadPattern::Bursty, 2.0, 600.0, None, 4, 0).unwrap();
    let e = AutoscaleEnv::new(
        wf,
        Arc::new(Platform::lambda()),
        init,
        SimOptions {
            arrivals,
            seed: 4,
            horizon_s: Some(600.0),
            ..SimOptions::default()
        },
        AutoscaleSettings::default(),
    )
    .unwrap();
    assert!((e.ref_rate_per_s() - 2.0).abs() < 1e-9);
}

#[test]
fn an_env_can_move_to_a_worker_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<AutoscaleEnv>();
    let mut e = env(1.0, 6);
    let rewards = std::thread::spawn(move || episode(&mut e).1)
        .join()
        .unwrap();
    assert_eq!(rewards, episode(&mut env(1.0, 6)).1);
}

/// With the initial configuration as the reward baseline, keeping everything earns exactly 0 in every
/// window (the shadow run is the same simulation), and an action that only costs earns less than 0.
#[test]
fn the_initial_baseline_makes_keeping_everything_earn_zero() {
    let wf = pipeline5();
    let init = initial(&wf, 1024);
    let settings = AutoscaleSettings {
        reward_baseline: platform::autoscale::RewardBaseline::Initial,
        ..AutoscaleSettings::default()
    };
    let mut e = AutoscaleEnv::new(
        wf,
        Arc::new(Platform::lambda()),
        init,
        options(2.0, 5, Some(600.0)),
        settings,
    )
    .unwrap();
    let obs = e.reset().unwrap();
    let keep = vec![FunctionAction::KEEP; obs.n_functions()];
    let mut n = 0;
    loop {
        let s = e.step(&keep).unwrap();
        assert_eq!(s.reward, 0.0, "window ending {}", s.window.end_s);
        n += 1;
        if s.done {
            break;
        }
    }
    assert!(n >= 8);
    let obs = e.reset().unwrap();
    let up = vec![act(Knob::Keep, Knob::Up); obs.n_functions()];
    let mut total = 0.0;
    loop {
        let s = e.step(&up).unwrap();
        total += s.reward;
        if s.done {
            break;
        }
    }
    assert!(total < 0.0, "provisioning idle capacity earned {total}");
    assert!(
        "initial"
            .parse::<platform::autoscale::RewardBaseline>()
            .is_ok()
    );
    assert!(
        "other"
            .parse::<platform::autoscale::RewardBaseline>()
            .unwrap_err()
            .to_string()
            .contains("reward_baseline")
    );
}
