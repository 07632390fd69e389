"""OKX's spot fee tiers (okx.com/fees, USDT / crypto pairs): the one home of these rates.

Rates are positive fractions charged on each fill; a negative maker rate is a rebate. OKX charges a
spot fee in the currency the fill gives you: a buy pays in the base currency, a sell in the quote
currency (the simulator's matching engine applies that rule, `okxbot.sim.engine`).
"""

from __future__ import annotations

from decimal import Decimal

D = Decimal

# tier -> (maker, taker)
SPOT_FEE_TIERS: dict[str, tuple[Decimal, Decimal]] = {
    "lv1": (D("0.0008"), D("0.0010")),
    "lv2": (D("0.00075"), D("0.00095")),
    "lv3": (D("0.0007"), D("0.0009")),
    "lv4": (D("0.00065"), D("0.00085")),
    "lv5": (D("0.0006"), D("0.0008")),
    "vip1": (D("0.0006"), D("0.0008")),
    "vip2": (D("0.0005"), D("0.0007")),
    "vip3": (D("0.0003"), D("0.0006")),
    "vip4": (D("0.0002"), D("0.0005")),
    "vip5": (D("0"), D("0.0004")),
    "vip6": (D("-0.00002"), D("0.0003")),
    "vip7": (D("-0.00005"), D("0.00025")),
    "vip8": (D("-0.00005"), D("0.0002")),
}
