//! Property tests: on random DAGs with random feasible configs, every request completes, every step
//! runs once per request, and every instance is counted.

use platform::{Arrivals, Platform, SimOptions, Simulation, StaticPolicy, StepConfig};
use proptest::prelude::*;
use workflow::{StepSpec, Workflow, WorkflowSpec};

fn random_workflow() -> impl Strategy<Value = (Workflow, Vec<StepConfig>)> {
    (2usize..12).prop_flat_map(|n| {
        (
            proptest::collection::vec(proptest::collection::vec(any::<bool>(), n), n),
            proptest::collection::vec((1u32..20, 0.1f64..3.0, 0.0f64..1.0, 0usize..4, 0u32..3), n),
        )
            .prop_map(move |(adj, params)| {
                let steps: Vec<StepSpec> = (0..n)
                    .map(|i| StepSpec {
                        name: format!("s{i}"),
                        // Edges only from lower to higher index: acyclic by construction.
                        after: (0..i)
                            .filter(|&j| adj[i][j])
                            .map(|j| format!("s{j}"))
                            .collect(),
                        jobs: Some(params[i].0),
                        work_s: Some(params[i].1),
                        parallel_fraction: Some(params[i].2),
                        memory_mb_per_worker: Some(128),
                        input_mb: Some(1.0),
                        output_mb: Some(1.0),
                        ..Default::default()
                    })
                    .collect();
                let wf = Workflow::from_spec(
                    &WorkflowSpec {
                        name: "rand".into(),
                        steps,
                        ..Default::default()
                    },
                    "prop",
                )
                .unwrap();
                let configs = (0..n)
                    .map(|i| {
                        let memory_mb = [512, 1024, 2048, 4096][params[i].3];
                        StepConfig::new(memory_mb, (params[i].0 / 2).max(1), 1 << params[i].4)
                    })
                    .collect();
                (wf, configs)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn every_request_and_instance_is_accounted_for((wf, configs) in random_workflow(), seed in 0u64..1000, rate in 0.1f64..20.0) {
        let platform = Platform::lambda();
        let n_requests = 30;
        let opts = SimOptions { n_requests, arrivals: Arrivals::Poisson { rate_per_s: rate }, seed, keep_records: true, ..SimOptions::default() };
        let r = Simulation::new(&wf, &platform, opts).unwrap().run(&mut StaticPolicy::new("p", configs.clone())).unwrap();
        prop_assert_eq!(r.requests, n_requests);
        prop_assert_eq!(r.request_records.len() as u64, n_requests);
        let fan_out_sum: u64 = configs.iter().map(|c| u64::from(c.fan_out)).sum();
        prop_assert_eq!(r.n_instance_executions, n_requests * fan_out_sum);
        for s in &r.steps {
            prop_assert_eq!(s.n_runs, n_requests);
        }
        for rec in &r.request_records {
            // Latency is at least the critical path of observed step durations.
            let d: Vec<f64> = rec.step_duration_s.iter().map(|x| x.unwrap()).collect();
            let (cp, _) = wf.critical_path(&d);
            prop_assert!(rec.latency_s + 1e-6 >= cp, "latency {} < critical path {}", rec.latency_s, cp);
            prop_assert!(rec.n_cold_starts <= rec.n_instances);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// The monitoring stream counts every cost once: its windows add up to the report's total
    /// (transitions are counted when their step starts, not again when the request completes).
    #[test]
    fn the_monitoring_windows_add_up_to_the_total_cost((wf, configs) in random_workflow(), seed in 0u64..1000, rate in 0.5f64..20.0) {
        let platform = Platform::lambda();
        let opts = SimOptions { n_requests: 40, arrivals: Arrivals::Poisson { rate_per_s: rate }, seed, metrics_interval_s: Some(5.0), ..SimOptions::default() };
        let r = Simulation::new(&wf, &platform, opts).unwrap().run(&mut StaticPolicy::new("p", configs)).unwrap();
        let windows: f64 = r.metrics.iter().map(|w| w.workflow.cost_usd).sum();
        prop_assert!((windows - r.cost_usd.total).abs() <= 1e-9 * r.cost_usd.total.max(1e-12) + 1e-12,
            "windows {} vs total {}", windows, r.cost_usd.total);
    }
}
