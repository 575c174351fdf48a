//! The server decides exactly as the simulator's policy: every `choose` and `observe` call that
//! `platform::Simulation` makes on `optimizer::policy_by_name`'s policy is recorded, then replayed
//! against the server (decide with the same elapsed time, finish with the same outcome), and every
//! configuration must be the same.

use std::sync::Arc;

use optimizer::{OraclePredictor, policy_by_name};
use platform::{Platform, Policy, SimOptions, Simulation, StepConfig, StepContext, StepOutcome};
use serve::App;
use workflow::Workflow;

use crate::{decide, example, finish};

/// A call the simulator made.
#[derive(Debug, Clone)]
pub enum Call {
    /// `choose` for `step` of request `request` at `elapsed_s`, which returned `config`.
    Choose {
        step: String,
        request: u64,
        elapsed_s: f64,
        config: StepConfig,
    },
    /// `observe` of `step` of request `request`.
    Observe {
        step: String,
        request: u64,
        outcome: StepOutcome,
    },
}

struct Recorder {
    inner: Box<dyn Policy>,
    calls: Vec<Call>,
}

impl Policy for Recorder {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn choose(&mut self, ctx: &StepContext<'_>) -> StepConfig {
        let config = self.inner.choose(ctx);
        self.calls.push(Call::Choose {
            step: ctx.workflow.step(ctx.step).name.clone(),
            request: ctx.request_idx,
            elapsed_s: ctx.elapsed_s,
            config,
        });
        config
    }
    fn observe(&mut self, ctx: &StepContext<'_>, outcome: &StepOutcome) {
        self.inner.observe(ctx, outcome);
        self.calls.push(Call::Observe {
            step: ctx.workflow.step(ctx.step).name.clone(),
            request: ctx.request_idx,
            outcome: *outcome,
        });
    }
}

/// The calls the simulator makes on `policy` over `n` requests of `file` (seed 1, oracle model).
pub fn record(file: &str, policy: &str, n: u64) -> Vec<Call> {
    let wf = Workflow::load(&example(file)).unwrap();
    let platform = Platform::lambda();
    let oracle = OraclePredictor::new(&wf, &platform);
    let slo = wf.slo_s.unwrap();
    let inner = policy_by_name(policy, &wf, &platform, &oracle, slo).unwrap();
    let mut rec = Recorder {
        inner,
        calls: Vec::new(),
    };
    let sim = Simulation::new(
        &wf,
        &platform,
        SimOptions {
            n_requests: n,
            seed: 1,
            ..SimOptions::default()
        },
    )
    .unwrap();
    sim.run(&mut rec).unwrap();
    rec.calls
}

/// Replays `calls` against `app` (executions `{tag}{request}`); returns the configurations decided.
pub async fn replay(app: &Arc<App>, calls: &[Call], tag: &str) -> Vec<StepConfig> {
    let mut out = Vec::new();
    for c in calls {
        match c {
            Call::Choose {
                step,
                request,
                elapsed_s,
                ..
            } => {
                let r = decide(app, "/v1", &format!("{tag}{request}"), step, *elapsed_s).await;
                assert_eq!(r.status, 200, "{}", r.text);
                let n = |k: &str| r.json[k].as_u64().unwrap() as u32;
                out.push(StepConfig::new(n("memory_mb"), n("fan_out"), n("workers")));
            }
            Call::Observe {
                step,
                request,
                outcome,
            } => {
                let body = serde_json::json!({
                    "duration_s": outcome.duration_s,
                    "start_s": outcome.start_s,
                    "cost_usd": outcome.cost_usd,
                    "n_cold_starts": outcome.n_cold_starts,
                });
                let r = finish(
                    app,
                    "/v1",
                    &format!("{tag}{request}"),
                    step,
                    body.to_string(),
                )
                .await;
                assert_eq!(r.status, 200, "{}", r.text);
            }
        }
    }
    out
}

/// The configurations the simulator's policy chose, in call order.
pub fn chosen(calls: &[Call]) -> Vec<StepConfig> {
    calls
        .iter()
        .filter_map(|c| match c {
            Call::Choose { config, .. } => Some(*config),
            Call::Observe { .. } => None,
        })
        .collect()
}

#[tokio::test]
async fn server_decides_as_the_simulators_policy() {
    for (file, policy, n) in [
        ("synthetic16.yaml", "stepconf", 12),
        ("ecommerce.yaml", "stepconf", 12),
        ("synthetic16.yaml", "replan", 8),
        ("video.yaml", "replan", 12),
    ] {
        let calls = record(file, policy, n);
        let want = chosen(&calls);
        assert!(want.len() as u64 >= n, "{file} {policy}");
        let app = crate::memory_app(file, policy);
        let got = replay(&app, &calls, "r").await;
        assert_eq!(got, want, "{file} {policy}");
        // Requests overlap in the simulation (calls of several requests interleave), and decisions
        // differ: the comparison is not trivial.
        let distinct: std::collections::BTreeSet<_> = want.iter().collect();
        assert!(distinct.len() > 2, "{file} {policy}: {distinct:?}");
    }
}
