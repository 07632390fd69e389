"""The Redis limiter against a real Redis server: several processes on one key share OKX's buckets."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from okxbot.okx.ratelimit import ANSWERED_MARGIN_MS, limiter_from_url
from okxbot.okx.ratelimit_redis import RateLimiterUnavailable, RedisRateLimiter

BALANCE = "/api/v5/account/balance"  # 10 per 2 s per uid
PROCESSES = 4
PER_PROCESS = 6  # 24 requests through a 10-per-window bucket: three windows


def _script_calls(url: str) -> int:
    """How many Lua scripts the Redis server has run (INFO commandstats)."""
    import redis as redis_client

    with redis_client.Redis.from_url(url) as conn:
        stats = conn.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("eval", "evalsha"))


async def _until(condition: Callable[[], bool], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def _hammer(url: str, start: Any, count: int) -> list[float]:
    """One process: `count` balance requests for the shared uid; the wall-clock time of each grant.

    `start` is a barrier shared by the processes: each goes once all have started and imported."""

    async def run() -> list[float]:
        limiter = limiter_from_url(url)
        stamps = []
        try:
            for _ in range(count):
                await limiter.acquire("GET", BALANCE, uid="shared")
                stamps.append(time.time())
        finally:
            await limiter.close()
        return stamps

    start.wait(60)
    return asyncio.run(run())


def test_four_processes_never_exceed_a_bucket_together(redis) -> None:
    # the margin absorbs the time between a grant in Redis and the stamp taken by its process, which
    # is at the mercy of the OS scheduler on a busy machine
    url = f"{redis.url}?prefix=t{uuid.uuid4().hex[:8]}&margin_ms=250"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ProcessPoolExecutor(PROCESSES, mp_context=ctx) as pool:
        start = manager.Barrier(PROCESSES)
        futures = [pool.submit(_hammer, url, start, PER_PROCESS) for _ in range(PROCESSES)]
        per_process = [f.result(timeout=60) for f in futures]
    stamps = sorted(t for process in per_process for t in process)
    assert len(stamps) == PROCESSES * PER_PROCESS
    assert all(len(p) == PER_PROCESS for p in per_process)
    # OKX's rule, as the simulator applies it: never more than 10 grants in any 2 s window
    for i in range(len(stamps) - 10):
        assert stamps[i + 10] - stamps[i] >= 2.0, (i, stamps[i + 10] - stamps[i])
    # and the processes did share the first window rather than take turns at whole windows
    first_window = [t for t in stamps if t < stamps[0] + 2.0]
    assert len({i for i, p in enumerate(per_process) for t in p if t in first_window}) > 1


async def test_accounts_and_instruments_do_not_share_redis_buckets(redis) -> None:
    limiter = limiter_from_url(f"{redis.url}?prefix=t{uuid.uuid4().hex[:8]}")
    assert isinstance(limiter, RedisRateLimiter)
    try:
        for _ in range(10):
            await limiter.acquire("GET", BALANCE, uid="a")
        blocked = asyncio.create_task(limiter.acquire("GET", BALANCE, uid="a"))
        await limiter.acquire("GET", BALANCE, uid="b")
        await limiter.acquire("POST", "/api/v5/trade/order", uid="a", orders_by_inst={"BTC-USDT": 1})
        assert not blocked.done()
        usage = {(u.name, u.bucket): (u.used, u.capacity) for u in await limiter.usage(top=10)}
        assert usage[("GET /api/v5/account/balance", "a")] == (10, 10)
        assert usage[("GET /api/v5/account/balance", "b")] == (1, 10)
        assert usage[("POST /api/v5/trade/order", "a|BTC-USDT")] == (1, 60)
        blocked.cancel()
        await asyncio.gather(blocked, return_exceptions=True)
    finally:
        await limiter.close()


async def test_a_batch_that_does_not_fit_records_nothing(redis) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    first = limiter_from_url(f"{redis.url}?prefix={prefix}")
    second = limiter_from_url(f"{redis.url}?prefix={prefix}")  # as another process would
    try:
        batch = {f"I{i}-USDT-SWAP": 20 for i in range(49)}  # 980 of the 1000-order sub-account budget
        await first.acquire("POST", "/api/v5/trade/batch-orders", uid="u", orders_by_inst=batch)
        scripts_before = _script_calls(redis.url)
        too_big = asyncio.create_task(
            first.acquire(
                "POST",
                "/api/v5/trade/batch-orders",
                uid="u",
                orders_by_inst={"X-USDT-SWAP": 20, "Y-USDT-SWAP": 5},
            )
        )
        # Redis has run the refused batch's script (it counts every script call): from here on the
        # second limiter's request is decided after it, and the batch has not been granted
        await _until(lambda: _script_calls(redis.url) > scripts_before)
        assert not too_big.done()
        # the refused batch left nothing behind in Redis: 20 more orders still fit, X holds only them
        await second.acquire(
            "POST", "/api/v5/trade/batch-orders", uid="u", orders_by_inst={"X-USDT-SWAP": 20}
        )
        usage = {(u.name, u.bucket): u.used for u in await second.usage(top=10)}
        assert usage[("sub-account orders", "u")] == 1000
        assert usage[("POST /api/v5/trade/batch-orders", "u|X-USDT-SWAP")] == 20
        too_big.cancel()
        await asyncio.gather(too_big, return_exceptions=True)
    finally:
        await first.close()
        await second.close()


async def test_an_unreachable_redis_says_so_without_leaking_the_password() -> None:
    limiter = limiter_from_url("redis://:hunter2secret@127.0.0.1:1/0")
    try:
        with pytest.raises(RateLimiterUnavailable, match=r"127\.0\.0\.1:1.*unreachable.*memory://") as err:
            await limiter.acquire("GET", BALANCE, uid="u")
        assert "hunter2secret" not in str(err.value)
    finally:
        await limiter.close()


async def test_answered_requests_move_to_their_answer_time_in_redis(redis) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    limiter = limiter_from_url(f"{redis.url}?prefix={prefix}&margin_ms=50")
    try:
        account = limiter.bind(uid="u")
        grants = [await account.acquire("GET", BALANCE) for _ in range(10)]  # 10 per 2 s: full
        await asyncio.sleep(0.3)
        answered = time.time()  # every answer below is recorded at this time or later
        for grant in grants:
            await grant.complete()
        await account.acquire("GET", BALANCE)
        assert time.time() - answered >= 2.0 + ANSWERED_MARGIN_MS / 1000 - 0.002
    finally:
        await limiter.close()


async def test_headroom_reads_the_buckets_other_processes_filled(redis) -> None:
    url = f"{redis.url}?prefix=t{uuid.uuid4().hex[:8]}"
    first, second = limiter_from_url(url), limiter_from_url(url)
    try:
        for _ in range(7):
            await first.acquire("POST", "/api/v5/trade/order", uid="a", orders_by_inst={"BTC-USDT-SWAP": 1})
        await first.acquire(
            "POST", "/api/v5/trade/batch-orders", uid="a", orders_by_inst={"BTC-USDT-SWAP": 20}
        )
        room = await second.bind(uid="a").headroom("trade/order", "BTC-USDT-SWAP")
        assert (room.single, room.batch, room.account) == (53, 280, 973)
    finally:
        await first.close()
        await second.close()
