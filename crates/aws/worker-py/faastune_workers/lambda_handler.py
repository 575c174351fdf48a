"""A Lambda handler around :func:`run_batch`: the jobs from the event, the worker count from the
event or from the environment faastune's deployer sets on each configuration's version."""

import functools
import os
import re

from .batch import run_batch

__all__ = ["MAX_WORKERS", "WORKERS_ENV", "handler", "items_from", "workers_from"]

#: The environment variable faastune's AWS deployer sets on each version (`faastune-<mem>mb-w<N>`).
WORKERS_ENV = "FAASTUNE_WORKERS"
#: Largest worker count accepted (faastune deploys 1..=64).
MAX_WORKERS = 64
#: Seconds kept back from the Lambda deadline to stop the workers and raise a clear TimeoutError.
DEFAULT_MARGIN_S = 0.5


def _check_workers(value, field):
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            "%s must be an integer in 1..=%d, got %r (%s)"
            % (field, MAX_WORKERS, value, type(value).__name__)
        )
    if not 1 <= value <= MAX_WORKERS:
        raise ValueError("%s must be in 1..=%d, got %d" % (field, MAX_WORKERS, value))
    return value


def workers_from(event, environ=None):
    """The worker count: ``event["faastune"]["workers"]``, else ``$FAASTUNE_WORKERS``, else 1."""
    environ = os.environ if environ is None else environ
    if isinstance(event, dict) and "faastune" in event:
        conf = event["faastune"]
        if not isinstance(conf, dict):
            raise ValueError(
                "event['faastune'] must be an object like {\"workers\": 2}, got %r" % (conf,)
            )
        if "workers" in conf:
            return _check_workers(conf["workers"], "event['faastune']['workers']")
    text = environ.get(WORKERS_ENV)
    if text is not None and text.strip() != "":
        return _check_workers(text, "environment variable %s" % WORKERS_ENV)
    return 1


def items_from(event, items_key="items"):
    """The job list, ``event[items_key]``."""
    if not isinstance(event, dict):
        raise ValueError("the event must be a JSON object, got %s" % type(event).__name__)
    if items_key not in event:
        raise ValueError(
            "event[%r] is missing: the event must carry the job list, like "
            "{%r: [...], \"faastune\": {\"workers\": 2}}" % (items_key, items_key)
        )
    items = event[items_key]
    if not isinstance(items, (list, tuple)):
        raise ValueError(
            "event[%r] must be a list of jobs, got %s" % (items_key, type(items).__name__)
        )
    return list(items)


def _timeout_from(context, margin_s):
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    return max(0.0, remaining() / 1000.0 - margin_s)


def handler(job_fn=None, items_key="items", margin_s=DEFAULT_MARGIN_S, start_method=None):
    """Makes a Lambda handler ``(event, context) -> dict`` that runs ``job_fn`` on every item of
    ``event[items_key]`` over the configured number of worker processes and returns
    ``{"results": [...], "workers": n, "jobs": len}`` (``n``: the processes used, i.e. the worker
    count capped at the number of jobs). Use it as ``@handler`` or ``@handler(items_key="records")``.

    With a Lambda ``context``, the workers are stopped ``margin_s`` seconds before the deadline
    and a ``TimeoutError`` is raised (in-process, with one worker, between jobs only).
    """
    if job_fn is None:
        return functools.partial(
            handler, items_key=items_key, margin_s=margin_s, start_method=start_method
        )

    @functools.wraps(job_fn)
    def lambda_handler(event, context=None):
        items = items_from(event, items_key)
        workers = workers_from(event)
        timeout = _timeout_from(context, margin_s)
        try:
            results = run_batch(items, job_fn, workers, timeout=timeout, start_method=start_method)
        except TimeoutError as e:
            raise TimeoutError(
                "%s (Lambda deadline less a %.3g s margin)" % (e, margin_s)
            ) from None
        return {"results": results, "workers": max(1, min(workers, len(items))), "jobs": len(items)}

    return lambda_handler
