"""The Ray gateway's forwarding on its own (no cluster needed): a lost subscription is sent again."""

from __future__ import annotations

import asyncio
from typing import Any

from ray.exceptions import RayError

from backproplab.server.live import ray_gateway
from backproplab.server.live.protocol import Call, Reply
from backproplab.server.live.ray_gateway import Gateway
from backproplab.server.live.ray_trainers import GatewayEvent


class UnreachableActor:
    """An actor handle whose calls fail as Ray's do while an actor cannot be reached for a moment."""

    class call:  # noqa: N801  # the handle's method, as `actor.call.remote(...)` reaches it
        @staticmethod
        async def remote(call: Call) -> Any:
            raise RayError("the actor is temporarily unavailable")


def sent(gateway: Gateway) -> list[Any]:
    messages = []
    while not gateway.outgoing.empty():
        entry = gateway.outgoing.get()
        assert entry is not None
        messages.append(entry[0])
    return messages


def test_a_lost_watch_makes_the_web_process_subscribe_that_shard_again(monkeypatch):
    monkeypatch.setattr(ray_gateway, "RESUBSCRIBE_AFTER", 0.05, raising=False)

    async def scenario() -> tuple[list[Any], list[Any]]:
        gateway = Gateway(None, None, None)  # type: ignore[arg-type]  # forwarding needs neither
        gateway.actors = [UnreachableActor()]
        watch = {"kind": "run", "subscriber": "replica-b", "wants": None}
        for run_id in ("r1", "r2"):  # two lost watches of one shard: one resubscription
            gateway._dispatch(Call(0, "watch", run_id, watch))
        gateway._dispatch(Call(7, "state", "r1", {}))  # a call's failure is its caller's answer
        gateway._dispatch(Call(0, "unwatch", "r1", {"subscriber": "replica-b"}))
        await asyncio.sleep(0.01)
        early = sent(gateway)
        await asyncio.sleep(0.2)
        return early, sent(gateway)

    early, later = asyncio.run(scenario())
    assert [type(message) for message in early] == [Reply] and early[0].id == 7
    assert early[0].failure is not None and early[0].failure.status == 503
    assert later == [GatewayEvent("restarted", 0)]
