"""Sweeps across processes and machines with Ray.

:func:`sweep` runs a compare grid (workflows x SLOs x seeds, every cell comparing the given
policies on one request stream) as Ray tasks, one task per cell, and gathers one pandas DataFrame,
sorted by (workflow, slo_s, seed, policy order). Each cell is a :func:`faastune.compare` call, so a
cell's numbers do not depend on where or in which order it ran: the same grid gives the same frame on
one machine (:func:`sweep_local`, no Ray) and on a cluster.

On a Ray cluster the same code runs unchanged: ``ray.init(address="auto")`` (or ``ray.init("ray://
HEAD:10001")``) before calling :func:`sweep`, with ``faastune`` installed on every node (the same
wheel) and workflow files reachable at the same paths on every node, or workflows given as spec dicts
(``faastune.load_workflow(path)``), which travel with the task.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import faastune

WorkflowArg = Union[str, Dict[str, Any]]


def _cell(
    workflow: WorkflowArg,
    slo: Optional[float],
    seed: int,
    policies: Optional[Sequence[str]],
    options: Dict[str, Any],
) -> List[Dict[str, Any]]:
    """One grid cell: ``compare`` flattened to rows (one per policy)."""
    out = faastune.compare(workflow, slo=slo, seed=seed, policies=policies, **options)
    rows = []
    for order, r in enumerate(out["policies"]):
        row = {
            "workflow": out["workflow"],
            "slo_s": out["slo_s"],
            "seed": out["seed"],
            "model": out["model"],
            "requests": out["requests"],
            "rate_per_s": out["rate_per_s"],
            "policy": r["name"],
            "policy_order": order,
        }
        row.update({k: v for k, v in r.items() if k != "name"})
        rows.append(row)
    return rows


def _grid(workflows, slos, seeds):
    for w in workflows:
        for s in slos:
            for seed in seeds:
                yield w, s, seed


def _frame(cells: Iterable[List[Dict[str, Any]]]):
    rows = [r for cell in cells for r in cell]
    frame = faastune.to_frame(rows)
    if len(frame):
        frame = frame.sort_values(["workflow", "slo_s", "seed", "policy_order"], kind="stable")
        frame = frame.drop(columns=["policy_order"]).reset_index(drop=True)
    return frame


def sweep_local(
    workflows: Sequence[WorkflowArg],
    slos: Sequence[Optional[float]] = (None,),
    seeds: Sequence[int] = (0,),
    policies: Optional[Sequence[str]] = None,
    **options: Any,
):
    """The grid of :func:`sweep` in this process, one cell after another (no Ray)."""
    return _frame(_cell(w, s, seed, policies, options) for w, s, seed in _grid(workflows, slos, seeds))


def sweep(
    workflows: Sequence[WorkflowArg],
    slos: Sequence[Optional[float]] = (None,),
    seeds: Sequence[int] = (0,),
    policies: Optional[Sequence[str]] = None,
    *,
    num_cpus_per_task: float = 1,
    timeout_s: Optional[float] = None,
    **options: Any,
):
    """Runs the grid ``workflows x slos x seeds`` as Ray tasks (one per cell; ``None`` in ``slos``
    means each workflow's own ``slo_s``) and returns one DataFrame: a row per (cell, policy) with
    ``workflow``, ``slo_s``, ``seed``, ``model``, ``requests``, ``rate_per_s``, ``policy`` and
    compare's metrics. ``options`` go to :func:`faastune.compare` (``requests``, ``rate``,
    ``arrivals``, ``platform``, ``model``). Starts a local Ray instance if none is running; raises
    ``ray.exceptions.GetTimeoutError`` past ``timeout_s``."""
    import ray

    if not ray.is_initialized():
        ray.init()
    task = ray.remote(num_cpus=num_cpus_per_task)(_cell)
    refs = [task.remote(w, s, seed, policies, options) for w, s, seed in _grid(workflows, slos, seeds)]
    return _frame(ray.get(refs, timeout=timeout_s))


def rollout(
    env_id: str = "faastune/DeepRM-v0",
    policy: str = "tetris",
    seeds: Sequence[int] = (0, 1),
    env_kwargs: Optional[Dict[str, Any]] = None,
    *,
    timeout_s: Optional[float] = None,
):
    """One episode per seed of ``env_id`` as Ray tasks, acting with the Rust heuristic ``policy``
    (or ``"random"`` sampling from the action mask); returns a DataFrame with one row per episode:
    ``seed``, ``steps``, ``return``, and the environment's final metrics."""
    import ray

    if not ray.is_initialized():
        ray.init()
    task = ray.remote(num_cpus=1)(_episode)
    refs = [task.remote(env_id, policy, seed, env_kwargs or {}) for seed in seeds]
    return faastune.to_frame(ray.get(refs, timeout=timeout_s))


def _episode(env_id: str, policy: str, seed: int, env_kwargs: Dict[str, Any]) -> Dict[str, Any]:
    import gymnasium as gym
    import numpy as np

    import faastune.envs  # noqa: F401  (registers the ids in this worker)

    env = gym.make(env_id, **env_kwargs).unwrapped
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    total, steps, done = 0.0, 0, False
    while not done:
        if policy == "random":
            valid = np.flatnonzero(info["action_mask"])
            action = int(rng.choice(valid))
        else:
            action = env.heuristic_action(policy)
        obs, reward, terminated, truncated, info = env.step(action)
        total += reward
        steps += 1
        done = terminated or truncated
    row = {"seed": seed, "policy": policy, "steps": steps, "return": total}
    row.update(info.get("metrics", {}))
    return row
