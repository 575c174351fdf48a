"""Shared paths and helpers of the pytest suite of the faastune Python package."""

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
WF_DATA = REPO / "crates" / "workflow" / "tests" / "data"
IN_CI = os.environ.get("CI") == "true"


def faastune_bin():
    """The CLI binary: $FAASTUNE_BIN, else target/{debug,release}/faastune, else on PATH."""
    env = os.environ.get("FAASTUNE_BIN")
    if env:
        return env
    for profile in ("debug", "release"):
        p = REPO / "target" / profile / "faastune"
        if p.exists():
            return str(p)
    return shutil.which("faastune")


@pytest.fixture
def cli():
    path = faastune_bin()
    if path is None:
        if IN_CI:
            pytest.fail("CI: the faastune binary is missing (cargo test builds target/debug/faastune)")
        pytest.skip("no faastune binary (build it with cargo build, or set FAASTUNE_BIN)")
    return path
