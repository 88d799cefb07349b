"""Fair share inside a trainer (in-process shard): time is shared equally between owners, then between an
owner's items, whatever their step costs or their number; a ``step`` call whose caller went away stops."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

from backproplab.engine.config import RunConfig
from backproplab.server.live.protocol import Call
from backproplab.server.live.shard import Shard, ShardSettings, Subscription, owner_of
from backproplab.server.runs.kind import RunKind
from backproplab.server.store import connect

ROUNDS_SECONDS = 1.0


@dataclass(eq=False)
class Sleeper:
    """A playing item whose steps each take ``step_seconds`` (slept, so the machine's load does not
    matter); it does at least one step per turn, as a run does."""

    id: str
    owner: str | None
    step_seconds: float
    kind: str = "run"
    playing: bool = True
    version: int = 0
    generation: int = 0
    steps: int = 0
    seconds: float = 0.0  # the time its turns took
    subscriptions: dict[str, Subscription] = field(default_factory=dict)

    def wait(self) -> float:
        return 0.0

    def advance(self, budget: float) -> None:
        started = time.perf_counter()
        deadline = started + budget
        while True:
            time.sleep(self.step_seconds)
            self.steps += 1
            now = time.perf_counter()
            if now + self.step_seconds > deadline:
                self.seconds += now - started
                return


def play(items: list[Sleeper], seconds: float = ROUNDS_SECONDS) -> None:
    shard = Shard(index=0, store=None, settings=ShardSettings(), kinds={}, send=lambda message: None)  # type: ignore[arg-type]
    shard.items = {item.id: item for item in items}
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        shard.work()


def share(items: list[Sleeper], owner: str) -> float:
    return sum(item.seconds for item in items if item.owner == owner)


def test_an_owner_with_long_steps_gets_its_share_not_more():
    heavy = Sleeper("heavy", owner="a", step_seconds=0.04)  # 5x the time slice per step
    light = Sleeper("light", owner="b", step_seconds=0.0005)
    play([heavy, light])
    assert light.steps > 0 and heavy.steps > 0
    assert 0.4 < share([heavy, light], "a") / share([heavy, light], "b") < 2.5


def test_an_owner_with_many_runs_gets_one_owners_share():
    many = [Sleeper(f"m{index}", owner="a", step_seconds=0.0005) for index in range(4)]
    one = Sleeper("one", owner="b", step_seconds=0.0005)
    play([*many, one])
    assert 0.4 < share([*many, one], "a") / share([*many, one], "b") < 2.5
    assert all(item.steps > 0 for item in many), "an owner's runs share its time"


def test_items_without_an_owner_share_as_their_own_owners():
    items = [Sleeper(name, owner=None, step_seconds=0.0005) for name in ("x", "y")]
    play(items)
    assert 0.4 < items[0].seconds / items[1].seconds < 2.5


@pytest.fixture
def shard(tmp_path):
    store = connect(str(tmp_path), primary=True)
    sent: list = []
    shard = Shard(index=0, store=store, settings=ShardSettings(), kinds={"run": RunKind()}, send=sent.append)
    shard.sent = sent
    yield shard
    store.close()


def test_a_step_call_whose_caller_went_away_stops_its_work(shard):
    shard.store.insert_run("r", None, None, None)
    config = RunConfig(model={"hidden": [16, 16]})
    shard.handle(Call(1, "create", "r", {"kind": "run", "config": config, "max_parameters": 10**6}))
    shard.handle(Call(2, "step", "r", {"kind": "run", "steps": 10_000}))
    run = shard.items["r"]
    for _ in range(10_000):  # until it is under way (the create's time is a debt it pays first)
        if run.run.step_count:
            break
        shard.work()
    shard.handle(Call(0, "cancel", "r", {"call": 2}))
    assert not shard.waiting
    for _ in range(10_000):
        if not run.pending_steps:
            break
        shard.work()
    stopped_at = run.run.step_count
    for _ in range(20):
        shard.work()
    assert run.run.step_count == stopped_at < 10_000
    assert not run.pending_steps and run.wait() == float("inf")
    assert [reply.id for reply in shard.sent if getattr(reply, "id", None) == 2] == []  # nobody to answer


def test_a_run_trains_in_its_owners_share_when_created_and_when_restored(shard):
    shard.store.insert_run("r", "alice", None, None)
    config = RunConfig(model={"hidden": [4]})
    args = {"kind": "run", "config": config, "max_parameters": 10**6, "owner": "alice"}
    shard.handle(Call(1, "create", "r", args))
    assert owner_of(shard.items["r"]) == "owner:alice"
    restored = RunKind().load("r", shard)
    assert restored is not None and owner_of(restored) == "owner:alice"
