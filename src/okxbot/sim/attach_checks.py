"""OKX's checks on `attachAlgoOrds` (TP/SL attached to an order or a trigger order), with OKX's sCodes.

`attach_list` parses the array (51000, 51178, TP limit 51093 / 51094); `check_attach_on_order`
applies the order's rules (51100 reduce-only, 51333 hedge close, 51044 market buy in base / sell in
quote) and the prices against the order (`check_against_order`: 51046-51049 against a limit price,
51050-51053 against the best ask / bid for market orders); several items are split TPs (51076-51092).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okxbot.sim.algo_model import AttachSpec, Leg
from okxbot.sim.algo_params import ID, decimal_param, leg, tp_limit_price
from okxbot.sim.filters import param_str
from okxbot.sim.instruments import ZERO, Instrument
from okxbot.sim.order import Order
from okxbot.sim.swap_orders import Refused

if TYPE_CHECKING:
    from okxbot.sim.algo_checks import AlgoChecks

MAX_SPLIT_TPS = 10


class AttachChecks:
    def __init__(self, checks: AlgoChecks) -> None:
        self.checks = checks
        self.markets = checks.markets
        self.derivs = checks.derivs

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
            self.checks.check_size(order.inst, s.sz)
        kind = "limit" if order.ord_type not in ("market", "optimal_limit_ioc") else "market"
        ref = order.px if kind == "limit" else self.markets.last_px(order.inst.inst_id)
        for s in specs:
            self.check_against_order(s, order.side, ref, kind)
