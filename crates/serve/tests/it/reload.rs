//! Several workflows from a directory, each with its own settings; reloads (all or nothing; unchanged
//! workflows keep their engine).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serve::App;
use serve::config::{ModelSpec, OracleOnly, Source, WorkflowConfig};
use serve::store::{MemoryStore, Store};

use crate::{call, decide, example};

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("faastune-serve-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn dir_source(dir: &Path) -> Source {
    Source::Dir {
        dir: dir.to_owned(),
        defaults: WorkflowConfig {
            workflow: PathBuf::new(),
            slo_s: None,
            policy: "stepconf".to_owned(),
            model: ModelSpec::Named("oracle".to_owned()),
            platform: None,
            seed: 0,
            origin: String::new(),
        },
    }
}

#[tokio::test]
async fn a_directory_serves_several_workflows_and_reloads_all_or_nothing() {
    let dir = temp_dir("dir");
    std::fs::copy(example("synthetic16.yaml"), dir.join("synthetic16.yaml")).unwrap();
    std::fs::copy(example("pipeline5.yaml"), dir.join("pipeline5.yaml")).unwrap();
    std::fs::write(
        dir.join("pipeline5.serve.yaml"),
        "slo_s: 5\npolicy: replan\n",
    )
    .unwrap();
    std::fs::create_dir(dir.join("models")).unwrap();
    std::fs::write(dir.join("models/ignored.json"), "not a workflow").unwrap();
    let app = Arc::new(
        App::new(
            dir_source(&dir),
            Arc::new(OracleOnly),
            Store::Memory(MemoryStore::new(Duration::from_secs(60))),
        )
        .unwrap(),
    );
    let wfs = call(&app, "GET", "/v1/workflows", "").await.json;
    assert_eq!(wfs["default"], serde_json::Value::Null);
    assert_eq!(wfs["workflows"][0]["name"], "pipeline5");
    assert_eq!(wfs["workflows"][0]["slo_s"], 5.0);
    assert_eq!(wfs["workflows"][0]["policy"], "replan");
    assert_eq!(wfs["workflows"][1]["slo_s"], 40.0);
    let r = decide(&app, "/v1", "e", "s01", 0.0).await;
    assert_eq!(r.status, 404);
    assert!(
        r.message()
            .contains("several workflows are served (pipeline5, synthetic16)"),
        "{}",
        r.text
    );
    let pipeline_step = wfs["workflows"][0]["steps"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        decide(&app, "/v1/workflows/synthetic16", "e", "s01", 0.0)
            .await
            .status,
        200
    );
    // Execution ids are per workflow.
    assert_eq!(
        decide(&app, "/v1/workflows/pipeline5", "e", &pipeline_step, 0.0)
            .await
            .status,
        200
    );

    // A change to one workflow's settings rebuilds only it.
    std::fs::write(
        dir.join("pipeline5.serve.yaml"),
        "slo_s: 6\npolicy: replan\n",
    )
    .unwrap();
    let r = call(&app, "POST", "/v1/admin/reload", "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["built"], serde_json::json!(["pipeline5"]));
    assert_eq!(r.json["kept"], serde_json::json!(["synthetic16"]));
    // Executions in flight go on.
    assert_eq!(
        decide(&app, "/v1/workflows/synthetic16", "e", "s02", 3.0)
            .await
            .status,
        200
    );

    // A broken file fails the whole reload, naming every problem; the previous set keeps serving.
    std::fs::write(dir.join("pipeline5.serve.yaml"), "slo: 6\n").unwrap();
    std::fs::write(
        dir.join("broken.yaml"),
        "name: broken\nsteps: [{name: a, after: [zz]}]\n",
    )
    .unwrap();
    let r = call(&app, "POST", "/v1/admin/reload", "").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.kind(), "config");
    assert!(
        r.message().contains("pipeline5.serve.yaml") && r.message().contains("unknown field `slo`"),
        "{}",
        r.text
    );
    assert!(r.message().contains("broken.yaml"), "{}", r.text);
    assert_eq!(
        call(&app, "GET", "/v1/workflows/pipeline5", "").await.json["slo_s"],
        6.0
    );
    let m = call(&app, "GET", "/metrics", "").await.text;
    assert!(
        m.contains("faastune_serve_reloads_total{result=\"ok\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("faastune_serve_reloads_total{result=\"error\"} 1"),
        "{m}"
    );

    // Removing a workflow file stops serving it.
    std::fs::remove_file(dir.join("broken.yaml")).unwrap();
    std::fs::remove_file(dir.join("pipeline5.serve.yaml")).unwrap();
    std::fs::remove_file(dir.join("pipeline5.yaml")).unwrap();
    let r = call(&app, "POST", "/v1/admin/reload", "").await;
    assert_eq!(
        r.json["removed"],
        serde_json::json!(["pipeline5"]),
        "{}",
        r.text
    );
    // One workflow left: the routes without a name serve it again.
    assert_eq!(decide(&app, "/v1", "e", "s03", 3.0).await.status, 200);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn bad_configurations_are_refused_at_startup_with_every_problem() {
    let dir = temp_dir("bad");
    std::fs::copy(example("synthetic16.yaml"), dir.join("a.yaml")).unwrap();
    std::fs::copy(example("synthetic16.yaml"), dir.join("b.yaml")).unwrap();
    std::fs::write(
        dir.join("c.yaml"),
        "name: c\nsteps:\n  - {name: x, jobs: 1, work_s: 1}\n",
    )
    .unwrap();
    std::fs::write(dir.join("c.serve.yaml"), "policy: optimal\n").unwrap();
    let e = App::new(
        dir_source(&dir),
        Arc::new(OracleOnly),
        Store::Memory(MemoryStore::new(Duration::from_secs(60))),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("both define workflow 'synthetic16'"), "{e}");
    assert!(
        e.contains("c.serve.yaml: policy 'optimal' is not served"),
        "{e}"
    );
    std::fs::remove_file(dir.join("b.yaml")).unwrap();
    std::fs::write(dir.join("c.serve.yaml"), "model: fitted\n").unwrap();
    let e = App::new(
        dir_source(&dir),
        Arc::new(OracleOnly),
        Store::Memory(MemoryStore::new(Duration::from_secs(60))),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("no slo_s"), "{e}");
    std::fs::write(dir.join("c.serve.yaml"), "model: fitted\nslo_s: 3\n").unwrap();
    let e = App::new(
        dir_source(&dir),
        Arc::new(OracleOnly),
        Store::Memory(MemoryStore::new(Duration::from_secs(60))),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("c.serve.yaml: model fitted: model fitted is not available"),
        "{e}"
    );
    let empty = temp_dir("empty");
    let e = App::new(
        dir_source(&empty),
        Arc::new(OracleOnly),
        Store::Memory(MemoryStore::new(Duration::from_secs(60))),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("no workflow files"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&empty);
}
