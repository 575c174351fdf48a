"""A random agent in each faastune environment: one seeded episode each, sampling valid actions from
``info["action_mask"]`` (allocation) or uniformly (autoscaling); prints the return and final metrics.

    python crates/py/examples/random_agent.py
"""

import gymnasium as gym
import numpy as np

import faastune  # noqa: F401  (registers the faastune/... ids)

SETTINGS = {"faastune/Serverless-v0": {"horizon_s": 300.0}, "faastune/Autoscale-v0": {"horizon_s": 600.0}}

for env_id in ("faastune/DeepRM-v0", "faastune/Serverless-v0", "faastune/Autoscale-v0"):
    env = gym.make(env_id, **SETTINGS.get(env_id, {}))
    obs, info = env.reset(seed=0)
    rng = np.random.default_rng(0)
    total, steps, done = 0.0, 0, False
    while not done:
        if "action_mask" in info:
            action = int(rng.choice(np.flatnonzero(info["action_mask"])))
        else:
            action = env.action_space.sample()
        obs, reward, terminated, truncated, info = env.step(action)
        total += reward
        steps += 1
        done = terminated or truncated
    final = info.get("metrics") or {k: info["report"][k] for k in ("latency_s", "cost_usd", "slo_attainment")}
    print(f"{env_id}: {steps} steps, return {total:.3f}")
    print(f"  {final}")
