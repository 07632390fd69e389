"""The parameters of algo-order requests as OKX reads them: decimals, prices on the tick, "-1" for
market, trigger price types, TP / SL legs; each refusal a `Refused` with OKX's sCode (51000 mostly).
Shared by the order-algo checks, the attachAlgoOrds checks and amend-algos."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from okxbot.sim.algo_model import PRICE_TYPES, Leg
from okxbot.sim.filters import param_str
from okxbot.sim.instruments import Instrument, is_multiple
from okxbot.sim.swap_orders import Refused

ID = re.compile(r"[A-Za-z0-9]{1,32}")
TAG = re.compile(r"[A-Za-z0-9]{1,16}")


def bool_param(raw: Any, name: str) -> bool:
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
