"""The client's table of OKX's documented limits (reference §4.1-4.2) and how a request is charged."""

from __future__ import annotations

import pytest

from okxbot.okx.limits import (
    STRICTEST,
    SUB_ACCOUNT_EXEMPT_INST_TYPES,
    SUB_ACCOUNT_ORDERS,
    TABLE,
    charges,
    inst_type_of,
    limit_of,
    limits_for,
    request_shape,
    ws_op_path,
)

# OKX's documented limits, typed in again by hand from the reference (§4.2, derivatives §2.9 and §5-6)
# and the docs pages: (method path, capacity, window ms, key, counts orders).
DOCUMENTED = [
    ("GET /api/v5/public/time", 10, 2000, "ip", False),
    ("GET /api/v5/public/instruments", 20, 2000, "ip+instType", False),
    ("GET /api/v5/public/mark-price", 10, 2000, "ip+instId", False),
    ("GET /api/v5/public/funding-rate", 10, 2000, "ip+instId", False),
    ("GET /api/v5/public/funding-rate-history", 10, 2000, "ip+instId", False),
    ("GET /api/v5/public/open-interest", 20, 2000, "ip+instId", False),
    ("GET /api/v5/public/position-tiers", 10, 2000, "ip", False),
    ("GET /api/v5/public/price-limit", 20, 2000, "ip", False),
    ("GET /api/v5/public/convert-contract-coin", 10, 2000, "ip", False),
    ("GET /api/v5/public/underlying", 20, 2000, "ip", False),
    ("GET /api/v5/market/tickers", 20, 2000, "ip", False),
    ("GET /api/v5/market/ticker", 20, 2000, "ip", False),
    ("GET /api/v5/market/books", 40, 2000, "ip", False),
    ("GET /api/v5/market/books-full", 10, 2000, "ip", False),
    ("GET /api/v5/market/candles", 40, 2000, "ip", False),
    ("GET /api/v5/market/history-candles", 20, 2000, "ip", False),
    ("GET /api/v5/market/index-tickers", 20, 2000, "ip", False),
    ("GET /api/v5/market/trades", 100, 2000, "ip", False),
    ("GET /api/v5/market/history-trades", 20, 2000, "ip", False),
    ("GET /api/v5/market/mark-price-candles", 20, 2000, "ip", False),
    ("GET /api/v5/market/history-mark-price-candles", 20, 2000, "ip", False),
    ("GET /api/v5/market/index-candles", 20, 2000, "ip", False),
    ("GET /api/v5/market/history-index-candles", 10, 2000, "ip", False),
    ("GET /api/v5/system/status", 1, 5000, "ip", False),
    ("GET /api/v5/account/balance", 10, 2000, "uid", False),
    ("GET /api/v5/account/positions", 10, 2000, "uid", False),
    ("GET /api/v5/account/positions-history", 10, 2000, "uid", False),
    ("GET /api/v5/account/config", 5, 2000, "uid", False),
    ("GET /api/v5/account/bills", 5, 1000, "uid", False),
    ("GET /api/v5/account/bills-archive", 5, 2000, "uid", False),
    ("GET /api/v5/account/trade-fee", 5, 2000, "uid", False),
    ("GET /api/v5/account/leverage-info", 20, 2000, "uid", False),
    ("GET /api/v5/account/max-size", 20, 2000, "uid", False),
    ("GET /api/v5/account/max-avail-size", 20, 2000, "uid", False),
    ("GET /api/v5/account/set-account-switch-precheck", 5, 2000, "uid", False),
    ("POST /api/v5/account/set-position-mode", 5, 2000, "uid", False),
    ("POST /api/v5/account/set-account-level", 5, 2000, "uid", False),
    ("POST /api/v5/account/set-leverage", 20, 2000, "uid", False),
    ("POST /api/v5/account/position/margin-balance", 20, 2000, "uid", False),
    ("GET /api/v5/asset/balances", 6, 1000, "uid", False),
    ("GET /api/v5/asset/currencies", 6, 1000, "uid", False),
    ("GET /api/v5/asset/bills", 6, 1000, "uid", False),
    ("GET /api/v5/asset/bills-history", 1, 1000, "uid", False),
    ("GET /api/v5/asset/deposit-history", 6, 1000, "uid", False),
    ("GET /api/v5/asset/withdrawal-history", 6, 1000, "uid", False),
    ("GET /api/v5/asset/deposit-withdraw-status", 1, 2000, "uid", False),
    ("GET /api/v5/asset/deposit-address", 6, 1000, "uid", False),
    ("POST /api/v5/asset/transfer", 2, 1000, "uid+ccy", False),
    ("GET /api/v5/asset/transfer-state", 10, 1000, "uid", False),
    ("POST /api/v5/asset/withdrawal", 6, 1000, "uid", False),
    ("POST /api/v5/trade/order", 60, 2000, "uid+instId", False),
    ("POST /api/v5/trade/batch-orders", 300, 2000, "uid+instId", True),
    ("POST /api/v5/trade/cancel-order", 60, 2000, "uid+instId", False),
    ("POST /api/v5/trade/cancel-batch-orders", 300, 2000, "uid+instId", True),
    ("POST /api/v5/trade/amend-order", 60, 2000, "uid+instId", False),
    ("POST /api/v5/trade/amend-batch-orders", 300, 2000, "uid+instId", True),
    ("POST /api/v5/trade/close-position", 20, 2000, "uid+instId", False),
    ("POST /api/v5/trade/order-algo", 20, 2000, "uid+instId", False),
    ("POST /api/v5/trade/cancel-algos", 20, 2000, "uid+instId", False),
    ("POST /api/v5/trade/amend-algos", 20, 2000, "uid+instId", False),
    ("GET /api/v5/trade/order", 60, 2000, "uid+instId", False),
    ("GET /api/v5/trade/orders-pending", 60, 2000, "uid", False),
    ("GET /api/v5/trade/orders-history", 40, 2000, "uid", False),
    ("GET /api/v5/trade/orders-history-archive", 20, 2000, "uid", False),
    ("GET /api/v5/trade/fills", 60, 2000, "uid", False),
    ("GET /api/v5/trade/fills-history", 10, 2000, "uid", False),
    ("GET /api/v5/trade/order-algo", 20, 2000, "uid", False),
    ("GET /api/v5/trade/orders-algo-pending", 20, 2000, "uid", False),
    ("GET /api/v5/trade/orders-algo-history", 20, 2000, "uid", False),
    ("POST /api/v5/trade/mass-cancel", 5, 2000, "uid", False),
    ("POST /api/v5/trade/cancel-all-after", 1, 1000, "uid+tag", False),
    ("GET /api/v5/trade/account-rate-limit", 1, 1000, "uid", False),
    ("POST /api/v5/users/subaccount/apikey", 1, 1000, "uid", False),
    ("GET /api/v5/users/subaccount/apikey", 20, 2000, "uid", False),
    ("POST /api/v5/users/subaccount/modify-apikey", 1, 1000, "uid", False),
    ("POST /api/v5/users/subaccount/delete-apikey", 1, 1000, "uid", False),
    ("GET /api/v5/users/subaccount/list", 2, 2000, "uid", False),
    ("POST /api/v5/users/subaccount/create-subaccount", 1, 1000, "uid", False),
    ("POST /api/v5/users/subaccount/set-transfer-out", 1, 1000, "uid", False),
    ("GET /api/v5/account/subaccount/balances", 6, 2000, "uid", False),
    ("GET /api/v5/asset/subaccount/balances", 6, 2000, "uid", False),
    ("GET /api/v5/asset/subaccount/bills", 6, 1000, "uid", False),
    ("POST /api/v5/asset/subaccount/transfer", 1, 1000, "uid", False),
    ("GET /api/v5/users/entrust-subaccount-list", 1, 1000, "uid", False),
]


@pytest.mark.parametrize(("name", "capacity", "window_ms", "key", "orders"), DOCUMENTED)
def test_every_documented_endpoint_has_its_documented_limit(
    name: str, capacity: int, window_ms: int, key: str, orders: bool
) -> None:
    method, path = name.split(" ")
    limit = limit_of(method, path)
    assert (limit.name, limit.capacity, limit.window_ms, limit.key, limit.counts_orders) == (
        name,
        capacity,
        window_ms,
        key,
        orders,
    )


def test_the_table_holds_exactly_the_documented_endpoints() -> None:
    assert set(TABLE) == {row[0] for row in DOCUMENTED}


def test_ccxt_style_relative_paths_and_queries_find_the_same_rule() -> None:
    assert limit_of("get", "trade/order?instId=BTC-USDT") is TABLE["GET /api/v5/trade/order"]
    assert limit_of("POST", "trade/order") is TABLE["POST /api/v5/trade/order"]


def test_place_and_amend_may_consume_the_sub_account_order_budget() -> None:
    for path in ("trade/order", "trade/batch-orders", "trade/amend-order", "trade/amend-batch-orders"):
        assert SUB_ACCOUNT_ORDERS in limits_for("POST", path), path
    for path in ("trade/cancel-order", "trade/cancel-batch-orders", "trade/mass-cancel"):
        assert SUB_ACCOUNT_ORDERS not in limits_for("POST", path), path
    assert (SUB_ACCOUNT_ORDERS.capacity, SUB_ACCOUNT_ORDERS.window_ms) == (1000, 2000)


def _sub_account_units(path: str, orders: dict[str, int]) -> int:
    plan = charges("POST", path, uid="42", ip="x", orders_by_inst=orders)
    return sum(c.units for c in plan if c.limit is SUB_ACCOUNT_ORDERS)


@pytest.mark.parametrize(
    "path", ["trade/order", "trade/batch-orders", "trade/amend-order", "trade/amend-batch-orders"]
)
def test_spot_orders_are_exempt_from_the_sub_account_budget(path: str) -> None:
    # OKX: "Block trading, spread trading, MMP and spot/margin orders are exempted from the
    # sub-account rate limit." A spot order still uses its own instrument's bucket.
    n = 1 if "batch" not in path else 5
    assert _sub_account_units(path, {"BTC-USDT": n}) == 0
    assert SUB_ACCOUNT_EXEMPT_INST_TYPES == {"SPOT", "MARGIN"}
    plan = charges("POST", path, uid="42", ip="x", orders_by_inst={"BTC-USDT": n})
    assert [c.bucket for c in plan] == ["42|BTC-USDT"]


@pytest.mark.parametrize(
    "path", ["trade/order", "trade/batch-orders", "trade/amend-order", "trade/amend-batch-orders"]
)
@pytest.mark.parametrize(
    "inst", ["BTC-USDT-SWAP", "BTC-USD-SWAP", "BTC-USD-250328", "BTC-USD-250328-90000-C"]
)
def test_derivatives_orders_are_charged_to_the_sub_account_budget(path: str, inst: str) -> None:
    n = 1 if "batch" not in path else 5
    assert _sub_account_units(path, {inst: n}) == n


def test_a_mixed_batch_counts_only_its_derivatives_orders_in_the_sub_account_budget() -> None:
    plan = charges(
        "POST",
        "/api/v5/trade/batch-orders",
        uid="42",
        ip="x",
        orders_by_inst={"BTC-USDT": 3, "ETH-USDT-SWAP": 2, "SOL-USDT-SWAP": 4},
    )
    got = {(c.limit.name, c.bucket, c.units) for c in plan}
    assert got == {
        ("POST /api/v5/trade/batch-orders", "42|BTC-USDT", 3),
        ("POST /api/v5/trade/batch-orders", "42|ETH-USDT-SWAP", 2),
        ("POST /api/v5/trade/batch-orders", "42|SOL-USDT-SWAP", 4),
        ("sub-account orders", "42", 6),
    }


def test_an_order_of_unknown_instrument_type_is_counted_in_the_sub_account_budget() -> None:
    # stricter than OKX rather than looser: an id of no known shape might be a derivative
    assert _sub_account_units("trade/order", {"WEIRD": 1}) == 1
    assert _sub_account_units("trade/order", {}) == 1


def test_inst_types_are_read_from_okx_instrument_ids() -> None:
    assert inst_type_of("BTC-USDT") == "SPOT"
    assert inst_type_of("BTC-USDT-SWAP") == "SWAP"
    assert inst_type_of("BTC-USD-200927") == "FUTURES"
    assert inst_type_of("BTC-USD-220325-194000-P") == "OPTION"
    assert inst_type_of("") == inst_type_of("BTC--USDT") == inst_type_of("A-B-C") == ""


def test_options_are_limited_per_instrument_family() -> None:
    # OKX: "Rate limits for Options are defined based on the Instrument Family level."
    plan = charges(
        "POST",
        "trade/batch-orders",
        uid="42",
        ip="x",
        orders_by_inst={"BTC-USD-250328-90000-C": 2, "BTC-USD-250328-95000-P": 3},
    )
    assert (plan[0].bucket, plan[0].units) == ("42|BTC-USD", 5)


def test_the_batch_bucket_is_independent_of_the_single_order_bucket() -> None:
    single = charges("POST", "trade/order", uid="42", ip="x", orders_by_inst={"BTC-USDT": 1})[0]
    batch = charges("POST", "trade/batch-orders", uid="42", ip="x", orders_by_inst={"BTC-USDT": 2})[0]
    assert (single.limit.name, single.limit.capacity) == ("POST /api/v5/trade/order", 60)
    assert (batch.limit.name, batch.limit.capacity) == ("POST /api/v5/trade/batch-orders", 300)
    assert single.bucket == batch.bucket == "42|BTC-USDT"  # same key, different rules: two buckets


def test_a_batch_cancel_counts_orders_but_not_in_the_sub_account_budget() -> None:
    plan = charges("POST", "trade/cancel-batch-orders", uid="42", ip="x", orders_by_inst={"BTC-USDT-SWAP": 4})
    assert [(c.limit.name, c.bucket, c.units) for c in plan] == [
        ("POST /api/v5/trade/cancel-batch-orders", "42|BTC-USDT-SWAP", 4)
    ]


@pytest.mark.parametrize(
    ("batch", "single"),
    [
        ("trade/batch-orders", "POST /api/v5/trade/order"),
        ("trade/cancel-batch-orders", "POST /api/v5/trade/cancel-order"),
        ("trade/amend-batch-orders", "POST /api/v5/trade/amend-order"),
    ],
)
def test_a_batch_of_one_order_is_charged_as_a_single_order(batch: str, single: str) -> None:
    plan = charges("POST", batch, uid="42", ip="x", orders_by_inst={"BTC-USDT": 1})
    assert plan[0].limit.name == single
    assert (plan[0].bucket, plan[0].units) == ("42|BTC-USDT", 1)


def test_instruments_and_accounts_get_separate_buckets() -> None:
    def bucket(uid: str, inst: str) -> str:
        return charges("POST", "trade/order", uid=uid, ip="x", orders_by_inst={inst: 1})[0].bucket

    assert len({bucket("1", "BTC-USDT"), bucket("1", "ETH-USDT"), bucket("2", "BTC-USDT")}) == 3
    # a single order counts 1 even if a caller says otherwise: single endpoints count requests
    assert charges("POST", "trade/order", uid="1", ip="x", orders_by_inst={"BTC-USDT": 1})[0].units == 1


def test_public_endpoints_are_keyed_by_ip_and_instruments_by_inst_type() -> None:
    a = charges("GET", "public/instruments", uid="1", ip="10.0.0.1", inst_type="SPOT")[0]
    b = charges("GET", "public/instruments", uid="2", ip="10.0.0.1", inst_type="SWAP")[0]
    c = charges("GET", "market/tickers", uid="1", ip="10.0.0.1")[0]
    d = charges("GET", "market/tickers", uid="2", ip="10.0.0.1")[0]
    assert a.bucket != b.bucket
    assert c.bucket == d.bucket == "10.0.0.1"


def test_cancel_all_after_is_keyed_by_uid_and_tag() -> None:
    a = charges("POST", "trade/cancel-all-after", uid="1", ip="x", tag="botA")[0]
    b = charges("POST", "trade/cancel-all-after", uid="1", ip="x", tag="botB")[0]
    assert (a.bucket, b.bucket) == ("1|botA", "1|botB")


def test_websocket_order_ops_share_the_rest_buckets() -> None:
    rest = charges("POST", "trade/order", uid="1", ip="x", orders_by_inst={"BTC-USDT": 1})
    ws = charges("POST", ws_op_path("order"), uid="1", ip="x", orders_by_inst={"BTC-USDT": 1})
    assert rest == ws
    assert ws_op_path("batch-cancel-orders") == "/api/v5/trade/cancel-batch-orders"
    # the instType of a WS op's orders decides the sub-account budget, as for REST
    amend = ws_op_path("batch-amend-orders")
    spot = charges("POST", amend, uid="1", ip="x", orders_by_inst={"BTC-USDT": 3})
    swap = charges("POST", amend, uid="1", ip="x", orders_by_inst={"BTC-USDT-SWAP": 3})
    assert [c.limit.name for c in spot] == ["POST /api/v5/trade/amend-batch-orders"]
    assert [(c.limit.name, c.units) for c in swap][-1] == ("sub-account orders", 3)
    with pytest.raises(ValueError, match=r"not a WebSocket order operation.*amend-order"):
        ws_op_path("subscribe")


def test_websocket_connections_are_limited_per_ip() -> None:
    limit = limit_of("GET", "/ws/v5/private")
    assert (limit.capacity, limit.window_ms, limit.key) == (3, 1000, "ip")


def test_an_unlisted_endpoint_gets_the_strictest_documented_rule_in_its_own_bucket() -> None:
    slowest = min(DOCUMENTED, key=lambda row: row[1] / row[2])
    assert (STRICTEST.capacity, STRICTEST.window_ms) == (slowest[1], slowest[2]) == (1, 5000)
    public = limit_of("GET", "/api/v5/public/insurance-fund")
    private = limit_of("GET", "/api/v5/account/interest-accrued")
    for limit in (public, private):
        assert (limit.capacity, limit.window_ms, limit.documented) == (1, 5000, False)
        # no documented rule is stricter than the one an unknown endpoint gets
        assert all(limit.capacity / limit.window_ms <= row[1] / row[2] for row in DOCUMENTED)
    assert (public.key, private.key) == ("ip", "uid")
    other = limit_of("GET", "/api/v5/account/interest-rate")
    assert other.name != private.name  # each unknown endpoint has its own bucket, as OKX's have


def test_public_instrument_keyed_and_currency_keyed_rules() -> None:
    a = charges("GET", "public/mark-price", uid=None, ip="1.2.3.4", orders_by_inst={"BTC-USDT-SWAP": 1})[0]
    b = charges("GET", "public/funding-rate", uid=None, ip="1.2.3.4", orders_by_inst={"ETH-USDT-SWAP": 1})[0]
    assert (a.bucket, b.bucket) == ("1.2.3.4|BTC-USDT-SWAP", "1.2.3.4|ETH-USDT-SWAP")
    usdt = charges("POST", "asset/transfer", uid="7", ip="x", ccy="USDT")[0]
    btc = charges("POST", "asset/transfer", uid="7", ip="x", ccy="BTC")[0]
    assert (usdt.bucket, btc.bucket, usdt.limit.capacity, usdt.limit.window_ms) == (
        "7|USDT",
        "7|BTC",
        2,
        1000,
    )


def test_request_shape_reads_ccxt_params() -> None:
    batch = [{"instId": "BTC-USDT", "sz": "1"}, {"instId": "BTC-USDT"}, {"instId": "ETH-USDT"}]
    assert request_shape(batch) == ({"BTC-USDT": 2, "ETH-USDT": 1}, "", "", "")
    assert request_shape({"instType": "SPOT"}) == ({}, "", "SPOT", "")
    assert request_shape({"timeOut": "60", "tag": "bot1"}) == ({}, "bot1", "", "")
    assert request_shape({"ccy": "USDT", "amt": "1", "from": "6", "to": "18"}) == ({}, "", "", "USDT")
    assert request_shape(None) == ({}, "", "", "")


def test_the_simulators_independent_twin_agrees_on_every_endpoint_it_lists() -> None:
    from okxbot.sim import limits as sim_limits

    keys = {
        "ip": "ip",
        "ip_insttype": "ip+instType",
        "ip_inst": "ip+instId",
        "uid": "uid",
        "uid_inst": "uid+instId",
        "uid_tag": "uid+tag",
        "uid_ccy": "uid+ccy",
    }
    for name, rule in sim_limits.TABLE.items():
        ours = TABLE[name]
        assert (ours.capacity, ours.window_ms, ours.key, ours.counts_orders) == (
            rule.capacity,
            rule.window_ms,
            keys[rule.key],
            rule.counts_orders,
        ), name
    assert (sim_limits.STRICTEST.capacity, sim_limits.STRICTEST.window_ms) == (
        STRICTEST.capacity,
        STRICTEST.window_ms,
    )
    assert sim_limits.ACCOUNT_ORDER_EXEMPT == SUB_ACCOUNT_EXEMPT_INST_TYPES
    for inst in ("BTC-USDT", "BTC-USDT-SWAP", "BTC-USD-200927", "BTC-USD-220325-194000-P", "X", ""):
        assert sim_limits.instrument_type(inst) == inst_type_of(inst), inst
