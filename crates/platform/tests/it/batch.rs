//! Cross-request batching of a step (`Step::batch`): requests join the step's open batch, which
//! launches full or when its window ends, runs as one set of invocations over all members' jobs, and
//! splits its cost evenly; a batch out of retries fails every member.

use platform::{Arrivals, Platform, SimOptions, SimReport, Simulation, StaticPolicy, StepConfig};
use workflow::{BatchSpec, RetrySpec, StepSpec, Workflow, WorkflowSpec};

use crate::{deterministic, task, workflow};

const PRICE_GB_S: f64 = 0.000_016_666_7;
const PRICE_REQ: f64 = 0.000_000_2;
const PRICE_TRANSITION: f64 = 0.000_025;

fn batched(mut s: StepSpec, size: u32, window_s: f64) -> StepSpec {
    s.batch = Some(BatchSpec {
        size: Some(size),
        window_s: Some(window_s),
    });
    s
}

fn run(
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

/// `n` requests arriving every `gap_s` seconds from time 0, records and one long metrics window kept.
fn fixed(n: u64, gap_s: f64) -> SimOptions {
    SimOptions {
        n_requests: n,
        arrivals: Arrivals::Fixed {
            rate_per_s: 1.0 / gap_s,
        },
        keep_records: true,
        metrics_interval_s: Some(10_000.0),
        ..SimOptions::default()
    }
}

fn latencies(r: &SimReport) -> Vec<f64> {
    r.request_records.iter().map(|x| x.latency_s).collect()
}

fn invocations(r: &SimReport) -> (u64, u64) {
    r.metrics.iter().fold((0, 0), |(i, c), w| {
        (
            i + w.functions[0].invocations,
            c + w.functions[0].cold_starts,
        )
    })
}

/// One 1 s job at 1769 MB (one vCPU), 0.5 s cold starts, no keep-alive: 12 requests one second apart.
/// Unbatched, each finds the previous instance busy (until 0.5 s after the next arrival): 12 cold
/// invocations of 1.5 s. In batches of 4 (long window), batch `b` launches when request `4b + 3`
/// arrives and runs 4 jobs on one instance: 0.5 + 4 s, done at `4b + 7.5`; 3 cold invocations, and
/// member `i` of a batch waits `7.5 - i` s. Each member pays a quarter of its batch's invocation.
#[test]
fn a_batch_of_k_cuts_invocations_and_cold_starts_by_k() {
    let platform = deterministic(|s| {
        s.cold_start.mean_s = 0.5;
        s.keep_alive_s = 0.0;
    });
    let cfg = vec![StepConfig::new(1769, 1, 1)];
    let plain = workflow(vec![task("f", &[], 1, 1.0, 0.0)]);
    let r0 = run(&plain, &platform, cfg.clone(), fixed(12, 1.0));
    let wf = workflow(vec![batched(task("f", &[], 1, 1.0, 0.0), 4, 100.0)]);
    let r = run(&wf, &platform, cfg, fixed(12, 1.0));

    assert_eq!(r0.n_instance_executions, 12);
    assert_eq!(invocations(&r0), (12, 12));
    assert_eq!(r.n_instance_executions, 3);
    assert_eq!(invocations(&r), (3, 3), "invocations, cold starts");
    let cold: u32 = r.request_records.iter().map(|x| x.n_cold_starts).sum();
    assert_eq!(cold, 3, "each batch's cold start is counted once");
    assert_eq!(r.cold_start_rate, 1.0);
    assert_eq!(r.steps[0].cold_start_rate, 1.0);
    assert_eq!(r.steps[0].n_runs, 12);
    assert!(latencies(&r0).iter().all(|&l| l == 1.5));
    let expected: Vec<f64> = (0..12).map(|i| 7.5 - f64::from(i % 4)).collect();
    assert_eq!(latencies(&r), expected);

    let batch_usd = 4.5 * 1769.0 / 1024.0 * PRICE_GB_S + PRICE_REQ;
    for rec in &r.request_records {
        let want = batch_usd / 4.0 + PRICE_TRANSITION;
        assert!(
            (rec.cost_usd - want).abs() < 1e-15,
            "request {}: {} vs {want}",
            rec.request_idx,
            rec.cost_usd
        );
    }
    let sum: f64 = r.request_records.iter().map(|x| x.cost_usd).sum();
    assert!((r.cost_usd.total - sum).abs() < 1e-15 * 12.0);
    assert!((r.cost_usd.total - 3.0 * batch_usd - 12.0 * PRICE_TRANSITION).abs() < 1e-14);
    let monitored: f64 = r.metrics.iter().map(|w| w.functions[0].cost_usd).sum();
    assert!((monitored - 3.0 * batch_usd).abs() < 1e-14, "{monitored}");
}

/// A Map step's transitions are split over the batch too, and the step's mean cost per request is
/// its members' share.
#[test]
fn a_batch_cost_is_split_evenly_and_sums_to_the_total() {
    let platform = deterministic(|_| {});
    // 2 jobs per request, fan-out 2: a batch of 3 runs 6 jobs on 2 instances of 3 jobs each (1 s
    // a job on one worker of one vCPU): 2 instances x 3 s, and 2 Map transitions.
    let wf = workflow(vec![batched(task("f", &[], 2, 1.0, 0.0), 3, 100.0)]);
    let r = run(
        &wf,
        &platform,
        vec![StepConfig::new(1769, 2, 1)],
        fixed(6, 1.0),
    );
    assert_eq!(r.n_instance_executions, 4);
    let invocations_usd = 2.0 * (3.0 * 1769.0 / 1024.0 * PRICE_GB_S + PRICE_REQ);
    let share = (invocations_usd + 2.0 * PRICE_TRANSITION) / 3.0 + PRICE_TRANSITION;
    for rec in &r.request_records {
        assert!(
            (rec.cost_usd - share).abs() < 1e-15,
            "{} vs {share}",
            rec.cost_usd
        );
    }
    let sum: f64 = r.request_records.iter().map(|x| x.cost_usd).sum();
    assert!((r.cost_usd.total - sum).abs() < 1e-15 * 6.0);
    assert!((r.cost_usd.total - 6.0 * share).abs() < 1e-14);
    assert!((r.steps[0].cost_usd_mean - invocations_usd / 3.0).abs() < 1e-15);
    assert_eq!(latencies(&r), vec![5.0, 4.0, 3.0, 5.0, 4.0, 3.0]);
}

/// Size 4, window 2.5 s, one request a second: a batch never fills; each launches with 3 members
/// when its window ends. Four workers on 6 vCPUs run a batch's 3 jobs in parallel in 1 s, as long
/// as one request's job, so a request waits at most the window: latencies 3.5, 2.5, 1.5.
#[test]
fn the_window_launches_a_partial_batch() {
    let platform = deterministic(|_| {});
    let cfg = vec![StepConfig::new(10_240, 1, 4)];
    let plain = workflow(vec![task("f", &[], 1, 1.0, 0.0)]);
    let r0 = run(&plain, &platform, cfg.clone(), fixed(6, 1.0));
    let wf = workflow(vec![batched(task("f", &[], 1, 1.0, 0.0), 4, 2.5)]);
    let r = run(&wf, &platform, cfg.clone(), fixed(6, 1.0));
    assert_eq!(latencies(&r0), vec![1.0; 6]);
    assert_eq!(latencies(&r), vec![3.5, 2.5, 1.5, 3.5, 2.5, 1.5]);
    for (a, b) in latencies(&r).iter().zip(latencies(&r0)) {
        assert!(a - b <= 2.5 + 1e-9);
    }
    assert_eq!(r.n_instance_executions, 2);
    assert_eq!(r.load.n_completed, 6);

    // At a horizon of 2 s the first batch is still open: its three members are running.
    let mut opts = fixed(6, 1.0);
    opts.horizon_s = Some(2.0);
    let r = run(&wf, &platform, cfg, opts);
    assert_eq!(r.load.n_arrived, 3);
    assert_eq!(r.load.n_running, 3);
    assert_eq!(r.load.n_completed, 0);
    assert_eq!(r.n_instance_executions, 0);
}

/// A zero window launches every batch at the instant it opens: with arrivals never simultaneous,
/// each batch holds one request, and latency, cost and cold starts equal the unbatched run's on the
/// noisy profile.
#[test]
fn a_zero_window_equals_no_batching() {
    let (plain, cfg) = video(None);
    let (wf, _) = video(Some((8, 0.0)));
    let platform = Platform::lambda();
    let opts = || SimOptions {
        n_requests: 150,
        arrivals: Arrivals::Poisson { rate_per_s: 3.0 },
        seed: 5,
        keep_records: true,
        ..SimOptions::default()
    };
    let r0 = run(&plain, &platform, cfg.clone(), opts());
    let r = run(&wf, &platform, cfg, opts());
    assert_eq!(r.request_records.len(), 150);
    for (a, b) in r.request_records.iter().zip(&r0.request_records) {
        assert_eq!(a.latency_s, b.latency_s, "request {}", a.request_idx);
        assert_eq!(a.cost_usd, b.cost_usd, "request {}", a.request_idx);
        assert_eq!(
            a.n_cold_starts, b.n_cold_starts,
            "request {}",
            a.request_idx
        );
    }
    assert_eq!(r.latency_s, r0.latency_s);
    assert_eq!(r.n_instance_executions, r0.n_instance_executions);
}

/// The video example with `super_resolution` and `encode` batched (`batch` = (size, window_s)).
fn video(batch: Option<(u32, f64)>) -> (Workflow, Vec<StepConfig>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut spec: WorkflowSpec =
        serde_yaml_ng::from_str(&std::fs::read_to_string(dir.join("video.yaml")).unwrap()).unwrap();
    if let Some((size, window_s)) = batch {
        for s in &mut spec.steps {
            if s.name == "super_resolution" || s.name == "encode" {
                *s = batched(s.clone(), size, window_s);
            }
        }
    }
    let wf = Workflow::from_spec(&spec, "video").unwrap();
    let cfg = platform::StaticConfig::load(&dir.join("video.config.yaml"))
        .unwrap()
        .resolve(&wf, &Platform::lambda(), "cfg")
        .unwrap();
    (wf, cfg)
}

#[test]
fn same_seed_same_report_with_batches() {
    let (wf, cfg) = video(Some((4, 1.0)));
    let json = |seed| {
        let opts = SimOptions {
            n_requests: 200,
            arrivals: Arrivals::Poisson { rate_per_s: 2.0 },
            seed,
            keep_records: true,
            metrics_interval_s: Some(10.0),
            ..SimOptions::default()
        };
        run(&wf, &Platform::lambda(), cfg.clone(), opts)
    };
    let a = json(42);
    assert_eq!(a.to_json(), json(42).to_json());
    assert_ne!(a.to_json(), json(43).to_json());
    assert_eq!(a.load.n_completed + a.load.n_failed_throttled, 200);
    // Fewer invocations than one set per request.
    let (plain, _) = video(None);
    let opts = SimOptions {
        n_requests: 200,
        arrivals: Arrivals::Poisson { rate_per_s: 2.0 },
        seed: 42,
        ..SimOptions::default()
    };
    let r0 = run(&plain, &Platform::lambda(), cfg, opts);
    assert!(
        a.n_instance_executions < r0.n_instance_executions,
        "{} vs {}",
        a.n_instance_executions,
        r0.n_instance_executions
    );
}

/// The function may run nothing (reserved concurrency 0), so every attempt is throttled. Batches of
/// 3 (requests one second apart) launch at 2 s and 5 s; with two retries (1 s, then 2 s later)
/// each batch fails 3 s after launch, and all its members with it: 6 failed requests, 3 throttles
/// and 2 retries per batch (counted once per batch, not per member).
#[test]
fn a_batch_out_of_retries_fails_every_member() {
    let platform = deterministic(|s| {
        s.concurrency.reserved.insert("f".into(), 0);
    });
    let mut f = batched(task("f", &[], 1, 1.0, 0.0), 3, 10.0);
    f.retry = Some(RetrySpec {
        interval_s: Some(1.0),
        backoff_rate: Some(2.0),
        max_attempts: Some(2),
        ..RetrySpec::default()
    });
    let wf = workflow(vec![f, task("g", &["f"], 1, 1.0, 0.0)]);
    let cfg = vec![StepConfig::new(1769, 1, 1); 2];
    let r = run(&wf, &platform, cfg, fixed(6, 1.0));
    assert_eq!(r.load.n_arrived, 6);
    assert_eq!(r.load.n_failed_throttled, 6);
    assert_eq!(r.n_failed, 6);
    assert_eq!(r.load.n_completed, 0);
    assert_eq!(r.load.n_running, 0);
    assert_eq!(r.load.n_throttles, 6);
    assert_eq!(r.load.n_retries, 4);
    let failures: u64 = r.metrics.iter().map(|w| w.functions[0].failures).sum();
    assert_eq!(failures, 2);
    assert_eq!(r.request_records.len(), 6);
    assert!(r.request_records.iter().all(|x| x.failed && x.throttled));
    assert_eq!(latencies(&r), vec![5.0, 4.0, 3.0, 5.0, 4.0, 3.0]);
    assert_eq!(r.n_instance_executions, 0);
}

/// Under a tight account limit with batches on two steps, throttles fail some requests, some of them
/// while waiting in a batch for another step: every arrival is still accounted for, and the total
/// cost is the sum of the requests'.
#[test]
fn batches_under_throttling_account_for_every_request() {
    let (wf, cfg) = video(Some((3, 0.5)));
    let mut spec = platform::PlatformSpec::default();
    spec.concurrency.account_limit = 40;
    let platform = Platform::from_spec(spec, "test").unwrap();
    for seed in 0..4 {
        let opts = SimOptions {
            n_requests: 120,
            arrivals: Arrivals::Poisson { rate_per_s: 4.0 },
            seed,
            keep_records: true,
            horizon_s: (seed % 2 == 1).then_some(25.0),
            ..SimOptions::default()
        };
        let r = run(&wf, &platform, cfg.clone(), opts);
        let l = &r.load;
        assert!(
            l.n_failed_throttled > 0,
            "seed {seed}: no throttled failure"
        );
        assert_eq!(
            l.n_completed + l.n_failed_throttled + l.n_running,
            l.n_arrived
        );
        assert_eq!(
            r.request_records.len() as u64,
            l.n_completed + l.n_failed_throttled
        );
        let sum: f64 = r.request_records.iter().map(|x| x.cost_usd).sum();
        assert!(
            (r.cost_usd.total - r.cost_usd.provisioned - sum).abs() < 1e-9 * sum.max(1.0),
            "seed {seed}"
        );
        assert!(l.concurrency_max <= 40);
    }
}

/// Two parallel sources: `a` (listed first, so decided second) and the batched `b`. A request failed
/// by `a`'s throttle leaves `b`'s batch: the open one (nothing of it ever runs), or a launched one
/// still to admit its instances (the others run its jobs and pay for it).
#[test]
fn a_member_failed_elsewhere_leaves_its_batch() {
    // `a` can never run: every request fails at arrival while waiting in `b`'s open batch.
    let platform = deterministic(|s| {
        s.concurrency.reserved.insert("a".into(), 0);
    });
    let wf = workflow(vec![
        task("a", &[], 1, 1.0, 0.0),
        batched(task("b", &[], 1, 1.0, 0.0), 3, 10.0),
    ]);
    let cfg = vec![StepConfig::new(1769, 1, 1); 2];
    let r = run(&wf, &platform, cfg.clone(), fixed(3, 1.0));
    assert_eq!(r.load.n_failed_throttled, 3);
    assert_eq!(r.load.n_running, 0);
    assert_eq!(r.n_instance_executions, 0);
    assert_eq!(latencies(&r), vec![0.0; 3]);

    // `a` (100 s, after a 1 s wait) holds the one environment it may use, so request 1's `a` is
    // throttled at 1.5 s, after `b`'s batch of requests 0 and 1 launched at 0.5 s but before its
    // 2 s wait ends. Request 0 alone then pays for the batch, which runs both jobs: 2 s.
    let platform = deterministic(|s| {
        s.concurrency.reserved.insert("a".into(), 1);
    });
    let mut a = task("a", &[], 1, 100.0, 0.0);
    a.wait_s = Some(1.0);
    let mut b = batched(task("b", &[], 1, 1.0, 0.0), 2, 10.0);
    b.wait_s = Some(2.0);
    let wf = workflow(vec![a, b]);
    let r = run(&wf, &platform, cfg, fixed(2, 0.5));
    assert_eq!(r.load.n_completed, 1);
    assert_eq!(r.load.n_failed_throttled, 1);
    assert_eq!(r.n_instance_executions, 2);
    assert_eq!(latencies(&r), vec![101.0, 1.0]);
    let r0 = &r.request_records[0];
    // Its `b` waited 0.5 s for the batch, 2 s for the wait, then ran 2 s.
    assert_eq!(r0.step_duration_s, vec![Some(101.0), Some(4.5)]);
    let want = 102.0 * 1769.0 / 1024.0 * PRICE_GB_S + 2.0 * PRICE_REQ + 2.0 * PRICE_TRANSITION;
    assert!(
        (r0.cost_usd - want).abs() < 1e-15,
        "{} vs {want}",
        r0.cost_usd
    );
    assert!((r.request_records[1].cost_usd - 2.0 * PRICE_TRANSITION).abs() < 1e-18);
}
