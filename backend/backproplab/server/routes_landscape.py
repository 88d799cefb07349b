"""REST routes for a run's loss landscape: a 2-D slice around the current weights and the 1-D gradient line.

The run's lock is held only to copy its weights and data (:func:`landscapes.copy_run`); the slice is
computed on the copy in a worker thread, so training and other requests go on meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from ..engine.errors import ConfigError
from ..engine.landscape import MAX_RESOLUTION
from .frames import dumps
from .landscapes import choose_plane, copy_run, landscape, line
from .routes_runs import ERRORS, ManagerDep, SlotDep
from .schemas_landscape import LandscapeLineOut, LandscapeOut

log = logging.getLogger("backproplab.landscape")
router = APIRouter(prefix="/api", responses=ERRORS, tags=["landscape"])
NDJSON = "application/x-ndjson"
PROGRESS_LINES = 50
STREAM_DOC = {
    200: {
        "content": {
            NDJSON: {
                "schema": {"type": "string"},
                "example": '{"type":"progress","done":262,"total":2601}\n{"type":"result","landscape":{}}\n',
            }
        },
        "description": "with ?progress=true: LandscapeProgress lines, then a result (or error) line",
    }
}

Split = Annotated[Literal["train", "test"], Query(description="which data the loss is measured on")]


@router.get("/runs/{run_id}/landscape", response_model=LandscapeOut, responses=STREAM_DOC)
async def get_landscape(
    slot: SlotDep,
    manager: ManagerDep,
    directions: Annotated[
        Literal["filter", "pca", "gradient"],
        Query(description="filter-normalised random, trajectory PCA, or −gradient and a random one"),
    ] = "filter",
    resolution: Annotated[int, Query(ge=2, le=MAX_RESOLUTION, description="grid points per axis")] = 41,
    span: Annotated[
        float | None,
        Query(
            gt=0, le=1e3, allow_inf_nan=False, description="α, β ∈ [−span, span]; default 1 (PCA: the path)"
        ),
    ] = None,
    metric: Annotated[Literal["loss", "log_loss"], Query(description="log_loss: log10 of the loss")] = "loss",
    split: Split = "train",
    seed: Annotated[int, Query(ge=0, le=2**32 - 1, description="seed of the random directions")] = 0,
    progress: Annotated[bool, Query(description="stream NDJSON progress lines, then the result")] = False,
) -> Any:
    """L(θ + α·d1 + β·d2) around the current weights θ, with the run's trajectory projected on the plane."""
    query = {
        "directions": directions,
        "metric": metric,
        "split": split,
        "seed": seed,
        "span": span,
        "resolution": resolution,
    }
    source = await manager.call(copy_run, slot, split)
    plane = await asyncio.to_thread(choose_plane, source, directions, seed)
    compute = partial(landscape, source, plane, query)
    if progress:
        return StreamingResponse(_progress_lines(compute), media_type=NDJSON)
    return await asyncio.to_thread(compute)


@router.get("/runs/{run_id}/landscape/line", response_model=LandscapeLineOut)
async def get_landscape_line(
    slot: SlotDep,
    manager: ManagerDep,
    split: Split = "train",
    points: Annotated[int, Query(ge=2, le=MAX_RESOLUTION, description="samples of α")] = 81,
    alpha_max: Annotated[
        float | None,
        Query(gt=0, le=1e6, allow_inf_nan=False, description="largest α; default 4 × the current lr"),
    ] = None,
) -> Any:
    """L(θ − α·g) for α from 0 to ``alpha_max``, g the full-batch gradient, the current lr sampled exactly."""
    source = await manager.call(copy_run, slot, split)
    return await asyncio.to_thread(line, source, split, points, alpha_max)


async def _progress_lines(compute: Callable[..., dict[str, Any]]) -> AsyncIterator[str]:
    """Run ``compute(progress)`` in a worker thread and yield its progress, then its result, as NDJSON."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    reported = 0

    def report(done: int, total: int) -> None:
        nonlocal reported
        if done - reported >= total / PROGRESS_LINES or done == total:  # at most ~PROGRESS_LINES lines
            reported = done
            loop.call_soon_threadsafe(queue.put_nowait, {"type": "progress", "done": done, "total": total})

    def work() -> None:
        try:
            message = {"type": "result", "landscape": compute(report)}
        except ConfigError as error:
            message = {"type": "error", "field": error.field, "reason": error.reason}
        except Exception:
            log.exception("landscape computation failed")
            message = {"type": "error", "field": None, "reason": "internal error"}
        loop.call_soon_threadsafe(queue.put_nowait, message)

    future = loop.run_in_executor(None, work)
    while True:
        message = await queue.get()
        yield dumps(message) + "\n"
        if message["type"] != "progress":
            break
    await future
