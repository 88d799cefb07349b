"""Classes: a teacher, a join code and the students' runs.

A student joins with the code and gets a run of their own from the class's current setup (joining again
returns the same run, renamed if they gave another name). Students' names are unique in a class, compared
without case, so the teacher can tell them apart: a name another student has is 409 (the store checks it
atomically with the write, store/base.py). The teacher (or the admin) sees every student's run, pushes a
new setup to all of them, chooses which settings students may change (classes/locks.py, checked by each
run's trainer), and exports the results. A class and its memberships (its students' runs) live in the store.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from ...engine.config import RunConfig, merge_config
from ...engine.errors import ConfigError
from ..errors import ApiError, field_errors, shown_id
from ..identities.access import Caller, ForbiddenError
from ..identities.service import IdentityService
from ..runs.limits import check_size
from ..runs.service import RunService
from ..store import ClassRecord
from .badge import badge_of
from .schemas import ClassCreate, ClassPatch

# No 0/O, 1/I/L: a code read off a projector is typed right the first time.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6  # 31^6 ≈ 8.9e8 codes
CODE_ATTEMPTS = 20


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normal_code(text: str) -> str:
    """A typed code as stored: upper case, without spaces or dashes."""
    return text.strip().upper().replace(" ", "").replace("-", "")


class ClassNotFoundError(ApiError):
    status = 404

    def __init__(self, reason: str, field: str):
        super().__init__(reason, field)


class ClassService:
    """Every class of this server (see the module docstring)."""

    def __init__(self, runs: RunService, identities: IdentityService):
        self.runs = runs
        self.identities = identities
        self.store = runs.store
        self.offload = runs.offload
        self.settings = runs.settings

    async def create(self, body: ClassCreate, teacher: Caller) -> ClassRecord:
        check_size(
            body.config,
            self.settings.max_parameters,
            max_step_work=self.settings.max_step_work,
            prefix="config.",
        )
        assert teacher.owner_id is not None, "a class's teacher is an identity (IdentityService.or_new)"
        now = time.time()
        for _ in range(CODE_ATTEMPTS):
            record = ClassRecord(
                id=secrets.token_urlsafe(16),
                code=new_code(),
                teacher=teacher.owner_id,
                name=body.name,
                config=body.config.model_dump(mode="json"),
                allowed=body.allowed,
                created=now,
                updated=now,
            )
            if await self.offload.io(self.store.insert_class, record):
                return record
        raise ApiError("could not find a free join code; try again", None, status=503)

    async def taught(self, caller: Caller) -> list[ClassRecord]:
        """The caller's classes (the admin: every class; nobody: none)."""
        if caller.owner_id is None:
            return []
        return await self.offload.io(self.store.classes_of, None if caller.admin else caller.owner_id)

    async def get(self, class_id: str, caller: Caller) -> ClassRecord:
        """The class, for its teacher or the admin only (403 otherwise, 404 if there is none)."""
        group = await self.offload.io(self.store.class_record, class_id)
        if group is None:
            raise ClassNotFoundError(f"no class with id {shown_id(class_id)}", "class_id")
        if not (caller.admin or (caller.identity is not None and caller.identity == group.teacher)):
            raise ForbiddenError(
                "only the class's teacher or this server's admin may see or change it: send the teacher's "
                "token as 'Authorization: Bearer <token>'"
            )
        return group

    async def student_runs(self, group: ClassRecord) -> list[str]:
        records = await self.offload.io(self.store.run_records, None, group.id)
        return [record.id for record in records]

    async def students(self, group: ClassRecord) -> list[dict[str, Any]]:
        """Every student's run, described live by its trainer."""
        return await self.runs.describe_all(await self.student_runs(group))

    async def join(self, code: str, caller: Caller, name: str | None) -> tuple[dict[str, Any], bool, Caller]:
        """The student's run in the class with this code: their existing one (renamed when ``name`` is a
        new one), or (True) a new one; and the student (a new identity when the caller had no token). A
        name another student of the class has is refused (NameTakenError: 409)."""
        group = await self.offload.io(self.store.class_by_code, normal_code(code))
        if group is None:
            raise ClassNotFoundError(
                f"no class has the code {shown_id(code)}; check it against the one the teacher shows", "code"
            )
        student = await self.identities.or_new(caller)
        if caller.owner_id is not None:
            for record in await self.offload.io(self.store.run_records, student.owner_id, group.id):
                try:
                    run = await self.runs.describe(record.id)
                except ApiError as error:
                    if error.status != 404:
                        raise
                    continue
                if name is not None and name != record.name:
                    run = await self.runs.rename(record.id, name)
                return run, False, student
        config = RunConfig.model_validate(group.config)
        run = await self.runs.create(config, student, class_id=group.id, name=name, badge=badge_of(group))
        return run, True, student

    async def update(self, group: ClassRecord, body: ClassPatch) -> tuple[ClassRecord, dict[str, Any] | None]:
        """Apply a ClassPatch: the new setup is checked whole before anything changes, then stored, then
        pushed to every student's run; the badge each run shows follows a new name or new locks."""
        given = body.model_fields_set
        config = group.config
        patch = body.config.model_dump(mode="json") if body.config is not None else {}
        if patch:
            merged = _merged(group.config, patch)
            settings = self.settings
            check_size(
                merged, settings.max_parameters, max_step_work=settings.max_step_work, prefix="config."
            )
            config = merged.model_dump(mode="json")
        updated = replace(
            group,
            name=body.name if "name" in given else group.name,
            allowed=body.allowed if "allowed" in given else group.allowed,
            config=config,
            updated=time.time(),
        )
        await self.offload.io(
            self.store.update_class, group.id, updated.name, updated.config, updated.allowed
        )
        run_ids = await self.student_runs(group)
        if (updated.name, updated.allowed) != (group.name, group.allowed):
            await self._set_badge(run_ids, badge_of(updated))
        pushed = await self._push(run_ids, patch) if patch else None
        return updated, pushed

    async def _push(self, run_ids: list[str], patch: dict[str, Any]) -> dict[str, Any]:
        results = await asyncio.gather(
            *(self.runs.patch(run_id, patch) for run_id in run_ids), return_exceptions=True
        )
        failed = []
        for run_id, result in zip(run_ids, results, strict=True):
            if isinstance(result, Exception):
                problem = field_errors(result)[0]
                failed.append({"run_id": run_id, "field": problem["field"], "reason": problem["reason"]})
        return {"runs": len(run_ids) - len(failed), "failed": failed}

    async def _set_badge(self, run_ids: list[str], badge: dict[str, Any] | None) -> None:
        await asyncio.gather(
            *(self.runs.call(run_id, "set_class", badge=badge, durable=True) for run_id in run_ids),
            return_exceptions=True,  # a run that is gone needs no badge; one restarting reloads it
        )

    async def delete(self, group: ClassRecord) -> None:
        """End the class: its students keep their runs, no longer in a class (and no longer locked)."""
        run_ids = await self.student_runs(group)
        await self.offload.io(self.store.delete_class, group.id)
        await self._set_badge(run_ids, None)


def _merged(config: dict[str, Any], patch: dict[str, Any]) -> RunConfig:
    """The class setup with ``patch`` merged in; a bad value is 422 naming ``config.<field>``."""
    try:
        return merge_config(RunConfig.model_validate(config), patch)
    except (ValidationError, ConfigError) as error:
        problems = tuple(
            (f"config.{item['field']}" if item["field"] else "config", str(item["reason"]))
            for item in field_errors(error)
        )
        raise ApiError(problems[0][1], problems[0][0], status=422, errors=problems) from None
