//! The Lambda configurator: recorded events (events.rs), the same decisions as the HTTP service
//! (identity.rs), settings from the environment (settings.rs), and the binary, locally and behind a
//! stand-in Lambda Runtime API (binary.rs).

mod binary;
mod events;
mod identity;
mod settings;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use configurator::Settings;
use serde_json::Value;
use serve::App;

/// A path under the repository root.
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// Settings from `vars` (nothing else of the environment).
pub fn settings(vars: &[(&str, &str)]) -> Result<Settings, serve::Error> {
    let map: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Settings::from_vars(|k| map.get(k).cloned())
}

/// The environment the tests serve: examples/video.yaml, the oracle model, `policy`, memory store.
pub fn video_vars(policy: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "FAASTUNE_WORKFLOW",
            repo("examples/video.yaml").display().to_string(),
        ),
        ("FAASTUNE_MODEL", "oracle".to_owned()),
        ("FAASTUNE_POLICY", policy.to_owned()),
    ]
}

/// A configurator serving examples/video.yaml with `policy` (oracle model, memory store).
pub fn video_app(policy: &str) -> Arc<App> {
    let vars = video_vars(policy);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let s = settings(&vars).expect("settings");
    tokio_rt().block_on(configurator::open(&s)).expect("app")
}

/// A runtime for one test.
pub fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Recorded event `name` from tests/events/, its `started_at` (if any) moved to `ago_s` seconds before
/// now in the same RFC 3339 form.
pub fn recorded(name: &str, ago_s: f64) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/events")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut v: Value = serde_json::from_str(&text).unwrap();
    if let Some(at) = v
        .get_mut("started_at")
        .filter(|at| serve::clock::parse_rfc3339(at.as_str().unwrap_or("")).is_ok())
    {
        *at = Value::String(serve::clock::format_rfc3339(
            serve::clock::unix_now_s() - ago_s,
        ));
    }
    v
}
