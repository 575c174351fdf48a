"""A compare grid (workflows x SLOs x seeds x policies) as Ray tasks, gathered into one DataFrame.

    python crates/py/examples/ray_sweep.py            # a local Ray instance
    RAY_ADDRESS=auto python crates/py/examples/ray_sweep.py   # an existing Ray cluster

On a cluster, install the same faastune wheel on every node; workflows given as dicts
(``faastune.load_workflow``) travel with the tasks, so no shared file system is needed.
"""

import os
from pathlib import Path

import ray

import faastune
from faastune.distributed import sweep

examples = Path(__file__).resolve().parents[3] / "examples"
ray.init(address=os.environ.get("RAY_ADDRESS"))
workflows = [faastune.load_workflow(examples / n) for n in ("pipeline5.yaml", "video.yaml")]
df = sweep(workflows, slos=[None], seeds=[0, 1, 2], policies=["static", "stepconf", "replan"], requests=100)
print(df.groupby(["workflow", "policy"])[["slo_attainment", "cost_usd_mean", "latency_s_p99"]].mean())
