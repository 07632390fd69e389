"""The simulator's clock: wall time plus an admin-settable offset, or a frozen time for tests.

The offset lets tests emulate an exchange whose clock runs ahead of (or behind) the client's, which
is how OKX's 50102 "Timestamp request expired" happens in the wild.
"""

from __future__ import annotations

import time


class Clock:
    """Milliseconds since the epoch as the simulated exchange sees them."""

    def __init__(self, offset_ms: int = 0, frozen_ms: int | None = None) -> None:
        # frozen_ms makes the clock stand still (deterministic tests); advance() then moves it.
        self.offset_ms = offset_ms
        self._frozen_ms = frozen_ms

    def now_ms(self) -> int:
        base = self._frozen_ms if self._frozen_ms is not None else time.time_ns() // 1_000_000
        return base + self.offset_ms

    def now_us(self) -> int:
        """Microseconds, for the envelope's inTime / outTime."""
        if self._frozen_ms is not None:
            return (self._frozen_ms + self.offset_ms) * 1000
        return time.time_ns() // 1000 + self.offset_ms * 1000

    def set_offset(self, offset_ms: int) -> None:
        self.offset_ms = int(offset_ms)

    def advance(self, ms: int) -> None:
        """Move time forward: the frozen time if frozen, else the offset (retention tests)."""
        if self._frozen_ms is not None:
            self._frozen_ms += int(ms)
        else:
            self.offset_ms += int(ms)

    @property
    def frozen(self) -> bool:
        return self._frozen_ms is not None
