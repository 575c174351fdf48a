"""The package's numbers are the CLI's: the same arguments and seed give the same JSON values."""

import json
import subprocess

from conftest import EXAMPLES

PIPELINE = str(EXAMPLES / "pipeline5.yaml")
VIDEO = str(EXAMPLES / "video.yaml")


def run(cli, *args):
    out = subprocess.run([cli, *args, "--json"], check=True, capture_output=True, text=True, timeout=300)
    return json.loads(out.stdout)


def test_simulate_matches_cli(cli):
    for wf in (PIPELINE, VIDEO):
        want = run(cli, "simulate", "--workflow", wf, "--requests", "60", "--rate", "2", "--seed", "11")
        got = __import__("faastune").simulate(wf, requests=60, rate=2.0, seed=11)
        assert got == want


def test_simulate_with_minutes_and_arrival_spec_matches_cli(cli):
    import faastune

    want = run(cli, "simulate", "--workflow", PIPELINE, "--arrivals", "pattern:bursty:2", "--minutes", "2", "--seed", "5")
    assert faastune.simulate(PIPELINE, arrivals="pattern:bursty:2", minutes=2.0, seed=5) == want


def test_plan_matches_cli(cli):
    import faastune

    for policy in ("replan", "stepconf"):
        want = run(cli, "plan", "--workflow", VIDEO, "--policy", policy, "--seed", "3")
        assert faastune.plan(VIDEO, policy=policy, seed=3) == want


def test_compare_matches_cli(cli):
    import faastune

    want = run(cli, "compare", "--workflow", PIPELINE, "--requests", "40", "--policies", "static,stepconf,replan", "--seed", "2")
    got = faastune.compare(PIPELINE, requests=40, policies=["static", "stepconf", "replan"], seed=2)
    assert got == want
