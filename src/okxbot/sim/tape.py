"""Public market data derived from the trades an instrument prints: the trade tape, candles, 24 h stats.

Candles are kept at one minute and aggregated on request, with OKX's bar alignment: bars of 6 h and
longer open at 00:00 UTC+8 unless the bar name ends in "utc"; weeks open on Monday; months on the 1st.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from okxbot.sim.instruments import ZERO, fmt

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
UTC8 = 8 * HOUR
KEEP_MINUTES = 7 * 1440  # 1m history kept; enough for 1440 rows of 1m and a week of anything longer
TRADES_KEPT = 500  # GET /market/trades serves at most 500

_FIXED_BARS = {
    "1m": MINUTE, "3m": 3 * MINUTE, "5m": 5 * MINUTE, "15m": 15 * MINUTE, "30m": 30 * MINUTE,
    "1H": HOUR, "2H": 2 * HOUR, "4H": 4 * HOUR, "6H": 6 * HOUR, "12H": 12 * HOUR,
    "1D": DAY, "2D": 2 * DAY, "3D": 3 * DAY, "5D": 5 * DAY, "1W": 7 * DAY,
}  # fmt: skip
_MONTH_BARS = {"1M": 1, "3M": 3}
BARS = (
    tuple(_FIXED_BARS)
    + tuple(_MONTH_BARS)
    + tuple(f"{b}utc" for b in ("6H", "12H", "1D", "2D", "3D", "5D", "1W", "1M", "3M"))
)


class UnknownBar(ValueError):
    pass


def bar_open(ts: int, bar: str) -> int:
    """The open time (ms) of the `bar` candle that contains `ts`."""
    utc = bar.endswith("utc")
    name = bar[:-3] if utc else bar
    if name in _MONTH_BARS:
        tz = 0 if utc else UTC8
        months = _MONTH_BARS[name]
        secs = (ts + tz) // 1000
        year, month = _ym(secs)
        month0 = (month - 1) // months * months
        return calendar.timegm((year, month0 + 1, 1, 0, 0, 0)) * 1000 - tz
    size = _FIXED_BARS.get(name)
    if size is None or (utc and size < 6 * HOUR):
        raise UnknownBar(bar)
    tz = UTC8 if size >= 6 * HOUR and not utc else 0
    # The epoch fell on a Thursday; weeks open on Monday, three days later.
    shift = 3 * DAY if name == "1W" else 0
    return (ts + tz + shift) // size * size - tz - shift


def _ym(epoch_s: int) -> tuple[int, int]:
    import time

    t = time.gmtime(epoch_s)
    return t.tm_year, t.tm_mon


def bar_close(open_ms: int, bar: str) -> int:
    """The open time of the next bar, i.e. when this one is complete."""
    name = bar[:-3] if bar.endswith("utc") else bar
    if name in _MONTH_BARS:
        # Any instant 40 days past the open of a 1-month bar lies in the next one (3M: 100 days).
        return bar_open(open_ms + (_MONTH_BARS[name] * 31 + 9) * DAY, bar)
    return open_ms + _FIXED_BARS[name]


@dataclass(slots=True)
class Candle:
    o: Decimal
    h: Decimal
    low: Decimal
    c: Decimal
    vol: Decimal  # base (SWAP: contracts)
    vol_quote: Decimal  # quote
    vol_ccy: Decimal = ZERO  # SWAP only: the volume in the base currency (coin for inverse contracts)

    def add(self, px: Decimal, sz: Decimal, quote: Decimal | None = None, ccy: Decimal = ZERO) -> None:
        if px > self.h:
            self.h = px
        if px < self.low:
            self.low = px
        self.c = px
        self.vol += sz
        self.vol_quote += px * sz if quote is None else quote
        self.vol_ccy += ccy


class Tape:
    """Everything public one instrument's trades leave behind."""

    def __init__(
        self,
        inst_id: str,
        start_px: Decimal,
        inst_type: str = "SPOT",
        ct: Decimal = ZERO,
        inverse: bool = False,
    ) -> None:
        self.inst_id = inst_id
        self.inst_type = inst_type
        self.ct = ct  # SWAP: contract size (sizes are contracts); 0 for SPOT
        self.inverse = inverse
        self.last_px = start_px
        self.last_sz = ZERO
        self.trades: deque[dict[str, str]] = deque(maxlen=TRADES_KEPT)
        self._minutes: dict[int, Candle] = {}
        self._keys: list[int] = []  # minute open times, ascending
        self._day_cache: tuple[int, dict[str, Decimal]] | None = None

    def record(
        self, trade_id: str, px: Decimal, sz: Decimal, side: str, ts: int, px_str: str
    ) -> dict[str, str]:
        """Print one trade (side = the taker's) and return its wire form (GET /market/trades item)."""
        self.last_px, self.last_sz = px, sz
        trade = {
            "instId": self.inst_id,
            "tradeId": trade_id,
            "px": px_str,
            "sz": fmt(sz),
            "side": side,
            "ts": str(ts),
            "count": "1",
            "source": "0",
        }
        self.trades.appendleft(trade)
        minute = ts - ts % MINUTE
        candle = self._minutes.get(minute)
        quote, ccy = self.volumes(px, sz)
        if candle is None:
            self._minutes[minute] = Candle(px, px, px, px, sz, quote, ccy)
            if not self._keys or minute > self._keys[-1]:
                self._keys.append(minute)
            else:  # the clock was moved back (admin offset): keep the keys sorted
                insort(self._keys, minute)
            self._trim()
        else:
            candle.add(px, sz, quote, ccy)
        return trade

    def volumes(self, px: Decimal, sz: Decimal) -> tuple[Decimal, Decimal]:
        """(quote volume, base-currency volume) of a trade; sizes of swaps are contracts."""
        if not self.ct:
            return px * sz, ZERO
        face = sz * self.ct
        if self.inverse:
            return face, face / px  # USD face value; coin value
        return face * px, face

    def sample(self, px: Decimal, ts: int) -> None:
        """A price observation (an index or mark price): it builds candles like a trade, without volume."""
        self.last_px = px
        minute = ts - ts % MINUTE
        candle = self._minutes.get(minute)
        if candle is None:
            self._minutes[minute] = Candle(px, px, px, px, ZERO, ZERO)
            if not self._keys or minute > self._keys[-1]:
                self._keys.append(minute)
            else:
                insort(self._keys, minute)
            self._trim()
        else:
            candle.add(px, ZERO)

    def copy_prices(self, other: Tape) -> None:
        """Backfill this price tape with another tape's candles (prices only)."""
        for minute in other._keys:
            c = other._minutes[minute]
            self.seed_minute(minute, Candle(c.o, c.h, c.low, c.c, ZERO, ZERO))

    def price_candles(
        self, bar: str, now_ms: int, after: int | None = None, before: int | None = None, limit: int = 100
    ) -> list[list[str]]:
        """Rows [ts,o,h,l,c,confirm] (index and mark-price candles), newest first."""
        return [[*row[:5], row[8]] for row in self.candles(bar, now_ms, after, before, limit)]

    @property
    def first_minute(self) -> int | None:
        """The open time of the oldest minute kept (None when the tape is empty)."""
        return self._keys[0] if self._keys else None

    def history(self) -> list[tuple[int, Candle]]:
        """Every kept minute, oldest first."""
        return [(minute, self._minutes[minute]) for minute in self._keys]

    def seed_minute(self, minute: int, candle: Candle) -> None:
        """Backfill one historical minute (synthetic history before the simulator started)."""
        if minute in self._minutes:
            return
        self._minutes[minute] = candle
        insort(self._keys, minute)
        self._day_cache = None

    def snapshot(self) -> dict[str, Any]:
        """Everything this tape holds, as strings (`restore` takes it back)."""
        return {
            "lastPx": fmt(self.last_px),
            "lastSz": fmt(self.last_sz),
            "minutes": [
                [
                    str(k),
                    fmt(c.o),
                    fmt(c.h),
                    fmt(c.low),
                    fmt(c.c),
                    fmt(c.vol),
                    fmt(c.vol_quote),
                    fmt(c.vol_ccy),
                ]
                for k in self._keys
                for c in (self._minutes[k],)
            ],
            "trades": list(reversed(self.trades)),  # oldest first
        }

    def restore(self, snapshot: Any) -> None:
        """Replace this tape's content with a `snapshot`."""
        self.last_px, self.last_sz = Decimal(snapshot["lastPx"]), Decimal(snapshot["lastSz"])
        self._minutes = {int(row[0]): Candle(*(Decimal(v) for v in row[1:8])) for row in snapshot["minutes"]}
        self._keys = sorted(self._minutes)
        self.trades.clear()
        for trade in snapshot["trades"]:
            self.trades.appendleft(dict(trade))
        self._day_cache = None

    def _trim(self) -> None:
        while len(self._keys) > KEEP_MINUTES:
            del self._minutes[self._keys.pop(0)]

    def recent_trades(self, limit: int) -> list[dict[str, str]]:
        return list(self.trades)[:limit]

    def candles(
        self, bar: str, now_ms: int, after: int | None = None, before: int | None = None, limit: int = 100
    ) -> list[list[str]]:
        """Rows [ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm], newest first.

        after: only bars opening strictly before it; before: only bars opening strictly after it.
        """
        bar_open(now_ms, bar)  # validates the bar name
        keys = self._keys
        # The newest bar opening before `after` takes all its minutes, even those at or after `after`
        # (ccxt sends unaligned `after` values): a bar is never cut short.
        end = len(keys) if after is None else bisect_left(keys, bar_close(bar_open(after - 1, bar), bar))
        rows: list[list[str]] = []
        current: int | None = None
        agg: Candle | None = None
        i = end - 1
        while i >= 0:
            minute = keys[i]
            opened = bar_open(minute, bar)
            if after is not None and opened >= after:
                i -= 1
                continue
            if before is not None and opened <= before:
                break
            c = self._minutes[minute]
            if opened != current:
                if agg is not None and current is not None:
                    rows.append(self._row(current, agg, bar, now_ms))
                    if len(rows) >= limit:
                        return rows
                current = opened
                agg = Candle(c.o, c.h, c.low, c.c, c.vol, c.vol_quote, c.vol_ccy)
            else:
                assert agg is not None
                # Walking backwards: this earlier minute's open is the bar's open so far.
                agg.o = c.o
                agg.h = max(agg.h, c.h)
                agg.low = min(agg.low, c.low)
                agg.vol += c.vol
                agg.vol_quote += c.vol_quote
                agg.vol_ccy += c.vol_ccy
            i -= 1
        if agg is not None and current is not None and len(rows) < limit:
            rows.append(self._row(current, agg, bar, now_ms))
        return rows

    def _row(self, opened: int, c: Candle, bar: str, now_ms: int) -> list[str]:
        confirm = "1" if bar_close(opened, bar) <= now_ms else "0"
        quote = fmt(c.vol_quote)
        # SPOT: volCcy is the quote volume; SWAP: vol is contracts and volCcy the base currency.
        ccy = fmt(c.vol_ccy) if self.ct else quote
        return [str(opened), fmt(c.o), fmt(c.h), fmt(c.low), fmt(c.c), fmt(c.vol), ccy, quote, confirm]

    def day_stats(self, now_ms: int) -> dict[str, Decimal]:
        """open24h, high24h, low24h, vol24h, volCcy24h, sodUtc0, sodUtc8 over the last 24 h."""
        minute_now = now_ms - now_ms % MINUTE
        # The complete minutes change once a minute: aggregate them once, then add the live one.
        if self._day_cache is None or self._day_cache[0] != minute_now:
            self._day_cache = (minute_now, self._aggregate(minute_now))
        base = dict(self._day_cache[1])
        live = self._minutes.get(minute_now)
        if live is not None:
            if not base["count"]:
                base.update(open24h=live.o, high24h=live.h, low24h=live.low)
            base["high24h"] = max(base["high24h"], live.h)
            base["low24h"] = min(base["low24h"], live.low)
            base["vol24h"] += live.vol
            base["volCcy24h"] += live.vol_ccy if self.ct else live.vol_quote
            for key, start in (("sodUtc0", _day_start(now_ms, 0)), ("sodUtc8", _day_start(now_ms, UTC8))):
                if base[key + "_at"] < start:
                    base[key] = live.o
        return base

    def _aggregate(self, minute_now: int) -> dict[str, Decimal]:
        start = minute_now - DAY
        keys = self._keys
        lo = bisect_left(keys, start + MINUTE)
        hi = bisect_left(keys, minute_now)
        px = self.last_px
        stats: dict[str, Decimal] = {
            "open24h": px, "high24h": px, "low24h": px, "vol24h": ZERO, "volCcy24h": ZERO,
            "sodUtc0": px, "sodUtc8": px, "count": Decimal(hi - lo),
            "sodUtc0_at": Decimal(-1), "sodUtc8_at": Decimal(-1),
        }  # fmt: skip
        if hi > lo:
            first = self._minutes[keys[lo]]
            stats["open24h"] = first.o
            stats["high24h"] = max(self._minutes[k].h for k in keys[lo:hi])
            stats["low24h"] = min(self._minutes[k].low for k in keys[lo:hi])
            stats["vol24h"] = sum((self._minutes[k].vol for k in keys[lo:hi]), ZERO)
            stats["volCcy24h"] = sum(
                ((m.vol_ccy if self.ct else m.vol_quote) for m in (self._minutes[k] for k in keys[lo:hi])),
                ZERO,
            )
        for key, tz in (("sodUtc0", 0), ("sodUtc8", UTC8)):
            day_start = _day_start(minute_now, tz)
            i = bisect_left(keys, day_start)
            if i < hi:
                stats[key] = self._minutes[keys[i]].o
                stats[key + "_at"] = Decimal(keys[i])
            elif i > 0 and keys[i - 1] < day_start:
                stats[key] = self._minutes[keys[i - 1]].c
        return stats

    def ticker(self, now_ms: int, best: dict[str, Any]) -> dict[str, str]:
        stats = self.day_stats(now_ms)
        return {
            "instType": self.inst_type,
            "instId": self.inst_id,
            "last": fmt(self.last_px),
            "lastSz": fmt(self.last_sz),
            "askPx": best["askPx"],
            "askSz": best["askSz"],
            "bidPx": best["bidPx"],
            "bidSz": best["bidSz"],
            "open24h": fmt(stats["open24h"]),
            "high24h": fmt(stats["high24h"]),
            "low24h": fmt(stats["low24h"]),
            "volCcy24h": fmt(stats["volCcy24h"]),
            "vol24h": fmt(stats["vol24h"]),
            "sodUtc0": fmt(stats["sodUtc0"]),
            "sodUtc8": fmt(stats["sodUtc8"]),
            "ts": str(now_ms),
        }


def _day_start(ts: int, tz: int) -> int:
    return (ts + tz) // DAY * DAY - tz
