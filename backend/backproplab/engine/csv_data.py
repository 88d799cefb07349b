"""Custom data checks: CSV text parsing and the shape/finite/size checks for inline X and y.

Every problem is a :class:`ConfigError` that says where it is, so a person can fix the file: CSV rows are
numbered as lines of the file (the header is row 1), columns by their header name.

Size limits (``MAX_ROWS``, ``MAX_COLUMNS``, ``MAX_VALUES`` in config.py): for a CSV file they count the file
as written, target column included (a 2000 x 784 image file plus its label column fits; a file of 1025
columns does not). For inline X and y they count X.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import numpy as np

from .config import MAX_COLUMNS, MAX_ROWS, MAX_VALUES
from .errors import ConfigError

CSV_FIELD = "dataset.csv"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _target_column(target: str | int | None, names: list[str]) -> int:
    """The target column's index: None = last, an int = position (negative from the end), a str = name."""
    width = len(names)
    if target is None:
        return width - 1
    if isinstance(target, bool):  # bool is an int subclass; True is not a column
        raise ConfigError("dataset.target", "must be a column name or index")
    if isinstance(target, int):
        if not -width <= target < width:
            raise ConfigError("dataset.target", f"column index {target} is out of range for {width} columns")
        return target % width
    name = str(target).strip()
    if name not in names:
        raise ConfigError("dataset.target", f"no column named {name!r}; the columns are {names}")
    return names.index(name)


def parse_csv(text: str | bytes, target: str | int | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Parse CSV text with a header row into (X, y, input column names).

    ``target`` picks the target column (default the last one); every other column is an input, in file
    order. Returns X (n, d) and y (n,) as float64 and the d names of X's columns (the target's name is
    not among them). Blank lines, a byte-order mark, a trailing newline and whitespace around values are
    tolerated. Raises ConfigError("dataset.csv", ...) naming the row and column of the first problem.
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ConfigError(CSV_FIELD, f"is not UTF-8 text ({error.reason})") from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise ConfigError(CSV_FIELD, "the file is empty")

    reader = csv.reader(io.StringIO(text), skipinitialspace=True)
    names: list[str] | None = None
    rows: list[list[float]] = []
    width = 0
    try:
        for record in reader:
            cells = [cell.strip() for cell in record]
            if not any(cells):
                continue  # blank line
            line = reader.line_num
            if names is None:
                names = _read_header(cells)
                width = len(names)
                continue
            if len(rows) >= MAX_ROWS:
                raise ConfigError(CSV_FIELD, f"has more than {MAX_ROWS:,} data rows")
            if (len(rows) + 1) * width > MAX_VALUES:
                raise ConfigError(CSV_FIELD, f"has more than {MAX_VALUES:,} values")
            if len(cells) != width:
                raise ConfigError(CSV_FIELD, f"row {line} has {len(cells)} values, the header has {width}")
            rows.append([_parse_cell(cell, line, names[column]) for column, cell in enumerate(cells)])
    except csv.Error as error:
        raise ConfigError(CSV_FIELD, f"row {reader.line_num}: {error}") from None

    assert names is not None
    if not rows:
        raise ConfigError(CSV_FIELD, "has a header but no data rows")
    table = np.array(rows, dtype=np.float64)
    target_index = _target_column(target, names)
    input_columns = [column for column in range(width) if column != target_index]
    X = np.ascontiguousarray(table[:, input_columns])
    y = np.ascontiguousarray(table[:, target_index])
    return X, y, [names[column] for column in input_columns]


def _read_header(cells: list[str]) -> list[str]:
    if len(cells) > MAX_COLUMNS:
        raise ConfigError(CSV_FIELD, f"has {len(cells)} columns; at most {MAX_COLUMNS} are allowed")
    if len(cells) < 2:
        raise ConfigError(CSV_FIELD, "needs at least two columns: one or more inputs and a target")
    if all(_is_number(cell) for cell in cells):
        raise ConfigError(CSV_FIELD, "the first row must be a header of column names, but it holds numbers")
    seen: set[str] = set()
    for column, name in enumerate(cells, start=1):
        if not name:
            raise ConfigError(CSV_FIELD, f"header column {column} has no name")
        if name in seen:
            raise ConfigError(CSV_FIELD, f"header names column {name!r} twice")
        seen.add(name)
    return cells


def _parse_cell(cell: str, line: int, name: str) -> float:
    if not cell:
        raise ConfigError(CSV_FIELD, f"row {line}, column {name!r} is empty")
    try:
        value = float(cell)
    except ValueError:
        raise ConfigError(CSV_FIELD, f"row {line}, column {name!r}: {cell!r} is not a number") from None
    if not math.isfinite(value):
        raise ConfigError(CSV_FIELD, f"row {line}, column {name!r}: {cell!r} is not a finite number")
    return value


def validate_custom(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Check inline custom data and return it as float64 arrays X (n, d) and y (n,).

    X must be a non-empty list of rows of equal length (or a 2-D array), y one finite number per row,
    within the size limits. Raises ConfigError("dataset.X" or "dataset.y", ...) saying what is wrong.
    """
    if X is None or y is None:
        raise ConfigError("dataset.X" if X is None else "dataset.y", "custom data needs both X and y")
    if not isinstance(X, np.ndarray):
        X = list(X)
        if X and all(hasattr(row, "__len__") for row in X):
            first = len(X[0])
            for index, row in enumerate(X):
                if len(row) != first:
                    raise ConfigError("dataset.X", f"row {index} has {len(row)} values, row 0 has {first}")
    try:
        X = np.array(X, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ConfigError("dataset.X", f"must be a list of rows of numbers ({error})") from None
    try:
        y = np.array(y, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ConfigError("dataset.y", f"must be a list of numbers ({error})") from None

    if X.ndim != 2:
        raise ConfigError("dataset.X", f"must be a list of rows (2-D), got {X.ndim} dimension(s)")
    n_rows, n_columns = X.shape
    if n_rows == 0:
        raise ConfigError("dataset.X", "needs at least one row")
    if n_columns == 0:
        raise ConfigError("dataset.X", "rows need at least one value")
    if n_rows > MAX_ROWS:
        raise ConfigError("dataset.X", f"has {n_rows:,} rows; at most {MAX_ROWS:,} are allowed")
    if n_columns > MAX_COLUMNS:
        raise ConfigError("dataset.X", f"has {n_columns} columns; at most {MAX_COLUMNS} are allowed")
    if X.size > MAX_VALUES:
        raise ConfigError("dataset.X", f"has {X.size:,} values; at most {MAX_VALUES:,} are allowed")
    if y.ndim != 1:
        raise ConfigError("dataset.y", f"must be a flat list of numbers, got shape {y.shape}")
    if y.shape[0] != n_rows:
        raise ConfigError("dataset.y", f"has {y.shape[0]} values, X has {n_rows} rows")
    bad = ~np.isfinite(X)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        raise ConfigError("dataset.X", f"row {row}, column {column} is {X[row, column]}, not a finite number")
    bad_y = np.flatnonzero(~np.isfinite(y))
    if bad_y.size:
        raise ConfigError("dataset.y", f"value {int(bad_y[0])} is {y[bad_y[0]]}, not a finite number")
    return np.ascontiguousarray(X), np.ascontiguousarray(y)
