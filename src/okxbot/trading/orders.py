"""The order manager: risk check -> journal -> send; updates from the orders channel and REST polling.

Write-ahead: an order's intent and its "sent" mark are committed in the journal before the request
leaves, so after any crash the journal names every order that may exist on OKX, by clOrdId.
OKX answers before its matching engine is done, so the manager never takes an answer for more than
it says: an order whose placement got an ambiguous answer is "unknown" until found by clOrdId or
certainly never placed (`okxbot.okx.order_entry`); an accepted cancel is "cancel_pending" until the
order's state says canceled or filled (fills landing meanwhile count); an accepted amendment is
"amend_pending" until the order shows it (or its refusal). Those doubts are settled in the background
(`okxbot.trading.doubts`): trading goes on, and nothing in doubt is ever sent again.
Orders that go out together (`place_many`, `cancel_many`, `amend_many`) use OKX's batch endpoints,
overflowing into the single-order bucket (`okxbot.trading.waves`).
Fills are recorded once each by tradeId, whichever path (WebSocket push, REST poll) reports them first.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from okxbot.okx.errors import OkxError, OkxOutcomeUnknown
from okxbot.okx.models import ACCEPTED, Order, dec, dec0
from okxbot.okx.order_entry import OrderIntent, PlaceResult
from okxbot.okx.validate import InstrumentRules
from okxbot.trading.clock import SYSTEM_CLOCK, Clock, VenueClock
from okxbot.trading.doubts import Doubts
from okxbot.trading.funds import Funds, InsufficientFunds
from okxbot.trading.journal import (
    FINAL,
    Journal,
    JournalFill,
    JournalOrder,
    NewOrder,
    changes,
    reported_state,
)
from okxbot.trading.latency import LatencyLog, LatencySample, Tick
from okxbot.trading.order_changes import IN_FLIGHT, AmendSpec, OrderChanges
from okxbot.trading.order_sync import NEVER_PLACED, OrderSync
from okxbot.trading.parity import FillStep, OrderDigest, OrderStep
from okxbot.trading.pnl import Pnl, PnlSums, utc_day
from okxbot.trading.risk import ProposedOrder, RiskGuard, RiskRefused, RiskView
from okxbot.trading.venue import Venue
from okxbot.trading.waves import PLACE, route

log = logging.getLogger("okxbot.trading.orders")

ZERO = Decimal(0)


# What an order request's item got, besides OKX's codes ("0": accepted; else its sCode / code):
LOCAL = "local"  # refused by the client's own checks before sending (OKX's rules, checked locally)
OPS = ("place", "cancel", "amend")
_SIBLINGS_KEPT = 10_000  # other bots' clOrdIds remembered (OrderManager._siblings), then forgotten


@dataclass
class Stats:
    placed: int = 0
    refused: int = 0  # refused locally, nothing sent: a risk rule or the funds check
    no_funds: int = 0  # of which: the bot's tracked balance could not pay for the order
    rejected: int = 0  # placements refused (by OKX, by the client's checks, or never placed)
    canceled: int = 0
    fills: int = 0
    unknown: int = 0  # placements whose answer left the outcome unknown (settled in the background)
    rate_limited: int = 0  # OKX 50011 answers (every order path, per order; and failed polls)
    account_limited: int = 0  # OKX 50061 answers (the sub-account's order budget), per order
    # (op, code) -> count: every known outcome of an order request, per order of a batch
    answers: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    clock: Clock = field(default=SYSTEM_CLOCK, repr=False, compare=False)  # stamps the errors

    def error(self, message: str) -> None:
        stamp = datetime.fromtimestamp(self.clock.now_ms() / 1000, UTC)
        self.errors = [*self.errors[-4:], f"{stamp:%H:%M:%S} {message}"]

    def answered(self, op: str, code: str) -> None:
        self.answers[(op, code)] += 1
        if op == "place":
            if code == "0":
                self.placed += 1
            else:
                self.rejected += 1
        if code == "50011":
            self.rate_limited += 1
        elif code == "50061":
            self.account_limited += 1


Listener = Callable[[str, Any], Awaitable[None] | None]
# fn(op, code): op "place" | "cancel" | "amend"; code "0" (accepted), OKX's code, LOCAL or NEVER_PLACED
AnswerListener = Callable[[str, str], None]


@dataclass(frozen=True)
class OrderSpec:
    """One order of a wave (`OrderManager.place_many`)."""

    side: str
    amount: Decimal
    price: Decimal | None = None
    post_only: bool = False


class OrderManager(OrderChanges, OrderSync):
    def __init__(
        self,
        client: Venue,
        journal: Journal,
        risk: RiskGuard,
        rules: InstrumentRules,
        *,
        cancel_foreign: bool = False,
        clock: Clock | None = None,
    ) -> None:
        """`clock`: where time is read (`okxbot.trading.clock`); default the venue's clock."""
        self.client = client
        self.journal = journal
        self.risk = risk
        self.rules = rules
        self.symbol = rules.symbol
        self.cancel_foreign = cancel_foreign
        self.clock: Clock = clock or VenueClock(client.okx_now_ms)
        self.mid: Decimal | None = None
        self.stats = Stats(clock=self.clock)
        self.foreign: dict[str, Order] = {}  # ordId -> an order on the key that okxbot did not place
        self.listeners: list[Listener] = []
        self.answer_listeners: list[AnswerListener] = []  # every order request's outcome (`_answered`)
        # swap bots: an order without clOrdId placed by one of the bot's algo orders, or liquidating its
        # position -> the same order with the clOrdId it is journaled under
        # (`okxbot.trading.swap_algos.AlgoKeeper.adopt_child`); any other order is returned as it is
        self.adopt: Callable[[Mapping[str, Any]], Awaitable[Mapping[str, Any]]] | None = None
        # tick-to-order latency: the runner sets `cause` while a market-data hook runs; the first
        # order placed then is timed from that message's frame to its request's bytes (latency.py)
        self.cause: Tick | None = None
        self.latency = LatencyLog()
        self._wire = getattr(client, "wire", None)  # okx.wire.WireProbe, where the venue has one
        # While the orders channel reports every state change, a placement needs no read-back GET
        # (the runner clears this when the channel is up, and sets it again when it goes down).
        self.confirm_placements = True
        self.doubts = Doubts(self._check_doubt, client.okx_now_ms, self.clock)
        self._open: dict[str, JournalOrder] = {o.client_order_id: o for o in journal.open_orders()}
        self._by_ord_id: dict[str, str] = {
            o.order_id: o.client_order_id for o in self._open.values() if o.order_id
        }
        self._fills: list[JournalFill] = []
        # clOrdIds journaled by other bots on this key and journal (okxbot serve runs many): an order
        # belongs to one bot for good, so each is looked up in the journal once, not at every poll
        self._siblings: set[str] = set()
        # this session's sends (and fills, below), in order: the parity hash (`session_hash`)
        self._sent_digest = OrderDigest()
        self._session_fills_from = 0
        self._fill_sums: dict[str, Decimal] = {}  # clOrdId -> size of its journaled fills
        self._sums = PnlSums(rules.base)
        self._day_sums: dict[int, PnlSums] = {}  # UTC day -> that day's fills (the daily loss limit)
        for fill in journal.fills():
            self._count_fill(fill)
        self._session_fills_from = len(self._fills)
        self._req_ids = itertools.count(1)
        # the funds check's balance: the runner feeds OKX's reports (REST and the account channel)
        self.funds = Funds(rules.base, rules.quote)
        for o in self._open.values():
            if o.price is not None:
                self.funds.sent(o.client_order_id, o.side, o.amount, o.price)
        self._lock = asyncio.Lock()  # serialises journal transitions from the two update paths
        self._changed = asyncio.Event()  # set on every journaled change (cancel_all_own waits on it)

    async def close(self) -> None:
        """Stop the background settling of doubts (what is left is settled by the next start)."""
        await self.doubts.close()

    # ---- views ----------------------------------------------------------------------------------
    def open_orders(self) -> list[JournalOrder]:
        return list(self._open.values())

    def fills(self) -> list[JournalFill]:
        return list(self._fills)

    def pnl(self, since_ms: int | None = None) -> Pnl:
        """PnL of the bot's fills (all, or those since `since_ms`), marked at the latest mid."""
        if since_ms is None:
            return self._sums.at(self.mid)
        fills = [f for f in self._fills if f.ts_ms >= since_ms]
        return Pnl.from_fills(fills, self.rules.base, self.mid, self._sums.factor)

    def pnl_today(self) -> Pnl:
        """PnL of today's fills (UTC day, on the clock), what the daily loss limit watches."""
        today = self._day_sums.get(utc_day(self.clock.now_ms()))
        return (today or PnlSums(self.rules.base, factor=self._sums.factor)).at(self.mid)

    def position(self) -> Decimal:
        return self._sums.position

    def value_sizes(self, factor: Decimal) -> None:
        """Fill sizes are worth `factor` base each (a linear swap's contracts): PnL in the quote currency."""
        fills, self._fills = self._fills, []
        self._sums, self._day_sums, self._fill_sums = PnlSums(self.rules.base, factor=factor), {}, {}
        for fill in fills:
            self._count_fill(fill)

    def session_fills(self) -> list[JournalFill]:
        """The fills recorded since this manager started, in the order they were recorded."""
        return self._fills[self._session_fills_from :]

    def session_hash(self) -> str:
        """The parity hash (`okxbot.trading.parity`) of this session: the orders it sent, in the
        order they were sent, and the fills it recorded, in the order they were recorded."""
        return self._sent_digest.hexdigest(
            FillStep(f.side, f.price, f.size, f.fee) for f in self.session_fills()
        )

    def _count_fill(self, fill: JournalFill) -> None:
        self._fills.append(fill)
        self._sums.add(fill)
        self._day_sums.setdefault(
            utc_day(fill.ts_ms), PnlSums(self.rules.base, factor=self._sums.factor)
        ).add(fill)
        cid = fill.client_order_id
        self._fill_sums[cid] = self._fill_sums.get(cid, ZERO) + fill.size

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

    def _first_check_s(self) -> float:
        # with the orders channel up its push usually settles a doubt first: look later, and less
        return 0.25 if self.confirm_placements else 2.0

    # ---- placing --------------------------------------------------------------------------------
    async def place(
        self, side: str, amount: Decimal, price: Decimal | None = None, *, post_only: bool = False
    ) -> JournalOrder | None:
        """Risk-check, journal and send one order; None if the guard or OKX refused it.

        An order whose answer left its outcome unknown is returned in state "unknown": it is
        settled in the background (found by clOrdId, or certainly never placed) and never resent."""
        cause, self.cause = self.cause, None  # the market message it answers: timed once
        decided = _perf_ns() if cause is not None else 0
        intent = await self._prepare(OrderSpec(side, amount, price, post_only))
        if intent is None:
            return None
        checked = _perf_ns() if cause is not None else 0
        return await self._send(intent, cause, decided, checked)

    async def send_prepared(self, intent: OrderIntent) -> JournalOrder | None:
        """Journal and send an order checked elsewhere (a swap bot's: `okxbot.trading.swap_manager`,
        which has run the risk rules and journaled its swap fields); the same write-ahead and the same
        handling of the answer as `place`."""
        self.cause = None
        self._track(intent)
        return await self._send(intent, None, 0, 0)

    async def _send(
        self, intent: OrderIntent, cause: Tick | None, decided: int, checked: int
    ) -> JournalOrder | None:
        self._journal_sent([intent])
        timed = self._timer(cause, decided, checked, intent.client_order_id)
        try:
            order = await self.client.place(intent, confirm=self.confirm_placements, wait=False)
        except OkxError as err:
            return await self._placed(PlaceResult(intent, None, err))
        except asyncio.CancelledError:
            self._in_doubt([intent])
            raise
        finally:
            if timed is not None:
                timed()
        return await self._placed(PlaceResult(intent, order, None))

    async def place_many(self, specs: Sequence[OrderSpec]) -> list[JournalOrder | None]:
        """Place orders that go out together (a grid's quotes): each risk-checked (counting the ones
        before it), all journaled in one commit, then sent through the batch endpoint (20 per request)
        with the overflow through the single-order one (`waves.route`). One result per spec."""
        cause, self.cause = self.cause, None
        decided = _perf_ns() if cause is not None else 0
        intents = [await self._prepare(spec) for spec in specs]
        ready = [i for i in intents if i is not None]
        if not ready:
            return [None] * len(intents)
        checked = _perf_ns() if cause is not None else 0
        self._journal_sent(ready)
        timed = self._timer(cause, decided, checked, ready[0].client_order_id)
        n_batch, _ = await route(self.client.headroom, PLACE, self.rules.inst_id, len(ready))
        batch, singles = ready[:n_batch], ready[n_batch:]
        try:
            groups = await asyncio.gather(self._send_batch(batch), *(self._send_one(i) for i in singles))
        except asyncio.CancelledError:
            self._in_doubt(ready)
            raise
        if timed is not None:
            timed()
        results = groups[0] + [r for group in groups[1:] for r in group]
        placed = {r.intent.client_order_id: await self._placed(r) for r in results}
        return [None if i is None else placed.get(i.client_order_id) for i in intents]

    async def _prepare(self, spec: OrderSpec) -> OrderIntent | None:
        """Risk check and local validation; the order is then counted open (journaled next)."""
        try:
            self.risk.check(ProposedOrder(self.symbol, spec.side, spec.amount, spec.price), self._view())
        except RiskRefused as refused:
            self.stats.refused += 1
            self.stats.error(str(refused))
            return None
        try:
            intent = await self.client.prepare_order(
                self.symbol, spec.side, spec.amount, spec.price, post_only=spec.post_only, check_funds=False
            )
        except OkxError as err:
            self._answered("place", LOCAL)
            self.stats.error(f"order refused before sending: {err.message}")
            log.warning("order refused before sending: %s", err)
            return None
        cid = intent.client_order_id
        reserve_px = intent.price if intent.price is not None else self.mid
        if reserve_px is not None:
            try:
                self.funds.check(spec.side, intent.amount, reserve_px)
            except InsufficientFunds as refused:
                self.stats.refused += 1
                self.stats.no_funds += 1
                self.stats.error(f"order refused before sending: {refused}")
                log.warning("order refused before sending: %s", refused, extra={"ccy": refused.ccy})
                return None
            # no await since the check: the next order sees this one's reserve
            self.funds.sent(cid, spec.side, intent.amount, reserve_px)
        self._track(intent)
        return intent

    def _track(self, intent: OrderIntent) -> None:
        """Count the order open from now (it is journaled next)."""
        self._open[intent.client_order_id] = JournalOrder(
            intent.client_order_id, self.journal.bot, self.symbol, intent.side, intent.amount, intent.price,
            "sent", None, ZERO, "bot",
        )  # fmt: skip

    def _journal_sent(self, intents: list[OrderIntent]) -> None:
        """Write-ahead: the intents are committed as "sent" before any request leaves."""
        for i in intents:
            self._sent_digest.add(OrderStep(i.side, i.order_type, i.price, i.amount))
        if len(intents) == 1:
            i = intents[0]
            self.journal.record_intent(
                i.client_order_id, self.symbol, i.side, i.amount, i.price, state="sent"
            )
        else:
            self.journal.record_intents(
                [NewOrder(i.client_order_id, self.symbol, i.side, i.amount, i.price) for i in intents],
                state="sent",
            )

    def _timer(self, cause: Tick | None, decided: int, checked: int, cid: str) -> Callable[[], None] | None:
        """For the first order a market message caused: await its request's bytes at the socket;
        the returned function, called once the request is out, records the sample."""
        wire = self._wire
        if cause is None or wire is None:
            return None
        journaled = _perf_ns()
        wire.expect(cid)

        def done() -> None:
            written = wire.written(cid)
            if written:
                self.latency.add(
                    LatencySample(cause.frame_ns, cause.parsed_ns, decided, checked, journaled, written)
                )

        return done

    def _in_doubt(self, intents: list[OrderIntent]) -> None:
        """The caller was cancelled while these were on their way: whatever OKX made of them is
        settled in the background (the request may still arrive and execute until its expTime)."""
        horizon = self.client.horizon_ms()
        for intent in intents:
            cid = intent.client_order_id
            record = self._open.get(cid)
            if record is not None and record.state in IN_FLIGHT and not self.doubts.has(cid, "place"):
                self.doubts.add(cid, "place", horizon, first_check_s=self._first_check_s())

    async def _send_one(self, intent: OrderIntent) -> list[PlaceResult]:
        try:
            order = await self.client.place(intent, confirm=self.confirm_placements, wait=False)
        except OkxError as err:
            return [PlaceResult(intent, None, err)]
        return [PlaceResult(intent, order, None)]

    async def _send_batch(self, intents: list[OrderIntent]) -> list[PlaceResult]:
        if not intents:
            return []
        try:
            return await self.client.place_batch(intents, confirm=self.confirm_placements, wait=False)
        except OkxError as err:
            return [PlaceResult(i, None, err) for i in intents]

    async def _placed(self, result: PlaceResult) -> JournalOrder | None:
        """Journal what a placement's answer says: placed, refused, or unknown (then in doubt)."""
        cid = result.intent.client_order_id
        if result.order is not None:
            self.doubts.discard(cid, "place")
            self._answered("place", "0")
            await self.apply_order(result.order.raw or {}, result.order)
            return self._open.get(cid) or self.journal.order(cid)
        err = result.error
        assert err is not None
        record = self._open.get(cid)
        if record is not None and record.state not in IN_FLIGHT:
            self._answered("place", "0")  # the orders channel reported it before this answer: it exists
            return record
        if err.outcome_unknown:
            # OKX may still execute it (up to its expTime): settle by clOrdId, never send it again
            settle = err.settle_at_ms if isinstance(err, OkxOutcomeUnknown) else self.client.horizon_ms()
            await self._transition(cid, "unknown", note=err.message)
            self.stats.unknown += 1
            self.stats.error(f"order {cid}: outcome unknown, looking it up")
            self.doubts.add(cid, "place", settle, first_check_s=self._first_check_s())
            return self._open.get(cid)
        await self._transition(cid, "rejected", note=f"{err.code or ''} {err.message}".strip())
        self._answered("place", err.code or (LOCAL if err.local else "unknown"))
        self.stats.error(f"order rejected: {err.message}")
        log.warning("order %s rejected: %s", cid, err)
        return None

    # ---- updates ----------------------------------------------------------------------------------
    async def apply_order(self, raw: Mapping[str, Any], order: Order | None = None) -> None:
        """One order object (orders-channel push, REST answer); fields per OKX's wire form."""
        if self.adopt is not None and not raw.get("clOrdId"):
            # swap bots: an order one of the bot's algo orders placed, or the liquidation of its position
            adopted = await self.adopt(raw)
            order, raw = (None, adopted) if adopted is not raw else (order, raw)
        order = order or Order.from_okx(raw, self.symbol)
        cid = order.client_order_id
        record = self._open.get(cid) if cid else None
        if record is None:
            if cid in self._siblings:
                return
            record = self.journal.order(cid) if cid else None
            if record is None:
                self._flag_foreign(order)
                return
            if record.bot != self.journal.bot:
                self._sibling(cid)
                return  # another bot's order (bots may share one journal database)
        self.funds.seen(cid, order)
        if order.state != ACCEPTED and self.doubts.has(cid, "place"):
            self.doubts.discard(cid, "place")  # found: it exists
            self._answered("place", "0")
        self.doubts.discard(cid, "lookup")
        filled = None if order.state == ACCEPTED else order.filled
        state = reported_state(record.state, order.state)
        if record.state == "amend_pending" and state == "amend_pending":
            await self._read_amendment(cid, order, raw)
        elif state is not None:
            await self._transition(cid, state, order_id=order.order_id, filled=filled)
        trade_id = str(raw.get("tradeId") or "")
        fill_size = dec(raw.get("fillSz"))
        # Only the orders channel says what one fill cost (fillFee). A REST order object names its
        # last fill too, without its fee: that fill is read from the fills endpoint (`_owe_fills`
        # below), so that the journal never holds a fill with a fee it was not told.
        if trade_id and fill_size and "fillFee" in raw:
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
                    int(raw.get("fillTime") or raw.get("uTime") or self.clock.now_ms()),
                )
            )
        now = self._open.get(cid)
        # fills owed first: the doubts never look empty in between (someone may be settling)
        self._owe_fills(cid, now or self.journal.order(cid))
        if now is None:
            self.doubts.discard(cid, "cancel")
            self.doubts.discard(cid, "amend")

    def _owe_fills(self, cid: str, record: JournalOrder | None) -> None:
        """The order's filled amount is ahead of its journaled fills: read them (in the background)."""
        if record is None or record.filled <= self._fill_sums.get(cid, ZERO) or self.doubts.has(cid, "fills"):
            return
        self.doubts.add(cid, "fills", None, first_check_s=self._first_check_s())

    def _sibling_order(self, cid: str) -> bool:
        """Journaled by another bot on the same key and journal (okxbot serve runs many): that bot's
        to track; neither this bot's nor foreign."""
        if cid in self._siblings:
            return True
        record = self.journal.order(cid)
        if record is not None and record.bot != self.journal.bot:
            self._sibling(cid)
            return True
        return False

    def _sibling(self, cid: str) -> None:
        if len(self._siblings) >= _SIBLINGS_KEPT:  # bounded: forgotten ones are looked up once more
            self._siblings.clear()
        self._siblings.add(cid)

    async def record_fill(self, fill: JournalFill) -> None:
        if self.journal.add_fill(fill):
            self._count_fill(fill)
            self.funds.fill(fill)
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
        price: Decimal | None = None,
        amount: Decimal | None = None,
        settled: bool = False,
    ) -> None:
        amended = price is not None or amount is not None
        async with self._lock:
            known = self._open.get(cid)
            if (
                known is not None
                and not changes(known.state, known.filled, state, filled, settled=settled)
                and not (amended and state == known.state)
            ):
                return  # a repeated report (push and poll both tell it): no journal round trip
            changed = self.journal.transition(
                cid,
                state,
                order_id=order_id or None,
                filled=filled,
                note=note,
                price=price,
                amount=amount,
                settled=settled,
            )
            if known is not None and changed:
                record: JournalOrder | None = replace(
                    known,
                    state=state,
                    order_id=order_id or known.order_id,
                    filled=known.filled if filled is None else filled,
                    price=known.price if price is None else price,
                    amount=known.amount if amount is None else amount,
                )
            elif known is not None:
                return
            else:
                record = self.journal.order(cid)
        if record is None:
            return
        if record.order_id:
            self._by_ord_id[record.order_id] = cid
        if amended and changed and record.price is not None:
            self.funds.amended(cid, record.amount, record.price)
        elif record.state != "amend_pending":
            self.funds.amend_done(cid)
        if record.state in FINAL:
            self._open.pop(cid, None)
            if record.state == "rejected":
                self.funds.forget(cid)
            if record.state == "canceled" and changed:
                self.stats.canceled += 1
        else:
            self._open[cid] = record
        if changed:
            self._changed.set()
            await self._emit("order", record)

    def _answered(self, op: str, code: str) -> None:
        """The one place an order request's outcome is counted (per order, single or in a batch,
        whichever path told it): `stats` and `answer_listeners` (okxbot serve's metrics)."""
        self.stats.answered(op, code)
        for listener in self.answer_listeners:
            listener(op, code)

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


def _perf_ns() -> int:
    """Tick-to-order stamps (live latency samples only: a backtest never sets `cause`)."""
    return time.perf_counter_ns()


# the order manager's API, wherever each part lives
__all__ = ["LOCAL", "NEVER_PLACED", "OPS", "AmendSpec", "OrderManager", "OrderSpec", "Pnl", "Stats"]
