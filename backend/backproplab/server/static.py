"""Serve the static dashboard at / from the installed package (wheel) or the repository (editable install)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

REPO_FRONTEND = Path(__file__).resolve().parents[3] / "frontend"


def frontend_dir() -> Path | None:
    """``backproplab/frontend`` inside the installed package, else the repository's ``frontend/``."""
    packaged = Path(str(resources.files("backproplab") / "frontend"))
    for candidate in (packaged, REPO_FRONTEND):
        if (candidate / "index.html").is_file():
            return candidate
    return None


def mount_frontend(app: FastAPI) -> None:
    """Mount the dashboard at / (after every API route), or a page saying it is missing."""
    directory = frontend_dir()
    if directory is not None:
        app.mount("/", StaticFiles(directory=directory, html=True), name="frontend")
        return

    @app.get("/", include_in_schema=False)
    async def missing_frontend() -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><title>Backprop Lab</title><h1>Backprop Lab</h1>"
            "<p>The dashboard files were not found (looked for backproplab/frontend in the package and "
            "frontend/ in the repository). The API is running: see <a href='/docs'>/docs</a>.</p>",
            status_code=404,
        )
