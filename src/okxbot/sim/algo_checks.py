"""OKX's checks on an algo order (`trade/order-algo`) and on `attachAlgoOrds`, with OKX's sCodes.

Order of the `order-algo` checks: required fields (50014) -> id and tag formats (51000) -> instrument
(51001) -> ordType / side (51000) -> tdMode and account mode (51010, 51000, 54000) -> posSide
(51000) -> reduceOnly (51000, 51139) -> closeFraction (51327-51331, 50024) -> size (51000, 51121,
51020) -> tgtCcy (51281, 51000) -> the type's own fields (prices 51000, trigger types 51415, TP/SL
against the current price 51277-51280 / 51300-51308, trailing 51257-51259) -> reduce-only against the
position (51205) and the one close-all TP/SL per position (51058, 51088).
Identity (51065 / 51068) and the pending caps (51260 / 51261 / 51299 / 51025) are the book's.

Prices are checked on the price stream the leg triggers on: `last` (the instrument's last trade),
`index` or `mark` (swaps only; SPOT accepts `last` only, 51415).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from okxbot.sim.accounts import Account
from okxbot.sim.algo_model import (
    ALGO_TYPES,
    PRICE_TYPES,
    TPSL_TYPES,
    UNSIMULATED_TYPES,
    Algo,
    AttachSpec,
    Leg,
)
from okxbot.sim.derivatives import Derivatives
from okxbot.sim.filters import param_str
from okxbot.sim.instruments import ZERO, Instrument, InstrumentSet, fmt, is_multiple
from okxbot.sim.margin import Margin
from okxbot.sim.marketdata import Markets
from okxbot.sim.marks import Marks
from okxbot.sim.order import Order
from okxbot.sim.swap_orders import Refused, SwapOrders

ID = re.compile(r"[A-Za-z0-9]{1,32}")
TAG = re.compile(r"[A-Za-z0-9]{1,16}")
# Trailing callback ratio: OKX words the refusal "{min}< x<={max}"; the simulator takes 0.1 % .. 10 %.
CALLBACK_MIN = Decimal("0.001")
CALLBACK_MAX = Decimal("0.1")
MAX_SPLIT_TPS = 10

# (leg, side) -> (code, message word) when the trigger lies on the wrong side of its price stream.
_WRONG_SIDE = {
    ("tp", "buy"): ("higher", {"last": "51277", "mark": "51300", "index": "51305"}),
    ("sl", "buy"): ("lower", {"last": "51278", "mark": "51302", "index": "51306"}),
    ("tp", "sell"): ("lower", {"last": "51279", "mark": "51303", "index": "51307"}),
    ("sl", "sell"): ("higher", {"last": "51280", "mark": "51304", "index": "51308"}),
}


def _bool(raw: Any, name: str) -> bool:
    text = param_str(raw)
    if text in ("", "false"):
        return False
    if text == "true":
        return True
    raise Refused("51000", f"Parameter {name} error")


def decimal_param(raw: Any, name: str, *, allow_zero: bool = False) -> Decimal:
    try:
        value = Decimal(param_str(raw))
    except (InvalidOperation, ValueError):
        raise Refused("51000", f"Parameter {name} error") from None
    if not value.is_finite() or value < 0 or (value == 0 and not allow_zero):
        raise Refused("51000", f"Parameter {name} error")
    return value


def price_param(raw: Any, name: str, inst: Instrument) -> Decimal:
    px = decimal_param(raw, name)
    if not is_multiple(px, inst.tick_sz):
        raise Refused("51000", f"Parameter {name} error")
    return px


def order_price(raw: Any, name: str, inst: Instrument) -> Decimal | None:
    """An order price: "-1" is market (None), else a positive multiple of the tick."""
    if param_str(raw) == "-1":
        return None
    return price_param(raw, name, inst)


def px_type(raw: Any, name: str, inst: Instrument) -> str:
    text = param_str(raw) or "last"
    if text not in PRICE_TYPES:
        raise Refused("51000", f"Parameter {name} error")
    if text != "last" and not inst.is_swap:
        raise Refused(
            "51415",
            "Unable to place order. Spot trading only supports using the last price as trigger price. "
            'Please select "Last" and try again.',
        )
    return text


def leg(params: Mapping[str, Any], prefix: str, inst: Instrument) -> Leg | None:
    """The tp / sl leg of a request (`tpTriggerPx` + `tpOrdPx` + `tpTriggerPxType`), or None."""
    trig, ord_px = params.get(f"{prefix}TriggerPx"), params.get(f"{prefix}OrdPx")
    if not param_str(trig) and not param_str(ord_px):
        return None
    if not param_str(trig):
        raise Refused("51000", f"Parameter {prefix}TriggerPx error")
    if not param_str(ord_px):
        raise Refused("51000", f"Parameter {prefix}OrdPx error")
    return Leg(
        price_param(trig, f"{prefix}TriggerPx", inst),
        order_price(ord_px, f"{prefix}OrdPx", inst),
        px_type(params.get(f"{prefix}TriggerPxType"), f"{prefix}TriggerPxType", inst),
    )


def tp_limit_price(raw: Any, inst: Instrument) -> Decimal:
    """The price of a TP limit order (tpOrdKind "limit"): swaps only, a real price, not market."""
    if not inst.is_swap:
        raise Refused("51094", "You can't place TP limit orders in spot, margin, or options trading.")
    if not param_str(raw):
        raise Refused("51000", "Parameter tpOrdPx error")
    if param_str(raw) == "-1":
        raise Refused("51093", "TP limit order prices (tpOrdPx) in one order can't be –1 (market price).")
    return price_param(raw, "tpOrdPx", inst)


class AlgoChecks:
    """Validation against the exchange's current state (prices, positions, account settings)."""

    def __init__(
        self, instruments: InstrumentSet, markets: Markets, marks: Marks, margin: Margin,
        derivs: Derivatives, swaps: SwapOrders,
    ) -> None:  # fmt: skip
        self.instruments = instruments
        self.markets = markets
        self.marks = marks
        self.margin = margin
        self.derivs = derivs
        self.swaps = swaps

    # -- prices ---------------------------------------------------------------------------------

    def price(self, inst: Instrument, kind: str) -> Decimal:
        if kind == "mark":
            return self.marks.mark_px(inst)
        if kind == "index":
            return self.marks.index_of(inst)
        return self.markets.last_px(inst.inst_id)

    def check_side(self, name: str, side: str, lg: Leg, inst: Instrument) -> None:
        """A TP/SL trigger on the wrong side of its price stream would fire at once: refused."""
        word, codes = _WRONG_SIDE[(name, side)]
        now = self.price(inst, lg.px_type)
        wrong = lg.trigger_px > now if word == "higher" else lg.trigger_px < now
        if wrong:
            label = {"last": "last price", "mark": "mark price", "index": "index price"}[lg.px_type]
            raise Refused(
                codes[lg.px_type], f"{name.upper()} trigger price cannot be {word} than the {label}."
            )

    # -- order-algo -----------------------------------------------------------------------------

    def place(self, acct: Account, params: Mapping[str, Any], now: int) -> Algo:
        """Validate a `trade/order-algo` request; the returned algo has no algoId yet."""
        for name in ("instId", "tdMode", "side", "ordType"):
            if not param_str(params.get(name)):
                raise Refused("50014", f"Parameter {name} can not be empty.")
        algo_cl = param_str(params.get("algoClOrdId"))
        cl = param_str(params.get("clOrdId"))
        tag = param_str(params.get("tag"))
        if algo_cl and not ID.fullmatch(algo_cl):
            raise Refused("51000", "Parameter algoClOrdId error")
        if cl and not ID.fullmatch(cl):
            raise Refused("51000", "Parameter clOrdId error")
        if tag and not TAG.fullmatch(tag):
            raise Refused("51000", "Parameter tag error")
        inst = self.instruments.get(param_str(params["instId"]))
        if inst is None:
            raise Refused("51001", "Instrument ID or Spread ID doesn't exist.")
        ord_type = param_str(params["ordType"])
        if ord_type not in ALGO_TYPES or (ord_type in UNSIMULATED_TYPES):
            raise Refused("51000", "Parameter ordType error")
        side = param_str(params["side"])
        if side not in ("buy", "sell"):
            raise Refused("51000", "Parameter side error")
        td_mode = param_str(params["tdMode"])
        self.check_td_mode(acct, inst, td_mode)
        pos_side = self.check_pos_side(acct, inst, param_str(params.get("posSide")))
        long_short = pos_side in ("long", "short")
        reduce_only = _bool(params.get("reduceOnly"), "reduceOnly")
        if reduce_only and not inst.is_swap:
            raise Refused(
                "51139", "Reduce-only feature is unavailable for the spot transactions by spot mode."
            )
        if long_short:
            reduce_only = False  # OKX: only meaningful in net mode, ignored in long/short mode
        cxl_on_close = _bool(params.get("cxlOnClosePos"), "cxlOnClosePos")
        close_fraction = self._close_fraction(params, inst, ord_type, pos_side, reduce_only)
        if cxl_on_close and not reduce_only and not long_short:
            raise Refused("51000", "Parameter cxlOnClosePos error")
        sz = ZERO
        if not close_fraction:
            if not param_str(params.get("sz")):
                raise Refused("50014", "Parameter sz can not be empty.")
            sz = decimal_param(params.get("sz"), "sz")
        tgt_ccy = self._tgt_ccy(params, inst, ord_type, side)
        last = self.markets.last_px(inst.inst_id)
        algo = Algo(
            uid=acct.uid, inst=inst, algo_id="", ord_type=ord_type, side=side, pos_side=pos_side, td_mode=td_mode,
            sz=sz, c_time=now, last=last, algo_cl_ord_id=algo_cl or cl, cl_ord_id=cl, tag=tag, tgt_ccy=tgt_ccy,
            close_fraction=close_fraction, reduce_only=reduce_only, cxl_on_close_pos=cxl_on_close,
        )  # fmt: skip
        if inst.is_swap:
            algo.lever = self.margin.lever(acct, inst, td_mode, pos_side)
        if ord_type in TPSL_TYPES:
            self._tpsl(algo, params)
        elif ord_type == "trigger":
            self._trigger(acct, algo, params)
        else:
            self._trailing(algo, params)
        if sz:
            self.check_size(inst, sz, algo)
        if reduce_only or close_fraction or cxl_on_close:
            self._check_position(acct, algo)
        return algo

    def check_td_mode(self, acct: Account, inst: Instrument, td_mode: str) -> None:
        if inst.is_swap:
            self.swaps.check_mode(acct, td_mode)
        elif td_mode in ("cross", "isolated", "spot_isolated"):
            if acct.acct_lv == "1":
                raise Refused("51010", "You can't complete this request under your current account mode.")
            raise Refused("54000", "Margin trading is not supported.")
        elif td_mode != "cash":
            raise Refused("51000", "Parameter tdMode error")

    @staticmethod
    def check_pos_side(acct: Account, inst: Instrument, pos_side: str) -> str:
        if inst.is_swap and acct.pos_mode == "long_short_mode":
            if pos_side not in ("long", "short"):
                raise Refused("51000", "Parameter posSide error")
            return pos_side
        if pos_side not in ("", "net"):
            raise Refused("51000", "Parameter posSide error")
        return "net"

    @staticmethod
    def _close_fraction(
        params: Mapping[str, Any], inst: Instrument, ord_type: str, pos_side: str, reduce_only: bool
    ) -> bool:
        text = param_str(params.get("closeFraction"))
        if not text:
            return False
        if text != "1":
            raise Refused("51000", "Parameter closeFraction error")
        if not inst.is_swap:
            raise Refused("51327", "closeFraction is only available for Expiry Futures and Perpetual Futures")
        if ord_type not in TPSL_TYPES:
            raise Refused("51331", "closeFraction is only available for close position orders")
        if pos_side == "net" and not reduce_only:
            raise Refused("51328", "closeFraction is only available for reduceOnly orders")
        if param_str(params.get("sz")):
            raise Refused("50024", "Parameter sz and closeFraction can not exist at the same time.")
        for prefix in ("tp", "sl"):
            if (
                param_str(params.get(f"{prefix}TriggerPx"))
                and param_str(params.get(f"{prefix}OrdPx")) != "-1"
            ):
                raise Refused("51330", "closeFraction is only available for stop market orders")
        return True

    @staticmethod
    def _tgt_ccy(params: Mapping[str, Any], inst: Instrument, ord_type: str, side: str) -> str:
        text = param_str(params.get("tgtCcy"))
        if ord_type == "trigger":
            # Trigger orders are sized in the base currency (contracts for swaps); ccxt sends
            # tgtCcy=base_ccy for every spot order, which says just that.
            if text not in ("", "base_ccy") or (text and inst.is_swap):
                raise Refused("51281", "Trigger order do not support the tgtCcy parameter.")
            return ""
        if inst.is_swap:
            if text:
                raise Refused("51000", "Parameter tgtCcy error")
            return ""
        if text not in ("", "base_ccy", "quote_ccy"):
            raise Refused("51000", "Parameter tgtCcy error")
        limit_leg = any(param_str(params.get(f"{p}OrdPx")) not in ("", "-1") for p in ("tp", "sl"))
        if limit_leg:
            # A limit child is sized in the base currency.
            if text == "quote_ccy":
                raise Refused("51000", "Parameter tgtCcy error")
            return "base_ccy"
        return text or ("quote_ccy" if side == "buy" else "base_ccy")

    def check_size(self, inst: Instrument, sz: Decimal, algo: Algo | None = None) -> None:
        if algo is not None and algo.tgt_ccy == "quote_ccy":
            if sz / self.markets.last_px(inst.inst_id) < inst.min_sz:
                raise Refused("51020", "Your order should meet or exceed the minimum order amount.")
            return
        if not is_multiple(sz, inst.lot_sz):
            raise Refused("51121", "Order quantity must be a multiple of the lot size.")
        if sz < inst.min_sz:
            raise Refused("51020", "Your order should meet or exceed the minimum order amount.")

    def _tpsl(self, algo: Algo, params: Mapping[str, Any]) -> None:
        inst = algo.inst
        kind = param_str(params.get("tpOrdKind")) or "condition"
        if kind not in ("condition", "limit"):
            raise Refused("51000", "Parameter tpOrdKind error")
        if kind == "limit":
            self._tp_limit(algo, params)
            return
        tp, sl = leg(params, "tp", inst), leg(params, "sl", inst)
        if algo.ord_type == "oco":
            if tp is None:
                raise Refused("51000", "Parameter tpTriggerPx error")
            if sl is None:
                raise Refused("51000", "Parameter slTriggerPx error")
        elif tp is None and sl is None:
            raise Refused("50015", "Either parameter tpTriggerPx or slTriggerPx is required")
        for name, lg in (("tp", tp), ("sl", sl)):
            if lg is not None:
                self.check_side(name, algo.side, lg, inst)
        algo.tp, algo.sl = tp, sl
        # OKX: a net `conditional` carrying both legs performs the stop-loss only.
        algo.tp_ignored = (
            algo.ord_type == "conditional" and tp is not None and sl is not None and (algo.pos_side == "net")
        )

    def _tp_limit(self, algo: Algo, params: Mapping[str, Any]) -> None:
        """A TP limit order (resting now) with its stop-loss: an oco whose TP leg is an order."""
        inst = algo.inst
        px = tp_limit_price(params.get("tpOrdPx"), inst)
        sl = leg(params, "sl", inst)
        if sl is None:
            raise Refused(
                "51095",
                "To place TP limit orders at this endpoint, you must place an SL order at the same time.",
            )
        if not algo.cxl_on_close_pos:
            raise Refused("51096", "cxlOnClosePos needs to be true to place a TP limit order")
        self.check_side("sl", algo.side, sl, inst)
        self.check_side("tp", algo.side, Leg(px, px), inst)
        algo.ord_type, algo.sl, algo.tp_limit_px = "oco", sl, px

    def _trigger(self, acct: Account, algo: Algo, params: Mapping[str, Any]) -> None:
        inst = algo.inst
        if not param_str(params.get("triggerPx")):
            raise Refused("50014", "Parameter triggerPx can not be empty.")
        if not param_str(params.get("orderPx")):
            raise Refused("50014", "Parameter orderPx can not be empty.")
        trig = Leg(
            price_param(params.get("triggerPx"), "triggerPx", inst),
            order_price(params.get("orderPx"), "orderPx", inst),
            px_type(params.get("triggerPxType"), "triggerPxType", inst),
        )
        now = self.price(inst, trig.px_type)
        algo.trigger = trig
        algo.trigger_dir = (trig.trigger_px > now) - (trig.trigger_px < now)
        attach = self.attach_list(params.get("attachAlgoOrds"), inst, prefix="")
        if attach:
            if acct.acct_lv == "1":
                raise Refused("51010", "You can't complete this request under your current account mode.")
            if len(attach) > 1:
                raise Refused("51000", "Parameter attachAlgoOrds error")
            ref = trig.ord_px if trig.ord_px is not None else trig.trigger_px
            self.check_against_order(attach[0], algo.side, ref, "limit")
        algo.attach = attach

    def _trailing(self, algo: Algo, params: Mapping[str, Any]) -> None:
        ratio_text, spread_text = (
            param_str(params.get("callbackRatio")),
            param_str(params.get("callbackSpread")),
        )
        if ratio_text and spread_text:
            raise Refused(
                "50024", "Parameter callbackRatio and callbackSpread can not exist at the same time."
            )
        if not ratio_text and not spread_text:
            raise Refused("50015", "Either parameter callbackRatio or callbackSpread is required")
        if ratio_text:
            ratio = decimal_param(ratio_text, "callbackRatio", allow_zero=True)
            if not CALLBACK_MIN <= ratio <= CALLBACK_MAX:
                raise Refused(
                    "51257",
                    f"Trailing stop order callback rate error. The callback rate should be "
                    f"{fmt(CALLBACK_MIN * 100)}<= x<={fmt(CALLBACK_MAX * 100)}%.",
                )
            algo.callback_ratio = ratio
        else:
            algo.callback_spread = decimal_param(spread_text, "callbackSpread")
        active = param_str(params.get("activePx"))
        last = algo.last
        if active:
            px = price_param(active, "activePx", algo.inst)
            if algo.side == "sell" and px <= last:
                raise Refused(
                    "51258",
                    "Trailing stop order placement failed. The trigger price of a sell order must be higher "
                    "than the last transaction price.",
                )
            if algo.side == "buy" and px >= last:
                raise Refused(
                    "51259",
                    "Trailing stop order placement failed. The trigger price of a buy order must be lower "
                    "than the last transaction price.",
                )
            algo.active_px = px
        else:
            algo.activated = True
            algo.extreme = last

    def _check_position(self, acct: Account, algo: Algo) -> None:
        """Reduce-only and close-all algos need a position they can close."""
        p = self.derivs.find(acct, algo.inst, algo.td_mode, algo.pos_side)
        closing = -1 if algo.side == "buy" else 1  # the direction of the position this algo closes
        if algo.pos_side in ("long", "short"):
            has = p is not None and p.pos != 0 and (algo.side == "sell") == (algo.pos_side == "long")
        else:
            has = p is not None and p.direction == closing
        if not has:
            if algo.close_fraction:
                raise Refused("51058", "No available position for this algo order")
            raise Refused("51205", "Reduce Only is not available.")
        assert p is not None
        if algo.position_linked:
            algo.pos_closed_at = p.closed_at

    # -- attachAlgoOrds -------------------------------------------------------------------------

    def attach_list(self, raw: Any, inst: Instrument, prefix: str = "") -> list[AttachSpec]:
        """Parse an `attachAlgoOrds` array (ids are the book's to assign); [] when absent or empty."""
        if raw is None or raw == "" or raw == []:
            return []
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            raise Refused("51000", "Parameter attachAlgoOrds error")
        specs = []
        for item in raw:
            cl = param_str(item.get("attachAlgoClOrdId"))
            if cl and not ID.fullmatch(cl):
                raise Refused("51000", "Parameter attachAlgoClOrdId error")
            kind = param_str(item.get("tpOrdKind")) or "condition"
            if kind not in ("condition", "limit"):
                raise Refused("51000", "Parameter tpOrdKind error")
            limit_px = None
            if kind == "limit" and param_str(item.get("tpOrdPx")):
                limit_px, tp = tp_limit_price(item.get("tpOrdPx"), inst), None
            else:
                tp = leg(item, "tp", inst)
            sl = leg(item, "sl", inst)
            if tp is None and sl is None and limit_px is None:
                if cl:
                    raise Refused(
                        "51178",
                        "tpTriggerPx&tpOrdPx or slTriggerPx&slOrdPx can't be empty when using attachAlgoClOrdId.",
                    )
                continue
            sz_text = param_str(item.get("sz"))
            sz = decimal_param(sz_text, "sz") if sz_text else None
            amend_px = param_str(item.get("amendPxOnTriggerType")) or "0"
            if amend_px not in ("0", "1"):
                raise Refused("51000", "Parameter amendPxOnTriggerType error")
            specs.append(AttachSpec("", cl, tp, sl, kind, sz, amend_px, tp_limit_px=limit_px))
        return specs

    def check_attach_on_order(self, order: Order, specs: list[AttachSpec]) -> None:
        """The rules for TP/SL attached to a normal order (place / batch place)."""
        if not specs:
            return
        if order.reduce_only:
            raise Refused(
                "51100",
                "Unable to place order. Take profit/Stop loss conditions cannot be added to reduce-only orders.",
            )
        if order.inst.is_swap and order.pos_side in ("long", "short") and self.derivs.closes(order, None):
            raise Refused(
                "51333",
                "Close position order in hedge-mode or reduce-only order in one-way mode cannot attach TPSL",
            )
        if order.ord_type == "market" and (
            (order.side == "buy" and order.tgt_ccy == "base_ccy")
            or (order.side == "sell" and order.tgt_ccy == "quote_ccy")
        ):
            raise Refused(
                "51044",
                f"The order type {order.ord_type}, {order.side} is not allowed to set stop loss and take profit",
            )
        if len(specs) > 1:
            self._split_tps(order, specs)
            return
        spec = specs[0]
        if spec.sz is not None:
            raise Refused("51000", "Parameter sz error")
        if spec.amend_px_on_trigger_type == "1":
            raise Refused(
                "51085",
                "The number of TP orders cannot be less than 2 when cost-price SL is enabled "
                "(amendPxOnTriggerType set as 1) for Split TPs",
            )
        kind = "limit" if order.ord_type not in ("market", "optimal_limit_ioc") else "market"
        ref = order.px
        if kind == "market":
            book = self.markets.books[order.inst.inst_id]
            ref = book.best_px("asks" if order.side == "buy" else "bids") or self.markets.last_px(
                order.inst.inst_id
            )
        self.check_against_order(spec, order.side, ref, kind)

    def check_against_order(self, spec: AttachSpec, side: str, ref: Decimal, kind: str) -> None:
        """TP above / SL below a buy's price (the reverse for a sell): 51046-51053."""
        tp, sl = spec.tp, spec.sl
        if kind == "limit":
            codes = {
                ("tp", "buy"): ("51046", "The take profit trigger price must be higher than the order price"),
                ("sl", "buy"): ("51047", "The stop loss trigger price must be lower than the order price"),
                ("tp", "sell"): ("51048", "The take profit trigger price must be lower than the order price"),
                ("sl", "sell"): ("51049", "The stop loss trigger price must be higher than the order price"),
            }
        else:
            codes = {
                ("tp", "buy"): (
                    "51050",
                    "The take profit trigger price must be higher than the best ask price",
                ),
                ("sl", "buy"): ("51051", "The stop loss trigger price must be lower than the best ask price"),
                ("tp", "sell"): (
                    "51052",
                    "The take profit trigger price must be lower than the best bid price",
                ),
                ("sl", "sell"): (
                    "51053",
                    "The stop loss trigger price must be higher than the best bid price",
                ),
            }
        legs = [("tp", tp), ("sl", sl)]
        if spec.tp_limit_px is not None:
            legs.append(("tp", Leg(spec.tp_limit_px, spec.tp_limit_px)))
        for name, lg in legs:
            if lg is None:
                continue
            above = (name == "tp") == (side == "buy")
            if (above and lg.trigger_px <= ref) or (not above and lg.trigger_px >= ref):
                raise Refused(*codes[(name, side)])

    def _split_tps(self, order: Order, specs: list[AttachSpec]) -> None:
        if not order.inst.is_swap:
            raise Refused(
                "51077",
                "Setting multiple TP and cost-price SL orders isn’t supported for spot and margin trading.",
            )
        tps = [s for s in specs if s.has_tp]
        sls = [s for s in specs if s.sl is not None]
        if any(s.has_tp and s.sl is not None for s in specs):
            raise Refused(
                "51076",
                "TP/SL orders in Split TPs only support one-way TP/SL. You can't use slTriggerPx&slOrdPx and "
                "tpTriggerPx&tpOrdPx at the same time.",
            )
        if len(tps) > MAX_SPLIT_TPS:
            raise Refused(
                "51079",
                f"The number of TP orders with Split TPs attached in a same order cannot exceed {MAX_SPLIT_TPS}",
            )
        if len(sls) > 1:
            raise Refused(
                "51084", "The number of SL orders with Split TPs attached in a same order cannot exceed 1"
            )
        if any(s.sz is None for s in tps):
            raise Refused("51089", "The size of the TP order among split TPs attached cannot  be empty")
        if len({s.tp_ord_kind for s in tps}) > 1:
            raise Refused("51091", "All TP orders in one order must be of the same type.")
        if len({s.tp.px_type for s in tps if s.tp}) > 1:
            raise Refused(
                "51080", "Take-profit trigger price types (tpTriggerPxType) must be the same in an order with Split "
                "TPs attached",
            )  # fmt: skip
        if len({s.tp.trigger_px for s in tps if s.tp}) < len(tps):
            raise Refused(
                "51081", "Take-profit trigger prices (tpTriggerPx) cannot be the same in an order with Split TPs "
                "attached",
            )  # fmt: skip
        limit_prices = [s.tp.ord_px for s in tps if s.tp and s.tp.ord_px is not None]
        limit_prices += [s.tp_limit_px for s in tps if s.tp_limit_px is not None]
        if len(set(limit_prices)) < len(limit_prices):
            raise Refused("51092", "TP order prices (tpOrdPx) in one order must be different.")
        total = sum((s.sz for s in tps if s.sz is not None), ZERO)
        if total != order.sz:
            raise Refused(
                "51083", "The total size of TP orders with Split TPs attached in a same order should equal the size "
                "of this order",
            )  # fmt: skip
        if any(s.amend_px_on_trigger_type == "1" for s in sls) and len(tps) < 2:
            raise Refused(
                "51085",
                "The number of TP orders cannot be less than 2 when cost-price SL is enabled "
                "(amendPxOnTriggerType set as 1) for Split TPs",
            )
        for s in tps:
            assert s.sz is not None
            self.check_size(order.inst, s.sz)
        kind = "limit" if order.ord_type not in ("market", "optimal_limit_ioc") else "market"
        ref = order.px if kind == "limit" else self.markets.last_px(order.inst.inst_id)
        for s in specs:
            self.check_against_order(s, order.side, ref, kind)
