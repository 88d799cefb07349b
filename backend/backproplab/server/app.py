"""``create_app(settings)``: the FastAPI application, its routes, middleware and the live core.

The lifespan takes the data dir's one-server lock (store/lock.py; none with a database URL), opens the
store, starts the trainers (worker processes or Ray actors, each owning a shard of the runs) and the compute
pool, and wires the services the routes use; at exit the trainers checkpoint every run and the lock is
released.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import fields
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from .. import __version__
from ..engine.config import RunConfig
from . import health, upkeep
from .classes import routes as class_routes
from .classes.service import ClassService
from .docs import add_docs
from .errors import install_error_handlers
from .identities import routes as identity_routes
from .identities.service import IdentityService
from .landscape import routes as landscape_routes
from .live.hub import Hub
from .live.shard import ShardSettings
from .live.trainers import LocalTrainers, Trainers
from .logs import redact_tokens
from .middleware import BodyLimit, ClientWatch, CrossSite, HeadAsGet, Headers
from .offload import Offload
from .races import live as race_live
from .races import routes as race_routes
from .races.service import RaceService
from .runs import choices
from .runs import live as run_live
from .runs import routes as run_routes
from .runs.schemas import RunPatch
from .runs.service import RunService
from .settings import Settings
from .static import mount_frontend
from .store import connect
from .store.lock import DataDirLock
from .teaching import routes as teaching_routes
from .teaching.comparisons import Comparisons


def shard_settings(settings: Settings) -> ShardSettings:
    """The settings a trainer needs, by name."""
    names = {spec.name for spec in fields(ShardSettings)}
    return ShardSettings(**{name: getattr(settings, name) for name in names if hasattr(settings, name)})


def data_dir_lock(settings: Settings) -> DataDirLock | None:
    """The data dir's one-server lock (store/lock.py), or None with a database URL: the replicas of a
    cluster share the database, not a data dir."""
    return None if settings.database_url else DataDirLock.acquire(settings.data_dir)


def make_trainers(settings: Settings, location: str, hub: Hub, offload: Offload) -> Trainers:
    """Local worker processes, or trainer actors on Ray (``--trainers ray``: imported only then)."""
    if settings.trainers == "ray":
        from .live.ray_trainers import RayTrainers

        return RayTrainers(
            settings, location, shard_settings(settings), hub.publish, hub.restarted, offload.io
        )
    return LocalTrainers(
        settings.trainer_count, location, shard_settings(settings), hub.publish, hub.restarted
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application; its lifespan starts the store, the trainers and the compute pool."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redact_tokens()
        location = settings.store_location
        lock = data_dir_lock(settings)
        try:
            store = connect(location, primary=True)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        offload = Offload(
            compute_processes=max(1, settings.trainer_count // 2),
            max_per_caller=settings.max_heavy_per_caller,
            max_requests=settings.max_heavy_requests,
        )
        trainers: Trainers | None = None
        hub = Hub(lambda: trainers)  # type: ignore[arg-type, return-value]
        trainers = make_trainers(settings, location, hub, offload)
        await trainers.start()
        identities = IdentityService(settings, store, offload)
        runs = RunService(settings, store, trainers, hub, offload)
        races = RaceService(settings, trainers, hub)
        comparisons = Comparisons(runs)
        state = app.state
        state.store, state.offload, state.trainers, state.hub = store, offload, trainers, hub
        state.store_watch = health.StoreWatch(store)
        state.identities, state.runs, state.races, state.comparisons = identities, runs, races, comparisons
        state.classes = ClassService(runs, identities)
        state.run_live = run_live.RunLive(runs, settings, identities)
        state.race_live = race_live.RaceLive(races, identities)
        expiry = asyncio.create_task(upkeep.expire_forever(runs, comparisons, identities))
        try:
            yield
        finally:
            expiry.cancel()
            offload.shutdown()  # heavy reads hold nothing worth waiting for
            await trainers.stop(settings.shutdown_phases[1])
            store.close()
            if lock is not None:
                lock.release()

    app = FastAPI(
        title="Backprop Lab",
        version=__version__,
        description="Watch a neural network learn. REST controls runs; WS /ws/runs/{id} streams them "
        "(docs/protocol.md).",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for router in (
        health.router,
        identity_routes.router,
        choices.router,
        run_routes.router,
        run_live.router,
        teaching_routes.router,
        landscape_routes.router,
        race_routes.router,
        race_live.router,
        class_routes.router,
    ):
        app.include_router(router)
    add_docs(app)
    mount_frontend(app)
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.allowed_origins),
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(HeadAsGet)
    app.add_middleware(CrossSite, settings=settings)
    app.add_middleware(Headers)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(ClientWatch, body_timeout=settings.request_timeout, body_rate=settings.http_body_rate)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the bodies that POST and PATCH /api/runs read by content type (FastAPI misses
    them): RunConfig and RunPatch."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (RunConfig, RunPatch):
        body = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components[model.__name__] = body
    app.openapi_schema = schema
    return schema
