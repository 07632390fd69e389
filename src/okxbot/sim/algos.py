"""The algo book: pending algo orders, their triggers, and the TP/SL attached to normal orders.

Lifecycle (reference derivatives §4.3): `live` -> `effective` (its order was placed: `ordId`,
`actualSz`, `actualSide`, `triggerTime`) | `order_failed` (the order was refused: `failCode` is its
sCode) | `canceled` (by the user, or with its position for close-all / cxlOnClosePos TP/SL).

Triggers are evaluated after every operation of the exchange (the bus's after-flush hook), so a
price moved by a trade, a market step or the admin API fires an algo before anything else happens:
* `last`: every trade the instrument printed since the algo last looked, in order (a spike through
  the trigger and back still fires it), and the last price once when the algo is new;
* `index` / `mark` (swaps): the current index / mark price.
A fired algo places its order through `OrderEntry.place` like any client order (same checks, margin,
reduce-only rules, fees, positions), carrying `algoId`, `algoClOrdId` and `source`.

Attached TP/SL (`attachAlgoOrds` on trade/order, batch-orders, amend-order): kept on the order until
it is fully filled, then created as one algo (`oco` with both legs, `conditional` with one) of the
order's size, on the opposite side, reduce-only in net mode; `attachAlgoClOrdId` becomes its
`algoClOrdId`. A parent canceled before it fully filled creates nothing (OKX: "TP/SL algo order will
be generated only when this order is filled fully"); `partial_parent = "filled"` (admin switch)
instead creates them for the filled part.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from okxbot.sim.accounts import Account
from okxbot.sim.algo_checks import AlgoChecks, decimal_param, leg, order_price, price_param, px_type
from okxbot.sim.algo_model import (
    CANCELED,
    EFFECTIVE,
    LIVE,
    ORDER_FAILED,
    SOURCE,
    TPSL_TYPES,
    Algo,
    AttachSpec,
    Leg,
)  # fmt: skip
from okxbot.sim.bus import EventBus, Ids
from okxbot.sim.clock import Clock
from okxbot.sim.contracts import value
from okxbot.sim.events import AlgoEvent
from okxbot.sim.filters import ListFilters, ParamError, param_str
from okxbot.sim.instruments import Instrument, floor_to, fmt
from okxbot.sim.ledger import Ledger
from okxbot.sim.order import Order
from okxbot.sim.order_entry import MARKET_BUFFER, MAX_PENDING_INSTRUMENT, OrderEntry
from okxbot.sim.swap_orders import Refused

HISTORY_MS = 90 * 24 * 3600 * 1000  # orders-algo-history: the last 3 months
MAX_TPSL_PER_INST = 100
MAX_TRIGGER = 500
MAX_TRAILING = 50
MAX_CANCEL = 10
PARTIAL_PARENT_MODES = ("none", "filled")


@dataclass
class AccountAlgos:
    live: dict[str, Algo] = field(default_factory=dict)  # algoId -> algo, oldest first
    by_cl: dict[str, Algo] = field(default_factory=dict)  # algoClOrdId -> latest algo with it
    done: deque[Algo] = field(default_factory=deque)  # triggered / failed / canceled, oldest first
    known: dict[str, Algo] = field(default_factory=dict)  # algoId -> algo (live and history)
    tpsl_per_inst: dict[str, int] = field(default_factory=dict)
    parents: dict[str, Order] = field(default_factory=dict)  # ordId -> pending order with TP/SL attached


class AlgoBook:
    def __init__(
        self, clock: Clock, bus: EventBus, ids: Ids, ledger: Ledger, entry: OrderEntry, checks: AlgoChecks
    ) -> None:
        self.clock = clock
        self.bus = bus
        self.ids = ids
        self.ledger = ledger
        self.entry = entry
        self.checks = checks
        self.markets = checks.markets
        self.derivs = checks.derivs
        self.accounts: dict[str, AccountAlgos] = {}
        self.by_inst: dict[str, dict[str, Algo]] = {}  # instId -> live algos of every account
        self.partial_parent = "none"
        self._checking = False
        self._again = False
        self._work = 0  # live algos + parents: the after-flush check returns at once when 0

    def of(self, uid: str) -> AccountAlgos:
        book = self.accounts.get(uid)
        if book is None:
            book = self.accounts[uid] = AccountAlgos()
        return book

    # -- placing ----------------------------------------------------------------------------------

    def place(self, uid: str, params: Mapping[str, Any]) -> dict[str, str]:
        acct = self.ledger.account(uid)
        now = self.clock.now_ms()
        algo_cl = param_str(params.get("algoClOrdId")) or param_str(params.get("clOrdId"))
        cl, tag = param_str(params.get("clOrdId")), param_str(params.get("tag"))

        def result(code: str, msg: str, algo_id: str = "") -> dict[str, str]:
            return {"algoClOrdId": algo_cl, "algoId": algo_id, "clOrdId": cl, "sCode": code, "sMsg": msg,
                    "tag": tag}  # fmt: skip

        try:
            algo = self.checks.place(acct, params, now)
            self._check_identity(uid, algo.algo_cl_ord_id)
            self._check_caps(acct, algo)
        except Refused as r:
            return result(r.code, r.msg)
        algo.algo_id = self.ids.order()
        for spec in algo.attach:
            spec.attach_algo_id = self.ids.order()
        if algo.tp_limit_px is not None:
            res = self._place_tp_limit(algo, algo.tp_limit_px, algo.sz, algo.algo_cl_ord_id)
            if res["sCode"] != "0":
                return result(res["sCode"], res["sMsg"])
        self._add(algo)
        self._emit(algo)
        self.bus.flush()  # the trigger check: an algo placed at its trigger price fires now
        return result("0", "", algo.algo_id)

    def _place_tp_limit(self, algo: Algo, px: Decimal, sz: Decimal, cl_ord_id: str) -> dict[str, str]:
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

    def _end(self, algo: Algo, state: str, linked_source: str = "37") -> None:
        """Retire a live algo and cancel the TP limit orders that went with it; emit."""
        self._retire(algo, state)
        for order in algo.linked:
            if order.pending:
                self.entry.matcher.remove_resting(order, linked_source)
        self._emit(algo)

    def _check_identity(self, uid: str, algo_cl: str) -> None:
        if not algo_cl:
            return
        book = self.of(uid)
        held = book.by_cl.get(algo_cl)
        if held is not None and held.live:
            raise Refused("51065", "algoClOrdId already exists.")
        if any(a.attach_algo_cl_ord_id == algo_cl for o in book.parents.values() for a in o.attached):
            raise Refused("51068", f"{algo_cl} already exists within algoClOrdId and attachAlgoClOrdId.")

    def _check_caps(self, acct: Account, algo: Algo) -> None:
        book = self.of(acct.uid)
        inst_id = algo.inst.inst_id
        if algo.ord_type in TPSL_TYPES:
            if book.tpsl_per_inst.get(inst_id, 0) >= MAX_TPSL_PER_INST:
                raise Refused(
                    "51261",
                    f"Each user can hold up to {MAX_TPSL_PER_INST} pending stop orders at the same time.",
                )
            if (
                acct.pending_per_inst.get(inst_id, 0) + book.tpsl_per_inst.get(inst_id, 0)
                >= MAX_PENDING_INSTRUMENT
            ):
                raise Refused("51025", "Order count exceeds the limit.")
        elif algo.ord_type == "trigger":
            if sum(1 for a in book.live.values() if a.ord_type == "trigger") >= MAX_TRIGGER:
                raise Refused(
                    "51299",
                    f"Order did not go through. You can hold a maximum of {MAX_TRIGGER} orders of this type.",
                )
        elif sum(1 for a in book.live.values() if a.ord_type == "move_order_stop") >= MAX_TRAILING:
            raise Refused(
                "51260",
                f"Maximum of {MAX_TRAILING} pending trailing stop orders can be held at the same time.",
            )
        if algo.close_fraction and any(
            a.close_fraction
            and a.inst is algo.inst
            and a.td_mode == algo.td_mode
            and a.pos_side == algo.pos_side
            for a in book.live.values()
        ):
            raise Refused("51088", "You can only place 1 TP/SL order to close an entire position")

    def _add(self, algo: Algo) -> None:
        book = self.of(algo.uid)
        book.live[algo.algo_id] = algo
        book.known[algo.algo_id] = algo
        if algo.algo_cl_ord_id:
            book.by_cl[algo.algo_cl_ord_id] = algo
        if algo.ord_type in TPSL_TYPES:
            inst_id = algo.inst.inst_id
            book.tpsl_per_inst[inst_id] = book.tpsl_per_inst.get(inst_id, 0) + 1
        tape = self.markets.tapes[algo.inst.inst_id]
        algo.seen_trade = int(tape.trades[0]["tradeId"]) if tape.trades else 0  # the tape is newest first
        self.by_inst.setdefault(algo.inst.inst_id, {})[algo.algo_id] = algo
        self._work += 1

    def _retire(self, algo: Algo, state: str) -> None:
        """End a live algo in `state` and move it to the history (the caller emits)."""
        book = self.of(algo.uid)
        if book.live.pop(algo.algo_id, None) is None:
            return
        algo.state = state
        algo.u_time = self.clock.now_ms()
        if algo.ord_type in TPSL_TYPES:
            book.tpsl_per_inst[algo.inst.inst_id] -= 1
        self.by_inst[algo.inst.inst_id].pop(algo.algo_id, None)
        book.done.append(algo)
        self._work -= 1
        self._prune(book, algo.u_time)

    def _prune(self, book: AccountAlgos, now: int) -> None:
        while book.done and now - book.done[0].u_time > HISTORY_MS:
            old = book.done.popleft()
            book.known.pop(old.algo_id, None)
            if old.algo_cl_ord_id and book.by_cl.get(old.algo_cl_ord_id) is old:
                del book.by_cl[old.algo_cl_ord_id]

    def _emit(self, algo: Algo, amend_result: str = "", req_id: str = "") -> None:
        if not self.bus.listeners:
            return
        if algo.advance:
            data = algo.advance_wire(self.clock.now_ms())
            self.bus.emit(AlgoEvent(algo.uid, "algo-advance", data))
        else:
            self.bus.emit(AlgoEvent(algo.uid, "orders-algo", algo.push_wire(amend_result, req_id)))

    # -- canceling and amending -------------------------------------------------------------------

    def cancel(self, uid: str, items: list[Mapping[str, Any]]) -> list[dict[str, str]]:
        self.ledger.account(uid)
        book = self.of(uid)
        out = [self._cancel_one(book, item) for item in items]
        self.bus.flush()
        return out

    def _cancel_one(self, book: AccountAlgos, item: Mapping[str, Any]) -> dict[str, str]:
        algo_id, algo_cl = param_str(item.get("algoId")), param_str(item.get("algoClOrdId"))
        inst_id = param_str(item.get("instId"))
        algo = book.known.get(algo_id) if algo_id else book.by_cl.get(algo_cl)

        def result(code: str, msg: str) -> dict[str, str]:
            shown = algo is not None and code != "51400"
            return {"algoClOrdId": algo.algo_cl_ord_id if shown and algo else algo_cl,
                    "algoId": algo.algo_id if shown and algo else algo_id,
                    "clOrdId": "", "sCode": code, "sMsg": msg, "tag": ""}  # fmt: skip

        if not inst_id:
            return result("50014", "Parameter instId can not be empty.")
        if not algo_id and not algo_cl:
            return result("50015", "Either parameter algoId or algoClOrdId is required")
        if algo is None or algo.inst.inst_id != inst_id or algo.state == CANCELED:
            return result(
                "51400", "Order cancellation failed as the order has been filled, canceled or does not exist."
            )
        if not algo.live:
            return result("51416", "Order has been triggered and can't be canceled")
        self._end(algo, CANCELED)
        return result("0", "")

    def cancel_all(self, uid: str, inst_id: str | None = None) -> list[dict[str, Any]]:
        """Cancel every live algo of the account (of one instrument if given); admin and panic paths."""
        victims = [a for a in self.of(uid).live.values() if inst_id is None or a.inst.inst_id == inst_id]
        for algo in victims:
            self._end(algo, CANCELED)
        self.bus.flush()
        return [a.to_wire() for a in victims]

    def amend(self, uid: str, params: Mapping[str, Any]) -> dict[str, str]:
        self.ledger.account(uid)
        book = self.of(uid)
        algo_id, algo_cl = param_str(params.get("algoId")), param_str(params.get("algoClOrdId"))
        req_id, inst_id = param_str(params.get("reqId")), param_str(params.get("instId"))
        algo = book.known.get(algo_id) if algo_id else book.by_cl.get(algo_cl)

        def result(code: str, msg: str) -> dict[str, str]:
            return {"algoClOrdId": algo.algo_cl_ord_id if algo else algo_cl,
                    "algoId": algo.algo_id if algo else algo_id, "reqId": req_id, "sCode": code, "sMsg": msg}  # fmt: skip

        if not inst_id:
            return result("50014", "Parameter instId can not be empty.")
        if not algo_id and not algo_cl:
            return result("50015", "Either parameter algoId or algoClOrdId is required")
        if req_id and not (len(req_id) <= 32 and req_id.isalnum()):
            return result("51000", "Parameter reqId error")
        if algo is None or algo.inst.inst_id != inst_id:
            return result("51527", "Order modification unsuccessful. The stop order does not exist.")
        if not algo.live:
            return result("51503", "Your order has already been filled or canceled.")
        if algo.ord_type not in ("conditional", "oco", "trigger"):
            return result("51506", "Order modification unavailable for the order type.")
        try:
            changes = self._amendment(algo, params)
        except Refused as r:
            if param_str(params.get("cxlOnFail")) == "true":
                self._end(algo, CANCELED)
                self.bus.flush()
            return result(r.code, r.msg)
        for name, new in changes.items():
            setattr(algo, name, new)
        algo.u_time = self.clock.now_ms()
        algo.fresh = True
        self._emit(algo, amend_result="0", req_id=req_id)
        self.bus.flush()
        return result("0", "")

    def _amendment(self, algo: Algo, params: Mapping[str, Any]) -> dict[str, Any]:
        """The fields an amend-algos request changes, all validated before any is applied."""
        inst = algo.inst
        changes: dict[str, Any] = {}
        new_sz = param_str(params.get("newSz"))
        if algo.linked:
            if new_sz:
                raise Refused(
                    "51090", "You can't modify the amount of an SL order placed with a TP limit order."
                )
            if any(param_str(params.get(f"newTp{f}")) for f in ("TriggerPx", "OrdPx", "TriggerPxType")):
                raise Refused(
                    "51098", "You can't add a new TP order to an SL order placed with a TP limit order."
                )
        if new_sz:
            if algo.close_fraction:
                raise Refused(
                    "51524",
                    "Unable to modify the order quantity of a stop order that closes an entire position. Please "
                    "modify the trigger price instead.",
                )
            sz = decimal_param(new_sz, "newSz")
            self.checks.check_size(inst, sz, algo)
            changes["sz"] = sz
        if algo.ord_type == "trigger":
            trig_text, ord_text = param_str(params.get("newTriggerPx")), param_str(params.get("newOrdPx"))
            if trig_text or ord_text:
                if not trig_text:
                    raise Refused("50014", "Parameter newTriggerPx can not be empty.")
                if not ord_text:
                    raise Refused("50014", "Parameter newOrdPx can not be empty.")
                assert algo.trigger is not None
                trig = Leg(
                    price_param(trig_text, "newTriggerPx", inst), order_price(ord_text, "newOrdPx", inst),
                    px_type(params.get("newTriggerPxType") or algo.trigger.px_type, "newTriggerPxType", inst),
                )  # fmt: skip
                now = self.checks.price(inst, trig.px_type)
                changes["trigger"] = trig
                changes["trigger_dir"] = (trig.trigger_px > now) - (trig.trigger_px < now)
            raw = params.get("attachAlgoOrds")
            if raw not in (None, "", []):
                changes["attach"] = self._amend_trigger_attach(algo, raw)
        elif any(
            param_str(params.get(f"new{leg_name}{field_name}"))
            for leg_name in ("Tp", "Sl")
            for field_name in ("TriggerPx", "OrdPx", "TriggerPxType")
        ):
            tp = self._amend_leg(algo, params, "tp", algo.tp)
            sl = self._amend_leg(algo, params, "sl", algo.sl)
            if tp is None and sl is None:
                raise Refused(
                    "51531", "Order modification unsuccessful. The stop order must have either take profit or stop "
                    "loss attached.",
                )  # fmt: skip
            has_tp = tp is not None or algo.tp_limit_px is not None
            ord_type = algo.ord_type if has_tp and sl is not None else "conditional"
            changes.update(tp=tp, sl=sl, ord_type=ord_type)
            changes["tp_ignored"] = (
                ord_type == "conditional" and tp is not None and sl is not None and (algo.pos_side == "net")
            )
        if not changes:
            raise Refused("51500", "You must enter a price, quantity, or TP/SL")
        return changes

    def _amend_leg(self, algo: Algo, params: Mapping[str, Any], name: str, old: Leg | None) -> Leg | None:
        inst = algo.inst
        cap = name.capitalize()
        trig_text = param_str(params.get(f"new{cap}TriggerPx"))
        ord_text = param_str(params.get(f"new{cap}OrdPx"))
        type_text = param_str(params.get(f"new{cap}TriggerPxType"))
        if not trig_text and not ord_text:
            if type_text and old is not None:
                return Leg(old.trigger_px, old.ord_px, px_type(type_text, f"new{cap}TriggerPxType", inst))
            return old
        if trig_text == "0" or ord_text == "0":
            return None  # OKX: a 0 trigger or order price deletes the leg
        if not trig_text:
            raise Refused("51000", f"Parameter new{cap}TriggerPx error")
        if not ord_text:
            raise Refused("51000", f"Parameter new{cap}OrdPx error")
        if algo.close_fraction and ord_text != "-1":
            raise Refused(
                "51523",
                "Unable to modify the order price of a stop order that closes an entire position. Please modify "
                "the trigger price instead.",
            )
        default_type = old.px_type if old is not None else "last"
        new = Leg(
            price_param(trig_text, f"new{cap}TriggerPx", inst), order_price(ord_text, f"new{cap}OrdPx", inst),
            px_type(type_text or default_type, f"new{cap}TriggerPxType", inst),
        )  # fmt: skip
        self.checks.check_side(name, algo.side, new, inst)
        return new

    def _amend_trigger_attach(self, algo: Algo, raw: Any) -> list[AttachSpec]:
        if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw) or len(raw) > 1:
            raise Refused("51000", "Parameter attachAlgoOrds error")
        item = raw[0]
        spec = algo.attach[0] if algo.attach else AttachSpec(self.ids.order(), "", None, None)
        legs: dict[str, Leg | None] = {}
        for name in ("tp", "sl"):
            cap = name.capitalize()
            renamed = {f"{name}TriggerPx": item.get(f"new{cap}TriggerPx"), f"{name}OrdPx": item.get(f"new{cap}OrdPx"),
                       f"{name}TriggerPxType": item.get(f"new{cap}TriggerPxType")}  # fmt: skip
            if param_str(renamed[f"{name}TriggerPx"]) == "0" or param_str(renamed[f"{name}OrdPx"]) == "0":
                legs[name] = None
            else:
                legs[name] = leg(renamed, name, algo.inst) or getattr(spec, name)
        new = AttachSpec(spec.attach_algo_id, spec.attach_algo_cl_ord_id, legs["tp"], legs["sl"])
        if new.tp is None and new.sl is None:
            return []
        assert algo.trigger is not None
        ref = algo.trigger.ord_px if algo.trigger.ord_px is not None else algo.trigger.trigger_px
        self.checks.check_against_order(new, algo.side, ref, "limit")
        return [new]

    # -- attached TP/SL (order entry's hooks) -----------------------------------------------------

    def on_place(self, acct: Account, order: Order, params: Mapping[str, Any]) -> None:
        """Validate and keep the TP/SL attached to an order being placed (raises Refused)."""
        for name in ("tpTriggerPx", "tpOrdPx", "slTriggerPx", "slOrdPx"):
            if param_str(params.get(name)):
                raise Refused(
                    "54070",
                    "The current function is not supported. Please use the attachAlgoOrds array to place orders "
                    "via Open API.",
                )
        specs = self.checks.attach_list(params.get("attachAlgoOrds"), order.inst)
        if not specs:
            return
        self.checks.check_attach_on_order(order, specs)
        for spec in specs:
            self._check_identity(acct.uid, spec.attach_algo_cl_ord_id)
        seen = [s.attach_algo_cl_ord_id for s in specs if s.attach_algo_cl_ord_id]
        if len(set(seen)) < len(seen):
            raise Refused("51068", f"{seen[0]} already exists within algoClOrdId and attachAlgoClOrdId.")
        for spec in specs:
            spec.attach_algo_id = self.ids.order()
        order.attached = specs
        self.of(acct.uid).parents[order.ord_id] = order
        self._work += 1

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
            self.of(acct.uid).parents.pop(order.ord_id, None)
            self._work -= 1
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
        self.checks.check_against_order(new, order.side, order.px, "market" if mkt else "limit")
        return new

    def pending_tpsl(self, uid: str, inst_id: str) -> int:
        book = self.accounts.get(uid)
        return book.tpsl_per_inst.get(inst_id, 0) if book is not None else 0

    # -- the trigger check (after every flush) ----------------------------------------------------

    def check(self) -> None:
        if not self._work:
            return
        if self._checking:
            self._again = True  # a child order's own flush: the outer loop looks again
            return
        self._checking = True
        try:
            for _ in range(100):  # a cascade (a fill creating TP/SL that fire at once) ends quickly
                self._again = False
                self._adopt_filled_parents()
                self._settle_tp_limits()  # before the position check: a filled TP closed the position
                self._drop_closed_positions()
                fired = self._evaluate()
                if not fired and not self._again:
                    break
        finally:
            self._checking = False

    def _adopt_filled_parents(self) -> None:
        for book in self.accounts.values():
            if not book.parents:
                continue
            for ord_id, order in list(book.parents.items()):
                if order.pending:
                    continue
                del book.parents[ord_id]
                self._work -= 1
                if order.state == "filled":
                    self._create_attached(order, order.acc_fill_sz)
                elif order.acc_fill_sz and self.partial_parent == "filled":
                    self._create_attached(order, order.acc_fill_sz)

    def _create_attached(self, order: Order, filled: Decimal) -> None:
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
                    self._check_identity(order.uid, algo.algo_cl_ord_id)
                    self._check_caps(acct, algo)
            except Refused as r:
                spec.fail_code, spec.fail_reason = r.code, r.msg
                continue
            if spec.tp_limit_px is not None:
                if split or spec.sl is None:
                    algo.algo_id = ""  # its TP orders are linked to the group's stop-loss below, or to none
                res = self._place_tp_limit(
                    algo, spec.tp_limit_px, algo.sz, "" if split else algo.algo_cl_ord_id
                )
                if res["sCode"] != "0":
                    spec.fail_code, spec.fail_reason = res["sCode"], res["sMsg"]
                    continue
                tp_orders.extend(algo.linked)
                if spec.sl is None:
                    continue
            self._add(algo)
            self._emit(algo)
            if spec.sl is not None:
                stops.append(algo)
        if split and tp_orders:
            for stop in stops:
                stop.linked = list(tp_orders)
                stop.linked_ord_id = tp_orders[0].ord_id
                for child in tp_orders:
                    child.linked_algo_id = stop.algo_id

    def _settle_tp_limits(self) -> None:
        """A TP-limit oco ends with its TP order: effective once it filled, canceled if it was canceled."""
        for book in self.accounts.values():
            for algo in [a for a in book.live.values() if a.tp_limit_px is not None and a.linked]:
                tp = algo.linked[0]
                if tp.pending:
                    continue
                if tp.state != "filled":
                    self._end(algo, CANCELED)
                    continue
                self._retire(algo, EFFECTIVE)
                algo.ord_ids.append(tp.ord_id)
                algo.actual_sz, algo.actual_px, algo.actual_side = fmt(tp.acc_fill_sz), fmt(tp.px), "tp"
                algo.trigger_time = str(algo.u_time)
                self._emit(algo)

    def _drop_closed_positions(self) -> None:
        """Close-all TP/SL and cxlOnClosePos algos end with their position (canceled)."""
        for book in self.accounts.values():
            for algo in [a for a in book.live.values() if a.pos_closed_at is not None]:
                acct = self.ledger.account(algo.uid)
                p = self.derivs.find(acct, algo.inst, algo.td_mode, algo.pos_side)
                if p is None or not p.pos or p.closed_at != algo.pos_closed_at:
                    self._end(algo, CANCELED)

    def _evaluate(self) -> bool:
        fired = False
        for inst_id, live in list(self.by_inst.items()):
            if not live:
                continue
            inst = self.markets.instruments[inst_id]
            algos = list(live.values())
            since = min(a.seen_trade for a in algos)
            trades = self._trades_after(inst_id, since)
            newest = trades[-1][0] if trades else since
            last = self.markets.last_px(inst_id)
            for algo in algos:
                if not algo.live:
                    continue
                samples = [last] if algo.fresh else []
                samples.extend(px for tid, px in trades if tid > algo.seen_trade)
                algo.seen_trade = max(algo.seen_trade, newest)
                algo.fresh = False
                hit = self._hit(algo, inst, samples)
                if hit is not None:
                    self._fire(algo, *hit)
                    fired = True
        return fired

    def _trades_after(self, inst_id: str, since: int) -> list[tuple[int, Decimal]]:
        out = []
        for t in self.markets.tapes[inst_id].trades:  # newest first
            tid = int(t["tradeId"])
            if tid <= since:
                break
            out.append((tid, Decimal(t["px"])))
        out.reverse()
        return out

    def _stream(self, inst: Instrument, kind: str, last_samples: list[Decimal]) -> list[Decimal]:
        return last_samples if kind == "last" else [self.checks.price(inst, kind)]

    def _hit(
        self, algo: Algo, inst: Instrument, last_samples: list[Decimal]
    ) -> tuple[str, Leg | None] | None:
        if algo.ord_type == "move_order_stop":
            return ("", None) if self._trail(algo, last_samples) else None
        if algo.ord_type == "trigger":
            trig = algo.trigger
            assert trig is not None
            for px in self._stream(inst, trig.px_type, last_samples):
                if algo.trigger_dir == 0 or (px - trig.trigger_px) * algo.trigger_dir >= 0:
                    return ("", trig)
            return None
        for name, lg in algo.active_legs():
            rises = (name == "tp") == (algo.side == "sell")  # sell TP / buy SL fire on a rise
            for px in self._stream(inst, lg.px_type, last_samples):
                if (rises and px >= lg.trigger_px) or (not rises and px <= lg.trigger_px):
                    return (name, lg)
        return None

    @staticmethod
    def _trail(algo: Algo, samples: list[Decimal]) -> bool:
        sell = algo.side == "sell"
        for px in samples:
            if not algo.activated:
                assert algo.active_px is not None
                if (sell and px >= algo.active_px) or (not sell and px <= algo.active_px):
                    algo.activated, algo.extreme = True, px
                continue
            assert algo.extreme is not None
            algo.extreme = max(algo.extreme, px) if sell else min(algo.extreme, px)
            trigger = algo.move_trigger_px()
            assert trigger is not None
            if (sell and px <= trigger) or (not sell and px >= trigger):
                return True
        return False

    # -- firing -----------------------------------------------------------------------------------

    def _fire(self, algo: Algo, leg_name: str, lg: Leg | None) -> None:
        acct = self.ledger.account(algo.uid)
        inst = algo.inst
        sz = algo.sz
        if algo.close_fraction:
            p = self.derivs.find(acct, inst, algo.td_mode, algo.pos_side)
            if p is None or not p.pos:
                self._end(algo, CANCELED)
                return
            sz = p.size
        ord_px = lg.ord_px if lg is not None else None
        if algo.ord_type == "trigger":
            sz = self._fit_trigger_size(acct, algo, sz, ord_px)
        params: dict[str, Any] = {
            "instId": inst.inst_id, "tdMode": algo.td_mode, "side": algo.side, "sz": fmt(sz), "tag": algo.tag,
            "ordType": "market" if ord_px is None else "limit",
        }  # fmt: skip
        if ord_px is not None:
            params["px"] = fmt(ord_px)
        if inst.is_swap:
            params["posSide"] = algo.pos_side
            params["reduceOnly"] = "true" if (algo.reduce_only or algo.close_fraction) else "false"
        elif ord_px is None:
            params["tgtCcy"] = algo.tgt_ccy or "base_ccy"

        def origin(order: Order) -> None:
            order.algo_id, order.algo_cl_ord_id, order.source = (
                algo.algo_id,
                algo.algo_cl_ord_id,
                SOURCE[algo.ord_type],
            )

        # Retire first: the child's own flush must not find this algo live and fire it twice. The
        # TP limit orders of a firing stop-loss go first (OKX cancelSource 36), so that the stop's
        # reduce-only order has the whole position to close.
        self._retire(algo, EFFECTIVE)
        for order in algo.linked:
            if order.pending:
                self.entry.matcher.remove_resting(order, "36")
        res = self.entry.place(algo.uid, params, origin=origin)
        if res["sCode"] == "51008" and algo.ord_type == "trigger" and inst.is_swap:
            smaller = self._affordable_contracts(acct, algo, ord_px)
            if smaller is not None and smaller < sz:
                sz, params["sz"] = smaller, fmt(smaller)
                res = self.entry.place(algo.uid, params, origin=origin)
        now = self.clock.now_ms()
        algo.trigger_time = str(now)
        algo.u_time = now
        if res["sCode"] == "0":
            algo.state = EFFECTIVE
            algo.ord_ids.append(res["ordId"])
            algo.actual_sz = fmt(sz)
            algo.actual_px = fmt(ord_px) if ord_px is not None else ""
            algo.actual_side = leg_name
            child = acct.visible.get(res["ordId"])
            if algo.attach and child is not None:
                self._attach_to_child(acct, algo, child)
        else:
            algo.state = ORDER_FAILED
            algo.fail_code = res["sCode"]
        self._emit(algo)

    def _attach_to_child(self, acct: Account, algo: Algo, child: Order) -> None:
        """A trigger order's attachAlgoOrds ride on the order it placed (created when it fills)."""
        specs = [AttachSpec(self.ids.order(), s.attach_algo_cl_ord_id, s.tp, s.sl) for s in algo.attach]
        child.attached = specs
        if child.pending:
            self.of(acct.uid).parents[child.ord_id] = child
            self._work += 1
        elif child.state == "filled":
            self._create_attached(child, child.acc_fill_sz)

    def _fit_trigger_size(self, acct: Account, algo: Algo, sz: Decimal, ord_px: Decimal | None) -> Decimal:
        """OKX: a trigger order larger than the balance is placed for what the balance allows (spot)."""
        inst = algo.inst
        if inst.is_swap:
            return sz
        if algo.side == "sell":
            avail = acct.bal(inst.base_ccy).avail
        else:
            px = ord_px
            if px is None:
                ask = self.markets.books[inst.inst_id].best_px("asks") or self.markets.last_px(inst.inst_id)
                px = ask * MARKET_BUFFER
            avail = acct.bal(inst.quote_ccy).avail / px
        fitted = floor_to(min(sz, avail), inst.lot_sz)
        return fitted if fitted > 0 else sz

    def _affordable_contracts(self, acct: Account, algo: Algo, ord_px: Decimal | None) -> Decimal | None:
        inst = algo.inst
        lever = algo.lever or self.checks.margin.lever(acct, inst, algo.td_mode, algo.pos_side)
        px = ord_px or self.checks.marks.price_limits(inst)[0 if algo.side == "buy" else 1]
        per_contract = value(inst, Decimal(1), px) / lever
        if per_contract <= 0:
            return None
        fitted = floor_to(self.derivs.available(acct, inst.settle_ccy) / per_contract, inst.lot_sz)
        return fitted if fitted >= inst.min_sz else None

    # -- queries ----------------------------------------------------------------------------------

    def get(self, uid: str, algo_id: str = "", algo_cl: str = "") -> dict[str, Any] | None:
        book = self.of(uid)
        self._prune(book, self.clock.now_ms())
        algo = book.known.get(algo_id) if algo_id else book.by_cl.get(algo_cl)
        return algo.to_wire() if algo is not None else None

    def pending(self, uid: str, filters: Mapping[str, str]) -> list[dict[str, Any]]:
        f = ListFilters(filters)
        types = self._types(f)
        algo_id = f.get("algoId")
        items = (a for a in reversed(self.of(uid).live.values()) if self._matches(a, f, types, algo_id))
        return f.page(items, key=lambda a: int(a.algo_id), render=Algo.to_wire)

    def history(self, uid: str, filters: Mapping[str, str]) -> list[dict[str, Any]]:
        f = ListFilters(filters)
        types = self._types(f)
        state, algo_id = f.get("state"), f.get("algoId")
        if state and algo_id:
            raise ParamError("50024", "Parameter state and algoId can not exist at the same time.")
        if not state and not algo_id:
            raise ParamError("50015", "Either parameter state or algoId is required")
        if state and state not in ("effective", "canceled", "order_failed", "partially_failed"):
            raise ParamError("51000", "Parameter state error")
        book = self.of(uid)
        self._prune(book, self.clock.now_ms())
        done = sorted(book.done, key=lambda a: int(a.algo_id), reverse=True)
        items = (a for a in done if self._matches(a, f, types, algo_id) and (not state or a.state == state))
        return f.page(items, key=lambda a: int(a.algo_id), render=Algo.to_wire)

    @staticmethod
    def _types(f: ListFilters) -> set[str]:
        raw = f.get("ordType")
        if not raw:
            raise ParamError("50014", "Parameter ordType can not be empty.")
        types = set(raw.split(","))
        known = {"conditional", "oco", "trigger", "move_order_stop", "iceberg", "twap", "chase"}
        if not types <= known or (len(types) > 1 and not types <= TPSL_TYPES):
            raise ParamError("51000", "Parameter ordType error")
        return types

    @staticmethod
    def _matches(a: Algo, f: ListFilters, types: set[str], algo_id: str) -> bool:
        inst_type, inst_id = f.get("instType"), f.get("instId")
        return (
            a.ord_type in types
            and (not algo_id or a.algo_id == algo_id)
            and (not inst_type or a.inst.inst_type == inst_type)
            and (not inst_id or a.inst.inst_id == inst_id)
        )

    def show_close_orders(self, uid: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Fill positions rows' `closeOrderAlgo` with their live close-all TP/SL (closeFraction 1)."""
        book = self.accounts.get(uid)
        closing = [a for a in book.live.values() if a.close_fraction] if book is not None else []
        for row in rows:
            if not closing or row.get("pos") in ("0", ""):
                continue
            row["closeOrderAlgo"] = [
                {"algoId": a.algo_id, "closeFraction": "1",
                 "slTriggerPx": fmt(a.sl.trigger_px) if a.sl else "", "slTriggerPxType": a.sl.px_type if a.sl else "",
                 "tpTriggerPx": fmt(a.tp.trigger_px) if a.tp else "", "tpTriggerPxType": a.tp.px_type if a.tp else ""}
                for a in closing
                if (a.inst.inst_id, a.td_mode, a.pos_side) == (row["instId"], row["mgnMode"], row["posSide"])
            ]  # fmt: skip
        return rows

    def every(self, uid: str) -> list[dict[str, Any]]:
        """Every algo the account still has on record, any state, oldest first (admin)."""
        return [a.to_wire() for a in self.of(uid).known.values()]

    def set_partial_parent(self, mode: str) -> None:
        if mode not in PARTIAL_PARENT_MODES:
            raise ValueError(f"partialParent must be one of {', '.join(PARTIAL_PARENT_MODES)}")
        self.partial_parent = mode


__all__ = ["LIVE", "AlgoBook"]
