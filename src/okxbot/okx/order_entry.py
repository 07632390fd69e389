"""Order entry for `OkxClient`: place, amend and cancel, one order or batches of 20; never twice.

OKX answers before its matching engine is done. After an ambiguous answer (timeout, dropped
connection, 5xx, 50001, 50004, 50013, 50026, 51149, an unreadable answer) a place or amend request
can still execute, up to its expTime; an order that completes at once (market, IOC, FOK, crossing
limit) then frees its clOrdId, so sending the same clOrdId again could make a second order. So:

* every place / amend request carries `expTime` (REST header, WebSocket field; `OkxExchange`);
* an ambiguous answer makes the outcome unknown (`OkxOutcomeUnknown`) until the order is found by
  clOrdId, or until its settle time has passed and a lookup still finds nothing. The settle time is
  the request's expTime + the measured clock error (`Clock.error_ms`) + `ClientConfig.read_lag_ms`,
  an allowance for OKX's read endpoints showing an execution late (OKX documents no bound; the
  simulator's `readLagMs` models one). Only then is the order known never to have been placed;
* nothing is sent again while its outcome is unknown. `place(wait=True)` (the CLI) waits for the
  outcome and sends again only when it is "never placed"; `wait=False` (the order manager) raises
  `OkxOutcomeUnknown` at once and resolves it in the background with `find_order`.

A cancel carries no expTime (OKX takes none): its acknowledgement only means "accepted", and an
ambiguous cancel is settled by the order's state, which the caller keeps watching.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okxbot.okx.batch import ItemOutcome, chunked, send_batch
from okxbot.okx.errors import (
    OkxBadRequest,
    OkxError,
    OkxInsufficientFunds,
    OkxOrderNotFound,
    OkxOutcomeUnknown,
    answers_are_checked,
    from_code,
)
from okxbot.okx.models import ACCEPTED, AmendResult, CancelResult, Order
from okxbot.okx.ratelimit import Headroom
from okxbot.okx.validate import plain

if TYPE_CHECKING:
    from okxbot.okx.client import ClientConfig
    from okxbot.okx.clock import Clock
    from okxbot.okx.exchange import OkxExchange


@dataclass(frozen=True)
class OrderIntent:
    """A validated order with its clOrdId, known to the caller before anything is sent."""

    symbol: str
    inst_id: str
    side: str
    amount: Decimal
    price: Decimal | None
    order_type: str  # OKX ordType
    client_order_id: str

    def body(self) -> dict[str, str]:
        body = {
            "instId": self.inst_id,
            "tdMode": "cash",
            "clOrdId": self.client_order_id,
            "side": self.side,
            "ordType": self.order_type,
            "sz": plain(self.amount),
        }
        if self.price is not None:
            body["px"] = plain(self.price)
        if self.order_type == "market":
            body["tgtCcy"] = "base_ccy"  # the amount is in the base currency, like limit orders
        return body

    def accepted(self, ack: dict[str, Any]) -> Order:
        """The order as OKX acknowledged it (state "accepted": its fill state is not known yet)."""
        return Order(
            self.symbol,
            self.inst_id,
            self.client_order_id,
            str(ack.get("ordId", "")),
            self.side,
            self.order_type,
            self.amount,
            self.price,
            ACCEPTED,
            raw=dict(ack),
        )


@dataclass(frozen=True)
class PlaceResult:
    """One order of `place_batch`: placed (`order`), refused (`error`), or unknown
    (`error` is an `OkxOutcomeUnknown`: look it up by clOrdId, never send it again before)."""

    intent: OrderIntent
    order: Order | None
    error: OkxError | None

    @property
    def unknown(self) -> bool:
        return self.order is None and isinstance(self.error, OkxOutcomeUnknown)


@dataclass(frozen=True)
class OrderRef:
    """One existing order: its symbol and its ordId (preferred) or clOrdId."""

    symbol: str
    order_id: str | None = None
    client_order_id: str | None = None


@dataclass(frozen=True)
class AmendRequest:
    """A new price and/or amount for one order; `req_id` comes back in the orders channel."""

    symbol: str
    order_id: str | None = None
    client_order_id: str | None = None
    new_price: Decimal | None = None
    new_amount: Decimal | None = None
    req_id: str = ""


@answers_are_checked
class OrderEntry:
    """The order methods of `OkxClient` (a mixin: it uses the client's exchange, clock and calls)."""

    config: ClientConfig
    raw: OkxExchange
    clock: Clock

    if TYPE_CHECKING:

        async def _call(self, awaitable: Any, *, partial_ok: bool = False) -> Any: ...
        async def _inst_id(self, symbol: str) -> str: ...
        async def _order_ref(
            self, symbol: str, order_id: str | None, client_order_id: str | None
        ) -> dict[str, str]: ...
        async def _with_available(self, err: OkxError, intent: OrderIntent) -> OkxError: ...

    # ---- time and room --------------------------------------------------------------------------
    def okx_now_ms(self) -> int:
        """OKX's clock now, as measured (the clock settle times are on)."""
        return self.clock.now_ms()

    def horizon_ms(self) -> int:
        """The settle time of an order request signed now: any request sent before now has either
        executed and shows on OKX's read endpoints by then, or never will."""
        if self.config.exp_time_ms is None:
            return (
                self.clock.now_ms() + self.config.timeout_ms + self.clock.error_ms + self.config.read_lag_ms
            )
        settle = self.settle_at(self.clock.now_ms() + self.config.exp_time_ms)
        assert settle is not None
        return settle

    async def headroom(self, path: str, inst_id: str) -> Headroom | None:
        """What `inst_id`'s single-order and batch buckets of `path`'s operation can take now,
        without waiting for the rate limiter (`RateLimiter.headroom`); None without a limiter."""
        headroom = getattr(getattr(self, "limiter", None), "headroom", None)
        if headroom is None:
            return None
        result: Headroom = await headroom(path, inst_id)
        return result

    # ---- when an unknown outcome is settled ---------------------------------------------------------
    def settle_at(self, exp_time_ms: int | None) -> int | None:
        """OKX time after which a request signed with `exp_time_ms` can no longer execute and OKX's
        read endpoints would show it if it had: expTime + clock error + read-lag allowance."""
        if exp_time_ms is None:
            return None
        return exp_time_ms + self.clock.error_ms + self.config.read_lag_ms

    def outcome_unknown(
        self, symbol: str, what: str, ident: str, err: OkxError, settle_at_ms: int | None
    ) -> OkxOutcomeUnknown:
        """The error for a request whose outcome is unknown (`what`: "order", "amend", "cancel")."""
        when = (
            "until it is found or its expTime has passed"
            if settle_at_ms is not None
            else "until it is found (no expTime was sent)"
        )
        return OkxOutcomeUnknown(
            err,
            f"{what} of {ident} on {symbol}: outcome unknown after {err.message}",
            f"OKX may still execute it {when}. Look the order up by its client order id ({ident}) "
            "before placing it again (okxbot's order manager does so itself).",
            settle_at_ms=settle_at_ms,
            details={"client_order_id": ident, "settle_at_ms": settle_at_ms},
        )

    async def find_order(
        self, symbol: str, client_order_id: str | None = None, *, order_id: str | None = None
    ) -> Order | None:
        """One lookup by clOrdId (or ordId), pending or done; None when OKX shows no such order.

        None is proof of absence only after the request's settle time (read lag)."""
        try:
            return await self.fetch_order(symbol, order_id, client_order_id=client_order_id)
        except OkxOrderNotFound:
            return None

    async def _find_patiently(self, symbol: str, cid: str, unknown: OkxOutcomeUnknown) -> Order | None:
        """`find_order`, retried while the lookup itself fails; raises `unknown` if it keeps failing."""
        for attempt in range(4):
            try:
                return await self.find_order(symbol, cid)
            except OkxError as exc:
                if not (
                    exc.outcome_unknown or exc.family in ("network", "exchange_unavailable", "rate_limit")
                ):
                    raise
                await asyncio.sleep(0.2 * 2**attempt)
        raise unknown

    async def await_outcome(self, symbol: str, cid: str, unknown: OkxOutcomeUnknown) -> Order | None:
        """Wait until an unknown placement is known: the order, or None once it is certain that it
        was never placed (not found after its settle time). Raises `unknown` if that cannot be known
        (no expTime, or OKX cannot be asked)."""
        found = await self._find_patiently(symbol, cid, unknown)
        if found is not None:
            return found
        if unknown.settle_at_ms is None:
            raise unknown
        await self._sleep_until(unknown.settle_at_ms)
        return await self._find_patiently(symbol, cid, unknown)

    async def _sleep_until(self, okx_ms: int) -> None:
        delay = (okx_ms - self.clock.now_ms()) / 1000
        if delay > 0:
            await asyncio.sleep(delay)

    # ---- placing ------------------------------------------------------------------------------------
    async def place(self, intent: OrderIntent, *, confirm: bool = True, wait: bool = True) -> Order:
        """Send a prepared order; never places it twice.

        `confirm=True` reads the order back after OKX acknowledges it, so the returned state says
        whether it filled. `confirm=False` saves that request for callers that learn the state
        elsewhere (the orders channel): the returned state is then "accepted".

        After an ambiguous answer the outcome is unknown (module docstring). `wait=False` raises
        `OkxOutcomeUnknown` at once (with its `settle_at_ms`). `wait=True` looks the order up, waits
        until the settle time if it is not found, looks again, and sends the order again (same
        clOrdId, new expTime) only when it is certain it was never placed; it raises
        `OkxOutcomeUnknown` if that cannot be known. 51016 "clOrdId already exists" is that order.
        """
        cid = intent.client_order_id
        last: OkxError | None = None
        for _attempt in range(self.config.max_place_attempts):
            try:
                outcome = (
                    await send_batch(
                        self.raw.privatePostTradeOrder, [intent.body()], needs_ord_id=True, single=True
                    )
                )[0]
            finally:
                exp_time = self.raw.okx_exp_time("trade/order", cid)
            if outcome.ack is not None:
                if confirm:
                    try:
                        # the acknowledgement says "accepted", not whether it filled: read it back
                        found = await self.find_order(intent.symbol, cid)
                    except OkxError:
                        found = None
                    if found is not None:
                        return found
                return intent.accepted(outcome.ack)
            err = outcome.error
            assert err is not None
            if err.code == "51016":
                # an order with this clOrdId is pending on OKX: it is this one (or the caller reused
                # an id); if read lag hides it, its outcome is unknown rather than refused
                found = await self.find_order(intent.symbol, cid)
                if found is not None:
                    return found
                err = self.outcome_unknown(intent.symbol, "order", cid, err, self.settle_at(exp_time))
                if not wait:
                    raise err
                found = await self.await_outcome(intent.symbol, cid, err)
                if found is not None:
                    return found
                raise err.cause
            if isinstance(err, OkxInsufficientFunds):
                raise await self._with_available(err, intent)
            if not err.outcome_unknown:
                raise err
            unknown = self.outcome_unknown(intent.symbol, "order", cid, err, self.settle_at(exp_time))
            if not wait:
                raise unknown
            found = await self.await_outcome(intent.symbol, cid, unknown)
            if found is not None:
                return found
            last = err  # certainly never placed: safe to send again
        assert last is not None
        raise self._not_placed(intent, last)

    def _not_placed(self, intent: OrderIntent, err: OkxError) -> OkxError:
        return type(err)(
            err.code,
            f"{err.message}; order {intent.client_order_id} was not placed "
            f"({self.config.max_place_attempts} attempts, each checked by client order id after "
            "its expTime)",
            err.hint,
            err.ccxt_class,
            http_status=err.http_status,
        )

    async def place_batch(
        self, intents: Sequence[OrderIntent], *, confirm: bool = False, wait: bool = True
    ) -> list[PlaceResult]:
        """Place many orders through OKX's batch endpoint (20 per request, requests concurrent).

        One result per intent, in order. Each order is refused, placed or unknown on its own; a batch
        whose answer is lost leaves all its orders unknown, each resolved by its clOrdId. `wait` and
        `confirm` as in `place` (with `wait=True` an order certainly never placed is sent again in
        the next batch, never one whose outcome is unknown)."""
        cids = [i.client_order_id for i in intents]
        if len(set(cids)) != len(cids):
            raise OkxBadRequest(
                None, "repeated client order id in one batch", "Give every order its own id.", local=True
            )
        results: dict[str, PlaceResult] = {}
        todo = list(intents)
        for _attempt in range(self.config.max_place_attempts):
            rounds = await asyncio.gather(*(self._place_chunk(chunk) for chunk in chunked(todo)))
            todo = []
            doubtful = []
            for result in (r for chunk in rounds for r in chunk):
                results[result.intent.client_order_id] = result
                if wait and result.unknown:
                    doubtful.append(result)
            settled = await asyncio.gather(*(self._settle(r) for r in doubtful))
            for result, now in zip(doubtful, settled, strict=True):
                results[result.intent.client_order_id] = now
                if now.order is None and not now.unknown:
                    todo.append(now.intent)  # certainly never placed: into the next batch
            if not todo:
                break
        if confirm:
            placed = [r for r in results.values() if r.order is not None and r.order.state == ACCEPTED]
            read = await asyncio.gather(
                *(self.find_order(r.intent.symbol, r.intent.client_order_id) for r in placed),
                return_exceptions=True,
            )
            for r, found in zip(placed, read, strict=True):
                if isinstance(found, Order):
                    results[r.intent.client_order_id] = PlaceResult(r.intent, found, None)
        return [results[cid] for cid in cids]

    async def _place_chunk(self, chunk: list[OrderIntent]) -> list[PlaceResult]:
        try:
            outcomes = await send_batch(
                self.raw.privatePostTradeBatchOrders, [i.body() for i in chunk], needs_ord_id=True
            )
        finally:
            exp_times = [self.raw.okx_exp_time("trade/batch-orders", i.client_order_id) for i in chunk]
        results = []
        for intent, outcome, exp_time in zip(chunk, outcomes, exp_times, strict=True):
            results.append(await self._place_result(intent, outcome, exp_time))
        return results

    async def _place_result(
        self, intent: OrderIntent, outcome: ItemOutcome, exp_time: int | None
    ) -> PlaceResult:
        if outcome.ack is not None:
            return PlaceResult(intent, intent.accepted(outcome.ack), None)
        err = outcome.error
        assert err is not None
        if err.code == "51016":  # pending on OKX under this clOrdId: found, or unknown (read lag)
            try:
                found = await self.find_order(intent.symbol, intent.client_order_id)
            except OkxError:
                found = None
            if found is not None:
                return PlaceResult(intent, found, None)
        if err.outcome_unknown or err.code == "51016":
            cid = intent.client_order_id
            err = self.outcome_unknown(intent.symbol, "order", cid, err, self.settle_at(exp_time))
        return PlaceResult(intent, None, err)

    async def _settle(self, result: PlaceResult) -> PlaceResult:
        """An unknown placement waited out: found, certainly never placed, or still unknown."""
        assert isinstance(result.error, OkxOutcomeUnknown)
        try:
            found = await self.await_outcome(
                result.intent.symbol, result.intent.client_order_id, result.error
            )
        except OkxOutcomeUnknown as still:
            return PlaceResult(result.intent, None, still)
        if found is not None:
            return PlaceResult(result.intent, found, None)
        return PlaceResult(result.intent, None, result.error.cause)

    # ---- amending -----------------------------------------------------------------------------------
    async def _amend_body(self, request: AmendRequest) -> dict[str, str]:
        if request.new_price is None and request.new_amount is None:
            raise OkxBadRequest(
                "50015", "nothing to amend", "Give a new price, a new amount or both.", local=True
            )
        for name, value in (("price", request.new_price), ("amount", request.new_amount)):
            if value is not None and (not isinstance(value, Decimal) or not value.is_finite() or value <= 0):
                raise OkxBadRequest(
                    None, f"new {name} {value!r}", f"The new {name} must be a positive Decimal.", local=True
                )
        body = await self._order_ref(request.symbol, request.order_id, request.client_order_id)
        if request.new_price is not None:
            body["newPx"] = plain(request.new_price)
        if request.new_amount is not None:
            body["newSz"] = plain(request.new_amount)
        if request.req_id:
            body["reqId"] = request.req_id
        return body

    def _amend_result(self, request: AmendRequest, outcome: ItemOutcome, exp_time: int | None) -> AmendResult:
        ack = outcome.ack or {}
        err = outcome.error
        return AmendResult(
            request.symbol,
            str(ack.get("ordId") or request.order_id or ""),
            str(ack.get("clOrdId") or request.client_order_id or ""),
            request.req_id,
            err is None,
            "0" if err is None else (err.code or ""),
            str(ack.get("sMsg", "")) if err is None else err.message,
            unknown=outcome.unknown,
            settle_at_ms=self.settle_at(exp_time) if outcome.unknown else None,
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
        """Amend one order (trade/amend-order). The acknowledgement means "accepted": the change
        applies later, or fails (the orders channel's amendResult, or the order's px / sz, say which).

        Raises the OkxError of a refused amend, or `OkxOutcomeUnknown` when the answer was lost."""
        request = AmendRequest(symbol, order_id, client_order_id, new_price, new_amount, req_id)
        body = await self._amend_body(request)
        ident = client_order_id or order_id or ""
        try:
            outcome = (
                await send_batch(self.raw.privatePostTradeAmendOrder, [body], needs_ord_id=False, single=True)
            )[0]
        finally:
            exp_time = self.raw.okx_exp_time("trade/amend-order", ident)
        if outcome.error is not None:
            if outcome.unknown:
                raise self.outcome_unknown(symbol, "amend", ident, outcome.error, self.settle_at(exp_time))
            raise outcome.error
        return self._amend_result(request, outcome, exp_time)

    async def amend_batch(self, requests: Sequence[AmendRequest]) -> list[AmendResult]:
        """Amend many orders through OKX's batch endpoint (20 per request); one result per request,
        in order (`ok`, or the refusal's code, or `unknown` with its `settle_at_ms`)."""
        bodies = [await self._amend_body(r) for r in requests]
        pairs = list(zip(requests, bodies, strict=True))
        chunks = await asyncio.gather(*(self._amend_chunk(chunk) for chunk in chunked(pairs)))
        return [r for chunk in chunks for r in chunk]

    async def _amend_chunk(self, chunk: list[tuple[AmendRequest, dict[str, str]]]) -> list[AmendResult]:
        try:
            outcomes = await send_batch(
                self.raw.privatePostTradeAmendBatchOrders, [b for _, b in chunk], needs_ord_id=False
            )
        finally:
            exp_times = [
                self.raw.okx_exp_time("trade/amend-batch-orders", r.client_order_id or r.order_id or "")
                for r, _ in chunk
            ]
        return [self._amend_result(r, o, e) for (r, _), o, e in zip(chunk, outcomes, exp_times, strict=True)]

    # ---- reading ------------------------------------------------------------------------------------
    async def fetch_order(
        self, symbol: str, order_id: str | None = None, *, client_order_id: str | None = None
    ) -> Order:
        """One order by ordId or clOrdId; OkxOrderNotFound (51603) when OKX has none."""
        params = await self._order_ref(symbol, order_id, client_order_id)
        response = await self._call(self.raw.privateGetTradeOrder(params))
        data = response.get("data") or []
        if not data:
            raise from_code("51603", "Order does not exist")
        return Order.from_okx(data[0], symbol)

    # ---- canceling ----------------------------------------------------------------------------------
    async def cancel_order(
        self, symbol: str, order_id: str | None = None, *, client_order_id: str | None = None
    ) -> CancelResult:
        """Cancel one order. `ok` means OKX accepted the cancel: the order can still fill until its
        state says canceled. OkxOrderNotFound (51400) if it is already filled, canceled or unknown;
        `OkxOutcomeUnknown` when the answer was lost (the order's state will tell)."""
        body = await self._order_ref(symbol, order_id, client_order_id)
        outcome = (
            await send_batch(self.raw.privatePostTradeCancelOrder, [body], needs_ord_id=False, single=True)
        )[0]
        if outcome.error is not None:
            if outcome.unknown:
                ident = client_order_id or order_id or ""
                raise self.outcome_unknown(symbol, "cancel", ident, outcome.error, None)
            raise outcome.error
        return _cancel_result(symbol, outcome)

    async def cancel_batch(self, refs: Sequence[OrderRef]) -> list[CancelResult]:
        """Cancel many orders through OKX's batch endpoint (20 per request, grouped by instrument so
        each request fills one instrument's bucket); one result per ref, in order."""
        bodies = [await self._order_ref(r.symbol, r.order_id, r.client_order_id) for r in refs]
        by_inst: dict[str, list[int]] = {}
        for index, body in enumerate(bodies):
            by_inst.setdefault(body["instId"], []).append(index)
        groups = [chunk for indexes in by_inst.values() for chunk in chunked(indexes)]
        answers = await asyncio.gather(
            *(
                send_batch(
                    self.raw.privatePostTradeCancelBatchOrders, [bodies[i] for i in group], needs_ord_id=False
                )
                for group in groups
            )
        )
        results: dict[int, CancelResult] = {}
        for group, outcomes in zip(groups, answers, strict=True):
            for index, outcome in zip(group, outcomes, strict=True):
                results[index] = _cancel_result(refs[index].symbol, outcome)
        return [results[i] for i in range(len(refs))]

    async def cancel_all(self, symbol: str | None = None) -> list[CancelResult]:
        """Cancel every open order (of `symbol`, or all), in batches of 20 per instrument."""
        open_orders = await self.fetch_open_orders(symbol)  # type: ignore[attr-defined]
        refs = [OrderRef(o.symbol, o.order_id) for o in open_orders]
        return await self.cancel_batch(refs) if refs else []


def _cancel_result(symbol: str, outcome: ItemOutcome) -> CancelResult:
    ack = outcome.ack or {}
    body = outcome.body
    err = outcome.error
    return CancelResult(
        symbol,
        str(ack.get("ordId") or body.get("ordId") or ""),
        str(ack.get("clOrdId") or body.get("clOrdId") or ""),
        err is None,
        "0" if err is None else (err.code or ""),
        str(ack.get("sMsg", "")) if err is None else err.message,
        unknown=outcome.unknown,
    )
