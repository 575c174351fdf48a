"""Split a batch of jobs over worker processes and gather the results in the jobs' order.

AWS Lambda has no /dev/shm, so ``multiprocessing.Pool`` and ``Queue`` (which need POSIX
semaphores) fail there; this module uses only ``multiprocessing.Process`` and ``Pipe``.
"""

import multiprocessing
import pickle
import signal
import time
import traceback
from multiprocessing.connection import wait
from multiprocessing.reduction import ForkingPickler

__all__ = [
    "BatchError",
    "JobError",
    "WorkerDied",
    "default_start_method",
    "run_batch",
    "split",
]


class BatchError(RuntimeError):
    """A batch could not be completed (base class of the errors below)."""


class JobError(BatchError):
    """A job raised. ``index`` is the job's position in the batch, ``worker`` the worker that ran
    it (``None`` in-process), ``exc_type`` the exception's class name and ``remote_traceback`` the
    worker's traceback text."""

    def __init__(self, index, worker, exc_type, message, remote_traceback):
        where = "in-process" if worker is None else "in worker %d" % worker
        super().__init__(
            "job %d raised %s %s: %s\n--- worker traceback ---\n%s"
            % (index, exc_type, where, message, remote_traceback.rstrip())
        )
        self.index = index
        self.worker = worker
        self.exc_type = exc_type
        self.remote_traceback = remote_traceback


class WorkerDied(BatchError):
    """A worker process ended without finishing its jobs (``os._exit``, a signal, the OOM killer)."""

    def __init__(self, worker, jobs, done, exitcode):
        if exitcode is not None and exitcode < 0:
            try:
                name = signal.Signals(-exitcode).name
            except ValueError:
                name = "signal %d" % -exitcode
            how = "was killed by %s (%d)" % (name, -exitcode)
            if -exitcode == getattr(signal, "SIGKILL", 9):
                how += "; on AWS Lambda this is usually the memory limit: lower workers or raise memory"
        elif exitcode is None:
            how = "closed its pipe but did not exit"
        else:
            how = "exited with code %d" % exitcode
        super().__init__(
            "worker %d (jobs %d..%d, %d of %d done) died before finishing: it %s"
            % (worker, jobs.start, jobs.stop - 1, done, len(jobs), how)
        )
        self.worker = worker
        self.jobs = jobs
        self.done = done
        self.exitcode = exitcode


def split(n_jobs, workers):
    """Contiguous chunks: ``workers`` ranges over ``range(n_jobs)`` whose sizes differ by at most
    one, the larger ones first (StepConf's wrapper "evenly splits the data")."""
    base, extra = divmod(n_jobs, workers)
    chunks, start = [], 0
    for w in range(workers):
        stop = start + base + (1 if w < extra else 0)
        chunks.append(range(start, stop))
        start = stop
    return chunks


def default_start_method():
    """"fork" where the platform has it (Linux, AWS Lambda), else "spawn"."""
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def _worker_main(conn, fn, first, chunk):
    """Runs in the worker: one message per job, then ("done",). Stops at the first failure."""
    try:
        for offset, job in enumerate(chunk):
            index = first + offset
            try:
                result = fn(job)
            except BaseException as e:  # noqa: B902 - report everything, SystemExit included
                msg = ("err", index, type(e).__name__, str(e), traceback.format_exc())
                conn.send_bytes(ForkingPickler.dumps(msg))
                return
            try:
                data = ForkingPickler.dumps(("ok", index, result))
            except Exception as e:
                msg = ("unpicklable", index, "%s: %s" % (type(e).__name__, e))
                conn.send_bytes(ForkingPickler.dumps(msg))
                return
            conn.send_bytes(data)
        conn.send_bytes(ForkingPickler.dumps(("done",)))
    finally:
        conn.close()


def _serial(jobs, fn, deadline):
    results = []
    for index, job in enumerate(jobs):
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(
                "faastune_workers: deadline reached after %d of %d jobs (in-process)"
                % (index, len(jobs))
            )
        try:
            results.append(fn(job))
        except Exception as e:
            raise JobError(index, None, type(e).__name__, str(e), traceback.format_exc()) from e
    return results


def run_batch(jobs, fn, workers, timeout=None, start_method=None):
    """Returns ``[fn(job) for job in jobs]``, computed by ``workers`` worker processes.

    The jobs are split into contiguous chunks (see :func:`split`), one per worker; ``workers`` is
    capped at ``len(jobs)``, and with one worker the jobs run in this process, with no subprocess.
    Raises :class:`JobError` (the job's index and the worker's traceback) when a job raises,
    :class:`WorkerDied` when a worker ends without finishing, ``pickle.PicklingError`` when a result
    (or, under "spawn", ``fn`` or a job) cannot be pickled, and ``TimeoutError`` after ``timeout``
    seconds; the remaining workers are stopped in every case.
    """
    jobs = list(jobs)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError("workers must be an integer >= 1, got %r" % (workers,))
    if timeout is not None and timeout < 0:
        raise ValueError("timeout must be >= 0 seconds, got %r" % (timeout,))
    deadline = None if timeout is None else time.monotonic() + timeout
    workers = min(workers, len(jobs))
    if workers <= 1:
        return _serial(jobs, fn, deadline)

    method = start_method or default_start_method()
    ctx = multiprocessing.get_context(method)
    chunks = split(len(jobs), workers)
    results = [None] * len(jobs)
    done = [0] * workers
    procs, conns = [], []
    try:
        for w, chunk in enumerate(chunks):
            reader, writer = ctx.Pipe(duplex=False)
            proc = ctx.Process(
                target=_worker_main,
                args=(writer, fn, chunk.start, jobs[chunk.start:chunk.stop]),
                name="faastune-worker-%d" % w,
            )
            conns.append(reader)
            try:
                proc.start()
            except (pickle.PicklingError, TypeError, AttributeError) as e:
                writer.close()
                raise pickle.PicklingError(
                    "faastune_workers: cannot start worker %d with the %r start method: the job "
                    "function or one of jobs %d..%d cannot be pickled (%s: %s); define the function "
                    "at a module's top level or use the 'fork' start method"
                    % (w, method, chunk.start, chunk.stop - 1, type(e).__name__, e)
                ) from e
            writer.close()  # the worker holds the only write end: its death reads as EOF
            procs.append(proc)

        pending = set(range(workers))
        while pending:
            wait_for = None
            if deadline is not None:
                wait_for = deadline - time.monotonic()
                if wait_for <= 0:
                    running = ", ".join(
                        "%d (jobs %d..%d)" % (w, chunks[w].start, chunks[w].stop - 1)
                        for w in sorted(pending)
                    )
                    raise TimeoutError(
                        "faastune_workers: timeout after %.3g s with %d of %d jobs done; stopped "
                        "worker(s) %s" % (timeout, sum(done), len(jobs), running)
                    )
            objs = [conns[w] for w in pending] + [procs[w].sentinel for w in pending]
            ready = set(wait(objs, wait_for))
            for w in sorted(pending):
                if conns[w] not in ready and procs[w].sentinel not in ready:
                    continue
                finished = eof = False
                while not finished and not eof and conns[w].poll(0):
                    try:
                        msg = conns[w].recv()
                    except EOFError:
                        eof = True
                        break
                    if msg[0] == "ok":
                        results[msg[1]] = msg[2]
                        done[w] += 1
                    elif msg[0] == "done":
                        finished = True
                    elif msg[0] == "err":
                        _, index, exc_type, message, tb = msg
                        raise JobError(index, w, exc_type, message, tb)
                    else:  # "unpicklable"
                        raise pickle.PicklingError(
                            "faastune_workers: the result of job %d (worker %d) cannot be pickled "
                            "back to the caller: %s" % (msg[1], w, msg[2])
                        )
                if finished:
                    pending.discard(w)
                elif eof or not procs[w].is_alive():
                    procs[w].join(1.0)
                    raise WorkerDied(w, chunks[w], done[w], procs[w].exitcode)
        return results
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.join(0.05)
            if proc.is_alive():
                proc.terminate()
                proc.join(1.0)
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)
        for conn in conns:
            conn.close()
