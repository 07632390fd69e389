"""Acting on a whole swap position: `trade/close-position` and `account/position/margin-balance`
(okx-v5-derivatives-algo-data.md §2.2).

close-position closes the position of (instId, mgnMode, posSide) with a market order of its full size
(reduce-only in net_mode, the closing side in long_short_mode; several when it exceeds maxMktSz). Pending close orders of that
position (reduce-only, or the closing side in long_short_mode) stand in the way (51115) unless
`autoCxl` is true, when they are canceled first. No position -> 51023.

margin-balance moves margin into (`add`) or out of (`reduce`) an isolated position. The margin stays in
the cash balance and out of availEq (as the fill's margin does, okxbot.sim.derivatives), so adding
moves the liquidation price away and reducing brings it closer. Adding may use at most the available
equity; reducing may leave no less than the initial margin at the mark plus any unrealised loss
(59301 beyond either). No isolated position -> 59300. Each change is one bill (type 6, subType 160
add / 161 reduce, balChg 0, posBalChg the amount) and a `balance_and_position` push ("adjust_margin").
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from okxbot.sim.accounts import Account
from okxbot.sim.bus import EventBus, Ids
from okxbot.sim.clock import Clock
from okxbot.sim.contracts import money
from okxbot.sim.derivatives import Derivatives
from okxbot.sim.filters import ParamError, UnknownInstrument, param_str
from okxbot.sim.instruments import ZERO, Instrument, fmt
from okxbot.sim.ledger import Ledger
from okxbot.sim.margin import Margin
from okxbot.sim.order_entry import OrderEntry
from okxbot.sim.positions import Position
from okxbot.sim.records import account_bill

MARGIN_BILL_TYPE = "6"
MARGIN_SUB_TYPES = {"add": "160", "reduce": "161"}


class PositionActions:
    def __init__(
        self, clock: Clock, bus: EventBus, ids: Ids, ledger: Ledger, derivs: Derivatives, margin: Margin,
        entry: OrderEntry,
    ) -> None:  # fmt: skip
        self.clock = clock
        self.bus = bus
        self.ids = ids
        self.ledger = ledger
        self.derivs = derivs
        self.margin = margin
        self.entry = entry

    # -- trade/close-position ----------------------------------------------------------------------

    def close(self, uid: str, params: Mapping[str, Any]) -> list[dict[str, str]]:
        acct = self.ledger.account(uid)
        inst = self._swap(acct, params)
        mgn_mode = _required(params, "mgnMode")
        if mgn_mode not in ("cross", "isolated"):
            raise ParamError("51000", "Parameter mgnMode error")
        pos_side = self._pos_side(acct, params)
        auto_cxl = _flag(params.get("autoCxl"), "autoCxl")
        p = self.derivs.find(acct, inst, mgn_mode, pos_side)
        if p is None or not p.pos:
            raise ParamError("51023", "Position does not exist.")
        closing = [o for o in self.derivs.pending_on(acct, inst.inst_id, mgn_mode)
                   if o.pos_side == pos_side and (o.reduce_only or (pos_side != "net" and self.derivs.closes(o, None)))]  # fmt: skip
        if closing and not auto_cxl:
            raise ParamError("51115", "Cancel all pending close-orders before liquidation.")
        for order in closing:
            self.derivs.cancel(order, "1")
        cl, tag = param_str(params.get("clOrdId")), param_str(params.get("tag"))
        # One market order may hold at most maxMktSz contracts: a larger position closes in several, the
        # first carrying the clOrdId. Each is reduce-only (or closing), so none can overshoot.
        remaining, first = p.size, True
        while remaining > 0:
            part = min(remaining, inst.max_mkt_sz)
            order = {
                "instId": inst.inst_id, "tdMode": mgn_mode, "side": "sell" if p.direction > 0 else "buy",
                "ordType": "market", "sz": fmt(part), "posSide": pos_side, "clOrdId": cl if first else "",
                "tag": tag,
            }  # fmt: skip
            if pos_side == "net":
                order["reduceOnly"] = "true"
            result = self.entry.place(uid, order)
            if result["sCode"] != "0":
                if first:
                    raise ParamError(result["sCode"], result["sMsg"])
                break  # what closed stays closed; the rest shows in the position
            remaining, first = remaining - part, False
        return [{"instId": inst.inst_id, "posSide": pos_side, "clOrdId": cl, "tag": tag}]

    # -- account/position/margin-balance -----------------------------------------------------------

    def adjust_margin(self, uid: str, params: Mapping[str, Any]) -> list[dict[str, str]]:
        acct = self.ledger.account(uid)
        inst = self._swap(acct, params)
        pos_side = _required(params, "posSide")
        kind = _required(params, "type")
        amt_text = _required(params, "amt")
        if kind not in MARGIN_SUB_TYPES:
            raise ParamError("51000", "Parameter type error")
        try:
            amt = Decimal(amt_text)
        except (InvalidOperation, ValueError):
            raise ParamError("51000", "Parameter amt error") from None
        if not amt.is_finite() or amt <= 0:
            raise ParamError("51000", "Parameter amt error")
        if pos_side not in (("long", "short") if acct.pos_mode == "long_short_mode" else ("net",)):
            raise ParamError("51000", "Parameter posSide error")
        p = self.derivs.find(acct, inst, "isolated", pos_side)
        if p is None or not p.pos:
            raise ParamError("59300", "Margin call failed. Position does not exist.")
        if amt > self._most(acct, p, kind):
            raise ParamError("59301", "Margin adjustment failed for exceeding the max limit.")
        change = amt if kind == "add" else -amt
        p.margin += change
        now = self.clock.now_ms()
        b = acct.bal(inst.settle_ccy)
        b.u_time = now
        acct.bills.append(
            account_bill(
                bill_id=self.ids.bill(), ccy=inst.settle_ccy, bal=b.cash, bal_chg=ZERO, typ=MARGIN_BILL_TYPE,
                sub_type=MARGIN_SUB_TYPES[kind], ts=now, inst_id=inst.inst_id, inst_type=inst.inst_type,
                mgn_mode="isolated", pos_bal=p.margin, pos_bal_chg=change,
            )
        )  # fmt: skip
        self.ledger.touch(acct, inst.settle_ccy)
        self.bus.position_changed(uid, p.pos_id, p.ccy, "adjust_margin")
        self.bus.flush()
        r = self.margin.risk(acct, p)
        real_lever = (r.value / p.margin).quantize(Decimal("0.01")) if p.margin > 0 else ZERO
        return [{"amt": fmt(amt), "ccy": inst.settle_ccy, "instId": inst.inst_id, "leverage": fmt(real_lever),
                 "posSide": pos_side, "type": kind}]  # fmt: skip

    def _most(self, acct: Account, p: Position, kind: str) -> Decimal:
        """The largest amount `kind` may move: the available equity in, the margin above the initial
        margin at the mark (and any unrealised loss) out."""
        if kind == "add":
            return self.margin.currency(acct, p.ccy).avail_eq
        r = self.margin.risk(acct, p)
        return max(ZERO, money(p.margin + min(r.upl, ZERO) - r.imr))

    # -- shared checks -----------------------------------------------------------------------------

    def _swap(self, acct: Account, params: Mapping[str, Any]) -> Instrument:
        inst_id = _required(params, "instId")
        inst = self.derivs.markets.instruments.get(inst_id)
        if inst is None:
            raise UnknownInstrument(inst_id)
        if acct.acct_lv == "1":
            raise ParamError("51010", "You can't complete this request under your current account mode.")
        if not inst.is_swap:
            raise ParamError("54000", "Margin trading is not supported.")
        return inst

    @staticmethod
    def _pos_side(acct: Account, params: Mapping[str, Any]) -> str:
        pos_side = param_str(params.get("posSide"))
        if acct.pos_mode == "long_short_mode":
            if pos_side not in ("long", "short"):
                raise ParamError("51000", "Parameter posSide error")
            return pos_side
        if pos_side not in ("", "net"):
            raise ParamError("51000", "Parameter posSide error")
        return "net"


def _required(params: Mapping[str, Any], name: str) -> str:
    text = param_str(params.get(name))
    if not text:
        raise ParamError("50014", f"Parameter {name} can not be empty.")
    return text


def _flag(raw: Any, name: str) -> bool:
    """A boolean OKX accepts as JSON true/false or "true"/"false" (ccxt and python-okx send either)."""
    if raw is None or raw is False or raw == "":
        return False
    if raw is True:
        return True
    text = param_str(raw)
    if text in ("true", "false"):
        return text == "true"
    raise ParamError("51000", f"Parameter {name} error")
