//! [`Plan`]: one configuration per step with its predicted duration, cost and sub-SLO, the critical
//! path and the predicted end-to-end latency and cost: what `faastune plan` prints and explains.

use platform::StepConfig;
use serde::Serialize;
use workflow::{StepId, StepKind, Workflow};

use crate::space::StepOption;

/// One step of a [`Plan`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanStep {
    /// Step name.
    pub name: String,
    /// Memory per instance, MB.
    pub memory_mb: u32,
    /// Instances (`p`).
    pub fan_out: u32,
    /// Workers per instance (`q`).
    pub workers: u32,
    /// Whether the step runs a function (non-task steps are not configured; their config is a
    /// placeholder).
    pub is_task: bool,
    /// Predicted time the step adds to its path (transition delay, `wait_s` and execution), seconds.
    pub duration_s_pred: f64,
    /// Predicted cost (compute, requests and state transitions), USD.
    pub cost_usd_pred: f64,
    /// The step's time budget, seconds: for StepConf-family plans the sub-SLO of Eq. 13 at the
    /// step's (predicted) start; for exact plans the latest finish that still meets the SLO (other
    /// steps as planned) minus the planned start.
    pub sub_slo_s: f64,
    /// Predicted start, seconds after the request arrives.
    pub start_s_pred: f64,
}

impl PlanStep {
    /// The step's configuration.
    pub fn config(&self) -> StepConfig {
        StepConfig::new(self.memory_mb, self.fan_out, self.workers)
    }
}

/// A configuration of every step of a workflow with its predicted consequences.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The policy that made the plan.
    pub policy: String,
    /// Workflow name.
    pub workflow: String,
    /// The SLO planned for, seconds.
    pub slo_s: f64,
    /// Predicted end-to-end latency (the longest path of predicted durations), seconds.
    pub latency_s_pred: f64,
    /// Predicted cost per request, USD.
    pub cost_usd_pred: f64,
    /// Whether the plan meets the SLO under its own model. `false`: best effort (no plan of this
    /// policy's configuration set was found that meets it).
    pub feasible: bool,
    /// Step names on the critical path, source to sink.
    pub critical_path: Vec<String>,
    /// Per step, in workflow order (index = [`StepId`]).
    pub steps: Vec<PlanStep>,
}

impl Plan {
    /// Builds a plan from one option per step; `sub_slo_s[i]` of `None` is filled with the slack-based
    /// budget (latest finish minus planned start).
    pub(crate) fn build(
        policy: &str,
        workflow: &Workflow,
        slo_s: f64,
        chosen: &[StepOption],
        sub_slo_s: &[Option<f64>],
    ) -> Plan {
        let n = workflow.n_steps();
        let durations: Vec<f64> = chosen.iter().map(|o| o.duration_s).collect();
        let finish = workflow.earliest_finish_s(&durations);
        let (latency_s, path) = workflow.critical_path(&durations);
        // Latest finish that keeps every path within the SLO.
        let mut latest = vec![slo_s; n];
        for &id in workflow.topo_order().iter().rev() {
            for &s in workflow.succs(id) {
                latest[id.idx()] = latest[id.idx()].min(latest[s.idx()] - durations[s.idx()]);
            }
        }
        let steps = (0..n)
            .map(|i| {
                let o = chosen[i];
                let start = finish[i] - o.duration_s;
                let step = workflow.step(StepId(i as u32));
                PlanStep {
                    name: step.name.clone(),
                    memory_mb: o.config.memory_mb,
                    fan_out: o.config.fan_out,
                    workers: o.config.workers,
                    is_task: step.kind == StepKind::Task,
                    duration_s_pred: o.duration_s,
                    cost_usd_pred: o.cost_usd,
                    sub_slo_s: sub_slo_s[i].unwrap_or(latest[i] - start),
                    start_s_pred: start,
                }
            })
            .collect();
        Plan {
            policy: policy.to_owned(),
            workflow: workflow.name.clone(),
            slo_s,
            latency_s_pred: latency_s,
            cost_usd_pred: chosen.iter().map(|o| o.cost_usd).sum(),
            feasible: latency_s <= slo_s + crate::solver::DURATION_EPS_S,
            critical_path: path
                .iter()
                .map(|id| workflow.step(*id).name.clone())
                .collect(),
            steps,
        }
    }

    /// One configuration per step (index = [`StepId`]), for a static policy or a config file.
    pub fn configs(&self) -> Vec<StepConfig> {
        self.steps.iter().map(PlanStep::config).collect()
    }

    /// Pretty JSON (the shape `faastune plan --json` prints).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plan serializes")
    }
}
