//! Redis-backed state: a server restarted mid-execution (a new process state: new policy object, new
//! connection) continues with the execution's cache intact; so does one whose Redis restarted (with
//! its append-only file); replicas serving one execution in turns decide as one server; concurrent
//! decisions of one step on two replicas give one decision and conflicts.

use std::sync::Arc;

use serve::App;
use serve::config::OracleOnly;

use crate::identity::{Call, chosen, record, replay};
use crate::{RedisServer, call, decide, single};

async fn redis_app(redis: &RedisServer, file: &str, policy: &str, prefix: &str) -> Arc<App> {
    let store = redis.store(prefix).await;
    Arc::new(App::new(single(file, policy), Arc::new(OracleOnly), store).expect("app builds"))
}

#[tokio::test]
async fn restarts_of_the_server_and_of_redis_lose_nothing() {
    let Some(mut redis) = RedisServer::start(true) else {
        return;
    };
    for (file, policy) in [("synthetic16.yaml", "stepconf"), ("video.yaml", "replan")] {
        let calls = record(file, policy, 10);
        let want = chosen(&calls);
        let (a, rest) = calls.split_at(calls.len() / 3);
        let (b, c) = rest.split_at(rest.len() / 2);
        let prefix = format!("t1:{policy}:");
        let mut got = replay(&redis_app(&redis, file, policy, &prefix).await, a, "r").await;
        // The server "restarts": everything in the process is gone.
        got.extend(replay(&redis_app(&redis, file, policy, &prefix).await, b, "r").await);
        // Redis restarts (killed; its append-only file was synced on every write); a new server
        // connects to it.
        redis.restart();
        let app = redis_app(&redis, file, policy, &prefix).await;
        got.extend(replay(&app, c, "r").await);
        assert_eq!(got, want, "{file} {policy}");
        let m = call(&app, "GET", "/metrics", "").await.text;
        assert!(
            m.contains(&format!(
                "faastune_serve_executions{{workflow=\"{}\",store=\"redis\"}} 10",
                file.trim_end_matches(".yaml")
            )),
            "{m}"
        );
    }
}

#[tokio::test]
async fn a_server_reconnects_after_redis_restarts() {
    let Some(mut redis) = RedisServer::start(true) else {
        return;
    };
    let app = redis_app(&redis, "synthetic16.yaml", "stepconf", "t2:").await;
    assert_eq!(decide(&app, "/v1", "e", "s01", 0.0).await.status, 200);
    redis.restart();
    // The first request may meet the broken connection (503, retryable); the service reconnects.
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let r = call(&app, "GET", "/v1/executions/e", "").await;
        statuses.push(r.status.as_u16());
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 503, "{}", r.text);
        assert_eq!(r.kind(), "store");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
    assert_eq!(decide(&app, "/v1", "e", "s02", 3.0).await.status, 200);
}

#[tokio::test]
async fn replicas_serving_one_execution_in_turns_decide_as_one_server() {
    let Some(redis) = RedisServer::start(false) else {
        return;
    };
    for (file, policy) in [("synthetic16.yaml", "stepconf"), ("video.yaml", "replan")] {
        let calls = record(file, policy, 8);
        let want = chosen(&calls);
        let prefix = format!("t3:{policy}:");
        let replicas = [
            redis_app(&redis, file, policy, &prefix).await,
            redis_app(&redis, file, policy, &prefix).await,
            redis_app(&redis, file, policy, &prefix).await,
        ];
        let mut got = Vec::new();
        // Call i goes to replica i mod 3: every replica sees state (and replan's learned state) that
        // the others wrote.
        for (i, c) in calls.iter().enumerate() {
            got.extend(replay(&replicas[i % 3], std::slice::from_ref(c), "r").await);
        }
        assert_eq!(got, want, "{file} {policy}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_decisions_of_one_step_on_two_replicas_give_one_decision() {
    let Some(redis) = RedisServer::start(false) else {
        return;
    };
    let a = redis_app(&redis, "synthetic16.yaml", "stepconf", "t4:").await;
    let b = redis_app(&redis, "synthetic16.yaml", "stepconf", "t4:").await;
    for round in 0..5 {
        let id = format!("e{round}");
        let mut tasks = Vec::new();
        for i in 0..8 {
            let app = if i % 2 == 0 { a.clone() } else { b.clone() };
            let id = id.clone();
            tasks.push(tokio::spawn(async move {
                decide(&app, "/v1", &id, "s01", 0.0).await.status.as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 409, 409, 409, 409, 409, 409, 409],
            "round {round}"
        );
    }
    let _: Option<Call> = None;
}

#[tokio::test]
async fn a_workflow_whose_steps_changed_learns_afresh_and_refuses_old_executions() {
    let Some(redis) = RedisServer::start(false) else {
        return;
    };
    let old = redis_app(&redis, "video.yaml", "replan", "t5:").await;
    let steps = call(&old, "GET", "/v1/workflows/video", "").await.json["steps"].clone();
    let first = steps[0]["name"].as_str().unwrap().to_owned();
    assert_eq!(decide(&old, "/v1", "e", &first, 0.0).await.status, 200);
    let r = crate::finish(&old, "/v1", "e", &first, r#"{"duration_s": 3}"#.into()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Another workflow under the same name, with other steps.
    let dir = std::env::temp_dir().join(format!("faastune-serve-t5-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("video.yaml");
    std::fs::write(
        &file,
        "name: video\nslo_s: 30\nsteps:\n  - {name: only, jobs: 4, work_s: 1}\n",
    )
    .unwrap();
    let source = serve::config::Source::Single(serve::config::WorkflowConfig {
        workflow: file,
        slo_s: None,
        policy: "replan".to_owned(),
        model: serve::config::ModelSpec::Named("oracle".to_owned()),
        platform: None,
        seed: 0,
        origin: "--workflow".to_owned(),
    });
    let new = Arc::new(App::new(source, Arc::new(OracleOnly), redis.store("t5:").await).unwrap());
    let r = decide(&new, "/v1", "e", "only", 0.0).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(
        r.message().contains("began under other steps"),
        "{}",
        r.text
    );
    let r = decide(&new, "/v1", "e2", "only", 0.0).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = crate::finish(&new, "/v1", "e2", "only", r#"{"duration_s": 3}"#.into()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The old steps' learned state is still the old replicas'.
    let second = steps[1]["name"].as_str().unwrap().to_owned();
    let r = decide(&old, "/v1", "e", &second, 3.1).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let _ = std::fs::remove_dir_all(&dir);
}
