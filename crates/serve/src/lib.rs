//! faastune's decision service (issue 14, `faastune serve`): StepConf's dynamic per-step configurator
//! (StepConf Sec. V-B, Algorithm 2: a configuration optimizer before each function step, with a
//! global cache of latest finish times per request) and `replan`, run for real executions over HTTP.
//!
//! - [`config`]: which workflows are served (one from flags, or a directory with a settings file per
//!   workflow), reloadable; [`config::Predictors`]: how models are built
//!   ([`config::StandardPredictors`]: the ones `faastune plan` uses, from `perfmodel::source`).
//! - [`engine::Engine`]: one workflow's decisions: the policy object of
//!   [`optimizer::service_policy_by_name`] (the simulator's, built as `plan` builds it) driven with a
//!   [`platform::StepContext`] from the execution's stored state.
//! - [`state`]: one execution's state; [`store`]: in memory or in Redis, compare-and-set writes so
//!   replicas share executions and a restart loses nothing.
//! - [`http`]: the routes (axum on tokio), JSON errors, the body limit, the panic backstop;
//!   `openapi.json`: the OpenAPI 3 document; [`metrics`]: Prometheus text.
//!
//! API and examples: `docs/serve.md`; measured throughput and latency: `bench/serve.md`.
#![warn(missing_docs)]

pub mod app;
pub mod clock;
pub mod config;
pub mod engine;
mod error;
pub mod http;
pub mod metrics;
pub mod state;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

pub use app::{ApiKey, App};
pub use error::{ERROR_KINDS, Error};

/// The alias `faastune aws deploy` publishes for a configuration: `faastune-<memory>mb-w<workers>`.
/// The same one line as `aws::naming::alias_name`, written again here so that the service does not
/// build the AWS SDK; the cli's tests check that both agree.
pub fn alias_name(memory_mb: u32, workers: u32) -> String {
    format!("faastune-{memory_mb}mb-w{workers}")
}

/// Log output of [`init_logging`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event.
    Json,
}

/// Structured logs (`tracing`) to standard error; `filter` as `RUST_LOG`'s simple form
/// (`info`, `serve=debug,info`). Fails on a filter it cannot read.
pub fn init_logging(filter: &str, format: LogFormat) -> Result<(), Error> {
    let targets: tracing_subscriber::filter::Targets = filter
        .parse()
        .map_err(|e| Error::Config(format!("log filter '{filter}': {e}")))?;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let r = match format {
        LogFormat::Text => tracing_subscriber::registry()
            .with(fmt.with_ansi(false))
            .with(targets)
            .try_init(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(fmt.json())
            .with(targets)
            .try_init(),
    };
    r.map_err(|e| Error::Config(format!("logging: {e}")))
}

/// Serves `app` on `listener` until `shutdown` completes (then finishes the requests in flight):
/// reloads on SIGHUP, forgets idle executions of the memory store every `sweep_every`.
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    sweep_every: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(sweep_every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                app.sweep();
            }
        })
    };
    #[cfg(unix)]
    let hup = {
        let app = app.clone();
        let mut sig = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        tokio::spawn(async move {
            while sig.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading");
                // The outcome is logged and counted by reload itself.
                let _ = app.reload().await;
            }
        })
    };
    let r = axum::serve(listener, http::router(app))
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    #[cfg(unix)]
    hup.abort();
    r
}

/// What [`run`] needs besides the workflows.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// Address to listen on (`127.0.0.1:8080`; port 0: any free port).
    pub listen: String,
    /// `memory`, or a Redis URL `redis://HOST:PORT[/DB]`.
    pub store: String,
    /// Key prefix in Redis.
    pub redis_prefix: String,
    /// An execution with no call for this long is forgotten.
    pub ttl: Duration,
    /// The API key requests must carry (`None`: no authentication).
    pub api_key: Option<ApiKey>,
}

/// What [`run`] tells its caller once it listens.
#[derive(Debug, Clone, PartialEq)]
pub struct Listening {
    /// The address it listens on (the port chosen when 0 was asked).
    pub addr: std::net::SocketAddr,
    /// The workflows served.
    pub workflows: Vec<String>,
    /// `memory` or `redis`.
    pub store: &'static str,
}

/// The store `spec` names (`memory`, `redis://...`).
pub async fn open_store(spec: &str, prefix: &str, ttl: Duration) -> Result<store::Store, Error> {
    if spec == "memory" {
        Ok(store::Store::Memory(store::MemoryStore::new(ttl)))
    } else if spec.starts_with("redis://") {
        Ok(store::Store::Redis(
            store::RedisStore::connect(spec, prefix, ttl).await?,
        ))
    } else {
        Err(Error::Config(format!(
            "--store {spec}: give memory or redis://HOST:PORT"
        )))
    }
}

/// Runs the service until Ctrl-C or SIGTERM: opens the store, builds every workflow's engine (on a
/// blocking thread: fitted models profile first), listens, calls `on_listening`, serves.
pub fn run(
    source: config::Source,
    predictors: Arc<dyn config::Predictors>,
    options: &RunOptions,
    on_listening: impl FnOnce(&Listening),
) -> Result<(), Error> {
    if options.ttl.is_zero() {
        return Err(Error::Config("--ttl-s must be > 0".to_owned()));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("tokio runtime: {e}")))?;
    rt.block_on(async move {
        let store = open_store(&options.store, &options.redis_prefix, options.ttl).await?;
        let api_key = options.api_key.clone();
        let app = tokio::task::spawn_blocking(move || App::new(source, predictors, store))
            .await
            .map_err(|e| Error::Internal(format!("loading workflows: {e}")))??;
        let app = match api_key {
            Some(k) => app.with_api_key(k),
            None => app,
        };
        let app = Arc::new(app);
        let listener = tokio::net::TcpListener::bind(&options.listen)
            .await
            .map_err(|e| Error::Config(format!("--listen {}: {e}", options.listen)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Config(format!("--listen {}: {e}", options.listen)))?;
        let info = Listening {
            addr,
            workflows: app.registry().workflows.keys().cloned().collect(),
            store: app.store.kind(),
        };
        tracing::info!(%addr, workflows = ?info.workflows, store = info.store, "listening");
        on_listening(&info);
        let sweep_every =
            (options.ttl / 4).clamp(Duration::from_millis(100), Duration::from_secs(60));
        serve(app, listener, sweep_every, shutdown_signal())
            .await
            .map_err(|e| Error::Internal(format!("server: {e}")))
    })
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        // An error here means no Ctrl-C handler could be installed: wait for SIGTERM alone.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
