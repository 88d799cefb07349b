"""A class's results as CSV: one row per student's run, final metrics then every config setting."""

from __future__ import annotations

import csv
import io
from typing import Any

RUN_COLUMNS = ("run_id", "name", "status", "step", "epoch")
METRIC_COLUMNS = ("train_loss", "test_loss", "train_accuracy", "test_accuracy")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"optimizer": {"lr": 0.1}} -> {"config.optimizer.lr": 0.1}; lists stay one cell."""
    cells: dict[str, Any] = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            cells |= flatten(value, f"{path}.")
        else:
            cells[path] = value
    return cells


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        # NOTE: a student's name is their own text; a spreadsheet would run "=..." as a formula.
        return "'" + value
    if isinstance(value, list | tuple):
        return " ".join(str(item) for item in value)
    return value


def class_csv(students: list[dict[str, Any]]) -> str:
    """The CSV text: a header row, then each run (a Run description) in the order given."""
    rows = []
    for run in students:
        latest = run.get("latest") or {}
        row = {"run_id": run["id"], **{column: run.get(column) for column in RUN_COLUMNS[1:]}}
        row |= {column: latest.get(column) for column in METRIC_COLUMNS}
        row |= flatten(run.get("config") or {}, "config.")
        rows.append(row)
    settings = sorted({key for row in rows for key in row if key.startswith("config.")})
    settings = [key for key in settings if key not in ("config.dataset.X", "config.dataset.y")]
    header = [*RUN_COLUMNS, *METRIC_COLUMNS, *settings]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in header])
    return out.getvalue()
