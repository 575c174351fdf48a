//! `faastune serve` (feature `serve`): the decision service. Before each step of a real execution the
//! orchestrator asks for the step's configuration; StepConf's dynamic configurator (or `replan`), the
//! same policy objects the simulator runs, decides from the execution's state (the global cache of
//! latest finish times), kept in memory or in Redis. The models are the ones `faastune plan` uses
//! (`--model`, `--model-file`: `perfmodel::source`, through `serve::config::StandardPredictors`). API: docs/serve.md.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serve::config::{ModelSpec, Source, WorkflowConfig};

use crate::predictor::ModelArgs;

/// Arguments of `faastune serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Workflow file to serve (also at the routes without a workflow name).
    #[arg(
        long,
        required_unless_present = "workflows_dir",
        conflicts_with = "workflows_dir"
    )]
    pub workflow: Option<PathBuf>,
    /// Serve every workflow file of this directory, each with its settings in `NAME.serve.yaml`
    /// beside it (slo_s, policy, model or model_file, platform, seed; see docs/serve.md). Reloaded on
    /// SIGHUP and `POST /v1/admin/reload`.
    #[arg(long, value_name = "DIR")]
    pub workflows_dir: Option<PathBuf>,
    /// End-to-end SLO, seconds (default: the workflow's `slo_s`). With --workflow only.
    #[arg(long, conflicts_with = "workflows_dir")]
    pub slo: Option<f64>,
    /// Policy: stepconf, intra-only, inter-only, replan (the dynamic ones). With --workflows-dir, the
    /// default of workflows whose settings do not name one.
    #[arg(long, default_value = "stepconf")]
    pub policy: String,
    /// Platform profile (default: built-in Lambda-like).
    #[arg(long)]
    pub platform: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Where executions' state lives: memory, or redis://HOST:PORT[/DB] (shared by replicas, kept
    /// across restarts).
    #[arg(long, default_value = "memory")]
    pub store: String,
    /// Key prefix in Redis.
    #[arg(long, default_value = "faastune:")]
    pub redis_prefix: String,
    /// Forget an execution after this many seconds without a call (DELETE ends one at once).
    #[arg(long, default_value_t = 86_400)]
    pub ttl_s: u64,
    /// Log filter: a level (info, debug) or `target=level,...`.
    #[arg(long, default_value = "info")]
    pub log: String,
    /// Log lines as JSON objects.
    #[arg(long)]
    pub log_json: bool,
    /// Require this API key (the file's content, 16 to 4096 visible characters) on every request but
    /// /healthz and /openapi.json; an EventBridge connection of type API_KEY sends it.
    #[arg(long, value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,
    /// The header that carries the API key (with `authorization`, the file holds `Bearer <token>`).
    #[arg(long, default_value = "x-api-key", requires = "api_key_file")]
    pub api_key_header: String,
}

/// Runs `faastune serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let format = if args.log_json {
        serve::LogFormat::Json
    } else {
        serve::LogFormat::Text
    };
    serve::init_logging(&args.log, format).context("--log")?;
    let model = match &args.model.model_file {
        Some(p) => ModelSpec::File(p.clone()),
        None => ModelSpec::Named(args.model.model.as_str().to_owned()),
    };
    if let Some(slo) = args.slo {
        crate::bounds::check_slo("--slo", slo)?;
    }
    let config = WorkflowConfig {
        workflow: args.workflow.clone().unwrap_or_default(),
        slo_s: args.slo,
        policy: args.policy.clone(),
        model,
        platform: args.platform.clone(),
        seed: args.model.seed,
        origin: "--workflow".to_owned(),
    };
    let source = match &args.workflows_dir {
        Some(dir) => {
            anyhow::ensure!(
                args.model.model_file.is_none(),
                "--model-file names one workflow's model: with --workflows-dir, give model_file in each NAME.serve.yaml"
            );
            Source::Dir {
                dir: dir.clone(),
                defaults: config,
            }
        }
        None => Source::Single(config),
    };
    let api_key = match &args.api_key_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--api-key-file {}", path.display()))?;
            Some(
                serve::ApiKey::new(&args.api_key_header, &text)
                    .with_context(|| format!("--api-key-file {}", path.display()))?,
            )
        }
        None => None,
    };
    let options = serve::RunOptions {
        listen: args.listen.clone(),
        store: args.store.clone(),
        redis_prefix: args.redis_prefix.clone(),
        ttl: Duration::from_secs(args.ttl_s),
        api_key,
    };
    let mut printed = Ok(());
    let r = serve::run(
        source,
        Arc::new(serve::config::StandardPredictors),
        &options,
        |l| {
            printed = outln!(
                "faastune serve: listening on http://{} ({} store; workflows: {})",
                l.addr,
                l.store,
                l.workflows.join(", ")
            )
            .and_then(|()| {
                use std::io::Write as _;
                std::io::stdout().flush()
            });
        },
    );
    printed?;
    r.map_err(anyhow::Error::from)
}
