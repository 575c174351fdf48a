//! Criterion benchmark of whole-workflow simulation: requests of the example workflows under their
//! static configs, on the default (noisy) Lambda-like profile.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use platform::{Arrivals, Platform, SimOptions, Simulation, StaticConfig, StaticPolicy};
use workflow::Workflow;

fn examples_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn simulate(c: &mut Criterion) {
    let mut group = c.benchmark_group("simulate");
    let platform = Platform::lambda();
    for name in ["video", "synthetic16"] {
        let wf =
            Workflow::load(&examples_dir().join(format!("{name}.yaml"))).expect("example workflow");
        let cfg_path = examples_dir().join(format!("{name}.config.yaml"));
        let configs = StaticConfig::load(&cfg_path)
            .expect("example config")
            .resolve(&wf, &platform, "bench")
            .expect("valid");
        let n_requests = 1_000;
        group.throughput(Throughput::Elements(n_requests));
        group.bench_function(name, |b| {
            b.iter(|| {
                let opts = SimOptions {
                    n_requests,
                    arrivals: Arrivals::Poisson { rate_per_s: 5.0 },
                    seed: 1,
                    ..SimOptions::default()
                };
                let sim = Simulation::new(&wf, &platform, opts).expect("options");
                let mut policy = StaticPolicy::new("static", configs.clone());
                sim.run(&mut policy).expect("feasible")
            });
        });
    }
    group.finish();
}

criterion_group!(benches, simulate);
criterion_main!(benches);
