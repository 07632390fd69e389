"""The order manager's reads of the exchange (`OrderSync`, a part of `OrderManager`): the background
checks that settle its doubts (`okxbot.trading.doubts`), lookups by clOrdId, REST polling of open orders
and fills, and the reconciliation at start. Only lookups are made here: nothing is ever sent again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okxbot.okx.errors import OkxError
from okxbot.okx.models import Fill, Order
from okxbot.trading.doubts import Doubt, Doubts
from okxbot.trading.journal import FINAL, JournalFill, JournalOrder
from okxbot.trading.order_changes import IN_FLIGHT, journal_on_book

if TYPE_CHECKING:
    from okxbot.trading.clock import Clock
    from okxbot.trading.journal import Journal
    from okxbot.trading.venue import Venue

ZERO = Decimal(0)
NEVER_PLACED = "never_placed"  # an ambiguous answer, and the order was not on OKX after its expTime
_NOT_FOUND_NOTE = "not on OKX after its expTime (+ clock error and read lag): never placed"


class OrderSync:
    """Doubts, lookups, polling and reconciliation; the rest of `OrderManager` provides the state."""

    client: Venue
    clock: Clock
    journal: Journal
    symbol: str
    doubts: Doubts
    stats: Any
    foreign: dict[str, Order]
    _open: dict[str, JournalOrder]
    _fill_sums: dict[str, Decimal]
    _by_ord_id: dict[str, str]

    if TYPE_CHECKING:
        _transition: Callable[..., Awaitable[None]]
        _answered: Callable[[str, str], None]
        record_fill: Callable[[JournalFill], Awaitable[None]]
        _sibling_order: Callable[[str], bool]

        async def apply_order(self, raw: Mapping[str, Any], order: Order | None = None) -> None: ...
        def _first_check_s(self) -> float: ...

    # ---- settling doubts --------------------------------------------------------------------------
    async def settle(self, timeout_s: float) -> bool:
        """Wait until nothing is in doubt (True) or `timeout_s` passed (False)."""
        return await self.doubts.wait_empty(timeout_s)

    async def _check_doubt(self, doubt: Doubt) -> bool:
        """One background check (`okxbot.trading.doubts`); True when the doubt is settled."""
        cid = doubt.cid
        if doubt.kind == "fills":
            return await self._read_fills(cid)
        if cid not in self._open:
            return True  # final already
        order = await self._find(cid)
        now = self.client.okx_now_ms()
        due = doubt.settle_at_ms is not None and now >= doubt.settle_at_ms
        if order is None:
            if doubt.kind == "place" and due:
                await self._transition(cid, "rejected", note=_NOT_FOUND_NOTE)
                self._answered("place", NEVER_PLACED)
                return True
            return False  # read lag (or in flight): not proof of anything yet
        await self.apply_order(order.raw, order)
        record = self._open.get(cid)
        if record is None or doubt.kind in ("place", "lookup"):
            return True
        pending = "cancel_pending" if doubt.kind == "cancel" else "amend_pending"
        if record.state != pending:
            return True
        if due and order.is_open:
            # the deadline passed and the order is still on the book as it was: not taken effect
            await self._transition(
                cid,
                journal_on_book(order),
                filled=order.filled,
                price=order.price if doubt.kind == "amend" else None,
                amount=order.amount if doubt.kind == "amend" else None,
                settled=True,
                note=f"the {doubt.kind} did not take effect",
            )
            return True
        return False

    async def _find(self, cid: str) -> Order | None:
        """Look an order up by clOrdId; an algo's order (no clOrdId on OKX) by its ordId."""
        record = self._open.get(cid) or self.journal.order(cid)
        if record is not None and record.origin == "algo" and record.order_id:
            return await self.client.find_order(self.symbol, order_id=record.order_id)
        return await self.client.find_order(self.symbol, cid)

    async def _read_fills(self, cid: str) -> bool:
        record = self._open.get(cid) or self.journal.order(cid)
        if record is None or record.filled <= self._fill_sums.get(cid, ZERO):
            return True
        if not record.order_id:
            return False
        fills = await self.client.fetch_fills(self.symbol, order_id=record.order_id)
        for f in reversed(fills):  # oldest first
            await self.record_fill(self._journal_fill(f, cid))
        return record.filled <= self._fill_sums.get(cid, ZERO)

    def _journal_fill(self, f: Fill, cid: str) -> JournalFill:
        return JournalFill(
            self.symbol,
            f.trade_id,
            cid,
            f.order_id,
            f.side,
            f.price,
            f.size,
            f.fee,
            f.fee_ccy,
            f.ts or self.clock.now_ms(),
        )

    # ---- resolution and polling -------------------------------------------------------------------
    async def resolve(self, cid: str) -> None:
        """Ask OKX for one order by clOrdId now and journal what it says. Not finding it proves
        nothing by itself (read lag, a request still in flight): the order is then left in doubt."""
        record = self._open.get(cid) or self.journal.order(cid)
        if record is None or record.state in FINAL:
            return
        try:
            order = await self._find(cid)
        except OkxError as err:
            self.stats.error(f"lookup {cid}: {err.message}")
            order = None
        if order is not None:
            await self.apply_order(order.raw, order)
        elif not self.doubts.has(cid):
            if record.state in IN_FLIGHT:
                self.doubts.add(cid, "place", self.client.horizon_ms(), first_check_s=self._first_check_s())
            else:
                self.doubts.add(cid, "lookup", None, first_check_s=self._first_check_s())

    async def poll(self) -> None:
        """REST: open orders (flagging foreign ones), the bot's orders that left the list, recent fills."""
        open_now = await self.client.fetch_open_orders()
        seen: set[str] = set()
        for order in open_now:
            seen.add(order.client_order_id)
            if order.symbol == self.symbol or order.client_order_id not in self._open:
                await self.apply_order(order.raw, order)
        for cid in list(self._open):
            if cid not in seen and not self.doubts.has(cid):
                await self.resolve(cid)
        await self.poll_fills()

    async def poll_fills(self) -> None:
        fills: list[Fill] = await self.client.fetch_fills(self.symbol)
        for f in reversed(fills):  # oldest first
            cid = f.client_order_id or self._by_ord_id.get(f.order_id, "")
            if not cid or self._sibling_order(cid) or self.journal.order(cid) is None:
                continue
            await self.record_fill(self._journal_fill(f, cid))

    async def reconcile(self) -> dict[str, int]:
        """Before any new order: journal vs. OKX's open orders and recent fills. What the journal
        left in doubt (sent just before a crash, unknown, cancel / amend pending) is settled in the
        background, from now: a request sent before the crash may still be in flight."""
        before = {cid: o.state for cid, o in self._open.items()}
        horizon = self.client.horizon_ms()
        for cid, o in self._open.items():
            if o.state in IN_FLIGHT:
                self.doubts.add(cid, "place", horizon, first_check_s=0.0)
            elif o.state == "cancel_pending":
                self.doubts.add(cid, "cancel", horizon, first_check_s=0.0)
            elif o.state == "amend_pending":
                self.doubts.add(cid, "amend", horizon, first_check_s=0.0)
        await self.poll()
        after = {o.client_order_id: o.state for o in self.journal.orders()}
        return {
            "journal_open_before": len(before),
            "still_open": len(self._open),
            "resolved": sum(1 for cid in before if after.get(cid) != before[cid]),
            "in_doubt": len(self.doubts),
            "foreign": len(self.foreign),
        }
