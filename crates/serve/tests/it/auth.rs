//! The API key (`faastune serve --api-key-file`): every route but /healthz and /openapi.json needs it;
//! a request without it or with another one is a 401 that changes nothing and is counted.

use std::sync::Arc;

use serve::{ApiKey, App};

use crate::{call, call_with, memory_app};

const KEY: &str = "s3cr3t-k3y-0123456789";

fn keyed(header: &str, value: &str) -> Arc<App> {
    let app =
        Arc::try_unwrap(memory_app("video.yaml", "stepconf")).unwrap_or_else(|_| unreachable!());
    Arc::new(app.with_api_key(ApiKey::new(header, value).unwrap()))
}

#[tokio::test]
async fn requests_need_the_key_except_health_and_the_api_document() {
    let app = keyed("x-api-key", KEY);
    assert_eq!(call(&app, "GET", "/healthz", "").await.status, 200);
    assert_eq!(call(&app, "GET", "/openapi.json", "").await.status, 200);
    let decide = "/v1/executions/e1/steps/extract/decide";
    let body = r#"{"elapsed_s": 0}"#;
    let r = call(&app, "POST", decide, body).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.kind(), "unauthorized");
    assert!(r.message().contains("x-api-key is missing"), "{}", r.text);
    let wrong = "s3cr3t-k3y-0123456780";
    let r = call_with(&app, "POST", decide, &[("x-api-key", wrong)], body).await;
    assert_eq!(r.status, 401);
    assert!(
        r.message().contains("is not the service's key"),
        "{}",
        r.text
    );
    // Nothing was decided by the refused requests.
    let r = call_with(&app, "GET", "/v1/executions/e1", &[("x-api-key", KEY)], "").await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = call_with(&app, "POST", decide, &[("X-Api-Key", KEY)], body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // /metrics is protected too, and counts the refusals.
    assert_eq!(call(&app, "GET", "/metrics", "").await.status, 401);
    let m = call_with(&app, "GET", "/metrics", &[("x-api-key", KEY)], "").await;
    assert!(
        m.text
            .contains("faastune_serve_errors_total{kind=\"unauthorized\"} 3"),
        "{}",
        m.text
    );
    // An unknown route is refused before it is looked up (no route list for strangers).
    assert_eq!(call(&app, "GET", "/v1/nowhere", "").await.status, 401);
}

#[tokio::test]
async fn a_bearer_token_in_authorization() {
    let app = keyed("Authorization", "Bearer abcdefghijklmnopqrstuvwxyz");
    let r = call_with(
        &app,
        "GET",
        "/v1/workflows",
        &[("authorization", "Bearer abcdefghijklmnopqrstuvwxyz")],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = call_with(
        &app,
        "GET",
        "/v1/workflows",
        &[("authorization", "abcdefghijklmnopqrstuvwxyz")],
        "",
    )
    .await;
    assert_eq!(r.status, 401);
}

#[test]
fn bad_keys_are_refused_with_the_rule() {
    for (h, v, needle) in [
        ("x api key", KEY, "header"),
        ("", KEY, "header"),
        ("x-api-key", "short", "16 to 4096"),
        ("x-api-key", "tab\tinside-0123456789", "visible ASCII"),
    ] {
        let e = ApiKey::new(h, v).unwrap_err().to_string();
        assert!(e.contains(needle), "{h:?} {v:?}: {e}");
    }
    // A trailing newline (as `echo KEY > file` writes) is not part of the key.
    let k = ApiKey::new("x-api-key", &format!("{KEY}\n")).unwrap();
    assert!(k.matches(KEY.as_bytes()));
    assert!(!k.matches(b"s3cr3t"));
}
