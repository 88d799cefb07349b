"""A session's subscription reaches its trainer even when the trainer cannot take it at once (live/hub.py).

A `watch` lost to a trainer that was restarting left the session's watchers with a `state` (a call, which
the web process retries or answers from the store) and then no news for good: the cluster story's watcher
on replica B after a trainer actor was killed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from backproplab.server.errors import ApiError
from backproplab.server.live import hub as hub_module
from backproplab.server.live.hub import Client, Hub
from backproplab.server.live.protocol import Wants
from backproplab.server.live.trainers import TrainerUnavailableError


class Kind:
    """The least of a live kind the hub's subscriptions use."""

    name = "run"

    def mirror(self) -> None:
        return None

    def wants(self, client: Client) -> Wants:
        return Wants(fps=client.fps)


class Trainers:
    """Trainers whose first ``failures`` watch calls answer 503, as a restarting trainer does; every other
    call answers at once. ``taken`` is every watch that was answered, with its fps."""

    subscriber = "replica-b"
    shards = 1

    def __init__(self, failures: int = 0, refuse: ApiError | None = None, unanswered: int = 0):
        self.failures = failures
        self.refuse = refuse
        self.unanswered = unanswered  # calls that never get an answer (lost in a restart)
        self.attempts = 0
        self.taken: list[tuple[str, int]] = []
        self.casts: list[tuple[str, str]] = []

    async def call(self, target: str, op: str, **args: Any) -> Any:
        assert op == "watch"
        self.attempts += 1
        if self.unanswered:
            self.unanswered -= 1
            await asyncio.Event().wait()
        await asyncio.sleep(0.01)
        if self.refuse is not None:
            raise self.refuse
        if self.failures:
            self.failures -= 1
            raise TrainerUnavailableError("training is unavailable: the trainer is restarting")
        self.taken.append((target, args["wants"].fps))

    def cast(self, target: str, op: str, **args: Any) -> None:
        self.casts.append((target, op))


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(hub_module, "SUBSCRIBE_RETRY", 0.01)
    monkeypatch.setattr(hub_module, "SUBSCRIBE_RETRY_MOST", 0.02)
    monkeypatch.setattr(hub_module, "SUBSCRIBE_TIMEOUT", 0.05)


async def settle(seconds: float = 0.3) -> None:
    await asyncio.sleep(seconds)


def join_and_settle(trainers: Trainers) -> None:
    """One client watches run-a; the hub's subscription has time to settle."""

    async def scenario() -> None:
        hub = Hub(lambda: trainers)
        hub.join(Kind(), "run-a", Client(fps=30))
        await settle()

    asyncio.run(scenario())


def test_a_watch_the_trainer_could_not_take_is_sent_again_until_it_is_taken():
    trainers = Trainers(failures=3)

    join_and_settle(trainers)
    assert trainers.attempts == 4
    assert trainers.taken == [("run-a", 30)]


def test_a_restart_while_a_watch_is_on_its_way_sends_it_again_with_the_newest_wants():
    trainers = Trainers()

    async def scenario() -> None:
        hub = Hub(lambda: trainers)
        client = Client(fps=30)
        session = hub.join(Kind(), "run-a", client)
        await asyncio.sleep(0)  # the first watch is on its way
        client.fps = 10
        hub.refresh_wants(session)
        hub.restarted(0)  # the trainer came back: subscribe again, even with the same wants
        await settle()

    asyncio.run(scenario())
    assert trainers.taken == [("run-a", 30), ("run-a", 10)]


def test_a_session_nobody_watches_any_more_stops_sending_its_watch():
    trainers = Trainers(failures=1_000)

    async def scenario() -> None:
        hub = Hub(lambda: trainers)
        client = Client(fps=30)
        session = hub.join(Kind(), "run-a", client)
        await settle(0.1)
        hub.leave(session, client)
        tried = trainers.attempts
        await settle(0.2)
        assert trainers.attempts <= tried + 1  # at most the attempt that was on its way

    asyncio.run(scenario())
    assert trainers.casts == [("run-a", "unwatch")]


def test_a_watch_refused_for_good_is_not_sent_again():
    trainers = Trainers(refuse=ApiError("no run with id 'run-a'", "run_id", status=404))

    join_and_settle(trainers)
    assert trainers.attempts == 1


def test_a_watch_that_gets_no_answer_is_sent_again():
    trainers = Trainers(unanswered=2)

    join_and_settle(trainers)
    assert trainers.attempts == 3
    assert trainers.taken == [("run-a", 30)]
