//! The service's metrics in the Prometheus text exposition format (version 0.0.4), written by hand:
//! a handful of counters, one gauge family and one histogram need no metrics framework, and atomics
//! keep recording off any lock.
//!
//! - `faastune_serve_decisions_total{workflow}`, `faastune_serve_observations_total{workflow}`,
//!   `faastune_serve_executions_ended_total{workflow,how="deleted"|"expired"}`;
//! - `faastune_serve_decision_seconds{workflow}`: histogram of decision latency in the server (body
//!   read to response built, store round trips included);
//! - `faastune_serve_executions{workflow,store}`: executions the store holds (the cache size);
//! - `faastune_serve_errors_total{kind}` ([`crate::error::ERROR_KINDS`]);
//! - `faastune_serve_workflows`, `faastune_serve_reloads_total{result}`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use crate::error::ERROR_KINDS;

/// Upper bounds of the decision-latency buckets, seconds.
pub const LATENCY_BUCKETS_S: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
    5.0,
];

/// Counters of one workflow (kept across reloads: the registry hands the same one to a rebuilt
/// engine).
#[derive(Debug, Default)]
pub struct WorkflowMetrics {
    decisions: AtomicU64,
    observations: AtomicU64,
    deleted: AtomicU64,
    expired: AtomicU64,
    buckets: [AtomicU64; LATENCY_BUCKETS_S.len()],
    latency_count: AtomicU64,
    latency_sum_ns: AtomicU64,
}

impl WorkflowMetrics {
    /// One decision made.
    pub fn decided(&self) {
        self.decisions.fetch_add(1, Relaxed);
    }
    /// One finish observed.
    pub fn observed(&self) {
        self.observations.fetch_add(1, Relaxed);
    }
    /// One execution deleted.
    pub fn deleted(&self) {
        self.deleted.fetch_add(1, Relaxed);
    }
    /// `n` executions expired.
    pub fn expired(&self, n: u64) {
        self.expired.fetch_add(n, Relaxed);
    }
    /// One decision took `seconds`.
    pub fn latency(&self, seconds: f64) {
        if let Some(i) = LATENCY_BUCKETS_S.iter().position(|&b| seconds <= b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_ns
            .fetch_add((seconds * 1e9).round() as u64, Relaxed);
    }
    /// Decisions made so far.
    pub fn decisions(&self) -> u64 {
        self.decisions.load(Relaxed)
    }
}

/// Counted when the panic backstop caught a panic (it has no access to the service's state).
pub static PANICS: AtomicU64 = AtomicU64::new(0);

/// Every metric of the service.
#[derive(Debug, Default)]
pub struct Metrics {
    workflows: Mutex<BTreeMap<String, Arc<WorkflowMetrics>>>,
    errors: [AtomicU64; ERROR_KINDS.len()],
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
}

impl Metrics {
    /// The counters of workflow `name` (created on first use).
    pub fn workflow(&self, name: &str) -> Arc<WorkflowMetrics> {
        let mut m = self.workflows.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(name.to_owned()).or_default().clone()
    }

    /// One error of `kind` answered.
    pub fn error(&self, kind: &str) {
        if let Some(i) = ERROR_KINDS.iter().position(|k| *k == kind) {
            self.errors[i].fetch_add(1, Relaxed);
        }
    }

    /// Errors of `kind` answered so far.
    pub fn errors(&self, kind: &str) -> u64 {
        ERROR_KINDS
            .iter()
            .position(|k| *k == kind)
            .map_or(0, |i| self.errors[i].load(Relaxed))
    }

    /// A reload that succeeded (`ok`) or not.
    pub fn reload(&self, ok: bool) {
        if ok {
            self.reloads_ok.fetch_add(1, Relaxed);
        } else {
            self.reloads_failed.fetch_add(1, Relaxed);
        }
    }

    /// The text exposition; `executions`: per served workflow, the store's count (`None`: the store
    /// did not answer), under store kind `store`.
    pub fn render(&self, served: &[(String, Option<u64>)], store: &str) -> String {
        let mut out = String::new();
        let wfs: Vec<(String, Arc<WorkflowMetrics>)> = {
            let m = self.workflows.lock().unwrap_or_else(|p| p.into_inner());
            m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        let counter =
            |out: &mut String, name: &str, help: &str, get: &dyn Fn(&WorkflowMetrics) -> u64| {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
                for (w, m) in &wfs {
                    let _ = writeln!(out, "{name}{{workflow=\"{}\"}} {}", esc(w), get(m));
                }
            };
        counter(
            &mut out,
            "faastune_serve_decisions_total",
            "Step configurations decided.",
            &|m| m.decisions.load(Relaxed),
        );
        counter(
            &mut out,
            "faastune_serve_observations_total",
            "Step finishes observed.",
            &|m| m.observations.load(Relaxed),
        );
        let name = "faastune_serve_executions_ended_total";
        let _ = writeln!(
            out,
            "# HELP {name} Executions ended by DELETE or by the idle TTL (memory store; Redis expires keys itself).\n# TYPE {name} counter"
        );
        for (w, m) in &wfs {
            for (how, n) in [("deleted", &m.deleted), ("expired", &m.expired)] {
                let _ = writeln!(
                    out,
                    "{name}{{workflow=\"{}\",how=\"{how}\"}} {}",
                    esc(w),
                    n.load(Relaxed)
                );
            }
        }
        let name = "faastune_serve_decision_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Decision latency in the server, store included.\n# TYPE {name} histogram"
        );
        for (w, m) in &wfs {
            let w = esc(w);
            let mut cum = 0;
            for (b, n) in LATENCY_BUCKETS_S.iter().zip(&m.buckets) {
                cum += n.load(Relaxed);
                let _ = writeln!(out, "{name}_bucket{{workflow=\"{w}\",le=\"{b}\"}} {cum}");
            }
            let count = m.latency_count.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{workflow=\"{w}\",le=\"+Inf\"}} {count}");
            let sum = m.latency_sum_ns.load(Relaxed) as f64 / 1e9;
            let _ = writeln!(out, "{name}_sum{{workflow=\"{w}\"}} {sum}");
            let _ = writeln!(out, "{name}_count{{workflow=\"{w}\"}} {count}");
        }
        let name = "faastune_serve_executions";
        let _ = writeln!(
            out,
            "# HELP {name} Executions the state store holds (the per-execution cache).\n# TYPE {name} gauge"
        );
        for (w, n) in served {
            if let Some(n) = n {
                let _ = writeln!(
                    out,
                    "{name}{{workflow=\"{}\",store=\"{store}\"}} {n}",
                    esc(w)
                );
            }
        }
        let name = "faastune_serve_errors_total";
        let _ = writeln!(
            out,
            "# HELP {name} Error responses by kind.\n# TYPE {name} counter"
        );
        for (k, n) in ERROR_KINDS.iter().zip(&self.errors) {
            let _ = writeln!(out, "{name}{{kind=\"{k}\"}} {}", n.load(Relaxed));
        }
        let name = "faastune_serve_panics_total";
        let _ = writeln!(
            out,
            "# HELP {name} Panics caught by the backstop layer (a bug when not 0).\n# TYPE {name} counter\n{name} {}",
            PANICS.load(Relaxed)
        );
        let name = "faastune_serve_workflows";
        let _ = writeln!(
            out,
            "# HELP {name} Workflows served.\n# TYPE {name} gauge\n{name} {}",
            served.len()
        );
        let name = "faastune_serve_reloads_total";
        let _ = writeln!(
            out,
            "# HELP {name} Configuration reloads (SIGHUP or POST /v1/admin/reload).\n# TYPE {name} counter\n{name}{{result=\"ok\"}} {}\n{name}{{result=\"error\"}} {}",
            self.reloads_ok.load(Relaxed),
            self.reloads_failed.load(Relaxed)
        );
        out
    }
}

/// A label value escaped (backslash, double quote, newline).
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
