"""An account's balances (cash and frozen per currency) and the indexes of its orders and records."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from okxbot.sim.instruments import ZERO, fmt
from okxbot.sim.order import Order


@dataclass(slots=True)
class Balance:
    cash: Decimal = ZERO
    frozen: Decimal = ZERO
    u_time: int = 0

    @property
    def avail(self) -> Decimal:
        return self.cash - self.frozen


@dataclass(slots=True)
class Account:
    uid: str
    demo: bool
    internal: bool
    balances: dict[str, Balance] = field(default_factory=dict)
    pending: dict[str, Order] = field(default_factory=dict)  # ordId -> order, oldest first
    pending_by_cl: dict[str, Order] = field(default_factory=dict)
    pending_per_inst: dict[str, int] = field(default_factory=dict)
    visible: dict[str, Order] = field(default_factory=dict)  # ordId -> order still queryable
    latest_by_cl: dict[str, Order] = field(default_factory=dict)
    every: list[Order] = field(default_factory=list)
    done_filled: deque[Order] = field(default_factory=deque)  # completed with a fill: kept 7 days
    done_unfilled: deque[Order] = field(default_factory=deque)  # canceled without fill: kept 2 h
    fills: deque[dict[str, str]] = field(default_factory=deque)  # oldest first
    bills: deque[dict[str, str]] = field(default_factory=deque)
    fee_rates: tuple[Decimal, Decimal] | None = None  # (maker, taker); None: the exchange's default

    def bal(self, ccy: str) -> Balance:
        b = self.balances.get(ccy)
        if b is None:
            b = self.balances[ccy] = Balance()
        return b


def balance_detail(ccy: str, b: Balance, usd: Decimal) -> dict[str, str]:
    cash, frozen = fmt(b.cash), fmt(b.frozen)
    return {
        "accAvgPx": "", "autoLendMtAmt": "0", "autoLendStatus": "off", "availBal": fmt(b.avail),
        "availEq": "", "borrowFroz": "", "cashBal": cash, "ccy": ccy, "clSpotInUseAmt": "",
        "colBorrAutoConversion": "0", "colRes": "0", "collateralEnabled": False, "collateralRestrict": False,
        "crossLiab": "", "disEq": fmt(b.cash * usd), "eq": cash, "eqUsd": fmt(b.cash * usd),
        "fixedBal": "0", "frozenBal": frozen, "imr": "", "interest": "", "isoEq": "", "isoLiab": "",
        "isoUpl": "", "liab": "", "maxLoan": "", "maxSpotInUse": "", "mgnRatio": "", "mmr": "",
        "notionalLever": "", "openAvgPx": "", "ordFrozen": frozen, "rewardBal": "0", "smtSyncEq": "0",
        "spotBal": "", "spotCopyTradingEq": "0", "spotInUseAmt": "", "spotIsoBal": "0", "spotUpl": "",
        "spotUplRatio": "", "stgyEq": "0", "totalPnl": "", "totalPnlRatio": "", "twap": "0",
        "uTime": str(b.u_time), "upl": "", "uplLiab": "",
    }  # fmt: skip
