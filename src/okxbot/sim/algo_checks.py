"""OKX's checks on an algo order (`trade/order-algo`), with OKX's sCodes (attachAlgoOrds: `attach_checks`).

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

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from okxbot.sim.accounts import Account
from okxbot.sim.algo_model import (
    ALGO_TYPES,
    TPSL_TYPES,
    UNSIMULATED_TYPES,
    Algo,
    Leg,
)
from okxbot.sim.algo_params import (
    ID,
    TAG,
    bool_param,
    decimal_param,
    leg,
    order_price,
    price_param,
    px_type,
    tp_limit_price,
)
from okxbot.sim.attach_checks import AttachChecks
from okxbot.sim.derivatives import Derivatives
from okxbot.sim.filters import param_str
from okxbot.sim.instruments import ZERO, Instrument, InstrumentSet, fmt, is_multiple
from okxbot.sim.margin import Margin
from okxbot.sim.marketdata import Markets
from okxbot.sim.marks import Marks
from okxbot.sim.swap_orders import Refused, SwapOrders

# Trailing callback ratio: OKX words the refusal "{min}< x<={max}"; the simulator takes 0.1 % .. 10 %.
CALLBACK_MIN = Decimal("0.001")
CALLBACK_MAX = Decimal("0.1")

# (leg, side) -> (code, message word) when the trigger lies on the wrong side of its price stream.
_WRONG_SIDE = {
    ("tp", "buy"): ("higher", {"last": "51277", "mark": "51300", "index": "51305"}),
    ("sl", "buy"): ("lower", {"last": "51278", "mark": "51302", "index": "51306"}),
    ("tp", "sell"): ("lower", {"last": "51279", "mark": "51303", "index": "51307"}),
    ("sl", "sell"): ("higher", {"last": "51280", "mark": "51304", "index": "51308"}),
}


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
        self.attach = AttachChecks(self)

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
        reduce_only = bool_param(params.get("reduceOnly"), "reduceOnly")
        if reduce_only and not inst.is_swap:
            raise Refused(
                "51139", "Reduce-only feature is unavailable for the spot transactions by spot mode."
            )
        if long_short:
            reduce_only = False  # OKX: only meaningful in net mode, ignored in long/short mode
        cxl_on_close = bool_param(params.get("cxlOnClosePos"), "cxlOnClosePos")
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
        attach = self.attach.attach_list(params.get("attachAlgoOrds"), inst, prefix="")
        if attach:
            if acct.acct_lv == "1":
                raise Refused("51010", "You can't complete this request under your current account mode.")
            if len(attach) > 1:
                raise Refused("51000", "Parameter attachAlgoOrds error")
            ref = trig.ord_px if trig.ord_px is not None else trig.trigger_px
            self.attach.check_against_order(attach[0], algo.side, ref, "limit")
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
