//! The service's state: the served workflows (swapped whole on reload), the store, the metrics.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::Error;
use crate::config::{self, Predictors, Source};
use crate::engine::{Engine, StoreKind};
use crate::metrics::Metrics;
use crate::store::Store;

/// The served workflows, by name.
pub struct Registry {
    /// The engines.
    pub workflows: BTreeMap<String, Arc<Engine>>,
    /// The workflow the routes without a workflow name serve (one from `--workflow`, or the only one).
    pub default: Option<String>,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReloadReport {
    /// Workflows served now.
    pub workflows: Vec<String>,
    /// Workflows whose engine was built (new or changed).
    pub built: Vec<String>,
    /// Workflows whose files did not change (engine and learned state kept).
    pub kept: Vec<String>,
    /// Workflows no longer served.
    pub removed: Vec<String>,
}

/// The service.
pub struct App {
    registry: RwLock<Arc<Registry>>,
    /// The state store.
    pub store: Store,
    /// The metrics.
    pub metrics: Metrics,
    source: Source,
    predictors: Arc<dyn Predictors>,
    reload_lock: tokio::sync::Mutex<()>,
    /// The API key every request but `/healthz` and `/openapi.json` must carry, if any.
    pub api_key: Option<ApiKey>,
}

/// A shared secret a request carries in a header (what an EventBridge connection of type `API_KEY`
/// sends: its `ApiKeyName` header with its `ApiKeyValue`). Equal keys compare equal (for settings
/// structs); requests are checked with [`ApiKey::matches`].
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The header, lower case (`x-api-key`, or `authorization` with the value `Bearer ...`).
    pub header: String,
    value: Vec<u8>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ApiKey {{ header: {:?}, value: <{} bytes> }}",
            self.header,
            self.value.len()
        )
    }
}

impl ApiKey {
    /// A key: `header` an HTTP header name (letters, digits, `-`, `_`), `value` 16 to 4096 visible
    /// ASCII characters (spaces inside allowed, as in `Bearer <token>`). The error says which rule failed.
    pub fn new(header: &str, value: &str) -> Result<ApiKey, Error> {
        let h = header.trim().to_ascii_lowercase();
        if h.is_empty()
            || !h
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::Config(format!(
                "API key header {header:?}: use letters, digits, '-' or '_'"
            )));
        }
        let v = value.trim_matches(|c| c == '\n' || c == '\r');
        if v.len() < 16 || v.len() > 4096 || !v.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(Error::Config(format!(
                "API key: {} characters; use 16 to 4096 visible ASCII characters",
                v.len()
            )));
        }
        Ok(ApiKey {
            header: h,
            value: v.as_bytes().to_vec(),
        })
    }

    /// Whether `given` is the key, in time independent of where they differ.
    pub fn matches(&self, given: &[u8]) -> bool {
        if given.len() != self.value.len() {
            return false;
        }
        given
            .iter()
            .zip(&self.value)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl App {
    /// Loads every workflow of `source` (building each engine: profiling and fitting for fitted models)
    /// and serves them from `store`. Blocking: call it before the runtime serves, or on a blocking
    /// thread.
    pub fn new(
        source: Source,
        predictors: Arc<dyn Predictors>,
        store: Store,
    ) -> Result<Self, Error> {
        let metrics = Metrics::default();
        let kind = store_kind(&store);
        let (registry, _) = build_registry(&source, predictors.as_ref(), &metrics, None, kind)?;
        Ok(App {
            registry: RwLock::new(Arc::new(registry)),
            store,
            metrics,
            source,
            predictors,
            reload_lock: tokio::sync::Mutex::new(()),
            api_key: None,
        })
    }

    /// The same service, requiring `key` on every request but `/healthz` and `/openapi.json`.
    pub fn with_api_key(mut self, key: ApiKey) -> Self {
        self.api_key = Some(key);
        self
    }

    /// The served workflows now.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Workflow `name`, or the default one (`None`).
    pub fn engine(&self, name: Option<&str>) -> Result<Arc<Engine>, Error> {
        let reg = self.registry();
        match name {
            Some(n) => reg.workflows.get(n).cloned().ok_or_else(|| {
                Error::NotFound(format!(
                    "no workflow '{n}' is served; served: {}",
                    reg.workflows.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            }),
            None => reg
                .default
                .as_ref()
                .and_then(|d| reg.workflows.get(d))
                .cloned()
                .ok_or_else(|| {
                    Error::NotFound(format!(
                        "several workflows are served ({}): use /v1/workflows/{{workflow}}/executions/...",
                        reg.workflows.keys().cloned().collect::<Vec<_>>().join(", ")
                    ))
                }),
        }
    }

    /// Reads the configuration again and swaps in the new set of workflows; unchanged ones keep their
    /// engine. All or nothing: on any problem the previous set keeps serving and the error lists every
    /// problem.
    pub async fn reload(self: &Arc<Self>) -> Result<ReloadReport, Error> {
        let _one_at_a_time = self.reload_lock.lock().await;
        let app = self.clone();
        let result = tokio::task::spawn_blocking(move || {
            let current = app.registry();
            build_registry(
                &app.source,
                app.predictors.as_ref(),
                &app.metrics,
                Some(&current),
                store_kind(&app.store),
            )
        })
        .await
        .map_err(|e| Error::Internal(format!("reload task: {e}")))
        .and_then(|r| r);
        match result {
            Ok((registry, report)) => {
                *self.registry.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(registry);
                self.metrics.reload(true);
                tracing::info!(
                    workflows = ?report.workflows,
                    built = ?report.built,
                    kept = ?report.kept,
                    removed = ?report.removed,
                    "reloaded"
                );
                Ok(report)
            }
            Err(e) => {
                self.metrics.reload(false);
                tracing::error!(error = %e, "reload failed; the previous configuration keeps serving");
                Err(e)
            }
        }
    }

    /// Forgets idle executions in the memory store (Redis expires them itself).
    pub fn sweep(&self) {
        if let Store::Memory(m) = &self.store {
            let n = m.sweep_by_workflow();
            for (wf, k) in n {
                self.metrics.workflow(&wf).expired(k);
                tracing::debug!(workflow = %wf, expired = k, "idle executions forgotten");
            }
        }
    }
}

fn store_kind(store: &Store) -> StoreKind {
    match store {
        Store::Memory(_) => StoreKind::Local,
        Store::Redis(_) => StoreKind::Remote,
    }
}

fn build_registry(
    source: &Source,
    predictors: &dyn Predictors,
    metrics: &Metrics,
    current: Option<&Registry>,
    kind: StoreKind,
) -> Result<(Registry, ReloadReport), Error> {
    let resolved = config::resolve(source)?;
    let mut workflows = BTreeMap::new();
    let mut report = ReloadReport {
        workflows: Vec::new(),
        built: Vec::new(),
        kept: Vec::new(),
        removed: Vec::new(),
    };
    let mut problems = Vec::new();
    for r in resolved {
        let name = r.name.clone();
        if let Some(e) = current
            .and_then(|c| c.workflows.get(&name))
            .filter(|e| e.fingerprint == r.fingerprint)
        {
            workflows.insert(name.clone(), e.clone());
            report.kept.push(name);
            continue;
        }
        match Engine::build(r, predictors, metrics.workflow(&name), kind) {
            Ok(e) => {
                workflows.insert(name.clone(), Arc::new(e));
                report.built.push(name);
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    if !problems.is_empty() {
        return Err(Error::Config(problems.join("\n")));
    }
    if let Some(c) = current {
        report.removed = c
            .workflows
            .keys()
            .filter(|k| !workflows.contains_key(*k))
            .cloned()
            .collect();
    }
    report.workflows = workflows.keys().cloned().collect();
    let default = match source {
        Source::Single(_) => workflows.keys().next().cloned(),
        Source::Dir { .. } if workflows.len() == 1 => workflows.keys().next().cloned(),
        Source::Dir { .. } => None,
    };
    Ok((Registry { workflows, default }, report))
}
