"""The /private socket: orders and account pushes, and order entry ops sharing REST's rate limits."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from okxbot.sim.server import RunningSim
from tests.sim.book_driver import BookDriver, quiet_simulator
from tests.sim.okx_http import signed
from tests.sim.ws_client import Conn


@pytest.fixture(scope="module")
def quiet_sim() -> Iterator[RunningSim]:
    with quiet_simulator(seed=9, connections_per_second=1000) as sim:
        yield sim


@pytest.fixture(scope="module")
def driver(quiet_sim: RunningSim) -> BookDriver:
    book_driver = BookDriver(quiet_sim, seed=23)
    book_driver.fill(400)
    return book_driver


@pytest.fixture
async def private(quiet_sim: RunningSim) -> AsyncIterator[Conn]:
    quiet_sim.admin("POST", "/__sim__/reset-limits")
    conn = await Conn.open(quiet_sim.ws + "/private")
    assert (await conn.login(quiet_sim.keys[0]))["code"] == "0"
    await conn.send(
        {
            "id": "sub",
            "op": "subscribe",
            "args": [{"channel": "orders", "instType": "SPOT"}, {"channel": "account"}],
        }
    )
    snapshot = await conn.push("account")
    assert snapshot["eventType"] == "snapshot"
    try:
        yield conn
    finally:
        await conn.close()


def best(sim: RunningSim, side: str) -> str:
    return sim.call(lambda: sim.ctx.exchange.books("BTC-USDT", 1))[side][0][0]


async def test_rest_order_lifecycle_on_orders_and_account(
    private: Conn, quiet_sim: RunningSim, driver: BookDriver
) -> None:
    key = quiet_sim.keys[0]
    px = str(round(float(best(quiet_sim, "asks")) - 0.1, 1))
    body = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "px": px, "sz": "0.02"}
    placed = signed(quiet_sim.rest, key, "POST", "/api/v5/trade/order", json.dumps(body).encode()).json()
    ord_id = placed["data"][0]["ordId"]

    live = await private.push("orders")
    order = live["data"][0]
    assert live["arg"]["uid"] == key["uid"] and live["arg"]["instType"] == "SPOT"
    assert (order["ordId"], order["state"], order["fillSz"], order["accFillSz"]) == (ord_id, "live", "0", "0")
    account = await private.push("account")
    usdt = next(d for d in account["data"][0]["details"] if d["ccy"] == "USDT")
    assert account["eventType"] == "event_update"
    assert usdt["frozenBal"] == str(round(float(px) * 0.02, 4)).rstrip("0").rstrip(".")

    driver.cross("sell", "0.015")
    fill = (await private.push("orders"))["data"][0]
    assert (fill["state"], fill["fillSz"], fill["fillPx"], fill["execType"]) == (
        "partially_filled",
        "0.015",
        px,
        "M",
    )
    assert (
        fill["tradeId"]
        and fill["fillTime"]
        and fill["fillFeeCcy"] == "BTC"
        and fill["fillFee"].startswith("-")
    )
    account = await private.push("account")
    assert {d["ccy"] for d in account["data"][0]["details"]} >= {"BTC", "USDT"}

    cancel = {"instId": "BTC-USDT", "ordId": ord_id}
    signed(quiet_sim.rest, key, "POST", "/api/v5/trade/cancel-order", json.dumps(cancel).encode())
    canceled = (await private.push("orders"))["data"][0]
    assert (canceled["state"], canceled["cancelSource"], canceled["accFillSz"]) == ("canceled", "1", "0.015")


async def test_order_ops_over_the_socket(private: Conn, quiet_sim: RunningSim) -> None:
    order = {
        "instId": "BTC-USDT",
        "tdMode": "cash",
        "side": "buy",
        "ordType": "limit",
        "px": "30000",
        "sz": "0.001",
    }
    await private.send({"id": "o1", "op": "order", "args": [{**order, "clOrdId": "wsA1"}]})
    answer = await private.expect(id="o1")
    assert (answer["op"], answer["code"], answer["data"][0]["sCode"]) == ("order", "0", "0")
    assert answer["inTime"] and answer["outTime"]
    assert (await private.push("orders"))["data"][0]["clOrdId"] == "wsA1"

    bad = {**order, "sz": "0"}
    await private.send({"id": "o2", "op": "batch-orders", "args": [{**order, "clOrdId": "wsB1"}, bad]})
    answer = await private.expect(id="o2")
    assert answer["code"] == "2"
    assert [d["sCode"] for d in answer["data"]] == ["0", "51000"]

    await private.send(
        {
            "id": "o3",
            "op": "amend-order",
            "args": [{"instId": "BTC-USDT", "clOrdId": "wsA1", "newPx": "30100", "reqId": "r1"}],
        }
    )
    answer = await private.expect(id="o3")
    assert answer["code"] == "0" and answer["data"][0]["reqId"] == "r1"
    amended = await private.push("orders")
    while amended["data"][0]["px"] != "30100":
        amended = await private.push("orders")
    assert amended["data"][0]["amendResult"] == "0" and amended["data"][0]["reqId"] == "r1"

    await private.send(
        {"id": "o4", "op": "cancel-order", "args": [{"instId": "BTC-USDT", "clOrdId": "wsA1"}]}
    )
    assert (await private.expect(id="o4"))["code"] == "0"
    await private.send(
        {
            "id": "o5",
            "op": "batch-cancel-orders",
            "args": [{"instId": "BTC-USDT", "clOrdId": "wsA1"}, {"instId": "BTC-USDT", "clOrdId": "wsB1"}],
        }
    )
    answer = await private.expect(id="o5")
    assert answer["code"] == "2" and [d["sCode"] for d in answer["data"]] == ["51400", "0"]

    await private.send({"id": "o6", "op": "order", "args": [{**order, "clOrdId": "wsC1"}]})
    assert (await private.expect(id="o6"))["code"] == "0"
    await private.send(
        {"id": "o7", "op": "mass-cancel", "args": [{"instType": "SPOT", "instFamily": "BTC-USDT"}]}
    )
    answer = await private.expect(id="o7")
    assert answer["code"] == "0" and answer["data"] == [{"result": True}]
    pending = signed(quiet_sim.rest, quiet_sim.keys[0], "GET", "/api/v5/trade/orders-pending").json()["data"]
    assert pending == []


async def test_malformed_and_expired_ops(private: Conn, quiet_sim: RunningSim) -> None:
    order = {
        "instId": "BTC-USDT",
        "tdMode": "cash",
        "side": "buy",
        "ordType": "limit",
        "px": "30000",
        "sz": "0.001",
    }
    await private.send({"op": "order", "args": [order]})  # no id
    assert (await private.recv())["code"] == "60013"
    await private.send({"id": "m2", "op": "order", "args": [order, order]})  # two orders in a single op
    assert (await private.expect(id="m2"))["code"] == "60013"
    expired = str(int(time.time() * 1000) - 1000)
    await private.send({"id": "m3", "op": "order", "expTime": expired, "args": [order]})
    answer = await private.expect(id="m3")
    assert answer["code"] == "1" and answer["data"][0]["sCode"] == "50102"


async def test_ops_need_login(quiet_sim: RunningSim) -> None:
    async with await Conn.open(quiet_sim.ws + "/private") as conn:
        await conn.send({"id": "x", "op": "order", "args": [{"instId": "BTC-USDT"}]})
        error = await conn.recv()
        assert (error["event"], error["code"], error["id"]) == ("error", "60011", "x")


async def test_ws_orders_share_the_rest_bucket(private: Conn, quiet_sim: RunningSim) -> None:
    key = quiet_sim.keys[0]
    # Refused orders still count: OKX charges the request before looking at it. 60 per 2 s per
    # account and instrument: 59 over the socket (sent back to back), the 60th over REST.
    bad = {"instId": "ETH-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "px": "1000", "sz": "0"}
    for i in range(59):
        await private.send({"id": f"r{i}", "op": "order", "args": [bad]})
    for i in range(59):
        assert (await private.expect(id=f"r{i}"))["data"][0]["sCode"] == "51000"
    body = json.dumps(bad).encode()
    assert (
        signed(quiet_sim.rest, key, "POST", "/api/v5/trade/order", body).json()["data"][0]["sCode"] == "51000"
    )
    assert signed(quiet_sim.rest, key, "POST", "/api/v5/trade/order", body).status_code == 429
    await private.send({"id": "r61", "op": "order", "args": [bad]})
    limited = await private.expect(id="r61")
    assert limited["code"] == "50011" and limited["data"] == []
    # Other instruments have their own bucket.
    await private.send({"id": "r62", "op": "order", "args": [{**bad, "instId": "SOL-USDT"}]})
    assert (await private.expect(id="r62"))["data"][0]["sCode"] == "51000"
    quiet_sim.admin("POST", "/__sim__/reset-limits")
