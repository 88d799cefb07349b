"""Pydantic models of classes: REST bodies and responses (docs/api.md "Classes")."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...engine.config import RunConfig
from ..runs.schemas import DisplayName, RunConfigPatch, RunOut
from .locks import CONFIG_PATHS, check_paths

ALLOWED_DOC = (
    "dotted RunConfig settings students may change, e.g. ['optimizer.lr', 'optimizer.name'] ('optimizer' "
    "allows every optimizer setting, 'model.weights' single-weight edits); null: every setting"
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Allowed(_Model):
    @field_validator("allowed", check_fields=False)
    @classmethod
    def _known_settings(cls, allowed: list[str] | None) -> list[str] | None:
        return check_paths(allowed)


class ClassCreate(_Allowed):
    """A new class: every student who joins gets a run of their own from ``config``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Period 3",
                    "config": {"dataset": {"kind": "spiral"}, "model": {"hidden": [8, 8]}},
                    "allowed": ["optimizer.lr", "optimizer.name"],
                }
            ]
        }
    )
    name: DisplayName | None = None
    config: RunConfig = Field(default_factory=RunConfig, description="the setup students start from")
    allowed: list[str] | None = Field(None, max_length=len(CONFIG_PATHS), description=ALLOWED_DOC)


class ClassPatch(_Allowed):
    """Rename the class, change what students may change, or push a new setup to every student's run."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"config": {"optimizer": {"lr": 0.3}}}, {"allowed": None}]}
    )
    name: DisplayName | None = None
    config: RunConfigPatch | None = Field(
        None,
        description="any part of a RunConfig: merged into the class's setup and applied to every student's "
        "run now (a change of model, data, features, loss or seed rebuilds their networks)",
    )
    allowed: list[str] | None = Field(None, max_length=len(CONFIG_PATHS), description=ALLOWED_DOC)


class JoinRequest(_Model):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Ada"}]})
    name: DisplayName | None = Field(
        None,
        description="the student's name, shown to the teacher: unique in the class (compared without case); "
        "joining again with another name renames the student",
    )


class ClassInfo(_Model):
    """A class as its teacher sees it in a list."""

    id: str = Field(description="unguessable; the teacher's handle on the class")
    code: str = Field(description="the join code students type (6 characters, no 0/O, 1/I/L)")
    name: str | None
    created: float
    config: RunConfigPatch = Field(
        description="the setup students start from: a whole RunConfig (a custom dataset's X and y are null here)"
    )
    allowed: list[str] | None = Field(description=ALLOWED_DOC)


class ClassCreated(ClassInfo):
    teacher_token: str = Field(
        description="the teacher's bearer token (the caller's own, or a new identity's when the request "
        "carried none): it controls the class and every student's run"
    )


class PushFailure(_Model):
    run_id: str
    field: str | None
    reason: str


class PushOut(_Model):
    """What pushing a setup did: how many students' runs took it, and which refused and why."""

    runs: int
    failed: list[PushFailure]


class ClassOut(ClassInfo):
    """A class with every student's run (live), for the teacher's gallery and leaderboard."""

    students: list[RunOut] = Field(description="each student's run, oldest member first; `name` is theirs")
    pushed: PushOut | None = Field(None, description="PATCH with `config` only")
