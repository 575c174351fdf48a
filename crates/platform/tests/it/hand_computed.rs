//! Scenarios worked out on paper, with exact expected latency and cost.

use platform::{Arrivals, SimOptions, Simulation, StaticPolicy, StepConfig};

use crate::{deterministic, run_fixed, task, workflow};

const PRICE_GB_S: f64 = 0.000_016_666_7;
const PRICE_REQ: f64 = 0.000_000_2;
const PRICE_TRANSITION: f64 = 0.000_025;

/// Two steps, no noise, no cold starts, no delays.
///
/// Step a: 4 jobs of 2 s, half parallel; 1769 MB (one vCPU), p = 2, q = 2. Each instance runs 2 jobs on
/// 2 workers sharing one vCPU (half a core each): a job takes 2 * (0.5 / 0.5 + 0.5 / 0.5) = 4 s, so
/// the step takes 4 s and bills 2 instances x 4 s x 1769/1024 GB.
/// Step b: 1 job of 3 s, single-threaded, reading 9 MB at 90 MB/s (0.1 s); 3538 MB (2.04 vCPUs, but a
/// single thread uses one): 3.1 s, billed 3.1 s x 3538/1024 GB.
/// Transitions: a is a Map of 2 (1 + 2), b is 1: 4 in all.
#[test]
fn two_step_chain_latency_and_cost() {
    let mut b = task("b", &["a"], 1, 3.0, 0.0);
    b.input_mb = Some(9.0);
    let wf = workflow(vec![task("a", &[], 4, 2.0, 0.5), b]);
    let platform = deterministic(|_| {});
    let r = run_fixed(
        &wf,
        &platform,
        vec![StepConfig::new(1769, 2, 2), StepConfig::new(3538, 1, 1)],
        3,
        100.0,
        7,
    );
    let cost_a = 2.0 * (4.0 * 1769.0 / 1024.0 * PRICE_GB_S + PRICE_REQ);
    let cost_b = 3.1 * 3538.0 / 1024.0 * PRICE_GB_S + PRICE_REQ;
    let cost = cost_a + cost_b + 4.0 * PRICE_TRANSITION;
    for rec in &r.request_records {
        assert_eq!(rec.latency_s, 7.1, "request {}", rec.request_idx);
        assert!(
            (rec.cost_usd - cost).abs() < 1e-15,
            "{} vs {cost}",
            rec.cost_usd
        );
        assert_eq!(rec.step_duration_s, vec![Some(4.0), Some(3.1)]);
    }
    assert_eq!(r.latency_s.p99, 7.1);
    assert!((r.cost_usd.total - 3.0 * cost).abs() < 1e-14);
    assert!((r.steps[0].cost_usd_mean - cost_a).abs() < 1e-15);
    assert_eq!(r.n_instance_executions, 9);
}

/// A 1 s cold start, then warm reuse within the keep-alive window, then cold again after it expires.
#[test]
fn cold_start_then_warm_reuse() {
    let wf = workflow(vec![task("f", &[], 1, 1.0, 0.0)]);
    let platform = deterministic(|s| {
        s.cold_start.mean_s = 1.0;
        s.keep_alive_s = 150.0;
    });
    // Arrivals at 0, 100, 200 s: the second reuses the instance freed at 2 s (idle 98 s < 150 s);
    // the third finds it idle since 101 s (99 s), warm again.
    let r = run_fixed(
        &wf,
        &platform,
        vec![StepConfig::new(1769, 1, 1)],
        3,
        100.0,
        1,
    );
    let lat: Vec<f64> = r.request_records.iter().map(|x| x.latency_s).collect();
    assert_eq!(lat, vec![2.0, 1.0, 1.0]);
    assert_eq!(r.request_records[0].n_cold_starts, 1);
    assert!((r.cold_start_rate - 1.0 / 3.0).abs() < 1e-12);
    // With a 50 s keep-alive every request is cold.
    let short = deterministic(|s| {
        s.cold_start.mean_s = 1.0;
        s.keep_alive_s = 50.0;
    });
    let r = run_fixed(&wf, &short, vec![StepConfig::new(1769, 1, 1)], 3, 100.0, 1);
    assert!(
        r.request_records
            .iter()
            .all(|x| x.latency_s == 2.0 && x.n_cold_starts == 1)
    );
    // The step's own cold_start_s overrides the profile's mean; cold time is billed.
    let mut f = task("f", &[], 1, 1.0, 0.0);
    f.cold_start_s = Some(0.5);
    let wf = workflow(vec![f]);
    let r = run_fixed(&wf, &short, vec![StepConfig::new(1024, 1, 1)], 1, 1.0, 1);
    // Half a vCPU at 1024 MB: 1 s of work takes 1769/1024 s (microsecond resolution).
    assert!((r.request_records[0].latency_s - (0.5 + 1769.0_f64 / 1024.0)).abs() < 1e-6);
}

/// Warm instances are shared by size: a different memory size of the same function is cold.
#[test]
fn warm_pool_is_per_function_and_memory() {
    let mut a = task("a", &[], 1, 1.0, 0.0);
    a.function = Some("shared".into());
    let mut b = task("b", &["a"], 1, 1.0, 0.0);
    b.function = Some("shared".into());
    let wf = workflow(vec![a, b]);
    let platform = deterministic(|s| s.cold_start.mean_s = 1.0);
    let same = run_fixed(
        &wf,
        &platform,
        vec![StepConfig::new(1769, 1, 1); 2],
        1,
        1.0,
        1,
    );
    assert_eq!(
        same.request_records[0].n_cold_starts, 1,
        "b reuses a's instance"
    );
    let diff = run_fixed(
        &wf,
        &platform,
        vec![StepConfig::new(1769, 1, 1), StepConfig::new(2048, 1, 1)],
        1,
        1.0,
        1,
    );
    assert_eq!(diff.request_records[0].n_cold_starts, 2);
}

/// Instance j starts per_instance_s * j + growth_s * max(0, j - knee)^2 after the step.
#[test]
fn mapping_delay_delays_later_instances() {
    let wf = workflow(vec![task("f", &[], 4, 1.0, 0.0)]);
    let platform = deterministic(|s| {
        s.mapping_delay.per_instance_s = 0.1;
        s.mapping_delay.knee = 2;
        s.mapping_delay.growth_s = 0.05;
    });
    let r = run_fixed(&wf, &platform, vec![StepConfig::new(1769, 4, 1)], 1, 1.0, 1);
    // Last instance (j = 3): 0.3 + 0.05 * 1^2 = 0.35 s, then 1 s of work.
    assert_eq!(r.request_records[0].latency_s, 1.35);
    // Each instance bills only its own 1 s.
    let expected = 4.0 * (1.0 * 1769.0 / 1024.0 * PRICE_GB_S + PRICE_REQ) + 5.0 * PRICE_TRANSITION;
    assert!((r.cost_usd.mean - expected).abs() < 1e-15);
}

/// Workers that do not fit in memory are an error naming the step, as are memory sizes not offered
/// and fan-outs beyond the jobs.
#[test]
fn infeasible_configs_name_the_step() {
    let wf = workflow(vec![task("resize", &[], 4, 1.0, 0.0)]);
    let platform = deterministic(|_| {});
    let opts = SimOptions {
        n_requests: 1,
        arrivals: Arrivals::Fixed { rate_per_s: 1.0 },
        ..SimOptions::default()
    };
    let sim = Simulation::new(&wf, &platform, opts).unwrap();
    for (cfg, needle) in [
        (
            StepConfig::new(512, 1, 4),
            "out of memory: 4 workers x 256 MB per worker = 1024 MB > 512 MB",
        ),
        (StepConfig::new(64, 1, 1), "memory 64 MB is not offered"),
        (
            StepConfig::new(20_000, 1, 1),
            "memory 20000 MB is not offered",
        ),
        (
            StepConfig::new(1024, 8, 1),
            "fan_out 8 exceeds the step's 4 jobs",
        ),
        (StepConfig::new(1024, 1, 0), "workers must be >= 1"),
    ] {
        let e = sim
            .run(&mut StaticPolicy::new("s", vec![cfg]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("step 'resize'") && e.contains(needle), "{e}");
    }
}
