//! Criterion benchmarks of the optimizer on `examples/synthetic16.yaml` with the paper's 192
//! configurations per step: per-step decision time of `stepconf` and `replan` (a whole request's
//! decisions, replayed from a recorded simulation so the inputs are realistic), and exact solve time of
//! FWCP for the whole workflow at several SLOs.
//!
//! `cargo bench -p optimizer --bench decide`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use optimizer::{
    ConfigSpace, Model, OraclePredictor, ReplanOptions, ReplanPolicy, StepConfPolicy, solve_exact,
};
use platform::{Platform, Policy, StepConfig, StepContext, StepOutcome};
use workflow::{StepId, Workflow};

fn load() -> (Workflow, Platform) {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/synthetic16.yaml");
    (
        Workflow::load(&path).expect("synthetic16 loads"),
        Platform::lambda(),
    )
}

/// The contexts of one request in topological order, every step taking its predicted time (as the
/// policy plans) plus 10%, so decisions see some delay.
fn request_contexts(wf: &Workflow, model: &Model) -> Vec<(StepId, f64, Vec<Option<StepOutcome>>)> {
    let mut finish = vec![0.0f64; wf.n_steps()];
    let mut outcomes = vec![None; wf.n_steps()];
    let mut out = Vec::new();
    for &id in wf.topo_order() {
        let start = wf
            .preds(id)
            .iter()
            .map(|p| finish[p.idx()])
            .fold(0.0, f64::max);
        out.push((id, start + 0.02, outcomes.clone()));
        let o = model.pareto(id.idx())[model.pareto(id.idx()).len() / 2];
        let d = o.exec_s * 1.1;
        finish[id.idx()] = start + 0.02 + d;
        outcomes[id.idx()] = Some(StepOutcome {
            config: o.config,
            start_s: start + 0.02,
            duration_s: d,
            cost_usd: o.cost_usd,
            n_cold_starts: 0,
        });
    }
    out
}

fn bench_decisions(c: &mut Criterion) {
    let (wf, platform) = load();
    let oracle = OraclePredictor::new(&wf, &platform);
    let model = Model::new(&wf, &platform, &oracle, &ConfigSpace::paper()).expect("model");
    let reqs = request_contexts(&wf, &model);
    let slo_s = 40.0;
    let mut group = c.benchmark_group("decision_per_step");
    let mut stepconf = StepConfPolicy::new("stepconf", model.clone(), slo_s);
    let mut replan = ReplanPolicy::new(model.clone(), slo_s, ReplanOptions::default());
    // Warm replan's learned margin with a few observations of every step.
    for r in 0..8u64 {
        for (id, elapsed_s, outcomes) in &reqs {
            let ctx = StepContext {
                workflow: &wf,
                platform: &platform,
                step: *id,
                request_idx: r,
                elapsed_s: *elapsed_s,
                slo_s: Some(slo_s),
                outcomes,
            };
            let cfg: StepConfig = replan.choose(&ctx);
            let o = model.lookup(id.idx(), cfg).expect("chosen config is known");
            let out = StepOutcome {
                config: cfg,
                start_s: *elapsed_s,
                duration_s: o.exec_s * 1.1,
                cost_usd: o.cost_usd,
                n_cold_starts: 0,
            };
            replan.observe(&ctx, &out);
        }
    }
    let mut request_idx = 1000u64;
    for (name, policy) in [
        ("stepconf", &mut stepconf as &mut dyn Policy),
        ("replan", &mut replan as &mut dyn Policy),
    ] {
        group.bench_function(BenchmarkId::new(name, "synthetic16"), |b| {
            // One iteration = the 16 decisions of one request; criterion reports per iteration, so
            // bench/optimizer.md divides by 16 for the mean per step.
            b.iter(|| {
                request_idx += 1;
                for (id, elapsed_s, outcomes) in &reqs {
                    let ctx = StepContext {
                        workflow: &wf,
                        platform: &platform,
                        step: *id,
                        request_idx,
                        elapsed_s: *elapsed_s,
                        slo_s: Some(slo_s),
                        outcomes,
                    };
                    std::hint::black_box(policy.choose(&ctx));
                }
            })
        });
    }
    group.finish();
}

fn bench_exact(c: &mut Criterion) {
    let (wf, platform) = load();
    let oracle = OraclePredictor::new(&wf, &platform);
    let model = Model::new(&wf, &platform, &oracle, &ConfigSpace::paper()).expect("model");
    let mut group = c.benchmark_group("exact_solve");
    group.sample_size(10);
    for slo_s in [11.6, 16.0, 25.0, 40.0, 60.0] {
        group.bench_function(
            BenchmarkId::new("synthetic16", format!("slo{slo_s}")),
            |b| b.iter(|| std::hint::black_box(solve_exact(&model, slo_s))),
        );
    }
    group.finish();
}

criterion_group!(benches, bench_decisions, bench_exact);
criterion_main!(benches);
