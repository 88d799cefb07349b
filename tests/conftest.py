"""Shared test fixtures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

GENERATOR_PATH = Path(__file__).resolve().parents[1] / "scripts" / "generate_torch_fixtures.py"


@pytest.fixture(scope="session")
def torch_generator():
    """scripts/generate_torch_fixtures.py as a module, to rerun a reference case live (skips without torch)."""
    pytest.importorskip("torch", exc_type=ImportError)
    spec = importlib.util.spec_from_file_location("generate_torch_fixtures", GENERATOR_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
