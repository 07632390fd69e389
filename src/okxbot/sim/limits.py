"""The simulator's own copy of OKX's REST rate limits (reference §4) and the counters that apply them.

This table is deliberately independent of the client's (`okxbot.okx.limits`): the client is tested
against it, so sharing one would hide a mistake on both sides.

Every rule is a sliding window of `capacity` units per `window_ms`, keyed by the peer IP, the user id,
or the user id + instrument. Batch endpoints count orders, not requests, and a batch of one order is
charged to the single-order endpoint. Place and amend orders also feed a per-account budget of 1000
orders per 2 s (50061). WebSocket order operations charge the same buckets through `charge_ws`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from okxbot.sim.wire import SimError


@dataclass(frozen=True)
class Rule:
    capacity: int
    window_ms: int
    key: str  # "ip" | "ip_insttype" | "uid" | "uid_inst" | "uid_tag"
    counts_orders: bool = False


TABLE: dict[str, Rule] = {
    "GET /api/v5/public/time": Rule(10, 2000, "ip"),
    "GET /api/v5/public/instruments": Rule(20, 2000, "ip_insttype"),
    "GET /api/v5/market/tickers": Rule(20, 2000, "ip"),
    "GET /api/v5/market/ticker": Rule(20, 2000, "ip"),
    "GET /api/v5/market/books": Rule(40, 2000, "ip"),
    "GET /api/v5/market/candles": Rule(40, 2000, "ip"),
    "GET /api/v5/market/history-candles": Rule(20, 2000, "ip"),
    "GET /api/v5/market/trades": Rule(100, 2000, "ip"),
    "GET /api/v5/market/history-trades": Rule(20, 2000, "ip"),
    "GET /api/v5/account/balance": Rule(10, 2000, "uid"),
    "GET /api/v5/account/config": Rule(5, 2000, "uid"),
    "GET /api/v5/account/bills": Rule(5, 1000, "uid"),
    "GET /api/v5/asset/balances": Rule(6, 1000, "uid"),
    "GET /api/v5/asset/currencies": Rule(6, 1000, "uid"),
    "GET /api/v5/account/trade-fee": Rule(5, 2000, "uid"),
    "GET /api/v5/system/status": Rule(1, 5000, "ip"),
    "POST /api/v5/trade/order": Rule(60, 2000, "uid_inst"),
    "POST /api/v5/trade/batch-orders": Rule(300, 2000, "uid_inst", counts_orders=True),
    "POST /api/v5/trade/cancel-order": Rule(60, 2000, "uid_inst"),
    "POST /api/v5/trade/cancel-batch-orders": Rule(300, 2000, "uid_inst", counts_orders=True),
    "POST /api/v5/trade/amend-order": Rule(60, 2000, "uid_inst"),
    "POST /api/v5/trade/amend-batch-orders": Rule(300, 2000, "uid_inst", counts_orders=True),
    "GET /api/v5/trade/order": Rule(60, 2000, "uid_inst"),
    "GET /api/v5/trade/orders-pending": Rule(60, 2000, "uid"),
    "GET /api/v5/trade/orders-history": Rule(40, 2000, "uid"),
    "GET /api/v5/trade/orders-history-archive": Rule(20, 2000, "uid"),
    "GET /api/v5/trade/fills": Rule(60, 2000, "uid"),
    "GET /api/v5/trade/fills-history": Rule(10, 2000, "uid"),
    "POST /api/v5/trade/mass-cancel": Rule(5, 2000, "uid"),
    "POST /api/v5/trade/cancel-all-after": Rule(1, 1000, "uid_tag"),
    "GET /api/v5/trade/account-rate-limit": Rule(1, 1000, "uid"),
}

# A batch holding one order is charged as the single-order request (reference §4.1).
SINGLE_OF_BATCH = {
    "POST /api/v5/trade/batch-orders": "POST /api/v5/trade/order",
    "POST /api/v5/trade/cancel-batch-orders": "POST /api/v5/trade/cancel-order",
    "POST /api/v5/trade/amend-batch-orders": "POST /api/v5/trade/amend-order",
}

# Place and amend (single and batch) feed the per-account order budget.
ACCOUNT_ORDER_RULES = {
    "POST /api/v5/trade/order",
    "POST /api/v5/trade/batch-orders",
    "POST /api/v5/trade/amend-order",
    "POST /api/v5/trade/amend-batch-orders",
}
ACCOUNT_ORDER_LIMIT = Rule(1000, 2000, "uid", counts_orders=True)

# WS op -> the REST rule whose buckets it shares.
WS_OPS = {
    "order": "POST /api/v5/trade/order",
    "batch-orders": "POST /api/v5/trade/batch-orders",
    "cancel-order": "POST /api/v5/trade/cancel-order",
    "batch-cancel-orders": "POST /api/v5/trade/cancel-batch-orders",
    "amend-order": "POST /api/v5/trade/amend-order",
    "batch-amend-orders": "POST /api/v5/trade/amend-batch-orders",
    "mass-cancel": "POST /api/v5/trade/mass-cancel",
}


def monotonic_ms() -> int:
    """Window time: immune to the admin clock offset and to wall-clock jumps."""
    return time.monotonic_ns() // 1_000_000


class _Window:
    """Units used in the last `window_ms`, as (time, units) entries with a running total."""

    __slots__ = ("entries", "total")

    def __init__(self) -> None:
        self.entries: deque[tuple[int, int]] = deque()
        self.total = 0

    def used(self, now: int, window_ms: int) -> int:
        entries = self.entries
        horizon = now - window_ms
        while entries and entries[0][0] <= horizon:
            self.total -= entries.popleft()[1]
        return self.total

    def add(self, now: int, units: int) -> None:
        self.entries.append((now, units))
        self.total += units


class Limiter:
    """Sliding-window counters for every (rule, key) pair; all calls on the simulator's loop thread."""

    def __init__(self, now_ms: Callable[[], int]) -> None:
        self._now_ms = now_ms
        self._windows: dict[tuple[str, str], _Window] = {}

    def reset(self) -> None:
        self._windows.clear()

    def charge(
        self,
        rule_name: str,
        *,
        ip: str = "",
        uid: str = "",
        inst_ids: Iterable[str] = (),
        inst_type: str = "",
        tag: str = "",
    ) -> None:
        """Charge one request (and, for batches, one unit per order per instrument) or raise SimError.

        Nothing is charged when any bucket would overflow, so a rejected request costs nothing.
        """
        inst_list = list(inst_ids)
        if rule_name in SINGLE_OF_BATCH and len(inst_list) == 1:
            rule_name = SINGLE_OF_BATCH[rule_name]
        rule = TABLE.get(rule_name)
        if rule is None:
            return
        now = self._now_ms()
        plan: list[tuple[_Window, int, Rule]] = []
        if rule.key == "uid_inst":
            per_inst: dict[str, int] = {}
            for inst in inst_list or [""]:
                per_inst[inst] = per_inst.get(inst, 0) + 1
            for inst, units in per_inst.items():
                plan.append(
                    (self._window(rule_name, f"{uid}|{inst}"), units if rule.counts_orders else 1, rule)
                )
        else:
            key = {"ip": ip, "ip_insttype": f"{ip}|{inst_type}", "uid": uid, "uid_tag": f"{uid}|{tag}"}[
                rule.key
            ]
            plan.append((self._window(rule_name, key), 1, rule))
        for window, units, r in plan:
            if window.used(now, r.window_ms) + units > r.capacity:
                raise SimError("50011")
        if rule_name in ACCOUNT_ORDER_RULES:
            orders = len(inst_list) or 1
            account = self._window("account-orders", uid)
            if account.used(now, ACCOUNT_ORDER_LIMIT.window_ms) + orders > ACCOUNT_ORDER_LIMIT.capacity:
                raise SimError("50061")
            account.add(now, orders)
        for window, units, _ in plan:
            window.add(now, units)

    def charge_ws(self, uid: str, op: str, inst_ids: Iterable[str]) -> None:
        """Charge a WS order operation to the same buckets as its REST twin; raise SimError 50011/50061.

        `inst_ids` holds one entry per order in the request (so a batch of 5 passes 5 ids).
        """
        rule_name = WS_OPS.get(op)
        if rule_name is not None:
            self.charge(rule_name, uid=uid, inst_ids=inst_ids)

    def _window(self, rule_name: str, key: str) -> _Window:
        window = self._windows.get((rule_name, key))
        if window is None:
            window = self._windows[(rule_name, key)] = _Window()
        return window
