"""Workflows and plans from Python: loading, round trips, imports, simulate/plan/compare/fit, and
errors that name their place."""

import json

import pytest

import faastune
from conftest import EXAMPLES, WF_DATA

PIPELINE = EXAMPLES / "pipeline5.yaml"
VIDEO = EXAMPLES / "video.yaml"


def test_load_round_trip_yaml_and_json(tmp_path):
    spec = faastune.load_workflow(VIDEO)
    assert spec["name"] == "video"
    for name in ("w.yaml", "w.json"):
        out = tmp_path / name
        faastune.save_workflow(spec, out)
        assert faastune.load_workflow(out) == spec
    # A dict spec loads to itself.
    assert faastune.load_workflow(spec) == spec


def test_validate_summary():
    s = faastune.validate_workflow(str(PIPELINE))
    assert s == {
        "name": "pipeline5",
        "n_steps": 5,
        "steps": ["validate", "transform", "enrich", "score", "store"],
        "slo_s": 3.0,
    }


def test_import_asl():
    spec = faastune.import_workflow(WF_DATA / "asl" / "hello.asl.json", "asl", slo_s=2.0)
    assert spec["slo_s"] == 2.0
    assert faastune.validate_workflow(spec)["n_steps"] == len(spec["steps"])


def test_simulate_same_seed_same_numbers_and_dict_input():
    a = faastune.simulate(PIPELINE, requests=40, seed=7)
    b = faastune.simulate(faastune.load_workflow(PIPELINE), requests=40, seed=7)
    assert a == b
    c = faastune.simulate(PIPELINE, requests=40, seed=8)
    assert c["latency_s"] != a["latency_s"]
    assert a["requests"] == 40


@pytest.mark.parametrize("wf", [PIPELINE, VIDEO])
def test_plan_round_trip_through_a_saved_model(tmp_path, wf):
    # fit() is the model plan(seed=1) plans with: saved and read back, it plans identically.
    model = faastune.fit(wf, seed=1)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model))
    assert faastune.plan(wf, model_file=path) == faastune.plan(wf, seed=1)
    assert faastune.fit(wf, seed=1) == model


def test_compare_rows_and_frame():
    out = faastune.compare(PIPELINE, requests=30, policies=["static", "replan"], model="oracle")
    assert [r["name"] for r in out["policies"]] == ["static", "replan"]
    pd = pytest.importorskip("pandas")
    df = faastune.compare_frame(PIPELINE, requests=30, policies=["static", "replan"], model="oracle")
    assert isinstance(df, pd.DataFrame)
    assert list(df["policy"]) == ["static", "replan"]
    assert df["cost_usd_mean"].tolist() == [r["cost_usd_mean"] for r in out["policies"]]


def test_policies_listed():
    assert "replan" in faastune.policies() and "stepconf" in faastune.policies()


def test_invalid_workflow_raises_with_every_place():
    bad = {"name": "x", "steps": [{"name": "a", "jobs": 1, "work_s": 1.0, "after": ["b"]}]}
    with pytest.raises(faastune.FaastuneError) as e:
        faastune.load_workflow(bad)
    err = e.value
    assert isinstance(err, ValueError)
    assert err.kind == "workflow"
    assert err.place == "step 'a' (steps[0])"
    assert err.problems == [{"place": "step 'a' (steps[0])", "message": "after[0]: unknown step 'b'"}]


def test_parse_error_names_file_and_line(tmp_path):
    p = tmp_path / "broken.yaml"
    p.write_text("name: broken\nsteps:\n  - {name: a, jobs: 1, work_s: [\n")
    with pytest.raises(faastune.FaastuneError) as e:
        faastune.validate_workflow(p)
    assert e.value.file == str(p)
    assert e.value.line is not None and e.value.line >= 3
    assert str(p) in str(e.value)


def test_missing_file_and_bad_options():
    with pytest.raises(faastune.FaastuneError) as e:
        faastune.load_workflow("/nonexistent/w.yaml")
    assert e.value.file == "/nonexistent/w.yaml"
    with pytest.raises(faastune.FaastuneError) as e:
        faastune.plan(PIPELINE, policy="nope")
    assert e.value.place == "policy" and "replan" in str(e.value)
    with pytest.raises(faastune.FaastuneError) as e:
        faastune.simulate(PIPELINE, rate=-1.0, requests=5)
    assert e.value.kind == "option"
    with pytest.raises(faastune.FaastuneError) as e:
        faastune.import_workflow(PIPELINE, "nope")
    assert e.value.place == "format"
    with pytest.raises(faastune.FaastuneError) as e:
        faastune.simulate(PIPELINE, config={"steps": {"nope": {"memory_mb": 1024}}}, requests=5)
    assert e.value.kind == "config"
    assert any("unknown step 'nope'" in p["message"] for p in e.value.problems)


def test_infeasible_config_names_the_step():
    cfg = {"default": {"memory_mb": 1024, "fan_out": 1, "workers": 1}, "steps": {"score": {"memory_mb": 1, "fan_out": 1, "workers": 1}}}
    with pytest.raises(faastune.FaastuneError) as e:
        faastune.simulate(PIPELINE, config=cfg, requests=5)
    assert "score" in str(e.value)


def test_the_extension_is_abi3():
    # One wheel for CPython >= 3.9: the module is built against the stable ABI.
    assert faastune._native.__file__.endswith(".abi3.so")
