"""History data: `okxbot data download` against the simulator, and loading a year of 1m candles.

- download: candles (history-candles, 300 rows a request) and trades (history-trades, 100 rows) from
  a simulator in its own process, in steady state: a first download fills the limiter's window, the
  measured one follows with the same limiter, so the burst a fresh window allows is not counted.
  Requests/s is compared with OKX's limit (20 / 2 s per IP); the control is the simulator's own
  service time for one page, measured serially: it shows the server could go much faster, so the
  limit, not the server, sets the rate;
- load: `load_candles` of 525,600 1m candles (one year, 12 monthly Parquet files written by the
  store), the exact decimal128 values plus their float64 columns; median of 3 runs (the files are in
  the page cache: the figure is decoding, not the disk). The write before it is timed alone (the
  random walk is generated first).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from bench.simproc import sim_process

MINUTE = 60_000
DAY = 1440 * MINUTE
YEAR_MINUTES = 525_600
CANDLES_PER_SECOND_LIMIT = 300 * 10  # 300 rows a request, 20 requests / 2 s
TRADES_PER_SECOND_LIMIT = 100 * 10


def _past(days: float) -> int:
    """A minute `days` before now: deep in the simulator's generated past (its tape holds a day)."""
    now = time.time_ns() // 1_000_000
    return now - now % MINUTE - int(days * DAY)


async def _download(rest: str) -> dict[str, Any]:
    from okxbot.data.download import download_candles, download_trades
    from okxbot.data.okx_public import PublicApi
    from okxbot.data.store import Store
    from okxbot.okx.ratelimit import MemoryRateLimiter

    limiter = MemoryRateLimiter()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        async with PublicApi(rest, limiter) as api:
            await download_candles(api, store, "BTC-USDT", "1m", _past(40), _past(30))  # fills the window
            before = api.counters.requests
            start = time.perf_counter()
            report = await download_candles(api, store, "BTC-USDT", "1m", _past(30), _past(5))
            elapsed = time.perf_counter() - start
            figures["candles"] = (report.rows, api.counters.requests - before, elapsed, api.counters.retries)
            await download_trades(api, store, "ETH-USDT", _past(2 + 2 / 24), _past(2))
            before = api.counters.requests
            start = time.perf_counter()
            report = await download_trades(api, store, "ETH-USDT", _past(2 + 14 / 24), _past(2 + 2 / 24))
            elapsed = time.perf_counter() - start
            figures["trades"] = (report.rows, api.counters.requests - before, elapsed, api.counters.retries)
    await limiter.close()
    return figures


def _page_ms(rest: str) -> float:
    """The control: one history-candles page at a time, no limiter, well inside the window."""
    with httpx.Client(timeout=30) as client:
        times = []
        for i in range(15):
            params = {"instId": "SOL-USDT", "after": _past(60 + i), "limit": 300}
            t = time.perf_counter()
            body = client.get(f"{rest}/api/v5/market/history-candles", params=params).json()
            times.append(time.perf_counter() - t)
            assert body["code"] == "0" and len(body["data"]) == 300, body
    return statistics.median(times) * 1000


def _year_table() -> pa.Table:
    """525,600 1m candles of a random walk, as the store takes them."""
    rng = np.random.default_rng(7)
    t0 = 1_704_067_200_000  # 2024-01-01
    ts = t0 + np.arange(YEAR_MINUTES, dtype=np.int64) * MINUTE
    close = 600_000 + np.cumsum(rng.integers(-40, 41, YEAR_MINUTES))  # in 0.1 USDT ticks
    open_ = np.concatenate([[600_000], close[:-1]])
    high = np.maximum(open_, close) + rng.integers(0, 20, YEAR_MINUTES)
    low = np.minimum(open_, close) - rng.integers(0, 20, YEAR_MINUTES)
    vol = rng.integers(1_000_000, 90_000_000, YEAR_MINUTES)  # 1e-8 BTC lots

    def dec(ints: np.ndarray, scale: int) -> pa.Array:
        words = np.empty((len(ints), 2), dtype=np.int64)
        words[:, 0], words[:, 1] = ints, ints >> 63
        return pa.Array.from_buffers(pa.decimal128(38, scale), len(ints), [None, pa.py_buffer(words)])

    table = pa.table(
        {
            "ts": pa.array(ts).cast(pa.timestamp("ms", tz="UTC")),
            "open": dec(open_, 1), "high": dec(high, 1), "low": dec(low, 1), "close": dec(close, 1),
            "vol": dec(vol, 8), "vol_ccy": dec(vol * 6, 8), "vol_quote": dec(vol * 6, 8),
        }
    )  # fmt: skip
    return table


def _year_store(root: Path, table: pa.Table) -> None:
    """The year written month by month through the store (12 files)."""
    from okxbot.data.store import Store

    Store(root).candles("BTC-USDT", "1m").merge(table)


def _load_year(root: Path) -> tuple[list[float], int]:
    from okxbot.data import load_candles

    times, rows = [], 0
    for _ in range(3):
        start = time.perf_counter()
        candles = load_candles("BTC-USDT", "1m", root=root)
        times.append(time.perf_counter() - start)
        rows = len(candles)
    return times, rows


def main() -> None:
    console = Console()
    table = Table(title="History data (okxbot data)")
    table.add_column("what")
    table.add_column("figure", justify="right")
    table.add_column("limit / note", justify="right")
    with sim_process() as sim:
        figures = asyncio.run(_download(sim.rest))
        sim.admin("POST", "/__sim__/reset-limits", {})
        figures["page_ms"] = _page_ms(sim.rest)
    for kind, cap in (("candles", CANDLES_PER_SECOND_LIMIT), ("trades", TRADES_PER_SECOND_LIMIT)):
        rows, requests, elapsed, retries = figures[kind]
        table.add_row(f"download {kind}: rows/s", f"{rows / elapsed:,.0f}", f"OKX max {cap:,}/s")
        table.add_row(f"download {kind}: requests/s", f"{requests / elapsed:.2f}", "OKX limit 10.00/s")
        table.add_row(
            f"download {kind}: rows, requests, 50011 retries", f"{rows:,}, {requests}, {retries}", ""
        )
    page_ms = figures["page_ms"]
    table.add_row(
        "control: simulator page (300 candles), serial",
        f"{page_ms:.1f} ms",
        f"{1000 / page_ms:.0f} req/s possible",
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        year = _year_table()  # generating the numbers is not the store's work: not timed
        start = time.perf_counter()
        _year_store(root, year)
        written = time.perf_counter() - start
        times, rows = _load_year(root)
        size = sum(p.stat().st_size for p in root.rglob("*.parquet"))
    table.add_row(
        "store: write a year of 1m candles (12 files)", f"{written:.2f} s", f"{size / 1e6:.1f} MB zstd"
    )
    median = statistics.median(times)
    table.add_row(
        "load_candles: a year of 1m (525,600)", f"{median * 1000:.0f} ms", f"{rows / median:,.0f} candles/s"
    )
    console.print(table)


if __name__ == "__main__":
    main()
