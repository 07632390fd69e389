"""The simulator enforces OKX's documented rate limits: the exact count, the right key, batch rules."""

from __future__ import annotations

import json
import time
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


def _prefill(sim: RunningSim, uid: str, rule: str, inst_ids: list[str], times: int = 1) -> None:
    """Charge the simulator's buckets directly (as if those requests had just arrived), so that an
    HTTP test reaches a limit in a few requests whatever the machine's speed."""

    def charge() -> None:
        for _ in range(times):
            sim.ctx.limiter.charge(rule, uid=uid, inst_ids=inst_ids)

    sim.call(charge)


def test_the_sub_account_budget_answers_50061_for_swap_orders(sim: RunningSim, client: httpx.Client) -> None:
    key = funded_key(sim)
    # 980 swap orders of the 1000 per 2 s, over 49 instruments (20 each, below every per-instrument bucket)
    for i in range(49):
        _prefill(sim, key["uid"], "POST /api/v5/trade/batch-orders", [f"S{i}-USDT-SWAP"] * 20)
    body = json.dumps([order("BTC-USDT-SWAP", sz="1") for _ in range(20)]).encode()

    def batch() -> httpx.Response:
        return signed(sim.rest, key, "POST", "/api/v5/trade/batch-orders", body, client=client)

    assert batch().json()["code"] != "50061"  # the 1000th order fits (the engine answers per order)
    refused = batch()
    assert refused.status_code == 200
    assert refused.json() == {
        "code": "50061",
        "msg": "You've reached the maximum order rate limit for this account.",
        "data": [],
    }
    # amending a swap order is an order request too; cancelling is not
    amend = json.dumps({"instId": "ETH-USDT-SWAP", "ordId": "1", "newSz": "2"}).encode()
    assert (
        signed(sim.rest, key, "POST", "/api/v5/trade/amend-order", amend, client=client).json()["code"]
        == "50061"
    )
    cancel = json.dumps({"instId": "ETH-USDT-SWAP", "ordId": "1"}).encode()
    assert (
        signed(sim.rest, key, "POST", "/api/v5/trade/cancel-order", cancel, client=client).json()["code"]
        != "50061"
    )


def test_spot_orders_are_exempt_from_the_sub_account_budget(sim: RunningSim, client: httpx.Client) -> None:
    # OKX: "Block trading, spread trading, MMP and spot/margin orders are exempted from the sub-account
    # rate limit." 1,200 spot orders within 2 s, then more: never 50061.
    key = funded_key(sim)
    for i in range(60):
        _prefill(sim, key["uid"], "POST /api/v5/trade/batch-orders", [f"C{i}-USDT"] * 20)
    px = str(int(float(low_px(sim, "BTC-USDT")) // 2))
    body = json.dumps([order(px=px) for _ in range(20)]).encode()
    answer = signed(sim.rest, key, "POST", "/api/v5/trade/batch-orders", body, client=client).json()
    assert answer["code"] == "0"
    assert [d["sCode"] for d in answer["data"]] == ["0"] * 20
    # the same count of swap orders is refused: the budget is real, spot just does not feed it
    for i in range(50):
        _prefill(sim, key["uid"], "POST /api/v5/trade/batch-orders", [f"S{i}-USDT-SWAP"] * 20)
    with pytest.raises(SimError) as refused:
        sim.call(
            lambda: sim.ctx.limiter.charge(
                "POST /api/v5/trade/order", uid=key["uid"], inst_ids=["X-USDT-SWAP"]
            )
        )
    assert refused.value.code == "50061"


def test_the_batch_bucket_is_independent_of_the_single_order_bucket(
    sim: RunningSim, client: httpx.Client
) -> None:
    key = funded_key(sim)
    px = str(int(float(low_px(sim, "BTC-USDT")) // 2))
    _prefill(sim, key["uid"], "POST /api/v5/trade/order", ["BTC-USDT"], times=59)
    _prefill(sim, key["uid"], "POST /api/v5/trade/batch-orders", ["BTC-USDT"] * 20, times=14)

    def send(path: str, body: Any) -> str:
        return signed(sim.rest, key, "POST", path, json.dumps(body).encode(), client=client).json()["code"]

    # the 60th single order and the 281st-300th batch orders both fit: two buckets, one instrument
    assert send("/api/v5/trade/order", order(px=px)) == "0"
    assert send("/api/v5/trade/batch-orders", [order(px=px) for _ in range(20)]) == "0"
    # both are full now: the 61st single order and the 301st batch order are refused with 50011
    assert send("/api/v5/trade/order", order(px=px)) == "50011"
    assert send("/api/v5/trade/batch-orders", [order(px=px) for _ in range(2)]) == "50011"
    # a batch of one is a single order, so it is refused by the full single bucket too
    assert send("/api/v5/trade/batch-orders", [order(px=px)]) == "50011"
    # and another instrument's buckets are untouched
    eth = order("ETH-USDT", px=str(int(float(low_px(sim, "ETH-USDT")) // 2)), sz="0.01")
    assert send("/api/v5/trade/batch-orders", [eth, eth]) == "0"


def test_every_endpoint_the_simulator_serves_has_a_documented_rule(sim: RunningSim) -> None:
    from okxbot.sim.limits import TABLE, WS_OPS
    from okxbot.sim.rest import ENDPOINTS
    from okxbot.sim.ws_ops import OPS

    served = [f"{method} {path}" for path, methods in ENDPOINTS.items() for method in methods]
    assert len(served) > 25  # the app is assembled: every endpoint module has registered its routes
    assert [name for name in served if name not in TABLE] == []
    assert sorted(OPS) == sorted(WS_OPS)
    assert all(rule in TABLE for rule in WS_OPS.values())


def test_an_endpoint_missing_from_the_table_gets_the_strictest_rule() -> None:
    from okxbot.sim.limits import STRICTEST, TABLE, Limiter

    assert (STRICTEST.capacity, STRICTEST.window_ms) == (1, 5000)  # system/status
    assert all(STRICTEST.capacity / STRICTEST.window_ms <= r.capacity / r.window_ms for r in TABLE.values())
    now = [10_000_000]
    limiter = Limiter(lambda: now[0])
    limiter.charge("GET /api/v5/asset/not-in-the-table", uid="u")
    with pytest.raises(SimError) as refused:
        limiter.charge("GET /api/v5/asset/not-in-the-table", uid="u")
    assert refused.value.code == "50011"
    limiter.charge("GET /api/v5/asset/another-one", uid="u")  # its own bucket
    now[0] += 5_000_000
    limiter.charge("GET /api/v5/asset/not-in-the-table", uid="u")


def test_requests_are_counted_at_their_arrival_time() -> None:
    # inTime is the arrival stamp: acknowledgements dated by it never show more than the limit
    from okxbot.sim.limits import Limiter

    limiter = Limiter(lambda: 99_000_000_000)  # "now" is late: the arrival given wins
    for k in range(60):
        limiter.charge("POST /api/v5/trade/order", uid="u", inst_ids=["BTC-USDT"], arrival=1_000_000 + k)
    with pytest.raises(SimError):
        limiter.charge("POST /api/v5/trade/order", uid="u", inst_ids=["BTC-USDT"], arrival=2_999_999)
    limiter.charge("POST /api/v5/trade/order", uid="u", inst_ids=["BTC-USDT"], arrival=3_000_000)


def test_ws_order_operations_share_the_rest_buckets(sim: RunningSim, client: httpx.Client) -> None:
    body = json.dumps(order(px=str(int(float(low_px(sim, "BTC-USDT")) // 2)))).encode()

    def ws_order(uid: str) -> str:
        try:
            sim.ctx.limiter.charge_ws(uid, "order", ["BTC-USDT"])
        except SimError as err:
            return err.code
        return "0"

    # 59 orders over REST, then the 60th of the window over WS: all inside one 2 s window. A loaded
    # machine may take longer than that for the 59 (the oldest then leave the window): try again
    # with a fresh account, never fewer requests.
    for _attempt in range(5):
        key = funded_key(sim)
        answers = [
            signed(sim.rest, key, "POST", "/api/v5/trade/order", body, client=client).json()
            for _ in range(59)
        ]
        assert all(a["code"] == "0" for a in answers), answers
        if int(answers[-1]["inTime"]) - int(answers[0]["inTime"]) > 1_500_000:
            continue
        assert sim.call(lambda uid=key["uid"]: ws_order(uid)) == "0"  # the 60th order, sent over WS
        first_in = int(answers[0]["inTime"])
        if (time.time_ns() // 1000) - first_in >= 1_800_000:
            continue  # the window slid before the checks below could run
        assert sim.call(lambda uid=key["uid"]: ws_order(uid)) == "50011"
        answer = signed(sim.rest, key, "POST", "/api/v5/trade/order", body, client=client).json()
        if answer["code"] == "0" and int(answer["inTime"]) - first_in >= 2_000_000:
            continue
        assert answer["code"] == "50011"
        return
    pytest.fail("the machine never sent 59 orders within 1.5 s in 5 attempts")


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


def test_a_request_whose_body_comes_late_is_dated_and_counted_when_it_has_arrived(
    sim: RunningSim, client: httpx.Client
) -> None:
    # A slow client sends an order's headers, then its body more than 2 s later. Counted when its body
    # came but dated by its headers' arrival, it would put a 61st order into a 2 s window of inTimes
    # (what the order benchmark counts: its negative control showed 61 of 60 under load).
    import socket
    from urllib.parse import urlsplit

    from tests.sim.okx_http import iso_now, okx_sign

    key = funded_key(sim)
    path = "/api/v5/trade/order"
    slow_body = json.dumps(order()).encode()
    stamp = iso_now()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {urlsplit(sim.rest).netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(slow_body)}\r\nOK-ACCESS-KEY: {key['apiKey']}\r\n"
        f"OK-ACCESS-PASSPHRASE: {key['passphrase']}\r\nOK-ACCESS-TIMESTAMP: {stamp}\r\n"
        f"OK-ACCESS-SIGN: {okx_sign(key['secretKey'], stamp, 'POST', path, slow_body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    seen = sim.call(lambda: sim.ctx.stats.by_path[path])
    slow = socket.create_connection((urlsplit(sim.rest).hostname, urlsplit(sim.rest).port), timeout=10)
    try:
        slow.sendall(head)
        # wait (bounded) until the simulator has begun handling the slow request: it waits for the body
        deadline = time.monotonic() + 10
        while sim.call(lambda: sim.ctx.stats.by_path[path]) == seen:
            assert time.monotonic() < deadline, "the simulator never saw the slow request's headers"
            time.sleep(0.01)
        in_times = []
        for _ in range(60):  # the instrument's whole single-order bucket, right after the headers
            answer = signed(sim.rest, key, "POST", path, json.dumps(order()).encode(), client=client).json()
            assert answer["code"] == "0", answer
            in_times.append(int(answer["inTime"]))
        # the scenario is time passing: the 60 leave the sliding window, then the body comes
        time.sleep(2.1)
        # other traffic of the account meanwhile (another instrument)
        other = signed(
            sim.rest, key, "POST", path, json.dumps(order("ETH-USDT", px="100")).encode(), client=client
        )
        assert other.json()["code"] == "0", other.text
        body_sent_us = time.time_ns() // 1000
        slow.sendall(slow_body)
        raw = b""
        while chunk := slow.recv(65536):
            raw += chunk
    finally:
        slow.close()
    answer = json.loads(raw.split(b"\r\n\r\n", 1)[1])
    assert answer["code"] == "0", answer  # accepted: the bucket had room when the body came
    late_in_time = int(answer["inTime"])
    assert late_in_time >= body_sent_us, "dated by its headers, not by its arrival"
    stamps = sorted([*in_times, late_in_time])
    busiest = max(sum(1 for t in stamps if s <= t < s + 2_000_000) for s in stamps)
    assert busiest <= 60, f"{busiest} accepted orders in one 2 s window of inTimes"
