"""What every part of the exchange core shares: its id counters and its event bus.

The bus calls listeners synchronously, in order. Balance and book changes are aggregated per
operation: the parts mark what they touched (`touch`, `book_changed`) and the operation's entry point
calls `flush()` once at the end, so a market order sweeping ten levels sends one BalanceEvent and one
BookEvent. `batch()` widens that to a group of operations (a market step).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count

from okxbot.sim.events import BalanceEvent, BookEvent, Event, Listener, PositionEvent

log = logging.getLogger("okxbot.sim.engine")


class Ids:
    """18-digit numeric ids like OKX's; the seed shifts them so that two simulators don't collide."""

    def __init__(self, seed: int) -> None:
        base = 600_000_000_000_000_000 + (seed % 1000) * 1_000_000_000_000
        self._ord = count(base + 1)
        self._trade = count(base + 500_000_000_001)
        self._bill = count(base + 700_000_000_001)
        self._pos = count(base + 800_000_000_001)
        self._uid = count(100_000_000_000_001 + (seed % 1000) * 1_000_000)

    def order(self) -> str:
        return str(next(self._ord))

    def trade(self) -> str:
        return str(next(self._trade))

    def bill(self) -> str:
        return str(next(self._bill))

    def position(self) -> str:
        return str(next(self._pos))

    def uid(self) -> str:
        return str(next(self._uid))


class EventBus:
    def __init__(self) -> None:
        self.listeners: list[Listener] = []
        self._dirty_bal: dict[str, set[str]] = {}
        self._dirty_books: set[str] = set()
        # (uid, event type) -> (posIds, currencies, trades) changed in this operation
        self._dirty_pos: dict[tuple[str, str], tuple[set[str], set[str], list[dict[str, str]]]] = {}
        self._batch_depth = 0

    def add_listener(self, fn: Listener) -> None:
        self.listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        if fn in self.listeners:
            self.listeners.remove(fn)

    def emit(self, event: Event) -> None:
        for fn in list(self.listeners):
            try:
                fn(event)
            except Exception:
                # A broken subscriber must not corrupt the matching engine's state mid-operation.
                log.exception("simulator listener %r failed on %s", fn, type(event).__name__)

    def touch(self, uid: str, *ccys: str) -> None:
        """These currencies of this account changed (one BalanceEvent per operation)."""
        self._dirty_bal.setdefault(uid, set()).update(ccys)

    def book_changed(self, inst_id: str) -> None:
        self._dirty_books.add(inst_id)

    def position_changed(
        self, uid: str, pos_id: str, ccy: str, event_type: str, trade: dict[str, str] | None = None
    ) -> None:
        """A position changed (one PositionEvent per account and event type per operation)."""
        pos_ids, ccys, trades = self._dirty_pos.setdefault((uid, event_type), (set(), set(), []))
        pos_ids.add(pos_id)
        ccys.add(ccy)
        if trade is not None:
            trades.append(trade)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group many operations (a market step) so balance and book events go out once, at the end."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            self.flush()

    def flush(self) -> None:
        """Emit the per-operation aggregate events (balances, books) once the operation is done."""
        if self._batch_depth:
            return
        dirty, self._dirty_bal = self._dirty_bal, {}
        for uid, ccys in dirty.items():
            self.emit(BalanceEvent(uid, sorted(ccys)))
        positions, self._dirty_pos = self._dirty_pos, {}
        for (uid, event_type), (pos_ids, pos_ccys, trades) in positions.items():
            self.emit(PositionEvent(uid, sorted(pos_ids), sorted(pos_ccys), event_type, trades))
        books, self._dirty_books = self._dirty_books, set()
        for inst_id in sorted(books):
            self.emit(BookEvent(inst_id))
