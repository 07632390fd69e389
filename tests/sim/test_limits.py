"""The simulator enforces OKX's documented rate limits: the exact count, the right key, batch rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import ccxt
import httpx
import pytest

from okxbot.sim.server import RunningSim
from okxbot.sim.wire import SimError
from tests.sim.okx_http import signed

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def client(sim: RunningSim) -> Iterator[httpx.Client]:
    sim.admin("POST", "/__sim__/reset-limits")
    with httpx.Client(timeout=10) as c:
        yield c


def funded_key(sim: RunningSim, **extra: Any) -> dict[str, Any]:
    return sim.admin("POST", "/__sim__/keys", {"balances": {"USDT": "1000000", "BTC": "10"}, **extra})


def order(inst_id: str = "BTC-USDT", px: str = "20000", sz: str = "0.0001") -> dict[str, str]:
    # A buy far below the market rests: limits are what is tested, not matching.
    return {"instId": inst_id, "tdMode": "cash", "side": "buy", "ordType": "limit", "px": px, "sz": sz}


def low_px(sim: RunningSim, inst_id: str) -> str:
    ticker = httpx.get(f"{sim.rest}/api/v5/market/ticker?instId={inst_id}").json()["data"][0]
    return ticker["last"]


def codes_until_refused(send: Any, attempts: int) -> int:
    """How many calls succeed before the first 50011; fails the test if none is refused."""
    for n in range(attempts):
        if send() == "50011":
            return n
    raise AssertionError(f"no 50011 within {attempts} requests")


def test_an_ip_limit_refuses_exactly_the_first_request_over_it(sim: RunningSim, client: httpx.Client) -> None:
    # GET public/time: 10 requests / 2 s per IP.
    responses = [client.get(f"{sim.rest}/api/v5/public/time") for _ in range(11)]
    assert [r.status_code for r in responses] == [200] * 10 + [429]
    assert responses[-1].json() == {"msg": "Too Many Requests", "code": "50011"}


def test_ccxt_gets_rate_limit_exceeded_after_exactly_the_documented_number(sim: RunningSim) -> None:
    sim.admin("POST", "/__sim__/reset-limits")
    key = funded_key(sim)
    exchange = ccxt.okx(
        {
            "apiKey": key["apiKey"],
            "secret": key["secretKey"],
            "password": key["passphrase"],
            "enableRateLimit": False,
        }
    )
    exchange.urls["api"]["rest"] = sim.rest
    done = 0
    with pytest.raises(ccxt.RateLimitExceeded):
        for _ in range(11):
            exchange.fetch_balance()  # GET account/balance: 10 / 2 s per uid
            done += 1
    assert done == 10


def test_uid_limits_are_per_account_not_per_key(sim: RunningSim, client: httpx.Client) -> None:
    first = funded_key(sim)
    same_account = sim.admin("POST", "/__sim__/keys", {"uid": first["uid"]})
    other = funded_key(sim)

    def config(key: dict[str, Any]) -> str:
        return signed(sim.rest, key, "GET", "/api/v5/account/config", client=client).json()["code"]

    # account/config: 5 / 2 s per uid, shared by both keys of the account.
    assert [config(first) for _ in range(3)] + [config(same_account) for _ in range(2)] == ["0"] * 5
    assert config(same_account) == "50011"
    assert config(first) == "50011"
    assert config(other) == "0"


def test_order_limits_are_per_instrument(sim: RunningSim, client: httpx.Client) -> None:
    key = funded_key(sim)
    btc = json.dumps(order("BTC-USDT", px=str(int(float(low_px(sim, "BTC-USDT")) // 2)))).encode()

    def place(body: bytes) -> str:
        return signed(sim.rest, key, "POST", "/api/v5/trade/order", body, client=client).json()["code"]

    assert codes_until_refused(lambda: place(btc), 70) == 60  # POST trade/order: 60 / 2 s per uid+instId
    eth = json.dumps(order("ETH-USDT", px=str(int(float(low_px(sim, "ETH-USDT")) // 2)), sz="0.01")).encode()
    assert place(eth) == "0"
    pending = sim.admin("GET", f"/__sim__/orders?uid={key['uid']}")["orders"]
    assert len(pending) == 61


def test_batches_count_orders_and_a_batch_of_one_counts_as_a_single_order(
    sim: RunningSim, client: httpx.Client
) -> None:
    key = funded_key(sim)
    px = str(int(float(low_px(sim, "BTC-USDT")) // 2))
    twenty = json.dumps([order(px=px) for _ in range(20)]).encode()

    def batch(body: bytes) -> httpx.Response:
        return signed(sim.rest, key, "POST", "/api/v5/trade/batch-orders", body, client=client)

    # batch-orders: 300 orders / 2 s per uid+instId -> 15 batches of 20.
    assert [batch(twenty).json()["code"] for _ in range(15)] == ["0"] * 15
    refused = batch(twenty)
    assert refused.status_code == 429
    assert refused.json()["code"] == "50011"
    # One order in a batch is charged to the single-order bucket, which is still empty.
    single = batch(json.dumps([order(px=px)]).encode())
    assert single.json()["code"] == "0"
    assert len(sim.admin("GET", f"/__sim__/orders?uid={key['uid']}")["orders"]) == 301


def test_the_account_order_budget_answers_50061(sim: RunningSim, client: httpx.Client) -> None:
    key = funded_key(sim)
    insts = ["BTC-USDT", "ETH-USDT", "LTC-USDT", "SOL-USDT"]
    bodies = {}
    for inst in insts:
        px = low_px(sim, inst)
        tick = {"BTC-USDT": 1, "ETH-USDT": 0.01, "LTC-USDT": 0.01, "SOL-USDT": 0.01}[inst]
        cheap = f"{round(float(px) / 2 / tick) * tick:.2f}" if tick < 1 else str(int(float(px) // 2))
        sz = {"BTC-USDT": "0.0001", "ETH-USDT": "0.001", "LTC-USDT": "0.01", "SOL-USDT": "0.01"}[inst]
        bodies[inst] = json.dumps([order(inst, px=cheap, sz=sz) for _ in range(20)]).encode()

    def batch(inst: str) -> str:
        return signed(
            sim.rest, key, "POST", "/api/v5/trade/batch-orders", bodies[inst], client=client
        ).json()["code"]

    # 1000 orders / 2 s per account across instruments: 15 + 15 + 15 + 5 batches of 20.
    codes = [batch(inst) for inst in insts[:3] for _ in range(15)] + [batch("SOL-USDT") for _ in range(5)]
    assert codes == ["0"] * 50
    refused = signed(sim.rest, key, "POST", "/api/v5/trade/batch-orders", bodies["SOL-USDT"], client=client)
    assert refused.status_code == 200
    assert refused.json() == {
        "code": "50061",
        "msg": "You've reached the maximum order rate limit for this account.",
        "data": [],
    }


def test_ws_order_operations_share_the_rest_buckets(sim: RunningSim, client: httpx.Client) -> None:
    key = funded_key(sim)
    body = json.dumps(order(px=str(int(float(low_px(sim, "BTC-USDT")) // 2)))).encode()
    for _ in range(59):
        assert signed(sim.rest, key, "POST", "/api/v5/trade/order", body, client=client).json()["code"] == "0"

    def ws_order() -> str:
        try:
            sim.ctx.limiter.charge_ws(key["uid"], "order", ["BTC-USDT"])
        except SimError as err:
            return err.code
        return "0"

    assert sim.call(ws_order) == "0"  # the 60th order of the window, sent over WS
    assert sim.call(ws_order) == "50011"
    assert signed(sim.rest, key, "POST", "/api/v5/trade/order", body, client=client).json()["code"] == "50011"


def test_reset_limits_empties_every_window(sim: RunningSim, client: httpx.Client) -> None:
    for _ in range(10):
        client.get(f"{sim.rest}/api/v5/public/time")
    assert client.get(f"{sim.rest}/api/v5/public/time").status_code == 429
    sim.admin("POST", "/__sim__/reset-limits")
    assert client.get(f"{sim.rest}/api/v5/public/time").status_code == 200


def test_account_rate_limit_endpoint(sim: RunningSim, client: httpx.Client) -> None:
    key = funded_key(sim)
    body = signed(sim.rest, key, "GET", "/api/v5/trade/account-rate-limit", client=client).json()
    assert body["code"] == "0"
    item = body["data"][0]
    assert item["accRateLimit"] == "1000"
    assert set(item) == {"accRateLimit", "fillRatio", "mainFillRatio", "nextAccRateLimit", "ts"}
    # 1 request / s per uid.
    assert (
        signed(sim.rest, key, "GET", "/api/v5/trade/account-rate-limit", client=client).json()["code"]
        == "50011"
    )
