"""The simulator's order record and its OKX wire form (GET /trade/order item, orders-channel push).

One mutable `Order` per order; the engine changes it and renders it with `to_wire()` whenever it
hands it out, so that REST, WebSocket and the admin API always agree on every field.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from okxbot.sim.instruments import ZERO, Instrument, fmt

PENDING_STATES = frozenset({"live", "partially_filled"})

# Texts for cancelSourceReason, after OKX's description of each cancelSource code.
CANCEL_REASONS = {
    "0": "Order canceled by system",
    "1": "Order canceled by user",
    "13": "FOK order was canceled due to incompletely filled",
    "14": "IOC order was partially canceled due to incompletely filled",
    "20": "Cancel all after triggered",
    "31": "The post-only order will take liquidity in maker orders",
    "32": "Self trade prevention",
}


@dataclass(slots=True, eq=False)
class Order:
    uid: str
    inst: Instrument
    ord_id: str
    cl_ord_id: str
    tag: str
    side: str  # buy | sell
    ord_type: str  # market | limit | post_only | ioc | fok
    td_mode: str
    tgt_ccy: str  # "" for limit orders; base_ccy | quote_ccy for market orders
    px: Decimal  # ZERO for market orders
    sz: Decimal  # as sent: base size, or quote amount for a quote_ccy market order
    remaining: Decimal  # what is left to fill, in the unit of sz
    c_time: int
    u_time: int
    internal: bool = False  # the synthetic market's own orders: no balances, events or history
    state: str = "live"
    acc_fill_sz: Decimal = ZERO  # base units, always
    notional: Decimal = ZERO  # sum of fill px * fill sz, for avgPx
    fee: Decimal = ZERO  # negative when charged, as OKX reports it
    fill_px: str = ""
    fill_sz: str = "0"
    fill_time: str = ""
    trade_id: str = ""
    cancel_source: str = ""
    frozen: Decimal = ZERO  # what this order still holds frozen (quote for buys, base for sells)
    stp_mode: str = "cancel_maker"

    @property
    def pending(self) -> bool:
        return self.state in PENDING_STATES

    @property
    def fee_ccy(self) -> str:
        # Spot fees are charged in the currency received.
        return self.inst.base_ccy if self.side == "buy" else self.inst.quote_ccy

    @property
    def rebate_ccy(self) -> str:
        return self.inst.quote_ccy if self.side == "buy" else self.inst.base_ccy

    @property
    def frozen_ccy(self) -> str:
        return self.inst.quote_ccy if self.side == "buy" else self.inst.base_ccy

    @property
    def sz_in_quote(self) -> bool:
        return self.tgt_ccy == "quote_ccy"

    def to_wire(self) -> dict[str, Any]:
        """The order object of GET /api/v5/trade/order (reference §3.13); "" where not applicable."""
        # An average over several prices has endless digits; two more than the tick is plenty.
        avg = (
            fmt((self.notional / self.acc_fill_sz).quantize(self.inst.tick_sz / 100))
            if self.acc_fill_sz
            else ""
        )
        return {
            "accFillSz": fmt(self.acc_fill_sz),
            "algoClOrdId": "",
            "algoId": "",
            "attachAlgoClOrdId": "",
            "attachAlgoOrds": [],
            "avgPx": avg,
            "cTime": str(self.c_time),
            "cancelSource": self.cancel_source,
            "cancelSourceReason": CANCEL_REASONS.get(self.cancel_source, ""),
            "category": "normal",
            "ccy": "",
            "clOrdId": self.cl_ord_id,
            "fee": fmt(self.fee),
            "feeCcy": self.fee_ccy,
            "fillPx": self.fill_px,
            "fillSz": self.fill_sz,
            "fillTime": self.fill_time,
            "instId": self.inst.inst_id,
            "instType": "SPOT",
            "isTpLimit": "false",
            "lever": "",
            "linkedAlgoOrd": {"algoId": ""},
            "ordId": self.ord_id,
            "ordType": self.ord_type,
            "pnl": "0",
            "posSide": "net",
            "px": fmt(self.px) if self.ord_type != "market" else "",
            "pxType": "",
            "pxUsd": "",
            "pxVol": "",
            "quickMgnType": "",
            "rebate": "0",
            "rebateCcy": self.rebate_ccy,
            "reduceOnly": "false",
            "side": self.side,
            "slOrdPx": "",
            "slTriggerPx": "",
            "slTriggerPxType": "",
            "source": "",
            "state": self.state,
            "stpId": "",
            "stpMode": self.stp_mode,
            "sz": fmt(self.sz),
            "tag": self.tag,
            "tdMode": self.td_mode,
            "tgtCcy": self.tgt_ccy,
            "tpOrdPx": "",
            "tpTriggerPx": "",
            "tpTriggerPxType": "",
            "tradeId": self.trade_id,
            "tradeQuoteCcy": self.inst.quote_ccy,
            "uTime": str(self.u_time),
        }


def event_fields(
    order: Order,
    *,
    fill: tuple[str, str, str, str, Decimal, str] | None = None,
    amend_result: str = "",
    req_id: str = "",
    code: str = "0",
    msg: str = "",
    last_px: str = "",
) -> dict[str, Any]:
    """The orders-channel push: the order object plus the fields of *this* update.

    `fill` is (fillPx, fillSz, fillTime, tradeId, fillFee, execType) when the update is a fill.
    """
    wire = order.to_wire()
    if fill is None:
        wire.update(fillPx="", fillSz="0", fillTime="", tradeId="", fillFee="0", fillFeeCcy="", execType="")
        wire["fillNotionalUsd"] = ""
    else:
        px, sz, ts, trade_id, fee, exec_type = fill
        wire.update(fillPx=px, fillSz=sz, fillTime=ts, tradeId=trade_id, execType=exec_type)
        wire.update(fillFee=fmt(fee), fillFeeCcy=order.fee_ccy)
        wire["fillNotionalUsd"] = fmt(Decimal(px) * Decimal(sz))
    wire.update(
        amendResult=amend_result,
        amendSource="",
        reqId=req_id,
        code=code,
        msg=msg,
        lastPx=last_px,
        notionalUsd=fmt(order.px * order.sz) if order.ord_type != "market" else fmt(order.notional),
        fillFwdPx="",
        fillMarkPx="",
        fillPnl="0",
    )
    return wire
