//! Settings from the environment: defaults, and every bad value named by its variable.

use std::time::Duration;

use serve::config::{ModelSpec, Source};

use crate::settings;

#[test]
fn defaults_and_values() {
    let s = settings(&[("FAASTUNE_WORKFLOW", "video.yaml")]).unwrap();
    let Source::Single(c) = &s.source else {
        panic!("{s:?}")
    };
    assert_eq!(c.policy, "stepconf");
    assert_eq!(c.model, ModelSpec::Named("fitted".into()));
    assert_eq!(c.seed, 0);
    assert_eq!(c.slo_s, None);
    assert_eq!(s.store, "memory");
    assert_eq!(s.redis_prefix, "faastune:");
    assert_eq!(s.ttl, Duration::from_secs(86_400));

    let s = settings(&[
        ("FAASTUNE_WORKFLOW", "video.yaml"),
        ("FAASTUNE_SLO_S", "12.5"),
        ("FAASTUNE_POLICY", "replan"),
        ("FAASTUNE_MODEL_FILE", "models/video.json"),
        ("FAASTUNE_SEED", "7"),
        ("FAASTUNE_STORE", "redis://10.0.0.5:6379/2"),
        ("FAASTUNE_TTL_S", "600"),
    ])
    .unwrap();
    let Source::Single(c) = &s.source else {
        panic!("{s:?}")
    };
    assert_eq!(c.slo_s, Some(12.5));
    assert_eq!(c.policy, "replan");
    assert_eq!(c.model, ModelSpec::File("models/video.json".into()));
    assert_eq!(c.seed, 7);
    assert_eq!(s.store, "redis://10.0.0.5:6379/2");
    assert_eq!(s.ttl, Duration::from_secs(600));

    let s = settings(&[
        ("FAASTUNE_WORKFLOWS_DIR", "flows"),
        ("FAASTUNE_MODEL", "oracle"),
    ])
    .unwrap();
    assert!(matches!(s.source, Source::Dir { .. }), "{s:?}");
}

#[test]
fn bad_settings_name_their_variable() {
    for (vars, needle) in [
        (vec![], "FAASTUNE_WORKFLOW"),
        (
            vec![
                ("FAASTUNE_WORKFLOW", "a.yaml"),
                ("FAASTUNE_WORKFLOWS_DIR", "d"),
            ],
            "not both",
        ),
        (
            vec![("FAASTUNE_WORKFLOW", "a.yaml"), ("FAASTUNE_SLO_S", "-1")],
            "FAASTUNE_SLO_S",
        ),
        (
            vec![("FAASTUNE_WORKFLOW", "a.yaml"), ("FAASTUNE_SLO_S", "NaN")],
            "FAASTUNE_SLO_S",
        ),
        (
            vec![("FAASTUNE_WORKFLOW", "a.yaml"), ("FAASTUNE_SLO_S", "ten")],
            "FAASTUNE_SLO_S",
        ),
        (
            vec![("FAASTUNE_WORKFLOW", "a.yaml"), ("FAASTUNE_MODEL", "gpt")],
            "FAASTUNE_MODEL",
        ),
        (
            vec![
                ("FAASTUNE_WORKFLOW", "a.yaml"),
                ("FAASTUNE_MODEL", "oracle"),
                ("FAASTUNE_MODEL_FILE", "m.json"),
            ],
            "not both",
        ),
        (
            vec![("FAASTUNE_WORKFLOW", "a.yaml"), ("FAASTUNE_SEED", "-3")],
            "FAASTUNE_SEED",
        ),
        (
            vec![("FAASTUNE_WORKFLOW", "a.yaml"), ("FAASTUNE_TTL_S", "0")],
            "FAASTUNE_TTL_S",
        ),
        (
            vec![
                ("FAASTUNE_WORKFLOW", "a.yaml"),
                ("FAASTUNE_STORE", "rediss://x:6380"),
            ],
            "FAASTUNE_STORE",
        ),
        (
            vec![
                ("FAASTUNE_WORKFLOWS_DIR", "d"),
                ("FAASTUNE_MODEL_FILE", "m.json"),
            ],
            "FAASTUNE_MODEL_FILE",
        ),
        (
            vec![("FAASTUNE_WORKFLOWS_DIR", "d"), ("FAASTUNE_SLO_S", "3")],
            "FAASTUNE_SLO_S",
        ),
    ] {
        let e = settings(&vars).expect_err(&format!("{vars:?}"));
        assert!(e.to_string().contains(needle), "{vars:?}: {e}");
    }
}

#[test]
fn a_workflow_that_does_not_load_fails_at_start_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("faastune-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("broken.yaml");
    std::fs::write(&bad, "name: broken\nsteps:\n  - name: a\n    jobs: -4\n").unwrap();
    let s = settings(&[
        ("FAASTUNE_WORKFLOW", bad.to_str().unwrap()),
        ("FAASTUNE_MODEL", "oracle"),
    ])
    .unwrap();
    let e = match crate::tokio_rt().block_on(configurator::open(&s)) {
        Ok(_) => panic!("a broken workflow must not load"),
        Err(e) => e,
    };
    assert!(e.to_string().contains("broken.yaml"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}
