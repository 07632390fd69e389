"""One instrument's limit order book: price levels in price-time priority, with exact L2 strings.

The book holds resting orders (anything with `ord_id`, `side`, `px` and `remaining`) and keeps each
level's total size incrementally, so that reading the top 400 levels costs no scan of the orders.
The engine owns the orders and tells the book about every change in the order it happens:
`reduce(order, qty)` before lowering `order.remaining`, `remove(order)` when the order leaves.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator
from decimal import Decimal
from typing import Literal, Protocol

from okxbot.sim.instruments import ZERO, fmt

Side = Literal["bids", "asks"]


class Resting(Protocol):
    ord_id: str
    side: str  # "buy" rests on bids, "sell" on asks
    px: Decimal
    remaining: Decimal


class Level:
    """All orders at one price, oldest first (dicts keep insertion order: FIFO with O(1) removal)."""

    __slots__ = ("orders", "px", "px_str", "total")

    def __init__(self, px: Decimal) -> None:
        self.px = px
        self.px_str = fmt(px)  # rendered once: the checksum needs the same spelling every time
        self.orders: dict[str, Resting] = {}
        self.total = ZERO

    def __iter__(self) -> Iterator[Resting]:
        return iter(list(self.orders.values()))


class OrderBook:
    def __init__(self, inst_id: str) -> None:
        self.inst_id = inst_id
        self._levels: dict[str, dict[Decimal, Level]] = {"bids": {}, "asks": {}}
        # Both price lists ascending: the best bid is the last element, the best ask the first.
        self._prices: dict[str, list[Decimal]] = {"bids": [], "asks": []}
        self.version = 0  # bumped on every change; lets readers skip an unchanged book

    @staticmethod
    def side_of(order: Resting) -> Side:
        return "bids" if order.side == "buy" else "asks"

    def add(self, order: Resting) -> None:
        side = self.side_of(order)
        levels = self._levels[side]
        level = levels.get(order.px)
        if level is None:
            level = levels[order.px] = Level(order.px)
            insort(self._prices[side], order.px)
        level.orders[order.ord_id] = order
        level.total += order.remaining
        self.version += 1

    def reduce(self, order: Resting, qty: Decimal) -> None:
        self._levels[self.side_of(order)][order.px].total -= qty
        self.version += 1

    def remove(self, order: Resting) -> None:
        side = self.side_of(order)
        levels = self._levels[side]
        level = levels.get(order.px)
        if level is None or level.orders.pop(order.ord_id, None) is None:
            return
        level.total -= order.remaining
        if not level.orders:
            del levels[order.px]
            prices = self._prices[side]
            del prices[bisect_left(prices, order.px)]
        self.version += 1

    def contains(self, order: Resting) -> bool:
        level = self._levels[self.side_of(order)].get(order.px)
        return level is not None and order.ord_id in level.orders

    def best(self, side: Side) -> Level | None:
        prices = self._prices[side]
        if not prices:
            return None
        return self._levels[side][prices[-1] if side == "bids" else prices[0]]

    def best_px(self, side: Side) -> Decimal | None:
        prices = self._prices[side]
        if not prices:
            return None
        return prices[-1] if side == "bids" else prices[0]

    def iter_levels(self, side: Side) -> Iterator[Level]:
        """Levels best first. Do not change the book while iterating."""
        prices = self._prices[side]
        ordered = reversed(prices) if side == "bids" else iter(prices)
        levels = self._levels[side]
        for px in ordered:
            yield levels[px]

    def levels(self, side: Side, depth: int = 400) -> list[tuple[str, str, int]]:
        """Best-first L2 levels as (price string, total size string, number of orders)."""
        out: list[tuple[str, str, int]] = []
        for level in self.iter_levels(side):
            if len(out) >= depth:
                break
            out.append((level.px_str, fmt(level.total), len(level.orders)))
        return out

    def depth(self, side: Side) -> int:
        return len(self._prices[side])
