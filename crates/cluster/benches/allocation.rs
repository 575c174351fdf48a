//! Allocation benchmarks: a full day of the 10-function Azure 2019 sample replayed in serverless mode
//! (FCFS, fixed 10-minute keep-alive), and DeepRM-mode environment steps per second (Tetris*, load 70%).
//! Results and the command are recorded in `bench/allocation.md`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;

use cluster::{
    DeepRmEnv, DeepRmSettings, Environment, ServerlessEnv, ServerlessSettings, run_episode,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use des::RngStreams;
use workload::{Azure2019Trace, DeepRmJobSet, Pattern};

fn azure_day(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/azure-functions-samples/azure2019_sampled_at_65cf381/10");
    let trace = Azure2019Trace::read(&dir).expect("the shared Azure sample");
    let settings = ServerlessSettings::default();
    let fs: Vec<_> = trace
        .functions
        .iter()
        .map(|f| settings.function_from_profile(f))
        .collect();
    let mut g = c.benchmark_group("serverless");
    g.sample_size(10);
    g.throughput(Throughput::Elements(trace.n_invocations()));
    g.bench_function("azure2019_10fn_full_day_fcfs_fixed", |b| {
        b.iter(|| {
            let stream = trace.stream(1, 1.0, None).expect("stream");
            let keep = scheduler::keep_alive_by_name("fixed", fs.len()).expect("keep-alive");
            let mut env = ServerlessEnv::new(
                settings.clone(),
                fs.clone(),
                Box::new(stream),
                &BTreeMap::new(),
                keep,
                1,
            )
            .expect("environment");
            let mut rng = RngStreams::new(1).stream("policy");
            black_box(run_episode(&mut env, &mut scheduler::Fcfs, &mut rng).expect("run"))
        })
    });
    g.bench_function("azure2019_10fn_stream_only", |b| {
        b.iter(|| black_box(trace.stream(1, 1.0, None).expect("stream").count()))
    });
    g.finish();
}

fn deeprm_steps(c: &mut Criterion) {
    let settings = DeepRmSettings::default();
    let rate = settings.dist.rate_for_load(0.7).expect("rate").rate;
    let sets: Vec<_> = (0..20)
        .map(|i| {
            DeepRmJobSet::generate(
                &settings.dist,
                rate,
                settings.simu_len,
                Pattern::Steady,
                1,
                i,
            )
            .expect("jobset")
        })
        .collect();
    // Count the environment steps (decisions) once, for the throughput figure.
    let mut n_steps = 0;
    for set in &sets {
        let mut env = DeepRmEnv::new(settings.clone(), set).expect("env");
        let mut rng = RngStreams::new(1).stream("policy");
        n_steps += run_episode(&mut env, &mut scheduler::Tetris::default(), &mut rng)
            .expect("run")
            .n_decisions;
        assert!(env.is_done());
    }
    let mut g = c.benchmark_group("deeprm");
    g.throughput(Throughput::Elements(n_steps));
    g.bench_function("tetris_load0.7_20_jobsets_steps", |b| {
        b.iter(|| {
            for set in &sets {
                let mut env = DeepRmEnv::new(settings.clone(), set).expect("env");
                let mut rng = RngStreams::new(1).stream("policy");
                black_box(
                    run_episode(&mut env, &mut scheduler::Tetris::default(), &mut rng)
                        .expect("run"),
                );
            }
        })
    });
    g.finish();
}

criterion_group!(benches, deeprm_steps, azure_day);
criterion_main!(benches);
