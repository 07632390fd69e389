"""The orders-algo and algo-advance channels on /ws/v5/business (login required)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest

from okxbot.sim.server import RunningSim, start_sim
from tests.sim.algo_http import Rest, futures_key
from tests.sim.ws_client import Conn

SWAP = "BTC-USDT-SWAP"
pytestmark = pytest.mark.timeout(120)

# orders-algo push: the algo object plus the update's fields (OKX "WS / Algo orders channel").
PUSH_FIELDS = {"amendResult", "reqId", "notionalUsd", "algoId", "algoClOrdId", "state", "ordType", "instId",
               "instType", "side", "posSide", "tdMode", "sz", "slTriggerPx", "slOrdPx", "slTriggerPxType",
               "tpTriggerPx", "tpOrdPx", "tpTriggerPxType", "triggerPx", "ordPx", "actualSz", "actualPx",
               "actualSide", "triggerTime", "failCode", "ordId", "ordIdList", "last", "lever", "reduceOnly",
               "cTime", "uTime", "linkedOrd", "attachAlgoOrds", "tag", "tgtCcy", "closeFraction"}  # fmt: skip


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with start_sim(seed=13) as running:
        running.admin("POST", "/__sim__/ws-config", {"connectionsPerSecond": 1000})
        yield running


@pytest.fixture
def key(sim: RunningSim) -> dict[str, Any]:
    sim.admin("POST", "/__sim__/reset-limits")
    found = futures_key(sim)
    rest = Rest(sim, found)
    assert rest.post("trade/order", {"instId": SWAP, "tdMode": "cross", "side": "buy", "ordType": "market",
                                     "sz": "10"})["code"] == "0"  # fmt: skip
    return found


@pytest.fixture
async def business(sim: RunningSim, key: dict[str, Any]) -> AsyncIterator[Conn]:
    conn = await Conn.open(sim.ws + "/business")
    assert (await conn.login(key))["code"] == "0"
    try:
        yield conn
    finally:
        await conn.close()


async def subscribe(conn: Conn, arg: dict[str, str]) -> dict[str, Any]:
    await conn.send({"id": "s1", "op": "subscribe", "args": [arg]})
    return await conn.expect_event(("subscribe", "error"))


def stop_body(rest: Rest, factor: str, **extra: Any) -> dict[str, Any]:
    trigger = (rest.last(SWAP) * Decimal(factor)).quantize(Decimal("0.1"))
    return {"instId": SWAP, "tdMode": "cross", "side": "sell", "ordType": "conditional", "sz": "10",
            "slTriggerPx": str(trigger), "slOrdPx": "-1", "reduceOnly": True, **extra}  # fmt: skip


async def test_subscription_arguments_are_checked(sim: RunningSim, key: dict[str, Any]) -> None:
    private = await Conn.open(sim.ws + "/private")
    anonymous = await Conn.open(sim.ws + "/business")
    business = await Conn.open(sim.ws + "/business")
    try:
        assert (await private.login(key))["code"] == "0"
        wrong_url = await subscribe(private, {"channel": "orders-algo", "instType": "ANY"})
        assert (wrong_url["event"], wrong_url["code"]) == ("error", "60018")
        assert (await subscribe(anonymous, {"channel": "orders-algo", "instType": "ANY"}))["code"] == "60011"
        assert (await business.login(key))["code"] == "0"
        for bad in ({"channel": "orders-algo"}, {"channel": "orders-algo", "instType": "OPTION"},
                    {"channel": "orders-algo", "instType": "ANY", "algoId": "1"},
                    {"channel": "algo-advance", "instType": "SWAP", "instFamily": "BTC-USDT"}):  # fmt: skip
            assert (await subscribe(business, bad))["code"] == "60013", bad
        unknown = await subscribe(
            business, {"channel": "orders-algo", "instType": "SWAP", "instId": "NOPE-SWAP"}
        )
        assert unknown["code"] == "60018"
        fine = await subscribe(
            business, {"channel": "orders-algo", "instType": "SWAP", "instFamily": "BTC-USDT"}
        )
        assert fine == {"id": "s1", "event": "subscribe", "connId": fine["connId"],
                        "arg": {"channel": "orders-algo", "instType": "SWAP", "instFamily": "BTC-USDT"}}  # fmt: skip
    finally:
        for conn in (private, anonymous, business):
            await conn.close()


async def test_orders_algo_pushes_every_change_without_a_snapshot(
    sim: RunningSim, key: dict[str, Any], business: Conn
) -> None:
    rest = Rest(sim, key)
    before = rest.post("trade/order-algo", stop_body(rest, "0.8"))["data"][0]["algoId"]
    await subscribe(business, {"channel": "orders-algo", "instType": "SWAP", "instId": SWAP})
    placed = rest.post("trade/order-algo", stop_body(rest, "0.9", algoClOrdId="ws1"))["data"][0]["algoId"]
    push = await business.push("orders-algo")  # the first push is the new algo: no snapshot of `before`
    assert push["arg"] == {"channel": "orders-algo", "instType": "SWAP", "instId": SWAP, "uid": key["uid"]}
    (item,) = push["data"]
    assert PUSH_FIELDS <= set(item)
    assert (item["algoId"], item["algoClOrdId"], item["state"], item["amendResult"], item["reqId"]) == (
        placed,
        "ws1",
        "live",
        "",
        "",
    )
    assert Decimal(item["notionalUsd"]) == Decimal(10) * Decimal("0.01") * Decimal(item["last"])

    new_trigger = str((rest.last(SWAP) * Decimal("0.85")).quantize(Decimal("0.1")))
    rest.post("trade/amend-algos", {"instId": SWAP, "algoId": placed, "newSlTriggerPx": new_trigger,
                                    "newSlOrdPx": "-1", "reqId": "am1"})  # fmt: skip
    amended = (await business.push("orders-algo"))["data"][0]
    assert (amended["amendResult"], amended["reqId"]) == ("0", "am1")
    assert Decimal(amended["slTriggerPx"]) == Decimal(new_trigger)

    rest.post("trade/cancel-algos", [{"instId": SWAP, "algoId": placed}])
    canceled = (await business.push("orders-algo"))["data"][0]
    assert (canceled["algoId"], canceled["state"]) == (placed, "canceled")
    rest.post("trade/cancel-algos", [{"instId": SWAP, "algoId": before}])
    assert (await business.push("orders-algo"))["data"][0]["algoId"] == before


async def test_a_fired_stop_is_pushed_effective_with_its_order(
    sim: RunningSim, key: dict[str, Any], business: Conn
) -> None:
    rest = Rest(sim, key)
    await subscribe(business, {"channel": "orders-algo", "instType": "ANY"})
    placed = rest.post("trade/order-algo", stop_body(rest, "0.99", slTriggerPxType="index"))["data"][0][
        "algoId"
    ]
    assert (await business.push("orders-algo"))["data"][0]["state"] == "live"
    sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "movePct": "-3"})
    fired = (await business.push("orders-algo", timeout=15))["data"][0]
    assert (fired["algoId"], fired["state"], fired["actualSide"], fired["actualSz"]) == (
        placed,
        "effective",
        "sl",
        "10",
    )
    order = rest.get("trade/order", instId=SWAP, ordId=fired["ordId"])["data"][0]
    assert (order["algoId"], order["source"], order["side"]) == (placed, "7", "sell")


async def test_algo_advance_snapshot_then_pushes(
    sim: RunningSim, key: dict[str, Any], business: Conn
) -> None:
    rest = Rest(sim, key)
    trail = {"instId": SWAP, "tdMode": "cross", "side": "sell", "ordType": "move_order_stop", "sz": "10",
             "callbackRatio": "0.05", "reduceOnly": True}  # fmt: skip
    first = rest.post("trade/order-algo", trail)["data"][0]["algoId"]
    await subscribe(business, {"channel": "algo-advance", "instType": "SWAP"})
    snapshot = await business.push("algo-advance")
    assert [d["algoId"] for d in snapshot["data"]] == [first]
    item = snapshot["data"][0]
    assert (item["ordType"], item["callbackRatio"], item["state"], item["count"]) == (
        "move_order_stop",
        "0.05",
        "live",
        "1",
    )
    assert item["moveTriggerPx"] and item["pTime"]
    rest.post("trade/cancel-algos", [{"instId": SWAP, "algoId": first}])
    assert (await business.push("algo-advance"))["data"][0]["state"] == "canceled"
