//! Ground truth: the objective's order, batched planning, determinism.

use platform::Platform;
use topology::objective::{EvalOptions, Goal, Measured, Objective, evaluate, plan_only};
use workflow::Workflow;

fn wf(yaml: &str) -> Workflow {
    Workflow::from_str_auto(yaml, "test.yaml").unwrap()
}

fn chain() -> Workflow {
    wf("name: c\nslo_s: 20\nsteps:\n\
        - {name: a, jobs: 4, work_s: 1.0, input_mb: 5, output_mb: 5}\n\
        - {name: b, after: [a], jobs: 4, work_s: 0.5, input_mb: 5, output_mb: 1}\n")
}

fn m(cost: f64, p95: f64, attainment: f64, at_limit: f64) -> Measured {
    Measured {
        cost_usd_per_request: cost,
        latency_s_mean: p95,
        latency_s_p95: p95,
        slo_attainment: attainment,
        throughput_per_s: 1.0,
        throughput_at_limit_per_s: at_limit,
        cold_start_rate: 0.0,
        invocations_per_request: 1.0,
        n_failed: 0,
        plan_feasible: true,
        cost_usd_pred: cost,
        latency_s_pred: p95,
        planned_slo_s: p95,
    }
}

#[test]
fn meeting_the_slo_always_beats_missing_it_and_cost_then_throughput_orders() {
    let o = Objective::default();
    let cheap_miss = m(1e-6, 1.0, 0.5, 100.0);
    let dear_meet = m(1e-2, 1.0, 0.99, 100.0);
    assert!(o.value(&dear_meet) > o.value(&cheap_miss));
    assert!(o.value(&m(1e-5, 1.0, 1.0, 10.0)) > o.value(&m(2e-5, 1.0, 1.0, 1e6)));
    // Equal cost: throughput at the limit breaks the tie.
    assert!(o.value(&m(1e-5, 1.0, 1.0, 20.0)) > o.value(&m(1e-5, 1.0, 1.0, 10.0)));
    // A smaller shortfall is better among misses.
    assert!(o.value(&m(1e-5, 1.0, 0.9, 1.0)) > o.value(&m(1e-5, 1.0, 0.5, 1.0)));
    let lat = Objective {
        goal: Goal::Latency,
        min_attainment: 0.95,
    };
    assert!(lat.value(&m(1e-2, 1.0, 1.0, 1.0)) > lat.value(&m(1e-5, 2.0, 1.0, 1.0)));
    let thr = Objective {
        goal: Goal::Throughput,
        min_attainment: 0.95,
    };
    assert!(thr.value(&m(1e-2, 1.0, 1.0, 50.0)) > thr.value(&m(1e-5, 1.0, 1.0, 10.0)));
}

#[test]
fn evaluation_is_deterministic_and_plans_at_the_slo() {
    let opts = EvalOptions::new(Platform::lambda(), 20.0, 2.0);
    let a = evaluate(&chain(), &opts).unwrap();
    let b = evaluate(&chain(), &opts).unwrap();
    assert_eq!(a, b);
    assert!(a.plan_feasible);
    assert!(a.latency_s_pred <= 20.0 + 1e-9);
    assert!(a.cost_usd_per_request > 0.0 && a.throughput_at_limit_per_s > 0.0);
    assert!(a.slo_attainment > 0.9, "{a:?}");
}

#[test]
fn a_batched_step_is_planned_for_its_batch_and_shares_its_cost() {
    let plain = chain();
    let mut spec = plain.to_spec();
    spec.steps[1].batch = Some(workflow::BatchSpec {
        size: Some(4),
        window_s: Some(1.0),
    });
    let batched = Workflow::from_spec(&spec, "b").unwrap();
    // At 10 requests/s a window of 1 s fills the batch of 4: b is planned as 16 jobs, a quarter of
    // whose cost each request pays, and waits (4 - 1) / 10 = 0.3 s for the batch. `no-no` plans one
    // fixed configuration, so the two plans price the same configuration.
    let mut opts = EvalOptions::new(Platform::lambda(), 20.0, 10.0);
    opts.policy = "no-no".into();
    let mut spec16 = plain.to_spec();
    spec16.steps[1].jobs = Some(16);
    let b16 = Workflow::from_spec(&spec16, "b16").unwrap();
    let p16 = plan_only(&b16, &opts).unwrap();
    let q = plan_only(&batched, &opts).unwrap();
    assert_eq!(q.steps[1].config(), p16.steps[1].config());
    let t = Platform::lambda().spec().price_usd_per_transition;
    let per_request = q.steps[1].cost_usd_pred - t;
    let whole_batch = p16.steps[1].cost_usd_pred - t;
    assert!(
        (per_request * 4.0 - whole_batch).abs() <= 1e-9 * whole_batch,
        "{q:?}\n{p16:?}"
    );
    let wait = q.steps[1].duration_s_pred - p16.steps[1].duration_s_pred;
    assert!((wait - 0.3).abs() < 1e-9, "batch wait {wait}");
    // With the optimizer free (optimal), the joint plan still meets the SLO.
    let opts = EvalOptions::new(Platform::lambda(), 20.0, 10.0);
    let q = plan_only(&batched, &opts).unwrap();
    assert!(q.feasible && q.latency_s_pred <= 20.0 + 1e-9, "{q:?}");
}

#[test]
fn bad_settings_name_their_field() {
    let mut opts = EvalOptions::new(Platform::lambda(), 20.0, 1.0);
    opts.policy = "nope".into();
    let e = evaluate(&chain(), &opts).unwrap_err().to_string();
    assert!(e.contains("policy") && e.contains("nope"), "{e}");
    let mut opts = EvalOptions::new(Platform::lambda(), -1.0, 1.0);
    opts.n_requests = 5;
    assert!(
        evaluate(&chain(), &opts)
            .unwrap_err()
            .to_string()
            .contains("slo_s")
    );
    let mut opts = EvalOptions::new(Platform::lambda(), 20.0, 1.0);
    opts.objective.min_attainment = 1.5;
    assert!(
        evaluate(&chain(), &opts)
            .unwrap_err()
            .to_string()
            .contains("min_attainment")
    );
}

#[test]
fn the_quick_plan_is_never_cheaper_than_the_exact_one_and_reuses_its_tables() {
    use topology::quick::{OptionCache, quick_plan};
    let w = wf("name: d\nsteps:\n\
        - {name: a, jobs: 8, work_s: 2.0, parallel_fraction: 0.5, input_mb: 20, output_mb: 5}\n\
        - {name: b, after: [a], jobs: 1, work_s: 3.0, output_mb: 1}\n\
        - {name: c, after: [a], jobs: 16, work_s: 0.5, memory_mb_per_worker: 600}\n\
        - {name: d, after: [b, c], jobs: 1, work_s: 1.0}\n");
    let platform = Platform::lambda();
    let mut cache = OptionCache::new();
    for slo in [6.0, 10.0, 30.0, 120.0] {
        let q = quick_plan(&w, &platform, slo, 1.0, &mut cache);
        let exact = plan_only(&w, &EvalOptions::new(platform.clone(), slo, 1.0)).unwrap();
        if q.latency_s_pred <= slo {
            assert!(
                exact.cost_usd_pred <= q.cost_usd_pred * (1.0 + 1e-9),
                "SLO {slo}: exact {} > quick {}",
                exact.cost_usd_pred,
                q.cost_usd_pred
            );
        }
        let total: f64 = q.steps.iter().map(|s| s.cost_usd_pred).sum();
        assert!((total - q.cost_usd_pred).abs() <= 1e-15 + 1e-12 * total);
        assert!(q.critical.iter().any(|&c| c));
    }
    assert_eq!(cache.len(), 4, "one table per distinct step");
    let again = quick_plan(&w, &platform, 30.0, 1.0, &mut cache);
    assert_eq!(
        again,
        quick_plan(&w, &platform, 30.0, 1.0, &mut OptionCache::new())
    );
    assert_eq!(cache.len(), 4);
}
