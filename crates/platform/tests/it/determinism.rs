//! Same seed, same bytes; results independent of thread count.

use platform::{Arrivals, Platform, SimOptions, Simulation, StaticConfig, StaticPolicy};
use workflow::Workflow;

fn video() -> (Workflow, Vec<platform::StepConfig>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let wf = Workflow::load(&dir.join("video.yaml")).unwrap();
    let cfg = StaticConfig::load(&dir.join("video.config.yaml"))
        .unwrap()
        .resolve(&wf, &Platform::lambda(), "cfg")
        .unwrap();
    (wf, cfg)
}

fn run_json(wf: &Workflow, cfg: &[platform::StepConfig], seed: u64) -> String {
    let platform = Platform::lambda();
    let opts = SimOptions {
        n_requests: 200,
        arrivals: Arrivals::Poisson { rate_per_s: 2.0 },
        seed,
        keep_records: true,
        ..SimOptions::default()
    };
    Simulation::new(wf, &platform, opts)
        .unwrap()
        .run(&mut StaticPolicy::new("static", cfg.to_vec()))
        .unwrap()
        .to_json()
}

#[test]
fn same_seed_gives_identical_json() {
    let (wf, cfg) = video();
    let a = run_json(&wf, &cfg, 42);
    let b = run_json(&wf, &cfg, 42);
    assert_eq!(a, b);
    let c = run_json(&wf, &cfg, 43);
    assert_ne!(a, c, "a different seed changes the noise");
}

#[test]
fn results_do_not_depend_on_threads() {
    let (wf, cfg) = video();
    let sequential: Vec<String> = (0..4).map(|s| run_json(&wf, &cfg, s)).collect();
    let parallel: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|s| {
                let (wf, cfg) = (&wf, &cfg);
                scope.spawn(move || run_json(wf, cfg, s))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(sequential, parallel);
}
