//! Every route, and every error a client can cause, answered with a status and a message that names
//! the place.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::Value;
use serve::store::{MemoryStore, Store};

use crate::{app, call, decide, finish, memory_app, single};

#[tokio::test]
async fn every_route_answers() {
    let app = memory_app("synthetic16.yaml", "stepconf");
    let r = call(&app, "GET", "/healthz", "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["status"], "ok");
    assert_eq!(r.json["store"], "memory");

    let r = call(&app, "GET", "/v1/workflows", "").await;
    assert_eq!(r.json["default"], "synthetic16");
    assert_eq!(r.json["workflows"][0]["policy"], "stepconf");
    assert_eq!(r.json["workflows"][0]["slo_s"], 40.0);
    assert_eq!(
        r.json["workflows"][0]["steps"].as_array().unwrap().len(),
        16
    );
    let r = call(&app, "GET", "/v1/workflows/synthetic16", "").await;
    assert_eq!(r.json["model"], "oracle");

    // Both route forms reach the same execution.
    let d = decide(&app, "/v1", "e1", "s01", 0.05).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    let keys: BTreeSet<&str> = d
        .json
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    let want = [
        "alias",
        "elapsed_s",
        "execution",
        "fan_out",
        "memory_mb",
        "predicted_cost_usd",
        "predicted_duration_s",
        "request_idx",
        "step",
        "sub_slo_s",
        "workers",
        "workflow",
    ];
    assert_eq!(keys, want.into_iter().collect());
    let (m, w) = (
        d.json["memory_mb"].as_u64().unwrap(),
        d.json["workers"].as_u64().unwrap(),
    );
    assert_eq!(d.json["alias"], format!("faastune-{m}mb-w{w}"));
    assert!(d.json["sub_slo_s"].as_f64().unwrap() > 0.0);
    assert_eq!(d.json["request_idx"], 0);
    let f = finish(
        &app,
        "/v1/workflows/synthetic16",
        "e1",
        "s01",
        r#"{"duration_s": 2.0}"#.into(),
    )
    .await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.text);
    assert_eq!(f.json["steps"][0]["finished"]["duration_s"], 2.0);
    assert_eq!(f.json["steps"][0]["finished"]["start_s"], 0.05);
    let g = call(&app, "GET", "/v1/workflows/synthetic16/executions/e1", "").await;
    assert_eq!(g.json, f.json);
    let g2 = call(&app, "GET", "/v1/executions/e1", "").await;
    assert_eq!(g2.json, f.json);
    assert!(
        g.json["policy_state"]["step_conf"]["cache"].is_array(),
        "{}",
        g.text
    );

    // A second execution gets the next request index; started_at works as RFC 3339 and epoch seconds.
    let now = serve::clock::unix_now_s();
    let r = call(
        &app,
        "POST",
        "/v1/executions/e2/steps/s01/decide",
        format!(
            "{{\"started_at\": \"{}\"}}",
            serve::clock::format_rfc3339(now - 3600.0)
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["request_idx"], 1);
    let e = r.json["elapsed_s"].as_f64().unwrap();
    assert!((3599.0..3700.0).contains(&e), "{e}");
    let r = call(
        &app,
        "POST",
        "/v1/executions/e3/steps/s01/decide",
        format!("{{\"started_at\": {}}}", now - 5.0),
    )
    .await;
    let e = r.json["elapsed_s"].as_f64().unwrap();
    assert!((5.0..60.0).contains(&e), "{e}");

    let r = call(&app, "DELETE", "/v1/executions/e1", "").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = call(&app, "GET", "/v1/executions/e1", "").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = call(
        &app,
        "DELETE",
        "/v1/workflows/synthetic16/executions/e2",
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    let r = call(&app, "POST", "/v1/admin/reload", "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["kept"], serde_json::json!(["synthetic16"]));

    let r = call(&app, "GET", "/metrics", "").await;
    assert_eq!(r.status, StatusCode::OK);
    for line in [
        "faastune_serve_decisions_total{workflow=\"synthetic16\"} 3",
        "faastune_serve_observations_total{workflow=\"synthetic16\"} 1",
        "faastune_serve_decision_seconds_count{workflow=\"synthetic16\"} 3",
        "faastune_serve_decision_seconds_bucket{workflow=\"synthetic16\",le=\"+Inf\"} 3",
        "faastune_serve_executions{workflow=\"synthetic16\",store=\"memory\"} 1",
        "faastune_serve_executions_ended_total{workflow=\"synthetic16\",how=\"deleted\"} 2",
        "faastune_serve_errors_total{kind=\"not_found\"} 1",
        "faastune_serve_reloads_total{result=\"ok\"} 1",
        "faastune_serve_panics_total 0",
        "faastune_serve_workflows 1",
    ] {
        assert!(r.text.contains(line), "missing {line} in\n{}", r.text);
    }
    // Every sample line is `name{labels} number` or `name number`.
    for l in r.text.lines().filter(|l| !l.starts_with('#')) {
        let (_, v) = l.rsplit_once(' ').unwrap();
        assert!(v.parse::<f64>().is_ok(), "{l}");
    }
}

#[tokio::test]
async fn openapi_document_lists_exactly_the_routes() {
    let app = memory_app("synthetic16.yaml", "stepconf");
    let r = call(&app, "GET", "/openapi.json", "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = BTreeSet::new();
    for (path, ops) in r.json["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let routed: BTreeSet<(String, String)> = serve::http::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, routed);
    // Every listed route is routed (the fallbacks' messages say "no route" / "does not take").
    for (method, path) in &routed {
        let uri = path
            .replace("{workflow}", "synthetic16")
            .replace("{id}", "x")
            .replace("{step}", "s01");
        let r = call(&app, method, &uri, "{}").await;
        assert!(
            !r.message().contains("no route") && !r.message().contains("does not take"),
            "{method} {uri}: {}",
            r.text
        );
    }
    // Every $ref resolves.
    let text = &r.text;
    for part in text.split("\"$ref\": \"#/").skip(1) {
        let pointer = format!("/{}", &part[..part.find('"').unwrap()]);
        assert!(r.json.pointer(&pointer).is_some(), "{pointer}");
    }
}

/// Asserts an error answer: status, kind, and that the message contains every `words`.
fn err(r: &crate::Resp, status: u16, kind: &str, words: &[&str]) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(r.kind(), kind, "{}", r.text);
    for w in words {
        assert!(r.message().contains(w), "{w:?} not in {}", r.text);
    }
}

#[tokio::test]
async fn bad_requests_are_refused_with_the_place() {
    let app = memory_app("synthetic16.yaml", "stepconf");
    let d = |body: &'static str| {
        let app = app.clone();
        async move { call(&app, "POST", "/v1/executions/e/steps/s01/decide", body).await }
    };
    err(
        &d(r#"{"elapsed_s": -1}"#).await,
        400,
        "bad_request",
        &["elapsed_s -1", ">= 0"],
    );
    err(
        &d(r#"{"elapsed_s": NaN}"#).await,
        400,
        "bad_request",
        &["body:", "line 1"],
    );
    err(
        &d(r#"{"elapsed_s": 1e999}"#).await,
        400,
        "bad_request",
        &["body:"],
    );
    err(
        &d(r#"{"elapsed_s": 4e7}"#).await,
        400,
        "bad_request",
        &["over a year"],
    );
    err(
        &d(r#"{"elapsed_s": "3"}"#).await,
        400,
        "bad_request",
        &["invalid type"],
    );
    err(
        &d(r#"{"elapsed": 3}"#).await,
        400,
        "bad_request",
        &["unknown field `elapsed`"],
    );
    err(
        &d(r#"{"elapsed_s": 1, "started_at": 0}"#).await,
        400,
        "bad_request",
        &["not both"],
    );
    err(
        &d("{}").await,
        400,
        "bad_request",
        &["give elapsed_s or started_at"],
    );
    err(&d("").await, 400, "bad_request", &["body is empty"]);
    err(&d("{\"elapsed_s\": 1").await, 400, "bad_request", &["EOF"]);
    err(&d("[1]").await, 400, "bad_request", &["body:"]);
    err(
        &d(r#"{"started_at": "yesterday"}"#).await,
        400,
        "bad_request",
        &["started_at", "RFC 3339"],
    );
    err(
        &d(r#"{"started_at": "2999-01-01T00:00:00Z"}"#).await,
        400,
        "bad_request",
        &["in the future"],
    );
    err(
        &d(r#"{"started_at": true}"#).await,
        400,
        "bad_request",
        &["started_at: true"],
    );
    err(
        &d(r#"{"started_at": 1}"#).await,
        400,
        "bad_request",
        &["more than a year ago"],
    );
    let big = format!("{{\"elapsed_s\": 1, \"pad\": \"{}\"}}", "x".repeat(20_000));
    let r = call(&app, "POST", "/v1/executions/e/steps/s01/decide", big).await;
    err(&r, 413, "payload_too_large", &["16384 bytes"]);
    // Nothing above started the execution.
    err(
        &call(&app, "GET", "/v1/executions/e", "").await,
        404,
        "not_found",
        &["no execution 'e'"],
    );

    err(
        &decide(&app, "/v1/workflows/nope", "e", "s01", 1.0).await,
        404,
        "not_found",
        &["no workflow 'nope'", "synthetic16"],
    );
    err(
        &decide(&app, "/v1", "e", "s99", 1.0).await,
        404,
        "not_found",
        &["no step 's99'", "s01, s02"],
    );
    err(
        &decide(&app, "/v1", "%01bad", "s01", 1.0).await,
        400,
        "bad_request",
        &["execution id", "control"],
    );
    let long = "x".repeat(300);
    err(
        &decide(&app, "/v1", &long, "s01", 1.0).await,
        400,
        "bad_request",
        &["1 to 256 bytes"],
    );
    err(
        &call(&app, "GET", "/v2/nothing", "").await,
        404,
        "not_found",
        &["no route GET /v2/nothing"],
    );
    err(
        &call(&app, "PUT", "/v1/executions/e", "").await,
        405,
        "method_not_allowed",
        &["does not take PUT"],
    );
    err(
        &call(&app, "DELETE", "/v1/executions/never", "").await,
        404,
        "not_found",
        &["no execution 'never'"],
    );

    let f = |body: &'static str| {
        let app = app.clone();
        async move { finish(&app, "/v1", "f", "s01", body.into()).await }
    };
    err(
        &f(r#"{"duration_s": 1}"#).await,
        409,
        "conflict",
        &["'s01'", "not decided"],
    );
    assert_eq!(
        decide(&app, "/v1", "f", "s01", 0.0).await.status,
        StatusCode::OK
    );
    err(
        &f("{}").await,
        400,
        "bad_request",
        &["missing field `duration_s`"],
    );
    err(
        &f(r#"{"duration_s": -2}"#).await,
        400,
        "bad_request",
        &["duration_s -2"],
    );
    err(
        &f(r#"{"duration_s": 1, "cost_usd": -1}"#).await,
        400,
        "bad_request",
        &["cost_usd -1"],
    );
    err(
        &f(r#"{"duration_s": 1, "n_cold_starts": -1}"#).await,
        400,
        "bad_request",
        &["body:"],
    );
    err(
        &f(r#"{"duration_s": 1, "start_s": -1}"#).await,
        400,
        "bad_request",
        &["start_s -1"],
    );
    assert_eq!(f(r#"{"duration_s": 1}"#).await.status, StatusCode::OK);
    err(
        &f(r#"{"duration_s": 1}"#).await,
        409,
        "conflict",
        &["already finished"],
    );

    let r = call(&app, "GET", "/metrics", "").await;
    assert!(
        r.text
            .contains("faastune_serve_errors_total{kind=\"bad_request\"} 22"),
        "{}",
        r.text
    );
    assert!(
        r.text
            .contains("faastune_serve_errors_total{kind=\"payload_too_large\"} 1")
    );
    assert!(
        r.text
            .contains("faastune_serve_errors_total{kind=\"method_not_allowed\"} 1")
    );
}

#[tokio::test]
async fn a_step_decided_twice_is_a_conflict_and_changes_nothing() {
    let app = memory_app("synthetic16.yaml", "stepconf");
    let first = decide(&app, "/v1", "e", "s01", 0.0).await;
    assert_eq!(first.status, StatusCode::OK);
    let before = call(&app, "GET", "/v1/executions/e", "").await.json;
    let again = decide(&app, "/v1", "e", "s01", 7.0).await;
    let mb = first.json["memory_mb"].to_string();
    err(
        &again,
        409,
        "conflict",
        &[
            "'s01'",
            "already decided",
            &format!("{mb} MB"),
            "nothing changed",
        ],
    );
    let after = call(&app, "GET", "/v1/executions/e", "").await.json;
    assert_eq!(before, after);
    // A step that is not a task is never configured; its finish needs a start time.
    let app = memory_app("ecommerce.yaml", "stepconf");
    let wf = call(&app, "GET", "/v1/workflows", "").await.json;
    let pass = wf["workflows"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "pass")
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .unwrap();
    err(
        &decide(&app, "/v1", "e", &pass, 1.0).await,
        409,
        "conflict",
        &["pass step", "only task steps"],
    );
    err(
        &finish(&app, "/v1", "e", &pass, r#"{"duration_s": 1}"#.into()).await,
        400,
        "bad_request",
        &["give start_s"],
    );
    let r = finish(
        &app,
        "/v1",
        "e",
        &pass,
        r#"{"duration_s": 1, "start_s": 2}"#.into(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn forgotten_executions_expire() {
    let app = app(
        single("synthetic16.yaml", "stepconf"),
        Store::Memory(MemoryStore::new(Duration::from_millis(50))),
    );
    assert_eq!(
        decide(&app, "/v1", "old", "s01", 0.0).await.status,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(
        decide(&app, "/v1", "new", "s01", 0.0).await.status,
        StatusCode::OK
    );
    app.sweep();
    assert_eq!(
        call(&app, "GET", "/v1/executions/old", "").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, "GET", "/v1/executions/new", "").await.status,
        StatusCode::OK
    );
    let m = call(&app, "GET", "/metrics", "").await.text;
    assert!(m.contains("how=\"expired\"} 1"), "{m}");
    let _: Value = Value::Null;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_decisions_of_one_step_give_one_decision() {
    for policy in ["stepconf", "replan"] {
        let app = memory_app("synthetic16.yaml", policy);
        for round in 0..5 {
            let id = format!("e{round}");
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let (app, id) = (app.clone(), id.clone());
                    tokio::spawn(async move {
                        decide(&app, "/v1", &id, "s01", 0.0).await.status.as_u16()
                    })
                })
                .collect();
            let mut statuses = Vec::new();
            for t in tasks {
                statuses.push(t.await.unwrap());
            }
            statuses.sort_unstable();
            assert_eq!(
                statuses,
                [200, 409, 409, 409, 409, 409, 409, 409],
                "{policy} round {round}"
            );
        }
    }
}
