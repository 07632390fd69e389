"""The in-memory limiter: exact sliding windows, FIFO per bucket, no head-of-line blocking."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections import Counter
from datetime import UTC, datetime

import aiohttp
import pytest

from okxbot.okx.ratelimit import (
    ANSWERED_MARGIN_MS,
    DEFAULT_MARGIN_MS,
    MemoryRateLimiter,
    RateLimitConfigError,
    limiter_from_url,
)

PLACE = "/api/v5/trade/order"


async def _settle() -> None:
    # let every runnable coroutine take its turn (the limiter grants without sleeping when it can)
    for _ in range(20):
        await asyncio.sleep(0)


async def test_waiters_are_served_in_arrival_order_and_no_window_holds_more_than_capacity() -> None:
    limiter = MemoryRateLimiter(margin_ms=30)
    granted: list[int] = []
    stamps: list[float] = []

    async def request(i: int) -> None:
        await limiter.acquire("GET", "/api/v5/account/config", uid="u1")  # 5 per 2 s
        granted.append(i)
        stamps.append(time.monotonic())

    tasks = []
    for i in range(11):  # three windows' worth: the last one waits behind a full queue
        tasks.append(asyncio.create_task(request(i)))
        await asyncio.sleep(0)  # each one arrives after the previous
    await asyncio.gather(*tasks)
    assert granted == list(range(11))
    # the 6th request may only go once the 1st is older than the window plus the margin
    for i in range(len(stamps) - 5):
        assert stamps[i + 5] - stamps[i] >= 2.030 - 0.002, i


async def test_a_full_instrument_does_not_hold_up_another_instrument() -> None:
    limiter = MemoryRateLimiter()
    for _ in range(60):
        await limiter.acquire("POST", PLACE, uid="u1", orders_by_inst={"BTC-USDT": 1})
    blocked = asyncio.create_task(limiter.acquire("POST", PLACE, uid="u1", orders_by_inst={"BTC-USDT": 1}))
    await _settle()
    await limiter.acquire("POST", PLACE, uid="u1", orders_by_inst={"ETH-USDT": 1})
    other_account = asyncio.create_task(
        limiter.acquire("POST", PLACE, uid="u2", orders_by_inst={"BTC-USDT": 1})
    )
    await _settle()
    assert other_account.done()
    assert not blocked.done()
    assert limiter.waiting() == 1
    blocked.cancel()
    await asyncio.gather(blocked, return_exceptions=True)
    assert limiter.waiting() == 0


async def test_the_sub_account_budget_holds_orders_across_instruments() -> None:
    limiter = MemoryRateLimiter()
    batch = {f"I{i}-USDT": 20 for i in range(50)}  # 1000 orders over 50 instruments: fits exactly
    await limiter.acquire("POST", "/api/v5/trade/batch-orders", uid="u1", orders_by_inst=batch)
    nxt = asyncio.create_task(limiter.acquire("POST", PLACE, uid="u1", orders_by_inst={"NEW-USDT": 1}))
    cancel = asyncio.create_task(
        limiter.acquire("POST", "/api/v5/trade/cancel-order", uid="u1", orders_by_inst={"I0-USDT": 1})
    )
    await _settle()
    assert cancel.done()  # cancels do not count toward the order budget
    assert not nxt.done()
    usage = await limiter.usage(top=1)
    assert (usage[0].name, usage[0].used, usage[0].capacity) == ("sub-account orders", 1000, 1000)
    nxt.cancel()
    await asyncio.gather(nxt, return_exceptions=True)


async def test_a_cancelled_waiter_does_not_block_the_queue() -> None:
    limiter = MemoryRateLimiter(margin_ms=0)
    for _ in range(5):
        await limiter.acquire("GET", "/api/v5/account/config", uid="u1")
    first = asyncio.create_task(limiter.acquire("GET", "/api/v5/account/config", uid="u1"))
    await _settle()
    second = asyncio.create_task(limiter.acquire("GET", "/api/v5/account/config", uid="u1"))
    await _settle()
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    await second  # served when the window frees, not stuck behind the cancelled one
    assert limiter.waiting() == 0


async def test_a_batch_waits_for_room_for_all_its_orders() -> None:
    limiter = MemoryRateLimiter()
    bound = limiter.bind(uid="u1")
    for _ in range(58):
        await bound.acquire("POST", "trade/order", {"instId": "BTC-USDT"})
    # a 3-order batch on BTC goes to the batch bucket (300/2 s), not the single-order one
    await bound.acquire("POST", "trade/batch-orders", [{"instId": "BTC-USDT"}] * 3)
    usage = {(u.name, u.bucket): u.used for u in await limiter.usage(top=10)}
    assert usage[("POST /api/v5/trade/order", "u1|BTC-USDT")] == 58
    assert usage[("POST /api/v5/trade/batch-orders", "u1|BTC-USDT")] == 3
    assert usage[("sub-account orders", "u1")] == 61
    # a 1-order "batch" is a single order by OKX's rule: the single bucket takes it
    await bound.acquire("POST", "trade/batch-orders", [{"instId": "BTC-USDT"}])
    usage = {(u.name, u.bucket): u.used for u in await limiter.usage(top=10)}
    assert usage[("POST /api/v5/trade/order", "u1|BTC-USDT")] == 59


async def test_usage_reports_the_busiest_buckets_first() -> None:
    limiter = MemoryRateLimiter()
    for _ in range(3):
        await limiter.acquire("GET", "/api/v5/account/balance", uid="u1")
    await limiter.acquire("POST", PLACE, uid="u1", orders_by_inst={"BTC-USDT": 1})
    usage = await limiter.usage()
    assert [(u.name, u.bucket, u.used, u.capacity) for u in usage] == [
        ("GET /api/v5/account/balance", "u1", 3, 10),
        ("POST /api/v5/trade/order", "u1|BTC-USDT", 1, 60),
        ("sub-account orders", "u1", 1, 1000),
    ]
    await limiter.close()


async def test_a_batch_larger_than_the_limit_is_refused_with_a_fix() -> None:
    limiter = MemoryRateLimiter()
    with pytest.raises(ValueError, match="split the batch"):
        await limiter.acquire(
            "POST", "/api/v5/trade/batch-orders", uid="u1", orders_by_inst={"BTC-USDT": 301}
        )
    assert limiter.waiting() == 0


def test_limiter_urls() -> None:
    assert isinstance(limiter_from_url(None), MemoryRateLimiter)
    memory = limiter_from_url("memory://?margin_ms=20")
    assert isinstance(memory, MemoryRateLimiter) and memory.margin_ms == 20
    assert limiter_from_url("memory://").margin_ms == DEFAULT_MARGIN_MS
    with pytest.raises(RateLimitConfigError, match=r"use memory:// .* or redis://"):
        limiter_from_url("http://localhost:6379")
    with pytest.raises(RateLimitConfigError, match="whole number of milliseconds"):
        limiter_from_url("memory://?margin_ms=fast")
    with pytest.raises(RateLimitConfigError, match="unknown option"):
        limiter_from_url("memory://?prefix=x")


async def test_an_answered_request_is_held_from_its_answer_not_from_its_grant() -> None:
    limiter = MemoryRateLimiter(margin_ms=50)
    account = limiter.bind(uid="u1")
    grants = [await account.acquire("GET", "account/config") for _ in range(5)]  # 5 per 2 s: full
    await asyncio.sleep(0.3)  # a slow answer: OKX may have counted these requests up to now
    answered = time.monotonic()  # every answer below is recorded at this time or later
    for grant in grants:
        await grant.complete()
        await grant.complete()  # idempotent
    await account.acquire("GET", "account/config")
    assert time.monotonic() - answered >= 2.0 + ANSWERED_MARGIN_MS / 1000 - 0.002


async def test_the_request_context_completes_even_when_sending_fails() -> None:
    limiter = MemoryRateLimiter(margin_ms=50)
    account = limiter.bind(uid="u1")
    with pytest.raises(ConnectionError):
        async with account.request("POST", "trade/order", {"instId": "BTC-USDT"}):
            raise ConnectionError("dropped")
    usage = {(u.name, u.bucket): u.used for u in await limiter.usage(top=10)}
    assert usage[("POST /api/v5/trade/order", "u1|BTC-USDT")] == 1  # still counted: it may have arrived


async def test_a_quick_answer_releases_the_margin() -> None:
    # a generous margin for unanswered requests costs nothing once the answers are in
    limiter = MemoryRateLimiter(margin_ms=1000)
    account = limiter.bind(uid="u1")
    start = time.monotonic()
    for _ in range(5):
        async with account.request("GET", "account/config"):
            pass
    await account.acquire("GET", "account/config")
    assert time.monotonic() - start < 2.0 + 1.0 - 0.1  # held from the answers, not grant + margin


# ---- against the simulator: the client's table and the simulator's twin must agree --------------


def _signed(key: dict, method: str, path: str, body: str) -> dict[str, str]:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    mac = hmac.new(key["secretKey"].encode(), f"{stamp}{method}{path}{body}".encode(), hashlib.sha256)
    return {
        "OK-ACCESS-KEY": key["apiKey"],
        "OK-ACCESS-SIGN": base64.b64encode(mac.digest()).decode(),
        "OK-ACCESS-TIMESTAMP": stamp,
        "OK-ACCESS-PASSPHRASE": key["passphrase"],
        "Content-Type": "application/json",
    }


async def _place_burst(sim, limiter: MemoryRateLimiter | None, count: int) -> Counter[str]:
    """`count` concurrent single limit buys on BTC-USDT far below the market; the sCodes seen."""
    key = sim.admin("POST", "/__sim__/keys", {"balances": {"USDT": "100000"}, "perm": "read_only,trade"})
    account = limiter.bind(uid=key["uid"]) if limiter is not None else None
    path = "/api/v5/trade/order"
    codes: Counter[str] = Counter()
    async with aiohttp.ClientSession() as http:

        async def place() -> None:
            order = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit"}
            body = json.dumps(order | {"px": "20000", "sz": "0.0001"})
            grant = await account.acquire("POST", path, order) if account is not None else None
            try:
                async with http.post(
                    sim.rest + path, data=body, headers=_signed(key, "POST", path, body)
                ) as r:
                    answer = await r.json()
            finally:
                if grant is not None:
                    await grant.complete()
            codes[answer["data"][0]["sCode"] if answer.get("data") else answer["code"]] += 1

        await asyncio.gather(*(place() for _ in range(count)))
    return codes


async def test_a_burst_through_the_limiter_is_never_refused_by_the_simulator(sim) -> None:
    codes = await _place_burst(sim, MemoryRateLimiter(), 130)  # > two windows' worth on one instrument
    assert codes == Counter({"0": 130})


async def test_the_same_burst_without_the_limiter_is_refused(sim) -> None:
    codes = await _place_burst(sim, None, 130)
    assert codes["50011"] > 0  # the simulator does enforce the limit the test above stays under


async def test_room_tells_which_bucket_can_take_orders_now() -> None:
    """The batch endpoint's bucket (300 orders / 2 s per instrument) and the single-order one
    (60 / 2 s) are independent: filling one leaves the other's room, which is how a caller picks."""
    limiter = MemoryRateLimiter()
    batch = "/api/v5/trade/batch-orders"
    assert await limiter.room("POST", batch, uid="u1", inst_id="BTC-USDT") == 300
    assert await limiter.room("POST", PLACE, uid="u1", inst_id="BTC-USDT") == 60
    for _ in range(14):  # 280 orders through the batch endpoint
        await limiter.acquire("POST", batch, uid="u1", orders_by_inst={"BTC-USDT": 20})
    await limiter.acquire("POST", PLACE, uid="u1", orders_by_inst={"BTC-USDT": 1})
    assert await limiter.room("POST", batch, uid="u1", inst_id="BTC-USDT") == 20
    assert await limiter.room("POST", PLACE, uid="u1", inst_id="BTC-USDT") == 59
    # another instrument and another account have their own buckets
    assert await limiter.room("POST", batch, uid="u1", inst_id="ETH-USDT") == 300
    assert await limiter.room("POST", batch, uid="u2", inst_id="BTC-USDT") == 300
    # the last 20 fit at once; after them the bucket has no room for anyone
    await limiter.acquire("POST", batch, uid="u1", orders_by_inst={"BTC-USDT": 20})
    assert await limiter.room("POST", batch, uid="u1", inst_id="BTC-USDT") == 0
    await limiter.close()
