"""How a trainer makes run items: new ones from a config (or a fork's whole state), restored ones from the
store (lazily, paused, the first time a call names them)."""

from __future__ import annotations

import logging
from typing import Any

from ...engine.config import RunConfig
from ...engine.run import Run
from ..classes.badge import badge_of
from ..errors import ApiError
from ..live.shard import Shard
from ..store import StoreError
from . import datasets, persist
from .item import RunItem
from .limits import check_size

log = logging.getLogger("backproplab.trainer")


class RunKind:
    """Makes RunItems: new ones from a config, restored ones from the store. Runs on one custom dataset
    read it from one cache."""

    def __init__(self) -> None:
        self.datasets = datasets.DatasetCache()

    def create(self, run_id: str, args: dict[str, Any], shard: Shard) -> RunItem:
        if (problem := shard.storage_problem()) is not None:
            raise ApiError(f"the run was not created: {problem.reason}", None, status=problem.status)
        digest = args.get("dataset")  # custom rows travel by their hash (runs/datasets.py)
        if "blob" in args:  # a fork: the source run's whole state
            run = Run.from_bytes(args["blob"])
        else:
            config = RunConfig.model_validate(args["config"])
            data = self.datasets.get(digest, shard.store) if digest else None
            check_size(config, args["max_parameters"], max_step_work=shard.settings.max_step_work, data=data)
            run = Run(config, data)
        item = RunItem(run_id, run, shard.settings, args.get("name"), args.get("badge"))
        item.saved_dataset, item.owner = digest, args.get("owner")
        item.changed()
        try:
            shard.checkpoint(item)
        except StoreError as error:
            raise ApiError(f"the run was not created: {error.reason}", None, status=error.status) from None
        return item

    def load(self, run_id: str, shard: Shard) -> RunItem | None:
        saved = shard.store.load(run_id)
        if saved is None:
            return None
        try:
            data = self.datasets.get(saved.dataset, shard.store) if saved.dataset else None
            run, mark = persist.restore(saved, data)
        except Exception as error:  # a damaged or unreadable checkpoint must not stop the trainer
            log.error("could not restore run %s (%s)", run_id, error)
            shard.lost.add(run_id)
            raise ApiError(
                f"run {run_id!r} could not be restored from its checkpoint ({error}); see /api/health",
                "run_id",
                status=410,
            ) from None
        record = shard.store.run_record(run_id)
        group = shard.store.class_record(record.class_id) if record and record.class_id else None
        item = RunItem(run_id, run, shard.settings, record.name if record else None, badge_of(group))
        item.mark, item.saved_dataset = mark, saved.dataset
        item.owner = record.owner if record else None
        item.keep_training = bool(record and record.summary and record.summary.get("keep_training"))
        if shard.settings.restored_message:
            item.notice = shard.settings.restored_message.format(step=run.step_count)
        elif run.message is None and record and record.summary:
            # a notice saved with the checkpoint (runs/item.py STOPPED): the run's own message is saved in
            # the same field, and the run restored from that checkpoint would say it again itself
            item.notice = record.summary.get("message")
        return item
