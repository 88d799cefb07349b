"""A trainer's checkpoints when the store fails (in-process shard, a store that fails on demand): they are
retried with growing waits and resume by themselves, durable changes answer 507 and say whether they were
made, a REST step answers after its checkpoint, and no error stops the upkeep."""

from __future__ import annotations

import time

import numpy as np
import pytest

from backproplab.engine.config import RunConfig
from backproplab.server.live.protocol import Call, Reply
from backproplab.server.live.shard import Shard, ShardSettings
from backproplab.server.races.item import RaceKind
from backproplab.server.runs import persist
from backproplab.server.runs.kind import RunKind
from backproplab.server.store import StoreError, StoreHealth
from backproplab.server.store.sqlite import SqliteStore

FULL = "the disk holding /data is full"


class FlakyStore(SqliteStore):
    """A real store whose checkpoints fail while ``full`` is set."""

    full = False
    attempts = 0

    def save(self, run_id, checkpoint):
        self.attempts += 1
        if self.full:
            raise StoreError(FULL, "full")
        return super().save(run_id, checkpoint)

    def probe(self):
        return StoreHealth(False, "full", FULL) if self.full else super().probe()


class Clock:
    def __init__(self) -> None:
        self.now = time.monotonic() + 60  # items compare their own monotonic times with the shard's clock

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def shard(tmp_path):
    SqliteStore.open_primary(tmp_path).close()
    store = FlakyStore(tmp_path)
    sent: list = []
    shard = Shard(
        index=0,
        store=store,
        settings=ShardSettings(unwatched_pause=3600.0, checkpoint_interval=1.0),
        kinds={"run": RunKind(), "race": RaceKind()},
        send=sent.append,
        clock=Clock(),
    )
    shard.sent = sent
    yield shard
    store.close()


def new_run(shard: Shard, run_id: str = "a") -> str:
    shard.store.insert_run(run_id, None, None, None)
    shard.handle(Call(1, "create", run_id, {"kind": "run", "config": RunConfig(), "max_parameters": 10**6}))
    assert last_reply(shard).failure is None
    return run_id


def call(shard: Shard, op: str, target: str, **args) -> Reply:
    """Do a call and its work; its reply."""
    before = len(replies(shard))
    shard.handle(Call(9, op, target, {"kind": "run", **args}))
    while len(replies(shard)) == before:
        shard.work()
    return replies(shard)[-1]


def replies(shard: Shard) -> list[Reply]:
    return [message for message in shard.sent if isinstance(message, Reply)]


def last_reply(shard: Shard) -> Reply:
    return replies(shard)[-1]


def saved_step(shard: Shard, run_id: str) -> int:
    return persist.restore(shard.store.load(run_id), None)[0].step_count


def test_failed_checkpoints_are_retried_with_growing_waits_and_resume(shard):
    run_id = new_run(shard)
    item = shard.items[run_id]
    shard.store.full = True
    item.run.step(10)
    item.changed()
    shard.maintain()
    health = shard.health()
    assert not health.ok and health.kind == "full" and health.reason == FULL
    waits = []
    for _ in range(4):
        attempts = shard.store.attempts
        shard.maintain()
        assert shard.store.attempts == attempts, "no attempt before the wait is over"
        waits.append(shard.retry_at - shard.clock.now)
        shard.clock.now = shard.retry_at
        shard.maintain()
        assert shard.store.attempts == attempts + 1
    assert waits == sorted(waits) and waits[-1] > waits[0]
    assert saved_step(shard, run_id) == 0

    shard.store.full = False
    shard.clock.now = shard.retry_at
    shard.maintain()
    assert shard.health().ok and saved_step(shard, run_id) == 10


def test_a_failing_store_is_probed_when_nothing_needs_saving(shard):
    run_id = new_run(shard)
    shard.store.full = True
    reply = call(shard, "play", run_id, durable=True)
    assert reply.failure.status == 507 and not shard.items[run_id].playing
    shard.store.full = False
    shard.clock.now = shard.retry_at
    shard.maintain()  # nothing changed since the last checkpoint: a probe finds the store working
    assert shard.health().ok
    assert call(shard, "play", run_id, durable=True).failure is None


def test_durable_changes_on_a_failing_store_answer_507_and_change_nothing(shard):
    run_id = new_run(shard)
    shard.store.full = True
    first = call(shard, "patch", run_id, patch={"optimizer": {"lr": 0.5}}, max_parameters=10**6, durable=True)
    assert first.failure.status == 507
    assert "made but could not be saved" in first.failure.errors[0][1] and FULL in first.failure.errors[0][1]
    item = shard.items[run_id]
    assert item.run.config.optimizer.lr == 0.5, "the first failure is found after the change was made"

    for op, args in (("play", {}), ("step", {"steps": 5}), ("reset", {})):
        reply = call(shard, op, run_id, durable=True, **args)
        assert reply.failure.status == 507, op
        assert reply.failure.errors[0][1] == f"the change was not made: {FULL}", op
    assert not item.playing and item.run.step_count == 0

    assert call(shard, "step", run_id, steps=4).failure is None, "changes that need no storage still work"
    shard.store.full = False
    shard.clock.now = shard.retry_at
    shard.maintain()
    restored = persist.restore(shard.store.load(run_id), None)[0]
    assert restored.step_count == 4 and restored.config.optimizer.lr == 0.5


def test_a_durable_step_answers_after_its_checkpoint(shard):
    run_id = new_run(shard)
    reply = call(shard, "step", run_id, steps=250, durable=True)
    assert reply.value == 250 and saved_step(shard, run_id) == 250


def test_an_error_while_checkpointing_never_stops_upkeep(shard, monkeypatch):
    run_id = new_run(shard)
    item = shard.items[run_id]

    def broken(run, mark):
        raise RuntimeError("cannot encode")

    monkeypatch.setattr(persist, "snapshot", broken)
    item.run.step(3)
    item.changed()
    shard.maintain()
    health = shard.health()
    assert not health.ok and "RuntimeError: cannot encode" in health.reason
    monkeypatch.undo()
    shard.clock.now = shard.retry_at
    shard.maintain()
    assert shard.health().ok and saved_step(shard, run_id) == 3


def test_a_checkpoint_that_cannot_be_read_is_a_lost_run_not_a_crash(shard):
    run_id = new_run(shard)
    shard.items.pop(run_id)
    with shard.store._transaction() as db:
        db.execute("UPDATE runs SET core = ? WHERE id = ?", (b"garbage", run_id))
    reply = call(shard, "describe", run_id)
    assert reply.failure.status == 410 and "could not be restored" in reply.failure.errors[0][1]
    assert shard.health().lost == (run_id,)


def test_incremental_checkpoints_resume_from_the_last_saved_mark(shard):
    """A failed checkpoint keeps the last saved mark, so the next one carries everything since: the logs
    stored in chunks restore exactly the run's history and trajectory, with no gap and no duplicate."""
    run_id = new_run(shard)
    item = shard.items[run_id]
    for steps, full in ((300, False), (200, True), (200, True), (100, False)):
        shard.store.full = full
        item.run.step(steps)
        item.changed()
        shard.clock.now = max(shard.clock.now, shard.retry_at) + 1
        shard.maintain()
    saved = shard.store.load(run_id)
    assert len(saved.logs["history"]) >= 2, "the logs grow by chunks"
    restored, _ = persist.restore(saved, None)
    assert restored.step_count == 800
    np.testing.assert_array_equal(restored.metric_history.stored(), item.run.metric_history.stored())
    for restored_part, part in zip(restored.trajectory.array(), item.run.trajectory.array(), strict=True):
        np.testing.assert_array_equal(restored_part, part)
