"""Errors the API answers with, and the handlers that turn every failure into one JSON shape.

Every error body is ``{"detail": "<field>: <reason>", "field": "<dotted path or null>", "reason": "...",
"errors": [{"field": .., "reason": ..}, ..]}`` so a client can point at the exact input.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails, InitErrorDetails
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from ..engine.errors import ConfigError
from .store.base import NameTakenError, StoreError

log = logging.getLogger("backproplab.server")


class ErrorItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str | None = Field(description="dotted path of the input at fault, e.g. optimizer.lr")
    reason: str


class ErrorResponse(BaseModel):
    """Every 4xx/5xx body."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "detail": "optimizer.lr: Input should be greater than or equal to 0",
                    "field": "optimizer.lr",
                    "reason": "Input should be greater than or equal to 0",
                    "errors": [
                        {"field": "optimizer.lr", "reason": "Input should be greater than or equal to 0"}
                    ],
                }
            ]
        },
    )
    detail: str
    field: str | None
    reason: str
    errors: list[ErrorItem]


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (401, 403, 404, 409, 410, 413, 415, 422, 429, 503, 507)
}


class ApiError(Exception):
    """An error with an HTTP status, optionally naming the field at fault."""

    status = 400

    def __init__(
        self,
        reason: str,
        field: str | None = None,
        status: int | None = None,
        errors: tuple[tuple[str | None, str], ...] = (),
    ):
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.errors = errors or ((field, reason),)
        if status is not None:
            self.status = status

    @property
    def headers(self) -> dict[str, str] | None:
        """Response headers this error adds (Retry-After on a 429)."""
        return None

    def __reduce__(self) -> tuple[type[ApiError], tuple[Any, ...]]:
        """Pickle every field: errors cross process boundaries (compute workers)."""
        return (ApiError, (self.reason, self.field, self.status, self.errors))


SHOWN_ID = 40  # characters of an id, a code or a name that an error repeats back


def shown_id(value: str) -> str:
    """What the client sent (an id, a join code, a name) as an error quotes it: the first SHOWN_ID
    characters (a path or a body can be kilobytes long)."""
    return repr(value if len(value) <= SHOWN_ID else value[:SHOWN_ID] + "…")


class RunNotFoundError(ApiError):
    status = 404

    def __init__(self, run_id: str):
        super().__init__(f"no run with id {shown_id(run_id)}", "run_id")


class LimitError(ApiError):
    """A configured limit (settings) was exceeded: too many runs, too many steps, too big a model."""

    status = 422


class TooManyRunsError(LimitError):
    status = 429


class BusyError(ApiError):
    """Too much of the caller's (or the server's) work is in progress: 429 with Retry-After."""

    status = 429

    def __init__(self, reason: str, retry_after: int):
        super().__init__(reason)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)}


NOT_AN_OBJECT = "must be a JSON object"  # a body that is JSON, but not {...}
BODY_PARSE_FAILED = "There was an error parsing the body"  # FastAPI's 400 when reading a body raised


def body_error(error: BaseException | None) -> ApiError | None:
    """What a failure while reading or parsing a request body means for the client: the body limit's own
    error, or a 422 naming ``body`` (JSON nested too deeply, an integer too long); None: the client left."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, ClientDisconnect):
        return None
    if isinstance(error, RecursionError):
        return ApiError("not valid JSON: nested too deeply", "body", status=422)
    if isinstance(error, ValueError | UnicodeDecodeError):
        return ApiError(f"not valid JSON: {error}", "body", status=422)
    return ApiError("the request body could not be read", "body", status=400)


def field_errors(error: Exception) -> list[dict[str, str | None]]:
    """[{"field", "reason"}] for a ConfigError, a pydantic ValidationError or an ApiError."""
    if isinstance(error, ConfigError):
        return [{"field": error.field, "reason": error.reason}]
    if isinstance(error, ValidationError | RequestValidationError):
        return [_item_error(item) for item in error.errors()]
    if isinstance(error, ApiError):
        return [{"field": field, "reason": reason} for field, reason in error.errors]
    return [{"field": None, "reason": str(error)}]


def _item_error(item: Any) -> dict[str, str | None]:
    """One pydantic error as {"field", "reason"}: a body that is not JSON, missing, or not a JSON object is
    the ``body``'s."""
    loc = tuple(item.get("loc", ()))
    if item.get("type") == "json_invalid":  # its loc is ("body", <character offset>)
        error = item.get("ctx", {}).get("error", "JSON decode error")
        at = f" at character {loc[1]}" if len(loc) > 1 else ""
        return {"field": "body", "reason": f"not valid JSON: {error}{at}"}
    if loc == ("body",) and item.get("type") == "missing":
        return {"field": "body", "reason": "a JSON body is required"}
    if loc == ("body",) and item.get("type") == "model_attributes_type":  # [], "Ed", 3 where {...} belongs
        return {"field": "body", "reason": NOT_AN_OBJECT}
    return {"field": dotted(loc), "reason": item.get("msg", "invalid")}


def relocated(
    error: ValidationError, place: Callable[[ErrorDetails], tuple[int | str, ...]]
) -> ValidationError:
    """``error`` with each problem at ``place(problem)``: where the request names it, for models whose
    pydantic path is not the body's (a union's tag, a list position that stands for another index)."""
    return ValidationError.from_exception_data(
        error.title,
        [
            InitErrorDetails(type=item["type"], loc=place(item), input=item["input"], ctx=item.get("ctx", {}))
            for item in error.errors()
        ],
    )


def dotted(loc: Sequence[Any]) -> str | None:
    """A pydantic location as a dotted path, without the request part ("body", "query", "path")."""
    parts = [str(part) for part in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or None


def error_body(errors: Iterable[dict[str, str | None]]) -> dict[str, Any]:
    errors = list(errors)
    first = errors[0] if errors else {"field": None, "reason": "invalid request"}
    detail = f"{first['field']}: {first['reason']}" if first["field"] else str(first["reason"])
    return {"detail": detail, "field": first["field"], "reason": first["reason"], "errors": errors}


def _respond(status: int, error: Exception) -> JSONResponse:
    headers = error.headers if isinstance(error, ApiError) else None
    return JSONResponse(error_body(field_errors(error)), status_code=status, headers=headers)


def _client_gone(request: Request) -> JSONResponse:
    """A client that hung up mid-body (an aborted upload) is not a fault: no traceback, and the one log line
    is the ClientWatch middleware's. Nobody reads this answer."""
    return JSONResponse(error_body([{"field": "body", "reason": "the request body was cut short"}]), 400)


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure to the one error shape; validation problems are 422, never 500."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JSONResponse:
        return _respond(error.status, error)

    @app.exception_handler(StoreError)
    async def _store_error(request: Request, error: StoreError) -> JSONResponse:
        """A change the store could not take (507: full or read-only disk) or a store that failed (503)."""
        reason = f"the change was not made: {error.reason}" if error.status == 507 else error.reason
        return JSONResponse(error_body([{"field": None, "reason": reason}]), status_code=error.status)

    @app.exception_handler(NameTakenError)
    async def _name_taken(request: Request, error: NameTakenError) -> JSONResponse:
        reason = (
            f"{shown_id(error.name)} is taken in this class (names are compared without case); "
            "choose another name"
        )
        return JSONResponse(error_body([{"field": "name", "reason": reason}]), status_code=409)

    @app.exception_handler(ConfigError)
    async def _config_error(request: Request, error: ConfigError) -> JSONResponse:
        return _respond(422, error)

    @app.exception_handler(ValidationError)
    async def _validation_error(request: Request, error: ValidationError) -> JSONResponse:
        return _respond(422, error)

    @app.exception_handler(RequestValidationError)
    async def _request_validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        return _respond(422, error)

    @app.exception_handler(ClientDisconnect)
    async def _client_disconnect(request: Request, error: ClientDisconnect) -> JSONResponse:
        return _client_gone(request)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400 and error.detail == BODY_PARSE_FAILED:
            problem = body_error(error.__cause__)
            return _client_gone(request) if problem is None else _respond(problem.status, problem)
        body = error_body([{"field": None, "reason": str(error.detail)}])
        return JSONResponse(body, status_code=error.status_code, headers=getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body([{"field": None, "reason": "internal error"}]), status_code=500)
