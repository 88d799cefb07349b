"""Custom data checks: CSV text parsing and the shape/finite/size checks for inline X and y.

Every problem is a :class:`ConfigError` that says where it is, so a person can fix the file: CSV rows are
numbered as lines of the file (the header is row 1), columns by their header name.

A CSV file has a header row of column names and one row per example. The delimiter is sniffed from the
header and the first data row: comma, semicolon or tab (with semicolons, a decimal comma as in ``1,5`` is
read as ``1.5``, the way spreadsheets in many locales write such files). Inputs must be numbers. The
target may be numbers (kept as they are) or words: class labels such as ``setosa``, mapped to class
indices 0..K-1 in sorted order (numbers first, by value, then the rest alphabetically; so ``no``/``yes``
become 0/1 whatever the row order), with the names kept as the class names.

Size limits (``MAX_ROWS``, ``MAX_COLUMNS``, ``MAX_VALUES`` in config.py): for a CSV file they count the file
as written, target column included (a 2000 x 784 image file plus its label column fits; a file of 1025
columns does not). For inline X and y they count X.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import MAX_CLASSES, MAX_COLUMNS, MAX_NAME_LENGTH, MAX_ROWS, MAX_VALUES
from .errors import ConfigError
from .text import unshowable

CSV_FIELD = "dataset.csv"
DELIMITERS = (",", ";", "\t")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+(?:[eE][+-]?\d+)?$")


@dataclass(frozen=True)
class CsvTable:
    """A parsed CSV file: inputs ``X`` (n, d) and targets ``y`` (n,) as float64, the d input column
    names, the target column's name, and the class names when the targets were words (``y`` then holds
    their indices), else None."""

    X: np.ndarray
    y: np.ndarray
    columns: list[str]
    target_name: str
    class_names: list[str] | None

    def dataset(self) -> dict[str, Any]:
        """The table as the ``dataset`` part of a RunConfig (kind custom, names included)."""
        dataset: dict[str, Any] = {
            "kind": "custom",
            "X": self.X.tolist(),
            "y": self.y.tolist(),
            "columns": self.columns,
            "target_name": self.target_name,
            "class_names": self.class_names,
        }
        if self.class_names is not None:
            dataset["task"] = "classification"
        return dataset


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


def sniff_delimiter(text: str) -> str:
    """The delimiter of CSV ``text``: of comma, semicolon and tab, the one that splits the header into
    the most columns with the first data row splitting into as many; if none splits both alike, the one
    that splits the header into the most (a ragged first row is then reported as such, not as a one-column
    header). Ties go in that order."""
    lines = [line for line in text.splitlines() if line.strip()][:2]
    best, best_key = ",", (False, 0)
    for delimiter in DELIMITERS:
        rows = list(csv.reader(lines, delimiter=delimiter))
        width = len(rows[0]) if rows else 0
        consistent = len(rows) < 2 or len(rows[1]) == width
        key = (consistent and width > 1, width)
        if key > best_key:
            best, best_key = delimiter, key
    return best


def parse_csv(text: str | bytes, target: str | int | None = None) -> CsvTable:
    """Parse CSV text with a header row into a :class:`CsvTable`.

    ``target`` picks the target column (default the last one); every other column is an input, in file
    order. Blank lines, a byte-order mark, a trailing newline and whitespace around values are tolerated.
    Raises ConfigError("dataset.csv", ...) naming the row and column of the first problem.
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ConfigError(CSV_FIELD, f"is not UTF-8 text ({error.reason})") from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise ConfigError(CSV_FIELD, "the file is empty")

    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
    names: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    width = 0
    try:
        for record in reader:
            cells = [cell.strip() for cell in record]
            if not any(cells):
                continue  # blank line
            if names is None:
                names = _read_header(cells)
                width = len(names)
                continue
            if len(rows) >= MAX_ROWS:
                raise ConfigError(CSV_FIELD, f"has more than {MAX_ROWS:,} data rows")
            if (len(rows) + 1) * width > MAX_VALUES:
                raise ConfigError(CSV_FIELD, f"has more than {MAX_VALUES:,} values")
            if len(cells) != width:
                raise ConfigError(
                    CSV_FIELD, f"row {reader.line_num} has {len(cells)} values, the header has {width}"
                )
            rows.append(cells)
            lines.append(reader.line_num)
    except csv.Error as error:
        raise ConfigError(CSV_FIELD, f"row {reader.line_num}: {error}") from None

    assert names is not None
    if not rows:
        raise ConfigError(CSV_FIELD, "has a header but no data rows")
    target_index = _target_column(target, names)
    input_columns = [column for column in range(width) if column != target_index]
    decimal_comma = delimiter == ";"
    X = np.empty((len(rows), len(input_columns)), dtype=np.float64)
    for row, (cells, line) in enumerate(zip(rows, lines, strict=True)):
        for out, column in enumerate(input_columns):
            X[row, out] = _parse_cell(cells[column], line, names[column], decimal_comma)
    targets = [cells[target_index] for cells in rows]
    y, class_names = _read_targets(targets, lines, names[target_index], decimal_comma)
    return CsvTable(X, y, [names[column] for column in input_columns], names[target_index], class_names)


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
        if len(name) > MAX_NAME_LENGTH:
            raise ConfigError(CSV_FIELD, f"header column {column}'s name is longer than {MAX_NAME_LENGTH}")
        if (reason := unshowable(name)) is not None:
            raise ConfigError(CSV_FIELD, f"header column {column}'s name {reason}")
        if name in seen:
            raise ConfigError(CSV_FIELD, f"header names column {name!r} twice")
        seen.add(name)
    return cells


def _number(cell: str, decimal_comma: bool) -> float | None:
    """The cell as a number, or None if it is not one."""
    if decimal_comma and _DECIMAL_COMMA.match(cell):
        cell = cell.replace(",", ".")
    try:
        return float(cell)
    except ValueError:
        return None


def _parse_cell(cell: str, line: int, name: str, decimal_comma: bool) -> float:
    if not cell:
        raise ConfigError(CSV_FIELD, f"row {line}, column {name!r} is empty")
    value = _number(cell, decimal_comma)
    if value is None:
        raise ConfigError(CSV_FIELD, f"row {line}, column {name!r}: {cell!r} is not a number")
    if not math.isfinite(value):
        raise ConfigError(CSV_FIELD, f"row {line}, column {name!r}: {cell!r} is not a finite number")
    return value


def _read_targets(
    cells: list[str], lines: list[int], name: str, decimal_comma: bool
) -> tuple[np.ndarray, list[str] | None]:
    """The target column as numbers (when every cell is one), else as class labels: (indices, names)."""
    for cell, line in zip(cells, lines, strict=True):
        if not cell:
            raise ConfigError(CSV_FIELD, f"row {line}, column {name!r} is empty")
    numbers = [_number(cell, decimal_comma) for cell in cells]
    if all(value is not None for value in numbers):
        values = [
            _parse_cell(cell, line, name, decimal_comma) for cell, line in zip(cells, lines, strict=True)
        ]
        return np.array(values), None
    if any(value is not None and not float(value).is_integer() for value in numbers):
        # Fractional numbers beside words: a regression target with a typo, not class labels.
        line, cell = next((n, c) for n, c, v in zip(lines, cells, numbers, strict=True) if v is None)
        raise ConfigError(CSV_FIELD, f"row {line}, column {name!r}: {cell!r} is not a number")
    labels = sorted(set(cells), key=lambda label: _label_order(label, decimal_comma))
    if len(labels) < 2:
        raise ConfigError(
            CSV_FIELD, f"column {name!r} holds one class label only ({labels[0]!r}); classes need two or more"
        )
    if len(labels) > MAX_CLASSES:
        raise ConfigError(
            CSV_FIELD, f"column {name!r} holds {len(labels)} class labels; at most {MAX_CLASSES} are allowed"
        )
    too_long = next((label for label in labels if len(label) > MAX_NAME_LENGTH), None)
    if too_long is not None:
        raise ConfigError(CSV_FIELD, f"class label {too_long[:20]!r}… is longer than {MAX_NAME_LENGTH}")
    index = {label: k for k, label in enumerate(labels)}
    return np.array([float(index[cell]) for cell in cells]), labels


def _label_order(label: str, decimal_comma: bool) -> tuple[bool, float, str]:
    """Sort key of class labels: numbers first by value, then words alphabetically."""
    value = _number(label, decimal_comma)
    if value is None or math.isnan(value):
        return (True, 0.0, label)
    return (False, value, label)


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
