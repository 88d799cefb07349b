"""Per-address limits before a request reaches the app: request turns (a token bucket and a cap on
requests in progress per client address), body bytes per second per address, and server-computed grids
that shrink with what they send."""

from __future__ import annotations

import asyncio

from backproplab.server.connections import Turns
from backproplab.server.costs import forward_products
from backproplab.server.middleware import ByteRates
from backproplab.server.runs.limits import grid_resolution


class Waiter:
    def __init__(self) -> None:
        self.turned = asyncio.Event()
        self.left = False

    def take_turn(self) -> None:
        self.turned.set()

    def gone(self) -> bool:
        return self.left


async def _turns_per_address() -> None:
    loop = asyncio.get_running_loop()
    turns = Turns(rate=0.001, burst=2, queue=2, active=100)  # tokens do not come back during the test
    assert turns.take("a", Waiter(), loop) is True
    assert turns.take("a", Waiter(), loop) is True
    assert turns.take("a", Waiter(), loop) is False  # a spent its burst: it waits
    assert turns.take("b", Waiter(), loop) is True  # b is not held back by a
    assert turns.take("a", Waiter(), loop) is False
    assert turns.crowded("a") and not turns.crowded("b")
    assert turns.take("a", Waiter(), loop) is None  # its waiting line is full: dropped


async def _active_places() -> None:
    loop = asyncio.get_running_loop()
    turns = Turns(rate=1000.0, burst=100, queue=10, active=2)
    assert turns.take("a", Waiter(), loop) is True
    assert turns.take("a", Waiter(), loop) is True
    third = Waiter()
    assert turns.take("a", third, loop) is False  # tokens left, but two requests in progress already
    await asyncio.sleep(0.05)
    assert not third.turned.is_set()  # no token timer lets it in while both places are held
    turns.done("a", loop)  # one answered: its place goes to the waiting request
    await asyncio.wait_for(third.turned.wait(), timeout=5)
    assert turns.buckets["a"].active == 2


async def _gone_waiters_skipped() -> None:
    loop = asyncio.get_running_loop()
    turns = Turns(rate=1000.0, burst=1, queue=10, active=1)
    assert turns.take("a", Waiter(), loop) is True
    left, next_one = Waiter(), Waiter()
    assert turns.take("a", left, loop) is False
    assert turns.take("a", next_one, loop) is False
    left.left = True  # its client went away while it waited
    turns.done("a", loop)
    await asyncio.wait_for(next_one.turned.wait(), timeout=5)
    assert not left.turned.is_set()


def test_turns_count_per_address_and_drop_past_the_queue():
    asyncio.run(_turns_per_address())


def test_requests_in_progress_per_address_are_capped_and_freed_when_answered():
    asyncio.run(_active_places())


def test_a_waiting_request_whose_client_left_gets_no_turn():
    asyncio.run(_gone_waiters_skipped())


def test_body_bytes_are_rate_limited_per_address():
    now = [0.0]
    rates = ByteRates(1000.0, clock=lambda: now[0])
    assert rates.spend("a", 600) == 0.0
    assert rates.spend("a", 900) == 0.5  # 500 bytes over at 1000 bytes a second
    assert rates.spend("b", 900) == 0.0  # another address has its own bucket
    now[0] = 2.0
    assert rates.spend("a", 900) == 0.0  # refilled (up to one second's worth)


def test_grids_with_every_neuron_are_coarser_within_the_same_budget():
    sizes = (2, 64, 64, 64, 1)
    budget = 2e8
    output_only = grid_resolution(sizes, 200, budget)
    neurons = grid_resolution(sizes, 200, budget, neurons=True)
    assert neurons < output_only <= 200
    assert neurons >= 2
    assert neurons**2 * forward_products(sizes) <= budget
    assert grid_resolution((2, 4, 1), 50, budget, neurons=True) == 50  # small networks get what they ask
