"""The remaining REST endpoints, as a client sees them over HTTP: every number a string."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from okxbot.sim.server import RunningSim
from tests.sim.okx_http import signed

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def fresh_limits(sim: RunningSim) -> None:
    sim.admin("POST", "/__sim__/reset-limits")


@pytest.fixture
def key(sim: RunningSim) -> dict[str, Any]:
    return sim.admin("POST", "/__sim__/keys", {"balances": {"USDT": "100000", "BTC": "1", "ETH": "10"}})


def get(sim: RunningSim, path: str) -> list[Any]:
    body = httpx.get(sim.rest + path).json()
    assert body["code"] == "0", body
    return body["data"]


def call(sim: RunningSim, key: dict[str, Any], method: str, path: str, payload: Any = None, **kw: Any) -> Any:
    body = json.dumps(payload).encode() if payload is not None else b""
    return signed(sim.rest, key, method, path, body, **kw).json()


def resting(sim: RunningSim, inst_id: str = "BTC-USDT", **extra: str) -> dict[str, str]:
    bid = Decimal(get(sim, f"/api/v5/market/ticker?instId={inst_id}")[0]["bidPx"])
    tick = Decimal(get(sim, f"/api/v5/public/instruments?instType=SPOT&instId={inst_id}")[0]["tickSz"])
    px = (bid * Decimal("0.9") / tick).to_integral_value() * tick
    return {
        "instId": inst_id,
        "tdMode": "cash",
        "side": "buy",
        "ordType": "limit",
        "px": str(px),
        "sz": "0.01",
    } | extra


def all_strings(value: Any) -> bool:
    if isinstance(value, dict):
        return all(all_strings(v) for v in value.values())
    if isinstance(value, list):
        return all(all_strings(v) for v in value)
    return isinstance(value, str)


def test_public_market_data(sim: RunningSim) -> None:
    assert get(sim, "/api/v5/system/status") == []
    tickers = get(sim, "/api/v5/market/tickers?instType=SPOT")
    assert len(tickers) >= 10 and all(all_strings(t) for t in tickers)
    swap_tickers = get(sim, "/api/v5/market/tickers?instType=SWAP")
    assert {"BTC-USDT-SWAP", "BTC-USD-SWAP"} <= {t["instId"] for t in swap_tickers}
    assert {t["instType"] for t in swap_tickers} == {"SWAP"} and all(all_strings(t) for t in swap_tickers)
    assert get(sim, "/api/v5/market/tickers?instType=FUTURES") == []
    assert get(sim, "/api/v5/public/instruments?instType=FUTURES") == []
    assert get(sim, "/api/v5/public/instruments?instType=OPTION&uly=BTC-USD") == []
    assert httpx.get(f"{sim.rest}/api/v5/public/instruments?instType=OPTION").json()["code"] == "50015"
    trades = get(sim, "/api/v5/market/trades?instId=BTC-USDT&limit=5")
    assert 1 <= len(trades) <= 5
    assert set(trades[0]) >= {"instId", "tradeId", "px", "sz", "side", "ts"} and all_strings(trades)
    history = get(sim, "/api/v5/market/history-candles?instId=ETH-USDT&bar=1H&limit=5")
    assert len(history) == 5 and all(len(row) == 9 and all_strings(row) for row in history)
    assert [int(r[0]) for r in history] == sorted((int(r[0]) for r in history), reverse=True)
    book = get(sim, "/api/v5/market/books?instId=BTC-USDT")[0]
    assert len(book["bids"]) == 1 and len(book["asks"]) == 1  # OKX's default depth is 1


def test_account_and_funding(sim: RunningSim, key: dict[str, Any]) -> None:
    config = call(sim, key, "GET", "/api/v5/account/config")["data"][0]
    assert (config["uid"], config["mainUid"], config["acctLv"], config["posMode"]) == (
        key["uid"], key["uid"], "1", "net_mode",
    )  # fmt: skip
    assert (
        config["label"] == key["label"]
        and config["perm"] == "read_only,trade"
        and config["ip"] == "127.0.0.1"
    )
    assert call(sim, key, "GET", "/api/v5/asset/balances") == {"code": "0", "msg": "", "data": []}
    currencies = call(sim, key, "GET", "/api/v5/asset/currencies")["data"]
    assert {"BTC", "USDT", "ETH"} <= {c["ccy"] for c in currencies}
    usdt = next(c for c in currencies if c["ccy"] == "USDT")
    assert usdt["chain"] == "USDT-TRC20" and usdt["canWd"] is True and usdt["minWd"] == "0.001"
    fee = call(sim, key, "GET", "/api/v5/account/trade-fee?instType=SPOT")["data"][0]
    assert (fee["maker"], fee["taker"]) == ("-0.0008", "-0.001")


def test_a_fill_shows_in_fills_and_bills(sim: RunningSim, key: dict[str, Any]) -> None:
    sold = call(sim, key, "POST", "/api/v5/trade/order",
                {"instId": "ETH-USDT", "tdMode": "cash", "side": "sell", "ordType": "market", "sz": "0.5"})  # fmt: skip
    ord_id = sold["data"][0]["ordId"]
    fills = call(sim, key, "GET", f"/api/v5/trade/fills?instId=ETH-USDT&ordId={ord_id}")["data"]
    assert fills and sum(Decimal(f["fillSz"]) for f in fills) == Decimal("0.5")
    assert all(f["side"] == "sell" and f["execType"] == "T" and f["feeCcy"] == "USDT" for f in fills)
    history = call(sim, key, "GET", "/api/v5/trade/fills-history?instType=SPOT&instId=ETH-USDT")["data"]
    assert [f["tradeId"] for f in history][: len(fills)] == [f["tradeId"] for f in fills]
    bills = call(sim, key, "GET", "/api/v5/account/bills?instType=SPOT&ccy=ETH")["data"]
    assert sum(Decimal(b["balChg"]) for b in bills if b["ordId"] == ord_id) == Decimal("-0.5")


def test_amend_and_batch_cancel(sim: RunningSim, key: dict[str, Any]) -> None:
    order = resting(sim, clOrdId="amend1")
    placed = call(sim, key, "POST", "/api/v5/trade/order", order)["data"][0]
    amended = call(sim, key, "POST", "/api/v5/trade/amend-order",
                   {"instId": "BTC-USDT", "clOrdId": "amend1", "newSz": "0.02", "reqId": "r1"})  # fmt: skip
    assert amended["code"] == "0"
    assert (amended["data"][0]["ordId"], amended["data"][0]["reqId"]) == (placed["ordId"], "r1")
    now = call(sim, key, "GET", f"/api/v5/trade/order?instId=BTC-USDT&ordId={placed['ordId']}")["data"][0]
    assert now["sz"] == "0.02"
    other = call(sim, key, "POST", "/api/v5/trade/order", resting(sim, clOrdId="amend2"))["data"][0]
    batch = call(sim, key, "POST", "/api/v5/trade/amend-batch-orders",
                 [{"instId": "BTC-USDT", "ordId": other["ordId"], "newSz": "0.03"},
                  {"instId": "BTC-USDT", "ordId": "1", "newSz": "0.03"}])  # fmt: skip
    assert batch["code"] == "2" and [d["sCode"] for d in batch["data"]] == ["0", "51503"]
    canceled = call(sim, key, "POST", "/api/v5/trade/cancel-batch-orders",
                    [{"instId": "BTC-USDT", "ordId": placed["ordId"]}, {"instId": "BTC-USDT", "clOrdId": "amend2"}])  # fmt: skip
    assert canceled["code"] == "0" and [d["sCode"] for d in canceled["data"]] == ["0", "0"]
    again = call(
        sim, key, "POST", "/api/v5/trade/cancel-order", {"instId": "BTC-USDT", "ordId": placed["ordId"]}
    )
    assert again["code"] == "1" and again["data"][0]["sCode"] == "51400"
    assert call(sim, key, "GET", "/api/v5/trade/orders-pending")["data"] == []


def test_mass_cancel_cancels_one_instrument(sim: RunningSim, key: dict[str, Any]) -> None:
    call(sim, key, "POST", "/api/v5/trade/order", resting(sim, "BTC-USDT"))
    call(sim, key, "POST", "/api/v5/trade/order", resting(sim, "ETH-USDT"))
    answer = call(
        sim, key, "POST", "/api/v5/trade/mass-cancel", {"instType": "SPOT", "instFamily": "BTC-USDT"}
    )
    assert answer == {"code": "0", "msg": "", "data": [{"result": True}]}
    pending = call(sim, key, "GET", "/api/v5/trade/orders-pending")["data"]
    assert [o["instId"] for o in pending] == ["ETH-USDT"]


def wait_for_state(sim: RunningSim, uid: str, state: str) -> list[dict[str, Any]]:
    """Poll the admin view until every order of `uid` is in `state` (the switch fires on a ~100 ms tick)."""
    for _ in range(100):
        orders = sim.admin("GET", f"/__sim__/orders?uid={uid}")["orders"]
        if orders and all(o["state"] == state for o in orders):
            return orders
        time.sleep(0.05)
    raise AssertionError(f"orders of {uid} never all became {state}: {orders}")


def wait_for_states(sim: RunningSim, uid: str, done: Any) -> dict[str, str]:
    """Poll the admin view until `done(states by clOrdId)` holds (the switches run on a ~100 ms tick)."""
    deadline = time.monotonic() + 10
    while True:
        states = {o["clOrdId"]: o["state"] for o in sim.admin("GET", f"/__sim__/orders?uid={uid}")["orders"]}
        if done(states):
            return states
        assert time.monotonic() < deadline, f"orders of {uid} never reached the expected states: {states}"
        time.sleep(0.05)


def test_cancel_all_after_is_a_working_dead_man_switch(sim: RunningSim, key: dict[str, Any]) -> None:
    for bad in ("5", "121", "abc", "\u00b2"):
        answer = call(sim, key, "POST", "/api/v5/trade/cancel-all-after", {"timeOut": bad})
        assert (answer["code"], answer["msg"]) == ("51000", "Parameter timeOut error"), bad
        sim.admin("POST", "/__sim__/reset-limits")
    call(sim, key, "POST", "/api/v5/trade/order", resting(sim, clOrdId="dms1"))
    armed = call(sim, key, "POST", "/api/v5/trade/cancel-all-after", {"timeOut": "10"})["data"][0]
    assert int(armed["triggerTime"]) - int(armed["ts"]) == 10_000 and armed["tag"] == ""
    # Let 11 s pass on the exchange's clock instead of waiting them out.
    sim.admin("POST", "/__sim__/clock", {"offsetMs": 11_000})
    try:
        (order,) = wait_for_state(sim, key["uid"], "canceled")
    finally:
        sim.admin("POST", "/__sim__/clock", {"offsetMs": 0})
    assert (order["clOrdId"], order["cancelSource"]) == ("dms1", "20")


def test_cancel_all_after_zero_disarms_the_switch(sim: RunningSim, key: dict[str, Any]) -> None:
    call(sim, key, "POST", "/api/v5/trade/order", resting(sim, clOrdId="dms2"))
    call(sim, key, "POST", "/api/v5/trade/cancel-all-after", {"timeOut": "10"})
    sim.admin("POST", "/__sim__/reset-limits")
    disarmed = call(sim, key, "POST", "/api/v5/trade/cancel-all-after", {"timeOut": "0"})["data"][0]
    assert disarmed["triggerTime"] == "0"
    # A canary: a tagged switch armed as long, on an order of its own. Once the canary has fired, the
    # switch checker has run past the disarmed switch's deadline too.
    call(sim, key, "POST", "/api/v5/trade/order", resting(sim, clOrdId="canary2", tag="canary"))
    call(sim, key, "POST", "/api/v5/trade/cancel-all-after", {"timeOut": "10", "tag": "canary"})
    sim.admin("POST", "/__sim__/clock", {"offsetMs": 11_000})
    try:
        states = wait_for_states(sim, key["uid"], lambda s: s.get("canary2") == "canceled")
    finally:
        sim.admin("POST", "/__sim__/clock", {"offsetMs": 0})
    assert states["dms2"] == "live"


def test_a_tagged_switch_covers_only_its_tag(sim: RunningSim, key: dict[str, Any]) -> None:
    call(sim, key, "POST", "/api/v5/trade/order", resting(sim, clOrdId="tagged1", tag="bot7"))
    call(sim, key, "POST", "/api/v5/trade/order", resting(sim, clOrdId="untagged1"))
    call(sim, key, "POST", "/api/v5/trade/cancel-all-after", {"timeOut": "10", "tag": "bot7"})
    sim.admin("POST", "/__sim__/clock", {"offsetMs": 11_000})
    try:
        states = wait_for_states(sim, key["uid"], lambda s: s.get("tagged1") == "canceled")
    finally:
        sim.admin("POST", "/__sim__/clock", {"offsetMs": 0})
    assert states == {"tagged1": "canceled", "untagged1": "live"}
