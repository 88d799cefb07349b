"""The one way off the event loop: blocking I/O in a thread pool, heavy computation in worker processes.

Heavy reads (gradient checks, landscapes, step-throughs, sweeps) run in their own small process pool at a
lower CPU priority than the trainers, so they neither hold the web process's GIL (frames keep flowing)
nor take a trainer's core when the machine is busy.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any, TypeVar

from .errors import ApiError

T = TypeVar("T")
COMPUTE_NICENESS = 10


def _lower_priority() -> None:
    os.nice(COMPUTE_NICENESS)


class Offload:
    """``await offload.io(f, ...)`` for blocking calls; ``await offload.compute(f, ...)`` for CPU work
    (``f`` and its arguments must pickle: module-level functions over plain data)."""

    def __init__(self, io_threads: int = 8, compute_processes: int = 1):
        self._io = ThreadPoolExecutor(max_workers=io_threads, thread_name_prefix="io")
        self._processes = compute_processes
        self._compute = self._pool()

    def _pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._processes,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_lower_priority,
        )

    async def io(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._io, partial(function, *args, **kwargs))

    async def compute(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        pool = self._compute
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, partial(function, *args, **kwargs))
        except BrokenProcessPool:
            # NOTE: a compute process that died (killed, out of memory) breaks the whole pool: start a new
            # one for the next request, and say so for this one.
            if self._compute is pool:
                self._compute = self._pool()
            raise ApiError("the computation was interrupted; try again", None, status=503) from None

    def shutdown(self) -> None:
        self._compute.shutdown(wait=False, cancel_futures=True)
        self._io.shutdown(wait=True, cancel_futures=True)
