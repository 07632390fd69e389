"""The records of algo orders and of TP/SL attached to normal orders, and their OKX wire forms.

`Algo` is one algo order (`trade/order-algo`, or the TP/SL an attached order created) as the algo
book keeps it; `to_wire()` renders the object of `GET trade/order-algo`, `orders-algo-pending`,
`orders-algo-history` and the `orders-algo` / `algo-advance` pushes, with "" where not applicable.
`AttachSpec` is one `attachAlgoOrds` item of a normal order until its parent fills; its `wire()` is
what the parent order object shows under `attachAlgoOrds`.

Trigger semantics (reference derivatives §4, OKX "Place algo order"):
* `sell` TP fires when the price rises to tpTriggerPx, `sell` SL when it falls to slTriggerPx;
  `buy` the other way round. A `trigger` order fires in the direction the trigger price lay from
  the price at placement.
* Trailing (`move_order_stop`): sell = extreme high since activation x (1 - ratio) or - spread;
  buy = extreme low x (1 + ratio) or + spread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from okxbot.sim.instruments import ZERO, Instrument, fmt

# algo states (OKX): live -> effective | order_failed | canceled (partially_* belong to split TPs)
LIVE = "live"
EFFECTIVE = "effective"
CANCELED = "canceled"
ORDER_FAILED = "order_failed"
HISTORY_STATES = ("effective", "canceled", "order_failed", "partially_failed")

TPSL_TYPES = frozenset({"conditional", "oco"})
ALGO_TYPES = frozenset({"conditional", "oco", "trigger", "move_order_stop"})
# Documented ordTypes the simulator does not run; placing one is refused (see docs/architecture.md).
UNSIMULATED_TYPES = frozenset({"twap", "chase", "iceberg"})
PRICE_TYPES = ("last", "index", "mark")
ADVANCE_TYPES = frozenset({"move_order_stop"})  # pushed on algo-advance, not orders-algo

# The order `source` of a triggered child (GET trade/order "source").
SOURCE = {"conditional": "7", "oco": "7", "trigger": "6", "move_order_stop": "25"}


@dataclass(slots=True)
class Leg:
    """A trigger and the order it places: `ord_px` None means market (-1 on the wire)."""

    trigger_px: Decimal
    ord_px: Decimal | None
    px_type: str = "last"

    def ord_px_wire(self) -> str:
        return "-1" if self.ord_px is None else fmt(self.ord_px)


@dataclass(eq=False)
class AttachSpec:
    """One `attachAlgoOrds` item of a normal order (created as an algo when the order fills)."""

    attach_algo_id: str
    attach_algo_cl_ord_id: str
    tp: Leg | None
    sl: Leg | None
    tp_ord_kind: str = "condition"
    sz: Decimal | None = None  # split TPs only
    amend_px_on_trigger_type: str = "0"
    fail_code: str = ""
    fail_reason: str = ""
    tp_limit_px: Decimal | None = None  # tpOrdKind "limit": a resting TP limit order at this price

    @property
    def has_tp(self) -> bool:
        return self.tp is not None or self.tp_limit_px is not None

    def wire(self) -> dict[str, str]:
        tp, sl = self.tp, self.sl
        if self.tp_limit_px is not None:
            return {**self._wire(tp, sl), "tpOrdKind": "limit", "tpOrdPx": fmt(self.tp_limit_px)}
        return self._wire(tp, sl)

    def _wire(self, tp: Leg | None, sl: Leg | None) -> dict[str, str]:
        return {
            "amendPxOnTriggerType": self.amend_px_on_trigger_type,
            "attachAlgoClOrdId": self.attach_algo_cl_ord_id,
            "attachAlgoId": self.attach_algo_id,
            "failCode": self.fail_code,
            "failReason": self.fail_reason,
            "slOrdPx": sl.ord_px_wire() if sl else "",
            "slTriggerPx": fmt(sl.trigger_px) if sl else "",
            "slTriggerPxType": sl.px_type if sl else "",
            "sz": fmt(self.sz) if self.sz is not None else "",
            "tpOrdKind": self.tp_ord_kind if tp else "",
            "tpOrdPx": tp.ord_px_wire() if tp else "",
            "tpTriggerPx": fmt(tp.trigger_px) if tp else "",
            "tpTriggerPxType": tp.px_type if tp else "",
        }

    def trigger_wire(self) -> dict[str, str]:
        """As a trigger order's `attachAlgoOrds` item shows it (no attach ids of its own)."""
        w = self.wire()
        return {k: w[k] for k in ("attachAlgoClOrdId", "slOrdPx", "slTriggerPx", "slTriggerPxType",
                                  "tpOrdPx", "tpTriggerPx", "tpTriggerPxType")}  # fmt: skip


@dataclass(eq=False)
class Algo:
    uid: str
    inst: Instrument
    algo_id: str
    ord_type: str  # conditional | oco | trigger | move_order_stop
    side: str
    pos_side: str
    td_mode: str
    sz: Decimal  # ZERO when closeFraction = 1
    c_time: int
    last: Decimal  # the last price at placement (shown as "last")
    algo_cl_ord_id: str = ""
    cl_ord_id: str = ""
    tag: str = ""
    tgt_ccy: str = ""
    close_fraction: bool = False
    reduce_only: bool = False
    cxl_on_close_pos: bool = False
    lever: Decimal | None = None
    tp: Leg | None = None
    sl: Leg | None = None
    tp_ignored: bool = False  # net-mode `conditional` with both legs: OKX applies the SL only
    trigger: Leg | None = None
    trigger_dir: int = 0  # trigger orders: +1 fire at or above triggerPx, -1 at or below, 0 at once
    attach: list[AttachSpec] = field(default_factory=list)  # trigger orders' attached TP/SL
    callback_ratio: Decimal | None = None
    callback_spread: Decimal | None = None
    active_px: Decimal | None = None
    activated: bool = False
    extreme: Decimal | None = None  # trailing: highest (sell) / lowest (buy) price since activation
    state: str = LIVE
    u_time: int = 0
    ord_ids: list[str] = field(default_factory=list)
    actual_sz: str = "0"
    actual_px: str = ""
    actual_side: str = ""
    trigger_time: str = ""
    fail_code: str = ""
    tp_limit_px: Decimal | None = None  # an oco's TP as a resting limit order (tpOrdKind "limit")
    linked: list[Any] = field(default_factory=list)  # the TP limit orders this stop-loss goes with
    linked_ord_id: str = ""  # SL of a TP-limit pair: the TP limit order
    parent_ord_id: str = ""  # attached TP/SL: the order whose fill created it (not on the wire)
    seen_trade: int = 0  # newest tradeId of the instrument this algo has looked at
    fresh: bool = True  # not evaluated yet: the current price counts once
    pos_closed_at: int | None = None  # position-linked algos: the position's closed_at at placement

    def __post_init__(self) -> None:
        if not self.u_time:
            self.u_time = self.c_time

    @property
    def live(self) -> bool:
        return self.state == LIVE

    @property
    def advance(self) -> bool:
        return self.ord_type in ADVANCE_TYPES

    @property
    def position_linked(self) -> bool:
        return self.close_fraction or self.cxl_on_close_pos

    def active_legs(self) -> list[tuple[str, Leg]]:
        """The TP/SL legs that may fire (SL first: when both cross at once, the harsher one wins)."""
        legs: list[tuple[str, Leg]] = []
        if self.sl is not None:
            legs.append(("sl", self.sl))
        if self.tp is not None and not self.tp_ignored:
            legs.append(("tp", self.tp))
        return legs

    def move_trigger_px(self) -> Decimal | None:
        """The trailing stop's current trigger price (None before activation)."""
        if self.extreme is None:
            return None
        sign = -1 if self.side == "sell" else 1
        if self.callback_ratio is not None:
            px = self.extreme * (1 + sign * self.callback_ratio)
        else:
            assert self.callback_spread is not None
            px = self.extreme + sign * self.callback_spread
        return px.quantize(self.inst.tick_sz) if px > 0 else ZERO

    def notional_usd(self) -> Decimal:
        if self.inst.is_swap:
            size = self.sz * self.inst.contract_size
            return size if self.inst.inverse else size * self.last
        if self.tgt_ccy == "quote_ccy":
            return self.sz
        return self.sz * self.last

    def to_wire(self) -> dict[str, Any]:
        tp, sl, trig = self.tp, self.sl, self.trigger
        move = self.move_trigger_px() if self.ord_type == "move_order_stop" else None
        return {
            "activePx": fmt(self.active_px) if self.active_px is not None else "",
            "actualPx": self.actual_px,
            "actualSide": self.actual_side,
            "actualSz": self.actual_sz,
            "algoClOrdId": self.algo_cl_ord_id,
            "algoId": self.algo_id,
            "amendPxOnTriggerType": "0",
            "attachAlgoOrds": [a.trigger_wire() for a in self.attach],
            "cTime": str(self.c_time),
            "callbackRatio": fmt(self.callback_ratio) if self.callback_ratio is not None else "",
            "callbackSpread": fmt(self.callback_spread) if self.callback_spread is not None else "",
            "ccy": "",
            "chaseType": "",
            "chaseVal": "",
            "clOrdId": self.cl_ord_id,
            "closeFraction": "1" if self.close_fraction else "",
            "failCode": self.fail_code,
            "instId": self.inst.inst_id,
            "instType": self.inst.inst_type,
            "isTradeBorrowMode": "",
            "last": fmt(self.last),
            "lever": fmt(self.lever) if self.lever else "",
            "linkedOrd": {"ordId": self.linked_ord_id},
            "maxChaseType": "",
            "maxChaseVal": "",
            "moveTriggerPx": fmt(move) if move is not None else "",
            "ordId": self.ord_ids[-1] if self.ord_ids else "",
            "ordIdList": list(self.ord_ids),
            "ordPx": trig.ord_px_wire() if trig else "",
            "ordType": self.ord_type,
            "posSide": self.pos_side,
            "pxLimit": "",
            "pxSpread": "",
            "pxVar": "",
            "quickMgnType": "",
            "reduceOnly": "true" if self.reduce_only else "false",
            "side": self.side,
            "slOrdPx": sl.ord_px_wire() if sl else "",
            "slTriggerPx": fmt(sl.trigger_px) if sl else "",
            "slTriggerPxType": sl.px_type if sl else "",
            "state": self.state,
            "sz": fmt(self.sz) if self.sz else ("" if self.close_fraction else "0"),
            "szLimit": "",
            "tag": self.tag,
            "tdMode": self.td_mode,
            "tgtCcy": self.tgt_ccy,
            "timeInterval": "",
            "tpOrdPx": fmt(self.tp_limit_px)
            if self.tp_limit_px is not None
            else (tp.ord_px_wire() if tp else ""),
            "tpTriggerPx": fmt(tp.trigger_px) if tp else "",
            "tpTriggerPxType": tp.px_type if tp else "",
            "tradeQuoteCcy": "" if self.inst.is_swap else self.inst.quote_ccy,
            "triggerPx": fmt(trig.trigger_px) if trig else "",
            "triggerPxType": trig.px_type if trig else "",
            "triggerTime": self.trigger_time,
            "uTime": str(self.u_time),
        }

    def push_wire(self, amend_result: str = "", req_id: str = "") -> dict[str, Any]:
        """The `orders-algo` push: the algo object plus this update's fields."""
        wire = self.to_wire()
        wire.update(amendResult=amend_result, reqId=req_id, notionalUsd=fmt(self.notional_usd()))
        return wire

    def advance_wire(self, now_ms: int) -> dict[str, Any]:
        """The `algo-advance` push item (trailing stops): adds `count` and `pTime`."""
        wire = self.to_wire()
        wire.update(count="1", pTime=str(now_ms), notionalUsd=fmt(self.notional_usd()))
        return wire
