"""The client's table of OKX's documented limits (reference §4.1-4.2) and how a request is charged."""

from __future__ import annotations

import pytest

from okxbot.okx.limits import (
    SUB_ACCOUNT_ORDERS,
    TABLE,
    charges,
    limit_of,
    limits_for,
    request_shape,
    ws_op_path,
)

# Reference §4.2, typed in again by hand: (method path, capacity, window ms, key, counts orders).
DOCUMENTED = [
    ("GET /api/v5/public/time", 10, 2000, "ip", False),
    ("GET /api/v5/public/instruments", 20, 2000, "ip+instType", False),
    ("GET /api/v5/market/tickers", 20, 2000, "ip", False),
    ("GET /api/v5/market/ticker", 20, 2000, "ip", False),
    ("GET /api/v5/market/books", 40, 2000, "ip", False),
    ("GET /api/v5/market/books-full", 10, 2000, "ip", False),
    ("GET /api/v5/market/candles", 40, 2000, "ip", False),
    ("GET /api/v5/market/history-candles", 20, 2000, "ip", False),
    ("GET /api/v5/market/trades", 100, 2000, "ip", False),
    ("GET /api/v5/account/balance", 10, 2000, "uid", False),
    ("GET /api/v5/account/positions", 10, 2000, "uid", False),
    ("GET /api/v5/account/config", 5, 2000, "uid", False),
    ("GET /api/v5/account/bills", 5, 1000, "uid", False),
    ("GET /api/v5/asset/balances", 6, 1000, "uid", False),
    ("POST /api/v5/trade/order", 60, 2000, "uid+instId", False),
    ("POST /api/v5/trade/batch-orders", 300, 2000, "uid+instId", True),
    ("POST /api/v5/trade/cancel-order", 60, 2000, "uid+instId", False),
    ("POST /api/v5/trade/cancel-batch-orders", 300, 2000, "uid+instId", True),
    ("POST /api/v5/trade/amend-order", 60, 2000, "uid+instId", False),
    ("POST /api/v5/trade/amend-batch-orders", 300, 2000, "uid+instId", True),
    ("GET /api/v5/trade/order", 60, 2000, "uid+instId", False),
    ("GET /api/v5/trade/orders-pending", 60, 2000, "uid", False),
    ("GET /api/v5/trade/orders-history", 40, 2000, "uid", False),
    ("GET /api/v5/trade/orders-history-archive", 20, 2000, "uid", False),
    ("GET /api/v5/trade/fills", 60, 2000, "uid", False),
    ("GET /api/v5/trade/fills-history", 10, 2000, "uid", False),
    ("POST /api/v5/trade/mass-cancel", 5, 2000, "uid", False),
    ("POST /api/v5/trade/cancel-all-after", 1, 1000, "uid+tag", False),
    ("GET /api/v5/trade/account-rate-limit", 1, 1000, "uid", False),
    ("POST /api/v5/users/subaccount/apikey", 1, 1000, "uid", False),
    ("GET /api/v5/users/subaccount/apikey", 20, 2000, "uid", False),
    ("POST /api/v5/users/subaccount/modify-apikey", 1, 1000, "uid", False),
    ("POST /api/v5/users/subaccount/delete-apikey", 1, 1000, "uid", False),
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


def test_ccxt_style_relative_paths_and_queries_find_the_same_rule() -> None:
    assert limit_of("get", "trade/order?instId=BTC-USDT") is TABLE["GET /api/v5/trade/order"]
    assert limit_of("POST", "trade/order") is TABLE["POST /api/v5/trade/order"]


def test_place_and_amend_also_consume_the_sub_account_order_budget() -> None:
    for path in ("trade/order", "trade/batch-orders", "trade/amend-order", "trade/amend-batch-orders"):
        assert SUB_ACCOUNT_ORDERS in limits_for("POST", path), path
    for path in ("trade/cancel-order", "trade/cancel-batch-orders", "trade/mass-cancel"):
        assert SUB_ACCOUNT_ORDERS not in limits_for("POST", path), path
    assert (SUB_ACCOUNT_ORDERS.capacity, SUB_ACCOUNT_ORDERS.window_ms) == (1000, 2000)


def test_a_batch_counts_orders_per_instrument_and_in_the_sub_account_budget() -> None:
    plan = charges(
        "POST", "/api/v5/trade/batch-orders", uid="42", ip="x", orders_by_inst={"BTC-USDT": 3, "ETH-USDT": 2}
    )
    got = {(c.limit.name, c.bucket, c.units) for c in plan}
    assert got == {
        ("POST /api/v5/trade/batch-orders", "42|BTC-USDT", 3),
        ("POST /api/v5/trade/batch-orders", "42|ETH-USDT", 2),
        ("sub-account orders", "42", 5),
    }


def test_a_batch_cancel_counts_orders_but_not_in_the_sub_account_budget() -> None:
    plan = charges("POST", "trade/cancel-batch-orders", uid="42", ip="x", orders_by_inst={"BTC-USDT": 4})
    assert [(c.limit.name, c.bucket, c.units) for c in plan] == [
        ("POST /api/v5/trade/cancel-batch-orders", "42|BTC-USDT", 4)
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
    with pytest.raises(ValueError, match=r"not a WebSocket order operation.*amend-order"):
        ws_op_path("subscribe")


def test_websocket_connections_are_limited_per_ip() -> None:
    limit = limit_of("GET", "/ws/v5/private")
    assert (limit.capacity, limit.window_ms, limit.key) == (3, 1000, "ip")


def test_unlisted_endpoints_get_a_strict_fallback_rather_than_no_limit() -> None:
    public = limit_of("GET", "/api/v5/system/status")
    private = limit_of("GET", "/api/v5/asset/currencies")
    assert (public.key, private.key) == ("ip", "uid")
    assert public.capacity / public.window_ms <= 10 / 2000
    assert private.capacity / private.window_ms <= 10 / 2000


def test_request_shape_reads_ccxt_params() -> None:
    batch = [{"instId": "BTC-USDT", "sz": "1"}, {"instId": "BTC-USDT"}, {"instId": "ETH-USDT"}]
    assert request_shape(batch) == ({"BTC-USDT": 2, "ETH-USDT": 1}, "", "")
    assert request_shape({"instType": "SPOT"}) == ({}, "", "SPOT")
    assert request_shape({"timeOut": "60", "tag": "bot1"}) == ({}, "bot1", "")
    assert request_shape(None) == ({}, "", "")
