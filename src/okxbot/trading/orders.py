"""The order manager: risk check -> journal -> send; updates from the orders channel and REST polling.

Write-ahead: an order's intent and its "sent" mark are committed in the journal before the request
leaves, so after any crash the journal names every order that may exist on OKX, by clOrdId. An order
whose outcome is unknown (timeout, dropped connection) is resolved by looking its clOrdId up.
Fills are recorded once each by tradeId, whichever path (WebSocket push, REST poll) reports them first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from okxbot.okx.client import OkxClient
from okxbot.okx.errors import OkxError, OkxOrderNotFound
from okxbot.okx.models import Fill, Order, dec, dec0
from okxbot.okx.validate import InstrumentRules
from okxbot.trading.journal import FINAL, Journal, JournalFill, JournalOrder, changes, journal_state
from okxbot.trading.risk import ProposedOrder, RiskGuard, RiskRefused, RiskView

log = logging.getLogger("okxbot.trading.orders")

ZERO = Decimal(0)


@dataclass
class Stats:
    placed: int = 0
    refused: int = 0
    rejected: int = 0
    canceled: int = 0
    fills: int = 0
    rate_limited: int = 0  # OKX 50011 answers
    errors: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.errors = [*self.errors[-4:], f"{datetime.now(UTC):%H:%M:%S} {message}"]


@dataclass(frozen=True)
class Pnl:
    position: Decimal  # base bought minus sold by the bot
    cash: Decimal  # quote received minus paid, fees included
    fees_quote: Decimal  # fees in quote terms (positive = paid)
    total: Decimal  # cash + position at the mid: realised + mark-to-mid

    @classmethod
    def from_fills(cls, fills: list[JournalFill], base: str, mid: Decimal | None) -> Pnl:
        sums = PnlSums(base)
        for f in fills:
            sums.add(f)
        return sums.at(mid)


@dataclass
class PnlSums:
    """Running totals of a set of fills, so that the risk check before each order costs O(1),
    however many fills the bot has made."""

    base: str
    position: Decimal = ZERO
    cash: Decimal = ZERO
    fees: Decimal = ZERO

    def add(self, f: JournalFill) -> None:
        signed = f.size if f.side == "buy" else -f.size
        self.position += signed
        self.cash -= signed * f.price
        # OKX fee sign: negative = charged (a rebate is positive), in fee_ccy
        if f.fee_ccy == self.base:
            self.position += f.fee
            self.fees -= f.fee * f.price
        else:
            self.cash += f.fee
            self.fees -= f.fee

    def at(self, mid: Decimal | None) -> Pnl:
        total = self.cash + (self.position * mid if mid is not None else ZERO)
        return Pnl(self.position, self.cash, self.fees, total)


def _utc_day(ts_ms: int) -> int:
    return ts_ms // 86_400_000


Listener = Callable[[str, Any], Awaitable[None] | None]


class OrderManager:
    def __init__(
        self,
        client: OkxClient,
        journal: Journal,
        risk: RiskGuard,
        rules: InstrumentRules,
        *,
        cancel_foreign: bool = False,
        exp_time_ms: int | None = 5000,
    ) -> None:
        self.client = client
        self.journal = journal
        self.risk = risk
        self.rules = rules
        self.symbol = rules.symbol
        self.cancel_foreign = cancel_foreign
        self.exp_time_ms = exp_time_ms or 5000
        self.mid: Decimal | None = None
        self.stats = Stats()
        self.foreign: dict[str, Order] = {}  # ordId -> an order on the key that okxbot did not place
        self.listeners: list[Listener] = []
        self.on_send: Callable[[], None] | None = None  # bench hook: the request is about to leave
        # While the orders channel reports every state change, a placement needs no read-back GET
        # (the runner clears this when the channel is up, and sets it again when it goes down).
        self.confirm_placements = True
        self._open: dict[str, JournalOrder] = {o.client_order_id: o for o in journal.open_orders()}
        self._by_ord_id: dict[str, str] = {
            o.order_id: o.client_order_id for o in self._open.values() if o.order_id
        }
        self._fills: list[JournalFill] = []
        self._sums = PnlSums(rules.base)
        self._day_sums: dict[int, PnlSums] = {}  # UTC day -> that day's fills (the daily loss limit)
        for fill in journal.fills():
            self._count_fill(fill)
        self._sent_ms: dict[str, float] = {}
        self._lock = asyncio.Lock()  # serialises journal transitions from the two update paths

    # ---- views ----------------------------------------------------------------------------------
    def open_orders(self) -> list[JournalOrder]:
        return list(self._open.values())

    def fills(self) -> list[JournalFill]:
        return list(self._fills)

    def pnl(self, since_ms: int | None = None) -> Pnl:
        """PnL of the bot's fills (all, or those since `since_ms`), marked at the latest mid."""
        if since_ms is None:
            return self._sums.at(self.mid)
        return Pnl.from_fills([f for f in self._fills if f.ts_ms >= since_ms], self.rules.base, self.mid)

    def pnl_today(self) -> Pnl:
        """PnL of today's fills (UTC day), what the daily loss limit watches."""
        today = self._day_sums.get(_utc_day(int(time.time() * 1000)))
        return (today or PnlSums(self.rules.base)).at(self.mid)

    def position(self) -> Decimal:
        return self._sums.position

    def _count_fill(self, fill: JournalFill) -> None:
        self._fills.append(fill)
        self._sums.add(fill)
        self._day_sums.setdefault(_utc_day(fill.ts_ms), PnlSums(self.rules.base)).add(fill)

    def _view(self) -> RiskView:
        open_buys = sum((o.amount - o.filled for o in self._open.values() if o.side == "buy"), ZERO)
        return RiskView(
            mid=self.mid,
            open_orders=len(self._open),
            position=self.position(),
            open_buy_amount=open_buys,
            pnl_today=self.pnl_today().total,
        )

    def check_halt(self) -> bool:
        """Daily loss check on the latest mid; True when trading is halted."""
        return self.risk.check_loss(self.pnl_today().total)

    # ---- placing --------------------------------------------------------------------------------
    async def place(
        self, side: str, amount: Decimal, price: Decimal | None = None, *, post_only: bool = False
    ) -> JournalOrder | None:
        """Risk-check, journal and send one order; None if the guard or OKX refused it."""
        try:
            self.risk.check(ProposedOrder(self.symbol, side, amount, price), self._view())
        except RiskRefused as refused:
            self.stats.refused += 1
            self.stats.error(str(refused))
            return None
        try:
            intent = await self.client.prepare_order(
                self.symbol, side, amount, price, post_only=post_only, check_funds=False
            )
        except OkxError as err:
            self.stats.rejected += 1
            self.stats.error(f"order refused before sending: {err.message}")
            log.warning("order refused before sending: %s", err)
            return None
        cid = intent.client_order_id
        self.journal.record_intent(cid, self.symbol, side, intent.amount, intent.price, state="sent")
        record = JournalOrder(
            cid, self.journal.bot, self.symbol, side, intent.amount, intent.price, "sent", None, ZERO, "bot"
        )
        self._open[cid] = record
        self._sent_ms[cid] = time.time() * 1000
        if self.on_send is not None:
            self.on_send()
        try:
            order = await self.client.place(intent, confirm=self.confirm_placements)
        except OkxError as err:
            if err.code == "50011":
                self.stats.rate_limited += 1
            if err.outcome_unknown:
                await self._transition(cid, "unknown", note=err.message)
                self.stats.error(f"order {cid}: outcome unknown, will look it up")
                return self._open.get(cid)
            await self._transition(cid, "rejected", note=f"{err.code or ''} {err.message}".strip())
            self.stats.rejected += 1
            self.stats.error(f"order rejected: {err.message}")
            log.warning("order %s rejected: %s", cid, err)
            return None
        self.stats.placed += 1
        await self.apply_order(order.raw or {}, order)
        return self.journal.order(cid)

    async def cancel(self, client_order_id: str) -> bool:
        record = self._open.get(client_order_id)
        if record is None:
            return False
        try:
            await self.client.cancel_order(self.symbol, client_order_id=client_order_id)
        except OkxOrderNotFound:
            await self.resolve(client_order_id)
            return False
        except OkxError as err:
            self.stats.error(f"cancel {client_order_id}: {err.message}")
            return False
        await self.resolve(client_order_id)
        return True

    async def amend(
        self, client_order_id: str, *, price: Decimal | None = None, amount: Decimal | None = None
    ) -> bool:
        record = self._open.get(client_order_id)
        if record is None or (price is None and amount is None):
            return False
        new_price = price if price is not None else record.price
        new_amount = amount if amount is not None else record.amount
        try:
            self.risk.check(ProposedOrder(self.symbol, record.side, new_amount, new_price), self._view())
        except RiskRefused as refused:
            self.stats.refused += 1
            self.stats.error(str(refused))
            return False
        body: dict[str, str] = {"instId": self.rules.inst_id, "clOrdId": client_order_id}
        if price is not None:
            body["newPx"] = format(price, "f")
        if amount is not None:
            body["newSz"] = format(amount, "f")
        try:
            await self.client._call(self.client.raw.privatePostTradeAmendOrder(body))
        except OkxError as err:
            self.stats.error(f"amend {client_order_id}: {err.message}")
            return False
        await self.resolve(client_order_id)
        return True

    async def cancel_all_own(self) -> int:
        """Cancel every open order this bot placed; returns how many remain open afterwards."""
        for cid in list(self._open):
            await self.cancel(cid)
        for cid in list(self._open):
            await self.resolve(cid)
        return len(self._open)

    # ---- updates ----------------------------------------------------------------------------------
    async def apply_order(self, raw: Mapping[str, Any], order: Order | None = None) -> None:
        """One order object (orders-channel push, REST answer); fields per OKX's wire form."""
        order = order or Order.from_okx(raw, self.symbol)
        cid = order.client_order_id
        if cid and cid not in self._open and self._sibling_order(cid):
            return
        known = cid and (cid in self._open or self.journal.order(cid) is not None)
        if not known:
            self._flag_foreign(order)
            return
        state = journal_state(order.state)
        if state is not None:
            await self._transition(cid, state, order_id=order.order_id, filled=order.filled)
        trade_id = str(raw.get("tradeId") or "")
        fill_size = dec(raw.get("fillSz"))
        if trade_id and fill_size:
            await self.record_fill(
                JournalFill(
                    self.symbol,
                    trade_id,
                    cid,
                    order.order_id,
                    order.side,
                    dec0(raw.get("fillPx")),
                    fill_size,
                    dec0(raw.get("fillFee")),
                    str(raw.get("fillFeeCcy") or raw.get("feeCcy") or ""),
                    int(raw.get("fillTime") or raw.get("uTime") or time.time() * 1000),
                )
            )

    def _sibling_order(self, cid: str) -> bool:
        """Journaled by another bot on the same key and journal (okxbot serve runs many): that bot's
        to track; neither this bot's nor foreign."""
        record = self.journal.order(cid)
        return record is not None and record.bot != self.journal.bot

    async def record_fill(self, fill: JournalFill) -> None:
        if self.journal.add_fill(fill):
            self._count_fill(fill)
            self.stats.fills += 1
            await self._emit("fill", fill)

    async def _transition(
        self,
        cid: str,
        state: str,
        *,
        order_id: str | None = None,
        filled: Decimal | None = None,
        note: str = "",
    ) -> None:
        async with self._lock:
            known = self._open.get(cid)
            if known is not None and not changes(known.state, known.filled, state, filled):
                return  # a repeated report (push and poll both tell it): no journal round trip
            changed = self.journal.transition(cid, state, order_id=order_id or None, filled=filled, note=note)
            if known is not None and changed:
                record: JournalOrder | None = replace(
                    known,
                    state=state,
                    order_id=order_id or known.order_id,
                    filled=known.filled if filled is None else filled,
                )
            elif known is not None:
                return
            else:
                record = self.journal.order(cid)
        if record is None:
            return
        if record.order_id:
            self._by_ord_id[record.order_id] = cid
        if record.state in FINAL:
            self._open.pop(cid, None)
            self._sent_ms.pop(cid, None)
            if record.state == "canceled" and changed:
                self.stats.canceled += 1
        else:
            self._open[cid] = record
        if changed:
            await self._emit("order", record)

    async def _emit(self, kind: str, payload: Any) -> None:
        for listener in self.listeners:
            result = listener(kind, payload)
            if result is not None:
                await result

    def _flag_foreign(self, order: Order) -> None:
        if order.order_id in self.foreign or not order.is_open:
            return
        self.foreign[order.order_id] = order
        log.warning(
            "order %s on %s was not placed by okxbot: someone else may be using this key",
            order.order_id,
            order.symbol,
            extra={
                "foreign_order": order.order_id,
                "symbol": order.symbol,
                "cl_ord_id": order.client_order_id,
            },
        )
        self.stats.error(f"foreign order {order.order_id} on {order.symbol} (not placed by okxbot)")
        if self.cancel_foreign:
            asyncio.get_running_loop().create_task(self._cancel_foreign(order))

    async def _cancel_foreign(self, order: Order) -> None:
        try:
            await self.client.cancel_order(order.symbol, order.order_id)
        except OkxError as err:
            self.stats.error(f"cancel foreign {order.order_id}: {err.message}")

    # ---- resolution and polling -------------------------------------------------------------------
    async def resolve(self, cid: str) -> None:
        """Ask OKX for one order by clOrdId and journal what it says (the unknown-outcome lookup)."""
        record = self._open.get(cid) or self.journal.order(cid)
        if record is None or record.state in FINAL:
            return
        try:
            order = await self.client.fetch_order(self.symbol, client_order_id=cid)
        except OkxOrderNotFound:
            # Not on OKX: once its expTime has passed no copy can still arrive, so it was never placed.
            sent = self._sent_ms.get(cid, 0)
            if time.time() * 1000 - sent > self.exp_time_ms + 1000:
                await self._transition(cid, "rejected", note="not found on OKX after expTime: never placed")
            return
        except OkxError as err:
            self.stats.error(f"lookup {cid}: {err.message}")
            return
        await self.apply_order(order.raw, order)

    async def poll(self) -> None:
        """REST: open orders (flagging foreign ones), the bot's orders that left the list, recent fills."""
        open_now = await self.client.fetch_open_orders()
        seen: set[str] = set()
        for order in open_now:
            seen.add(order.client_order_id)
            if order.symbol == self.symbol or order.client_order_id not in self._open:
                await self.apply_order(order.raw, order)
        for cid in list(self._open):
            if cid not in seen:
                await self.resolve(cid)
        await self.poll_fills()

    async def poll_fills(self) -> None:
        fills: list[Fill] = await self.client.fetch_fills(self.symbol)
        for f in reversed(fills):  # oldest first
            cid = f.client_order_id or self._by_ord_id.get(f.order_id, "")
            if not cid or self.journal.order(cid) is None or self._sibling_order(cid):
                continue
            await self.record_fill(
                JournalFill(
                    self.symbol,
                    f.trade_id,
                    cid,
                    f.order_id,
                    f.side,
                    f.price,
                    f.size,
                    f.fee,
                    f.fee_ccy,
                    f.ts or int(time.time() * 1000),
                )
            )

    async def reconcile(self) -> dict[str, int]:
        """Before any new order: journal vs. OKX's open orders and recent fills; unknowns resolved."""
        before = {cid: o.state for cid, o in self._open.items()}
        # orders sent just before a crash may still be in flight: a lookup that finds nothing counts
        # only after their expTime has passed, counted from now to be safe
        for cid, o in self._open.items():
            if o.state in ("intent", "sent", "unknown"):
                self._sent_ms.setdefault(cid, time.time() * 1000)
        await self.poll()
        pending = [cid for cid, o in self._open.items() if o.state in ("intent", "sent", "unknown")]
        if pending:
            await asyncio.sleep((self.exp_time_ms + 1000) / 1000)
            for cid in pending:
                await self.resolve(cid)
        after = {o.client_order_id: o.state for o in self.journal.orders()}
        return {
            "journal_open_before": len(before),
            "still_open": len(self._open),
            "resolved": sum(1 for cid in before if after.get(cid) != before[cid]),
            "foreign": len(self.foreign),
        }
