//! Keep-alive policies inside the serverless environment.

use std::collections::BTreeMap;

use cluster::{
    ColdStartSpec, FunctionSpec, MachineSpec, ServerlessEnv, ServerlessSettings, run_episode,
};
use des::SimTime;
use workload::Invocation;

/// One machine of 1 vCPU and 1 GB.
fn one_machine() -> ServerlessSettings {
    ServerlessSettings {
        machines: vec![MachineSpec {
            name: "m".into(),
            cpu_millicores: 1000.0,
            memory_mb: 1024.0,
            speed: 1.0,
        }],
        ..ServerlessSettings::default()
    }
}

/// A 256 MB function of 1 s with a constant 0.5 s cold start.
fn small_function(name: &str) -> FunctionSpec {
    FunctionSpec {
        name: name.into(),
        memory_mb: 256.0,
        cpu_millicores: 100.0,
        cold_start: ColdStartSpec {
            median_s: 0.5,
            sigma: 0.0,
        },
        slo_s: 2.0,
        duration_s_p50: 1.0,
    }
}

/// A function invoked every 30.5 minutes, 100 times: with a fixed 10-minute TTL every invocation after the
/// first is cold; the histogram learns the period (after its 10 samples) and pre-warms.
#[test]
fn histogram_prewarms_a_periodic_function() {
    let settings = one_machine();
    let f = small_function("periodic");
    let invs: Vec<Invocation> = (0..100)
        .map(|i| Invocation {
            id: i,
            function_idx: 0,
            arrival: SimTime::from_ms(i * 1_830_000),
            duration: SimTime::from_ms(1_000),
            memory_mb: 256,
        })
        .collect();
    let run = |ka: &str| {
        let keep = scheduler::keep_alive_by_name(ka, 1).unwrap();
        let mut env = ServerlessEnv::new(
            settings.clone(),
            vec![f.clone()],
            Box::new(invs.clone().into_iter()),
            &BTreeMap::new(),
            keep,
            0,
        )
        .unwrap();
        let mut rng = des::RngStreams::new(0).stream("policy");
        run_episode(&mut env, &mut scheduler::Fcfs, &mut rng).unwrap()
    };
    let fixed = run("fixed");
    let hist = run("histogram");
    assert_eq!(fixed.n_cold_starts, 100);
    // The first 11 idle periods fall under the standard 4-hour keep-alive (warm); after that the
    // histogram pre-warms 27 minutes after each idle start and keeps warm 7.1 minutes: all warm.
    assert_eq!(hist.n_cold_starts, 1, "{hist:?}");
    assert!(hist.n_prewarms >= 85, "{hist:?}");
    // Fixed wastes 10 minutes per invocation; the histogram about 2.5 minutes per period once learned (warm
    // from minute 27 to the arrival at 30.5 minus the 1 s run), but about 30 minutes in each of the first 11.
    eprintln!(
        "fixed idle {} GB-s, histogram idle {} GB-s",
        fixed.idle_memory_gb_s, hist.idle_memory_gb_s
    );
    assert!(
        (fixed.idle_memory_gb_s - 100.0 * 600.0 * 0.25).abs() < 1e-6,
        "{}",
        fixed.idle_memory_gb_s
    );
    assert!(
        hist.idle_memory_gb_s < fixed.idle_memory_gb_s,
        "{}",
        hist.idle_memory_gb_s
    );
}

/// Idle times beyond the histogram's 4-hour range, alternating 5 and 9 hours: the ARIMA forecast (as
/// Shahrad et al.) pre-warms for the next one; the mean (7 hours) pre-warms at 5.95 h and lets the
/// instance go at 8.05 h, so every invocation after the first few is cold.
#[test]
fn arima_forecasts_alternating_long_idle_times_that_the_mean_misses() {
    let settings = one_machine();
    let f = small_function("nightly");
    let hour = 3_600_000;
    let mut at = 0;
    let invs: Vec<Invocation> = (0..60)
        .map(|i| {
            let inv = Invocation {
                id: i,
                function_idx: 0,
                arrival: SimTime::from_ms(at),
                duration: SimTime::from_ms(1_000),
                memory_mb: 256,
            };
            at += if i % 2 == 0 { 5 * hour } else { 9 * hour };
            inv
        })
        .collect();
    let run = |forecast: scheduler::OobForecast| {
        let keep = scheduler::HybridHistogram::new(
            scheduler::HistogramSettings {
                forecast,
                ..scheduler::HistogramSettings::default()
            },
            1,
        )
        .unwrap();
        let mut env = ServerlessEnv::new(
            settings.clone(),
            vec![f.clone()],
            Box::new(invs.clone().into_iter()),
            &BTreeMap::new(),
            Box::new(keep),
            0,
        )
        .unwrap();
        let mut rng = des::RngStreams::new(0).stream("policy");
        run_episode(&mut env, &mut scheduler::Fcfs, &mut rng).unwrap()
    };
    let arima = run(scheduler::OobForecast::Arima);
    let mean = run(scheduler::OobForecast::Mean);
    eprintln!(
        "cold starts: arima {} (idle {} GB-s), mean {} (idle {} GB-s)",
        arima.n_cold_starts, arima.idle_memory_gb_s, mean.n_cold_starts, mean.idle_memory_gb_s
    );
    // Both need 10 idle times before the histogram decides, and ARIMA 6 out-of-range ones to fit.
    assert!(mean.n_cold_starts >= 45, "{mean:?}");
    assert!(arima.n_cold_starts <= 15, "{arima:?}");
}
