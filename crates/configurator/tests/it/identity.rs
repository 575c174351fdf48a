//! The Lambda decides exactly as the simulator's policy (and so as `faastune plan`'s dynamic policies
//! and `faastune serve`, which the serve crate's identity test checks the same way): the simulator's
//! `choose` and `observe` calls on `optimizer::policy_by_name`'s policy are recorded, then replayed as
//! Lambda events (decide with the same elapsed time, finish with the same outcome).

use optimizer::{OraclePredictor, policy_by_name};
use platform::{Platform, Policy, SimOptions, Simulation, StepConfig, StepContext, StepOutcome};
use serde_json::json;
use workflow::Workflow;

use crate::{repo, tokio_rt};

/// Records the events a configurator would have received, and the configurations chosen.
struct Recorder {
    inner: Box<dyn Policy>,
    events: Vec<serde_json::Value>,
    chosen: Vec<StepConfig>,
}

impl Policy for Recorder {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn choose(&mut self, ctx: &StepContext<'_>) -> StepConfig {
        let config = self.inner.choose(ctx);
        self.events.push(json!({
            "execution": format!("sim-{}", ctx.request_idx),
            "step": ctx.workflow.step(ctx.step).name,
            "elapsed_s": ctx.elapsed_s,
        }));
        self.chosen.push(config);
        config
    }
    fn observe(&mut self, ctx: &StepContext<'_>, o: &StepOutcome) {
        self.inner.observe(ctx, o);
        self.events.push(json!({
            "action": "finish",
            "execution": format!("sim-{}", ctx.request_idx),
            "step": ctx.workflow.step(ctx.step).name,
            "duration_s": o.duration_s,
            "start_s": o.start_s,
            "cost_usd": o.cost_usd,
            "n_cold_starts": o.n_cold_starts,
        }));
    }
}

#[test]
fn the_lambda_decides_as_the_simulators_policy() {
    for (policy, n) in [("stepconf", 10), ("replan", 10)] {
        let wf = Workflow::load(&repo("examples/video.yaml")).unwrap();
        let platform = Platform::lambda();
        let oracle = OraclePredictor::new(&wf, &platform);
        let inner = policy_by_name(policy, &wf, &platform, &oracle, wf.slo_s.unwrap()).unwrap();
        let mut rec = Recorder {
            inner,
            events: Vec::new(),
            chosen: Vec::new(),
        };
        let opts = SimOptions {
            n_requests: n,
            seed: 3,
            ..SimOptions::default()
        };
        Simulation::new(&wf, &platform, opts)
            .unwrap()
            .run(&mut rec)
            .unwrap();

        let app = crate::video_app(policy);
        let got: Vec<StepConfig> = tokio_rt().block_on(async {
            let mut got = Vec::new();
            for ev in &rec.events {
                let r = configurator::handle(&app, ev.clone())
                    .await
                    .unwrap_or_else(|e| panic!("{policy}: {ev}: {e}"));
                if ev.get("action").is_none() {
                    let k = |f: &str| r[f].as_u64().unwrap() as u32;
                    got.push(StepConfig::new(k("memory_mb"), k("fan_out"), k("workers")));
                }
            }
            got
        });
        assert_eq!(got, rec.chosen, "{policy}");
        let distinct: std::collections::BTreeSet<_> = rec.chosen.iter().collect();
        assert!(distinct.len() > 2, "{policy}: decisions vary: {distinct:?}");
    }
}
