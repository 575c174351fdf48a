//! Criterion benchmarks of the performance model: prediction time per call (what the optimizer pays
//! 10^5-10^6 times per decision) and fit time per step (profiling samples prepared outside the timer).
//! Run: `cargo bench -p perfmodel --bench predict`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use perfmodel::fit::fit_function;
use perfmodel::profile::{Grid, ProfileOptions, fit_workflow, probe_mapping_delay, profile_step};
use perfmodel::{FitOptions, ModelChoice, PlatformFacts};
use platform::{Platform, StepConfig};
use workflow::Workflow;

fn example(name: &str) -> Workflow {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../examples/{name}.yaml"));
    Workflow::load(&p).expect("example workflow")
}

fn predict(c: &mut Criterion) {
    let platform = Platform::lambda();
    let wf = example("synthetic16");
    let opts = ProfileOptions {
        seed: 1,
        ..ProfileOptions::default()
    };
    let mut group = c.benchmark_group("predict");
    for (label, fit) in [
        ("auto", FitOptions::default()),
        (
            "eq1",
            FitOptions {
                choice: ModelChoice::Eq1,
                ..FitOptions::default()
            },
        ),
        ("paper", FitOptions::paper()),
    ] {
        let model = fit_workflow(&platform, &wf, &opts, fit).expect("fit");
        // Every step x every configuration of the paper's grid (192 per step).
        let grid: Vec<StepConfig> = Grid::paper().configs().collect();
        let calls: Vec<(workflow::StepId, StepConfig)> = wf
            .step_ids()
            .flat_map(|id| grid.iter().map(move |&c| (id, c)))
            .collect();
        group.throughput(Throughput::Elements(calls.len() as u64));
        group.bench_function(format!("duration_s/{label}"), |b| {
            b.iter(|| {
                let mut s = 0.0;
                for &(id, cfg) in &calls {
                    s += model.predict_duration_s(black_box(id), black_box(cfg));
                }
                s
            })
        });
        group.bench_function(format!("cost_usd/{label}"), |b| {
            b.iter(|| {
                let mut s = 0.0;
                for &(id, cfg) in &calls {
                    s += model.predict_cost_usd(black_box(id), black_box(cfg));
                }
                s
            })
        });
    }
    group.finish();
}

fn fit(c: &mut Criterion) {
    let platform = Platform::lambda();
    let facts = PlatformFacts::of(&platform);
    let wf = example("video");
    let mapping = probe_mapping_delay(&platform, 30, 1);
    let mut group = c.benchmark_group("fit_step");
    group.sample_size(10);
    for name in ["super_resolution", "colour_filter"] {
        let step = wf.step(wf.find(name).expect("step"));
        let samples = profile_step(&platform, step, &Grid::training(), 30, 1);
        for (label, fit) in [
            (
                "auto",
                FitOptions {
                    mapping: Some(mapping),
                    ..FitOptions::default()
                },
            ),
            (
                "eq1",
                FitOptions {
                    choice: ModelChoice::Eq1,
                    mapping: Some(mapping),
                    ..FitOptions::default()
                },
            ),
            (
                "amdahl",
                FitOptions {
                    choice: ModelChoice::Amdahl,
                    mapping: Some(mapping),
                    ..FitOptions::default()
                },
            ),
        ] {
            group.bench_function(format!("{name}/{}samples/{label}", samples.len()), |b| {
                b.iter(|| {
                    fit_function(name, black_box(&samples), &facts, fit)
                        .expect("fit")
                        .model
                })
            });
        }
    }
    group.finish();
    let mut group = c.benchmark_group("profile_step");
    group.sample_size(10);
    let step = wf.step(wf.find("super_resolution").expect("step"));
    group.bench_function("super_resolution/108configs_x30reps", |b| {
        b.iter(|| profile_step(&platform, step, &Grid::training(), 30, 1))
    });
    group.finish();
}

criterion_group!(benches, predict, fit);
criterion_main!(benches);
