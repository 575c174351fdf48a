"""Type stubs of the extension module ``faastune._native`` (crates/py/src)."""

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

PathLike = Union[str, "os.PathLike[str]"]
WorkflowArg = Union[PathLike, Dict[str, Any]]
"""A workflow file (native YAML/JSON) or a spec as a dict (the format ``load_workflow`` returns)."""

__version__: str

class FaastuneError(ValueError):
    """A faastune input or option is invalid."""

    kind: str
    """``workflow``, ``platform``, ``config``, ``option``, ``optimizer``, ``model``, ``environment``."""
    file: Optional[str]
    line: Optional[int]
    column: Optional[int]
    place: Optional[str]
    """Where: the first problem's place, else ``file:line``, else the argument's name."""
    problems: List[Dict[str, str]]
    """Every problem found: ``{"place": ..., "message": ...}``."""

def load_workflow(workflow: WorkflowArg) -> Dict[str, Any]:
    """Loads and validates a workflow; returns its native spec."""

def validate_workflow(workflow: WorkflowArg) -> Dict[str, Any]:
    """Validates a workflow; returns ``name``, ``n_steps``, ``steps`` (topological order), ``slo_s``."""

def import_workflow(
    path: PathLike,
    format: str,
    *,
    name: Optional[str] = None,
    work_s: Optional[float] = None,
    jobs: Optional[int] = None,
    items: Optional[int] = None,
    memory_mb_per_worker: Optional[int] = None,
    slo_s: Optional[float] = None,
    per_job: bool = False,
) -> Dict[str, Any]:
    """Imports ``asl``, ``workflowhub``, ``sebs`` or ``faasflow``; returns the native spec."""

def save_workflow(workflow: WorkflowArg, path: PathLike) -> None:
    """Writes a validated workflow as YAML (``.yaml``/``.yml``) or JSON."""

def simulate(
    workflow: WorkflowArg,
    *,
    config: Optional[Union[PathLike, Dict[str, Any]]] = None,
    platform: Optional[PathLike] = None,
    requests: Optional[int] = None,
    rate: float = 1.0,
    arrivals: str = "poisson",
    minutes: Optional[float] = None,
    slo: Optional[float] = None,
    seed: int = 0,
    records: bool = False,
) -> Dict[str, Any]:
    """``faastune simulate --json`` with the same arguments."""

def plan(
    workflow: WorkflowArg,
    *,
    slo: Optional[float] = None,
    policy: str = "replan",
    platform: Optional[PathLike] = None,
    model: str = "fitted",
    model_file: Optional[PathLike] = None,
    seed: int = 0,
) -> Dict[str, Any]:
    """``faastune plan --json`` with the same arguments."""

def compare(
    workflow: WorkflowArg,
    *,
    slo: Optional[float] = None,
    requests: int = 200,
    rate: float = 0.5,
    arrivals: str = "poisson",
    policies: Optional[Sequence[str]] = None,
    platform: Optional[PathLike] = None,
    model: str = "fitted",
    seed: int = 0,
) -> Dict[str, Any]:
    """``faastune compare --json`` with the same arguments."""

def fit(
    workflow: WorkflowArg,
    *,
    platform: Optional[PathLike] = None,
    model: str = "fitted",
    seed: int = 0,
) -> Dict[str, Any]:
    """The performance model ``plan(seed=seed)`` plans with, in the model file format (``plan(model_file=...)``
    reads it back)."""

def policies() -> List[str]:
    """The configuration policies' names."""

class AllocEnv:
    """The allocation environment (crate ``cluster``); ``faastune.envs.AllocationEnv`` wraps it."""

    @staticmethod
    def deeprm(
        *,
        load: float = 0.7,
        pattern: str = "steady",
        n_resources: int = 2,
        res_slots: int = 10,
        time_horizon: int = 20,
        n_visible: int = 10,
        backlog_size: int = 60,
        simu_len: int = 200,
        episode_max_len: int = 800,
    ) -> "AllocEnv": ...
    @staticmethod
    def serverless(
        *,
        n_functions: int = 12,
        rate_per_s: float = 4.0,
        horizon_s: float = 600.0,
        pattern: str = "mixed",
        load: float = 1.0,
        keep_alive: str = "fixed",
        window: int = 16,
        max_running: int = 128,
    ) -> "AllocEnv": ...
    @property
    def mode(self) -> str: ...
    @property
    def arrival_rate(self) -> Optional[float]: ...
    @property
    def n_window(self) -> int: ...
    @property
    def n_machines(self) -> int: ...
    @property
    def n_functions(self) -> int: ...
    @property
    def n_actions(self) -> int: ...
    @property
    def flat_shape(self) -> List[int]: ...
    @property
    def max_nodes(self) -> int: ...
    @property
    def max_edges(self) -> int: ...
    def reset(self, seed: Optional[int] = None) -> None: ...
    def step(self, action: int) -> Tuple[float, bool, bool]:
        """``(reward, done, invalid)``."""
    def is_done(self) -> bool: ...
    def flat(self) -> bytes:
        """``float32`` little-endian, shape ``flat_shape``."""
    def graph(self) -> Dict[str, bytes]:
        """``node_features`` f32, ``node_type`` i64, ``node_mask`` i8, ``edge_index`` i64,
        ``edge_type`` i64, ``edge_mask`` i8, ``action_mask`` i8."""
    def action_mask(self) -> bytes: ...
    def heuristic_action(self, name: str) -> int: ...
    def run_heuristic(self, name: str, observe: Optional[str] = None) -> Dict[str, Any]:
        """The rest of the episode in Rust; ``observe`` (``flat``/``graph``) builds that observation
        at every step too."""
    def step_flat(self, action: int) -> Tuple[bytes, float, bool, bool, bytes]:
        """``step``, then ``(flat, reward, done, invalid, action_mask)``."""
    def metrics(self) -> Dict[str, Any]: ...
    def info(self) -> Dict[str, Any]: ...

class AutoscaleEnv:
    """The autoscaling environment (``platform::autoscale``); ``faastune.envs.AutoscalingEnv``
    wraps it."""

    def __init__(
        self,
        workflow: WorkflowArg,
        *,
        platform: Optional[PathLike] = None,
        config: Optional[Union[PathLike, Dict[str, Any]]] = None,
        rate_per_s: float = 1.0,
        pattern: str = "steady",
        horizon_s: float = 600.0,
        interval_s: float = 60.0,
        slo: Optional[float] = None,
        reward_baseline: str = "none",
    ) -> None: ...
    @property
    def function_names(self) -> List[str]: ...
    @property
    def n_features(self) -> int: ...
    @property
    def edges(self) -> List[Tuple[int, int]]: ...
    def reset(self, seed: Optional[int] = None) -> None: ...
    def step(self, actions: Sequence[int]) -> Tuple[float, bool]:
        """``(reward, done)``; two knobs per function, each 0 down, 1 keep, 2 up."""
    def features(self) -> bytes: ...
    def info(self) -> Dict[str, Any]: ...
    def report(self) -> Optional[Dict[str, Any]]: ...
