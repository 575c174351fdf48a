//! The monitoring stream: per function and per workflow, at a fixed interval of simulated time,
//! what CloudWatch reports for Lambda and Step Functions (and what it does not: retries, cost, SLO
//! attainment). Controllers read the latest window ([`crate::Controller`]); `faastune simulate
//! --metrics FILE` writes every window as CSV or Parquet ([`crate::metrics_io`]). The schema is meant
//! to be filled from real CloudWatch data too, so every field that has a CloudWatch metric names it.
//!
//! Attribution: an invocation (and its duration, cold start and cost) counts in the window in which it
//! started; a throttle in the window of the rejected attempt; a request's latency and SLO outcome in the
//! window in which it completed. Concurrency and provisioned utilisation are exact time averages over
//! the window (instances are counted while they run).

use serde::Serialize;

/// Percentiles of a window's sample (nearest rank, [`des::stats`]); all `None` when the window had no
/// sample.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

/// Provisioned concurrency of one (function, memory) pair over one window (an alias in AWS terms).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ProvisionedWindow {
    /// Memory of the provisioned environments, MB.
    pub memory_mb: u32,
    /// Invocations of the function at this memory in the window.
    pub invocations: u64,
    /// Provisioned environments ready at the end of the window.
    pub level: u32,
    /// Provisioned environments requested (the level once pending changes are ready).
    pub level_requested: u32,
    /// Time-average of ready provisioned environments over the window.
    pub level_mean: f64,
    /// Time-average of provisioned environments busy (CloudWatch `ProvisionedConcurrentExecutions`).
    pub in_use_mean: f64,
    /// `in_use_mean / level_mean` (CloudWatch `ProvisionedConcurrencyUtilization`, Average); `None`
    /// when nothing was provisioned.
    pub utilization: Option<f64>,
    /// Invocations that found every provisioned environment busy and ran on demand (CloudWatch
    /// `ProvisionedConcurrencySpilloverInvocations`); 0 when nothing was provisioned.
    pub spillover_invocations: u64,
}

/// One function over one window.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct FunctionWindow {
    /// Function name.
    pub function: String,
    /// Invocations that ran (CloudWatch `Invocations`).
    pub invocations: u64,
    /// Invocation attempts rejected by a concurrency or scaling limit (CloudWatch `Throttles`).
    pub throttles: u64,
    /// Throttled attempts that were retried (the workflow's retry policy).
    pub retries: u64,
    /// Throttled attempts after which no retry was left: the step, and its request, failed.
    pub failures: u64,
    /// Time-average of running instances (CloudWatch `ConcurrentExecutions`, Average).
    pub concurrent_executions_mean: f64,
    /// Most instances running at once (CloudWatch `ConcurrentExecutions`, Maximum).
    pub concurrent_executions_max: u32,
    /// Instances that started cold (CloudWatch has no metric; Lambda logs an `Init Duration`).
    pub cold_starts: u64,
    /// Duration of the window's invocations, seconds (CloudWatch `Duration`, in ms there).
    pub duration_s: Percentiles,
    /// Cost of the window's invocations (duration and requests) plus the window's provisioned
    /// concurrency, USD.
    pub cost_usd: f64,
    /// Provisioned concurrency per memory size that had any (provisioned now or in the window, or
    /// invoked in the window), by memory.
    pub provisioned: Vec<ProvisionedWindow>,
}

impl FunctionWindow {
    /// Ready provisioned environments at the end of the window, over all memory sizes.
    pub fn provisioned_level(&self) -> u32 {
        self.provisioned.iter().map(|p| p.level).sum()
    }

    /// Provisioned utilisation over all memory sizes (time-averaged busy / ready), `None` when nothing
    /// was provisioned.
    pub fn provisioned_utilization(&self) -> Option<f64> {
        let level: f64 = self.provisioned.iter().map(|p| p.level_mean).sum();
        let busy: f64 = self.provisioned.iter().map(|p| p.in_use_mean).sum();
        (level > 0.0).then(|| busy / level)
    }
}

/// The workflow (the state machine) over one window.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct WorkflowWindow {
    /// Requests that arrived (Step Functions `ExecutionsStarted`).
    pub started: u64,
    /// Requests that completed without failing (`ExecutionsSucceeded`).
    pub succeeded: u64,
    /// Requests that failed: a fail step, or a step whose throttled instance had no retry left
    /// (`ExecutionsFailed`).
    pub failed: u64,
    /// Of `failed`, those failed by throttling.
    pub failed_throttled: u64,
    /// Requests running at the end of the window.
    pub running: u64,
    /// End-to-end latency of requests completed (succeeded or reached a fail step) in the window,
    /// seconds (`ExecutionTime`, in ms there).
    pub latency_s: Percentiles,
    /// Completed requests per second of the window.
    pub completed_per_s: f64,
    /// Share of requests finished in the window (completed or failed) that completed within the SLO;
    /// `None` without an SLO or when none finished.
    pub slo_attainment: Option<f64>,
    /// Cost of everything in the window (every function's `cost_usd` plus state transitions), USD.
    pub cost_usd: f64,
    /// Time-average of running instances over all functions (the account's `ConcurrentExecutions`).
    pub concurrent_executions_mean: f64,
    /// Most instances running at once over all functions.
    pub concurrent_executions_max: u32,
}

/// One window of the monitoring stream.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct MonitorWindow {
    /// Window start, seconds since the start of the run.
    pub start_s: f64,
    /// Window end, seconds (the last window of a run may be shorter than the interval).
    pub end_s: f64,
    /// The workflow.
    pub workflow: WorkflowWindow,
    /// Every function of the workflow, in order of first appearance in the workflow file.
    pub functions: Vec<FunctionWindow>,
}

impl MonitorWindow {
    /// Window length, seconds.
    pub fn length_s(&self) -> f64 {
        self.end_s - self.start_s
    }

    /// The window of function `name`, if the workflow has it.
    pub fn function(&self, name: &str) -> Option<&FunctionWindow> {
        self.functions.iter().find(|f| f.function == name)
    }
}
