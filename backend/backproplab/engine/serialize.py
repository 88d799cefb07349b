"""Pack nested dicts/lists of numbers, strings and numpy arrays into bytes and back, exactly.

Arrays go into an ``.npz`` archive under their path in the tree; everything else goes into a JSON header.
float64 arrays round-trip bit for bit, which a run's bit-for-bit restart needs.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

_ARRAY_MARK = "__array__"


def pack(tree: Any) -> bytes:
    arrays: dict[str, np.ndarray] = {}

    def strip(node: Any, path: str) -> Any:
        if isinstance(node, np.ndarray):
            arrays[path] = node
            return {_ARRAY_MARK: path}
        if isinstance(node, dict):
            return {str(key): strip(value, f"{path}/{key}") for key, value in node.items()}
        if isinstance(node, list | tuple):
            return [strip(value, f"{path}/{index}") for index, value in enumerate(node)]
        if isinstance(node, np.generic):
            return node.item()
        return node

    header = json.dumps(strip(tree, "root"))
    buffer = io.BytesIO()
    arrays["__header__"] = np.frombuffer(header.encode(), dtype=np.uint8)
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as its own flags
    return buffer.getvalue()


def unpack(data: bytes) -> Any:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        header = json.loads(archive["__header__"].tobytes().decode())
        arrays = {key: archive[key] for key in archive.files if key != "__header__"}

    def restore(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {_ARRAY_MARK}:
                return arrays[node[_ARRAY_MARK]]
            return {key: restore(value) for key, value in node.items()}
        if isinstance(node, list):
            return [restore(value) for value in node]
        return node

    return restore(header)
