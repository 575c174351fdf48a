"""Heuristics from Python: DeepRM's environment at 70% load driven step by step by the Rust
heuristics (``heuristic_action``), beside the same episode run entirely in Rust
(``run_heuristic``): the metrics are identical, the Python loop only adds the observation.

    python crates/py/examples/heuristic.py
"""

import time

from faastune.envs import AllocationEnv

env = AllocationEnv("deeprm", load=0.7)
for policy in ("fcfs", "sjf", "packer", "tetris", "random"):
    obs, info = env.reset(seed=1)
    t0 = time.perf_counter()
    steps, done = 0, False
    while not done:
        obs, reward, terminated, truncated, info = env.step(env.heuristic_action(policy))
        steps += 1
        done = terminated or truncated
    dt = time.perf_counter() - t0
    m = info["metrics"]
    env.reset(seed=1)
    assert env.native.run_heuristic(policy) == m
    print(f"{policy:7s} slowdown mean {m['slowdown_mean']:.3f} p95 {m['slowdown_p95']:.3f} "
          f"finished {m['n_finished']}/{m['n_arrived']}  {steps} steps in {dt * 1e3:.1f} ms from Python")
