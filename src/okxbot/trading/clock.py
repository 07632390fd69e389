"""The clock seam: the one way the trading layer reads time.

The order manager, its doubts, the risk guard, the PnL day, the runner's timers and the strategies
(`ctx.now_ms()`) read time through a `Clock`, never from `time` directly. Live, that is the venue's
clock (OKX's time as measured, `Venue.okx_now_ms`) and the machine's monotonic clock; in a backtest
it is the virtual clock the replay drives (`okxbot.backtest.loop`), so the same code runs on history
without reading a wall clock or sleeping.

Two readings, for two jobs:
    now_ms()     exchange time, epoch milliseconds: timestamps, the UTC day, timer alignment
    monotonic()  seconds that only move forward: deadlines, backoffs, rate windows
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int:
        """Exchange time in milliseconds since the epoch."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""
        ...


class SystemClock:
    """The machine's clocks (tests and tools with no venue)."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()


class VenueClock:
    """A live venue's clock: OKX's time as the client measured it, the machine's monotonic clock."""

    def __init__(self, venue_now_ms: Callable[[], int]) -> None:
        self._now_ms = venue_now_ms

    def now_ms(self) -> int:
        return self._now_ms()

    def monotonic(self) -> float:
        return time.monotonic()


SYSTEM_CLOCK = SystemClock()


def next_multiple_ms(now_ms: int, period_ms: int) -> int:
    """The first multiple of `period_ms` (since the epoch) strictly after `now_ms`.

    Timers fire on these marks (a DCA every hour fires on the hour), so a live bot and a backtest of
    it fire at the same moments whenever each of them was started."""
    return (now_ms // period_ms + 1) * period_ms
