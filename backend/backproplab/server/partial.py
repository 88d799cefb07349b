"""Models of "any part of" another model: a PATCH body, a one-click fix, an optimizer's hyperparameters.

A :class:`Sparse` model's JSON carries only the fields that were set, so a part stays a part on the way
out (``{"optimizer": {"lr": 0.1}}`` is not padded with every other setting as null, and a null that was
sent stays: it means "back to the default"). :func:`partial_of` derives the partial of a model, nested
models included, so OpenAPI publishes every field of a patch with its type and bounds from one source.
"""

from __future__ import annotations

import copy
import functools
import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, create_model, model_serializer


class Sparse(BaseModel):
    """A model whose JSON holds the fields that were set and nothing else."""

    model_config = ConfigDict(extra="forbid")

    # NOTE: no return annotation: with one, pydantic publishes the annotation's schema instead of the
    # model's fields.
    @model_serializer(mode="wrap")
    def _only_set(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data = handler(self)
        return {key: value for key, value in data.items() if key in self.model_fields_set}


@functools.cache
def partial_of(model: type[BaseModel], name: str, exclude: frozenset[str] = frozenset()) -> type[Sparse]:
    """``model`` with every field optional (default None, bounds kept) and nested models partial too.

    Field bounds are checked on what is sent; checks across fields (a custom dataset needs X and y) are
    the whole model's, made after the part is merged into it.
    """
    fields: dict[str, Any] = {}
    for field_name, field in model.model_fields.items():
        if field_name in exclude:
            continue
        info = copy.copy(field)
        info.default, info.default_factory = None, None
        fields[field_name] = (_partial_type(field.annotation) | None, info)
    doc = f"Any part of {model.__name__} (fields left out keep their values)."
    return create_model(name, __base__=Sparse, __doc__=doc, **fields)


def _partial_type(annotation: Any) -> Any:
    """The annotation with each model in it replaced by its partial (``X | None`` included)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return partial_of(annotation, f"{annotation.__name__}Patch")
    if get_origin(annotation) in (Union, types.UnionType):
        parts = [_partial_type(part) for part in get_args(annotation)]
        union = parts[0]
        for part in parts[1:]:
            union = union | part
        return union
    return annotation
