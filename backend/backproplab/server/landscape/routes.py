"""REST routes for a run's loss landscape: a 2-D slice around the current weights and the 1-D gradient line.

The slice's cost is checked against ``max_request_work`` first (422 naming ``resolution``), from figures the
run's trainer gives without copying anything; then the trainer hands over a copy (weights, data,
trajectory) between two training slices, and the slice is computed on the copy in
the compute pool, band by band, so training and other requests go on meanwhile, other callers' jobs get
their turns between bands, progress can be streamed, and the work stops when the client goes away.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ...engine.errors import ConfigError
from ...engine.landscape import MAX_RESOLUTION, grid_axis
from ..callers import request_caller_key
from ..costs import CostBasis, check_work, landscape_work, path_sample
from ..encoding import dumps
from ..errors import ERRORS, ApiError
from ..offload import HeavyLane, Lane
from ..runs.copy import RunCopy
from ..runs.routes import OffloadDep, Runs
from . import service
from .schemas import LandscapeLineOut, LandscapeOut

log = logging.getLogger("backproplab.landscape")
router = APIRouter(prefix="/api", responses=ERRORS, tags=["landscape"])
NDJSON = "application/x-ndjson"
BANDS = 20  # the grid is computed in this many bands of rows: progress, and a stop between two
STREAM_DOC: dict[int | str, dict[str, Any]] = {
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


class LaneStream(StreamingResponse):
    """A streamed answer that holds its heavy request's lane until the stream ends (or its client leaves)."""

    def __init__(self, lines: AsyncIterator[str], lane: Lane):
        super().__init__(lines, media_type=NDJSON)
        self.lane = lane

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.lane.close()


def check_cost(basis: CostBasis, query: dict[str, Any], budget: float) -> None:
    """422 naming ``resolution`` when the slice would cost over ``budget`` multiply-adds."""
    resolution = query["resolution"]
    rows = basis.rows(query["split"])
    work = landscape_work(basis, rows, resolution**2, query["directions"])
    check_work(work, budget, "resolution", f"a {resolution}×{resolution} loss landscape")


async def compute_landscape(
    source: RunCopy, query: dict[str, Any], lane: Lane, report: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """The LandscapeOut body, computed band by band in the compute pool."""
    started = time.perf_counter()
    plane = await lane.compute(service.choose_plane, source, query["directions"], query["seed"])
    span = service.span_of(query["directions"], plane, query["span"])
    axis = grid_axis(span, query["resolution"])
    total, done, rows = axis.size**2, 0, []
    for betas in np.array_split(axis, min(BANDS, axis.size)):
        rows.append(await lane.compute(service.band, source, plane, axis, betas))
        done += betas.size * axis.size
        if report is not None:
            report(done, total)
    raw = np.vstack(rows)
    return await lane.compute(
        service.landscape_body, source, plane, query, span, raw, time.perf_counter() - started
    )


@router.get("/runs/{run_id}/landscape", response_model=LandscapeOut, responses=STREAM_DOC)
async def get_landscape(
    run_id: str,
    request: Request,
    runs: Runs,
    offload: OffloadDep,
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
    lane = offload.lane(await request_caller_key(request))  # held by the stream when progress is streamed
    streaming = False
    try:
        basis: CostBasis = await runs.call(run_id, "cost_basis")
        check_cost(basis, query, runs.settings.max_request_work)
        lane.take()  # before the copy and before a stream starts: a refusal is a plain 429
        source = await runs.copy(run_id, split=split, trajectory=path_sample(basis.parameters))
        if progress:
            streaming = True
            return LaneStream(_progress_lines(source, query, lane), lane)
        return await compute_landscape(source, query, lane)
    finally:
        if not streaming:
            lane.close()


@router.get("/runs/{run_id}/landscape/line", response_model=LandscapeLineOut)
async def get_landscape_line(
    run_id: str,
    runs: Runs,
    lane: HeavyLane,
    split: Split = "train",
    points: Annotated[int, Query(ge=2, le=MAX_RESOLUTION, description="samples of α")] = 81,
    alpha_max: Annotated[
        float | None,
        Query(gt=0, le=1e6, allow_inf_nan=False, description="largest α; default 4 × the current lr"),
    ] = None,
) -> Any:
    """L(θ − α·g) for α from 0 to ``alpha_max``, g the full-batch gradient, the current lr sampled exactly."""
    basis: CostBasis = await runs.call(run_id, "cost_basis")
    work = landscape_work(basis, basis.rows(split), points + 1, "gradient", path=False)
    check_work(work, runs.settings.max_request_work, "points", f"a {points}-point gradient line")
    source = await runs.copy(run_id, split=split)
    return await lane.compute(service.line, source, split, points, alpha_max)


async def _progress_lines(source: RunCopy, query: dict[str, Any], lane: Lane) -> AsyncIterator[str]:
    """Progress lines as the bands complete, then the result (or an error line). If the client goes away,
    the computation stops before its next band."""
    lines: asyncio.Queue[str] = asyncio.Queue()

    def report(done: int, total: int) -> None:
        lines.put_nowait(dumps({"type": "progress", "done": done, "total": total}) + "\n")

    job = asyncio.create_task(compute_landscape(source, query, lane, report))
    try:
        while not (job.done() and lines.empty()):
            waiter = asyncio.create_task(lines.get())
            await asyncio.wait({job, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if waiter.done():
                yield waiter.result()
            else:
                waiter.cancel()
        try:
            yield dumps({"type": "result", "landscape": job.result()}) + "\n"
        except (ConfigError, ApiError) as error:
            yield dumps({"type": "error", "field": error.field, "reason": error.reason}) + "\n"
        except Exception:
            log.exception("landscape computation failed")
            yield dumps({"type": "error", "field": None, "reason": "internal error"}) + "\n"
    finally:
        job.cancel()
