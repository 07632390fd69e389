"""What the report's charts draw: the equity curve, its drawdown, the price, the orders and fills.

A year of 1m bars is 525,600 points; a browser draws ~2,000 pixels across. Long series are cut into
buckets and each bucket keeps its first and last point and its extremes (lowest and highest equity,
deepest drawdown; lowest low and highest high of the price), so no peak, trough or wick the eye would
look for is lost. Markers (orders, fills) are kept whole up to MAX_MARKERS each, then thinned evenly
(the page says so). Chart values are floats: they only place pixels; the tables show exact figures.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from okxbot.backtest.metrics import drawdown_series, equity_curve
from okxbot.backtest.result import BacktestResult

BUCKETS = 1200
MAX_MARKERS = 20_000


def _keep(n: int, pick: Any) -> list[int]:
    """Indices to keep of n points: all when few; else per bucket first, last and pick(lo, hi)'s."""
    if n <= BUCKETS * 4:
        return list(range(n))
    keep: set[int] = set()
    size = n / BUCKETS
    for b in range(BUCKETS):
        lo, hi = int(b * size), min(n, int((b + 1) * size))
        if lo >= hi:
            continue
        keep.update((lo, hi - 1))
        keep.update(pick(lo, hi))
    return sorted(keep)


def _argmin(values: list[float], lo: int, hi: int) -> int:
    return min(range(lo, hi), key=values.__getitem__)


def _argmax(values: list[float], lo: int, hi: int) -> int:
    return max(range(lo, hi), key=values.__getitem__)


def equity_series(result: BacktestResult) -> dict[str, list[Any]]:
    """{t: seconds, equity, drawdown (negative %), hold: buy & hold of the start equity}."""
    curve = equity_curve(result)
    if not curve:
        return {"t": [], "equity": [], "drawdown": [], "hold": []}
    equity = [float(e) for _, e in curve]
    depth = drawdown_series(curve)
    keep = _keep(
        len(curve),
        lambda lo, hi: (_argmin(equity, lo, hi), _argmax(equity, lo, hi), _argmax(depth, lo, hi)),
    )
    hold = _buy_and_hold(result, curve[0][1], [curve[i][0] for i in keep])
    return {
        "t": [curve[i][0] / 1000 for i in keep],
        "equity": [equity[i] for i in keep],
        "drawdown": [-depth[i] * 100 for i in keep],
        "hold": hold,
    }


def _buy_and_hold(result: BacktestResult, start_equity: Decimal, times: list[int]) -> list[float | None]:
    """The start equity put in the base currency at the first price, marked along the bars."""
    bars = result.prices
    if not bars or bars[0].open <= 0:
        return [None] * len(times)
    units = float(start_equity / bars[0].open)
    out: list[float | None] = []
    i = 0
    for ts in times:
        while i + 1 < len(bars) and bars[i + 1].ts_ms <= ts:
            i += 1
        out.append(units * float(bars[i].close if bars[i].ts_ms < ts else bars[i].open))
    return out


def price_series(result: BacktestResult) -> dict[str, list[Any]]:
    """{t: seconds, price}: bar closes; long series keep each bucket's lowest low and highest high."""
    bars = result.prices
    if not bars and result.equity:  # no bars: the equity marks carry the price
        return {
            "t": [p.ts_ms / 1000 for p in result.equity],
            "price": [float(p.price) for p in result.equity],
        }
    if len(bars) <= BUCKETS * 4:
        return {"t": [b.ts_ms / 1000 for b in bars], "price": [float(b.close) for b in bars]}
    lows = [float(b.low) for b in bars]
    highs = [float(b.high) for b in bars]
    t: list[float] = []
    price: list[float] = []
    size = len(bars) / BUCKETS
    for b in range(BUCKETS):
        lo, hi = int(b * size), min(len(bars), int((b + 1) * size))
        if lo >= hi:
            continue
        low_at, high_at = _argmin(lows, lo, hi), _argmax(highs, lo, hi)
        values = {lo: float(bars[lo].open), hi - 1: float(bars[hi - 1].close)}
        values[low_at], values[high_at] = lows[low_at], highs[high_at]  # extremes win a shared bar
        for i in sorted(values):
            t.append(bars[i].ts_ms / 1000)
            price.append(values[i])
    return {"t": t, "price": price}


def _thin(rows: list[Any]) -> list[Any]:
    if len(rows) <= MAX_MARKERS:
        return rows
    step = len(rows) / MAX_MARKERS
    return [rows[int(i * step)] for i in range(MAX_MARKERS)]


def markers(result: BacktestResult) -> dict[str, Any]:
    """Fills [t, price, side, size] and priced orders [t, price, side, state], thinned past MAX_MARKERS."""
    fills = [[f.ts_ms / 1000, float(f.price), f.side, str(f.size)] for f in result.fills]
    orders = [[o.ts_ms / 1000, float(o.price), o.side, o.state] for o in result.orders if o.price is not None]
    return {
        "fills": _thin(fills),
        "fills_total": len(fills),
        "orders": _thin(orders),
        "orders_total": len(orders),
    }


def chart_data(result: BacktestResult) -> dict[str, Any]:
    return {"equity": equity_series(result), "price": price_series(result), "markers": markers(result)}
