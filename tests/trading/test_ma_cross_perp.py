"""ma_cross_perp's arithmetic: the average true range its stops are placed by."""

from __future__ import annotations

from decimal import Decimal

from okxbot.trading.strategies.ma_cross_perp import atr
from okxbot.trading.strategy import Candle

D = Decimal


def bar(o: str, h: str, lo: str, c: str) -> Candle:
    return Candle(0, D(o), D(h), D(lo), D(c), D(1), True)


def test_atr_counts_gaps_from_the_previous_close() -> None:
    bars = [bar("100", "101", "99", "100"), bar("100", "102", "99", "101"), bar("105", "106", "104", "105")]
    # true ranges: max(102-99, |102-100|, |99-100|) = 3; max(106-104, |106-101|, |104-101|) = 5
    assert atr(bars, 2) == D(4)
    assert atr(bars, 3) is None  # needs one bar more than the period
