"""The web process's housekeeping: runs untouched for ``run_ttl`` seconds are deleted (oldest first), and
with them comparisons that old and identities that own nothing any more, so a public server never fills."""

from __future__ import annotations

import asyncio
import logging
import time

from .identities.service import IdentityService
from .runs.service import RunService
from .teaching.comparisons import Comparisons

log = logging.getLogger("backproplab.server")
LONGEST_PAUSE = 3600.0  # seconds between passes at most (a tenth of the TTL when that is shorter)
SHORTEST_PAUSE = 0.5


async def expire_once(runs: RunService, comparisons: Comparisons, identities: IdentityService) -> int:
    """One pass; how many runs it deleted (0 when ``run_ttl`` is 0: keep everything)."""
    ttl = runs.settings.run_ttl
    if ttl <= 0:
        return 0
    now = time.time()
    deleted = await runs.expire(now)
    await comparisons.forget(now - ttl)
    await identities.forget_idle(now - ttl)
    return deleted


async def expire_forever(runs: RunService, comparisons: Comparisons, identities: IdentityService) -> None:
    """Pass after pass until cancelled; a failing pass is logged and retried, never fatal."""
    ttl = runs.settings.run_ttl
    if ttl <= 0:
        return
    pause = min(LONGEST_PAUSE, max(SHORTEST_PAUSE, ttl / 10))
    while True:
        try:
            while await expire_once(runs, comparisons, identities) > 0:
                await asyncio.sleep(0)  # a full batch: more may be due
        except Exception as error:
            log.warning("expiring old runs failed (%r); retrying in %.0f s", error, pause)
        await asyncio.sleep(pause)
