"""faastune_workers: intra-function parallelism for Python AWS Lambda functions.

A function step's batch of jobs is split over ``workers`` worker processes inside one Lambda
instance (StepConf Sec. V-C), so that a faastune plan's ``workers`` means something on the real
platform. Standard library only; ``multiprocessing.Process`` and ``Pipe``, which work on Lambda
(no /dev/shm, so no ``Pool`` or ``Queue``).
"""

from .batch import BatchError, JobError, WorkerDied, default_start_method, run_batch, split
from .lambda_handler import MAX_WORKERS, WORKERS_ENV, handler, items_from, workers_from

__version__ = "0.1.0"

__all__ = [
    "BatchError",
    "JobError",
    "MAX_WORKERS",
    "WORKERS_ENV",
    "WorkerDied",
    "default_start_method",
    "handler",
    "items_from",
    "run_batch",
    "split",
    "workers_from",
]
