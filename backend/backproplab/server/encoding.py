"""JSON as the server sends it: compact, and never a bare NaN or Infinity (the protocol's rule)."""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any) -> str:
    """Compact JSON that refuses NaN and Infinity (callers hand over JSON-safe values)."""
    return json.dumps(value, allow_nan=False, separators=(",", ":"))
