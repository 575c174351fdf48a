//! faastune's decision service (issue 14, `faastune serve`): StepConf's dynamic per-step configurator
//! (StepConf Sec. V-B, Algorithm 2: a configuration optimizer before each function step, with a
//! global cache of latest finish times per request) and `replan`, run for real executions over HTTP.
//!
//! - [`config`]: which workflows are served (one from flags, or a directory with a settings file per
//!   workflow), reloadable; [`config::Predictors`]: how models are built (the binary passes the ones
//!   `faastune plan` uses).
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

pub use app::App;
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
