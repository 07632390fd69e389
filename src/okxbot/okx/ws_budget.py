"""A limit OKX keeps per WebSocket connection: 480 subscribe / unsubscribe / login per hour.

Local to one connection, so nothing is shared between processes (unlike `okxbot.okx.ratelimit`, whose
sliding-window log it reuses).
"""

from __future__ import annotations

import asyncio
import logging
import time

from okxbot.okx.limits import Limit
from okxbot.okx.ratelimit import DEFAULT_MARGIN_MS, _Entry, _Log

log = logging.getLogger(__name__)


class ConnectionBudget:
    """A limit OKX keeps per WebSocket connection (480 subscribe/unsubscribe/login per hour).

    Local to one connection, so nothing is shared between processes: `take` waits, first come first
    served, until the message fits the sliding window. Counted when sent, held for the window plus
    `margin_ms`, since OKX counts it a little later, when it arrives. `reset()` on a new connection.
    """

    def __init__(self, limit: Limit, *, margin_ms: int = DEFAULT_MARGIN_MS) -> None:
        self.limit = limit
        self.window_s = (limit.window_ms + margin_ms) / 1000
        self._log = _Log()
        self._lock = asyncio.Lock()  # asyncio's lock wakes waiters in FIFO order

    def reset(self) -> None:
        self._log = _Log()

    def used(self) -> int:
        self._log.prune(time.monotonic(), self.window_s)
        return self._log.total

    async def take(self, units: int = 1) -> float:
        """Wait until `units` more messages fit, record them; returns the seconds waited."""
        waited = 0.0
        async with self._lock:
            while True:
                now = time.monotonic()
                wait_s = self._log.wait(now, self.window_s, units, self.limit.capacity)
                if wait_s <= 0:
                    self._log.add(_Entry(now, units))
                    return waited
                if waited == 0.0:
                    log.warning(
                        "%s: %d used on this connection; the next message waits %.0f s",
                        self.limit.name,
                        self._log.total,
                        wait_s,
                    )
                await asyncio.sleep(wait_s)
                waited += wait_s
