"""The Ray helpers on a local Ray instance of 2 CPUs: the sweep grid gathers one DataFrame equal to
the same grid run in this process, and rollouts run as tasks. Bounded in time (ray.get timeouts)."""

import os

import pytest

from conftest import EXAMPLES, IN_CI

try:
    import ray
except ImportError:  # pragma: no cover - depends on the environment
    ray = None
    if IN_CI or os.environ.get("FAASTUNE_REQUIRE_RAY") == "1":
        raise
pytestmark = pytest.mark.skipif(ray is None, reason="ray is not installed (pip install -r crates/py/requirements.txt)")

pd = pytest.importorskip("pandas")

PIPELINE = str(EXAMPLES / "pipeline5.yaml")
VIDEO = str(EXAMPLES / "video.yaml")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_sweep_on_two_cpus_equals_the_local_grid(local_ray):
    from faastune.distributed import sweep, sweep_local

    import faastune

    grid = dict(
        workflows=[PIPELINE, faastune.load_workflow(VIDEO)],
        slos=[None, 40.0],
        seeds=[0, 1],
        policies=["static", "replan"],
        requests=30,
        model="oracle",
    )
    df = sweep(**grid, timeout_s=240)
    assert len(df) == 2 * 2 * 2 * 2
    assert list(df.columns[:7]) == ["workflow", "slo_s", "seed", "model", "requests", "rate_per_s", "policy"]
    pd.testing.assert_frame_equal(df, sweep_local(**grid))


def test_rollout_tasks(local_ray):
    from faastune.distributed import rollout

    df = rollout("faastune/DeepRM-v0", "tetris", seeds=[0, 1, 2], timeout_s=240)
    assert list(df["seed"]) == [0, 1, 2]
    assert (df["n_finished"] > 0).all()
    again = rollout("faastune/DeepRM-v0", "tetris", seeds=[0, 1, 2], timeout_s=240)
    pd.testing.assert_frame_equal(df, again)
