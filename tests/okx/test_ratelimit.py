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
    Headroom,
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


async def test_the_sub_account_budget_holds_swap_orders_across_instruments() -> None:
    limiter = MemoryRateLimiter()
    batch = {f"I{i}-USDT-SWAP": 20 for i in range(50)}  # 1000 orders over 50 instruments: fits exactly
    await limiter.acquire("POST", "/api/v5/trade/batch-orders", uid="u1", orders_by_inst=batch)
    nxt = asyncio.create_task(limiter.acquire("POST", PLACE, uid="u1", orders_by_inst={"NEW-USDT-SWAP": 1}))
    cancel = asyncio.create_task(
        limiter.acquire("POST", "/api/v5/trade/cancel-order", uid="u1", orders_by_inst={"I0-USDT-SWAP": 1})
    )
    spot = asyncio.create_task(limiter.acquire("POST", PLACE, uid="u1", orders_by_inst={"NEW-USDT": 1}))
    await _settle()
    assert cancel.done()  # cancels do not count toward the order budget
    assert spot.done()  # nor do spot orders (OKX: "spot/margin orders are exempted")
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
    assert ("sub-account orders", "u1") not in usage  # spot orders are exempt
    # a 1-order "batch" is a single order by OKX's rule: the single bucket takes it
    await bound.acquire("POST", "trade/batch-orders", [{"instId": "BTC-USDT"}])
    usage = {(u.name, u.bucket): u.used for u in await limiter.usage(top=10)}
    assert usage[("POST /api/v5/trade/order", "u1|BTC-USDT")] == 59


async def test_usage_reports_the_busiest_buckets_first() -> None:
    limiter = MemoryRateLimiter()
    for _ in range(3):
        await limiter.acquire("GET", "/api/v5/account/balance", uid="u1")
    await limiter.acquire("POST", PLACE, uid="u1", orders_by_inst={"BTC-USDT-SWAP": 1})
    usage = await limiter.usage()
    assert [(u.name, u.bucket, u.used, u.capacity) for u in usage] == [
        ("GET /api/v5/account/balance", "u1", 3, 10),
        ("POST /api/v5/trade/order", "u1|BTC-USDT-SWAP", 1, 60),
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


# ---- headroom: which of an instrument's two order buckets has room now ---------------------------


async def test_headroom_reports_the_single_and_batch_buckets_of_an_instrument_separately() -> None:
    limiter = MemoryRateLimiter()
    account = limiter.bind(uid="u1")
    room = await account.headroom("trade/order", "BTC-USDT")
    assert (room.single, room.batch, room.account) == (60, 300, None)  # spot: no sub-account budget
    assert (room.single_path, room.batch_path) == ("/api/v5/trade/order", "/api/v5/trade/batch-orders")
    for _ in range(60):
        await account.acquire("POST", "trade/order", {"instId": "BTC-USDT"})
    await account.acquire("POST", "trade/batch-orders", [{"instId": "BTC-USDT"}] * 20)
    room = await account.headroom("/api/v5/trade/batch-orders", "BTC-USDT")  # either path of the pair
    assert (room.single, room.batch) == (0, 280)
    assert room.split(50) == (50, 0)  # the single bucket is full: all of it through batches
    other = await account.headroom("trade/order", "ETH-USDT")
    assert (other.single, other.batch) == (60, 300)
    cancels = await account.headroom("trade/cancel-order", "BTC-USDT")
    assert (cancels.single, cancels.batch, cancels.account) == (60, 300, None)
    assert cancels.batch_path == "/api/v5/trade/cancel-batch-orders"


async def test_headroom_counts_the_sub_account_budget_for_swap_orders_and_queued_waiters() -> None:
    limiter = MemoryRateLimiter()
    account = limiter.bind(uid="u1")
    batch = {f"I{i}-USDT-SWAP": 20 for i in range(49)}  # 980 of the 1000 orders per 2 s
    await limiter.acquire("POST", "/api/v5/trade/batch-orders", uid="u1", orders_by_inst=batch)
    room = await account.headroom("trade/amend-order", "BTC-USDT-SWAP")
    assert (room.single, room.batch, room.account) == (60, 300, 20)
    assert room.split(30) == (20, 0)  # 20 left in the account, all through one batch
    for _ in range(60):
        await account.acquire("POST", "trade/order", {"instId": "ETH-USDT"})
    waiter = asyncio.create_task(account.acquire("POST", "trade/order", {"instId": "ETH-USDT"}))
    await _settle()
    assert (await account.headroom("trade/order", "ETH-USDT")).single == 0  # full, and one queued
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)


def test_headroom_split_never_makes_a_batch_of_one() -> None:
    room = Headroom("/api/v5/trade/order", "/api/v5/trade/batch-orders", single=5, batch=1, account=None)
    assert room.split(3) == (0, 3)
    room = Headroom("/api/v5/trade/order", "/api/v5/trade/batch-orders", single=1, batch=300, account=None)
    assert room.split(1) == (0, 1)  # one order is a single order by OKX's rule
    assert room.split(21) == (21, 0)
    room = Headroom("/api/v5/trade/order", "/api/v5/trade/batch-orders", single=2, batch=300, account=3)
    assert room.split(10) == (3, 0)


async def test_headroom_refuses_an_endpoint_without_a_batch_twin() -> None:
    limiter = MemoryRateLimiter()
    with pytest.raises(ValueError, match="no single/batch pair"):
        await limiter.headroom("trade/fills", "BTC-USDT", uid="u1", method="GET")


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
