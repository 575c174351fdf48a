"""Step throughput of the DeepRM-mode allocation environment: the pure-Rust loop, the same episodes
stepped from Python (the Gymnasium wrapper with DeepRM's image observation, and the bare native
object), and DeepRM's original Python environment (hongzimao/deeprm, ``environment.py``) on the
same settings. Results: bench/python.md.

    python crates/py/bench/env_speed.py [--deeprm DIR_OR_GIT_DIR] [--python2 PY2 [--python2-path DIR]]
        [--episodes 20] [--repeats 3]

DeepRM's code is Python 2; it is read from ``--deeprm`` (a checkout, or a bare git directory read
with ``git show HEAD:FILE``), translated in memory only (lib2to3's default fixers: print, xrange,
...; integer ``/`` as ``//`` where Python 2 divided integers: the job distribution's bounds and the
backlog rows of the image) and imported with stub ``theano`` and ``matplotlib`` modules (unused on
these paths). Nothing of it is written into the repository.

With ``--python2`` (a Python 2.7 interpreter; ``--python2-path`` a directory with numpy for it, e.g.
``pip install --target DIR numpy==1.16.6``), DeepRM's files are also run unchanged under Python 2
(exported to a temporary directory, theano and matplotlib stubbed), the way they were written.
"""

from __future__ import annotations

import argparse
import builtins
import json
import os
import subprocess
import sys
import time
import types
import warnings

import numpy as np

from faastune.envs import AllocationEnv

EPISODES = 20


def best_of(repeats, fn):
    """The fastest of `repeats` runs of fn() -> (steps, seconds): steps and steps per second."""
    best = None
    for _ in range(repeats):
        steps, dt = fn()
        if best is None or dt < best[1]:
            best = (steps, dt)
    return best[0], best[0] / best[1]


def rust_loop(policy, episodes, observe=None):
    env = AllocationEnv("deeprm", load=0.7)

    def run():
        steps, dt = 0, 0.0
        for seed in range(episodes):
            env.native.reset(seed)
            t0 = time.perf_counter()
            m = env.native.run_heuristic(policy, observe)
            dt += time.perf_counter() - t0
            steps += m["n_decisions"]
        return steps, dt

    return run


def gym_loop(policy, episodes, observation="flat"):
    env = AllocationEnv("deeprm", observation=observation, load=0.7)

    def run():
        steps, dt = 0, 0.0
        for seed in range(episodes):
            env.reset(seed=seed)
            rng = np.random.default_rng(seed)
            t0 = time.perf_counter()
            done = False
            info = None
            while not done:
                if policy == "random-valid":
                    mask = env.action_mask() if info is None else info["action_mask"]
                    a = int(rng.choice(np.flatnonzero(mask)))
                else:
                    a = env.heuristic_action(policy)
                _, _, term, trunc, info = env.step(a)
                steps += 1
                done = term or trunc
            dt += time.perf_counter() - t0
        return steps, dt

    return run


def native_loop(policy, episodes):
    """The native object without the Gymnasium wrapper or an observation."""
    env = AllocationEnv("deeprm", load=0.7).native

    def run():
        steps, dt = 0, 0.0
        for seed in range(episodes):
            env.reset(seed)
            t0 = time.perf_counter()
            done = False
            while not done:
                _, done, _ = env.step(env.heuristic_action(policy))
                steps += 1
            dt += time.perf_counter() - t0
        return steps, dt

    return run


def replay_loop(policy, episodes):
    """The native step alone: each episode's actions are recorded from the heuristic first, then
    replayed (the same steps, no policy and no observation in the timed loop)."""
    env = AllocationEnv("deeprm", load=0.7).native
    recorded = []
    for seed in range(episodes):
        env.reset(seed)
        actions, done = [], False
        while not done:
            a = env.heuristic_action(policy)
            actions.append(a)
            _, done, _ = env.step(a)
        recorded.append(actions)

    def run():
        steps, dt = 0, 0.0
        for seed, actions in enumerate(recorded):
            env.reset(seed)
            step = env.step
            t0 = time.perf_counter()
            for a in actions:
                step(a)
            dt += time.perf_counter() - t0
            steps += len(actions)
        return steps, dt

    return run


def read_deeprm(src, name):
    if os.path.isdir(os.path.join(src, "objects")) or src.endswith(".git") or os.path.exists(os.path.join(src, "HEAD")):
        return subprocess.run(["git", "--git-dir", src, "show", f"HEAD:{name}"], check=True, capture_output=True, text=True).stdout
    with open(os.path.join(src, name)) as f:
        return f.read()


def import_deeprm(src):
    """DeepRM's modules, translated from Python 2 in memory (see the module docs)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lib2to3 import refactor

    tool = refactor.RefactoringTool(refactor.get_fixers_from_package("lib2to3.fixes"))
    int_div = {
        "job_distribution.py": [
            ("job_len * 2 / 3", "job_len * 2 // 3"),
            ("job_len / 5", "job_len // 5"),
            ("max_nw_size / 2", "max_nw_size // 2"),
            ("max_nw_size / 5", "max_nw_size // 5"),
        ],
        "environment.py": [("curr_size / backlog_width", "curr_size // backlog_width")],
        "parameters.py": [("self.backlog_size / self.time_horizon", "self.backlog_size // self.time_horizon")],
    }
    theano = types.ModuleType("theano")
    theano.config = types.SimpleNamespace(floatX="float32")
    mpl = types.ModuleType("matplotlib")
    plt = types.ModuleType("matplotlib.pyplot")
    mpl.pyplot = plt
    sys.modules.update({"theano": theano, "matplotlib": mpl, "matplotlib.pyplot": plt})
    builtins.xrange = range  # for any xrange lib2to3 leaves
    mods = {}
    for name in ("job_distribution.py", "parameters.py", "environment.py", "other_agents.py"):
        text = read_deeprm(src, name)
        for old, new in int_div.get(name, []):
            assert old in text, f"{name}: {old!r} not found"
            text = text.replace(old, new)
        text = str(tool.refactor_string(text + "\n", name))
        mod = types.ModuleType(name[:-3])
        sys.modules[name[:-3]] = mod
        exec(compile(text, f"deeprm/{name}", "exec"), mod.__dict__)
        mods[name[:-3]] = mod
    return mods


def deeprm_loop(mods, policy, episodes, rate):
    pa = mods["parameters"].Parameters()
    # DeepRM's run_script.py load sweep, as faastune's defaults: 10 visible slots, simu_len 200,
    # episodes ending when all jobs are done or after 800 steps.
    pa.num_nw = 10
    pa.simu_len = 200
    pa.num_ex = episodes
    pa.episode_max_length = 800
    pa.new_job_rate = rate
    pa.compute_dependent_parameters()
    other = mods["other_agents"]
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        env = mods["environment"].Env(pa, render=False, repre="image", end="all_done")

    def run():
        steps, dt = 0, 0.0
        rng = np.random.default_rng(0)
        with contextlib.redirect_stdout(io.StringIO()):
            for ex in range(episodes):
                env.seq_no = ex
                env.reset()
                t0 = time.perf_counter()
                done = False
                while not done:
                    if policy == "sjf":
                        a = other.get_sjf_action(env.machine, env.job_slot)
                    elif policy == "packer":
                        a = other.get_packer_action(env.machine, env.job_slot)
                    else:
                        valid = [i for i, j in enumerate(env.job_slot.slot) if j is not None] + [pa.num_nw]
                        a = int(rng.choice(valid))
                    _, _, done, _ = env.step(a, repeat=True)
                    steps += 1
                dt += time.perf_counter() - t0
        return steps, dt

    return run


PY2_RUNNER = r"""
import sys, time, types, json, contextlib
theano = types.ModuleType("theano"); theano.config = types.ModuleType("config"); theano.config.floatX = "float32"
mpl = types.ModuleType("matplotlib"); plt = types.ModuleType("matplotlib.pyplot"); mpl.pyplot = plt
sys.modules.update({"theano": theano, "matplotlib": mpl, "matplotlib.pyplot": plt})
import numpy as np
import parameters, environment, other_agents
episodes, repeats, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
pa = parameters.Parameters()
pa.num_nw = 10; pa.simu_len = 200; pa.num_ex = episodes; pa.episode_max_length = 800; pa.new_job_rate = rate
pa.compute_dependent_parameters()
import os
devnull = open(os.devnull, "w"); old = sys.stdout; sys.stdout = devnull
env = environment.Env(pa, render=False, repre="image", end="all_done")
sys.stdout = old
out = []
for policy in ("sjf", "random-valid"):
    best = None
    for _ in range(repeats):
        rng = np.random.RandomState(0)
        steps, dt = 0, 0.0
        sys.stdout = devnull
        for ex in range(episodes):
            env.seq_no = ex
            env.reset()
            t0 = time.time()
            done = False
            while not done:
                if policy == "sjf":
                    a = other_agents.get_sjf_action(env.machine, env.job_slot)
                else:
                    valid = [i for i, j in enumerate(env.job_slot.slot) if j is not None] + [pa.num_nw]
                    a = valid[rng.randint(len(valid))]
                _, _, done, _ = env.step(a, repeat=True)
                steps += 1
            dt += time.time() - t0
        sys.stdout = old
        if best is None or dt < best[1]:
            best = (steps, dt)
    out.append({"policy": policy, "steps": best[0], "steps_per_s": best[0] / best[1]})
print(json.dumps(out))
"""


def deeprm_python2(src, python2, numpy_dir, episodes, repeats, rate):
    """DeepRM's files unchanged under Python 2: [(policy, steps, steps/s)]."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for name in ("job_distribution.py", "parameters.py", "environment.py", "other_agents.py"):
            with open(os.path.join(tmp, name), "w") as f:
                f.write(read_deeprm(src, name))
        with open(os.path.join(tmp, "runner.py"), "w") as f:
            f.write(PY2_RUNNER)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (tmp, numpy_dir) if p))
        out = subprocess.run(
            [python2, os.path.join(tmp, "runner.py"), str(episodes), str(repeats), repr(rate)],
            check=True, capture_output=True, text=True, env=env, cwd=tmp,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--deeprm", help="DeepRM checkout or bare git directory (hongzimao/deeprm)")
    ap.add_argument("--python2", help="a Python 2.7 interpreter to run DeepRM's files unchanged")
    ap.add_argument("--python2-path", default="", help="a directory with numpy for --python2")
    ap.add_argument("--episodes", type=int, default=EPISODES)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    n, r = args.episodes, args.repeats
    rows = []

    def add(name, fn):
        steps, sps = best_of(r, fn)
        rows.append({"loop": name, "steps": steps, "steps_per_s": sps})
        print(f"{name:58s} {steps:7d} steps {sps:12,.0f} steps/s", flush=True)

    for policy in ("sjf", "tetris"):
        add(f"rust loop ({policy}, no observation)", rust_loop(policy, n))
        add(f"rust loop ({policy}, flat image + mask each step)", rust_loop(policy, n, "flat"))
        add(f"rust loop ({policy}, graph + mask each step)", rust_loop(policy, n, "graph"))
        add(f"python, native object ({policy}, no observation)", native_loop(policy, n))
        add(f"python, native step only (replayed {policy} actions)", replay_loop(policy, n))
        add(f"python, gymnasium flat image ({policy})", gym_loop(policy, n))
        add(f"python, gymnasium graph dict ({policy})", gym_loop(policy, n, "graph"))
    add("python, gymnasium flat image (random valid action)", gym_loop("random-valid", n))
    if args.deeprm:
        mods = import_deeprm(args.deeprm)
        rate = AllocationEnv("deeprm", load=0.7).native.arrival_rate
        for policy in ("sjf", "random-valid"):
            add(f"DeepRM environment.py image ({policy})", deeprm_loop(mods, policy, n, rate))
        if args.python2:
            for row in deeprm_python2(args.deeprm, args.python2, args.python2_path, n, r, rate):
                name = f"DeepRM environment.py image, Python 2 unchanged ({row['policy']})"
                rows.append({"loop": name, "steps": row["steps"], "steps_per_s": row["steps_per_s"]})
                print(f"{name:58s} {row['steps']:7d} steps {row['steps_per_s']:12,.0f} steps/s", flush=True)
    if args.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
