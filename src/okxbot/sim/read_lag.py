"""Read lag: an order or a fill stays missing from the GET endpoints for a while after it exists.

OKX's query endpoints read replicas that trail the matching engine, so an order acknowledged a moment
ago can be "51603 Order does not exist" and a fill already pushed on the orders channel can be absent
from `trade/fills`. `ReadLag` listens to the engine's order events, draws each new order's and each
fill's lag when it happens, and filters what the GET endpoints return. The lag counts on the
simulator's clock (`Clock.now_ms`, like the order's cTime and the fill's ts), so a test can move the
admin clock past the longest lag instead of waiting for it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any

from okxbot.sim.clock import Clock
from okxbot.sim.events import Event, OrderEvent

Draw = Callable[[int], int]  # max lag ms -> a lag in [0, max]


class ReadLag:
    def __init__(self, clock: Clock, draw: Draw) -> None:
        self._clock = clock
        self._draw = draw
        self.max_ms = 0
        # key -> first visible ms (simulator clock); keys are ordIds and (ordId, tradeId) fills.
        self._until: dict[object, int] = {}
        self._expiry: list[tuple[int, int, object]] = []  # heap of (until, sequence, key)
        self._sequence = 0

    # -- engine listener ---------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        if not self.max_ms or not isinstance(event, OrderEvent):
            return
        order = event.order
        ord_id = order["ordId"]
        trade_id = order.get("tradeId") or ""
        if trade_id and order.get("fillSz") not in ("", "0"):
            self._hide((ord_id, trade_id), int(order["fillTime"]))
        elif order["state"] == "live" and not order.get("amendResult") and ord_id not in self._until:
            # The first push of an order (its creation); later updates never hide it again.
            self._hide(ord_id, int(order["cTime"]))

    def _hide(self, key: object, since_ms: int) -> None:
        until = since_ms + self._draw(self.max_ms)
        if until <= self._clock.now_ms():
            return
        self._until[key] = until
        self._sequence += 1
        heapq.heappush(self._expiry, (until, self._sequence, key))

    # -- filters for the GET endpoints -------------------------------------------------------------

    def _prune(self) -> int:
        now = self._clock.now_ms()
        while self._expiry and self._expiry[0][0] <= now:
            until, _, key = heapq.heappop(self._expiry)
            if self._until.get(key) == until:
                del self._until[key]
        return now

    def hidden(self) -> int:
        """How many orders and fills the GET endpoints do not show yet."""
        if not self._until:
            return 0
        now = self._prune()
        return sum(1 for until in self._until.values() if until > now)

    def order_hidden(self, ord_id: str) -> bool:
        if not self._until:
            return False
        now = self._prune()
        return self._until.get(ord_id, 0) > now

    def orders(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        rows = list(rows)
        if not self._until:
            return rows
        now = self._prune()
        return [row for row in rows if self._until.get(row["ordId"], 0) <= now]

    def fills(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        rows = list(rows)
        if not self._until:
            return rows
        now = self._prune()
        return [
            row
            for row in rows
            if self._until.get(row["ordId"], 0) <= now
            and self._until.get((row["ordId"], row["tradeId"]), 0) <= now
        ]

    def clear(self) -> None:
        """Show everything at once (read lag turned off)."""
        self._until.clear()
        self._expiry.clear()
