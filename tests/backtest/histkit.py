"""Stored history for backtest tests: candles written through okxbot.data's store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from okxbot.data.store import Store

MINUTE = 60_000
DAY = 1440 * MINUTE
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def decimal_array(ints: np.ndarray, scale: int) -> pa.Array:
    words = np.empty((len(ints), 2), dtype=np.int64)
    words[:, 0], words[:, 1] = ints, ints >> 63
    return pa.Array.from_buffers(pa.decimal128(38, scale), len(ints), [None, pa.py_buffer(words)])


def walk(n: int, seed: int = 7, start_ticks: int = 600_000, step: int = 40) -> dict[str, np.ndarray]:
    """`n` 1m candles of a random walk in 0.1 ticks (BTC-USDT-like), volumes in 1e-8 lots."""
    rng = np.random.default_rng(seed)
    close = start_ticks + np.cumsum(rng.integers(-step, step + 1, n))
    open_ = np.concatenate([[start_ticks], close[:-1]])
    high = np.maximum(open_, close) + rng.integers(0, step // 2, n)
    low = np.minimum(open_, close) - rng.integers(0, step // 2, n)
    vol = rng.integers(1_000_000, 90_000_000, n)
    return {"open": open_, "high": high, "low": low, "close": close, "vol": vol}


def write_candles(
    root: Path,
    columns: dict[str, np.ndarray],
    start_ms: int = T0,
    inst_id: str = "BTC-USDT",
    bar: str = "1m",
) -> Store:
    from okxbot.data.bars import fixed_ms

    n = len(columns["close"])
    bar_ms = fixed_ms(bar)
    assert bar_ms is not None
    ts = start_ms + np.arange(n, dtype=np.int64) * bar_ms
    vol = columns["vol"]
    table = pa.table(
        {
            "ts": pa.array(ts).cast(pa.timestamp("ms", tz="UTC")),
            "open": decimal_array(columns["open"], 1),
            "high": decimal_array(columns["high"], 1),
            "low": decimal_array(columns["low"], 1),
            "close": decimal_array(columns["close"], 1),
            "vol": decimal_array(vol, 8),
            "vol_ccy": decimal_array(vol * 6, 8),
            "vol_quote": decimal_array(vol * 6, 8),
        }
    )
    store = Store(root)
    store.candles(inst_id, bar).merge(table)
    return store
