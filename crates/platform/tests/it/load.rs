//! Workflows under load (issue 10): concurrency limits, throttling and retries, provisioned
//! concurrency, Map `max_concurrency`, horizons, controllers and the monitoring stream, on
//! scenarios worked out on paper, plus conservation and limit properties.

use platform::{
    Arrivals, Change, ControlState, Controller, MonitorWindow, Platform, PlatformSpec, SimOptions,
    SimReport, Simulation, StaticPolicy, StepConfig,
};
use proptest::prelude::*;
use workflow::{RetrySpec, StepSpec, Workflow, WorkflowSpec};

use crate::{deterministic, task, workflow};

const PRICE_GB_S: f64 = 0.000_016_666_7;
const PRICE_REQ: f64 = 0.000_000_2;
const PRICE_PC_GB_S: f64 = 0.000_004_166_7;
const PRICE_PC_DURATION_GB_S: f64 = 0.000_009_722_2;

fn retry(interval_s: f64, backoff_rate: f64, max_attempts: u32) -> RetrySpec {
    RetrySpec {
        interval_s: Some(interval_s),
        backoff_rate: Some(backoff_rate),
        max_attempts: Some(max_attempts),
        ..RetrySpec::default()
    }
}

fn one_step(jobs: u32, work_s: f64, edit: impl FnOnce(&mut StepSpec)) -> Workflow {
    let mut s = task("a", &[], jobs, work_s, 0.0);
    edit(&mut s);
    workflow(vec![s])
}

fn run_with(
    wf: &Workflow,
    platform: &Platform,
    configs: Vec<StepConfig>,
    opts: SimOptions,
) -> SimReport {
    Simulation::new(wf, platform, opts)
        .unwrap()
        .run(&mut StaticPolicy::new("static", configs))
        .unwrap()
}

fn one_request() -> SimOptions {
    SimOptions {
        n_requests: 1,
        arrivals: Arrivals::Fixed { rate_per_s: 1.0 },
        keep_records: true,
        ..SimOptions::default()
    }
}

/// Account limit 2, one step of 3 one-second jobs on 3 instances invoked together at t = 0: two run,
/// the third is throttled once and retried after IntervalSeconds = 1 s (BackoffRate^0), when the
/// first two have just finished: it runs warm from 1 s to 2 s.
#[test]
fn account_limit_two_throttles_the_third_invocation_once() {
    let wf = one_step(3, 1.0, |s| s.retry = Some(retry(1.0, 2.0, 3)));
    let platform = deterministic(|p| p.concurrency.account_limit = 2);
    let r = run_with(
        &wf,
        &platform,
        vec![StepConfig::new(1769, 3, 1)],
        one_request(),
    );
    assert_eq!(r.load.n_throttles, 1);
    assert_eq!(r.load.n_retries, 1);
    assert_eq!(r.load.n_failed_throttled, 0);
    assert_eq!(r.load.concurrency_max, 2);
    assert_eq!(r.request_records[0].latency_s, 2.0);
    // Two cold (first use), the retried one warm.
    assert_eq!(r.request_records[0].n_cold_starts, 2);
    let cost = 3.0 * (1.0 * 1769.0 / 1024.0 * PRICE_GB_S + PRICE_REQ);
    assert!((r.request_records[0].cost_usd - cost - 4.0 * 0.000_025).abs() < 1e-15);
}

/// The backoff grows by BackoffRate: limit 1, two 10-second instances; the second is throttled at
/// 0 s, retried at 1 s (interval 1) and 3 s (1 + 1 x 2), throttled both times; with MaxAttempts = 2
/// no retry is left and the request fails at 3 s, counted, never dropped.
#[test]
fn a_request_that_exhausts_its_retries_fails_and_is_counted() {
    let wf = one_step(2, 10.0, |s| s.retry = Some(retry(1.0, 2.0, 2)));
    let platform = deterministic(|p| p.concurrency.account_limit = 1);
    let r = run_with(
        &wf,
        &platform,
        vec![StepConfig::new(1769, 2, 1)],
        one_request(),
    );
    assert_eq!(r.load.n_throttles, 3);
    assert_eq!(r.load.n_retries, 2);
    assert_eq!(r.load.n_failed_throttled, 1);
    assert_eq!(r.load.n_completed, 0);
    assert_eq!(r.n_failed, 1);
    assert_eq!(r.requests, 0);
    let rec = &r.request_records[0];
    assert!(rec.failed && rec.throttled);
    assert_eq!(
        rec.latency_s, 3.0,
        "failed when the last retry was throttled"
    );
    // The admitted instance still ran and is billed.
    assert_eq!(rec.n_instances, 1);
    assert!(
        (rec.cost_usd - (10.0 * 1769.0 / 1024.0 * PRICE_GB_S + PRICE_REQ) - 3.0 * 0.000_025).abs()
            < 1e-15
    );
    // Without a retry policy the first throttle fails the request at once.
    let wf = one_step(2, 10.0, |_| {});
    let r = run_with(
        &wf,
        &platform,
        vec![StepConfig::new(1769, 2, 1)],
        one_request(),
    );
    assert_eq!(
        (
            r.load.n_throttles,
            r.load.n_retries,
            r.load.n_failed_throttled
        ),
        (1, 0, 1)
    );
    assert_eq!(r.request_records[0].latency_s, 0.0);
}

/// Full jitter waits a uniform fraction of the backoff: the retry lands in [0, 1) s, so the third
/// instance starts before the first two finish and is throttled again (or at once after them).
#[test]
fn full_jitter_draws_the_retry_delay_below_the_backoff() {
    let wf = one_step(3, 1.0, |s| {
        s.retry = Some(RetrySpec {
            jitter: Some("full".into()),
            ..retry(1.0, 2.0, 5)
        })
    });
    let platform = deterministic(|p| p.concurrency.account_limit = 2);
    for seed in 0..20 {
        let r = run_with(
            &wf,
            &platform,
            vec![StepConfig::new(1769, 3, 1)],
            SimOptions {
                seed,
                ..one_request()
            },
        );
        // The first retry comes before 1 s, when both slots are still busy: at least two throttles.
        assert!(r.load.n_throttles >= 2, "seed {seed}: {:?}", r.load);
        assert_eq!(r.load.n_failed_throttled, 0);
        assert!(r.request_records[0].latency_s >= 2.0);
    }
}

/// Reserved concurrency caps one function; the other function shares the rest of the account.
#[test]
fn reserved_concurrency_caps_its_function() {
    let mut a = task("a", &[], 2, 1.0, 0.0);
    a.retry = Some(retry(1.0, 2.0, 3));
    let b = task("b", &[], 2, 1.0, 0.0);
    let wf = workflow(vec![a, b]);
    let platform = deterministic(|p| {
        p.concurrency.account_limit = 10;
        p.concurrency.reserved.insert("a".into(), 1);
    });
    let r = run_with(
        &wf,
        &platform,
        vec![StepConfig::new(1769, 2, 1), StepConfig::new(1769, 2, 1)],
        one_request(),
    );
    // a's second instance waits for its first (1 s), b runs both at once.
    assert_eq!(r.load.n_throttles, 1);
    assert_eq!(
        r.request_records[0].step_duration_s,
        vec![Some(2.0), Some(1.0)]
    );
    // Unreserved functions cannot use the reserved unit: account 3, a reserves 1, b needs 3.
    let mut b = task("b", &[], 3, 1.0, 0.0);
    b.retry = Some(retry(1.0, 2.0, 3));
    let wf = workflow(vec![task("a", &[], 1, 1.0, 0.0), b]);
    let platform = deterministic(|p| {
        p.concurrency.account_limit = 3;
        p.concurrency.reserved.insert("a".into(), 1);
    });
    let r = run_with(
        &wf,
        &platform,
        vec![StepConfig::new(1769, 1, 1), StepConfig::new(1769, 3, 1)],
        one_request(),
    );
    assert_eq!(r.load.n_throttles, 1);
    assert_eq!(
        r.request_records[0].step_duration_s,
        vec![Some(1.0), Some(2.0)]
    );
}

/// Provisioned concurrency 2 at 1769 MB: of three instances invoked together, two run on
/// provisioned environments (no cold start, the provisioned duration price), the third spills over
/// to on demand and starts cold (1 s). Provisioned environments are billed while ready: the run
/// lasts until the cold instance ends at 3 s.
#[test]
fn provisioned_concurrency_removes_cold_starts_up_to_its_level_and_is_billed() {
    let wf = one_step(3, 2.0, |_| {});
    let platform = deterministic(|p| {
        p.cold_start.mean_s = 1.0;
        p.concurrency.provisioned.push(platform::ProvisionedSpec {
            function: "a".into(),
            memory_mb: 1769,
            level: 2,
        });
    });
    let r = run_with(
        &wf,
        &platform,
        vec![StepConfig::new(1769, 3, 1)],
        SimOptions {
            metrics_interval_s: Some(60.0),
            ..one_request()
        },
    );
    let rec = &r.request_records[0];
    assert_eq!(rec.n_cold_starts, 1);
    assert_eq!(rec.latency_s, 3.0);
    let gb = 1769.0 / 1024.0;
    let invocations =
        2.0 * (2.0 * gb * PRICE_PC_DURATION_GB_S + PRICE_REQ) + (3.0 * gb * PRICE_GB_S + PRICE_REQ);
    let transitions = 4.0 * 0.000_025;
    assert!((rec.cost_usd - invocations - transitions).abs() < 1e-15);
    let provisioned = 2.0 * gb * 3.0 * PRICE_PC_GB_S;
    assert!((r.cost_usd.provisioned - provisioned).abs() < 1e-15);
    assert!((r.cost_usd.total - (invocations + transitions + provisioned)).abs() < 1e-15);
    // The monitoring stream: one (short) window, utilisation 2 busy for 2 s of 3 s at level 2.
    let w = &r.metrics[0].functions[0];
    assert_eq!(w.invocations, 3);
    assert_eq!(w.cold_starts, 1);
    let pc = &w.provisioned[0];
    assert_eq!(
        (pc.memory_mb, pc.level, pc.spillover_invocations),
        (1769, 2, 1)
    );
    assert!((pc.utilization.unwrap() - 2.0 / 3.0).abs() < 1e-12);
}

/// Map MaxConcurrency 2 over 4 one-second instances: two waves, 2 s in all.
#[test]
fn map_max_concurrency_runs_the_fan_out_in_waves() {
    let wf = one_step(4, 1.0, |s| s.max_concurrency = Some(2));
    let platform = deterministic(|_| {});
    let r = run_with(
        &wf,
        &platform,
        vec![StepConfig::new(1769, 4, 1)],
        one_request(),
    );
    assert_eq!(r.request_records[0].latency_s, 2.0);
    assert_eq!(r.load.concurrency_max, 2);
    // The second wave reuses the first wave's instances.
    assert_eq!(r.request_records[0].n_cold_starts, 2);
    let wf = one_step(4, 1.0, |_| {});
    let r = run_with(
        &wf,
        &platform,
        vec![StepConfig::new(1769, 4, 1)],
        one_request(),
    );
    assert_eq!(r.request_records[0].latency_s, 1.0);
}

/// The scaling rate: with 2 new environments per 10 s, a step of 4 cold instances starts two at
/// once; the others are throttled and retried until tokens come back (one every 5 s).
#[test]
fn the_scaling_rate_limits_new_environments() {
    let wf = one_step(4, 1.0, |s| s.retry = Some(retry(1.0, 1.0, 20)));
    let platform = deterministic(|p| {
        p.concurrency.scale_environments = 2;
        p.concurrency.scale_period_s = 10.0;
    });
    let r = run_with(
        &wf,
        &platform,
        vec![StepConfig::new(1769, 4, 1)],
        one_request(),
    );
    // At 1 s the first two are idle and warm: both throttled instances run warm then.
    assert_eq!(r.request_records[0].latency_s, 2.0);
    assert_eq!(r.load.n_throttles, 2);
    assert_eq!(r.request_records[0].n_cold_starts, 2);
}

/// A horizon cuts the run: requests still running are reported as running, not dropped.
#[test]
fn a_horizon_reports_running_requests() {
    let wf = one_step(1, 10.0, |_| {});
    let platform = deterministic(|_| {});
    let r = run_with(
        &wf,
        &platform,
        vec![StepConfig::new(1769, 1, 1)],
        SimOptions {
            n_requests: 1_000,
            arrivals: Arrivals::Fixed { rate_per_s: 1.0 },
            horizon_s: Some(30.5),
            ..SimOptions::default()
        },
    );
    // Arrivals at 0..=30 s: 31; those arrived by 20 s finished by 30 s.
    assert_eq!(r.load.n_arrived, 31);
    assert_eq!(r.load.n_completed, 21);
    assert_eq!(r.load.n_running, 10);
    assert_eq!(r.makespan_s, 30.5);
    assert_eq!(r.load.concurrency_max, 10);
}

/// A controller that sets provisioned concurrency 3 at its first call.
struct Provision {
    calls: u32,
}

impl Controller for Provision {
    fn name(&self) -> &str {
        "provision-once"
    }
    fn control(&mut self, _w: &MonitorWindow, s: &ControlState<'_>) -> Vec<Change> {
        self.calls += 1;
        if self.calls == 1 {
            assert_eq!(s.functions[0].function, "a");
            vec![Change::ProvisionedConcurrency {
                function: "a".into(),
                memory_mb: 1769,
                level: 3,
            }]
        } else {
            Vec::new()
        }
    }
}

/// Provisioned environments asked for at 10 s are ready after the provisioning delay (30 s here):
/// requests arriving from 40 s on find them; they are billed from then on.
#[test]
fn provisioned_changes_take_effect_after_the_provisioning_delay() {
    let wf = one_step(1, 0.5, |_| {});
    let platform = deterministic(|p| {
        p.cold_start.mean_s = 1.0;
        p.keep_alive_s = 0.0;
        p.concurrency.provisioning_delay_s = 30.0;
    });
    let sim = Simulation::new(
        &wf,
        &platform,
        SimOptions {
            n_requests: 60,
            arrivals: Arrivals::Fixed { rate_per_s: 1.0 },
            keep_records: true,
            control_interval_s: Some(10.0),
            horizon_s: Some(70.0),
            metrics_interval_s: Some(10.0),
            ..SimOptions::default()
        },
    )
    .unwrap();
    let mut c = Provision { calls: 0 };
    let r = sim
        .run_controlled(
            &mut StaticPolicy::new("static", vec![StepConfig::new(1769, 1, 1)]),
            &mut c,
        )
        .unwrap();
    for rec in &r.request_records {
        let cold = rec.arrival_s < 40.0;
        assert_eq!(
            rec.n_cold_starts,
            u32::from(cold),
            "request at {} s",
            rec.arrival_s
        );
    }
    assert_eq!(r.load.n_changes, 1);
    let gb = 1769.0 / 1024.0;
    assert!((r.cost_usd.provisioned - 3.0 * gb * 30.0 * PRICE_PC_GB_S).abs() < 1e-12);
    // The windows see the level.
    assert_eq!(r.metrics[3].functions[0].provisioned[0].level, 3);
    assert_eq!(r.metrics[2].functions[0].provisioned[0].level, 0);
    assert_eq!(r.metrics[2].functions[0].provisioned[0].level_requested, 3);
}

/// A controller naming a function the workflow does not have is an error naming the controller.
#[test]
fn a_controller_change_for_an_unknown_function_is_an_error() {
    struct Bad;
    impl Controller for Bad {
        fn name(&self) -> &str {
            "bad"
        }
        fn control(&mut self, _w: &MonitorWindow, _s: &ControlState<'_>) -> Vec<Change> {
            vec![Change::ReservedConcurrency {
                function: "nope".into(),
                limit: Some(1),
            }]
        }
    }
    let wf = one_step(1, 0.5, |_| {});
    let platform = deterministic(|_| {});
    let sim = Simulation::new(
        &wf,
        &platform,
        SimOptions {
            control_interval_s: Some(1.0),
            ..SimOptions::default()
        },
    )
    .unwrap();
    let e = sim
        .run_controlled(
            &mut StaticPolicy::new("static", vec![StepConfig::new(1769, 1, 1)]),
            &mut Bad,
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("controller bad") && e.contains("'nope'"), "{e}");
}

#[test]
fn bad_concurrency_settings_name_their_field() {
    let e = Platform::from_spec(
        PlatformSpec {
            concurrency: platform::ConcurrencySpec {
                account_limit: 0,
                ..Default::default()
            },
            ..PlatformSpec::default()
        },
        "p.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("p.yaml") && e.contains("concurrency.account_limit = 0"),
        "{e}"
    );
    let e = platform::Platform::from_text("concurrency:\n  account_limit: -5\n", "neg.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("neg.yaml:") && e.contains("account_limit"),
        "{e}"
    );
    let wf = one_step(1, 0.5, |_| {});
    let platform = deterministic(|p| {
        p.concurrency.reserved.insert("ghost".into(), 3);
    });
    let e = Simulation::new(&wf, &platform, SimOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("concurrency.reserved.ghost") && e.contains("'ghost'"),
        "{e}"
    );
}

fn spec_of(steps: Vec<StepSpec>) -> WorkflowSpec {
    WorkflowSpec {
        name: "p".into(),
        steps,
        ..Default::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Conservation and limits under random limits, retries, fan-outs, Map concurrency and a horizon:
    /// every arrived request completes, fails, or is running at the horizon; running instances never
    /// exceed the account limit, nor a function its reservation.
    #[test]
    fn every_request_is_accounted_for_and_no_limit_is_exceeded(
        seed in 0u64..1_000,
        limit in 1u32..12,
        reserve in proptest::option::of(1u32..4),
        fan_a in 1u32..6,
        fan_b in 1u32..6,
        max_conc in proptest::option::of(1u32..4),
        attempts in 0u32..4,
        jitter in any::<bool>(),
        rate in 0.5f64..8.0,
        horizon in proptest::option::of(5.0f64..40.0),
    ) {
        let mut a = task("a", &[], 6, 0.7, 0.5);
        a.retry = Some(RetrySpec {
            jitter: Some(if jitter { "full" } else { "none" }.into()),
            ..retry(0.5, 1.5, attempts)
        });
        a.max_concurrency = max_conc;
        let mut b = task("b", &["a"], 6, 1.3, 0.0);
        b.retry = Some(retry(1.0, 2.0, attempts));
        let wf = Workflow::from_spec(&spec_of(vec![a, b]), "prop").unwrap();
        let mut ps = PlatformSpec::default();
        ps.concurrency.account_limit = limit;
        if let Some(r) = reserve {
            ps.concurrency.reserved.insert("b".into(), r.min(limit));
        }
        let platform = Platform::from_spec(ps, "prop").unwrap();
        let r = run_with(
            &wf,
            &platform,
            vec![StepConfig::new(1769, fan_a, 1), StepConfig::new(2048, fan_b, 1)],
            SimOptions {
                n_requests: 40,
                arrivals: Arrivals::Poisson { rate_per_s: rate },
                seed,
                keep_records: true,
                horizon_s: horizon,
                metrics_interval_s: Some(5.0),
                ..SimOptions::default()
            },
        );
        let l = &r.load;
        prop_assert_eq!(l.n_completed + l.n_failed_throttled + l.n_running, l.n_arrived);
        if horizon.is_none() {
            prop_assert_eq!(l.n_arrived, 40);
            prop_assert_eq!(l.n_running, 0);
        }
        prop_assert!(l.concurrency_max <= limit, "{} > {}", l.concurrency_max, limit);
        prop_assert_eq!(r.request_records.len() as u64, l.n_completed + l.n_failed_throttled);
        let mut throttles = 0;
        for w in &r.metrics {
            prop_assert!(w.workflow.concurrent_executions_max <= limit);
            throttles += w.functions.iter().map(|f| f.throttles).sum::<u64>();
            if let Some(res) = reserve {
                let fb = w.function("b").unwrap();
                prop_assert!(fb.concurrent_executions_max <= res.min(limit));
            }
        }
        prop_assert_eq!(throttles, l.n_throttles);
        if attempts == 0 {
            prop_assert_eq!(l.n_retries, 0);
        }
    }
}

/// Same seed, same bytes, with limits, retries, a controller and the monitoring stream.
#[test]
fn limits_controllers_and_metrics_are_deterministic() {
    let mut a = task("a", &[], 8, 0.4, 0.5);
    a.retry = Some(RetrySpec {
        jitter: Some("full".into()),
        ..retry(0.2, 2.0, 6)
    });
    let wf = workflow(vec![a, task("b", &["a"], 2, 0.3, 0.0)]);
    let mut ps = PlatformSpec::default();
    ps.concurrency.account_limit = 20;
    let platform = Platform::from_spec(ps, "t").unwrap();
    let run = || {
        let sim = Simulation::new(
            &wf,
            &platform,
            SimOptions {
                n_requests: 400,
                arrivals: Arrivals::Poisson { rate_per_s: 8.0 },
                seed: 5,
                horizon_s: Some(60.0),
                metrics_interval_s: Some(10.0),
                control_interval_s: Some(5.0),
                ..SimOptions::default()
            },
        )
        .unwrap();
        sim.run_controlled(
            &mut StaticPolicy::new(
                "static",
                vec![StepConfig::new(1769, 8, 1), StepConfig::new(1769, 1, 1)],
            ),
            &mut Provision { calls: 0 },
        )
        .unwrap()
        .to_json()
    };
    let (x, y) = (run(), run());
    assert_eq!(x, y);
    assert!(x.contains("\"n_throttles\""));
}
