"""The compute pool (server/offload.py) on its own: a cancelled request's process is killed only while it
still computes that request's job."""

from __future__ import annotations

import asyncio
import contextlib
import operator

from backproplab.server.offload import ComputePool


async def _cancel_after_the_job_finished(pool: ComputePool) -> None:
    """A request whose job has just finished is cancelled before it reads the outcome (as a sweep's other
    jobs are when one of them failed): the job's process is back among the idle ones by then."""
    task = asyncio.ensure_future(pool.run("first", operator.add, (1, 2)))
    while not pool.idle or pool.running or pool.starting:
        await asyncio.sleep(0)  # the outcome is in: the task resumes only in a later turn of the loop
    assert not task.done()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_a_request_cancelled_after_its_job_finished_leaves_the_process_to_the_next_request():
    async def scenario() -> int:
        pool = ComputePool(1)
        try:
            await _cancel_after_the_job_finished(pool)
            return await asyncio.wait_for(pool.run("second", operator.mul, (6, 7)), timeout=60)
        finally:
            pool.close()

    assert asyncio.run(scenario()) == 42
