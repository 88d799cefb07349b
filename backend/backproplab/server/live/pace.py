"""Playing at a pace a person can follow (races; runs played with ``steps_per_second``).

``rate`` steps a second, given out in ticks at most ``TICK_HZ`` a second (about one a frame), so a paced
item costs its trainer at most 30 turns a second whatever its rate. Each tick owes ``rate`` × the seconds
since the last one, counting at most ``catch_up`` seconds after a late tick; whole steps are taken, the
fraction carries over, and what a tick could not take stays owed up to ``catch_up`` seconds' worth.
"""

from __future__ import annotations

import time

TICK_HZ = 30


class Pace:
    """A pacer (see the module docstring). ``now``: its first tick is due at once, else a tick from now."""

    def __init__(self, rate: float, catch_up: float, owed: float = 0.0, now: bool = False):
        self.rate = rate
        self.catch_up = catch_up
        self.owed = owed
        self.ticked = time.monotonic() - (1.0 / TICK_HZ if now else 0.0)

    def wait(self) -> float:
        """Seconds until the next tick (0: now)."""
        return max(0.0, self.ticked + 1.0 / TICK_HZ - time.monotonic())

    def take(self, most: int) -> int | None:
        """The whole steps due at this tick, at most ``most``; None before the tick is due."""
        now = time.monotonic()
        if now < self.ticked + 1.0 / TICK_HZ:
            return None
        owed = self.owed + self.rate * min(now - self.ticked, self.catch_up)
        self.owed = min(owed, self.rate * self.catch_up + 1.0)
        self.ticked = now
        steps = min(int(self.owed), most)
        self.owed -= steps
        return steps
