"""The present of a running backtest: history after it is not readable through this layer.

`okxbot.backtest` loads what it replays before the replay starts, then runs the strategy inside
`visible_until(clock.now_ms)`. From there every read of stored history (`load_candles`,
`load_trades`, `iter_trades`, `load_funding`) ends at the replay's present: a strategy that asks
for a later candle gets a DataError saying it is in the future, never the candle. The present is a
context variable, so it holds for every task the replay starts and for nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from okxbot.data.dates import fmt_ms
from okxbot.data.errors import DataError

_PRESENT: ContextVar[Callable[[], int] | None] = ContextVar("okxbot_data_present", default=None)


@contextmanager
def visible_until(now_ms: Callable[[], int]) -> Iterator[None]:
    """Within this block (and the tasks started in it), stored history ends at `now_ms()`."""
    token = _PRESENT.set(now_ms)
    try:
        yield
    finally:
        _PRESENT.reset(token)


def visible_end(start: int | None, end: int | None, what: str) -> int | None:
    """`end` cut at the running backtest's present (unchanged outside a backtest); a range that
    starts at or after the present is refused."""
    present = _PRESENT.get()
    if present is None:
        return end
    now = present()
    if start is not None and start >= now:
        raise DataError(
            f"{what} from {fmt_ms(start)} are in this backtest's future (the replay is at {fmt_ms(now)})",
            "a strategy sees history up to the replayed time only; use the candles its hooks receive",
        )
    return now if end is None or end > now else end
