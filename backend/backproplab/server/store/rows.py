"""Rows as every store keeps them: SQLite and PostgreSQL have the same columns (JSON kept as text), so the
column lists, the filters, the conversions between rows and records and the check of names in a class are
written once, here."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from typing import Any

from .base import ClassRecord, ComparisonRecord, NameTakenError, RunRecord

RECORD_COLUMNS = "id, owner, class_id, name, created, updated, summary"
CLASS_COLUMNS = "id, code, teacher, name, config, allowed, created, updated"
COMPARISON_COLUMNS = "id, owner, labels, run_ids, identical_start, created"


def filters(owner: str | None, class_id: str | None, placeholder: str) -> tuple[str, tuple[Any, ...]]:
    """A WHERE clause for runs of ``owner`` in ``class_id`` (None: any), with the driver's ``placeholder``."""
    clauses, parameters = [], []
    if owner is not None:
        clauses.append(f"owner = {placeholder}")
        parameters.append(owner)
    if class_id is not None:
        clauses.append(f"class_id = {placeholder}")
        parameters.append(class_id)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(parameters)


def name_key(name: str) -> str:
    """A name as a class compares it: without case, with compatible forms alike (NFKC: "Ａｄａ" is "Ada"),
    without invisible format characters (a joiner in "A\u200cda" is not seen) and runs of spaces as one
    space (a page shows "Ada  L" as "Ada L")."""
    visible = "".join(c for c in unicodedata.normalize("NFKC", name) if unicodedata.category(c) != "Cf")
    return " ".join(visible.casefold().split())


def other_names(placeholder: str) -> str:
    """SQL for the names of a class's other runs; parameters: the class id, the run's own id."""
    return (
        f"SELECT name FROM runs WHERE class_id = {placeholder} AND id <> {placeholder} AND name IS NOT NULL"
    )


def check_name_free(name: str, others: Iterable[tuple[Any, ...]]) -> None:
    """NameTakenError if one of ``others`` (rows of :func:`other_names`) is ``name`` as a class compares."""
    key = name_key(name)
    if any(name_key(row[0]) == key for row in others):
        raise NameTakenError(name)


def run_record(row: tuple[Any, ...]) -> RunRecord:
    """A row of RECORD_COLUMNS."""
    return RunRecord(
        id=row[0],
        owner=row[1],
        class_id=row[2],
        name=row[3],
        created=row[4],
        updated=row[5],
        summary=json.loads(row[6]) if row[6] else None,
    )


def class_row(record: ClassRecord) -> tuple[Any, ...]:
    """The values of CLASS_COLUMNS."""
    return (
        record.id,
        record.code,
        record.teacher,
        record.name,
        json.dumps(record.config, allow_nan=False),
        allowed_text(record.allowed),
        record.created,
        record.updated,
    )


def allowed_text(allowed: list[str] | None) -> str | None:
    return None if allowed is None else json.dumps(allowed)


def class_record(row: tuple[Any, ...]) -> ClassRecord:
    """A row of CLASS_COLUMNS."""
    return ClassRecord(
        id=row[0],
        code=row[1],
        teacher=row[2],
        name=row[3],
        config=json.loads(row[4]),
        allowed=None if row[5] is None else json.loads(row[5]),
        created=row[6],
        updated=row[7],
    )


def comparison_row(record: ComparisonRecord) -> tuple[Any, ...]:
    """The values of COMPARISON_COLUMNS (``identical_start`` a bool: SQLite keeps it as 0 or 1)."""
    return (
        record.id,
        record.owner,
        json.dumps(record.labels),
        json.dumps(record.run_ids),
        record.identical_start,
        record.created,
    )


def comparison_record(row: tuple[Any, ...]) -> ComparisonRecord:
    """A row of COMPARISON_COLUMNS."""
    return ComparisonRecord(
        id=row[0],
        owner=row[1],
        labels=json.loads(row[2]),
        run_ids=json.loads(row[3]),
        identical_start=bool(row[4]),
        created=row[5],
    )
