//! Huge but finite numbers: profile fields and simulation options beyond their documented bounds
//! (`platform::limits`) are errors naming the field, never a panic, an allocation from the count, or
//! a wrapped time or cost.

use platform::limits::{REQUESTS_MAX, SLO_S_MAX};
use platform::{Arrivals, Platform, PlatformSpec, SimOptions, Simulation};

use crate::{task, workflow};

fn problems(edit: impl FnOnce(&mut PlatformSpec)) -> String {
    let mut spec = PlatformSpec::default();
    edit(&mut spec);
    Platform::from_spec(spec, "p.yaml").unwrap_err().to_string()
}

#[test]
fn profile_fields_beyond_their_bounds_are_named() {
    let e = problems(|s| {
        s.memory_mb_max = u32::MAX;
        s.vcpu_max = 1e300;
        s.price_usd_per_gb_s = 1e300;
        s.price_usd_per_request = 1e10;
        s.price_usd_per_transition = f64::INFINITY;
        s.billing_granularity_ms = u32::MAX;
        s.keep_alive_s = 1e300;
        s.transition_delay_s = 1e300;
        s.cold_start.mean_s = 1e300;
        s.cold_start.cv = 1e300;
        s.mapping_delay.per_instance_s = 1e300;
        s.mapping_delay.growth_s = 1e300;
        s.storage.latency_s_median = 1e300;
        s.storage.bandwidth_mb_per_s = 1e-300;
        s.straggler.slowdown_min = 1e300;
        s.straggler.slowdown_max = 1e300;
    });
    for field in [
        "memory_mb_max = 4294967295",
        "vcpu_max = 1e300",
        "price_usd_per_gb_s = 1e300",
        "price_usd_per_request = 1e10",
        "price_usd_per_transition = inf",
        "billing_granularity_ms = 4294967295",
        "keep_alive_s = 1e300",
        "transition_delay_s = 1e300",
        "cold_start.mean_s = 1e300",
        "cold_start.cv = 1e300",
        "mapping_delay.per_instance_s = 1e300",
        "mapping_delay.growth_s = 1e300",
        "storage.latency_s_median = 1e300",
        "storage.bandwidth_mb_per_s = 1e-300",
        "straggler.slowdown_min = 1e300",
        "straggler.slowdown_max = 1e300",
    ] {
        assert!(e.contains(field), "{field} not in:\n{e}");
    }
    assert!(e.starts_with("p.yaml: invalid platform profile"), "{e}");
    // Bounds are stated, with short numbers.
    assert!(
        e.contains("keep_alive_s = 1e300: must be in [0, 31536000]"),
        "{e}"
    );
}

#[test]
fn the_documented_bounds_themselves_are_valid() {
    use platform::limits::*;
    let mut spec = PlatformSpec {
        memory_mb_max: MEMORY_MB_MAX,
        vcpu_max: VCPU_MAX,
        price_usd_per_gb_s: PRICE_USD_MAX,
        billing_granularity_ms: BILLING_GRANULARITY_MS_MAX,
        keep_alive_s: KEEP_ALIVE_S_MAX,
        transition_delay_s: DELAY_S_MAX,
        ..PlatformSpec::default()
    };
    spec.cold_start.mean_s = DELAY_S_MAX;
    spec.cold_start.cv = COLD_START_CV_MAX;
    spec.storage.bandwidth_mb_per_s = BANDWIDTH_MB_PER_S_MIN;
    spec.straggler.slowdown_max = SLOWDOWN_MAX;
    let platform = Platform::from_spec(spec, "edge").unwrap();
    // A run at the bounds does not panic; its times saturate rather than wrap.
    let wf = workflow(vec![task("a", &[], 2, 1e5, 0.5)]);
    let opts = SimOptions {
        n_requests: 3,
        arrivals: Arrivals::Fixed {
            rate_per_s: RATE_PER_S_MIN,
        },
        ..SimOptions::default()
    };
    let r = Simulation::new(&wf, &platform, opts)
        .unwrap()
        .run(&mut platform::StaticPolicy::new(
            "s",
            vec![platform::StepConfig::new(MEMORY_MB_MAX, 2, 1)],
        ))
        .unwrap();
    assert_eq!(r.requests, 3);
    // At least the serial half of a job on one core: 5e4 s.
    assert!(r.latency_s.p99.is_finite() && r.latency_s.p99 > 5e4);
    assert!(r.cost_usd.total.is_finite() && r.cost_usd.total > 0.0);
}

#[test]
fn billing_a_saturated_duration_does_not_wrap() {
    let spec = PlatformSpec {
        billing_granularity_ms: 7,
        ..PlatformSpec::default()
    };
    let p = Platform::from_spec(spec, "t").unwrap();
    let huge = p.instance_cost_usd(1024, u64::MAX);
    let day = p.instance_cost_usd(1024, 86_400_000_000);
    assert!(huge.is_finite() && huge > day, "{huge} <= {day}");
}

fn option_error(n_requests: u64, rate_per_s: f64, slo_s: Option<f64>) -> String {
    let wf = workflow(vec![task("a", &[], 1, 1.0, 0.0)]);
    let platform = Platform::lambda();
    let opts = SimOptions {
        n_requests,
        arrivals: Arrivals::Poisson { rate_per_s },
        slo_s,
        ..SimOptions::default()
    };
    match Simulation::new(&wf, &platform, opts) {
        Ok(_) => panic!("{n_requests} requests at {rate_per_s}/s, SLO {slo_s:?} accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn simulation_options_beyond_their_bounds_are_named() {
    // Checked before anything is allocated from the count.
    let e = option_error(u64::MAX, 1.0, None);
    assert!(e.contains("requests") && e.contains("100000000"), "{e}");
    let e = option_error(REQUESTS_MAX + 1, 1.0, None);
    assert!(e.contains("requests"), "{e}");
    let e = option_error(10, 1e300, None);
    assert!(e.contains("rate") && e.contains("1e300"), "{e}");
    let e = option_error(10, f64::NAN, None);
    assert!(e.contains("rate"), "{e}");
    let e = option_error(10, 1.0, Some(1e300));
    assert!(e.contains("slo") && e.contains("1e300"), "{e}");
    let e = option_error(10, 1.0, Some(SLO_S_MAX * 2.0));
    assert!(e.contains("slo"), "{e}");
    // Many requests at a tiny rate would run past the range of simulated time.
    let e = option_error(REQUESTS_MAX, 1e-6, None);
    assert!(e.contains("span") && e.contains("1e14"), "{e}");
}
