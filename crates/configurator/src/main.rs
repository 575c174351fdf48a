//! `faastune-configurator`: in AWS Lambda (`provided.al2023`, the binary deployed as `bootstrap`) it
//! serves the Lambda Runtime API; `faastune-configurator --event FILE` (or `-` for standard input)
//! answers one event locally with the same settings and prints the answer. See the library's docs.

use std::io::Read as _;
use std::process::ExitCode;
use std::sync::Arc;

use configurator::{ENV_VARS, Settings, error_type, handle};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

/// A failed invocation, as the Lambda service reports it to the caller.
#[derive(Debug)]
struct Failure(serve::Error);

impl From<Failure> for Diagnostic {
    fn from(f: Failure) -> Self {
        Diagnostic {
            error_type: error_type(&f.0),
            error_message: f.0.to_string(),
        }
    }
}

/// The variables the Lambda runtime sets; without them this is not running in Lambda.
const LAMBDA_VARS: [&str; 4] = [
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

fn usage() -> String {
    let mut s = String::from(
        "faastune-configurator: StepConf's per-step configurator as an AWS Lambda function.\n\n\
         usage: faastune-configurator               (inside AWS Lambda: serves the Runtime API)\n       \
         faastune-configurator --event FILE  (answers one event from FILE, - for stdin)\n\n\
         settings (environment):\n",
    );
    for (k, v) in ENV_VARS {
        s.push_str(&format!("  {k}: {v}\n"));
    }
    s.push_str(
        "\ndocs/serve.md, \"The Lambda configurator\", has the events and the deployment.\n",
    );
    s
}

enum Mode {
    Lambda,
    Event(String),
    Help,
}

fn mode(args: &[String]) -> Result<Mode, String> {
    match args {
        [] => Ok(Mode::Lambda),
        [h] if h == "--help" || h == "-h" => Ok(Mode::Help),
        [e, f] if e == "--event" => Ok(Mode::Event(f.clone())),
        _ => Err(format!("unexpected arguments {args:?}\n\n{}", usage())),
    }
}

fn read_event(path: &str) -> Result<Value, String> {
    let text = if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("standard input: {e}"))?;
        s
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?
    };
    serde_json::from_str(&text).map_err(|e| format!("{path}: not JSON: {e}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match mode(&args) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("faastune-configurator: {e}");
            return ExitCode::from(2);
        }
    };
    if let Mode::Help = mode {
        print!("{}", usage());
        return ExitCode::SUCCESS;
    }
    match run(mode) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("faastune-configurator: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(mode: Mode) -> Result<(), String> {
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    serve::init_logging(&settings.log, serve::LogFormat::Json)
        .map_err(|e| format!("FAASTUNE_LOG: {e}"))?;
    let event = match &mode {
        Mode::Event(path) => Some(read_event(path)?),
        _ => None,
    };
    if event.is_none() {
        let missing: Vec<&str> = LAMBDA_VARS
            .into_iter()
            .filter(|k| std::env::var_os(k).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "not running in AWS Lambda ({} unset); to try an event locally: faastune-configurator --event FILE",
                missing.join(", ")
            ));
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    rt.block_on(async move {
        let app = configurator::open(&settings)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(
            workflows = ?app.registry().workflows.keys().collect::<Vec<_>>(),
            store = app.store.kind(),
            "configurator ready"
        );
        match event {
            Some(ev) => {
                let answer = handle(&app, ev)
                    .await
                    .map_err(|e| format!("{}: {e}", error_type(&e)))?;
                println!("{answer}");
                Ok(())
            }
            None => lambda(app).await,
        }
    })
}

async fn lambda(app: Arc<serve::App>) -> Result<(), String> {
    let handler = service_fn(move |ev: LambdaEvent<Value>| {
        let app = app.clone();
        async move { handle(&app, ev.payload).await.map_err(Failure) }
    });
    lambda_runtime::run(handler)
        .await
        .map_err(|e| format!("Lambda runtime: {e}"))
}
