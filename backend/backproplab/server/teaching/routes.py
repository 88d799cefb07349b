"""REST routes of the teaching views: step-through, gradient check and its h sweep, gradient health,
textbook examples, presets, optimizer comparisons and learning-rate sweeps. Each computation's cost is
checked against ``max_request_work`` before it starts (422 naming the field to lower); it then runs in the
compute pool on a copy of the run (one lane per request: offload.py), so training goes on meanwhile, and
stops when its client goes away."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from ...engine.textbook import expression_graph, tiny_network_example
from ..costs import MOVE_WORK, CostBasis, check_work, forward_work, gradcheck_work, mean_step_work
from ..errors import ERRORS, LimitError
from ..identities.deps import CallerDep, Identities
from ..offload import HeavyLane
from ..runs import datasets
from ..runs.limits import check_size, layer_sizes, row_counts
from ..runs.routes import Runs, created
from ..runs.service import RunService
from ..store import ComparisonRecord
from . import service
from .comparisons import Comparisons
from .limits import MAX_TRACE_BATCH
from .presets import presets
from .schemas import (
    ComparisonControl,
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
Samples = Annotated[int, Query(ge=1, le=100, description="training rows to check on")]


def get_comparisons(request: Request) -> Comparisons:
    comparisons: Comparisons = request.app.state.comparisons
    return comparisons


ComparisonsDep = Annotated[Comparisons, Depends(get_comparisons)]


async def get_comparison(comparison_id: str, comparisons: ComparisonsDep) -> ComparisonRecord:
    return await comparisons.get(comparison_id)


ComparisonDep = Annotated[ComparisonRecord, Depends(get_comparison)]
Operand = Annotated[float, Query(ge=-1e6, le=1e6, allow_inf_nan=False, description="a finite number")]


def check_gradcheck(basis: CostBasis, samples: int, checks: int, budget: float) -> None:
    """422 when central differences on ``samples`` rows for ``checks`` step sizes cost over ``budget``,
    naming what to lower: ``samples`` if fewer rows would do, else ``hs``, else the model."""
    sizes = basis.sizes
    work = gradcheck_work(sizes, samples, checks)
    if gradcheck_work(sizes, 1, checks) <= budget:
        field = "samples"
    elif gradcheck_work(sizes, samples, 1) <= budget:
        field = "hs"
    else:
        field = "model.hidden"
    what = "the gradient check" if checks == 1 else f"a gradient check at {checks} step sizes"
    check_work(work, budget, field, what)


async def cost_basis(runs: RunService, run_id: str) -> CostBasis:
    """What the run's heavy reads cost depends on, from its trainer, before anything is copied."""
    basis: CostBasis = await runs.call(run_id, "cost_basis")
    return basis


@router.get("/runs/{run_id}/stepthrough", response_model=StepTrace)
async def step_through(
    run_id: str,
    runs: Runs,
    lane: HeavyLane,
    sample: Annotated[int, Query(ge=0, description="first training row of the traced batch")] = 0,
    batch: Annotated[int, Query(ge=1, le=MAX_TRACE_BATCH, description="rows in the batch")] = 1,
) -> JSONResponse:
    """One training step of the run's current weights and optimizer, traced with every number."""
    work = 3 * forward_work((await cost_basis(runs, run_id)).sizes, batch)
    check_work(work, runs.settings.max_request_work, "batch", "the step-through")
    source = await runs.copy(run_id, rows=(sample, sample + batch), optimizer=True)
    return JSONResponse(await lane.compute(service.step_through, source))


@router.get("/runs/{run_id}/gradcheck", response_model=GradCheck)
async def gradcheck(
    run_id: str,
    runs: Runs,
    lane: HeavyLane,
    samples: Samples = 8,
    h: Annotated[
        float, Query(gt=0, le=0.1, allow_inf_nan=False, description="central-difference step")
    ] = 1e-5,
) -> JSONResponse:
    """Backprop's gradient of every weight and input next to the central difference (L(θ+h) − L(θ−h)) / 2h."""
    check_gradcheck(await cost_basis(runs, run_id), samples, 1, runs.settings.max_request_work)
    source = await runs.copy(run_id, rows=(0, samples))
    limit = runs.settings.max_gradcheck_parameters
    return JSONResponse(await lane.compute(service.gradcheck, source, h, limit))


@router.get("/runs/{run_id}/gradcheck/sweep", response_model=HSweep)
async def gradcheck_sweep(
    run_id: str,
    runs: Runs,
    lane: HeavyLane,
    hs: Annotated[str | None, Query(description="comma-separated step sizes; default 1e-1 … 1e-12")] = None,
    samples: Samples = 8,
) -> Any:
    """The gradient check's relative error for each h: too large an h truncates, too small rounds off."""
    steps = service.parse_hs(hs)
    check_gradcheck(await cost_basis(runs, run_id), samples, len(steps), runs.settings.max_request_work)
    source = await runs.copy(run_id, rows=(0, samples))
    limit = runs.settings.max_gradcheck_parameters
    parts = [await lane.compute(service.h_sweep, source, [h], limit) for h in steps]  # one job per h
    return {**parts[0], "points": [point for part in parts for point in part["points"]]}


@router.get("/runs/{run_id}/health", response_model=HealthOut)
async def health(
    run_id: str,
    runs: Runs,
    lane: HeavyLane,
    max_points: Annotated[int, Query(ge=2, le=10_000, description="statistics rows at most")] = 500,
) -> JSONResponse:
    """Per-layer gradient norm, weight norm, update ratio, dead ReLU share and histograms over time."""
    basis = await cost_basis(runs, run_id)
    work = forward_work(basis.sizes, basis.train_rows) + MOVE_WORK * basis.train_rows * (basis.sizes[0] + 1)
    check_work(work, runs.settings.max_request_work, "model.hidden", "the gradient health")
    source = await runs.copy(run_id, split="train", history=True, health=True)
    return JSONResponse(await lane.compute(service.health, source, max_points))


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


@router.delete("/comparisons/{comparison_id}", status_code=204)
async def delete_comparison(
    comparison: ComparisonDep, comparisons: ComparisonsDep, caller: CallerDep
) -> None:
    """Delete the comparison and its racers' runs (the comparison's owner or the admin): a race started
    again replaces the last one rather than keeping its runs."""
    comparisons.require(comparison, caller)
    await comparisons.delete(comparison)


@router.post("/comparisons/{comparison_id}/{action}", response_model=ComparisonOut)
async def control_comparison(
    action: Literal["play", "pause", "reset", "step"],
    comparison: ComparisonDep,
    comparisons: ComparisonsDep,
    runs: Runs,
    caller: CallerDep,
    body: ComparisonControl | None = None,
) -> dict[str, Any]:
    """Play, pause, reset or step all racers (the comparison's owner or the admin). ``step`` gives every
    racer the same ``steps``; ``play`` brings every racer up to the leader's step, then plays them all at one
    pace (``steps_per_second``, a watchable one by default; null: each flat out), so they stay at one step."""
    comparisons.require(comparison, caller)
    body = body or ComparisonControl()
    limit = runs.settings.max_steps_per_request
    if action == "step" and body.steps > limit:
        raise LimitError(f"must be between 1 and {limit}", "steps")
    await comparisons.control(comparison, action, body.steps, body.steps_per_second, catch_up=limit)
    return await comparisons.describe(comparison)


@router.post("/sweeps", response_model=SweepOut)
async def lr_sweep(body: SweepRequest, runs: Runs, lane: HeavyLane) -> dict[str, Any]:
    """Train the config at each learning rate for ``steps`` steps; say which converge, stall or diverge."""
    lrs = body.lrs if isinstance(body.lrs, list) else log_spaced(body.lrs.min, body.lrs.max, body.lrs.count)
    settings = runs.settings
    config, data, _ = await runs.offload.io(datasets.resolve, runs.store, body.config)
    check_size(
        config, settings.max_parameters, max_step_work=settings.max_step_work, prefix="config.", data=data
    )
    sizes, (train, test) = layer_sizes(config, data), row_counts(config, data)
    # Each learning rate: the steps, and the whole-set evaluation before and after them.
    one = body.steps * mean_step_work(sizes, config.batch_size, train, test, body.steps)
    one += 2 * (forward_work(sizes, train) + forward_work(sizes, test))
    check_work(len(lrs) * one, settings.max_request_work, "steps", f"a sweep of {len(lrs)} learning rates")
    jobs = [asyncio.ensure_future(lane.compute(train_at, config, lr, body.steps, data)) for lr in lrs]
    try:
        results = await asyncio.gather(*jobs)
    finally:
        for job in jobs:  # one failed, or the client left: the others stop too
            job.cancel()
    return {"rule": RULE, "steps": body.steps, "results": list(results)}
