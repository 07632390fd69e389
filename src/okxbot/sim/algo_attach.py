"""TP/SL attached to normal orders (`attachAlgoOrds`), and TP limit orders (the algo book's other half).

Order entry hands over every order being placed (`on_place`: validate and keep the attached
TP/SL on the order) and amended (`amend_attached`). Once an order with attached TP/SL is no longer
pending, `adopt_filled_parents` creates them (full fill only, unless the book's `partial_parent` is
"filled"): one `oco` / `conditional` algo per item, split TPs one each, TP limit items as resting
reduce-only limit orders linked to their stop-loss (`place_tp_limit`). `settle_tp_limits` ends a
TP-limit oco when its TP order filled (effective) or was canceled (canceled).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okxbot.sim.accounts import Account
from okxbot.sim.algo_model import CANCELED, EFFECTIVE, Algo, AttachSpec, Leg
from okxbot.sim.algo_params import leg
from okxbot.sim.filters import param_str
from okxbot.sim.instruments import floor_to, fmt
from okxbot.sim.order import Order
from okxbot.sim.swap_orders import Refused

if TYPE_CHECKING:
    from okxbot.sim.algos import AlgoBook


class Attachments:
    def __init__(self, book: AlgoBook) -> None:
        self.book = book
        self.clock = book.clock
        self.ids = book.ids
        self.ledger = book.ledger
        self.entry = book.entry
        self.checks = book.checks
        self.markets = book.markets
        self.derivs = book.derivs

    def place_tp_limit(self, algo: Algo, px: Decimal, sz: Decimal, cl_ord_id: str) -> dict[str, str]:
        """The resting TP limit order of a stop-loss (reduce-only in net mode), linked both ways."""
        params: dict[str, Any] = {
            "instId": algo.inst.inst_id, "tdMode": algo.td_mode, "side": algo.side, "posSide": algo.pos_side,
            "ordType": "limit", "px": fmt(px), "sz": fmt(sz), "tag": algo.tag, "clOrdId": cl_ord_id,
            "reduceOnly": "true" if algo.pos_side == "net" else "false",
        }  # fmt: skip

        def mark(order: Order) -> None:
            order.is_tp_limit, order.linked_algo_id = True, algo.algo_id

        res = self.entry.place(algo.uid, params, origin=mark)
        if res["sCode"] == "0":
            child = self.ledger.account(algo.uid).visible.get(res["ordId"])
            if child is not None:
                algo.linked.append(child)
                algo.linked_ord_id = algo.linked_ord_id or child.ord_id
        return res

    def on_place(self, acct: Account, order: Order, params: Mapping[str, Any]) -> None:
        """Validate and keep the TP/SL attached to an order being placed (raises Refused)."""
        for name in ("tpTriggerPx", "tpOrdPx", "slTriggerPx", "slOrdPx"):
            if param_str(params.get(name)):
                raise Refused(
                    "54070",
                    "The current function is not supported. Please use the attachAlgoOrds array to place orders "
                    "via Open API.",
                )
        specs = self.checks.attach.attach_list(params.get("attachAlgoOrds"), order.inst)
        if not specs:
            return
        self.checks.attach.check_attach_on_order(order, specs)
        for spec in specs:
            self.book.check_identity(acct.uid, spec.attach_algo_cl_ord_id)
        seen = [s.attach_algo_cl_ord_id for s in specs if s.attach_algo_cl_ord_id]
        if len(set(seen)) < len(seen):
            raise Refused("51068", f"{seen[0]} already exists within algoClOrdId and attachAlgoClOrdId.")
        for spec in specs:
            spec.attach_algo_id = self.ids.order()
        order.attached = specs
        self.book.of(acct.uid).parents[order.ord_id] = order
        self.book.work += 1

    def amend_attached(self, acct: Account, order: Order, raw: Any) -> Refused | None:
        """amend-order's attachAlgoOrds: change (or delete, with price 0) the legs of attached TP/SL."""
        if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
            return Refused("51000", "Parameter attachAlgoOrds error")
        if not order.attached:
            return Refused(
                "51538", "You need to use attachAlgoOrds if you used attachAlgoOrds when placing an order. "
                "attachAlgoOrds is not supported if you did not use attachAlgoOrds when placing this order.",
            )  # fmt: skip
        updated: dict[int, AttachSpec] = {}
        try:
            for item in raw:
                attach_id = param_str(item.get("attachAlgoId"))
                attach_cl = param_str(item.get("attachAlgoClOrdId"))
                if not attach_id and not attach_cl:
                    raise Refused("50015", "Either parameter attachAlgoId or attachAlgoClOrdId is required")
                index = next(
                    (i for i, s in enumerate(order.attached)
                     if (attach_id and s.attach_algo_id == attach_id)
                     or (not attach_id and s.attach_algo_cl_ord_id == attach_cl)),
                    None,
                )  # fmt: skip
                if index is None:
                    raise Refused(
                        "51527",
                        "Order modification failed. At least 1 of the attached TP/SL orders does not exist.",
                    )
                if index in updated:
                    raise Refused(
                        "51539",
                        "attachAlgoId or attachAlgoClOrdId cannot be identical when modifying any TP/SL within your "
                        "split TPs order",
                    )
                updated[index] = self._amended_spec(order, order.attached[index], item)
        except Refused as r:
            return r
        specs = list(order.attached)
        for index, spec in updated.items():
            specs[index] = spec
        order.attached = [s for s in specs if s.tp is not None or s.sl is not None]
        if not order.attached:
            self.book.of(acct.uid).parents.pop(order.ord_id, None)
            self.book.work -= 1
        return None

    def _amended_spec(self, order: Order, spec: AttachSpec, item: Mapping[str, Any]) -> AttachSpec:
        legs: dict[str, Leg | None] = {}
        for name in ("tp", "sl"):
            cap = name.capitalize()
            trig, ord_px = param_str(item.get(f"new{cap}TriggerPx")), param_str(item.get(f"new{cap}OrdPx"))
            type_text = param_str(item.get(f"new{cap}TriggerPxType"))
            old = getattr(spec, name)
            if not trig and not ord_px:
                legs[name] = old
            elif trig == "0" or ord_px == "0":
                legs[name] = None
            else:
                if old is None and order.inst.is_swap and not type_text:
                    # OKX: adding a leg to a swap order needs its trigger price type.
                    raise Refused("51000", f"Parameter new{cap}TriggerPxType error")
                renamed = {f"{name}TriggerPx": trig or (fmt(old.trigger_px) if old else ""),
                           f"{name}OrdPx": ord_px or (old.ord_px_wire() if old else ""),
                           f"{name}TriggerPxType": type_text or (old.px_type if old else "")}  # fmt: skip
                legs[name] = leg(renamed, name, order.inst)
        kind = param_str(item.get("newTpOrdKind")) or spec.tp_ord_kind
        if kind != "condition":
            raise Refused("51000", "Parameter newTpOrdKind error")
        new = AttachSpec(spec.attach_algo_id, spec.attach_algo_cl_ord_id, legs["tp"], legs["sl"], kind, spec.sz,
                         spec.amend_px_on_trigger_type)  # fmt: skip
        mkt = order.ord_type in ("market", "optimal_limit_ioc")
        self.checks.attach.check_against_order(new, order.side, order.px, "market" if mkt else "limit")
        return new

    def adopt_filled_parents(self) -> None:
        for book in self.book.accounts.values():
            if not book.parents:
                continue
            for ord_id, order in list(book.parents.items()):
                if order.pending:
                    continue
                del book.parents[ord_id]
                self.book.work -= 1
                if order.state == "filled":
                    self.create_attached(order, order.acc_fill_sz)
                elif order.acc_fill_sz and self.book.partial_parent == "filled":
                    self.create_attached(order, order.acc_fill_sz)

    def create_attached(self, order: Order, filled: Decimal) -> None:
        inst = order.inst
        acct = self.ledger.account(order.uid)
        sz = filled
        if not inst.is_swap and order.side == "buy" and order.fee_ccy == inst.base_ccy:
            sz = floor_to(filled + order.fee, inst.lot_sz)  # what the buy left in the account
        split = len(order.attached) > 1
        tp_orders: list[Order] = []  # split TP limit orders: they go with the group's stop-loss
        stops: list[Algo] = []
        for spec in order.attached:
            algo = Algo(
                uid=order.uid, inst=inst, algo_id=self.ids.order(),
                ord_type="oco" if spec.has_tp and spec.sl is not None else "conditional",
                side="sell" if order.side == "buy" else "buy", pos_side=order.pos_side, td_mode=order.td_mode,
                sz=spec.sz if split and spec.sz is not None else sz, c_time=self.clock.now_ms(),
                last=self.markets.last_px(inst.inst_id), algo_cl_ord_id=spec.attach_algo_cl_ord_id,
                tag=order.tag, tgt_ccy="" if inst.is_swap else "base_ccy",
                reduce_only=inst.is_swap and order.pos_side == "net", tp=spec.tp, sl=spec.sl,
                tp_limit_px=spec.tp_limit_px, parent_ord_id=order.ord_id, cxl_on_close_pos=split,
            )  # fmt: skip
            if inst.is_swap:
                algo.lever = self.checks.margin.lever(acct, inst, order.td_mode, order.pos_side)
                p = self.derivs.find(acct, inst, order.td_mode, order.pos_side)
                if split or spec.tp_limit_px is not None:
                    algo.cxl_on_close_pos = True
                    algo.pos_closed_at = p.closed_at if p is not None else 0
            try:
                self.checks.check_size(inst, algo.sz, algo)
                if spec.sl is not None or spec.tp is not None:
                    self.book.check_identity(order.uid, algo.algo_cl_ord_id)
                    self.book.check_caps(acct, algo)
            except Refused as r:
                spec.fail_code, spec.fail_reason = r.code, r.msg
                continue
            if spec.tp_limit_px is not None:
                if split or spec.sl is None:
                    algo.algo_id = ""  # its TP orders are linked to the group's stop-loss below, or to none
                res = self.place_tp_limit(
                    algo, spec.tp_limit_px, algo.sz, "" if split else algo.algo_cl_ord_id
                )
                if res["sCode"] != "0":
                    spec.fail_code, spec.fail_reason = res["sCode"], res["sMsg"]
                    continue
                tp_orders.extend(algo.linked)
                if spec.sl is None:
                    continue
            self.book.add(algo)
            self.book.emit(algo)
            if spec.sl is not None:
                stops.append(algo)
        if split and tp_orders:
            for stop in stops:
                stop.linked = list(tp_orders)
                stop.linked_ord_id = tp_orders[0].ord_id
                for child in tp_orders:
                    child.linked_algo_id = stop.algo_id

    def settle_tp_limits(self) -> None:
        """A TP-limit oco ends with its TP order: effective once it filled, canceled if it was canceled."""
        for book in self.book.accounts.values():
            for algo in [a for a in book.live.values() if a.tp_limit_px is not None and a.linked]:
                tp = algo.linked[0]
                if tp.pending:
                    continue
                if tp.state != "filled":
                    self.book.end(algo, CANCELED)
                    continue
                self.book.retire(algo, EFFECTIVE)
                algo.ord_ids.append(tp.ord_id)
                algo.actual_sz, algo.actual_px, algo.actual_side = fmt(tp.acc_fill_sz), fmt(tp.px), "tp"
                algo.trigger_time = str(algo.u_time)
                self.book.emit(algo)

    def attach_to_child(self, acct: Account, algo: Algo, child: Order) -> None:
        """A trigger order's attachAlgoOrds ride on the order it placed (created when it fills)."""
        specs = [AttachSpec(self.ids.order(), s.attach_algo_cl_ord_id, s.tp, s.sl) for s in algo.attach]
        child.attached = specs
        if child.pending:
            self.book.of(acct.uid).parents[child.ord_id] = child
            self.book.work += 1
        elif child.state == "filled":
            self.create_attached(child, child.acc_fill_sz)
