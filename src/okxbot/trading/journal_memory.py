"""`MemoryJournal`: the order journal's API and rules, kept in memory (backtests).

A backtest needs the journal's state machine (which transitions count, fills once per tradeId) but
not its durability: nothing survives the process anyway, and a SQL round trip per transition would
cost more than the matching itself. The rules are the SQL journal's own (`journal.changes`,
`STATES`, `FINAL`, `OPEN`); only the storage differs. Timestamps come from the given clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from decimal import Decimal

from okxbot.trading.journal import (
    FINAL,
    OPEN,
    STATES,
    JournalError,
    JournalFill,
    JournalOrder,
    NewOrder,
    changes,
)


class MemoryJournal:
    """One bot's orders, transitions and fills in memory; the same methods as `Journal`."""

    def __init__(self, bot: str, now_ms: Callable[[], int]) -> None:
        self.bot = bot
        self.url = "memory://"
        self._now_ms = now_ms
        self._orders: dict[str, JournalOrder] = {}  # insertion order = creation order
        self._created: dict[str, int] = {}
        self._history: dict[str, list[str]] = {}
        self._fills: dict[tuple[str, str], JournalFill] = {}
        self._open: dict[str, JournalOrder] = {}

    def close(self) -> None:
        pass

    # ---- writes --------------------------------------------------------------------------------
    def record_intents(self, intents: Sequence[NewOrder], *, state: str = "intent") -> None:
        for o in intents:
            self.record_intent(o.client_order_id, o.symbol, o.side, o.amount, o.price, state=state)

    def record_intent(
        self,
        client_order_id: str,
        symbol: str,
        side: str,
        amount: Decimal,
        price: Decimal | None,
        *,
        origin: str = "bot",
        state: str = "intent",
        order_id: str | None = None,
        filled: Decimal = Decimal(0),
    ) -> None:
        if client_order_id in self._orders:
            raise JournalError(f"order {client_order_id} is already in the journal")
        order = JournalOrder(
            client_order_id, self.bot, symbol, side, amount, price, state, order_id, filled, origin
        )
        self._orders[client_order_id] = order
        self._created[client_order_id] = self._now_ms()
        self._history[client_order_id] = [state]
        if state in OPEN:
            self._open[client_order_id] = order

    def transition(
        self,
        client_order_id: str,
        state: str,
        *,
        order_id: str | None = None,
        filled: Decimal | None = None,
        note: str = "",
        price: Decimal | None = None,
        amount: Decimal | None = None,
        settled: bool = False,
    ) -> bool:
        """As `Journal.transition`: False (nothing written) unless the move `changes` the order."""
        if state not in STATES:
            raise JournalError(f"unknown order state {state!r}")
        current = self._orders.get(client_order_id)
        if current is None:
            raise JournalError(f"order {client_order_id} is not in the journal")
        amended = price is not None or amount is not None
        if not changes(current.state, current.filled, state, filled, settled=settled) and not (
            amended and state == current.state and current.state not in FINAL
        ):
            return False
        order = replace(
            current,
            state=state,
            order_id=order_id or current.order_id,
            filled=current.filled if filled is None else filled,
            price=current.price if price is None else price,
            amount=current.amount if amount is None else amount,
        )
        self._orders[client_order_id] = order
        self._history[client_order_id].append(state)
        if state in OPEN:
            self._open[client_order_id] = order
        else:
            self._open.pop(client_order_id, None)
        return True

    def add_fill(self, fill: JournalFill) -> bool:
        key = (fill.symbol, fill.trade_id)
        if key in self._fills:
            return False
        self._fills[key] = fill
        return True

    # ---- reads ------------------------------------------------------------------------------------
    def orders(
        self, states: Iterable[str] | None = None, *, origin: str | None = "bot"
    ) -> list[JournalOrder]:
        wanted = None if states is None else set(states)
        return [
            o
            for o in self._orders.values()
            if (wanted is None or o.state in wanted) and (origin is None or o.origin == origin)
        ]

    def order(self, client_order_id: str) -> JournalOrder | None:
        return self._orders.get(client_order_id)

    def open_orders(self) -> list[JournalOrder]:
        return [o for o in self._open.values() if o.origin == "bot"]

    def fills(self) -> list[JournalFill]:
        return sorted(self._fills.values(), key=lambda f: f.ts_ms)

    def history(self, client_order_id: str) -> list[str]:
        return list(self._history.get(client_order_id, []))
