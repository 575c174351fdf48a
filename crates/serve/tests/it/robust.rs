//! No input reaches the panic backstop: random methods, paths (known routes with random segments)
//! and bodies (random bytes, JSON with random numbers and fields) through the router; every answer is
//! a 2xx or a 4xx with a JSON error, and the panic counter stays 0.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use proptest::prelude::*;
use serve::App;

use crate::{call, memory_app};

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("s01".to_owned()),
        Just("s16".to_owned()),
        Just("e1".to_owned()),
        Just("synthetic16".to_owned()),
        Just("%00".to_owned()),
        Just("%FF%FE".to_owned()),
        Just("..".to_owned()),
        "[a-z0-9]{0,12}",
        "\\PC{0,8}".prop_map(|s| s.bytes().map(|b| format!("%{b:02X}")).collect()),
    ]
}

fn path() -> impl Strategy<Value = String> {
    (0usize..8, segment(), segment(), segment()).prop_map(|(shape, a, b, c)| match shape {
        0 => format!("/v1/executions/{a}/steps/{b}/decide"),
        1 => format!("/v1/executions/{a}/steps/{b}/finish"),
        2 => format!("/v1/executions/{a}"),
        3 => format!("/v1/workflows/{a}/executions/{b}/steps/{c}/decide"),
        4 => format!("/v1/workflows/{a}/executions/{b}/steps/{c}/finish"),
        5 => format!("/v1/workflows/{a}"),
        6 => format!("/{a}/{b}"),
        _ => format!("/v1/workflows/{a}/executions/{b}"),
    })
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>().prop_map(|x| format!("{x:e}")),
        any::<i64>().prop_map(|x| x.to_string()),
        Just("1e999".to_owned()),
        Just("-0".to_owned()),
        Just("NaN".to_owned()),
        Just("\"12\"".to_owned()),
        Just("null".to_owned()),
        Just("\"2026-02-30T00:00:00Z\"".to_owned()),
        Just("\"2026-01-01T00:00:00+99:99\"".to_owned()),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let field = prop_oneof![
        Just("elapsed_s"),
        Just("started_at"),
        Just("duration_s"),
        Just("start_s"),
        Just("cost_usd"),
        Just("n_cold_starts"),
        Just("x"),
    ];
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec((field, number()), 0..4).prop_map(|fs| {
            let inner: Vec<String> = fs.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
            format!("{{{}}}", inner.join(", ")).into_bytes()
        }),
    ]
}

fn method() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("GET"), Just("POST"), Just("DELETE"), Just("PUT")]
}

#[test]
fn no_input_reaches_the_panic_backstop() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let apps: Vec<Arc<App>> = vec![
        memory_app("synthetic16.yaml", "stepconf"),
        memory_app("video.yaml", "replan"),
    ];
    let config = ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(m in method(), p in path(), b in body(), which in 0usize..2)| {
        let r = rt.block_on(call(&apps[which], m, &p, b));
        let s = r.status.as_u16();
        prop_assert!(
            (200..300).contains(&s) || (400..500).contains(&s),
            "{m} {p}: {s} {}", r.text
        );
        if s >= 400 {
            prop_assert!(!r.message().is_empty(), "{m} {p}: {}", r.text);
        }
    });
    assert_eq!(serve::metrics::PANICS.load(Ordering::Relaxed), 0);
}
