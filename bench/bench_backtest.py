"""Backtests: a year of BTC-USDT 1m candles (525,600) through the MA cross and the grid, one core.

The year is made once by the simulator's own history generator (`okxbot.sim.history_past.Series`,
the price path the simulator serves on market/history-candles) and written through okxbot.data's
Parquet store; that setup is not timed. Then, each measured on its own:

- load: `load_candles` of the whole year from Parquet (median of 3);
- backtest: `run_backtest` end to end (loading the year, the replay with fast-forward, the
  BacktestResult with its 525,600 equity points), its candles/s, orders and fills; and the part of
  it spent building the result's equity points (one Python object per bar close);
- control: the same strategy, event by event (`fast=False`) over the first month, with the result
  compared with the fast run over that month (same parity hash: fast-forward skipped only what
  changes nothing).

Goal (issue 13 §5): >= 500,000 candles/s for the MA cross, >= 200,000 for the grid, one core.
The grid's rate is bound by its orders (each one goes through the risk guard, the order manager and
the engine), so it is printed with orders/s: the generator's minutes are noisier than BTC's (a 1m
return stdev of about 0.23 %, mean-reverting), and a grid 0.65 % apart fills hundreds of times a
day on it. Run with `python -m bench.bench_backtest` (or `make bench`); `--days 10` checks it works
in a minute. The machine is shared: the lead runs the final figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from okxbot.backtest.optimize import quiet_bot_logs

MINUTE = 60_000
DAY = 1440 * MINUTE
YEAR_MINUTES = 525_600
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
END = T0 + YEAR_MINUTES * MINUTE
CONFIGS: dict[str, dict[str, Any]] = {
    "MA cross (15m bars, SMA 20 / 80)": {
        "strategy": "ma_cross",
        "ma_cross": {"fast": 20, "slow": 80, "bar": "15m", "size": "0.01"},
    },
    # centred on the generator's price (BTC-USDT starts at, and reverts to, 61,000): every level
    # stays inside the risk guard's 5 % price band, so no level is refused (and retried) all year
    "grid (13 levels, 0.65% apart)": {
        "strategy": "grid",
        "grid": {"lower": "58600", "upper": "63400", "levels": 13, "size": "0.01"},
        "risk": {"max_open_orders": 50},
    },
}


def _decimal(ints: np.ndarray, scale: int) -> pa.Array:
    words = np.empty((len(ints), 2), dtype=np.int64)
    words[:, 0], words[:, 1] = ints, ints >> 63
    return pa.Array.from_buffers(pa.decimal128(38, scale), len(ints), [None, pa.py_buffer(words)])


def year_of_candles(root: Path, days: int = YEAR_MINUTES // 1440) -> float:
    """`days` (a year) of BTC-USDT 1m candles from the simulator's history generator, into the store."""
    from okxbot.data.store import Store
    from okxbot.sim.history_past import Series
    from okxbot.sim.instruments import DEFAULT_INSTRUMENTS

    started = time.perf_counter()
    inst = next(i for i in DEFAULT_INSTRUMENTS if i.inst_id == "BTC-USDT")
    minutes = days * 1440
    series = Series(inst, 7, T0 + minutes * MINUTE, inst.start_px, Decimal("0.03"), False)
    blocks = [series.block(b) for b in range(days)][::-1]  # block 0 is the day before END
    tick, lot = inst.tick_sz, inst.lot_sz
    px_scale = -int(tick.as_tuple().exponent)  # type: ignore[operator]
    lot_scale = -int(lot.as_tuple().exponent)  # type: ignore[operator]
    per_tick, per_lot = int(tick.scaleb(px_scale)), int(lot.scaleb(lot_scale))
    cols = {
        name: np.concatenate([getattr(b, name) for b in blocks])
        for name in ("opens", "highs", "lows", "closes", "vol")
    }
    quote = np.concatenate([b.quote for b in blocks])
    ts = T0 + np.arange(minutes, dtype=np.int64) * MINUTE
    table = pa.table(
        {
            "ts": pa.array(ts).cast(pa.timestamp("ms", tz="UTC")),
            "open": _decimal(cols["opens"] * per_tick, px_scale),
            "high": _decimal(cols["highs"] * per_tick, px_scale),
            "low": _decimal(cols["lows"] * per_tick, px_scale),
            "close": _decimal(cols["closes"] * per_tick, px_scale),
            "vol": _decimal(cols["vol"] * per_lot, lot_scale),
            "vol_ccy": _decimal(quote * per_tick * per_lot, px_scale + lot_scale),
            "vol_quote": _decimal(quote * per_tick * per_lot, px_scale + lot_scale),
        }
    )
    Store(root).candles("BTC-USDT", "1m").merge(table)
    return time.perf_counter() - started


def load_year(root: Path, minutes: int = YEAR_MINUTES) -> float:
    from okxbot.data import load_candles

    times = []
    for _ in range(3):
        started = time.perf_counter()
        candles = load_candles("BTC-USDT", "1m", root=root)
        times.append(time.perf_counter() - started)
        assert len(candles) == minutes
    return statistics.median(times)


def backtest(root: Path, raw: dict[str, Any], end: int, *, fast: bool) -> tuple[Any, float, float]:
    """(result, seconds end to end, seconds of those spent making the equity points)."""
    from okxbot.backtest import equity
    from okxbot.backtest.run import BacktestRequest, run_backtest
    from okxbot.backtest.settings import BacktestSettings
    from okxbot.trading.config import BotConfig

    config = BotConfig.model_validate({"name": "bench", "symbol": "BTC/USDT", **raw})
    settings = BacktestSettings(balances={"USDT": "100000", "BTC": "1"})
    request = BacktestRequest(config, root / "bench.toml", T0, end, settings, data_dir=root, fast=fast)
    spent = [0.0]
    points = equity.EquityCurve.points

    def timed_points(self: Any) -> Any:
        started = time.perf_counter()
        try:
            return points(self)
        finally:
            spent[0] += time.perf_counter() - started

    equity.EquityCurve.points = timed_points  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        result = run_backtest(request)
        return result, time.perf_counter() - started, spent[0]
    finally:
        equity.EquityCurve.points = points  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_backtest", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--days", type=int, default=YEAR_MINUTES // 1440, help="days of 1m candles (default 365: the figure)"
    )
    days = parser.parse_args(argv or []).days
    minutes, end = days * 1440, T0 + days * DAY
    span = "a year" if days == 365 else f"{days} days"
    console = Console()
    table = Table(title=f"Backtests: {span} of BTC-USDT 1m candles ({minutes:,}), one core")
    table.add_column("what")
    table.add_column("figure", justify="right")
    table.add_column("goal / note", justify="right")
    # the bot's per-order log lines (refusals, ...) are not the benchmark's output (as in optimize trials)
    with tempfile.TemporaryDirectory() as tmp, quiet_bot_logs():
        root = Path(tmp)
        made = year_of_candles(root, days)
        table.add_row(
            f"setup: generate and store {span} (not timed below)", f"{made:.1f} s", "sim history generator"
        )
        loaded = load_year(root, minutes)
        table.add_row(
            f"load_candles: {span} from Parquet",
            f"{loaded * 1000:.0f} ms",
            f"{minutes / loaded:,.0f} candles/s",
        )
        for (label, raw), goal in zip(CONFIGS.items(), (500_000, 200_000), strict=True):
            backtest(root, raw, T0 + min(7, days) * DAY, fast=True)  # warm: imports, first-call costs
            result, seconds, building = backtest(root, raw, end, fast=True)
            rate = minutes / seconds
            table.add_row(f"{label}: candles/s, end to end", f"{rate:,.0f}", f"goal {goal:,}")
            table.add_row(
                f"{label}: orders, fills",
                f"{len(result.orders):,}, {len(result.fills):,}",
                f"{len(result.orders) / seconds:,.0f} orders/s",
            )
            table.add_row(
                f"{label}: of which equity points built",
                f"{building:.2f} s",
                f"{minutes / (seconds - building):,.0f} candles/s without",
            )
            control_days = min(30, days)
            full, full_s, _ = backtest(root, raw, T0 + control_days * DAY, fast=False)
            quick, _, _ = backtest(root, raw, T0 + control_days * DAY, fast=True)
            same = (
                "identical"
                if full.parity_hash() == quick.parity_hash() and full.equity == quick.equity
                else "DIFFERENT"
            )
            table.add_row(
                f"{label}: control, event by event (first {control_days} days)",
                f"{control_days * 1440 / full_s:,.0f} candles/s",
                f"fast run {same}",
            )
    console.print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
