"""The equity curve while a backtest runs: segments of constant balances over bar closes.

Between two fills the bot's balances do not move, so its equity at each bar close is quote +
base x close: the replay records (bar closes, closes, base, quote) segments, merged while the
balances stay the same (a fast-forward adds a whole stretch at once), and the `EquityPoint`s are
made once, at the end, with exact integer arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from okxbot.backtest.result import EquityPoint


@dataclass
class _Segment:
    ts: list[np.ndarray]  # sample times, ms
    px: list[np.ndarray]  # prices, int64 of 10^-px_scale
    base: Decimal
    quote: Decimal


_PLAIN = "__slots__" not in vars(EquityPoint)  # instances keep their fields in a __dict__


def _point(ts: int, equity: Decimal, position: Decimal, price: Decimal) -> EquityPoint:
    """An EquityPoint, made without the frozen dataclass's __init__ (one per bar: a year of 1m
    bars is 525,600 of them, and the frozen __init__ costs about as much as the whole replay)."""
    if not _PLAIN:
        return EquityPoint(ts, equity, position, price)
    point = object.__new__(EquityPoint)
    point.__dict__.update(ts_ms=ts, equity=equity, position=position, price=price)
    return point


class EquityCurve:
    def __init__(self, px_scale: int) -> None:
        self.px_scale = px_scale
        self._segments: list[_Segment] = []
        self.samples = 0

    def add(self, ts: np.ndarray, px: np.ndarray, base: Decimal, quote: Decimal) -> None:
        """Samples at `ts` with prices `px` (scaled ints) and these balances."""
        if len(ts) == 0:
            return
        self.samples += len(ts)
        last = self._segments[-1] if self._segments else None
        if last is not None and last.base == base and last.quote == quote:
            last.ts.append(ts)
            last.px.append(px)
        else:
            self._segments.append(_Segment([ts], [px], base, quote))

    def add_one(self, ts: int, px: Decimal, base: Decimal, quote: Decimal) -> None:
        scaled = int(px.scaleb(self.px_scale))
        self.add(np.array([ts], dtype=np.int64), np.array([scaled], dtype=np.int64), base, quote)

    def points(self) -> list[EquityPoint]:
        out: list[EquityPoint] = []
        append = out.append
        scale = self.px_scale
        prices: dict[int, Decimal] = {}  # closes repeat: one Decimal per distinct price
        plain = _PLAIN
        new = object.__new__
        for seg in self._segments:
            ts = np.concatenate(seg.ts).tolist()
            px = np.concatenate(seg.px).tolist()
            base, quote = seg.base, seg.quote
            # equity = quote + base x price, exactly, as integers of 10^-(scale + base's decimals)
            exponent = base.as_tuple().exponent
            b_scale = -exponent if isinstance(exponent, int) and exponent < 0 else 0
            b_int = int(base.scaleb(b_scale))
            total = scale + b_scale
            q_int = int(quote.scaleb(total).to_integral_value())
            exact = Decimal(q_int).scaleb(-total) == quote
            for t, p in zip(ts, px, strict=True):
                price = prices.get(p)
                if price is None:
                    price = prices[p] = Decimal(p).scaleb(-scale)
                equity = Decimal(q_int + b_int * p).scaleb(-total) if exact else quote + base * price
                if plain:  # the frozen dataclass's fields, set as its __init__ would (see _point)
                    point = new(EquityPoint)
                    point.__dict__.update(ts_ms=t, equity=equity, position=base, price=price)
                    append(point)
                else:
                    append(EquityPoint(t, equity, base, price))
        return out
