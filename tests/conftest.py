"""Shared test fixtures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

GENERATOR_PATH = Path(__file__).resolve().parents[1] / "scripts" / "generate_torch_fixtures.py"


def pytest_collection_modifyitems(config, items):
    """Browser tests last.

    # NOTE: Playwright's sync API keeps an asyncio loop running in the main thread while its session-scoped
    browser lives, and any later test calling asyncio.run() would fail with "cannot be called from a
    running event loop". The sort is stable, so every other test keeps its order.
    """
    items.sort(key=lambda item: "e2e" in item.path.parts)


@pytest.fixture(scope="session")
def torch_generator():
    """scripts/generate_torch_fixtures.py as a module, to rerun a reference case live (skips without torch)."""
    pytest.importorskip("torch", exc_type=ImportError)
    spec = importlib.util.spec_from_file_location("generate_torch_fixtures", GENERATOR_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
