"""The simulator's own copy of OKX's REST rate limits (reference §4) and the counters that apply them.

This table is deliberately independent of the client's (`okxbot.okx.limits`): the client is tested
against it, so sharing one would hide a mistake on both sides.

Every rule is a sliding window of `capacity` units per `window_ms`, keyed by the peer IP (+ instType or
instId), the user id (+ tag or currency), or the user id + instrument (options: + instrument family).
Batch endpoints count orders, not requests, in a bucket independent of the single-order one, and a
batch of one order is charged to the single-order endpoint. Place and amend orders on derivatives also
feed a per-account budget of 1000 orders per 2 s (50061); spot and margin orders do not
(`ACCOUNT_ORDER_EXEMPT`). WebSocket order operations charge the same buckets through `charge_ws`.
An endpoint this table does not list is held to the strictest rule in it (`STRICTEST`).

Time: a request is counted once it has fully arrived (its body read: a slow body must not be counted
seconds after its stamp), at the very instant the dispatcher stamps its `inTime` (wall-clock
microseconds, like OKX's gateway), so the acknowledgements a client sees, dated by their inTime, obey
the limits exactly. The admin clock offset does not touch this clock.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from okxbot.sim.wire import SimError


@dataclass(frozen=True)
class Rule:
    capacity: int
    window_ms: int
    key: str  # "ip" | "ip_insttype" | "ip_inst" | "uid" | "uid_inst" | "uid_tag" | "uid_ccy"
    counts_orders: bool = False


_PER_2S = 2000
_PER_S = 1000

# OKX's per-endpoint "Rate Limit" / "Rate limit rule" lines (reference §4.2; derivatives reference §2.9
# and §5-6; docs pages of system/status, asset/currencies, deposit-address, withdrawal, transfer).
TABLE: dict[str, Rule] = {
    # public, per IP
    "GET /api/v5/public/time": Rule(10, _PER_2S, "ip"),
    "GET /api/v5/public/instruments": Rule(20, _PER_2S, "ip_insttype"),
    "GET /api/v5/public/mark-price": Rule(10, _PER_2S, "ip_inst"),
    "GET /api/v5/public/funding-rate": Rule(10, _PER_2S, "ip_inst"),
    "GET /api/v5/public/funding-rate-history": Rule(10, _PER_2S, "ip_inst"),
    "GET /api/v5/public/open-interest": Rule(20, _PER_2S, "ip_inst"),
    "GET /api/v5/public/position-tiers": Rule(10, _PER_2S, "ip"),
    "GET /api/v5/public/price-limit": Rule(20, _PER_2S, "ip"),
    "GET /api/v5/public/convert-contract-coin": Rule(10, _PER_2S, "ip"),
    "GET /api/v5/public/underlying": Rule(20, _PER_2S, "ip"),
    "GET /api/v5/market/tickers": Rule(20, _PER_2S, "ip"),
    "GET /api/v5/market/ticker": Rule(20, _PER_2S, "ip"),
    "GET /api/v5/market/books": Rule(40, _PER_2S, "ip"),
    "GET /api/v5/market/books-full": Rule(10, _PER_2S, "ip"),
    "GET /api/v5/market/candles": Rule(40, _PER_2S, "ip"),
    "GET /api/v5/market/history-candles": Rule(20, _PER_2S, "ip"),
    "GET /api/v5/market/index-tickers": Rule(20, _PER_2S, "ip"),
    "GET /api/v5/market/trades": Rule(100, _PER_2S, "ip"),
    "GET /api/v5/market/history-trades": Rule(20, _PER_2S, "ip"),
    "GET /api/v5/market/mark-price-candles": Rule(20, _PER_2S, "ip"),
    "GET /api/v5/market/history-mark-price-candles": Rule(20, _PER_2S, "ip"),
    "GET /api/v5/market/index-candles": Rule(20, _PER_2S, "ip"),
    "GET /api/v5/market/history-index-candles": Rule(10, _PER_2S, "ip"),
    "GET /api/v5/system/status": Rule(1, 5000, "ip"),
    # trading account, per uid
    "GET /api/v5/account/balance": Rule(10, _PER_2S, "uid"),
    "GET /api/v5/account/positions": Rule(10, _PER_2S, "uid"),
    "GET /api/v5/account/positions-history": Rule(10, _PER_2S, "uid"),
    "GET /api/v5/account/config": Rule(5, _PER_2S, "uid"),
    "GET /api/v5/account/bills": Rule(5, _PER_S, "uid"),
    "GET /api/v5/account/bills-archive": Rule(5, _PER_2S, "uid"),
    "GET /api/v5/account/trade-fee": Rule(5, _PER_2S, "uid"),
    "GET /api/v5/account/leverage-info": Rule(20, _PER_2S, "uid"),
    "GET /api/v5/account/max-size": Rule(20, _PER_2S, "uid"),
    "GET /api/v5/account/max-avail-size": Rule(20, _PER_2S, "uid"),
    "GET /api/v5/account/set-account-switch-precheck": Rule(5, _PER_2S, "uid"),
    "POST /api/v5/account/set-position-mode": Rule(5, _PER_2S, "uid"),
    "POST /api/v5/account/set-account-level": Rule(5, _PER_2S, "uid"),
    "POST /api/v5/account/set-leverage": Rule(20, _PER_2S, "uid"),
    "POST /api/v5/account/position/margin-balance": Rule(20, _PER_2S, "uid"),
    # funding account, per uid
    "GET /api/v5/asset/balances": Rule(6, _PER_S, "uid"),
    "GET /api/v5/asset/currencies": Rule(6, _PER_S, "uid"),
    "GET /api/v5/asset/bills": Rule(6, _PER_S, "uid"),
    "GET /api/v5/asset/bills-history": Rule(1, _PER_S, "uid"),
    "GET /api/v5/asset/deposit-history": Rule(6, _PER_S, "uid"),
    "GET /api/v5/asset/withdrawal-history": Rule(6, _PER_S, "uid"),
    "GET /api/v5/asset/deposit-withdraw-status": Rule(1, _PER_2S, "uid"),
    "GET /api/v5/asset/deposit-address": Rule(6, _PER_S, "uid"),
    "POST /api/v5/asset/transfer": Rule(2, _PER_S, "uid_ccy"),
    "GET /api/v5/asset/transfer-state": Rule(10, _PER_S, "uid"),  # docs "Get funds transfer state"
    "POST /api/v5/asset/withdrawal": Rule(6, _PER_S, "uid"),
    # master account: its sub-accounts (docs "Sub-account" section), per uid
    "GET /api/v5/users/subaccount/list": Rule(2, _PER_2S, "uid"),
    "POST /api/v5/users/subaccount/create-subaccount": Rule(1, _PER_S, "uid"),
    "POST /api/v5/users/subaccount/apikey": Rule(1, _PER_S, "uid"),
    "GET /api/v5/users/subaccount/apikey": Rule(20, _PER_2S, "uid"),
    "POST /api/v5/users/subaccount/modify-apikey": Rule(1, _PER_S, "uid"),
    "POST /api/v5/users/subaccount/delete-apikey": Rule(1, _PER_S, "uid"),
    "POST /api/v5/users/subaccount/set-transfer-out": Rule(1, _PER_S, "uid"),
    "GET /api/v5/account/subaccount/balances": Rule(6, _PER_2S, "uid"),
    "GET /api/v5/asset/subaccount/balances": Rule(6, _PER_2S, "uid"),
    "GET /api/v5/asset/subaccount/bills": Rule(6, _PER_S, "uid"),
    "POST /api/v5/asset/subaccount/transfer": Rule(1, _PER_S, "uid"),
    "GET /api/v5/users/entrust-subaccount-list": Rule(1, _PER_S, "uid"),
    # order entry, per uid + instrument
    "POST /api/v5/trade/order": Rule(60, _PER_2S, "uid_inst"),
    "POST /api/v5/trade/batch-orders": Rule(300, _PER_2S, "uid_inst", counts_orders=True),
    "POST /api/v5/trade/cancel-order": Rule(60, _PER_2S, "uid_inst"),
    "POST /api/v5/trade/cancel-batch-orders": Rule(300, _PER_2S, "uid_inst", counts_orders=True),
    "POST /api/v5/trade/amend-order": Rule(60, _PER_2S, "uid_inst"),
    "POST /api/v5/trade/amend-batch-orders": Rule(300, _PER_2S, "uid_inst", counts_orders=True),
    "POST /api/v5/trade/close-position": Rule(20, _PER_2S, "uid_inst"),
    "POST /api/v5/trade/order-algo": Rule(20, _PER_2S, "uid_inst"),
    "POST /api/v5/trade/cancel-algos": Rule(20, _PER_2S, "uid_inst"),
    "POST /api/v5/trade/amend-algos": Rule(20, _PER_2S, "uid_inst"),
    "GET /api/v5/trade/order": Rule(60, _PER_2S, "uid_inst"),
    # order queries and account-wide trading, per uid
    "GET /api/v5/trade/orders-pending": Rule(60, _PER_2S, "uid"),
    "GET /api/v5/trade/orders-history": Rule(40, _PER_2S, "uid"),
    "GET /api/v5/trade/orders-history-archive": Rule(20, _PER_2S, "uid"),
    "GET /api/v5/trade/fills": Rule(60, _PER_2S, "uid"),
    "GET /api/v5/trade/fills-history": Rule(10, _PER_2S, "uid"),
    "GET /api/v5/trade/order-algo": Rule(20, _PER_2S, "uid"),
    "GET /api/v5/trade/orders-algo-pending": Rule(20, _PER_2S, "uid"),
    "GET /api/v5/trade/orders-algo-history": Rule(20, _PER_2S, "uid"),
    "POST /api/v5/trade/mass-cancel": Rule(5, _PER_2S, "uid"),
    "POST /api/v5/trade/cancel-all-after": Rule(1, _PER_S, "uid_tag"),
    "GET /api/v5/trade/account-rate-limit": Rule(1, _PER_S, "uid"),
}

# The tightest documented rule (requests per second); what an endpoint missing above is held to.
STRICTEST = min(TABLE.values(), key=lambda rule: rule.capacity / rule.window_ms)
_PUBLIC = ("/api/v5/public/", "/api/v5/market/", "/api/v5/system/")

# A batch holding one order is charged as the single-order request (reference §4.1).
SINGLE_OF_BATCH = {
    "POST /api/v5/trade/batch-orders": "POST /api/v5/trade/order",
    "POST /api/v5/trade/cancel-batch-orders": "POST /api/v5/trade/cancel-order",
    "POST /api/v5/trade/amend-batch-orders": "POST /api/v5/trade/amend-order",
}

# Place and amend (single and batch) feed the per-account order budget ...
ACCOUNT_ORDER_RULES = {
    "POST /api/v5/trade/order",
    "POST /api/v5/trade/batch-orders",
    "POST /api/v5/trade/amend-order",
    "POST /api/v5/trade/amend-batch-orders",
}
ACCOUNT_ORDER_LIMIT = Rule(1000, _PER_2S, "uid", counts_orders=True)
# ... except, in OKX's words (rate-limit docs, fill-ratio section): "Block trading, spread trading,
# MMP and spot/margin orders are exempted from the sub-account rate limit." Spot and margin orders are
# those on spot instIds; the simulator trades no options, so MMP orders cannot reach it.
ACCOUNT_ORDER_EXEMPT = frozenset({"SPOT", "MARGIN"})

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

_SPOT = re.compile(r"^[A-Z0-9]+-[A-Z0-9]+$")
_SWAP = re.compile(r"^[A-Z0-9]+-[A-Z0-9]+-SWAP$")
_FUTURES = re.compile(r"^[A-Z0-9]+-[A-Z0-9]+-\d{6}$")
_OPTION = re.compile(r"^([A-Z0-9]+-[A-Z0-9]+)-\d{6}-[0-9.]+-[CP]$")


def instrument_type(inst_id: str) -> str:
    """SPOT (margin orders use the same ids), SWAP, FUTURES, OPTION, or "" for an unknown shape."""
    for kind, pattern in (("SPOT", _SPOT), ("SWAP", _SWAP), ("FUTURES", _FUTURES), ("OPTION", _OPTION)):
        if pattern.match(inst_id):
            return kind
    return ""


def instrument_bucket(inst_id: str) -> str:
    """OKX limits order entry per instId, except options: per instrument family (BTC-USD)."""
    option = _OPTION.match(inst_id)
    return option.group(1) if option else inst_id


def rule_for(name: str) -> Rule:
    """The rule of "METHOD /api/v5/path"; an unlisted endpoint gets `STRICTEST` (by IP when public)."""
    rule = TABLE.get(name)
    if rule is not None:
        return rule
    path = name.split(" ", 1)[-1]
    return Rule(STRICTEST.capacity, STRICTEST.window_ms, "ip" if path.startswith(_PUBLIC) else "uid")


def monotonic_ms() -> int:
    """Monotonic milliseconds for timers that must ignore the admin clock and wall-clock jumps."""
    return time.monotonic_ns() // 1_000_000


def arrival_us() -> int:
    """The clock requests are counted on: wall-clock microseconds, as `inTime` is written."""
    return time.time_ns() // 1000


class _Window:
    """Units used in the last `window_us`, as (time, units) entries with a running total."""

    __slots__ = ("entries", "total")

    def __init__(self) -> None:
        self.entries: deque[tuple[int, int]] = deque()
        self.total = 0

    def used(self, now: int, window_us: int) -> int:
        entries = self.entries
        horizon = now - window_us
        while entries and entries[0][0] <= horizon:
            self.total -= entries.popleft()[1]
        return self.total

    def add(self, now: int, units: int) -> None:
        self.entries.append((now, units))
        self.total += units


class Limiter:
    """Sliding-window counters for every (rule, key) pair; all calls on the simulator's loop thread."""

    def __init__(self, now_us: Callable[[], int] = arrival_us) -> None:
        self._now_us = now_us
        self._windows: dict[tuple[str, str], _Window] = {}
        self._last = 0  # entries stay in time order even if two arrivals are charged out of order

    def reset(self) -> None:
        self._windows.clear()

    def charge_request(
        self, method: str, path: str, *, ip: str, uid: str, params: Any, arrival: int | None = None
    ) -> None:
        """Charge one REST request (params: the query dict, or the decoded JSON body) or raise SimError.

        `arrival`: the request's inTime in microseconds (default: now).
        """
        items = params if isinstance(params, list) else [params]
        items = [item for item in items if isinstance(item, Mapping)]
        first = items[0] if items else {}
        self.charge(
            f"{method} {path}",
            ip=ip,
            uid=uid,
            inst_ids=[str(item.get("instId") or "") for item in items] or [""],
            inst_type=str(first.get("instType") or "") if not isinstance(params, list) else "",
            tag=str(first.get("tag") or "") if not isinstance(params, list) else "",
            ccy=str(first.get("ccy") or ""),
            arrival=arrival,
        )

    def charge(
        self,
        rule_name: str,
        *,
        ip: str = "",
        uid: str = "",
        inst_ids: Iterable[str] = (),
        inst_type: str = "",
        tag: str = "",
        ccy: str = "",
        arrival: int | None = None,
    ) -> None:
        """Charge one request (and, for batches, one unit per order per instrument) or raise SimError.

        `inst_ids` holds one entry per order (a batch of 5 passes 5). Nothing is charged when any bucket
        would overflow, so a rejected request costs nothing.
        """
        inst_list = list(inst_ids)
        if rule_name in SINGLE_OF_BATCH and len(inst_list) == 1:
            rule_name = SINGLE_OF_BATCH[rule_name]
        rule = rule_for(rule_name)
        now = max(self._now_us() if arrival is None else arrival, self._last)
        window_us = rule.window_ms * 1000
        plan: list[tuple[_Window, int]] = []
        if rule.key == "uid_inst":
            per_inst: dict[str, int] = {}
            for inst in inst_list or [""]:
                bucket = instrument_bucket(inst)
                per_inst[bucket] = per_inst.get(bucket, 0) + 1
            for bucket, units in per_inst.items():
                plan.append((self._window(rule_name, f"{uid}|{bucket}"), units if rule.counts_orders else 1))
        else:
            key = {
                "ip": ip,
                "ip_insttype": f"{ip}|{inst_type}",
                "ip_inst": f"{ip}|{inst_list[0] if inst_list else ''}",
                "uid": uid,
                "uid_tag": f"{uid}|{tag}",
                "uid_ccy": f"{uid}|{ccy}",
            }[rule.key]
            plan.append((self._window(rule_name, key), 1))
        for window, units in plan:
            if window.used(now, window_us) + units > rule.capacity:
                raise SimError("50011")
        if rule_name in ACCOUNT_ORDER_RULES:
            orders = sum(1 for inst in inst_list or [""] if instrument_type(inst) not in ACCOUNT_ORDER_EXEMPT)
            if orders:
                account = self._window("account-orders", uid)
                limit = ACCOUNT_ORDER_LIMIT
                if account.used(now, limit.window_ms * 1000) + orders > limit.capacity:
                    raise SimError("50061")
                account.add(now, orders)
        for window, units in plan:
            window.add(now, units)
        self._last = now

    def charge_ws(self, uid: str, op: str, inst_ids: Iterable[str], arrival: int | None = None) -> None:
        """Charge a WS order operation to the same buckets as its REST twin; raise SimError 50011/50061.

        `inst_ids` holds one entry per order in the request (so a batch of 5 passes 5 ids).
        """
        rule_name = WS_OPS.get(op)
        if rule_name is not None:
            self.charge(rule_name, uid=uid, inst_ids=inst_ids, arrival=arrival)

    def _window(self, rule_name: str, key: str) -> _Window:
        window = self._windows.get((rule_name, key))
        if window is None:
            window = self._windows[(rule_name, key)] = _Window()
        return window
