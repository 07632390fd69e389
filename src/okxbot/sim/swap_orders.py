"""OKX's checks on a SWAP order, after the ones every order passes (`order_entry`), in this order:

posSide against the position mode (51000) -> reduceOnly (51205) -> tgtCcy (51000) -> size in
contracts (51121 lot, 51020 minimum, 51101 / 51202 maximum) -> clOrdId (51016) -> price (tick 51000,
price limit 51006) -> pending-order caps (51025) -> reduce-only / closing size (51169, 51170, 51134,
51112) -> position tiers at the leverage (51004) -> margin (51008 "Insufficient USDT margin").

Margin held for an order is the initial margin of the part that opens a position:
`value(open contracts, price) / lever`, priced at the limit price (market: the price limit).
Market orders of swaps trade up to the price limit (OKX: "the most aggressive price the limit
allows") and cancel the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from okxbot.sim.accounts import Account
from okxbot.sim.contracts import max_size_at, money, value
from okxbot.sim.derivatives import Derivatives
from okxbot.sim.filters import param_str
from okxbot.sim.instruments import ZERO, Instrument, fmt, is_multiple
from okxbot.sim.margin import Margin
from okxbot.sim.marks import Marks
from okxbot.sim.order import Order

SWAP_ORDER_TYPES = frozenset({"market", "limit", "post_only", "ioc", "fok", "optimal_limit_ioc"})
MARKETABLE = frozenset({"market", "optimal_limit_ioc"})


class Refused(Exception):
    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def _bool(raw: Any) -> bool:
    text = param_str(raw)
    if text in ("", "false"):
        return False
    if text == "true":
        return True
    raise Refused("51000", "Parameter reduceOnly error")


class SwapOrders:
    def __init__(self, derivs: Derivatives, marks: Marks, margin: Margin) -> None:
        self.derivs = derivs
        self.marks = marks
        self.margin = margin

    def check_mode(self, acct: Account, td_mode: str) -> None:
        if acct.internal:
            return
        if acct.acct_lv == "1":
            raise Refused("51010", "You can't complete this request under your current account mode.")
        if td_mode not in ("cross", "isolated"):
            raise Refused("51000", "Parameter tdMode error")

    def build(
        self, acct: Account, params: Mapping[str, Any], inst: Instrument, *, cl: str, tag: str, side: str,
        ord_type: str, sz: Decimal, td_mode: str, stp_mode: str, px: Decimal, now: int,
    ) -> Order:  # fmt: skip
        """Validate the swap-specific fields and return the order (ordId not yet assigned)."""
        internal = acct.internal
        pos_side = param_str(params.get("posSide"))
        reduce_only = _bool(params.get("reduceOnly"))
        long_short = acct.pos_mode == "long_short_mode" and not internal
        if long_short:
            if pos_side not in ("long", "short"):
                raise Refused("51000", "Parameter posSide error")
        elif pos_side not in ("", "net"):
            raise Refused("51000", "Parameter posSide error")
        pos_side = pos_side or "net"
        closing_side = long_short and (side == "sell") == (pos_side == "long")
        if reduce_only and long_short and not closing_side:
            raise Refused("51205", "Reduce Only is not available.")
        if param_str(params.get("tgtCcy")):
            raise Refused("51000", "Parameter tgtCcy error")
        if not is_multiple(sz, inst.lot_sz):
            raise Refused("51121", "Order quantity must be a multiple of the lot size.")
        if sz < inst.min_sz:
            raise Refused("51020", "Your order should meet or exceed the minimum order amount.")
        if ord_type in MARKETABLE:
            if sz > inst.max_mkt_sz:
                raise Refused("51202", "Market order amount exceeds the maximum amount.")
        elif sz > inst.max_lmt_sz:
            raise Refused(
                "51101",
                f"Order failed, the sz of the current order can’t be more than {fmt(inst.max_lmt_sz)} (contracts).",
            )
        if cl and cl in acct.pending_by_cl:
            raise Refused("51016", "Client order ID already exists.")
        if not internal:
            max_buy, min_sell = self.marks.price_limits(inst)
            if ord_type in MARKETABLE:
                px = max_buy if side == "buy" else min_sell
            elif (side == "buy" and px > max_buy) or (side == "sell" and px < min_sell):
                raise Refused(
                    "51006",
                    f"Order price is not within the price limit (max buy price: {fmt(max_buy)} , "
                    f"min sell price: {fmt(min_sell)} )",
                )
        order = Order(
            uid=acct.uid, inst=inst, ord_id="", cl_ord_id=cl, tag=tag, side=side, ord_type=ord_type,
            td_mode=td_mode, tgt_ccy="", px=px, sz=sz, remaining=sz, c_time=now, u_time=now, internal=internal,
            stp_mode=stp_mode, pos_side=pos_side, reduce_only=reduce_only,
        )  # fmt: skip
        if internal:
            return order
        order.lever = self.margin.lever(acct, inst, td_mode, pos_side)
        opening = self._opening_size(acct, order, closing_side)
        self._check_tiers(acct, order, opening)
        if opening:
            need = money(value(inst, opening, px) / order.lever)
            if need > self.derivs.available(acct, inst.settle_ccy):
                raise Refused("51008", f"Order failed. Insufficient {inst.settle_ccy} margin in account")
            order.frozen = need
        return order

    def _opening_size(self, acct: Account, order: Order, closing_side: bool) -> Decimal:
        """Contracts of the order that would open or grow a position; refuses bad closing orders."""
        derivs = self.derivs
        p = derivs.find(acct, order.inst, order.td_mode, order.pos_side)
        held = p.size if p is not None and p.pos else ZERO
        if order.reduce_only or closing_side:
            if not held:
                raise Refused(
                    "51169",
                    "Order failed because you don't have any positions in this direction for this contract "
                    "to reduce or close.",
                )
            if order.reduce_only and not closing_side and not derivs.closes(order, p):
                raise Refused(
                    "51170", "Failed to place order. A reduce-only order can’t be the same trading direction as your "
                    "existing positions.",
                )  # fmt: skip
            pending = sum(
                (o.remaining for o in self._same_way(acct, order) if o.reduce_only or closing_side), ZERO
            )
            if order.sz + pending > held:
                if closing_side:
                    raise Refused("51112", "Close order size exceeds available size for this position.")
                raise Refused(
                    "51134",
                    "Closing failed. Please check your margin holdings and pending orders. Turn off the "
                    "Reduce-only to continue.",
                )
            return ZERO
        if order.pos_side == "net" and derivs.closes(order, p):
            return max(ZERO, order.sz - held)
        return order.sz

    @staticmethod
    def _same_way(acct: Account, order: Order) -> list[Order]:
        return [
            o
            for o in acct.pending.values()
            if o.inst is order.inst and o.td_mode == order.td_mode and o.pos_side == order.pos_side
            and o.side == order.side
        ]  # fmt: skip

    def _check_tiers(self, acct: Account, order: Order, opening: Decimal) -> None:
        """The position, pending orders the same way and this order must fit the tiers at the leverage."""
        if not opening:
            return
        inst = order.inst
        limit = max_size_at(inst, order.lever)
        p = self.derivs.find(acct, inst, order.td_mode, order.pos_side)
        held = p.size if p is not None else ZERO
        pending = sum((o.remaining for o in self._same_way(acct, order) if not o.reduce_only), ZERO)
        if order.sz + held + pending <= limit:
            return
        lever, sz, pos, pend = fmt(order.lever), fmt(order.sz), fmt(held), fmt(pending)
        tail = (
            f"can’t be more than {fmt(limit)}(contracts) which is the maximum position amount under current "
            "leverage. Please lower the leverage or use a new sub-account to place the order again "
        )
        if order.pos_side != "net":
            scope = "isolated" if order.td_mode == "isolated" else "cross"
            msg = (
                f"Order failed. For {scope} long/short mode of {inst.inst_id}, the sum of current order size, "
                f"position quantity in the same direction, and pending orders in the same direction {tail}"
                f"(current leverage: {lever}×, current order size: {sz} contracts, position quantity in the "
                f"same direction: {pos} contracts, pending orders in the same direction: {pend} contracts)."
            )
        else:
            way = order.side
            msg = (
                f"Order failed. For buy/sell mode of {inst.inst_id}, the sum of current {way} order size, "
                f"position quantity, and pending {way} orders {tail}(current leverage: {lever}×, current {way} "
                f"order size: {sz} contracts, position quantity: {pos} contracts, pending {way} orders: "
                f"{pend} contracts)."
            )
        raise Refused("51004", msg)

    def refreeze_for_amend(self, acct: Account, order: Order, new_sz: Decimal, new_px: Decimal) -> Decimal:
        """The margin an amended swap order holds: its opening share at the new size and price."""
        if not order.frozen or not order.remaining:
            return ZERO
        opening_share = order.frozen / money(value(order.inst, order.remaining, order.px) / order.lever)
        new_remaining = new_sz - order.acc_fill_sz
        return money(value(order.inst, new_remaining, new_px) / order.lever * min(Decimal(1), opening_share))
