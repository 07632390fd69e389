"""OKX's documented rate limits (reference §4.1-4.2): the one table the client's limiter obeys.

Each endpoint has one rule: `capacity` units per sliding `window_ms`, keyed by the caller's IP, the
user id (each sub-account is its own uid), or the user id + instrument (options: + instrument family).
Batch endpoints count orders, not requests, and a batch of a single order is charged to the
single-order endpoint instead; batch and single buckets are otherwise independent. Place and amend
(single or batch, REST or WebSocket) of derivatives orders also feed the sub-account budget of 1000
orders per 2 s; spot and margin orders are exempt from it (`SUB_ACCOUNT_EXEMPT_INST_TYPES`).
WebSocket order operations share the buckets of their REST twins (`ws_op_path`).

`limits_for(method, path)` lists every rule a request may consume; `charges(...)` resolves one concrete
request into the exact buckets and units, which is what the limiter (`okxbot.okx.ratelimit`) records.
An endpoint missing from the table gets the strictest rule of the table (`STRICTEST`), in a bucket of
its own.

The simulator keeps an independent twin of this table in `okxbot.sim.limits`; neither imports the other,
so a mistake on one side shows up as a 50011 in the tests instead of hiding on both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

KeyKind = Literal["ip", "ip+instType", "ip+instId", "uid", "uid+instId", "uid+tag", "uid+ccy", "connection"]


@dataclass(frozen=True)
class Limit:
    """One documented rule: at most `capacity` units in any `window_ms`, per key of kind `key`."""

    name: str  # "METHOD /api/v5/path", or a name of its own for rules that are not one endpoint
    capacity: int
    window_ms: int
    key: KeyKind
    counts_orders: bool = False  # batch endpoints: one unit per order, not per request
    documented: bool = True  # False: an endpoint OKX's table does not list, held to the strictest rule


@dataclass(frozen=True)
class Charge:
    """`units` of one `limit` recorded in the bucket `bucket` (the limit's key values, e.g. uid|instId)."""

    limit: Limit
    bucket: str
    units: int


_SECOND = 1000
_TWO_SECONDS = 2000


def _rule(method: str, path: str, capacity: int, window_ms: int, key: KeyKind, orders: bool = False) -> Limit:
    name = f"{method} /api/v5/{path}"
    return Limit(name, capacity, window_ms, key, orders)


# Each endpoint's "Rate Limit" / "Rate limit rule" lines in OKX's docs: reference §4.2 (spot),
# derivatives §2.9 and §5-6 (swaps, algo orders, history data, funding account), and the docs pages for
# system/status (1 per 5 s), asset/currencies, deposit-address, withdrawal (6 per s) and asset/transfer
# (2 per s per uid + currency).
_TABLE: tuple[Limit, ...] = (
    # public data, per IP
    _rule("GET", "public/time", 10, _TWO_SECONDS, "ip"),
    _rule("GET", "public/instruments", 20, _TWO_SECONDS, "ip+instType"),
    _rule("GET", "public/mark-price", 10, _TWO_SECONDS, "ip+instId"),
    _rule("GET", "public/funding-rate", 10, _TWO_SECONDS, "ip+instId"),
    _rule("GET", "public/funding-rate-history", 10, _TWO_SECONDS, "ip+instId"),
    _rule("GET", "public/open-interest", 20, _TWO_SECONDS, "ip+instId"),
    _rule("GET", "public/position-tiers", 10, _TWO_SECONDS, "ip"),
    _rule("GET", "public/price-limit", 20, _TWO_SECONDS, "ip"),
    _rule("GET", "public/convert-contract-coin", 10, _TWO_SECONDS, "ip"),
    _rule("GET", "public/underlying", 20, _TWO_SECONDS, "ip"),
    _rule("GET", "market/tickers", 20, _TWO_SECONDS, "ip"),
    _rule("GET", "market/ticker", 20, _TWO_SECONDS, "ip"),
    _rule("GET", "market/books", 40, _TWO_SECONDS, "ip"),
    _rule("GET", "market/books-full", 10, _TWO_SECONDS, "ip"),
    _rule("GET", "market/candles", 40, _TWO_SECONDS, "ip"),
    _rule("GET", "market/history-candles", 20, _TWO_SECONDS, "ip"),
    _rule("GET", "market/index-tickers", 20, _TWO_SECONDS, "ip"),
    _rule("GET", "market/trades", 100, _TWO_SECONDS, "ip"),
    _rule("GET", "market/history-trades", 20, _TWO_SECONDS, "ip"),
    _rule("GET", "market/mark-price-candles", 20, _TWO_SECONDS, "ip"),
    _rule("GET", "market/history-mark-price-candles", 20, _TWO_SECONDS, "ip"),
    _rule("GET", "market/index-candles", 20, _TWO_SECONDS, "ip"),
    _rule("GET", "market/history-index-candles", 10, _TWO_SECONDS, "ip"),
    _rule("GET", "system/status", 1, 5 * _SECOND, "ip"),
    # trading account, per uid
    _rule("GET", "account/balance", 10, _TWO_SECONDS, "uid"),
    _rule("GET", "account/positions", 10, _TWO_SECONDS, "uid"),
    _rule("GET", "account/positions-history", 10, _TWO_SECONDS, "uid"),
    _rule("GET", "account/config", 5, _TWO_SECONDS, "uid"),
    _rule("GET", "account/bills", 5, _SECOND, "uid"),
    _rule("GET", "account/bills-archive", 5, _TWO_SECONDS, "uid"),
    _rule("GET", "account/trade-fee", 5, _TWO_SECONDS, "uid"),
    _rule("GET", "account/leverage-info", 20, _TWO_SECONDS, "uid"),
    _rule("GET", "account/max-size", 20, _TWO_SECONDS, "uid"),
    _rule("GET", "account/max-avail-size", 20, _TWO_SECONDS, "uid"),
    _rule("GET", "account/set-account-switch-precheck", 5, _TWO_SECONDS, "uid"),
    _rule("POST", "account/set-position-mode", 5, _TWO_SECONDS, "uid"),
    _rule("POST", "account/set-account-level", 5, _TWO_SECONDS, "uid"),
    _rule("POST", "account/set-leverage", 20, _TWO_SECONDS, "uid"),
    _rule("POST", "account/position/margin-balance", 20, _TWO_SECONDS, "uid"),
    # funding account, per uid
    _rule("GET", "asset/balances", 6, _SECOND, "uid"),
    _rule("GET", "asset/currencies", 6, _SECOND, "uid"),
    _rule("GET", "asset/bills", 6, _SECOND, "uid"),
    _rule("GET", "asset/bills-history", 1, _SECOND, "uid"),
    _rule("GET", "asset/deposit-history", 6, _SECOND, "uid"),
    _rule("GET", "asset/withdrawal-history", 6, _SECOND, "uid"),
    _rule("GET", "asset/deposit-withdraw-status", 1, _TWO_SECONDS, "uid"),
    _rule("GET", "asset/deposit-address", 6, _SECOND, "uid"),
    _rule("POST", "asset/transfer", 2, _SECOND, "uid+ccy"),
    _rule("GET", "asset/transfer-state", 10, _SECOND, "uid"),  # docs "Get funds transfer state"
    _rule("POST", "asset/withdrawal", 6, _SECOND, "uid"),
    # a master account's sub-accounts (docs "Sub-account" section)
    _rule("GET", "users/subaccount/list", 2, _TWO_SECONDS, "uid"),
    _rule("POST", "users/subaccount/create-subaccount", 1, _SECOND, "uid"),
    _rule("POST", "users/subaccount/set-transfer-out", 1, _SECOND, "uid"),
    _rule("GET", "account/subaccount/balances", 6, _TWO_SECONDS, "uid"),
    _rule("GET", "asset/subaccount/balances", 6, _TWO_SECONDS, "uid"),
    _rule("GET", "asset/subaccount/bills", 6, _SECOND, "uid"),
    _rule("POST", "asset/subaccount/transfer", 1, _SECOND, "uid"),
    _rule("GET", "users/entrust-subaccount-list", 1, _SECOND, "uid"),
    # order entry, per uid + instrument (options: + instrument family)
    _rule("POST", "trade/order", 60, _TWO_SECONDS, "uid+instId"),
    _rule("POST", "trade/batch-orders", 300, _TWO_SECONDS, "uid+instId", orders=True),
    _rule("POST", "trade/cancel-order", 60, _TWO_SECONDS, "uid+instId"),
    _rule("POST", "trade/cancel-batch-orders", 300, _TWO_SECONDS, "uid+instId", orders=True),
    _rule("POST", "trade/amend-order", 60, _TWO_SECONDS, "uid+instId"),
    _rule("POST", "trade/amend-batch-orders", 300, _TWO_SECONDS, "uid+instId", orders=True),
    _rule("POST", "trade/close-position", 20, _TWO_SECONDS, "uid+instId"),
    _rule("POST", "trade/order-algo", 20, _TWO_SECONDS, "uid+instId"),
    _rule("POST", "trade/cancel-algos", 20, _TWO_SECONDS, "uid+instId"),
    _rule("POST", "trade/amend-algos", 20, _TWO_SECONDS, "uid+instId"),
    _rule("GET", "trade/order", 60, _TWO_SECONDS, "uid+instId"),
    # order queries and account-wide trading, per uid
    _rule("GET", "trade/orders-pending", 60, _TWO_SECONDS, "uid"),
    _rule("GET", "trade/orders-history", 40, _TWO_SECONDS, "uid"),
    _rule("GET", "trade/orders-history-archive", 20, _TWO_SECONDS, "uid"),
    _rule("GET", "trade/fills", 60, _TWO_SECONDS, "uid"),
    _rule("GET", "trade/fills-history", 10, _TWO_SECONDS, "uid"),
    _rule("GET", "trade/order-algo", 20, _TWO_SECONDS, "uid"),
    _rule("GET", "trade/orders-algo-pending", 20, _TWO_SECONDS, "uid"),
    _rule("GET", "trade/orders-algo-history", 20, _TWO_SECONDS, "uid"),
    _rule("POST", "trade/mass-cancel", 5, _TWO_SECONDS, "uid"),
    _rule("POST", "trade/cancel-all-after", 1, _SECOND, "uid+tag"),
    _rule("GET", "trade/account-rate-limit", 1, _SECOND, "uid"),
    # sub-account keys
    _rule("POST", "users/subaccount/apikey", 1, _SECOND, "uid"),
    _rule("GET", "users/subaccount/apikey", 20, _TWO_SECONDS, "uid"),
    _rule("POST", "users/subaccount/modify-apikey", 1, _SECOND, "uid"),
    _rule("POST", "users/subaccount/delete-apikey", 1, _SECOND, "uid"),
)

TABLE: Mapping[str, Limit] = {limit.name: limit for limit in _TABLE}

# The strictest rule OKX documents (fewest requests per second; system/status: 1 per 5 s). An endpoint
# the table does not list gets it, in a bucket of its own, so an unknown call slows down rather than
# risking a 50011 on a budget we do not know.
STRICTEST: Limit = min(_TABLE, key=lambda limit: limit.capacity / limit.window_ms)

# The sub-account order-rate limit (reference §4.1, 50061): new and amended orders, each order of a
# batch counted, REST and WebSocket together, in parallel with the per-instrument rules.
SUB_ACCOUNT_ORDERS = Limit("sub-account orders", 1000, _TWO_SECONDS, "uid", counts_orders=True)
_FEEDS_SUB_ACCOUNT = frozenset(
    {
        "POST /api/v5/trade/order",
        "POST /api/v5/trade/batch-orders",
        "POST /api/v5/trade/amend-order",
        "POST /api/v5/trade/amend-batch-orders",
    }
)
# OKX's rate-limit docs, fill-ratio section [DOCS 01/21]: "Block trading, spread trading, MMP and
# spot/margin orders are exempted from the sub-account rate limit." Spot and margin orders are the ones
# on spot instIds (BASE-QUOTE); SWAP / FUTURES / OPTION orders are counted. Block and spread trading
# have endpoints of their own (not in the table); MMP orders (options only) are still counted here,
# which is stricter than OKX, never looser.
SUB_ACCOUNT_EXEMPT_INST_TYPES = frozenset({"SPOT", "MARGIN"})

# OKX rule: a batch holding one order is charged as the single-order request.
SINGLE_OF_BATCH: Mapping[str, str] = {
    "POST /api/v5/trade/batch-orders": "POST /api/v5/trade/order",
    "POST /api/v5/trade/cancel-batch-orders": "POST /api/v5/trade/cancel-order",
    "POST /api/v5/trade/amend-batch-orders": "POST /api/v5/trade/amend-order",
}
BATCH_OF_SINGLE: Mapping[str, str] = {single: batch for batch, single in SINGLE_OF_BATCH.items()}

# WebSocket connections: 3 per second per IP; the path is the connection URL's path.
WS_CONNECT = Limit("WS connect", 3, _SECOND, "ip")
# subscribe + unsubscribe + login messages: 480 per hour on each connection (counted per message).
# Kept by the connection itself (`ws_budget.ConnectionBudget`): no other process shares the bucket.
WS_SUBSCRIBE_LOGIN = Limit("WS subscribe/unsubscribe/login", 480, 3_600_000, "connection")
WS_BUDGETED_OPS = frozenset({"subscribe", "unsubscribe", "login"})

# WebSocket order operations and the REST endpoint whose buckets they share (reference §5.7).
_WS_OPS: Mapping[str, str] = {
    "order": "/api/v5/trade/order",
    "batch-orders": "/api/v5/trade/batch-orders",
    "cancel-order": "/api/v5/trade/cancel-order",
    "batch-cancel-orders": "/api/v5/trade/cancel-batch-orders",
    "amend-order": "/api/v5/trade/amend-order",
    "batch-amend-orders": "/api/v5/trade/amend-batch-orders",
    "mass-cancel": "/api/v5/trade/mass-cancel",
}

_PUBLIC_PREFIXES = ("/api/v5/public/", "/api/v5/market/", "/api/v5/system/")
_UNLISTED: dict[str, Limit] = {}  # one strictest-rule Limit per unlisted endpoint, made once

# The bucket of a uid-keyed rule when the caller does not know its uid yet: one shared bucket, which
# can only be stricter than OKX (it over-shares), never looser.
UNKNOWN_UID = "?"


def inst_type_of(inst_id: str) -> str:
    """The instType an instId names by OKX's formats (reference §3): "SPOT" for BASE-QUOTE (margin
    orders use the same ids), "SWAP" (…-SWAP), "FUTURES" (…-YYMMDD), "OPTION" (…-YYMMDD-STRIKE-C|P),
    or "" when the id has none of these shapes."""
    parts = inst_id.split("-")
    if not all(parts):
        return ""
    if len(parts) == 2:
        return "SPOT"
    if len(parts) == 3:
        if parts[2] == "SWAP":
            return "SWAP"
        if len(parts[2]) == 6 and parts[2].isdigit():
            return "FUTURES"
    if len(parts) == 5 and parts[4] in ("C", "P") and parts[2].isdigit():
        return "OPTION"
    return ""


def counts_toward_sub_account(inst_id: str) -> bool:
    """Whether an order on `inst_id` uses the sub-account budget (an id of unknown shape does)."""
    return inst_type_of(inst_id) not in SUB_ACCOUNT_EXEMPT_INST_TYPES


def instrument_key(inst_id: str) -> str:
    """The per-instrument part of an order bucket: the instId, or for options the instrument family
    (BTC-USD of BTC-USD-220325-194000-P), since OKX limits options per family."""
    if inst_type_of(inst_id) == "OPTION":
        return "-".join(inst_id.split("-")[:2])
    return inst_id


def normalize_path(path: str) -> str:
    """`/api/v5/trade/order` from `trade/order`, `/api/v5/trade/order?x=1` or a full path."""
    path = path.split("?", 1)[0]
    if path.startswith("/ws/"):
        return path
    if not path.startswith("/"):
        path = "/api/v5/" + path
    return path


def ws_op_path(op: str) -> str:
    """The REST path whose buckets a WebSocket order op (`order`, `batch-orders`, ...) consumes."""
    try:
        return _WS_OPS[op]
    except KeyError:
        raise ValueError(
            f"{op!r} is not a WebSocket order operation; expected one of {', '.join(sorted(_WS_OPS))}"
        ) from None


def limit_of(method: str, path: str) -> Limit:
    """The rule of one endpoint; an endpoint OKX's table does not list gets `STRICTEST`, keyed by IP
    for public paths and by uid otherwise, in a bucket of its own."""
    path = normalize_path(path)
    if path.startswith("/ws/"):
        return WS_CONNECT
    name = f"{method.upper()} {path}"
    limit = TABLE.get(name)
    if limit is not None:
        return limit
    limit = _UNLISTED.get(name)
    if limit is None:
        key: KeyKind = "ip" if path.startswith(_PUBLIC_PREFIXES) else "uid"
        limit = Limit(name, STRICTEST.capacity, STRICTEST.window_ms, key, documented=False)
        _UNLISTED[name] = limit
    return limit


def limits_for(method: str, path: str) -> list[Limit]:
    """Every rule a request to `method path` may consume: the endpoint's own, plus the sub-account
    order budget for place and amend (charged only for orders outside `SUB_ACCOUNT_EXEMPT_INST_TYPES`).
    For a batch endpoint this is the batch rule; `charges` swaps in the single-order rule when the
    batch holds one order."""
    limit = limit_of(method, path)
    if limit.name in _FEEDS_SUB_ACCOUNT:
        return [limit, SUB_ACCOUNT_ORDERS]
    return [limit]


def charges(
    method: str,
    path: str,
    *,
    uid: str | None,
    ip: str,
    orders_by_inst: Mapping[str, int] | None = None,
    tag: str = "",
    inst_type: str = "",
    ccy: str = "",
) -> list[Charge]:
    """The exact buckets and units one request consumes.

    `orders_by_inst` is the number of orders per instId in the request (one entry with 1 for a single
    order; per instrument for a batch); it is required for the uid+instId endpoints and ignored by the
    others except ip+instId ones. `tag` keys cancel-all-after, `inst_type` public/instruments, `ccy`
    asset/transfer. The instType of each order comes from its instId (`inst_type_of`): spot and
    margin orders are not charged to the sub-account budget.
    """
    method = method.upper()
    path = normalize_path(path)
    orders = {inst: n for inst, n in (orders_by_inst or {}).items() if n > 0}
    total = sum(orders.values())
    limit = limit_of(method, path)
    if limit.name in SINGLE_OF_BATCH and total == 1:
        limit = TABLE[SINGLE_OF_BATCH[limit.name]]
    account = uid if uid else UNKNOWN_UID
    result: list[Charge] = []
    if limit.key == "uid+instId":
        # an order op without an instrument cannot be split; "" is a bucket of its own
        per_key: dict[str, int] = {}
        for inst, n in orders.items():
            key = instrument_key(inst)
            per_key[key] = per_key.get(key, 0) + n
        for key, n in sorted(per_key.items()) or [("", 1)]:
            result.append(Charge(limit, f"{account}|{key}", n if limit.counts_orders else 1))
    else:
        inst = next(iter(sorted(orders)), "")
        bucket = {
            "ip": ip,
            "ip+instType": f"{ip}|{inst_type}",
            "ip+instId": f"{ip}|{inst}",
            "uid": account,
            "uid+tag": f"{account}|{tag}",
            "uid+ccy": f"{account}|{ccy}",
        }[limit.key]
        result.append(Charge(limit, bucket, 1))
    if limit.name in _FEEDS_SUB_ACCOUNT:
        counted = sum(n for inst, n in orders.items() if counts_toward_sub_account(inst))
        if not orders:
            counted = 1  # an order with no instId at all: its type is unknown, so it is counted
        if counted:
            result.append(Charge(SUB_ACCOUNT_ORDERS, account, counted))
    return result


def request_shape(params: object) -> tuple[dict[str, int], str, str, str]:
    """(orders_by_inst, tag, inst_type, ccy) of a request body or query as ccxt sends it: a dict for
    one order or query, a list of dicts for a batch."""
    items = params if isinstance(params, list) else [params]
    orders: dict[str, int] = {}
    tag = ""
    inst_type = ""
    ccy = ""
    for item in items:
        if not isinstance(item, Mapping):
            continue
        inst = item.get("instId")
        if inst:
            orders[str(inst)] = orders.get(str(inst), 0) + 1
        tag = tag or str(item.get("tag") or "")
        inst_type = inst_type or str(item.get("instType") or "")
        ccy = ccy or str(item.get("ccy") or "")
    return orders, tag, inst_type, ccy
