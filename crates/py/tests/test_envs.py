"""The Gymnasium environments: check_env, seeded determinism bit for bit, the Python loop equal to the
Rust loop, the graph observation's consistency, and the autoscaling environment."""

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")
from gymnasium.utils.env_checker import check_env  # noqa: E402

import faastune  # noqa: E402
from faastune.envs import ENV_IDS, AllocationEnv, AutoscalingEnv  # noqa: E402

SMALL = {
    "faastune/Serverless-v0": {"horizon_s": 120.0},
    "faastune/ServerlessGraph-v0": {"horizon_s": 120.0},
    "faastune/Autoscale-v0": {"horizon_s": 300.0},
}


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env(env_id):
    env = gym.make(env_id, **SMALL.get(env_id, {}))
    check_env(env.unwrapped, skip_render_check=True)


def rollout(env, seed, n_steps, action_seed=0, reset_seed=True):
    """Observations, rewards and flags of up to n_steps random valid actions."""
    obs, info = env.reset(seed=seed) if reset_seed else env.reset()
    rng = np.random.default_rng(action_seed)
    trace = [obs]
    for _ in range(n_steps):
        if isinstance(env, AllocationEnv):
            action = int(rng.choice(np.flatnonzero(info["action_mask"])))
        else:
            action = rng.integers(0, 3, size=env.action_space.shape)
        obs, r, term, trunc, info = env.step(action)
        trace.append((obs, r, term, trunc))
        if term or trunc:
            break
    return trace


def same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return a == b


@pytest.mark.parametrize(
    "env_id,n_steps",
    [
        ("faastune/DeepRM-v0", 400),
        ("faastune/DeepRMGraph-v0", 200),
        ("faastune/Serverless-v0", 300),
        ("faastune/ServerlessGraph-v0", 200),
        ("faastune/Autoscale-v0", 3),
    ],
)
def test_seeded_episodes_repeat_bit_for_bit(env_id, n_steps):
    env = gym.make(env_id, **SMALL.get(env_id, {})).unwrapped
    a = rollout(env, 42, n_steps)
    b = rollout(env, 42, n_steps)
    assert len(a) > 1 and same(a, b)
    # A fresh environment with the same seed too.
    c = rollout(gym.make(env_id, **SMALL.get(env_id, {})).unwrapped, 42, n_steps)
    assert same(a, c)
    # Another seed gives another episode.
    d = rollout(env, 43, n_steps)
    assert not same(a, d)


def test_unseeded_reset_is_the_next_episode_of_the_root():
    env = AllocationEnv("deeprm")
    first = rollout(env, 5, 100)
    second = rollout(env, None, 100, reset_seed=False)
    assert not same(first, second)
    env2 = AllocationEnv("deeprm")
    rollout(env2, 5, 100)
    assert same(second, rollout(env2, None, 100, reset_seed=False))


@pytest.mark.parametrize("mode,policy", [("deeprm", "tetris"), ("deeprm", "sjf"), ("deeprm", "random"), ("serverless", "fcfs")])
def test_python_loop_equals_rust_loop(mode, policy):
    kwargs = {"horizon_s": 120.0} if mode == "serverless" else {}
    env = AllocationEnv(mode, **kwargs)
    env.reset(seed=9)
    done, total = False, 0.0
    while not done:
        _, r, term, trunc, info = env.step(env.heuristic_action(policy))
        total += r
        done = term or trunc
    py = info["metrics"]
    env.reset(seed=9)
    rust = env.native.run_heuristic(policy)
    assert py == rust
    assert total == pytest.approx(rust["total_reward"], rel=1e-12, abs=1e-9)


def test_graph_observation_is_consistent():
    env = AllocationEnv("serverless", observation="graph", horizon_s=120.0)
    obs, info = env.reset(seed=1)
    for _ in range(200):
        n_nodes = int(obs["node_mask"].sum())
        n_edges = int(obs["edge_mask"].sum())
        assert (obs["node_type"][obs["node_mask"] == 0] == 0).all()
        ei = obs["edge_index"][:, :n_edges]
        assert (obs["node_mask"][ei] == 1).all(), "edges join real nodes"
        assert (obs["edge_mask"][n_edges:] == 0).all()
        assert n_nodes >= env.native.n_machines
        assert np.array_equal(obs["action_mask"], info["action_mask"])
        obs, _, term, trunc, info = env.step(int(np.flatnonzero(info["action_mask"])[0]))
        if term or trunc:
            break


def test_deeprm_image_shows_the_visible_jobs():
    env = AllocationEnv("deeprm", load=0.9)
    obs, info = env.reset(seed=3)
    while info["n_pending"] == 0:
        obs, *_, info = env.step(env.native.n_actions - 1)
    # The first job slot's block (columns res_slots..2*res_slots of resource 0) is painted.
    assert obs[:, 10:20].sum() > 0
    assert set(np.unique(obs)) <= {0.0, 1.0}


def test_bad_action_and_step_before_reset_raise():
    env = AllocationEnv("deeprm")
    with pytest.raises(faastune.FaastuneError):
        env.native.step(0)
    env.reset(seed=0)
    with pytest.raises(faastune.FaastuneError) as e:
        env.step(999)
    assert e.value.place == "action"
    with pytest.raises(faastune.FaastuneError):
        AllocationEnv("deeprm", time_horizon=5)
    with pytest.raises(faastune.FaastuneError):
        AllocationEnv("cloud")


def test_autoscale_episode_and_report():
    env = AutoscalingEnv(horizon_s=300.0)
    obs, info = env.reset(seed=0)
    assert obs["features"].shape == (5, env.native.n_features)
    assert obs["edge_index"].tolist() == [[0, 1, 2, 3], [1, 2, 3, 4]]
    steps = 0
    while True:
        obs, r, term, trunc, info = env.step(np.ones(10, dtype=np.int64))
        steps += 1
        assert np.isfinite(r) and not term
        if trunc:
            break
    assert steps == 300 // 60 - 1
    assert info["report"]["workflow"] == "pipeline5"
    with pytest.raises(faastune.FaastuneError):
        env.native.step([1] * 3)
