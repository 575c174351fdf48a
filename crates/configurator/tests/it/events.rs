//! Every recorded event of tests/events/ through `configurator::handle`.

use serde_json::{Value, json};

use crate::{recorded, tokio_rt, video_app};

fn names(prefix: &str) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/events");
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix) && n.ends_with(".json"))
        .collect();
    v.sort();
    v
}

#[test]
fn a_recorded_execution_decides_finishes_and_ends() {
    let app = video_app("stepconf");
    let rt = tokio_rt();
    rt.block_on(async {
        let d = configurator::handle(&app, recorded("sfn-decide-extract.json", 0.2))
            .await
            .expect("decide");
        // What the state machine's ResultSelector reads, and what it means.
        for f in [
            "memory_mb",
            "alias",
            "fan_out",
            "workers",
            "sub_slo_s",
            "predicted_duration_s",
        ] {
            assert!(d.get(f).is_some(), "decision lacks {f}: {d}");
        }
        let (m, w) = (
            d["memory_mb"].as_u64().unwrap(),
            d["workers"].as_u64().unwrap(),
        );
        assert_eq!(d["alias"], json!(format!("faastune-{m}mb-w{w}")));
        assert!(d["fan_out"].as_u64().unwrap() >= 1);
        assert_eq!(d["step"], "extract");
        assert_eq!(d["workflow"], "video");
        let elapsed = d["elapsed_s"].as_f64().unwrap();
        assert!((0.0..5.0).contains(&elapsed), "elapsed {elapsed}");
        let sub_slo = d["sub_slo_s"].as_f64().unwrap();
        assert!(
            sub_slo > 0.0 && sub_slo <= 30.0,
            "sub-SLO {sub_slo} within the 30 s SLO"
        );

        let state = configurator::handle(&app, recorded("call-finish-extract.json", 0.0))
            .await
            .expect("finish");
        assert_eq!(state["steps"][0]["finished"]["duration_s"], json!(3.25));

        // The next step is decided after the finish, a few seconds into the execution.
        let d2 = configurator::handle(&app, recorded("sfn-decide-super_resolution.json", 3.5))
            .await
            .expect("decide");
        assert_eq!(d2["request_idx"], d["request_idx"], "one execution");
        let got = configurator::handle(&app, recorded("call-get.json", 0.0))
            .await
            .expect("get");
        assert!(got["steps"][1]["decided"].is_object(), "{got}");

        let ended = configurator::handle(&app, recorded("call-end.json", 0.0))
            .await
            .expect("end");
        assert_eq!(
            ended,
            json!({"ended": "6c1a5f7e-2d4b-4c8e-9f0a-3b7d2e1c9a44"})
        );
        let e = configurator::handle(&app, recorded("call-get.json", 0.0))
            .await
            .unwrap_err();
        assert_eq!(configurator::error_type(&e), "faastune.not_found");

        // Decide from an elapsed time, the workflow left out (one is served).
        let d3 = configurator::handle(&app, recorded("call-decide-elapsed.json", 0.0))
            .await
            .expect("decide with elapsed_s");
        assert_eq!(d3["elapsed_s"], json!(21.5));
        assert_eq!(d3["step"], "encode");
    });
}

#[test]
fn every_bad_recorded_event_is_refused_with_its_kind_and_changes_nothing() {
    let app = video_app("stepconf");
    let rt = tokio_rt();
    let bad = names("bad-");
    assert!(bad.len() >= 10, "{bad:?}");
    rt.block_on(async {
        for name in &bad {
            let kind = name
                .strip_prefix("bad-")
                .and_then(|r| r.split('-').next())
                .unwrap();
            let event = recorded(name, 0.0);
            let e = configurator::handle(&app, event.clone())
                .await
                .expect_err(name);
            assert_eq!(
                configurator::error_type(&e),
                format!("faastune.{kind}"),
                "{name}: {e}"
            );
            assert!(!e.to_string().is_empty());
            // Nothing was created or changed for the execution it names.
            if let Some(id) = event
                .get("execution")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
            {
                let get =
                    configurator::handle(&app, json!({"action": "get", "execution": id})).await;
                let e = get.expect_err(name);
                assert_eq!(configurator::error_type(&e), "faastune.not_found", "{name}");
            }
        }
    });
}

#[test]
fn a_step_decided_twice_is_a_conflict_and_the_first_decision_stands() {
    let app = video_app("stepconf");
    let rt = tokio_rt();
    rt.block_on(async {
        let first = configurator::handle(&app, recorded("sfn-decide-extract.json", 0.5))
            .await
            .unwrap();
        let before = configurator::handle(&app, recorded("call-get.json", 0.0))
            .await
            .unwrap();
        let e = configurator::handle(&app, recorded("sfn-decide-extract.json", 0.9))
            .await
            .unwrap_err();
        assert_eq!(configurator::error_type(&e), "faastune.conflict");
        assert!(e.to_string().contains("already decided"), "{e}");
        let after = configurator::handle(&app, recorded("call-get.json", 0.0))
            .await
            .unwrap();
        assert_eq!(before, after);
        assert_eq!(
            after["steps"][0]["decided"]["config"]["memory_mb"],
            first["memory_mb"]
        );
    });
}

#[test]
fn a_decide_event_with_finish_fields_is_refused() {
    let app = video_app("stepconf");
    let e = tokio_rt()
        .block_on(configurator::handle(
            &app,
            json!({"execution": "y", "step": "extract", "elapsed_s": 0, "duration_s": 2}),
        ))
        .unwrap_err();
    assert_eq!(configurator::error_type(&e), "faastune.bad_request");
    assert!(e.to_string().contains("duration_s"), "{e}");
}
