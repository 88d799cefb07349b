"""What a run shows of its class."""

from __future__ import annotations

from typing import Any

from ..store import ClassRecord


def badge_of(group: ClassRecord | None) -> dict[str, Any] | None:
    """What a run shows of its class: the join code, the class's name and what students may change."""
    if group is None:
        return None
    return {"code": group.code, "name": group.name, "allowed": group.allowed}
