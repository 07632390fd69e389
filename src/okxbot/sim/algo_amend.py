"""amend-algos: what a request changes on a live conditional / oco / trigger algo, all validated first.

`changes(algo, params)` returns {field: new value} or raises Refused: newSz (51524 on close-all,
51090 beside a TP limit order), TP / SL legs (a 0 price deletes a leg, one left at least 51531, the
same side rules as placement, 51098 beside a TP limit order), trigger price and order price
(together), a trigger order's attachAlgoOrds; nothing to change is 51500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from okxbot.sim.algo_checks import AlgoChecks
from okxbot.sim.algo_model import Algo, AttachSpec, Leg
from okxbot.sim.algo_params import decimal_param, leg, order_price, price_param, px_type
from okxbot.sim.bus import Ids
from okxbot.sim.filters import param_str
from okxbot.sim.swap_orders import Refused


class Amendments:
    def __init__(self, checks: AlgoChecks, ids: Ids) -> None:
        self.checks = checks
        self.ids = ids

    def changes(self, algo: Algo, params: Mapping[str, Any]) -> dict[str, Any]:
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
        self.checks.attach.check_against_order(new, algo.side, ref, "limit")
        return [new]
