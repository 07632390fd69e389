"""Cancels and amendments of the order manager (`OrderChanges`, a part of `OrderManager`).

OKX acknowledges a cancel or an amend before its matching engine acts on it: the acknowledgement
means "accepted". So an accepted cancel leaves the order "cancel_pending" (fills landing meanwhile
count) until its state says canceled or filled, and an amendment leaves it "amend_pending" until the
order shows the new price / size (or the orders channel's amendResult says it was refused). An answer
that was lost makes them pending too: the order's state settles it (`okxbot.trading.doubts`).
Several at once go through OKX's batch endpoints (`okxbot.trading.waves`).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okxbot.okx.errors import OkxError, OkxOutcomeUnknown
from okxbot.okx.models import AmendResult, CancelResult, Order
from okxbot.okx.order_entry import AmendRequest, OrderRef
from okxbot.trading.doubts import AmendTarget, Doubts
from okxbot.trading.funds import Funds, InsufficientFunds
from okxbot.trading.journal import PENDING, JournalOrder
from okxbot.trading.risk import ProposedOrder, RiskGuard, RiskRefused, RiskView
from okxbot.trading.waves import AMEND, CANCEL, route

if TYPE_CHECKING:
    from okxbot.okx.validate import InstrumentRules
    from okxbot.trading.venue import Venue

ON_BOOK = frozenset({"live", "partially_filled"})
IN_FLIGHT = frozenset({"intent", "sent", "unknown"})  # placed or not: not known yet


@dataclass(frozen=True)
class AmendSpec:
    """One amendment of a wave (`OrderManager.amend_many`): a new price and/or amount."""

    client_order_id: str
    price: Decimal | None = None
    amount: Decimal | None = None


def _unknown_cancel(ref: OrderRef, err: OkxError) -> CancelResult:
    return CancelResult(ref.symbol, "", ref.client_order_id or "", False, err.code or "", err.message, True)


def _failed_cancel(ref: OrderRef, err: OkxError) -> CancelResult:
    return CancelResult(ref.symbol, "", ref.client_order_id or "", False, err.code or "", err.message)


class OrderChanges:
    """Cancel and amend, single or in waves; the rest of `OrderManager` provides the state."""

    client: Venue
    risk: RiskGuard
    rules: InstrumentRules
    symbol: str
    doubts: Doubts
    funds: Funds
    stats: Any
    confirm_placements: bool
    _open: dict[str, JournalOrder]
    _req_ids: itertools.count[int]
    _changed: asyncio.Event

    if TYPE_CHECKING:
        _transition: Callable[..., Awaitable[None]]
        _answered: Callable[[str, str], None]

        def _view(self) -> RiskView: ...
        def _first_check_s(self) -> float: ...

    # ---- canceling ------------------------------------------------------------------------------
    async def cancel(self, client_order_id: str) -> bool:
        """Ask OKX to cancel one order. True: the cancel is pending (accepted, or its answer lost):
        the order stays "cancel_pending", fills landing meanwhile count, until its state says
        canceled or filled. False: nothing to cancel (unknown id, or already done)."""
        return (await self.cancel_many([client_order_id]))[0]

    async def cancel_many(self, client_order_ids: Sequence[str]) -> list[bool]:
        """`cancel` for several orders at once, through the batch endpoint where there is room."""
        out: dict[str, bool] = {}
        targets: list[JournalOrder] = []
        for cid in client_order_ids:
            record = self._open.get(cid)
            if record is None or record.state == "intent":
                out[cid] = False
            elif record.state == "cancel_pending":
                out[cid] = True
            else:
                targets.append(record)
        if targets:
            n_batch, _ = await route(self.client.headroom, CANCEL, self.rules.inst_id, len(targets))
            refs = [OrderRef(self.symbol, client_order_id=r.client_order_id) for r in targets]
            groups = await asyncio.gather(
                self._cancel_batch(refs[:n_batch]), *(self._cancel_one(ref) for ref in refs[n_batch:])
            )
            results = groups[0] + [r for group in groups[1:] for r in group]
            for record, result in zip(targets, results, strict=True):
                out[record.client_order_id] = await self._canceled(record.client_order_id, result)
        return [out[cid] for cid in client_order_ids]

    async def _cancel_one(self, ref: OrderRef) -> list[CancelResult]:
        try:
            return [await self.client.cancel_order(ref.symbol, client_order_id=ref.client_order_id)]
        except OkxError as err:
            return [_unknown_cancel(ref, err) if err.outcome_unknown else _failed_cancel(ref, err)]

    async def _cancel_batch(self, refs: list[OrderRef]) -> list[CancelResult]:
        if not refs:
            return []
        try:
            return await self.client.cancel_batch(refs)
        except OkxError as err:
            return [_unknown_cancel(r, err) if err.outcome_unknown else _failed_cancel(r, err) for r in refs]

    async def _canceled(self, cid: str, result: CancelResult) -> bool:
        record = self._open.get(cid)
        if not result.unknown:
            self._answered("cancel", "0" if result.ok else result.code or "unknown")
        if result.ok or result.unknown:
            if record is not None and record.state in ON_BOOK | {"amend_pending"}:
                note = "cancel accepted" if result.ok else f"cancel outcome unknown ({result.message})"
                await self._transition(cid, "cancel_pending", note=note)
                self.doubts.discard(cid, "amend")
                self.doubts.add(cid, "cancel", self.client.horizon_ms(), first_check_s=self._first_check_s())
            # an order still in flight: its placement doubt finds it (canceled, or live)
            return True
        if record is not None and record.state in ON_BOOK | PENDING and not self.doubts.has(cid):
            # OKX says there is nothing to cancel: it filled or was canceled; learn which
            self.doubts.add(cid, "lookup", None, first_check_s=0.1)
        if result.code not in ("51400", "51401", "51402"):
            self.stats.error(f"cancel {cid}: {result.message}")
        return False

    async def cancel_all_own(self, timeout_s: float | None = None) -> int:
        """Cancel every open order this bot placed and wait (up to `timeout_s`, default: until every
        request sent so far has settled) for their states to say so; returns how many remain open.

        Orders whose placement is still in doubt are canceled by clOrdId too, and again if they turn
        up later (a late execution)."""
        if timeout_s is None:
            timeout_s = (self.client.horizon_ms() - self.client.okx_now_ms()) / 1000 + 5
        deadline = time.monotonic() + timeout_s
        tried: dict[str, str] = {}  # clOrdId -> its state when a cancel was last sent
        horizon = self.client.horizon_ms()
        for cid, o in self._open.items():
            if o.state in IN_FLIGHT and not self.doubts.has(cid):
                # on its way (or its sender gone): its outcome is settled like any unknown one
                self.doubts.add(cid, "place", horizon, first_check_s=self._first_check_s())
        while self._open:
            targets = [
                cid
                for cid, o in self._open.items()
                if o.state in ON_BOOK | {"amend_pending", "unknown"} and tried.get(cid) != o.state
            ]
            for cid in targets:
                tried[cid] = self._open[cid].state
            self._changed.clear()
            if targets:
                await self.cancel_many(targets)
            remaining = deadline - time.monotonic()
            if not self._open or remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))
            except TimeoutError:
                pass
        return len(self._open)

    # ---- amending -------------------------------------------------------------------------------
    async def amend(
        self, client_order_id: str, *, price: Decimal | None = None, amount: Decimal | None = None
    ) -> bool:
        """Ask OKX to change a live order's price and/or amount. True: the amendment is pending
        (journal "amend_pending" until the order shows it, or its refusal); False: refused (risk
        guard, an order not on the book or already amending, or OKX)."""
        return (await self.amend_many([AmendSpec(client_order_id, price, amount)]))[0]

    async def amend_many(self, specs: Sequence[AmendSpec]) -> list[bool]:
        """`amend` for several orders at once, through the batch endpoint where there is room."""
        out = [False] * len(specs)
        ready: list[tuple[int, JournalOrder, AmendRequest]] = []
        for index, spec in enumerate(specs):
            record = self._open.get(spec.client_order_id)
            if record is None or record.state not in ON_BOOK or (spec.price is None and spec.amount is None):
                continue
            new_price = spec.price if spec.price is not None else record.price
            new_amount = spec.amount if spec.amount is not None else record.amount
            try:
                self.risk.check(ProposedOrder(self.symbol, record.side, new_amount, new_price), self._view())
                if new_price is not None:  # only what the amendment adds to the reserve must fit
                    already = self.funds.reserved_for(record.client_order_id)
                    self.funds.check(record.side, new_amount - record.filled, new_price, already=already)
            except (RiskRefused, InsufficientFunds) as refused:
                self.stats.refused += 1
                self.stats.error(str(refused))
                continue
            req_id = f"a{next(self._req_ids)}"
            request = AmendRequest(
                self.symbol,
                client_order_id=spec.client_order_id,
                new_price=spec.price,
                new_amount=spec.amount,
                req_id=req_id,
            )
            # write-ahead: pending before the request leaves, so that a push telling the result
            # before the answer does is read against the amendment
            await self._transition(record.client_order_id, "amend_pending", note=_amend_note(request))
            target = AmendTarget(req_id, spec.price, spec.amount)
            self.doubts.add(record.client_order_id, "amend", None, first_check_s=3600.0, target=target)
            ready.append((index, record, request))
        if not ready:
            return out
        n_batch, _ = await route(self.client.headroom, AMEND, self.rules.inst_id, len(ready))
        requests = [r for _, _, r in ready]
        groups = await asyncio.gather(
            self._amend_batch(requests[:n_batch]), *(self._amend_one(r) for r in requests[n_batch:])
        )
        results = groups[0] + [r for group in groups[1:] for r in group]
        for (index, record, request), result in zip(ready, results, strict=True):
            out[index] = await self._amended(record, request, result)
        return out

    async def _amend_one(self, request: AmendRequest) -> list[AmendResult]:
        try:
            return [
                await self.client.amend_order(
                    request.symbol,
                    client_order_id=request.client_order_id,
                    new_price=request.new_price,
                    new_amount=request.new_amount,
                    req_id=request.req_id,
                )
            ]
        except OkxError as err:
            return [_amend_failure(request, err)]

    async def _amend_batch(self, requests: list[AmendRequest]) -> list[AmendResult]:
        if not requests:
            return []
        try:
            return await self.client.amend_batch(requests)
        except OkxError as err:
            return [_amend_failure(r, err) for r in requests]

    async def _amended(self, before: JournalOrder, request: AmendRequest, result: AmendResult) -> bool:
        cid = before.client_order_id
        doubt = self.doubts.get(cid, "amend")
        if not result.unknown:
            self._answered("amend", "0" if result.ok else result.code or "unknown")
        if doubt is None or doubt.target is None or doubt.target.req_id != request.req_id:
            return result.ok or result.unknown  # settled already (the orders channel was faster)
        if result.ok or result.unknown:
            settle = (
                result.settle_at_ms if result.unknown and result.settle_at_ms else self.client.horizon_ms()
            )
            self.doubts.add(cid, "amend", settle, first_check_s=self._first_check_s(), target=doubt.target)
            return True
        # refused before taking effect: the order is as it was
        self.doubts.discard(cid, "amend")
        record = self._open.get(cid)
        if record is not None and record.state == "amend_pending":
            await self._transition(
                cid,
                _on_book(record.filled),
                settled=True,
                note=f"amend refused: {result.code} {result.message}",
            )
        if result.code in ("51503", "51509", "51510"):
            self.doubts.add(cid, "lookup", None, first_check_s=0.1)  # filled or canceled meanwhile
        self.stats.error(f"amend {cid}: {result.message}")
        return False

    async def _read_amendment(self, cid: str, order: Order, raw: Mapping[str, Any]) -> None:
        """A report on the book while an amendment is pending: applied, refused, or not yet."""
        doubt = self.doubts.get(cid, "amend")
        target = doubt.target if doubt is not None else None
        result = str(raw.get("amendResult") or "")
        same_request = target is None or str(raw.get("reqId") or "") == target.req_id
        shows_it = target is not None and (
            (target.price is None or order.price == target.price)
            and (target.amount is None or order.amount == target.amount)
        )
        state = journal_on_book(order)
        if (result == "0" and same_request) or (not result and shows_it):
            await self._transition(
                cid,
                state,
                order_id=order.order_id,
                filled=order.filled,
                price=order.price,
                amount=order.amount,
                settled=True,
                note="amendment applied",
            )
            self.doubts.discard(cid, "amend")
        elif result == "-1" and same_request:
            # accepted, then refused by the matching engine: the refusal is an answer of its own
            self._answered("amend", str(raw.get("code") or "") or "refused")
            await self._transition(
                cid,
                state,
                order_id=order.order_id,
                filled=order.filled,
                settled=True,
                note=f"amendment refused: {raw.get('code', '')} {raw.get('msg', '')}".strip(),
            )
            self.doubts.discard(cid, "amend")
        else:  # not yet: fills landing meanwhile still count
            await self._transition(cid, "amend_pending", order_id=order.order_id, filled=order.filled)


def journal_on_book(order: Order) -> str:
    """The journal state of an order OKX shows on the book (live or partially filled)."""
    return "partially_filled" if order.state == "partially_filled" else "live"


def _on_book(filled: Decimal) -> str:
    return "partially_filled" if filled > 0 else "live"


def _amend_note(request: AmendRequest) -> str:
    parts = [f"amend {request.req_id}"]
    if request.new_price is not None:
        parts.append(f"px {request.new_price}")
    if request.new_amount is not None:
        parts.append(f"sz {request.new_amount}")
    return " ".join(parts)


def _amend_failure(request: AmendRequest, err: OkxError) -> AmendResult:
    return AmendResult(
        request.symbol,
        request.order_id or "",
        request.client_order_id or "",
        request.req_id,
        False,
        err.code or "",
        err.message,
        unknown=err.outcome_unknown,
        settle_at_ms=err.settle_at_ms if isinstance(err, OkxOutcomeUnknown) else None,
    )
