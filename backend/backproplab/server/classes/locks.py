"""Which settings a class's students may change: dotted RunConfig paths, checked on every change.

A teacher lists the paths students may change (``["optimizer.lr", "optimizer.name"]``); a path allows
everything below it (``"optimizer"`` allows every optimizer setting), and ``null`` allows everything. A
change is refused (403 naming the field) when it would change the value of a setting no path allows;
sending a locked setting's current value again is not a change. Editing single weights counts as
changing ``model.weights``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ...engine.config import RunConfig
from ..errors import shown_id
from ..identities.access import ForbiddenError

WEIGHTS = "model.weights"
_MISSING = object()


def config_paths(model: type[BaseModel] = RunConfig, prefix: str = "") -> set[str]:
    """Every dotted path of a RunConfig setting, groups included ("optimizer", "optimizer.lr", ...)."""
    paths = set()
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        paths.add(path)
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths |= config_paths(annotation, f"{path}.")
    return paths


CONFIG_PATHS = frozenset(config_paths())


def check_paths(allowed: list[str] | None, field: str = "allowed") -> list[str] | None:
    """The list, each entry a RunConfig setting, without repeats; ValueError naming the bad entry."""
    if allowed is None:
        return None
    unknown = [path for path in allowed if path not in CONFIG_PATHS]
    if unknown:
        raise ValueError(
            f"{shown_id(unknown[0])} is not a RunConfig setting (e.g. optimizer.lr, optimizer.name, "
            "batch_size)"
        )
    return list(dict.fromkeys(allowed))


def is_allowed(path: str, allowed: list[str] | None) -> bool:
    return allowed is None or any(path == entry or path.startswith(entry + ".") for entry in allowed)


def leaf_paths(patch: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted paths a patch sets (a nested object is merged key by key, so its keys are the leaves)."""
    paths: list[str] = []
    for key, value in patch.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            paths += leaf_paths(value, f"{path}.")
        else:
            paths.append(path)
    return paths


def _value(config: dict[str, Any], path: str) -> Any:
    value: Any = config
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def refuse(path: str, allowed: list[str]) -> ForbiddenError:
    may = ", ".join(allowed) if allowed else "nothing"
    return ForbiddenError(
        f"the teacher of this class locked this setting; students may change: {may}", field=path
    )


def check_change(
    before: RunConfig, after: RunConfig, patch: dict[str, Any], allowed: list[str] | None
) -> None:
    """Refuse (403 naming the first field) a patch that changes a setting ``allowed`` does not allow."""
    if allowed is None:
        return
    old, new = before.model_dump(), after.model_dump()
    for path in leaf_paths(patch):
        if not is_allowed(path, allowed) and _value(old, path) != _value(new, path):
            raise refuse(path, allowed)


def check_weights(allowed: list[str] | None) -> None:
    if not is_allowed(WEIGHTS, allowed):
        raise refuse(WEIGHTS, allowed or [])
