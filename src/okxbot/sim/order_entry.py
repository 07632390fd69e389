"""Order entry: OKX's checks on place / cancel / amend requests, in OKX's order, with its sCodes.

Each function returns the per-item result OKX puts in `data[]`; a refused request changes nothing.
Accepted orders go to the `Matcher`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from okxbot.sim.accounts import Account
from okxbot.sim.bus import EventBus, Ids
from okxbot.sim.clock import Clock
from okxbot.sim.filters import param_str
from okxbot.sim.instruments import ZERO, Instrument, ceil_to, fmt, is_multiple
from okxbot.sim.ledger import Ledger
from okxbot.sim.marketdata import Markets
from okxbot.sim.matching import Matcher
from okxbot.sim.order import Order
from okxbot.sim.swap_orders import SWAP_ORDER_TYPES, Refused, SwapOrders

MARKET_BUFFER = Decimal("1.05")  # market orders freeze 5% more than their estimate (OKX risk check)
MAX_PENDING_ACCOUNT = 4000
MAX_PENDING_INSTRUMENT = 500
ORDER_TYPES = frozenset({"market", "limit", "post_only", "ioc", "fok"})
REQUIRED = ("instId", "tdMode", "side", "ordType", "sz")
_CL_ORD_ID = re.compile(r"[A-Za-z0-9]{1,32}")
_TAG = re.compile(r"[A-Za-z0-9]{1,16}")


Reject = Refused  # a per-order refusal: sCode and sMsg as OKX words them


def positive(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        raise Reject("51000", f"Parameter {name} error") from None
    if not value.is_finite() or value <= 0:
        raise Reject("51000", f"Parameter {name} error")
    return value


def price_limit_reject(max_buy: Decimal, min_sell: Decimal) -> Reject:
    return Reject(
        "51006",
        f"Order price is not within the price limit (max buy price: {fmt(max_buy)} , "
        f"min sell price: {fmt(min_sell)} )",
    )


class OrderEntry:
    def __init__(
        self, clock: Clock, bus: EventBus, ids: Ids, ledger: Ledger, markets: Markets, matcher: Matcher,
        swaps: SwapOrders,
    ) -> None:  # fmt: skip
        self.clock = clock
        self.bus = bus
        self.ids = ids
        self.ledger = ledger
        self.markets = markets
        self.matcher = matcher
        self.swaps = swaps

    # -- placing --------------------------------------------------------------------------------

    def place(self, uid: str, params: Mapping[str, Any]) -> dict[str, str]:
        acct = self.ledger.account(uid)
        now = self.clock.now_ms()
        cl = param_str(params.get("clOrdId"))
        tag = param_str(params.get("tag"))
        try:
            order = self._validate(acct, params, cl, tag, now)
        except Reject as r:
            return {"clOrdId": cl, "ordId": "", "tag": tag, "ts": str(now), "sCode": r.code, "sMsg": r.msg}
        self.matcher.accept(acct, order)
        self.bus.flush()
        return {"clOrdId": cl, "ordId": order.ord_id, "tag": tag, "ts": str(now), "sCode": "0",
                "sMsg": "Order placed"}  # fmt: skip

    def _validate(self, acct: Account, params: Mapping[str, Any], cl: str, tag: str, now: int) -> Order:
        for name in REQUIRED:
            if not param_str(params.get(name)):
                raise Reject("50014", f"Parameter {name} can not be empty.")
        if cl and not _CL_ORD_ID.fullmatch(cl):
            raise Reject("51000", "Parameter clOrdId error")
        if tag and not _TAG.fullmatch(tag):
            raise Reject("51000", "Parameter tag error")
        inst = self.markets.instruments.get(param_str(params["instId"]))
        if inst is None:
            raise Reject("51001", "Instrument ID or Spread ID doesn't exist.")
        td_mode = param_str(params["tdMode"])
        if inst.is_swap:
            self.swaps.check_mode(acct, td_mode)
        elif td_mode in ("cross", "isolated", "spot_isolated"):
            if acct.acct_lv == "1":
                raise Reject("51010", "You can't complete this request under your current account mode.")
            raise Reject("54000", "Margin trading is not supported.")
        elif td_mode != "cash":
            raise Reject("51000", "Parameter tdMode error")
        side = param_str(params["side"])
        if side not in ("buy", "sell"):
            raise Reject("51000", "Parameter side error")
        ord_type = param_str(params["ordType"])
        if ord_type not in (SWAP_ORDER_TYPES if inst.is_swap else ORDER_TYPES):
            raise Reject("51000", "Parameter ordType error")
        sz = positive(param_str(params["sz"]), "sz")
        stp_mode = param_str(params.get("stpMode")) or "cancel_maker"
        if stp_mode not in ("cancel_maker", "cancel_taker", "cancel_both"):
            raise Reject("51000", "Parameter stpMode error")
        if inst.is_swap:
            px = ZERO
            if ord_type not in ("market", "optimal_limit_ioc"):
                px = self._limit_price(params, inst)
            self._check_pending_caps(acct, inst)
            order = self.swaps.build(
                acct, params, inst, cl=cl, tag=tag, side=side, ord_type=ord_type, sz=sz, td_mode=td_mode,
                stp_mode=stp_mode, px=px, now=now,
            )  # fmt: skip
            order.ord_id = self.ids.order()
            return order

        tgt = param_str(params.get("tgtCcy"))
        if ord_type == "market":
            if tgt not in ("", "base_ccy", "quote_ccy"):
                raise Reject("51000", "Parameter tgtCcy error")
            tgt = tgt or ("quote_ccy" if side == "buy" else "base_ccy")
            px = ZERO
        else:
            tgt = ""
            px = self._limit_price(params, inst)

        if cl and cl in acct.pending_by_cl:
            raise Reject("51016", "Client order ID already exists.")

        ref = self.markets.ref_px[inst.inst_id]
        if tgt == "quote_ccy":
            # sz is an amount of quote currency: the base it buys must still meet minSz.
            if sz / ref < inst.min_sz:
                raise Reject("51020", "Your order should meet or exceed the minimum order amount.")
        else:
            if not is_multiple(sz, inst.lot_sz):
                raise Reject("51121", "Order quantity must be a multiple of the lot size.")
            if sz < inst.min_sz:
                raise Reject("51020", "Your order should meet or exceed the minimum order amount.")

        if ord_type != "market" and not acct.internal:
            max_buy, min_sell = self.markets.price_limits(inst)
            if (side == "buy" and px > max_buy) or (side == "sell" and px < min_sell):
                raise price_limit_reject(max_buy, min_sell)

        self._check_pending_caps(acct, inst)

        order = Order(
            uid=acct.uid, inst=inst, ord_id="", cl_ord_id=cl, tag=tag, side=side, ord_type=ord_type,
            td_mode=td_mode, tgt_ccy=tgt, px=px, sz=sz, remaining=sz, c_time=now, u_time=now,
            internal=acct.internal, stp_mode=stp_mode,
        )  # fmt: skip
        if not acct.internal:
            need = self._freeze_amount(order)
            ccy = order.frozen_ccy
            if self.swaps.derivs.available(acct, ccy) < need:
                raise Reject("51008", f"Order failed. Insufficient {ccy} balance in account")
            order.frozen = need
        order.ord_id = self.ids.order()
        return order

    @staticmethod
    def _limit_price(params: Mapping[str, Any], inst: Instrument) -> Decimal:
        px_text = param_str(params.get("px"))
        if not px_text:
            raise Reject("51204", "The price for the limit order cannot be empty.")
        px = positive(px_text, "px")
        if not is_multiple(px, inst.tick_sz):
            raise Reject("51000", "Parameter px error")
        return px

    @staticmethod
    def _check_pending_caps(acct: Account, inst: Instrument) -> None:
        if not acct.internal and (
            len(acct.pending) >= MAX_PENDING_ACCOUNT
            or acct.pending_per_inst.get(inst.inst_id, 0) >= MAX_PENDING_INSTRUMENT
        ):
            raise Reject("51025", "Order count exceeds the limit.")

    def _freeze_amount(self, order: Order) -> Decimal:
        book = self.markets.books[order.inst.inst_id]
        ref = self.markets.ref_px[order.inst.inst_id]
        if order.ord_type != "market":
            return order.px * order.sz if order.side == "buy" else order.sz
        if order.side == "buy":
            if order.sz_in_quote:
                return order.sz * MARKET_BUFFER
            ask = book.best_px("asks") or ref
            return order.sz * ask * MARKET_BUFFER
        if order.sz_in_quote:
            bid = book.best_px("bids") or ref
            # Rounded to the lot: an inexact quotient would leave dust frozen after release.
            return ceil_to(order.sz / bid * MARKET_BUFFER, order.inst.lot_sz)
        return order.sz

    # -- canceling ------------------------------------------------------------------------------

    @staticmethod
    def find(acct: Account, params: Mapping[str, Any]) -> tuple[Order | None, str, str]:
        ord_id = param_str(params.get("ordId"))
        cl = param_str(params.get("clOrdId"))
        if ord_id:
            return acct.pending.get(ord_id), ord_id, cl
        return acct.pending_by_cl.get(cl), ord_id, cl

    def cancel(self, uid: str, params: Mapping[str, Any]) -> dict[str, str]:
        acct = self.ledger.account(uid)
        now = str(self.clock.now_ms())
        order, ord_id, cl = self.find(acct, params)

        def result(code: str, msg: str) -> dict[str, str]:
            return {"clOrdId": cl, "ordId": ord_id, "ts": now, "sCode": code, "sMsg": msg}

        inst_id = param_str(params.get("instId"))
        if not inst_id:
            return result("50014", "Parameter instId can not be empty.")
        if not ord_id and not cl:
            return result("51003", "Either client order ID or order ID is required.")
        if inst_id not in self.markets.instruments:
            return result("51001", "Instrument ID or Spread ID doesn't exist.")
        if order is None or order.inst.inst_id != inst_id:
            return result(
                "51400", "Order cancellation failed as the order has been filled, canceled or does not exist."
            )
        ord_id, cl = order.ord_id, order.cl_ord_id
        self.matcher.remove_resting(order, "1")
        self.bus.flush()
        return result("0", "")

    def cancel_all(
        self, uid: str, inst_id: str | None = None, source: str = "1", tag: str | None = None
    ) -> list[dict[str, Any]]:
        """Cancel every pending order of the account (of one instrument / one tag if given); oldest first."""
        acct = self.ledger.account(uid)
        victims = [
            o
            for o in acct.pending.values()
            if (inst_id is None or o.inst.inst_id == inst_id) and (tag is None or o.tag == tag)
        ]
        for order in victims:
            self.matcher.remove_resting(order, source)
        self.bus.flush()
        return [o.to_wire() for o in victims]

    # -- amending -------------------------------------------------------------------------------

    def amend(self, uid: str, params: Mapping[str, Any]) -> dict[str, str]:
        acct = self.ledger.account(uid)
        now = self.clock.now_ms()
        order, ord_id, cl = self.find(acct, params)
        req_id = param_str(params.get("reqId"))

        def result(code: str, msg: str) -> dict[str, str]:
            return {
                "clOrdId": cl,
                "ordId": ord_id,
                "ts": str(now),
                "reqId": req_id,
                "sCode": code,
                "sMsg": msg,
            }

        inst_id = param_str(params.get("instId"))
        if not inst_id:
            return result("50014", "Parameter instId can not be empty.")
        if not ord_id and not cl:
            return result("51003", "Either client order ID or order ID is required.")
        if inst_id not in self.markets.instruments:
            return result("51001", "Instrument ID or Spread ID doesn't exist.")
        new_sz_text, new_px_text = param_str(params.get("newSz")), param_str(params.get("newPx"))
        if not new_sz_text and not new_px_text:
            return result("50015", "Either parameter newSz or newPx is required")
        if order is None or order.inst.inst_id != inst_id:
            return result("51503", "Your order has already been filled or canceled.")
        ord_id, cl = order.ord_id, order.cl_ord_id
        if order.ord_type == "market":
            return result("51506", "Order modification unavailable for the order type.")
        try:
            new_sz = positive(new_sz_text, "newSz") if new_sz_text else order.sz
            new_px = positive(new_px_text, "newPx") if new_px_text else order.px
        except Reject as r:
            return result(r.code, r.msg)
        inst = order.inst
        if not is_multiple(new_px, inst.tick_sz):
            return result("51000", "Parameter newPx error")
        if not is_multiple(new_sz, inst.lot_sz):
            return result("51121", "Order quantity must be a multiple of the lot size.")
        cancel_on_fail = param_str(params.get("cxlOnFail")) == "true"
        matcher = self.matcher

        def fail(code: str, msg: str) -> dict[str, str]:
            if cancel_on_fail:
                matcher.remove_resting(order, "0")
            amend_result = "1" if cancel_on_fail else "-1"
            matcher.order_event(order, amend_result=amend_result, req_id=req_id, code=code, msg=msg)
            self.bus.flush()
            return result(code, msg)

        book = self.markets.books[inst.inst_id]
        if new_px != order.px:
            limits = self.swaps.marks.price_limits if inst.is_swap else self.markets.price_limits
            max_buy, min_sell = limits(inst)
            if (order.side == "buy" and new_px > max_buy) or (order.side == "sell" and new_px < min_sell):
                r = price_limit_reject(max_buy, min_sell)
                return fail(r.code, r.msg)
        if new_sz <= order.acc_fill_sz:
            # Amending the size down to what already filled completes the order (OKX: state filled).
            book.remove(order)
            self.bus.book_changed(inst.inst_id)
            order.sz, order.remaining = new_sz, ZERO
            order.state = "filled"
            order.u_time = now
            matcher.complete(acct, order)
            matcher.order_event(order, amend_result="0", req_id=req_id)
            self.bus.flush()
            return result("0", "")
        new_remaining = new_sz - order.acc_fill_sz
        if inst.is_swap:
            new_frozen = self.swaps.refreeze_for_amend(acct, order, new_sz, new_px)
        else:
            new_frozen = new_remaining * new_px if order.side == "buy" else new_remaining
        if new_frozen - order.frozen > self.swaps.derivs.available(acct, order.frozen_ccy):
            return fail("51502", "Unable to edit order: insufficient balance or margin.")
        probe = Order(
            uid=order.uid, inst=inst, ord_id=order.ord_id, cl_ord_id="", tag="", side=order.side,
            ord_type=order.ord_type, td_mode=order.td_mode, tgt_ccy="", px=new_px, sz=new_remaining,
            remaining=new_remaining, c_time=now, u_time=now,
        )  # fmt: skip
        if order.ord_type == "post_only" and matcher.crosses(probe, book):
            return fail(
                "51511", "Modification failed as the order price did not meet the requirement for Post Only."
            )
        # Keep time priority only when the price is unchanged and the size does not grow.
        keep_priority = new_px == order.px and new_remaining <= order.remaining
        if keep_priority:
            book.reduce(order, order.remaining - new_remaining)
        else:
            book.remove(order)
        self.ledger.refreeze(acct, order, new_frozen, now)
        order.sz, order.px, order.remaining, order.u_time = new_sz, new_px, new_remaining, now
        self.bus.book_changed(inst.inst_id)
        matcher.order_event(order, amend_result="0", req_id=req_id)
        if not keep_priority:
            matcher.match(acct, order, book)
            if order.pending:
                book.add(order)
        self.bus.flush()
        return result("0", "")
