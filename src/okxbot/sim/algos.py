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
from typing import Any

from okxbot.sim.accounts import Account
from okxbot.sim.algo_amend import Amendments
from okxbot.sim.algo_attach import Attachments
from okxbot.sim.algo_checks import AlgoChecks
from okxbot.sim.algo_model import CANCELED, LIVE, TPSL_TYPES, Algo
from okxbot.sim.algo_triggers import Triggers
from okxbot.sim.bus import EventBus, Ids
from okxbot.sim.clock import Clock
from okxbot.sim.events import AlgoEvent
from okxbot.sim.filters import ListFilters, ParamError, param_str
from okxbot.sim.instruments import fmt
from okxbot.sim.ledger import Ledger
from okxbot.sim.order import Order
from okxbot.sim.order_entry import MAX_PENDING_INSTRUMENT, OrderEntry
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
        self.work = 0  # live algos + parents: the after-flush check returns at once when 0
        self.attachments = Attachments(self)
        self.triggers = Triggers(self)
        self.amendments = Amendments(checks, ids)

    def of(self, uid: str) -> AccountAlgos:
        book = self.accounts.get(uid)
        if book is None:
            book = self.accounts[uid] = AccountAlgos()
        return book

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
            self.check_identity(uid, algo.algo_cl_ord_id)
            self.check_caps(acct, algo)
        except Refused as r:
            return result(r.code, r.msg)
        algo.algo_id = self.ids.order()
        for spec in algo.attach:
            spec.attach_algo_id = self.ids.order()
        if algo.tp_limit_px is not None:
            res = self.attachments.place_tp_limit(algo, algo.tp_limit_px, algo.sz, algo.algo_cl_ord_id)
            if res["sCode"] != "0":
                return result(res["sCode"], res["sMsg"])
        self.add(algo)
        self.emit(algo)
        self.bus.flush()  # the trigger check: an algo placed at its trigger price fires now
        return result("0", "", algo.algo_id)

    def end(self, algo: Algo, state: str, linked_source: str = "37") -> None:
        """Retire a live algo and cancel the TP limit orders that went with it; emit."""
        self.retire(algo, state)
        for order in algo.linked:
            if order.pending:
                self.entry.matcher.remove_resting(order, linked_source)
        self.emit(algo)

    def check_identity(self, uid: str, algo_cl: str) -> None:
        if not algo_cl:
            return
        book = self.of(uid)
        held = book.by_cl.get(algo_cl)
        if held is not None and held.live:
            raise Refused("51065", "algoClOrdId already exists.")
        if any(a.attach_algo_cl_ord_id == algo_cl for o in book.parents.values() for a in o.attached):
            raise Refused("51068", f"{algo_cl} already exists within algoClOrdId and attachAlgoClOrdId.")

    def check_caps(self, acct: Account, algo: Algo) -> None:
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

    def add(self, algo: Algo) -> None:
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
        self.work += 1

    def retire(self, algo: Algo, state: str) -> None:
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
        self.work -= 1
        self._prune(book, algo.u_time)

    def _prune(self, book: AccountAlgos, now: int) -> None:
        while book.done and now - book.done[0].u_time > HISTORY_MS:
            old = book.done.popleft()
            book.known.pop(old.algo_id, None)
            if old.algo_cl_ord_id and book.by_cl.get(old.algo_cl_ord_id) is old:
                del book.by_cl[old.algo_cl_ord_id]

    def emit(self, algo: Algo, amend_result: str = "", req_id: str = "") -> None:
        if not self.bus.listeners:
            return
        if algo.advance:
            data = algo.advance_wire(self.clock.now_ms())
            self.bus.emit(AlgoEvent(algo.uid, "algo-advance", data))
        else:
            self.bus.emit(AlgoEvent(algo.uid, "orders-algo", algo.push_wire(amend_result, req_id)))

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
        self.end(algo, CANCELED)
        return result("0", "")

    def cancel_all(self, uid: str, inst_id: str | None = None) -> list[dict[str, Any]]:
        """Cancel every live algo of the account (of one instrument if given); admin and panic paths."""
        victims = [a for a in self.of(uid).live.values() if inst_id is None or a.inst.inst_id == inst_id]
        for algo in victims:
            self.end(algo, CANCELED)
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
            changes = self.amendments.changes(algo, params)
        except Refused as r:
            if param_str(params.get("cxlOnFail")) == "true":
                self.end(algo, CANCELED)
                self.bus.flush()
            return result(r.code, r.msg)
        for name, new in changes.items():
            setattr(algo, name, new)
        algo.u_time = self.clock.now_ms()
        algo.fresh = True
        self.emit(algo, amend_result="0", req_id=req_id)
        self.bus.flush()
        return result("0", "")

    # -- order entry's hooks (OrderEntry.algos) -----------------------------------------------------

    def on_place(self, acct: Account, order: Order, params: Mapping[str, Any]) -> None:
        self.attachments.on_place(acct, order, params)

    def amend_attached(self, acct: Account, order: Order, raw: Any) -> Refused | None:
        return self.attachments.amend_attached(acct, order, raw)

    def pending_tpsl(self, uid: str, inst_id: str) -> int:
        book = self.accounts.get(uid)
        return book.tpsl_per_inst.get(inst_id, 0) if book is not None else 0

    def check(self) -> None:
        if not self.work:
            return
        if self._checking:
            self._again = True  # a child order's own flush: the outer loop looks again
            return
        self._checking = True
        try:
            for _ in range(100):  # a cascade (a fill creating TP/SL that fire at once) ends quickly
                self._again = False
                self.attachments.adopt_filled_parents()
                self.attachments.settle_tp_limits()  # before the position check: a filled TP closed the position
                self._drop_closed_positions()
                fired = self.triggers.evaluate()
                if not fired and not self._again:
                    break
        finally:
            self._checking = False

    def _drop_closed_positions(self) -> None:
        """Close-all TP/SL and cxlOnClosePos algos end with their position (canceled)."""
        for book in self.accounts.values():
            for algo in [a for a in book.live.values() if a.pos_closed_at is not None]:
                acct = self.ledger.account(algo.uid)
                p = self.derivs.find(acct, algo.inst, algo.td_mode, algo.pos_side)
                if p is None or not p.pos or p.closed_at != algo.pos_closed_at:
                    self.end(algo, CANCELED)

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
