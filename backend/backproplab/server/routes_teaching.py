"""REST routes of the teaching views: step-through, textbook examples, h sweep, gradient health, presets,
optimizer comparisons and learning-rate sweeps. Heavy work runs in worker threads, off the event loop."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from ..engine.textbook import expression_graph, tiny_network_example
from . import teaching
from .comparisons import Comparison, Comparisons
from .errors import LimitError
from .manager import parameter_estimate
from .presets import presets
from .routes_runs import ERRORS, ManagerDep, SlotDep
from .schemas import StepRequest
from .schemas_teaching import (
    ComparisonCreate,
    ComparisonOut,
    ExpressionGraph,
    HealthOut,
    HSweep,
    Presets,
    StepTrace,
    SweepOut,
    SweepRequest,
    TextbookNetwork,
)
from .sweeps import RULE, log_spaced, train_at

router = APIRouter(prefix="/api", responses=ERRORS, tags=["teaching"])
SWEEP_WORK_LIMIT = 2e9  # parameters × batch size × steps × learning rates, about the multiply-adds


def get_comparisons(request: Request, manager: ManagerDep) -> Comparisons:
    """The app's comparison registry (made on first use; routes run on the event loop, so no race)."""
    if getattr(request.app.state, "comparisons", None) is None:
        request.app.state.comparisons = Comparisons(manager)
    return request.app.state.comparisons


ComparisonsDep = Annotated[Comparisons, Depends(get_comparisons)]


def get_comparison(comparison_id: str, comparisons: ComparisonsDep) -> Comparison:
    return comparisons.get(comparison_id)


ComparisonDep = Annotated[Comparison, Depends(get_comparison)]
Operand = Annotated[float, Query(ge=-1e6, le=1e6, allow_inf_nan=False, description="a finite number")]


@router.get("/runs/{run_id}/stepthrough", response_model=StepTrace)
async def step_through(
    slot: SlotDep,
    sample: Annotated[int, Query(ge=0, description="first training row of the traced batch")] = 0,
    batch: Annotated[int, Query(ge=1, le=teaching.MAX_TRACE_BATCH, description="rows in the batch")] = 1,
) -> JSONResponse:
    """One training step of the run's current weights and optimizer, traced with every number."""
    return JSONResponse(await asyncio.to_thread(teaching.step_through, slot, sample, batch))


@router.get("/textbook/expression", response_model=ExpressionGraph)
async def textbook_expression(a: Operand = 5.0, b: Operand = 3.0, c: Operand = 2.0) -> dict[str, Any]:
    """J(a, b, c) = 3(a + bc) as a computation graph: values forward, dJ/d(node) backward."""
    return expression_graph(a, b, c)


@router.get("/textbook/network", response_model=TextbookNetwork)
async def textbook_network() -> JSONResponse:
    """The 1-input, 1-hidden-neuron, 1-output sigmoid network and its full one-step trace."""
    return JSONResponse(await asyncio.to_thread(tiny_network_example))


@router.get("/runs/{run_id}/gradcheck/sweep", response_model=HSweep)
async def gradcheck_sweep(
    slot: SlotDep,
    manager: ManagerDep,
    hs: Annotated[str | None, Query(description="comma-separated step sizes; default 1e-1 … 1e-12")] = None,
    samples: Annotated[int, Query(ge=1, le=100, description="training rows to check on")] = 8,
) -> dict[str, Any]:
    """The gradient check's relative error for each h: too large an h truncates, too small rounds off."""
    limit = manager.settings.max_gradcheck_parameters
    return await asyncio.to_thread(teaching.h_sweep, slot, samples, teaching.parse_hs(hs), limit)


@router.get("/runs/{run_id}/health", response_model=HealthOut)
async def health(
    slot: SlotDep,
    max_points: Annotated[int, Query(ge=2, le=10_000, description="statistics rows at most")] = 500,
) -> JSONResponse:
    """Per-layer gradient norm, weight norm, update ratio, dead ReLU share and histograms over time."""
    return JSONResponse(await asyncio.to_thread(teaching.health, slot, max_points))


@router.get("/presets", response_model=Presets)
async def list_presets() -> dict[str, Any]:
    """Vanishing gradients (deep sigmoid), their fix (relu + He init) and the textbook network."""
    return {"presets": presets()}


@router.post("/comparisons", status_code=201, response_model=ComparisonOut)
async def create_comparison(
    body: ComparisonCreate, comparisons: ComparisonsDep, manager: ManagerDep
) -> dict[str, Any]:
    """One run per racer from the same seed, data and initial weights; each streams on /ws/runs/{id}."""
    comparison = await manager.call(comparisons.create, body)
    return await manager.call(comparisons.describe, comparison)


@router.get("/comparisons/{comparison_id}", response_model=ComparisonOut)
async def get_comparison_route(
    comparison: ComparisonDep, comparisons: ComparisonsDep, manager: ManagerDep
) -> dict[str, Any]:
    return await manager.call(comparisons.describe, comparison)


@router.post("/comparisons/{comparison_id}/{action}", response_model=ComparisonOut)
async def control_comparison(
    action: Literal["play", "pause", "reset", "step"],
    comparison: ComparisonDep,
    comparisons: ComparisonsDep,
    manager: ManagerDep,
    body: StepRequest | None = None,
) -> dict[str, Any]:
    """Play, pause, reset or step (body ``{"steps": n}``, the same n for every racer) all racers."""
    steps = body.steps if body else 1
    if action == "step" and steps > manager.settings.max_steps_per_request:
        raise LimitError(f"must be between 1 and {manager.settings.max_steps_per_request}", "steps")
    await manager.call(comparisons.control, comparison, action, steps)
    return await manager.call(comparisons.describe, comparison)


@router.post("/sweeps", response_model=SweepOut)
async def lr_sweep(body: SweepRequest, manager: ManagerDep) -> dict[str, Any]:
    """Train the config at each learning rate for ``steps`` steps; say which converge, stall or diverge."""
    lrs = body.lrs if isinstance(body.lrs, list) else log_spaced(body.lrs.min, body.lrs.max, body.lrs.count)
    parameters = parameter_estimate(body.config)
    if parameters > manager.settings.max_parameters:
        raise LimitError(f"the network would have about {parameters:,} parameters", "config.model.hidden")
    work = parameters * body.config.batch_size * body.steps * len(lrs)
    if work > SWEEP_WORK_LIMIT:
        raise LimitError(
            f"parameters × batch size × steps × learning rates is {work:.3g}, over {SWEEP_WORK_LIMIT:.0e}",
            "steps",
        )
    results = await asyncio.gather(*(asyncio.to_thread(train_at, body.config, lr, body.steps) for lr in lrs))
    return {"rule": RULE, "steps": body.steps, "results": list(results)}
