"""OKX's candle bar names and where each bar opens (the client's copy of the rule; `sim/` has its own).

Bars up to 4H open on multiples of their length from the epoch. 6H and longer open at 00:00 UTC+8
(Hong Kong), unless the name ends in "utc" (then 00:00 UTC); weeks open on Monday, months on the 1st.
`1s` exists on history-candles only (3 months deep). Lowercase `1h`/`1d` are not OKX names
(OKX answers 51000), so they are refused here before a request is sent.
"""

from __future__ import annotations

import calendar
import time

import numpy as np

from okxbot.data.errors import DataError

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
UTC8 = 8 * HOUR

_FIXED = {
    "1s": SECOND, "1m": MINUTE, "3m": 3 * MINUTE, "5m": 5 * MINUTE, "15m": 15 * MINUTE, "30m": 30 * MINUTE,
    "1H": HOUR, "2H": 2 * HOUR, "4H": 4 * HOUR, "6H": 6 * HOUR, "12H": 12 * HOUR,
    "1D": DAY, "2D": 2 * DAY, "3D": 3 * DAY, "1W": 7 * DAY,
}  # fmt: skip
_MONTHS = {"1M": 1, "3M": 3}
_UTC_NAMES = ("6H", "12H", "1D", "2D", "3D", "1W", "1M", "3M")
BARS: tuple[str, ...] = (*_FIXED, *_MONTHS, *(f"{b}utc" for b in _UTC_NAMES))


def check_bar(bar: str) -> str:
    """`bar` if OKX knows it, else a DataError listing the names it does know."""
    if bar in BARS:
        return bar
    hint = ""
    if bar.upper() in BARS and bar != bar.upper():
        hint = f" (OKX spells it {bar.upper()!r})"
    raise DataError(f"unknown bar {bar!r}{hint}", f"use one of OKX's bar names: {', '.join(BARS)}")


def _parts(bar: str) -> tuple[str, bool]:
    utc = bar.endswith("utc")
    return (bar[:-3] if utc else bar), utc


def fixed_ms(bar: str) -> int | None:
    """The length of a bar in ms, or None for month bars (their length varies)."""
    name, _ = _parts(check_bar(bar))
    return _FIXED.get(name)


def nominal_ms(bar: str) -> int:
    """The length of a bar, months counted as 31 days (for estimates: progress, chunk sizes)."""
    name, _ = _parts(check_bar(bar))
    return _FIXED.get(name) or _MONTHS[name] * 31 * DAY


def bar_open(ts: int, bar: str) -> int:
    """The open time (ms) of the `bar` candle that contains `ts`."""
    name, utc = _parts(check_bar(bar))
    if name in _MONTHS:
        tz = 0 if utc else UTC8
        t = time.gmtime((ts + tz) // 1000)
        months = _MONTHS[name]
        month0 = (t.tm_mon - 1) // months * months
        return calendar.timegm((t.tm_year, month0 + 1, 1, 0, 0, 0)) * 1000 - tz
    size = _FIXED[name]
    tz = UTC8 if size >= 6 * HOUR and not utc else 0
    shift = 3 * DAY if name == "1W" else 0  # the epoch was a Thursday; weeks open on Monday
    return (ts + tz + shift) // size * size - tz - shift


def next_open(open_ms: int, bar: str) -> int:
    """The open time of the bar after the one opening at `open_ms`."""
    size = fixed_ms(bar)
    if size is not None:
        return open_ms + size
    name, _ = _parts(bar)
    return bar_open(open_ms + (_MONTHS[name] * 31 + 9) * DAY, bar)


def misaligned(ts: np.ndarray, bar: str) -> int:
    """How many of `ts` (ms) are not the open time of their `bar` candle."""
    size = fixed_ms(bar)
    if size is None:
        return sum(1 for t in ts.tolist() if bar_open(t, bar) != t)
    name, utc = _parts(bar)
    tz = UTC8 if size >= 6 * HOUR and not utc else 0
    shift = 3 * DAY if name == "1W" else 0
    return int(np.count_nonzero((ts + tz + shift) % size))
