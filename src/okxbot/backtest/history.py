"""The history a backtest replays, loaded before the replay starts (okxbot.data), as exact integers.

Prices and sizes are kept as int64 numbers of 10^-scale (the Parquet store's exact decimals), so the
fast-forward scans compare them at numpy speed with no rounding, and a Decimal is made only for a
point the replay actually plays.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from okxbot.backtest.errors import BacktestError
from okxbot.data import DataError, load_candles
from okxbot.data.bars import bar_open, check_bar, fixed_ms
from okxbot.data.load import iter_trades
from okxbot.data.store import Store
from okxbot.trading.strategy import HISTORY_CANDLES

HISTORY_BARS = HISTORY_CANDLES  # candles on_candle gets (okxbot.trading.strategy, the one home)


@dataclass(frozen=True)
class CandleSeries:
    """Candles of one bar, oldest first: times and exact prices / volumes as scaled integers."""

    bar: str
    bar_ms: int
    ts: np.ndarray  # int64 open times, ms
    open: np.ndarray  # int64, 10^-px_scale
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    vol: np.ndarray  # int64, 10^-vol_scale (base currency)
    px_scale: int
    vol_scale: int

    def __len__(self) -> int:
        return len(self.ts)

    def px(self, value: int) -> Decimal:
        return Decimal(value).scaleb(-self.px_scale)

    def qty(self, value: int) -> Decimal:
        return Decimal(value).scaleb(-self.vol_scale)

    def window(self, lo: int, hi: int) -> CandleSeries:
        return CandleSeries(
            self.bar, self.bar_ms, self.ts[lo:hi], self.open[lo:hi], self.high[lo:hi], self.low[lo:hi],
            self.close[lo:hi], self.vol[lo:hi], self.px_scale, self.vol_scale,
        )  # fmt: skip

    def aggregate(self, bar: str) -> CandleSeries:
        """The same history in a longer `bar` (OKX's alignment: UTC+8 for 6H and longer)."""
        size = fixed_ms(bar)
        if size is None or size % self.bar_ms:
            raise BacktestError(
                f"the strategy's {bar} candles cannot be built from {self.bar} candles",
                f"download candles of a bar that divides {bar} (e.g. 1m)",
            )
        if size == self.bar_ms or len(self) == 0:
            return self
        opens = np.array([bar_open(int(t), bar) for t in self.ts[[0]]], dtype=np.int64)  # check the rule
        first = opens[0]
        key = first + (self.ts - first) // size * size
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        ends = np.r_[starts[1:], len(key)] - 1
        return CandleSeries(
            bar, size, key[starts], self.open[starts], np.maximum.reduceat(self.high, starts),
            np.minimum.reduceat(self.low, starts), self.close[ends], np.add.reduceat(self.vol, starts),
            self.px_scale, self.vol_scale,
        )  # fmt: skip


def load_series(inst_id: str, bar: str, start: int, end: int, store: Store) -> CandleSeries:
    """Stored `bar` candles opening in [start, end); BacktestError saying how to get them if none."""
    check_bar(bar)
    size = fixed_ms(bar)
    if size is None:
        raise BacktestError(
            f"a backtest replays fixed-length bars; {bar} is not one", "use 1m candles (or 1s..1W)"
        )
    try:
        c = load_candles(inst_id, bar, start, end, store=store)
    except DataError as err:
        raise BacktestError(
            err.problem, err.fix or "download the history first (okxbot data download)"
        ) from None
    o, px_scale = c.scaled("open")
    h, _ = c.scaled("high")
    low, _ = c.scaled("low")
    close, _ = c.scaled("close")
    vol, vol_scale = c.scaled("vol")
    return CandleSeries(bar, size, c.ts.astype(np.int64), o, h, low, close, vol, px_scale, vol_scale)


def load_warmup(inst_id: str, bar: str, start: int, bars: int, store: Store) -> CandleSeries | None:
    """Up to `bars` stored `bar` candles before `start` (what a strategy's history holds at the
    start); None when none are stored."""
    size = fixed_ms(bar)
    assert size is not None
    try:
        return load_series(inst_id, bar, start - bars * size, start, store)
    except BacktestError:
        return None


@dataclass(frozen=True)
class TradeSeries:
    """Trades of one instrument, in time order, exact."""

    ts: np.ndarray  # int64 ms
    px: np.ndarray  # int64, 10^-px_scale
    sz: np.ndarray  # int64, 10^-sz_scale
    side: np.ndarray  # int8 +1 buy / -1 sell (the taker's)
    trade_id: np.ndarray  # int64
    px_scale: int
    sz_scale: int

    def __len__(self) -> int:
        return len(self.ts)


def load_trades(inst_id: str, start: int, end: int, store: Store) -> TradeSeries:
    try:
        batches = list(iter_trades(inst_id, start, end, store=store))
    except DataError as err:
        raise BacktestError(err.problem, err.fix) from None
    if not batches:
        raise BacktestError(
            f"no {inst_id} trades stored in the range",
            f"download them: okxbot data download {inst_id} --trades --no-candles",
        )
    scales = {b.scaled("px")[1] for b in batches}
    sz_scales = {b.scaled("sz")[1] for b in batches}
    px_scale, sz_scale = max(scales), max(sz_scales)

    def widen(pair: tuple[np.ndarray, int], scale: int) -> np.ndarray:
        values, s = pair
        return values * 10 ** (scale - s)

    return TradeSeries(
        np.concatenate([b.ts for b in batches]).astype(np.int64),
        np.concatenate([widen(b.scaled("px"), px_scale) for b in batches]),
        np.concatenate([widen(b.scaled("sz"), sz_scale) for b in batches]),
        np.concatenate([b.side for b in batches]),
        np.concatenate([b.trade_id for b in batches]),
        px_scale,
        sz_scale,
    )


def open_store(data_dir: Path | None) -> Store:
    return Store(data_dir)
