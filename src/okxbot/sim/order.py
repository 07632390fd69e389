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
    "3": "Order canceled: risk control or liquidation of the position",
    "9": "Order canceled: insufficient balance after the funding fee was settled",
    "17": "Reduce-only order canceled: the position is already closed",
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
    frozen: Decimal = ZERO  # spot: quote for buys, base for sells; swap: margin of the opening part
    stp_mode: str = "cancel_maker"
    pos_side: str = "net"  # swap: net | long | short
    reduce_only: bool = False
    lever: Decimal = ZERO  # swap: the leverage the order was placed with
    pnl: Decimal = ZERO  # swap: realised by this order's closing fills (before fees)
    category: str = "normal"  # normal | full_liquidation
    fill_pnl: Decimal = ZERO  # swap: pnl of the latest fill

    @property
    def pending(self) -> bool:
        return self.state in PENDING_STATES

    @property
    def fee_ccy(self) -> str:
        # Spot fees are charged in the currency received; swap fees in the settle currency.
        if self.inst.is_swap:
            return self.inst.settle_ccy
        return self.inst.base_ccy if self.side == "buy" else self.inst.quote_ccy

    @property
    def rebate_ccy(self) -> str:
        if self.inst.is_swap:
            return self.inst.settle_ccy
        return self.inst.quote_ccy if self.side == "buy" else self.inst.base_ccy

    @property
    def frozen_ccy(self) -> str:
        if self.inst.is_swap:
            return self.inst.settle_ccy
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
            "category": self.category,
            "ccy": "",
            "clOrdId": self.cl_ord_id,
            "fee": fmt(self.fee),
            "feeCcy": self.fee_ccy,
            "fillPx": self.fill_px,
            "fillSz": self.fill_sz,
            "fillTime": self.fill_time,
            "instId": self.inst.inst_id,
            "instType": self.inst.inst_type,
            "isTpLimit": "false",
            "lever": fmt(self.lever) if self.lever else "",
            "linkedAlgoOrd": {"algoId": ""},
            "ordId": self.ord_id,
            "ordType": self.ord_type,
            "pnl": fmt(self.pnl),
            "posSide": self.pos_side,
            "px": fmt(self.px) if self.ord_type != "market" else "",
            "pxType": "",
            "pxUsd": "",
            "pxVol": "",
            "quickMgnType": "",
            "rebate": "0",
            "rebateCcy": self.rebate_ccy,
            "reduceOnly": "true" if self.reduce_only else "false",
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
            "tradeQuoteCcy": "" if self.inst.is_swap else self.inst.quote_ccy,
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
    mark_px: str = "",
    idx_px: str = "",
) -> dict[str, Any]:
    """The orders-channel push: the order object plus the fields of *this* update.

    `fill` is (fillPx, fillSz, fillTime, tradeId, fillFee, execType) when the update is a fill;
    a swap fill also reports its `fillPnl` and the mark / index prices at the fill.
    """
    wire = order.to_wire()
    inst = order.inst
    # Swap sizes are contracts: their USD notional goes through the contract value.
    size = inst.contract_size if inst.is_swap else Decimal(1)
    if fill is None:
        wire.update(fillPx="", fillSz="0", fillTime="", tradeId="", fillFee="0", fillFeeCcy="", execType="")
        wire.update(fillNotionalUsd="", fillPnl="0", fillMarkPx="", fillIdxPx="")
    else:
        px, sz, ts, trade_id, fee, exec_type = fill
        wire.update(fillPx=px, fillSz=sz, fillTime=ts, tradeId=trade_id, execType=exec_type)
        wire.update(fillFee=fmt(fee), fillFeeCcy=order.fee_ccy)
        notional = Decimal(sz) * size if inst.inverse else Decimal(px) * Decimal(sz) * size
        wire["fillNotionalUsd"] = fmt(notional)
        wire.update(fillPnl=fmt(order.fill_pnl), fillMarkPx=mark_px, fillIdxPx=idx_px)
    if order.ord_type == "market":
        notional_usd = order.acc_fill_sz * size if inst.inverse else order.notional * size
    else:
        notional_usd = order.sz * size if inst.inverse else order.px * order.sz * size
    wire.update(
        amendResult=amend_result,
        amendSource="",
        reqId=req_id,
        code=code,
        msg=msg,
        lastPx=last_px,
        notionalUsd=fmt(notional_usd),
        fillFwdPx="",
    )
    return wire
