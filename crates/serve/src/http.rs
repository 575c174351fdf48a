//! The HTTP API (axum): routes, request bodies, JSON answers and errors. `openapi.json` beside this
//! crate's `Cargo.toml` describes the same routes (a test checks that every route it lists answers and
//! that the router has no route it does not list).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::app::App;
use crate::engine::{Engine, FinishReport, kind_name};
use crate::state::{Decided, ExecState, Finished};
use crate::{Error, clock};

/// The largest request body accepted, bytes (larger: 413).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub use crate::clock::MAX_CLOCK_SKEW_S;

/// The OpenAPI 3 document of this API.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// Every route: method and path, as `openapi.json` lists them.
pub const ROUTES: [(&str, &str); 14] = [
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/v1/workflows"),
    ("GET", "/v1/workflows/{workflow}"),
    ("POST", "/v1/admin/reload"),
    ("POST", "/v1/executions/{id}/steps/{step}/decide"),
    ("POST", "/v1/executions/{id}/steps/{step}/finish"),
    ("GET", "/v1/executions/{id}"),
    ("DELETE", "/v1/executions/{id}"),
    (
        "POST",
        "/v1/workflows/{workflow}/executions/{id}/steps/{step}/decide",
    ),
    (
        "POST",
        "/v1/workflows/{workflow}/executions/{id}/steps/{step}/finish",
    ),
    ("GET", "/v1/workflows/{workflow}/executions/{id}"),
    ("DELETE", "/v1/workflows/{workflow}/executions/{id}"),
];

/// The router of `app`, with the body limit and the panic backstop (a panic answers 500 and is
/// counted; no input is meant to reach it).
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/v1/workflows", get(workflows))
        .route("/v1/workflows/{workflow}", get(workflow_info))
        .route("/v1/admin/reload", post(reload))
        .route(
            "/v1/executions/{id}/steps/{step}/decide",
            post(decide_default),
        )
        .route(
            "/v1/executions/{id}/steps/{step}/finish",
            post(finish_default),
        )
        .route(
            "/v1/executions/{id}",
            get(get_default).delete(delete_default),
        )
        .route(
            "/v1/workflows/{workflow}/executions/{id}/steps/{step}/decide",
            post(decide_named),
        )
        .route(
            "/v1/workflows/{workflow}/executions/{id}/steps/{step}/finish",
            post(finish_named),
        )
        .route(
            "/v1/workflows/{workflow}/executions/{id}",
            get(get_named).delete(delete_named),
        )
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            require_key,
        ))
        .with_state(app)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(on_panic))
}

/// Refuses a request without the service's API key (when it has one); `/healthz` and `/openapi.json`
/// are open, for load balancers and clients.
async fn require_key(
    State(app): State<Arc<App>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(key) = &app.api_key {
        let path = req.uri().path();
        if path != "/healthz" && path != "/openapi.json" {
            let given = req.headers().get(key.header.as_str());
            if !given.is_some_and(|v| key.matches(v.as_bytes())) {
                let why = if given.is_some() {
                    "is not the service's key"
                } else {
                    "is missing"
                };
                return fail(
                    &app,
                    Error::Unauthorized(format!("header {} {why}", key.header)),
                );
            }
        }
    }
    next.run(req).await
}

fn on_panic(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    crate::metrics::PANICS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::error!("a request handler panicked (a bug); answered 500");
    error_body(&Error::Internal(
        "internal error (a bug: the request handler panicked)".to_owned(),
    ))
}

fn error_body(e: &Error) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"error": {"kind": e.kind(), "message": e.to_string()}});
    (status, axum::Json(body)).into_response()
}

/// The answer to a failed request: logged, counted, JSON `{"error": {"kind", "message"}}`.
fn fail(app: &App, e: Error) -> Response {
    app.metrics.error(e.kind());
    if e.status() >= 500 {
        tracing::warn!(kind = e.kind(), error = %e, "request failed");
    } else {
        tracing::debug!(kind = e.kind(), error = %e, "request refused");
    }
    error_body(&e)
}

fn ok<T: Serialize>(x: &T) -> Response {
    axum::Json(x).into_response()
}

async fn no_route(State(app): State<Arc<App>>, method: Method, uri: Uri) -> Response {
    fail(
        &app,
        Error::NotFound(format!(
            "no route {method} {}; see GET /openapi.json",
            uri.path()
        )),
    )
}

async fn no_method(State(app): State<Arc<App>>, method: Method, uri: Uri) -> Response {
    fail(
        &app,
        Error::MethodNotAllowed(format!(
            "{} does not take {method}; see GET /openapi.json",
            uri.path()
        )),
    )
}

fn path_error(r: PathRejection) -> Error {
    Error::BadRequest(format!("path: {}", r.body_text()))
}

fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Error> {
    body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::PayloadTooLarge(format!("body is larger than {MAX_BODY_BYTES} bytes"))
        } else {
            Error::BadRequest(format!("body: {}", r.body_text()))
        }
    })
}

fn parse_json<T: for<'de> Deserialize<'de>>(bytes: &[u8], example: &str) -> Result<T, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::BadRequest(format!(
            "body is empty: expected a JSON object such as {example}"
        )));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        Error::BadRequest(format!(
            "body: {e} (expected a JSON object such as {example})"
        ))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecideBody {
    elapsed_s: Option<f64>,
    started_at: Option<Value>,
}

const DECIDE_EXAMPLE: &str = r#"{"elapsed_s": 12.5} or {"started_at": "2026-05-01T12:00:00Z"}"#;

/// Seconds since the execution started, from `elapsed_s` or `started_at`.
fn elapsed_of(body: &DecideBody) -> Result<f64, Error> {
    clock::elapsed_since_start(body.elapsed_s, body.started_at.as_ref(), DECIDE_EXAMPLE)
}

async fn decide(
    app: &App,
    wf: Option<&str>,
    id: &str,
    step: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Error> {
    let t0 = clock::instant_now();
    let bytes = body_bytes(body)?;
    let engine = app.engine(wf)?;
    let req: DecideBody = parse_json(&bytes, DECIDE_EXAMPLE)?;
    let elapsed_s = elapsed_of(&req)?;
    let d = engine.decide(&app.store, id, step, elapsed_s).await?;
    let response = ok(&d);
    engine.metrics.latency(t0.elapsed().as_secs_f64());
    tracing::debug!(
        workflow = %d.workflow, execution = %d.execution, step = %d.step,
        elapsed_s = d.elapsed_s, memory_mb = d.memory_mb, fan_out = d.fan_out,
        workers = d.workers, sub_slo_s = d.sub_slo_s, "decided"
    );
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FinishBody {
    duration_s: f64,
    start_s: Option<f64>,
    cost_usd: Option<f64>,
    n_cold_starts: Option<u32>,
}

const FINISH_EXAMPLE: &str = r#"{"duration_s": 3.2, "n_cold_starts": 1}"#;

async fn finish(
    app: &App,
    wf: Option<&str>,
    id: &str,
    step: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Error> {
    let bytes = body_bytes(body)?;
    let engine = app.engine(wf)?;
    let req: FinishBody = parse_json(&bytes, FINISH_EXAMPLE)?;
    let report = FinishReport {
        duration_s: req.duration_s,
        start_s: req.start_s,
        cost_usd: req.cost_usd.unwrap_or(0.0),
        n_cold_starts: req.n_cold_starts.unwrap_or(0),
    };
    let state = engine.finish(&app.store, id, step, report).await?;
    tracing::debug!(workflow = %engine.name, execution = %id, step = %step,
        duration_s = req.duration_s, "finished");
    Ok(ok(&view(&engine, id, &state)))
}

/// An execution as `GET .../executions/{id}` shows it (and the Lambda configurator's `get` and
/// `finish` answer it).
#[derive(Serialize)]
pub struct ExecView<'a> {
    workflow: &'a str,
    execution: &'a str,
    request_idx: u64,
    steps: Vec<StepView<'a>>,
    policy_state: &'a optimizer::RequestState,
}

#[derive(Serialize)]
struct StepView<'a> {
    step: &'a str,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    decided: Option<Decided>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished: Option<Finished>,
}

/// Execution `id` of `engine` in state `s`, as the API shows it.
pub fn view<'a>(engine: &'a Engine, id: &'a str, s: &'a ExecState) -> ExecView<'a> {
    ExecView {
        workflow: &engine.name,
        execution: id,
        request_idx: s.request_idx,
        steps: engine
            .workflow
            .steps()
            .iter()
            .zip(&s.steps)
            .map(|(st, r)| StepView {
                step: &st.name,
                kind: kind_name(st.kind),
                decided: r.decided,
                finished: r.finished,
            })
            .collect(),
        policy_state: &s.policy,
    }
}

async fn get_exec(app: &App, wf: Option<&str>, id: &str) -> Result<Response, Error> {
    let engine = app.engine(wf)?;
    let state = engine.get(&app.store, id).await?;
    Ok(ok(&view(&engine, id, &state)))
}

async fn delete_exec(app: &App, wf: Option<&str>, id: &str) -> Result<Response, Error> {
    let engine = app.engine(wf)?;
    engine.delete(&app.store, id).await?;
    tracing::debug!(workflow = %engine.name, execution = %id, "deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn answer(app: &App, r: Result<Response, Error>) -> Response {
    r.unwrap_or_else(|e| fail(app, e))
}

async fn decide_default(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let r = match path {
        Ok(Path((id, step))) => decide(&app, None, &id, &step, body).await,
        Err(e) => Err(path_error(e)),
    };
    answer(&app, r)
}

async fn decide_named(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let r = match path {
        Ok(Path((wf, id, step))) => decide(&app, Some(&wf), &id, &step, body).await,
        Err(e) => Err(path_error(e)),
    };
    answer(&app, r)
}

async fn finish_default(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let r = match path {
        Ok(Path((id, step))) => finish(&app, None, &id, &step, body).await,
        Err(e) => Err(path_error(e)),
    };
    answer(&app, r)
}

async fn finish_named(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let r = match path {
        Ok(Path((wf, id, step))) => finish(&app, Some(&wf), &id, &step, body).await,
        Err(e) => Err(path_error(e)),
    };
    answer(&app, r)
}

async fn get_default(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let r = match path {
        Ok(Path(id)) => get_exec(&app, None, &id).await,
        Err(e) => Err(path_error(e)),
    };
    answer(&app, r)
}

async fn get_named(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let r = match path {
        Ok(Path((wf, id))) => get_exec(&app, Some(&wf), &id).await,
        Err(e) => Err(path_error(e)),
    };
    answer(&app, r)
}

async fn delete_default(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let r = match path {
        Ok(Path(id)) => delete_exec(&app, None, &id).await,
        Err(e) => Err(path_error(e)),
    };
    answer(&app, r)
}

async fn delete_named(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let r = match path {
        Ok(Path((wf, id))) => delete_exec(&app, Some(&wf), &id).await,
        Err(e) => Err(path_error(e)),
    };
    answer(&app, r)
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    let n = app.registry().workflows.len();
    match app.store.ping().await {
        Ok(()) => ok(&json!({"status": "ok", "store": app.store.kind(), "workflows": n})),
        Err(e) => {
            app.metrics.error(e.kind());
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({
                    "status": "unavailable",
                    "store": app.store.kind(),
                    "workflows": n,
                    "error": {"kind": e.kind(), "message": e.to_string()},
                })),
            )
                .into_response()
        }
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let reg = app.registry();
    let mut served = Vec::with_capacity(reg.workflows.len());
    for name in reg.workflows.keys() {
        served.push((name.clone(), app.store.count(name).await.ok()));
    }
    let text = app.metrics.render(&served, app.store.kind());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI_JSON,
    )
        .into_response()
}

fn info(e: &Engine) -> Value {
    json!({
        "name": e.name,
        "slo_s": e.slo_s,
        "policy": e.config.policy,
        "model": e.config.model.label(),
        "platform": e.platform.spec().name,
        "origin": e.config.origin,
        "steps": e.workflow.steps().iter().map(|s| json!({"name": s.name, "kind": kind_name(s.kind)})).collect::<Vec<_>>(),
        "decisions": e.metrics.decisions(),
    })
}

async fn workflows(State(app): State<Arc<App>>) -> Response {
    let reg = app.registry();
    ok(&json!({
        "default": reg.default,
        "workflows": reg.workflows.values().map(|e| info(e)).collect::<Vec<_>>(),
    }))
}

async fn workflow_info(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let r = path
        .map_err(path_error)
        .and_then(|Path(wf)| app.engine(Some(&wf)))
        .map(|e| ok(&info(&e)));
    answer(&app, r)
}

async fn reload(State(app): State<Arc<App>>) -> Response {
    let r = app.reload().await.map(|report| ok(&report));
    answer(&app, r)
}
