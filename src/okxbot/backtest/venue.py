"""`BacktestVenue`: the venue port (`okxbot.trading.venue.Venue`) over the simulator's matching engine.

In process, on the virtual clock: no socket, no sleeping. Requests go to `okxbot.sim.engine.Exchange`
as the wire objects OKX takes (`OrderIntent.body()`, cancel / amend bodies) and come back as the
wire objects OKX answers, parsed by the same `okxbot.okx.models` as live; a refusal becomes the
same `OkxError` (`okxbot.okx.errors.from_code`). So the order manager above cannot tell it from the
OKX client.

Latency model: a place / amend / cancel request (single or batch) reaches the engine `latency_ms`
of virtual time after it was sent, plus 1 µs, so that at an equal millisecond the market's own
event comes first. Its answer, and the order updates it caused, come back at once (the answer
first, then the updates, in the engine's order, as OKX's orders channel sends them). Reads (an order
by id, open orders, fills, balances) are answered at once. Market-caused order updates are handed
over by the replay (`deliver`), right after the market event that caused them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okxbot.backtest.loop import VirtualClock, sleep_until_us
from okxbot.okx.errors import OkxBadRequest, OkxError, OkxInvalidOrder, from_code
from okxbot.okx.ids import new_client_order_id
from okxbot.okx.models import AmendResult, Balance, CancelResult, Fill, Order
from okxbot.okx.order_entry import AmendRequest, OrderIntent, OrderRef, PlaceResult
from okxbot.okx.ratelimit import Headroom
from okxbot.okx.validate import InstrumentRules, check_order, order_basics, plain
from okxbot.sim.events import BalanceEvent, Event, OrderEvent

if TYPE_CHECKING:
    from okxbot.sim.engine import Exchange
    from okxbot.trading.core import BotCore


class BacktestVenue:
    """One bot's account on an in-process `Exchange`, reached through the venue port."""

    def __init__(
        self,
        exchange: Exchange,
        uid: str,
        rules: InstrumentRules,
        clock: VirtualClock,
        latency_ms: int,
        before_request: Callable[[Sequence[Mapping[str, str]]], None] | None = None,
    ) -> None:
        """`before_request(bodies)`: run just before a request reaches the engine, with the order or
        amend bodies it carries (the replay quotes the synthetic book where one could trade)."""
        self.exchange = exchange
        self.uid = uid
        self.rules = rules
        self.clock = clock
        self.latency_ms = latency_ms
        self.latency_us = latency_ms * 1000 + 1
        self._before = before_request
        self.core: BotCore | None = None  # where order updates and balance reports go (the replay sets it)
        self._pushes: list[dict[str, Any]] = []  # orders-channel objects not delivered yet
        self._ccys: set[str] = set()  # currencies whose balance changed since the last delivery
        self._delivering: asyncio.Task[None] | None = None
        self._serial = 0
        self.in_flight = 0  # requests on their way to the engine
        self.changed: asyncio.Event | None = None  # set when a request or a delivery is done
        self.order_types: dict[str, str] = {}  # clOrdId -> OKX ordType, as sent
        self.arrived_ms: dict[str, int] = {}  # clOrdId -> when it reached the engine (virtual)
        self.fill_liquidity: dict[str, str] = {}  # tradeId -> "maker" | "taker"
        self.book_changed = False  # an order of the bot was added, changed or removed
        self._cash: dict[str, Decimal] | None = None  # cash per currency, until a balance changes
        exchange.add_listener(self._on_event)

    # ---- engine events ------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if isinstance(event, OrderEvent):
            if event.uid != self.uid:
                return
            order = event.order
            self._pushes.append(order)
            self.book_changed = True
            trade_id = order.get("tradeId")
            if trade_id:
                self.fill_liquidity[trade_id] = "maker" if order.get("execType") == "M" else "taker"
        elif isinstance(event, BalanceEvent) and event.uid == self.uid:
            self._ccys.update(event.ccys)
            self._cash = None

    def cash(self) -> dict[str, Decimal]:
        """The account's cash per currency (what equity is made of), read once per change."""
        if self._cash is None:
            details = self.exchange.balances(self.uid)["details"]
            self._cash = {d["ccy"]: Decimal(d["cashBal"]) for d in details}
        return self._cash

    def idle(self) -> bool:
        """No request on its way and nothing left to deliver."""
        return self.in_flight == 0 and not self._pushes and not self._ccys and self._delivering is None

    def _signal(self) -> None:
        if self.changed is not None:
            self.changed.set()

    async def deliver(self) -> None:
        """Hand the order updates and balance changes so far to the bot (orders channel, then the
        account channel), in the engine's order."""
        core = self.core
        while (self._pushes or self._ccys) and core is not None:
            pushes, self._pushes = self._pushes, []
            if pushes:
                await core.apply_orders(pushes)
            if self._ccys:
                ccys, self._ccys = sorted(self._ccys), set()
                balances = self.exchange.balances(self.uid, ccys)
                core.set_balances([Balance.from_okx(d) for d in balances["details"]], full=False)
                # a currency now at zero is no longer listed: report it as empty
                listed = {d["ccy"] for d in balances["details"]}
                gone = [
                    Balance(c, Decimal(0), Decimal(0), Decimal(0), self.clock.now_ms())
                    for c in ccys
                    if c not in listed
                ]
                if gone:
                    core.set_balances(gone, full=False)

    def _deliver_later(self) -> None:
        """Deliver what a request caused once its answer has been handled (a task of its own)."""
        if self._delivering is None and (self._pushes or self._ccys):
            self._delivering = asyncio.get_running_loop().create_task(self._delivery())

    async def _delivery(self) -> None:
        try:
            await self.deliver()
        finally:
            self._delivering = None
            self._signal()

    async def _arrive(self, bodies: Sequence[Mapping[str, str]] = ()) -> None:
        """Travel to the engine: the latency, then the book brought up to the moment."""
        self.in_flight += 1
        try:
            await sleep_until_us(self.clock, self.clock.us + self.latency_us)
        except BaseException:
            self.in_flight -= 1
            raise
        if self._before is not None:
            self._before(bodies)

    def _arrived(self) -> None:
        self.in_flight -= 1
        self._deliver_later()
        self._signal()

    # ---- the venue port: time and room ---------------------------------------------------------
    def okx_now_ms(self) -> int:
        return self.clock.now_ms()

    def horizon_ms(self) -> int:
        return self.clock.now_ms() + self.latency_ms + 1

    async def headroom(self, path: str, inst_id: str) -> Headroom | None:
        return None  # no rate limiter in a backtest: waves go through the batch endpoints

    # ---- orders --------------------------------------------------------------------------------------
    async def prepare_order(
        self,
        symbol: str,
        side: str,
        amount: Decimal | str,
        price: Decimal | str | None = None,
        *,
        post_only: bool = False,
        ioc: bool = False,
        fok: bool = False,
        client_order_id: str | None = None,
        check_funds: bool = True,
    ) -> OrderIntent:
        """Validate against the instrument's rules (and the balance), give a clOrdId; sends nothing."""
        if symbol != self.rules.symbol:
            raise OkxInvalidOrder(
                "51001", f"this backtest trades {self.rules.symbol} only", "Use the bot's symbol.", local=True
            )
        basics = order_basics(
            side, amount, price, post_only=post_only, ioc=ioc, fok=fok, client_order_id=client_order_id,
            new_id=self._new_id,
        )  # fmt: skip
        cid, qty, px, order_type = basics.client_order_id, basics.amount, basics.price, basics.order_type
        available = None
        if check_funds:
            available = {
                b["ccy"]: Decimal(b["availBal"]) for b in self.exchange.balances(self.uid)["details"]
            }
        reference = None
        if px is None and side == "buy":
            ask = self.exchange.book(self.rules.inst_id).best_px("asks")
            reference = ask
        check_order(self.rules, side, qty, px, available=available, reference_price=reference)
        return OrderIntent(symbol, self.rules.inst_id, side, qty, px, order_type, cid)

    def _new_id(self) -> str:
        self._serial += 1
        return new_client_order_id(now_ms=self.clock.now_ms(), serial=self._serial)

    def _placed(self, intent: OrderIntent, ack: Mapping[str, str], confirm: bool) -> PlaceResult:
        cid = intent.client_order_id
        self.order_types[cid] = intent.order_type
        self.arrived_ms[cid] = self.clock.now_ms()
        if ack.get("sCode") != "0":
            return PlaceResult(intent, None, from_code(str(ack.get("sCode")), ack.get("sMsg", "")))
        if confirm:
            found = self.exchange.get_order(self.uid, intent.inst_id, cl_ord_id=cid)
            if found is not None:
                return PlaceResult(intent, Order.from_okx(found, intent.symbol), None)
        return PlaceResult(intent, intent.accepted(dict(ack)), None)

    async def place(self, intent: OrderIntent, *, confirm: bool = True, wait: bool = True) -> Order:
        body = intent.body()
        await self._arrive([body])
        try:
            result = self._placed(intent, self.exchange.place_order(self.uid, body), confirm)
        finally:
            self._arrived()
        if result.error is not None:
            raise result.error
        assert result.order is not None
        return result.order

    async def place_batch(
        self, intents: Sequence[OrderIntent], *, confirm: bool = False, wait: bool = True
    ) -> list[PlaceResult]:
        bodies = [i.body() for i in intents]
        await self._arrive(bodies)  # a batch request arrives whole: its orders in order
        try:
            return [
                self._placed(i, self.exchange.place_order(self.uid, b), confirm)
                for i, b in zip(intents, bodies, strict=True)
            ]
        finally:
            self._arrived()

    def _ref(self, symbol: str, order_id: str | None, client_order_id: str | None) -> dict[str, str]:
        if not order_id and not client_order_id:
            raise from_code("51003", "neither order id nor client order id given", local=True)
        ref = {"instId": self.rules.inst_id}
        if order_id:
            ref["ordId"] = str(order_id)
        else:
            ref["clOrdId"] = str(client_order_id)
        return ref

    @staticmethod
    def _cancel_result(symbol: str, body: Mapping[str, str], ack: Mapping[str, str]) -> CancelResult:
        ok = ack.get("sCode") == "0"
        return CancelResult(
            symbol,
            str(ack.get("ordId") or body.get("ordId") or ""),
            str(ack.get("clOrdId") or body.get("clOrdId") or ""),
            ok,
            "0" if ok else str(ack.get("sCode", "")),
            str(ack.get("sMsg", "")),
        )

    async def cancel_order(
        self, symbol: str, order_id: str | None = None, *, client_order_id: str | None = None
    ) -> CancelResult:
        body = self._ref(symbol, order_id, client_order_id)
        await self._arrive()
        try:
            result = self._cancel_result(symbol, body, self.exchange.cancel_order(self.uid, body))
        finally:
            self._arrived()
        if not result.ok:
            raise from_code(result.code, result.message)
        return result

    async def cancel_batch(self, refs: Sequence[OrderRef]) -> list[CancelResult]:
        bodies = [self._ref(r.symbol, r.order_id, r.client_order_id) for r in refs]
        await self._arrive()
        try:
            return [
                self._cancel_result(r.symbol, b, self.exchange.cancel_order(self.uid, b))
                for r, b in zip(refs, bodies, strict=True)
            ]
        finally:
            self._arrived()

    def _amend_body(self, request: AmendRequest) -> dict[str, str]:
        if request.new_price is None and request.new_amount is None:
            raise OkxBadRequest(
                "50015", "nothing to amend", "Give a new price, a new amount or both.", local=True
            )
        body = self._ref(request.symbol, request.order_id, request.client_order_id)
        if request.new_price is not None:
            body["newPx"] = plain(request.new_price)
        if request.new_amount is not None:
            body["newSz"] = plain(request.new_amount)
        if request.req_id:
            body["reqId"] = request.req_id
        return body

    @staticmethod
    def _amend_result(request: AmendRequest, ack: Mapping[str, str]) -> AmendResult:
        ok = ack.get("sCode") == "0"
        return AmendResult(
            request.symbol,
            str(ack.get("ordId") or request.order_id or ""),
            str(ack.get("clOrdId") or request.client_order_id or ""),
            request.req_id,
            ok,
            "0" if ok else str(ack.get("sCode", "")),
            str(ack.get("sMsg", "")),
        )

    async def amend_order(
        self,
        symbol: str,
        order_id: str | None = None,
        *,
        client_order_id: str | None = None,
        new_price: Decimal | None = None,
        new_amount: Decimal | None = None,
        req_id: str = "",
    ) -> AmendResult:
        request = AmendRequest(symbol, order_id, client_order_id, new_price, new_amount, req_id)
        body = self._amend_body(request)
        await self._arrive([body])
        try:
            result = self._amend_result(request, self.exchange.amend_order(self.uid, body))
        finally:
            self._arrived()
        if not result.ok:
            raise from_code(result.code, result.message)
        return result

    async def amend_batch(self, requests: Sequence[AmendRequest]) -> list[AmendResult]:
        bodies = [self._amend_body(r) for r in requests]
        await self._arrive(bodies)
        try:
            return [
                self._amend_result(r, self.exchange.amend_order(self.uid, b))
                for r, b in zip(requests, bodies, strict=True)
            ]
        finally:
            self._arrived()

    # ---- reads ---------------------------------------------------------------------------------------
    async def find_order(
        self, symbol: str, client_order_id: str | None = None, *, order_id: str | None = None
    ) -> Order | None:
        found = self.exchange.get_order(
            self.uid, self.rules.inst_id, ord_id=order_id, cl_ord_id=client_order_id
        )
        return None if found is None else Order.from_okx(found, symbol)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        params = {"instType": "SPOT", "instId": self.rules.inst_id}
        orders: list[Order] = []
        while True:
            page = self.exchange.pending_orders(self.uid, params)
            orders += [Order.from_okx(o, self.rules.symbol) for o in page]
            if len(page) < 100:
                return orders
            params = {**params, "after": str(page[-1]["ordId"])}

    async def fetch_fills(
        self, symbol: str | None = None, limit: int = 100, *, order_id: str | None = None
    ) -> list[Fill]:
        params = {"instType": "SPOT", "instId": self.rules.inst_id, "limit": str(limit)}
        if order_id:
            params["ordId"] = str(order_id)
        return [Fill.from_okx(f, self.rules.symbol) for f in self.exchange.fills(self.uid, params)]

    async def fetch_balance(self) -> dict[str, Balance]:
        details = self.exchange.balances(self.uid)["details"]
        return {b.ccy: b for b in (Balance.from_okx(d) for d in details)}


def refusal(err: OkxError) -> str:
    """How a refusal reads in the result and logs."""
    return f"{err.code or ''} {err.message}".strip()
