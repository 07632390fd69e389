"""Virtual time: an asyncio event loop whose clock is the replay's, and which never sleeps.

`VirtualLoop.time()` is the virtual clock. When no callback is ready, asyncio asks its selector to
wait until the next timer is due; the virtual selector does not wait, it moves the clock to that
timer instead. So every `asyncio.sleep`, `wait_for` and timeout in the shared trading code (the
order manager's doubts, cancel-all's deadline, the strategy's own sleeps) runs in virtual time, in
the order of their deadlines, as fast as the CPU allows. Nothing in the path reads a wall clock:
the trading layer reads `VirtualClock` through its clock seam (`okxbot.trading.clock`).

Time is kept in integer microseconds (ms timestamps stay exact); the loop's float seconds count
from the start of the run. A run whose tasks all wait for something that nothing will ever set
stops with `BacktestStalled` instead of hanging.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

T = TypeVar("T")

# timers due within this of the clock run now: the loop's float seconds round, the clock does not
RESOLUTION_S = 5e-7


class BacktestStalled(RuntimeError):
    """Every task waits and nothing is scheduled: the run cannot go on."""


class VirtualClock:
    """The replay's clock: epoch time in integer microseconds, moved only by the replay."""

    def __init__(self, start_ms: int) -> None:
        self.origin_us = start_ms * 1000
        self.us = self.origin_us

    def now_ms(self) -> int:
        return self.us // 1000

    def now_us(self) -> int:
        return self.us

    def monotonic(self) -> float:
        """Seconds since the start of the run (the event loop's time)."""
        return (self.us - self.origin_us) / 1e6

    def advance_us(self, us: int) -> None:
        if us > 0:
            self.us += us

    def seconds_until_us(self, at_us: int) -> float:
        return max(0, at_us - self.us) / 1e6


class _VirtualSelector(selectors.BaseSelector):
    """A selector with no I/O: `select(timeout)` moves the virtual clock by `timeout` at once."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._keys: dict[int, selectors.SelectorKey] = {}

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        key = selectors.SelectorKey(fileobj, fd, events, data)
        self._keys[fd] = key
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        return self._keys.pop(fd)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise BacktestStalled(
                "the backtest stalled: every task is waiting and nothing is scheduled "
                "(a strategy awaiting something only a live exchange would send?)"
            )
        if timeout > 0:
            self._clock.advance_us(max(1, round(timeout * 1e6)))
        return []

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return MappingProxyType(self._keys)

    def close(self) -> None:
        self._keys.clear()


class VirtualLoop(asyncio.SelectorEventLoop):
    """asyncio's selector loop on the virtual clock."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(_VirtualSelector(clock))
        self.clock = clock
        self._clock_resolution = RESOLUTION_S

    def time(self) -> float:
        return self.clock.monotonic()

    def idle_until(self, at_us: int) -> bool:
        """Nothing is ready to run and no timer is due before `at_us`: time may jump there."""
        if self._ready:  # type: ignore[attr-defined]
            return False
        scheduled = self._scheduled  # type: ignore[attr-defined]
        return not scheduled or scheduled[0].when() > (at_us - self.clock.origin_us) / 1e6


def run(main: Coroutine[Any, Any, T], clock: VirtualClock) -> T:
    """`asyncio.run(main)` in virtual time on `clock`."""
    with asyncio.Runner(loop_factory=lambda: VirtualLoop(clock)) as runner:
        return runner.run(main)


async def sleep_until_us(clock: VirtualClock, at_us: int) -> None:
    """Sleep (virtually) until the clock reads `at_us` microseconds; at once if it already does."""
    delay = clock.seconds_until_us(at_us)
    if delay <= 0:
        return
    loop = asyncio.get_running_loop()
    if isinstance(loop, VirtualLoop) and loop.idle_until(at_us):
        clock.us = at_us  # nothing else would run before then: the same as sleeping, without a timer
        return
    await asyncio.sleep(delay)
    # a float round trip may leave the clock a hair short of an exact microsecond: set it there
    if clock.us < at_us:
        clock.us = at_us
