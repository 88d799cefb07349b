"""REST routes of the teaching views: step-through, gradient check and its h sweep, gradient health,
textbook examples, presets, optimizer comparisons and learning-rate sweeps. Computations run in the
compute pool on a copy of the run, so training goes on meanwhile."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from ...engine.textbook import expression_graph, tiny_network_example
from ..errors import ERRORS, LimitError
from ..identities.deps import CallerDep, Identities
from ..runs.limits import check_size, parameter_estimate
from ..runs.routes import OffloadDep, Runs, created
from ..runs.schemas import StepRequest
from ..store import ComparisonRecord
from . import service
from .comparisons import Comparisons
from .limits import MAX_TRACE_BATCH
from .presets import presets
from .schemas import (
    ComparisonCreate,
    ComparisonCreated,
    ComparisonOut,
    ExpressionGraph,
    HealthOut,
    HSweep,
    Presets,
    SweepOut,
    SweepRequest,
    TextbookNetwork,
)
from .sweeps import RULE, log_spaced, train_at
from .trace_schemas import GradCheck, StepTrace

router = APIRouter(prefix="/api", responses=ERRORS, tags=["teaching"])
SWEEP_WORK_LIMIT = 2e9  # parameters × batch size × steps × learning rates, about the multiply-adds
Samples = Annotated[int, Query(ge=1, le=100, description="training rows to check on")]


def get_comparisons(request: Request) -> Comparisons:
    comparisons: Comparisons = request.app.state.comparisons
    return comparisons


ComparisonsDep = Annotated[Comparisons, Depends(get_comparisons)]


async def get_comparison(comparison_id: str, comparisons: ComparisonsDep) -> ComparisonRecord:
    return await comparisons.get(comparison_id)


ComparisonDep = Annotated[ComparisonRecord, Depends(get_comparison)]
Operand = Annotated[float, Query(ge=-1e6, le=1e6, allow_inf_nan=False, description="a finite number")]


@router.get("/runs/{run_id}/stepthrough", response_model=StepTrace)
async def step_through(
    run_id: str,
    runs: Runs,
    offload: OffloadDep,
    sample: Annotated[int, Query(ge=0, description="first training row of the traced batch")] = 0,
    batch: Annotated[int, Query(ge=1, le=MAX_TRACE_BATCH, description="rows in the batch")] = 1,
) -> JSONResponse:
    """One training step of the run's current weights and optimizer, traced with every number."""
    source = await runs.copy(run_id, rows=(sample, sample + batch), optimizer=True)
    return JSONResponse(await offload.compute(service.step_through, source))


@router.get("/runs/{run_id}/gradcheck", response_model=GradCheck)
async def gradcheck(
    run_id: str,
    runs: Runs,
    offload: OffloadDep,
    samples: Samples = 8,
    h: Annotated[float, Query(gt=0, le=0.1, description="central-difference step")] = 1e-5,
) -> JSONResponse:
    """Backprop's gradient of every weight and input next to the central difference (L(θ+h) − L(θ−h)) / 2h."""
    source = await runs.copy(run_id, rows=(0, samples))
    limit = runs.settings.max_gradcheck_parameters
    return JSONResponse(await offload.compute(service.gradcheck, source, h, limit))


@router.get("/runs/{run_id}/gradcheck/sweep", response_model=HSweep)
async def gradcheck_sweep(
    run_id: str,
    runs: Runs,
    offload: OffloadDep,
    hs: Annotated[str | None, Query(description="comma-separated step sizes; default 1e-1 … 1e-12")] = None,
    samples: Samples = 8,
) -> Any:
    """The gradient check's relative error for each h: too large an h truncates, too small rounds off."""
    steps = service.parse_hs(hs)
    source = await runs.copy(run_id, rows=(0, samples))
    limit = runs.settings.max_gradcheck_parameters
    return await offload.compute(service.h_sweep, source, steps, limit)


@router.get("/runs/{run_id}/health", response_model=HealthOut)
async def health(
    run_id: str,
    runs: Runs,
    offload: OffloadDep,
    max_points: Annotated[int, Query(ge=2, le=10_000, description="statistics rows at most")] = 500,
) -> JSONResponse:
    """Per-layer gradient norm, weight norm, update ratio, dead ReLU share and histograms over time."""
    source = await runs.copy(run_id, split="train", history=True, health=True)
    return JSONResponse(await offload.compute(service.health, source, max_points))


@router.get("/textbook/expression", response_model=ExpressionGraph)
async def textbook_expression(a: Operand = 5.0, b: Operand = 3.0, c: Operand = 2.0) -> dict[str, Any]:
    """J(a, b, c) = 3(a + bc) as a computation graph: values forward, dJ/d(node) backward."""
    return expression_graph(a, b, c)


@router.get("/textbook/network", response_model=TextbookNetwork)
async def textbook_network() -> JSONResponse:
    """The 1-input, 1-hidden-neuron, 1-output sigmoid network and its full one-step trace."""
    return JSONResponse(tiny_network_example())


@router.get("/presets", response_model=Presets)
async def list_presets() -> dict[str, Any]:
    """Vanishing gradients (deep sigmoid), their fix (relu + He init) and the textbook network."""
    return {"presets": presets()}


@router.post(
    "/comparisons", status_code=201, response_model=ComparisonCreated, response_model_exclude_unset=True
)
async def create_comparison(
    body: ComparisonCreate, comparisons: ComparisonsDep, caller: CallerDep, identities: Identities
) -> dict[str, Any]:
    """One run per racer from the same seed, data and initial weights; each streams on /ws/runs/{id}.
    The caller owns the comparison and its runs (without a token, a new identity whose token is in this
    response only)."""
    owner = await identities.or_new(caller)
    return created(await comparisons.describe(await comparisons.create(body, owner)), owner)


@router.get("/comparisons/{comparison_id}", response_model=ComparisonOut)
async def get_comparison_route(comparison: ComparisonDep, comparisons: ComparisonsDep) -> dict[str, Any]:
    return await comparisons.describe(comparison)


@router.post("/comparisons/{comparison_id}/{action}", response_model=ComparisonOut)
async def control_comparison(
    action: Literal["play", "pause", "reset", "step"],
    comparison: ComparisonDep,
    comparisons: ComparisonsDep,
    runs: Runs,
    caller: CallerDep,
    body: StepRequest | None = None,
) -> dict[str, Any]:
    """Play, pause, reset or step (body ``{"steps": n}``, the same n for every racer) all racers (the
    comparison's owner or the admin)."""
    comparisons.require(comparison, caller)
    steps = body.steps if body else 1
    if action == "step" and steps > runs.settings.max_steps_per_request:
        raise LimitError(f"must be between 1 and {runs.settings.max_steps_per_request}", "steps")
    await comparisons.control(comparison, action, steps)
    return await comparisons.describe(comparison)


@router.post("/sweeps", response_model=SweepOut)
async def lr_sweep(body: SweepRequest, runs: Runs, offload: OffloadDep) -> dict[str, Any]:
    """Train the config at each learning rate for ``steps`` steps; say which converge, stall or diverge."""
    lrs = body.lrs if isinstance(body.lrs, list) else log_spaced(body.lrs.min, body.lrs.max, body.lrs.count)
    check_size(body.config, runs.settings.max_parameters, "config.model.hidden")
    parameters = parameter_estimate(body.config)
    work = parameters * body.config.batch_size * body.steps * len(lrs)
    if work > SWEEP_WORK_LIMIT:
        raise LimitError(
            f"parameters × batch size × steps × learning rates is {work:.3g}, over {SWEEP_WORK_LIMIT:.0e}",
            "steps",
        )
    results = await asyncio.gather(*(offload.compute(train_at, body.config, lr, body.steps) for lr in lrs))
    return {"rule": RULE, "steps": body.steps, "results": list(results)}
