"""``create_app(settings)``: the FastAPI application with its routes, middleware and run manager."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from .. import __version__
from ..engine.config import RunConfig
from . import routes_landscape, routes_races, routes_runs, routes_teaching, routes_ws
from .errors import install_error_handlers
from .manager import Manager
from .middleware import BodyLimit, Headers
from .settings import Settings
from .static import mount_frontend


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application; its lifespan loads the saved runs and starts training, and checkpoints on exit."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        manager = Manager(settings)
        manager.start(asyncio.get_running_loop())
        app.state.manager = manager
        try:
            yield
        finally:
            manager.stop()

    app = FastAPI(
        title="Backprop Lab",
        version=__version__,
        description="Watch a neural network learn. REST controls runs; WS /ws/runs/{id} streams them "
        "(docs/protocol.md).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(routes_runs.router)
    app.include_router(routes_teaching.router)
    app.include_router(routes_ws.router)
    app.include_router(routes_landscape.router)
    app.include_router(routes_races.router)
    mount_frontend(app)
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.allowed_origins),
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(Headers)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.openapi = lambda: _openapi(app)
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus RunConfig (POST /api/runs reads its body by content type, so FastAPI misses it)."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    run_config = RunConfig.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(run_config.pop("$defs", {}))
    components["RunConfig"] = run_config
    app.openapi_schema = schema
    return schema
