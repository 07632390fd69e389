"""Metric values for people (the HTML report, `compare`'s table): one spelling everywhere.

Undefined values read "n/a". Money keeps its exact Decimal in JSON; here it is rounded for reading:
2 decimals from 1 up, at most 6 significant digits below.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from okxbot.backtest.metrics import BY_KEY

NA = "n/a"


def money(value: Decimal | None, ccy: str = "", digits: int = 6) -> str:
    """Money or a size: 2 decimals from 1 up; below 1 exact up to `digits` significant digits."""
    if value is None:
        return NA
    if value == 0:
        text = "0"
    elif abs(value) >= 1:
        text = f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN):,}"
    else:  # small amounts (sizes, fees): exact up to 6 significant digits, rounded beyond
        normal = value.normalize()
        if len(normal.as_tuple().digits) > digits:
            normal = Decimal(f"{value:.{digits}g}").normalize()
        text = format(normal, "f")
    return f"{text} {ccy}".strip()


def pct(value: float | None) -> str:
    return NA if value is None else f"{value * 100:,.2f} %"


def ratio(value: float | None) -> str:
    return NA if value is None else f"{value:,.2f}"


def count(value: int | None) -> str:
    return NA if value is None else f"{value:,}"


def duration(ms: int | None) -> str:
    """3d 4h / 12h 5m / 4m 10s / 850 ms."""
    if ms is None:
        return NA
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms // 1000
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def when(ms: int | None) -> str:
    if ms is None:
        return NA
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    return dt.strftime("%Y-%m-%d %H:%M:%S" if dt.second or ms % 1000 else "%Y-%m-%d %H:%M")


def metric(key: str, value: Any, quote: str = "") -> str:
    """A metric's value as shown, by its kind (`okxbot.backtest.metrics.METRICS`)."""
    kind = BY_KEY[key].kind
    if kind == "money":  # a metric: 4 significant digits are enough below 1 (the JSON is exact)
        return money(value, quote, digits=4)
    if kind == "pct":
        return pct(value)
    if kind == "count":
        return count(value)
    if kind == "duration":
        return duration(value)
    if kind == "time":
        return when(value) if value is not None else ("not recovered" if key.endswith("recovery_ms") else NA)
    return ratio(value)


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested settings as rows: {"grid": {"levels": 10}} -> [("grid.levels", "10")]."""
    if isinstance(value, dict):
        rows: list[tuple[str, str]] = []
        for key, sub in value.items():
            rows.extend(flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
        return rows
    if isinstance(value, list | tuple):
        return [(prefix, ", ".join(str(v) for v in value))]
    return [(prefix, NA if value is None else str(value))]
