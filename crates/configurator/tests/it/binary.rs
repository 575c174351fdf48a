//! The `faastune-configurator` binary: one event from a file, its start-up errors, and the Lambda
//! Runtime API loop (`lambda_runtime`) against a stand-in for Lambda's runtime endpoint on loopback.

use std::collections::VecDeque;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::{repo, tokio_rt, video_vars};

fn configurator(vars: &[(&str, String)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_faastune-configurator"));
    for (k, _) in std::env::vars() {
        if k.starts_with("FAASTUNE_") || k.starts_with("AWS_LAMBDA_") {
            c.env_remove(k);
        }
    }
    c.envs(vars.iter().map(|(k, v)| (k, v)));
    c
}

#[test]
fn one_event_from_a_file() {
    let ev = repo("crates/configurator/tests/events/call-decide-elapsed.json");
    let out = configurator(&video_vars("stepconf"))
        .args(["--event", ev.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["step"], "encode");
    assert_eq!(d["elapsed_s"], json!(21.5));
    assert!(d["alias"].as_str().unwrap().starts_with("faastune-"), "{d}");

    let bad = repo("crates/configurator/tests/events/bad-not_found-unknown-step.json");
    let out = configurator(&video_vars("stepconf"))
        .args(["--event", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("faastune.not_found") && err.contains("Transcode"),
        "{err}"
    );
}

#[test]
fn start_up_errors_are_clear() {
    // Not in Lambda, no event: says so.
    let out = configurator(&video_vars("stepconf")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not running in AWS Lambda") && err.contains("--event"),
        "{err}"
    );
    // A bad setting: names the variable.
    let mut vars = video_vars("stepconf");
    vars.push(("FAASTUNE_SLO_S", "-2".to_owned()));
    let out = configurator(&vars).args(["--event", "-"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("FAASTUNE_SLO_S"), "{err}");
    // Bad arguments: usage.
    let out = configurator(&vars).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FAASTUNE_WORKFLOW"));
}

/// What the stand-in runtime endpoint hands out and receives.
#[derive(Default)]
struct Endpoint {
    pending: VecDeque<(String, Value)>,
    /// (request id, "response" or "error", body)
    results: Vec<(String, String, Value)>,
}

type Shared = Arc<Mutex<Endpoint>>;

async fn next(State(s): State<Shared>) -> (HeaderMap, axum::Json<Value>) {
    loop {
        let item = s.lock().unwrap().pending.pop_front();
        if let Some((id, ev)) = item {
            let mut h = HeaderMap::new();
            h.insert(
                "lambda-runtime-aws-request-id",
                HeaderValue::from_str(&id).unwrap(),
            );
            h.insert(
                "lambda-runtime-deadline-ms",
                HeaderValue::from_static("4102444800000"),
            );
            h.insert(
                "lambda-runtime-invoked-function-arn",
                HeaderValue::from_static(
                    "arn:aws:lambda:us-east-1:123456789012:function:faastune-configurator",
                ),
            );
            h.insert(
                "lambda-runtime-trace-id",
                HeaderValue::from_static("Root=1-5e1b4151-5ac6c58f0f4f4b8a8e1c2d3e"),
            );
            return (h, axum::Json(ev));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn result(
    State(s): State<Shared>,
    Path((id, what)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
    s.lock().unwrap().results.push((id, what, v));
    axum::http::StatusCode::ACCEPTED
}

#[test]
fn the_lambda_runtime_loop_answers_each_invocation() {
    let events = vec![
        (
            "req-1",
            json!({"workflow": "video", "execution": "e1", "step": "extract", "elapsed_s": 0.0}),
        ),
        (
            "req-2",
            json!({"workflow": "video", "execution": "e1", "step": "extract", "elapsed_s": 0.1}),
        ),
        ("req-3", json!("not an object")),
        (
            "req-4",
            json!({"action": "finish", "execution": "e1", "step": "extract", "duration_s": 2.5}),
        ),
        (
            "req-5",
            json!({"execution": "e1", "step": "super_resolution", "elapsed_s": 2.6}),
        ),
        ("req-6", json!({"action": "end", "execution": "e1"})),
    ];
    let n = events.len();
    let shared: Shared = Arc::new(Mutex::new(Endpoint {
        pending: events.into_iter().map(|(i, e)| (i.to_owned(), e)).collect(),
        results: Vec::new(),
    }));
    let rt = tokio_rt();
    let results = rt.block_on(async {
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/{what}", post(result))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let mut vars = video_vars("stepconf");
        vars.extend([
            ("AWS_LAMBDA_RUNTIME_API", addr.to_string()),
            (
                "AWS_LAMBDA_FUNCTION_NAME",
                "faastune-configurator".to_owned(),
            ),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ]);
        let mut child = configurator(&vars)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let t0 = serve::clock::instant_now();
        loop {
            if shared.lock().unwrap().results.len() >= n {
                break;
            }
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                use std::io::Read as _;
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("the configurator exited ({status}): {err}");
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "no answers within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().ok();
        child.wait().ok();
        std::mem::take(&mut shared.lock().unwrap().results)
    });
    let by_id = |id: &str| {
        results
            .iter()
            .find(|(i, _, _)| i == id)
            .unwrap_or_else(|| panic!("no result for {id}: {results:?}"))
    };
    let (_, what, d) = by_id("req-1");
    assert_eq!(what, "response");
    assert_eq!(d["step"], "extract");
    assert!(d["memory_mb"].as_u64().unwrap() >= 128, "{d}");
    let (_, what, e) = by_id("req-2");
    assert_eq!(what, "error");
    assert_eq!(e["errorType"], "faastune.conflict", "{e}");
    assert!(
        e["errorMessage"]
            .as_str()
            .unwrap()
            .contains("already decided"),
        "{e}"
    );
    let (_, what, e) = by_id("req-3");
    assert_eq!(what, "error");
    assert_eq!(e["errorType"], "faastune.bad_request", "{e}");
    let (_, what, s) = by_id("req-4");
    assert_eq!(what, "response");
    assert_eq!(s["steps"][0]["finished"]["duration_s"], json!(2.5));
    assert_eq!(by_id("req-5").1, "response");
    let (_, what, s) = by_id("req-6");
    assert_eq!(what, "response");
    assert_eq!(s, &json!({"ended": "e1"}));
}
