"""Clients that join a watched item at once share one trainer call for its state (live/hub.py)."""

from __future__ import annotations

import asyncio

import pytest

from backproplab.server.live.hub import Session


def session() -> Session:
    return Session(id="run-a", kind=None, mirror=None)  # shared() needs neither a kind nor a mirror


def test_callers_with_one_key_share_one_call_and_another_key_gets_its_own():
    calls = []

    async def ask(view: str) -> str:
        calls.append(view)
        await asyncio.sleep(0.05)
        return f"state for {view}"

    async def scenario() -> list[str]:
        watched = session()
        answers = await asyncio.gather(
            *(watched.shared("plain", lambda: ask("plain")) for _ in range(300)),
            watched.shared("grid", lambda: ask("grid")),
        )
        assert watched.asking == {}  # answered: the next joiner asks afresh
        await watched.shared("plain", lambda: ask("plain"))
        return answers

    answers = asyncio.run(scenario())
    assert calls == ["plain", "grid", "plain"]
    assert answers == ["state for plain"] * 300 + ["state for grid"]


def test_an_error_reaches_every_caller_and_a_caller_that_leaves_does_not_cancel_the_others():
    async def failing() -> str:
        await asyncio.sleep(0.05)
        raise LookupError("no such run")

    async def scenario() -> None:
        watched = session()
        leaving = asyncio.ensure_future(watched.shared("plain", failing))
        staying = asyncio.ensure_future(watched.shared("plain", failing))
        await asyncio.sleep(0.01)
        leaving.cancel()
        with pytest.raises(LookupError):
            await staying
        assert leaving.cancelled()

    asyncio.run(scenario())
