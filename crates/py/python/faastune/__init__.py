"""faastune from Python: the serverless workflow simulator, planner and environments of the faastune
Rust toolkit (https://example.invalid/faastune), built by maturin from ``crates/py``.

Workflow functions return the dicts the CLI prints with ``--json`` for the same arguments (same seed,
same numbers): :func:`load_workflow`, :func:`validate_workflow`, :func:`import_workflow`,
:func:`save_workflow`, :func:`simulate`, :func:`plan`, :func:`compare`, :func:`fit`. Bad input raises
:class:`FaastuneError` (a ``ValueError``) whose ``place``, ``file``, ``line``, ``column`` and
``problems`` say where.

Environments (``faastune.envs``, needs ``gymnasium`` and ``numpy``) are registered with Gymnasium
under ``faastune/...`` ids when this package is imported and gymnasium is installed:
``faastune/DeepRM-v0``, ``faastune/DeepRMGraph-v0``, ``faastune/Serverless-v0``,
``faastune/ServerlessGraph-v0``, ``faastune/Autoscale-v0``.

Tables: :func:`to_frame` turns a list of rows (e.g. ``compare(...)["policies"]``) into a pandas
DataFrame (pandas optional). Ray: ``faastune.distributed.sweep`` runs a compare grid as Ray tasks.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from ._native import (
    AllocEnv,
    AutoscaleEnv,
    FaastuneError,
    __version__,
    compare,
    fit,
    import_workflow,
    load_workflow,
    plan,
    policies,
    save_workflow,
    simulate,
    validate_workflow,
)

__all__ = [
    "AllocEnv",
    "AutoscaleEnv",
    "FaastuneError",
    "__version__",
    "compare",
    "compare_frame",
    "example_workflow",
    "fit",
    "import_workflow",
    "load_workflow",
    "plan",
    "policies",
    "save_workflow",
    "simulate",
    "to_frame",
    "validate_workflow",
]


def example_workflow(name: str = "pipeline5") -> str:
    """The path of a workflow shipped with the package (``pipeline5``: five steps in a chain)."""
    import os

    path = os.path.join(os.path.dirname(__file__), "data", f"{name}.yaml")
    if not os.path.exists(path):
        raise FaastuneError(f"example_workflow: no example named {name!r} (have: pipeline5)")
    return path


def to_frame(rows: Iterable[Dict[str, Any]]):
    """A pandas DataFrame of ``rows`` (dicts with the same keys). Needs pandas."""
    try:
        import pandas as pd
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("faastune.to_frame needs pandas: pip install pandas") from e
    return pd.DataFrame(list(rows))


def compare_frame(workflow: Any, **kwargs: Any):
    """:func:`compare` as a DataFrame: one row per policy, with the workflow, SLO, seed and model."""
    out = compare(workflow, **kwargs)
    rows: List[Dict[str, Any]] = []
    for r in out["policies"]:
        row = {
            "workflow": out["workflow"],
            "slo_s": out["slo_s"],
            "seed": out["seed"],
            "model": out["model"],
            "requests": out["requests"],
            "rate_per_s": out["rate_per_s"],
            "policy": r["name"],
        }
        row.update({k: v for k, v in r.items() if k != "name"})
        rows.append(row)
    return to_frame(rows)


def _register() -> Optional[bool]:
    try:
        import gymnasium  # noqa: F401
    except ImportError:
        return None
    from .envs import register_envs

    register_envs()
    return True


_register()
