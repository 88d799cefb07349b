"""The one way off the event loop: blocking I/O in a thread pool, heavy reads in compute processes.

Heavy reads (gradient checks, landscapes, step-throughs, health, sweeps) run in a few compute processes at
a lower CPU priority than the trainers, so they neither hold the web process's GIL (frames keep flowing)
nor take a trainer's core when the machine is busy; trainer calls (controls) never wait behind them.

Admission: a heavy request is a :class:`Lane`. A caller (callers.py) has at most ``max_heavy_per_caller``
lanes open and the server ``max_heavy_requests``; past either, 429 with Retry-After. A lane's jobs (a
landscape's bands, a sweep's learning rates) wait in one queue per caller, and each free process takes the
next job round robin over the callers, so a caller with many jobs delays the others by one job at most.
A job whose request is cancelled (its client disconnected, the server is stopping) leaves the queue or,
if it is running, its process is killed and replaced: nothing computes for nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import os
import signal
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from .callers import request_caller_key
from .errors import ApiError, BusyError

log = logging.getLogger("backproplab.offload")
T = TypeVar("T")
COMPUTE_NICENESS = 10
RETRY_AFTER_MAX = 60  # seconds: the longest Retry-After a 429 suggests


def _serve_jobs(connection: Connection) -> None:
    """A compute process: run each ``(function, args)`` it receives; send back (True, value) or (False,
    the exception). Signals do not stop it (SIGTERM to the process group included): the web process does,
    by closing the pipe or killing it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.nice(COMPUTE_NICENESS)
    while True:
        try:
            function, args = connection.recv()
        except (EOFError, OSError):
            return
        try:
            outcome: tuple[bool, Any] = (True, function(*args))
        except Exception as error:
            outcome = (False, error)
        try:
            connection.send(outcome)
        except (EOFError, OSError):
            return
        except Exception as error:  # the value or the error does not pickle
            connection.send((False, RuntimeError(f"the result could not be sent back: {error!r}")))


class Worker:
    """One compute process and its pipe."""

    def __init__(self, context: Any):
        parent, child = context.Pipe(duplex=True)
        self.process = context.Process(
            target=_serve_jobs, args=(child,), name="backproplab-compute", daemon=True
        )
        self.process.start()
        child.close()
        self.connection: Connection = parent

    def exchange(self, function: Callable[..., Any], args: tuple[Any, ...]) -> tuple[bool, Any]:
        """Send a job and wait for its outcome (blocking: called in a thread). EOFError: the process died."""
        self.connection.send((function, args))
        outcome: tuple[bool, Any] = self.connection.recv()
        return outcome

    def kill(self) -> None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            self.process.kill()


@dataclass(eq=False)
class Job:
    caller: str
    function: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    worker: Worker | None = None


@dataclass
class ComputePool:
    """Up to ``size`` compute processes (started when first needed) taking jobs round robin over callers."""

    size: int
    context: Any = field(default_factory=lambda: multiprocessing.get_context("forkserver"))
    queues: OrderedDict[str, deque[Job]] = field(default_factory=OrderedDict)
    idle: list[Worker] = field(default_factory=list)
    workers: set[Worker] = field(default_factory=set)
    starting: int = 0
    running: int = 0
    job_seconds: float = 1.0  # a running average: what a 429's Retry-After is estimated from
    closed: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.threads = ThreadPoolExecutor(max_workers=2 * self.size, thread_name_prefix="compute")

    async def run(self, caller: str, function: Callable[..., T], args: tuple[Any, ...]) -> T:
        if self.closed:
            raise ApiError("the server is stopping", None, status=503)
        job = Job(caller, function, args, asyncio.get_running_loop().create_future())
        self.queues.setdefault(caller, deque()).append(job)
        self._dispatch()
        try:
            value: T = await job.future
            return value
        except asyncio.CancelledError:
            self._abandon(job)
            raise

    def waiting(self) -> int:
        return sum(len(queue) for queue in self.queues.values())

    def _abandon(self, job: Job) -> None:
        """A cancelled job leaves its queue; a running one loses its process (see _execute); a finished
        one has none left to lose."""
        queue = self.queues.get(job.caller)
        if queue is not None and job in queue:
            queue.remove(job)
            if not queue:
                del self.queues[job.caller]
        elif job.worker is not None:
            job.worker.kill()

    def _next_job(self) -> Job:
        caller, queue = next(iter(self.queues.items()))
        job = queue.popleft()
        del self.queues[caller]
        if queue:
            self.queues[caller] = queue  # to the back of the line: round robin over callers
        return job

    def _dispatch(self) -> None:
        if self.closed:
            return
        while self.queues and self.idle:
            worker, job = self.idle.pop(), self._next_job()
            job.worker = worker
            self._spawn_task(self._execute(worker, job))
        short = self.waiting() - self.starting
        while short > 0 and len(self.workers) + self.starting < self.size:
            self.starting += 1
            short -= 1
            self._spawn_task(self._start_worker())

    def _spawn_task(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _start_worker(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            worker = await loop.run_in_executor(self.threads, Worker, self.context)
        except Exception:
            log.exception("could not start a compute process")
            self._fail_waiting(ApiError("the computation could not start; try again", None, status=503))
            return
        finally:
            self.starting -= 1
        if self.closed:
            worker.kill()
            return
        self.workers.add(worker)
        self.idle.append(worker)
        self._dispatch()

    async def _execute(self, worker: Worker, job: Job) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.running += 1
        try:
            ok, value = await loop.run_in_executor(self.threads, worker.exchange, job.function, job.args)
        except (EOFError, OSError):
            # Killed because its request was cancelled, or it died (out of memory): replace it.
            worker.kill()
            self.workers.discard(worker)
            if not job.future.done():
                job.future.set_exception(ApiError("the computation was interrupted; try again", None, 503))
            self._dispatch()
            return
        except Exception as error:  # the job's arguments did not pickle: the process is fine
            ok, value = False, error
        finally:
            self.running -= 1
        self.job_seconds = 0.8 * self.job_seconds + 0.2 * (loop.time() - started)
        # NOTE: the job no longer holds the process. Its request can still be cancelled before it reads
        # this outcome (a sweep's other job failed), and _abandon must not kill a process that is idle
        # now or runs the next request's job: that job would fail with "interrupted" (a 503).
        job.worker = None
        if not job.future.done():
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
        self.idle.append(worker)
        self._dispatch()

    def _fail_waiting(self, error: ApiError) -> None:
        for queue in self.queues.values():
            for job in queue:
                if not job.future.done():
                    job.future.set_exception(error)
        self.queues.clear()

    def retry_after(self) -> int:
        """Seconds until a place is likely free: the work ahead spread over the processes."""
        ahead = (self.waiting() + self.running) * self.job_seconds / max(self.size, 1)
        return max(1, min(RETRY_AFTER_MAX, math.ceil(ahead)))

    def close(self) -> None:
        """Stop at once: waiting jobs fail, running ones are killed with their processes."""
        self.closed = True
        self._fail_waiting(ApiError("the server is stopping", None, status=503))
        for worker in list(self.workers):
            worker.kill()
        self.threads.shutdown(wait=False, cancel_futures=True)


class Lane:
    """One heavy request: its jobs run under its caller's name. It takes its place among the caller's
    heavy requests on its first job (or ``take()``), after the request's input and cost were checked, so
    bad input gets its 422 whatever else runs; closing it frees the place."""

    def __init__(self, offload: Offload, caller: str, admitted: bool = False):
        self.offload = offload
        self.caller = caller
        self.admitted = admitted
        self.closed = False

    def take(self) -> None:
        """Take the caller's place now (429 when the caller, or the server, has too many heavy requests)."""
        if not self.admitted:
            self.offload.take(self.caller)
            self.admitted = True

    async def compute(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a compute process (it and its arguments must pickle: module-level
        functions over plain data)."""
        self.take()
        return await self.offload.pool.run(self.caller, function, args)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.admitted:
                self.offload.release(self.caller)

    def __enter__(self) -> Lane:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Offload:
    """``await offload.io(f, ...)`` for blocking calls; ``with offload.admit(caller) as lane`` then
    ``await lane.compute(f, ...)`` for heavy reads (see the module docstring)."""

    def __init__(
        self,
        io_threads: int = 8,
        compute_processes: int = 1,
        max_per_caller: int = 2,
        max_requests: int = 32,
    ):
        self._io = ThreadPoolExecutor(max_workers=io_threads, thread_name_prefix="io")
        self.pool = ComputePool(compute_processes)
        self.max_per_caller = max_per_caller
        self.max_requests = max_requests
        self.open: dict[str, int] = {}

    async def io(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._io, partial(function, *args, **kwargs))

    def lane(self, caller: str) -> Lane:
        """A lane for one heavy request of ``caller``; it is admitted on its first job (``Lane.take``)."""
        return Lane(self, caller)

    def admit(self, caller: str) -> Lane:
        """A lane for one heavy request of ``caller``, admitted now (429 when refused)."""
        self.take(caller)
        return Lane(self, caller, admitted=True)

    def take(self, caller: str) -> None:
        """Count one more heavy request of ``caller``, or 429 when it (or the server) has too many open."""
        mine = self.open.get(caller, 0)
        if mine >= self.max_per_caller:
            raise BusyError(
                f"you already have {mine} heavy requests (landscape, gradient check, sweep, ...) in "
                f"progress, the most one caller may; wait for one to finish",
                self.pool.retry_after(),
            )
        if sum(self.open.values()) >= self.max_requests:
            raise BusyError(
                f"the server is busy with {self.max_requests} heavy requests; try again shortly",
                self.pool.retry_after(),
            )
        self.open[caller] = mine + 1

    def release(self, caller: str) -> None:
        left = self.open.get(caller, 0) - 1
        if left > 0:
            self.open[caller] = left
        else:
            self.open.pop(caller, None)

    def shutdown(self) -> None:
        self.pool.close()
        self._io.shutdown(wait=True, cancel_futures=True)


async def heavy_lane(request: Request) -> AsyncIterator[Lane]:
    """FastAPI dependency: the request's lane, open while the route computes (429 on its first job when
    refused: a request's own 422s come first)."""
    offload: Offload = request.app.state.offload
    with offload.lane(await request_caller_key(request)) as lane:
        yield lane


HeavyLane = Annotated[Lane, Depends(heavy_lane)]
