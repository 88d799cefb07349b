"""Salvage a damaged SQLite store: copy every run that can still be read into a fresh file, run by run.

Damage in one page must not cost every run. The ids of the damaged file's runs are gathered along every
path that may still reach them (a forward and a backward scan of the table, which get past a bad leaf from
both sides, the id index and the logs' run ids); then each run is read by itself (its row, every log
chunk, its dataset) and written to the fresh file in its own transaction. A run any part of which cannot
be read is lost, and named in the report: an incomplete run would not continue bit for bit. Identities,
classes and comparisons are copied row by row, scanning from both ends; rows on a damaged page are lost
(the report names the tables that had some).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("backproplab.store")

# Columns of a run row in the current layout, with what an older layout may call them.
_COLUMNS = ("id", "owner", "class_id", "name", "created", "updated", "summary", "core", "dataset", "memory")
_OLD_NAMES = {"core": "blob"}


# Tables copied row by row besides the runs (a table a damaged file lacks is skipped).
_OTHER_TABLES = ("identities", "classes", "comparisons")


@dataclass(frozen=True)
class SalvageReport:
    copied: tuple[str, ...]
    lost: tuple[str, ...]
    damaged_tables: tuple[str, ...] = ()  # other tables whose scans met damage (some rows may be lost)


def salvage(damaged: Path, fresh: Path) -> SalvageReport:
    """Copy every readable run of ``damaged`` into ``fresh`` (which has the current schema)."""
    try:
        source = sqlite3.connect(f"file:{damaged}?mode=ro", uri=True, isolation_level=None)
        columns = {row[1] for row in source.execute("PRAGMA table_info(runs)")}
    except sqlite3.Error as error:
        log.error("nothing could be read from %s: %s", damaged, error)
        return SalvageReport((), ())
    target = sqlite3.connect(fresh, isolation_level=None)
    copied: list[str] = []
    lost: list[str] = []
    try:
        selected = ", ".join(_source_column(name, columns) for name in _COLUMNS)
        for run_id in sorted(_run_ids(source, columns)):
            try:
                found = _read_run(source, selected, run_id)
            except sqlite3.Error as error:
                log.error("run %s could not be read from %s: %s", run_id, damaged, error)
                lost.append(run_id)
                continue
            if found is None:
                continue  # a creation that never finished: nothing was lost
            _write_run(target, *found)
            copied.append(run_id)
        damaged_tables = tuple(table for table in _OTHER_TABLES if not _copy_table(source, target, table))
    finally:
        source.close()
        target.close()
    return SalvageReport(tuple(copied), tuple(lost), damaged_tables)


def _source_column(name: str, columns: set[str]) -> str:
    if name in columns:
        return name
    if _OLD_NAMES.get(name) in columns:
        return _OLD_NAMES[name]
    return "0" if name == "memory" else "NULL"


def _run_ids(source: sqlite3.Connection, columns: set[str]) -> set[str]:
    """Every run id that any access path still reaches."""
    queries = [
        "SELECT id FROM runs",
        "SELECT id FROM runs ORDER BY rowid DESC",
        "SELECT id FROM runs INDEXED BY sqlite_autoindex_runs_1 ORDER BY id",
        "SELECT id FROM runs INDEXED BY sqlite_autoindex_runs_1 ORDER BY id DESC",
        "SELECT DISTINCT run_id FROM run_logs",
    ]
    ids: set[str] = set()
    for query in queries:
        ids.update(_readable(source, query))
    return {run_id for run_id in ids if isinstance(run_id, str)}


def _readable(source: sqlite3.Connection, query: str) -> Iterable[Any]:
    """The first column of each row ``query`` yields before the first error."""
    try:
        for row in source.execute(query):
            yield row[0]
    except sqlite3.Error:
        return


def _read_run(
    source: sqlite3.Connection, selected: str, run_id: str
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], tuple[Any, ...] | None] | None:
    """(row, log rows, dataset row) of one run; None for a row without a checkpoint; raises if any part
    cannot be read."""
    row = source.execute(f"SELECT {selected} FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None or row[_COLUMNS.index("core")] is None:
        return None
    logs = source.execute(
        "SELECT log, seq, chunk FROM run_logs WHERE run_id = ? ORDER BY log, seq", (run_id,)
    ).fetchall()
    digest = row[_COLUMNS.index("dataset")]
    dataset = None
    if digest is not None:
        dataset = source.execute(
            "SELECT digest, memory, data FROM datasets WHERE digest = ?", (digest,)
        ).fetchone()
        if dataset is None:
            raise sqlite3.DatabaseError(f"its dataset {digest} is missing")
    return tuple(row), logs, dataset


def _write_run(
    target: sqlite3.Connection,
    row: tuple[Any, ...],
    logs: list[tuple[Any, ...]],
    dataset: tuple[Any, ...] | None,
) -> None:
    target.execute("BEGIN IMMEDIATE")
    try:
        if dataset is not None:
            target.execute("INSERT OR IGNORE INTO datasets (digest, memory, data) VALUES (?, ?, ?)", dataset)
        placeholders = ", ".join("?" for _ in _COLUMNS)
        target.execute(f"INSERT INTO runs ({', '.join(_COLUMNS)}) VALUES ({placeholders})", row)
        target.executemany(
            "INSERT INTO run_logs (run_id, log, seq, chunk) VALUES (?, ?, ?, ?)",
            [(row[0], *log_row) for log_row in logs],
        )
        target.execute("COMMIT")
    except BaseException:
        target.execute("ROLLBACK")
        raise


def _copy_table(source: sqlite3.Connection, target: sqlite3.Connection, table: str) -> bool:
    """Copy every readable row of ``table`` (the columns both files have); False if a scan met damage."""
    try:
        wanted = {row[1] for row in target.execute(f"PRAGMA table_info({table})")}
        columns = [row[1] for row in source.execute(f"PRAGMA table_info({table})") if row[1] in wanted]
    except sqlite3.Error:
        return False
    if not columns:
        return True  # an older file without this table
    names = ", ".join(columns)
    rows: dict[int, tuple[Any, ...]] = {}
    whole = True
    for order in ("", " ORDER BY rowid DESC"):
        scan = _Scan(source, f"SELECT rowid, {names} FROM {table}{order}")
        for row in scan:
            rows[row[0]] = row[1:]
        whole = whole and scan.whole
    placeholders = ", ".join("?" for _ in columns)
    target.execute("BEGIN IMMEDIATE")
    target.executemany(
        f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({placeholders})", list(rows.values())
    )
    target.execute("COMMIT")
    return whole


class _Scan:
    """The rows ``query`` yields before the first error; ``whole`` says whether it got to the end."""

    def __init__(self, source: sqlite3.Connection, query: str):
        self.source, self.query, self.whole = source, query, True

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        try:
            yield from self.source.execute(self.query)
        except sqlite3.Error:
            self.whole = False
