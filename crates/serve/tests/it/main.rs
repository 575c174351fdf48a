//! Integration tests of the decision service: every route and error through the router in the process
//! (no socket), decisions against the simulator's own policy objects, Redis-backed state across
//! restarts and replicas (a redis-server of their own on a free loopback port), reloads, and inputs
//! that must never reach the panic backstop.

mod api;
mod auth;
mod identity;
mod redis_state;
mod reload;
mod robust;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use serve::App;
use serve::config::{ModelSpec, OracleOnly, Source, WorkflowConfig};
use serve::store::{MemoryStore, RedisStore, Store};
use tower::ServiceExt as _;

/// An example workflow's path.
pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

/// One workflow from flags: `file` under examples/, the oracle model.
pub fn single(file: &str, policy: &str) -> Source {
    Source::Single(WorkflowConfig {
        workflow: example(file),
        slo_s: None,
        policy: policy.to_owned(),
        model: ModelSpec::Named("oracle".to_owned()),
        platform: None,
        seed: 0,
        origin: "--workflow".to_owned(),
    })
}

/// An app serving `source` from `store`.
pub fn app(source: Source, store: Store) -> Arc<App> {
    Arc::new(App::new(source, Arc::new(OracleOnly), store).expect("app builds"))
}

/// An app serving one example workflow from memory.
pub fn memory_app(file: &str, policy: &str) -> Arc<App> {
    app(
        single(file, policy),
        Store::Memory(MemoryStore::new(Duration::from_secs(3600))),
    )
}

/// A response: status, JSON body (`Value::Null` when empty or not JSON), the raw text.
pub struct Resp {
    pub status: StatusCode,
    pub json: Value,
    pub text: String,
}

impl Resp {
    /// The error kind of an error body.
    pub fn kind(&self) -> &str {
        self.json["error"]["kind"].as_str().unwrap_or("")
    }
    /// The error message of an error body.
    pub fn message(&self) -> &str {
        self.json["error"]["message"].as_str().unwrap_or("")
    }
}

/// One request through the router.
pub async fn call(app: &Arc<App>, method: &str, uri: &str, body: impl Into<Body>) -> Resp {
    call_with(app, method, uri, &[], body).await
}

/// One request through the router with extra `headers`.
pub async fn call_with(
    app: &Arc<App>,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> Resp {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(body.into()).expect("request builds");
    let resp = serve::http::router(app.clone())
        .oneshot(req)
        .await
        .expect("the router answers");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body reads");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Resp { status, json, text }
}

/// `POST` a decision with `elapsed_s`.
pub async fn decide(app: &Arc<App>, prefix: &str, id: &str, step: &str, elapsed_s: f64) -> Resp {
    call(
        app,
        "POST",
        &format!("{prefix}/executions/{id}/steps/{step}/decide"),
        format!("{{\"elapsed_s\": {elapsed_s}}}"),
    )
    .await
}

/// `POST` a finish report.
pub async fn finish(app: &Arc<App>, prefix: &str, id: &str, step: &str, body: String) -> Resp {
    call(
        app,
        "POST",
        &format!("{prefix}/executions/{id}/steps/{step}/finish"),
        body,
    )
    .await
}

/// A redis-server of the test's own on a free loopback port, in a temporary directory; stopped when
/// dropped.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    bin: String,
    persist: bool,
}

/// Whether a redis-server can be run: `FAASTUNE_REDIS_SERVER` (a path) or `redis-server` on PATH.
/// Without one the test is skipped with a message, except under CI (`CI` set), where it fails.
pub fn redis_server_bin() -> Option<String> {
    let bin = std::env::var("FAASTUNE_REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned());
    let found = Command::new(&bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some(bin);
    }
    let msg = format!(
        "no redis-server ('{bin}'): install it (apt-get install -y redis-server) or set FAASTUNE_REDIS_SERVER"
    );
    assert!(
        std::env::var_os("CI").is_none(),
        "{msg} (required under CI)"
    );
    eprintln!("skipped: {msg}");
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl RedisServer {
    /// Starts one (`None`: skipped, see [`redis_server_bin`]); `persist`: an append-only file synced on
    /// every write, so that a restart keeps everything.
    pub fn start(persist: bool) -> Option<RedisServer> {
        let bin = redis_server_bin()?;
        let dir = std::env::temp_dir().join(format!(
            "faastune-serve-redis-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut s = RedisServer {
            child: None,
            port: free_port(),
            dir,
            bin,
            persist,
        };
        s.spawn();
        Some(s)
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(&self.dir)
            .arg("--save")
            .arg("");
        if self.persist {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "redis-server did not listen on port {} within 5 s",
            self.port
        );
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills it (SIGKILL: nothing is flushed beyond what was synced) and starts it again on the same
    /// port and directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// A store on it with key prefix `prefix`.
    pub async fn store(&self, prefix: &str) -> Store {
        Store::Redis(
            RedisStore::connect(&self.url(), prefix, Duration::from_secs(3600))
                .await
                .expect("redis store connects"),
        )
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
