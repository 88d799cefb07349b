"""Limits of the teaching views (the step-through spells out every weight's chain rule: keep it small)."""

from __future__ import annotations

MAX_TRACE_PARAMETERS = 2_000
MAX_TRACE_BATCH = 8
MAX_SWEEP_HS = 16
MAX_COMPARISON_RUNS = 8
