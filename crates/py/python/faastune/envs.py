"""Gymnasium environments over faastune's Rust environments.

- :class:`AllocationEnv`: the allocation environment of crate ``cluster``: ``mode="deeprm"`` (DeepRM's
  time-stepped single machine, Mao et al. HotNets'16) or ``mode="serverless"`` (heterogeneous machines,
  cold starts, keep-alive, SLOs); ``observation="flat"`` (DeepRM: its image, ``time_horizon`` x
  columns; serverless: a feature vector) or ``observation="graph"`` (a dict of padded arrays: nodes,
  typed edges, masks, the action mask). Actions: ``Discrete(n_window * n_machines + 1)``, ``k *
  n_machines + m`` places the k-th visible pending invocation on machine m, the last action waits.
  ``info["action_mask"]`` marks placements that fit now (and wait). Observation arrays are read-only
  views of the bytes the Rust side built (copy one to change it).
- :class:`AutoscalingEnv`: the AutoFlow autoscaling environment (``platform::autoscale``): one memory
  and one provisioned-concurrency knob per function every control interval
  (``MultiDiscrete([3] * 2 * n_functions)``: 0 down, 1 keep, 2 up), the per-function features and
  the fixed dependency edges.

Seeding: ``reset(seed=s)`` starts episode 0 of root ``s``; ``reset()`` the next episode of the same
root (the first ``reset()`` without a seed draws a root from ``np_random``). The same seed replays an
episode bit for bit: the job sets, workloads and simulations come from the seed alone.

Registered ids (:func:`register_envs`): ``faastune/DeepRM-v0``, ``faastune/DeepRMGraph-v0``,
``faastune/Serverless-v0``, ``faastune/ServerlessGraph-v0``, ``faastune/Autoscale-v0``.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from . import _native

ENV_IDS = (
    "faastune/DeepRM-v0",
    "faastune/DeepRMGraph-v0",
    "faastune/Serverless-v0",
    "faastune/ServerlessGraph-v0",
    "faastune/Autoscale-v0",
)

_ROOT_MAX = 2**63 - 1
# The bound of unbounded features (float32's largest value: finite, so no space is "unbounded").
_BIG = float(np.finfo(np.float32).max)


class AllocationEnv(gym.Env):
    """The allocation environment (see the module docs).

    ``settings`` go to ``AllocEnv.deeprm`` (``load``, ``pattern``, ``n_resources``, ``res_slots``,
    ``time_horizon``, ``n_visible``, ``backlog_size``, ``simu_len``, ``episode_max_len``) or
    ``AllocEnv.serverless`` (``n_functions``, ``rate_per_s``, ``horizon_s``, ``pattern``, ``load``,
    ``keep_alive``, ``window``, ``max_running``). Rewards: DeepRM's, minus the slowdown accrued while
    time advances (an episode's rewards sum to minus the total slowdown).
    """

    metadata = {"render_modes": []}

    def __init__(self, mode: str = "deeprm", observation: str = "flat", **settings: Any):
        if mode == "deeprm":
            self.native = _native.AllocEnv.deeprm(**settings)
        elif mode == "serverless":
            self.native = _native.AllocEnv.serverless(**settings)
        else:
            raise _native.FaastuneError(f"mode: {mode!r}: expected deeprm or serverless")
        if observation not in ("flat", "graph"):
            raise _native.FaastuneError(f"observation: {observation!r}: expected flat or graph")
        self.mode = mode
        self.observation = observation
        self.action_space = spaces.Discrete(self.native.n_actions)
        self._flat_shape = tuple(self.native.flat_shape)
        n, e, a = self.native.max_nodes, self.native.max_edges, self.native.n_actions
        self._graph_shapes = {
            "node_features": ((n, 8), np.float32),
            "node_type": ((n,), np.int64),
            "node_mask": ((n,), np.int8),
            "edge_index": ((2, e), np.int64),
            "edge_type": ((e,), np.int64),
            "edge_mask": ((e,), np.int8),
            "action_mask": ((a,), np.int8),
        }
        if observation == "flat":
            high = 1.0 if mode == "deeprm" else _BIG
            self.observation_space = spaces.Box(0.0, high, self._flat_shape, np.float32)
        else:
            bounds = {
                "node_features": (0.0, _BIG),
                "node_type": (0, 4),
                "node_mask": (0, 1),
                "edge_index": (0, max(n - 1, 0)),
                "edge_type": (0, 3),
                "edge_mask": (0, 1),
                "action_mask": (0, 1),
            }
            self.observation_space = spaces.Dict(
                {
                    k: spaces.Box(bounds[k][0], bounds[k][1], shape, dtype)
                    for k, (shape, dtype) in self._graph_shapes.items()
                }
            )
        self._seeded = False

    def _obs(self):
        if self.observation == "flat":
            return np.frombuffer(self.native.flat(), dtype=np.float32).reshape(self._flat_shape)
        raw = self.native.graph()
        return {
            k: np.frombuffer(raw[k], dtype=dtype).reshape(shape)
            for k, (shape, dtype) in self._graph_shapes.items()
        }

    def action_mask(self) -> np.ndarray:
        """Valid actions now (1): placements that fit, and wait (always)."""
        return np.frombuffer(self.native.action_mask(), dtype=np.int8)

    def _info(self) -> Dict[str, Any]:
        info = self.native.info()
        info["action_mask"] = self.action_mask()
        return info

    def reset(self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None):
        super().reset(seed=seed)
        if seed is not None:
            self.native.reset(int(seed))
        elif not self._seeded:
            self.native.reset(int(self.np_random.integers(0, _ROOT_MAX)))
        else:
            self.native.reset(None)
        self._seeded = True
        return self._obs(), self._info()

    def step(self, action) -> Tuple[Any, float, bool, bool, Dict[str, Any]]:
        # Step info is lean (the action mask and whether the action was invalid; metrics at the end):
        # ``native.info()`` has the counts on demand.
        if self.observation == "flat":
            flat, reward, done, invalid, mask = self.native.step_flat(int(action))
            obs = np.frombuffer(flat, dtype=np.float32).reshape(self._flat_shape)
            info = {"action_mask": np.frombuffer(mask, dtype=np.int8), "invalid": invalid}
        else:
            reward, done, invalid = self.native.step(int(action))
            obs = self._obs()
            info = {"action_mask": obs["action_mask"], "invalid": invalid}
        terminated = truncated = False
        if done:
            metrics = self.native.metrics()
            info["metrics"] = metrics
            # Jobs still pending at the end: the episode hit its length limit.
            truncated = metrics["n_pending"] > 0
            terminated = not truncated
        return obs, float(reward), terminated, truncated, info

    def heuristic_action(self, name: str = "tetris") -> int:
        """The action of the Rust heuristic ``name`` (``fcfs``, ``sjf``, ``packer``, ``tetris``,
        ``random``) on the current state."""
        return self.native.heuristic_action(name)


class AutoscalingEnv(gym.Env):
    """The autoscaling environment (see the module docs). ``workflow`` is a path or a spec dict
    (default: the packaged ``pipeline5``); other arguments go to ``AutoscaleEnv`` (``platform``,
    ``config``, ``rate_per_s``, ``pattern``, ``horizon_s``, ``interval_s``, ``slo``,
    ``reward_baseline``). Episodes end at the horizon (``truncated``)."""

    metadata = {"render_modes": []}

    def __init__(self, workflow: Any = None, **settings: Any):
        if workflow is None:
            from . import example_workflow

            workflow = example_workflow("pipeline5")
        self.native = _native.AutoscaleEnv(workflow, **settings)
        self.function_names = list(self.native.function_names)
        n = len(self.function_names)
        self._n_features = self.native.n_features
        edges = np.array(self.native.edges, dtype=np.int64).reshape(-1, 2).T.copy()
        self._edge_index = edges.reshape(2, -1)
        self.action_space = spaces.MultiDiscrete([3] * (2 * n))
        self.observation_space = spaces.Dict(
            {
                "features": spaces.Box(-_BIG, _BIG, (n, self._n_features), np.float32),
                "edge_index": spaces.Box(0, max(n - 1, 0), self._edge_index.shape, np.int64),
            }
        )
        self._seeded = False

    def _obs(self):
        f = np.frombuffer(self.native.features(), dtype=np.float32)
        return {
            "features": f.reshape(len(self.function_names), self._n_features),
            "edge_index": self._edge_index.copy(),
        }

    def reset(self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None):
        super().reset(seed=seed)
        if seed is not None:
            self.native.reset(int(seed))
        elif not self._seeded:
            self.native.reset(int(self.np_random.integers(0, _ROOT_MAX)))
        else:
            self.native.reset(None)
        self._seeded = True
        return self._obs(), self.native.info()

    def step(self, action):
        reward, done = self.native.step([int(a) for a in np.asarray(action).reshape(-1)])
        info = self.native.info()
        if done:
            info["report"] = self.native.report()
        return self._obs(), float(reward), False, bool(done), info


def register_envs() -> None:
    """Registers the ``faastune/...`` ids with Gymnasium (idempotent)."""
    specs = {
        "faastune/DeepRM-v0": ("AllocationEnv", {"mode": "deeprm", "observation": "flat"}),
        "faastune/DeepRMGraph-v0": ("AllocationEnv", {"mode": "deeprm", "observation": "graph"}),
        "faastune/Serverless-v0": ("AllocationEnv", {"mode": "serverless", "observation": "flat"}),
        "faastune/ServerlessGraph-v0": (
            "AllocationEnv",
            {"mode": "serverless", "observation": "graph"},
        ),
        "faastune/Autoscale-v0": ("AutoscalingEnv", {}),
    }
    for env_id, (cls, kwargs) in specs.items():
        if env_id in gym.registry:
            continue
        gym.register(id=env_id, entry_point=f"faastune.envs:{cls}", kwargs=kwargs)
