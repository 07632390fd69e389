"""An account's balances (cash and frozen per currency) and the indexes of its orders and records.

Order retention follows OKX: completed orders stay queryable 7 days, canceled ones without a fill 2 h;
fills 3 days, bills 7 days.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from okxbot.sim.instruments import ZERO, fmt
from okxbot.sim.order import Order
from okxbot.sim.positions import Position

HISTORY_MS = 7 * 24 * 3600 * 1000
UNFILLED_CANCELED_MS = 2 * 3600 * 1000
FILLS_MS = 3 * 24 * 3600 * 1000


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
    # Trading-account settings (account/config) and swap positions.
    acct_lv: str = "1"  # 1 Spot mode, 2 Futures mode
    # The modes this account may switch to by API: OKX wants the first switch to a mode on the web.
    levels: frozenset[str] = frozenset({"1", "2"})
    pos_mode: str = "net_mode"  # net_mode | long_short_mode
    leverage: dict[tuple[str, str, str], Decimal] = field(default_factory=dict)  # (instId, mgnMode, side)
    positions: dict[tuple[str, str, str], Position] = field(
        default_factory=dict
    )  # (instId, mgnMode, posSide)
    position_history: list[dict[str, str]] = field(default_factory=list)  # rows, oldest cycle first

    def bal(self, ccy: str) -> Balance:
        b = self.balances.get(ccy)
        if b is None:
            b = self.balances[ccy] = Balance()
        return b

    # -- order indexes --------------------------------------------------------------------------

    def index_new(self, order: Order) -> None:
        """A new pending order: findable by ordId (and clOrdId) from now on."""
        self.pending[order.ord_id] = order
        if self.internal:
            return
        self.visible[order.ord_id] = order
        self.every.append(order)
        inst_id = order.inst.inst_id
        self.pending_per_inst[inst_id] = self.pending_per_inst.get(inst_id, 0) + 1
        if order.cl_ord_id:
            self.pending_by_cl[order.cl_ord_id] = order
            self.latest_by_cl[order.cl_ord_id] = order

    def retire(self, order: Order) -> None:
        """A pending order completed: move it from the pending indexes to the history."""
        if self.pending.pop(order.ord_id, None) is None:
            return
        if self.internal:
            return
        inst_id = order.inst.inst_id
        self.pending_per_inst[inst_id] -= 1
        if order.cl_ord_id and self.pending_by_cl.get(order.cl_ord_id) is order:
            del self.pending_by_cl[order.cl_ord_id]
        if order.acc_fill_sz:
            self.done_filled.append(order)
        else:
            self.done_unfilled.append(order)
        self.prune_history(order.u_time)

    def prune_history(self, now: int) -> None:
        for queue, keep in ((self.done_filled, HISTORY_MS), (self.done_unfilled, UNFILLED_CANCELED_MS)):
            while queue and now - queue[0].u_time > keep:
                old = queue.popleft()
                self.visible.pop(old.ord_id, None)
                if old.cl_ord_id and self.latest_by_cl.get(old.cl_ord_id) is old:
                    del self.latest_by_cl[old.cl_ord_id]

    def prune_records(self, now: int) -> None:
        while self.fills and now - int(self.fills[0]["ts"]) > FILLS_MS:
            self.fills.popleft()
        while self.bills and now - int(self.bills[0]["ts"]) > HISTORY_MS:
            self.bills.popleft()


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
