"""Fast-forward of candle hooks for the built-in strategies: where on_candle may act, vectorised.

A backtest may skip a bar close only if on_candle, called there, would do nothing at all. For the
built-in MA cross that is decidable ahead: it acts only where the sign of (fast SMA - slow SMA) of
the confirmed closes differs from the trend it holds (the first defined sign sets that trend). This
module computes those signs for every bar at once, exactly (integer sums of the stored decimal
closes, compared by cross-multiplying: no rounding), and answers "the first bar from here where the
hook may act". It is trusted code of the backtester: a strategy never sees these arrays (they hold
the future), and user strategies get every bar close. The identical-results test
(tests/backtest/test_fast_forward.py) runs the same history with and without it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from okxbot.backtest.history import HISTORY_BARS
from okxbot.trading.strategies.ma_cross import MaCrossStrategy
from okxbot.trading.strategy import Strategy

Wakeup = Callable[[int], int | None]  # first bar index -> the first bar (>= it) where on_candle may act


def candle_wakeups(strategy: Strategy, closes: np.ndarray) -> Wakeup | None:
    """The fast path for `strategy`'s on_candle over bars with these closes, or None (every bar)."""
    if type(strategy) is MaCrossStrategy and not strategy.cfg.use_forming_bar:
        return _ma_cross(strategy, closes)
    return None


def _ma_cross(strategy: MaCrossStrategy, closes: np.ndarray) -> Wakeup:
    fast, slow, n = strategy.cfg.fast, strategy.cfg.slow, len(closes)
    trend = np.zeros(n, dtype=np.int8)
    if slow <= HISTORY_BARS and n >= slow:
        # a bar's on_candle sees the last HISTORY_BARS closes; both averages fit in that window
        cs = np.concatenate(([0], np.cumsum(closes.astype(object) if _overflows(closes, slow) else closes)))
        j = np.arange(slow - 1, n)
        fast_sum = cs[j + 1] - cs[j + 1 - fast]
        slow_sum = cs[j + 1] - cs[j + 1 - slow]
        diff = fast_sum * slow - slow_sum * fast  # sign of fast/fast - slow/slow
        trend[slow - 1 :] = np.sign(diff.astype(float) if diff.dtype == object else diff).astype(np.int8)
    index = np.arange(n)
    next_up = _next(np.where(trend == 1, index, n))
    next_down = _next(np.where(trend == -1, index, n))

    def wakeup(first: int) -> int | None:
        if first >= n:
            return None
        if strategy.trend == "up":
            j = next_down[first]
        elif strategy.trend == "down":
            j = next_up[first]
        else:
            j = min(next_up[first], next_down[first])
        return None if j >= n else int(j)

    return wakeup


def _next(positions: np.ndarray) -> np.ndarray:
    """For each index, the smallest of `positions` at or after it."""
    return np.minimum.accumulate(positions[::-1])[::-1]


def _overflows(closes: np.ndarray, slow: int) -> bool:
    """Whether window sums times `slow` could leave int64 (then Python integers are used)."""
    if not len(closes):
        return False
    biggest = int(np.abs(closes).max())
    return biggest * len(closes) * slow >= 2**62
