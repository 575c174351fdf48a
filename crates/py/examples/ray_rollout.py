"""Plain-Ray rollouts of the allocation environment: one DeepRM episode per seed as a Ray task, for
the Rust Tetris* heuristic and a random agent, gathered into one DataFrame. (RLlib trains on the same
registered ids: ``PPOConfig().environment("faastune/DeepRM-v0")`` after ``import faastune`` on every
worker; RLlib is not installed in this project's test environment.)

    python crates/py/examples/ray_rollout.py
"""

import os

import pandas as pd
import ray

from faastune.distributed import rollout

ray.init(address=os.environ.get("RAY_ADDRESS"))
seeds = list(range(8))
df = pd.concat([rollout("faastune/DeepRM-v0", p, seeds) for p in ("tetris", "random")])
print(df.groupby("policy")[["return", "slowdown_mean", "n_finished", "steps"]].mean())
