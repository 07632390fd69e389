"""OKX's clock as seen from here: offset from several `public/time` samples.

Each sample brackets OKX's timestamp between the moment the request left and the moment the answer
arrived; OKX's clock is assumed to have been read at the round-trip midpoint. The median of several
samples ignores one slow or unlucky round trip. The corrected time signs every REST request
(`OK-ACCESS-TIMESTAMP`), every WebSocket login and every order's `expTime`, so a local clock that is
off by a minute no longer produces 50102 "Timestamp request expired".
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

DEFAULT_SAMPLES = 5
DEFAULT_RESYNC_S = 600.0
# the clock error assumed before OKX's clock has been measured at all
UNMEASURED_ERROR_MS = 1000


def local_ms() -> int:
    """The local wall clock in ms since the epoch."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class ClockSample:
    """One `public/time` round trip (all in ms since the epoch, local clock except `server_ms`)."""

    sent_ms: int
    received_ms: int
    server_ms: int

    @property
    def rtt_ms(self) -> int:
        return self.received_ms - self.sent_ms

    @property
    def offset_ms(self) -> float:
        """How far OKX's clock is ahead of ours (negative: behind)."""
        return self.server_ms - (self.sent_ms + self.received_ms) / 2


@dataclass(frozen=True)
class ClockSync:
    """The result of one measurement: the samples and their median offset."""

    samples: tuple[ClockSample, ...]
    offset_ms: int
    measured_at_ms: int

    @property
    def rtt_ms(self) -> int:
        """Median round-trip time: the offset is only known to within about half of it."""
        return int(statistics.median(s.rtt_ms for s in self.samples)) if self.samples else 0

    @property
    def error_ms(self) -> int:
        """How far OKX's real clock may be from `offset_ms`: where in a round trip OKX read its clock
        is unknown (half the median round trip), plus how far the samples spread around their
        median. Deadlines on OKX's clock (an order's expTime) are waited out with this added."""
        if not self.samples:
            return UNMEASURED_ERROR_MS
        spread = max(abs(s.offset_ms - self.offset_ms) for s in self.samples)
        return math.ceil(self.rtt_ms / 2 + spread) + 1


class OffsetStore(Protocol):
    """Keeps a recent measurement between processes (see okxbot.okx.cache.ClockCache)."""

    def load(self) -> ClockSync | None: ...

    def save(self, sync: ClockSync) -> None: ...


ServerTime = Callable[[], Awaitable[int]]


async def measure_offset(server_time: ServerTime, samples: int = DEFAULT_SAMPLES) -> ClockSync:
    """Sample OKX's clock `samples` times with `server_time` (returns OKX's ms) and take the median.

    Samples are taken one after another: concurrent requests would queue behind each other and
    skew the midpoints.
    """
    if samples < 1:
        raise ValueError("clock sampling needs at least one sample")
    taken: list[ClockSample] = []
    for _ in range(samples):
        sent = local_ms()
        server = int(await server_time())
        taken.append(ClockSample(sent, local_ms(), server))
    offset = round(statistics.median(s.offset_ms for s in taken))
    return ClockSync(tuple(taken), offset, local_ms())


class Clock:
    """The corrected clock one client signs with; resynced on 50102 and every `resync_s` seconds."""

    def __init__(
        self,
        server_time: ServerTime,
        *,
        samples: int = DEFAULT_SAMPLES,
        resync_s: float = DEFAULT_RESYNC_S,
        store: OffsetStore | None = None,
    ):
        """`store`: where a measurement is shared with the next process (a CLI command run right
        after another need not sample OKX's clock again); it only returns recent measurements."""
        self._server_time = server_time
        self._samples = samples
        self._resync_s = resync_s
        self._store = store
        self._last: ClockSync | None = store.load() if store is not None else None
        self._lock = asyncio.Lock()

    @property
    def offset_ms(self) -> int:
        return self._last.offset_ms if self._last else 0

    @property
    def error_ms(self) -> int:
        """How far `now_ms()` may be from OKX's real clock (see `ClockSync.error_ms`)."""
        return self._last.error_ms if self._last else UNMEASURED_ERROR_MS

    def now_ms(self) -> int:
        """OKX's time now, as best we know it."""
        return local_ms() + self.offset_ms

    def is_stale(self) -> bool:
        if self._last is None:
            return True
        return local_ms() - self._last.measured_at_ms > self._resync_s * 1000

    async def sync(self) -> ClockSync:
        """Measure the offset (again). Concurrent callers share one measurement."""
        seen = self._last
        async with self._lock:
            # another task measured while we waited for the lock: its result is fresh enough,
            # even for a forced resync (the 50102 that forced it predates that measurement)
            if self._last is not None and self._last is not seen:
                return self._last
            self._last = await measure_offset(self._server_time, self._samples)
            if self._store is not None:
                self._store.save(self._last)
            return self._last

    async def ensure_fresh(self) -> None:
        if self.is_stale():
            await self.sync()
