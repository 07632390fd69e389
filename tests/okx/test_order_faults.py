"""Idempotent orders: after each injected fault the order is looked up by clOrdId, never doubled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from okxbot.okx.client import ClientConfig, OkxClient
from okxbot.okx.clock import local_ms
from okxbot.okx.errors import OkxRateLimited, OkxUnavailable
from tests.okx.simkit import client, credentials, hits, new_key, sim_orders

D = Decimal
ORDER_PATH = "/api/v5/trade/order"


@pytest.mark.parametrize(
    ("kind", "extra", "sends"),
    [
        # executed, then the connection closes without an answer: found by lookup, not resent
        ("drop", {}, 1),
        # executed, answer held past the client's 1 s timeout: found by lookup, not resent
        ("delay", {"delayMs": 2500}, 1),
        # 50013 / 5xx answers are ambiguous too: tests/okx/test_unknown_outcomes.py
    ],
)
async def test_fault_is_resolved_by_client_order_id_without_a_duplicate(
    sim: Any, tmp_path: Path, kind: str, extra: dict[str, Any], sends: int
) -> None:
    key = new_key(sim)
    async with client(sim, key, tmp_path, timeout_ms=1000) as okx:
        intent = await okx.prepare_order("BTC/USDT", "buy", D("0.001"), D("30000"))
        # the id exists before anything is sent: a journal can record it first
        assert len(intent.client_order_id) == 32
        assert sim_orders(sim, key["uid"], intent.client_order_id) == []

        sim.admin("POST", "/__sim__/faults", {"path": ORDER_PATH, "kind": kind, "count": 1, **extra})
        before = hits(sim, ORDER_PATH)
        order = await okx.place(intent)

        assert order.client_order_id == intent.client_order_id
        assert order.state == "live" and order.order_id
        on_exchange = sim_orders(sim, key["uid"], intent.client_order_id)
        assert len(on_exchange) == 1 and on_exchange[0]["ordId"] == order.order_id
        # POSTs + lookups: every send is followed by exactly one lookup GET
        assert hits(sim, ORDER_PATH) - before == 2 * sends


async def test_when_even_the_lookup_fails_the_error_names_the_id_and_nothing_is_resent(
    sim: Any, tmp_path: Path
) -> None:
    key = new_key(sim)
    async with client(sim, key, tmp_path) as okx:
        intent = await okx.prepare_order("BTC/USDT", "buy", D("0.001"), D("30000"))
        # every request to the order path fails with 503 (a 5xx: outcome unknown), lookups included
        sim.admin("POST", "/__sim__/faults", {"path": ORDER_PATH, "kind": "50001", "count": 50})
        before = hits(sim, ORDER_PATH)
        try:
            with pytest.raises(OkxUnavailable) as info:
                await okx.place(intent)
        finally:
            sim.call(sim.ctx.faults.clear)
        err = info.value
        assert err.outcome_unknown and err.details["client_order_id"] == intent.client_order_id
        assert intent.client_order_id in err.hint and "before placing it again" in err.hint
        assert hits(sim, ORDER_PATH) - before == 1 + 4  # one POST, four lookups, no second POST
        assert sim_orders(sim, key["uid"], intent.client_order_id) == []


async def _burn_account_config(sim: Any, key: dict[str, Any], tmp: Path) -> None:
    """Another program on the same key, without okxbot's limiter: uses up account/config (5 / 2 s)."""
    async with client(sim, key, tmp, rate_limit=False, max_rate_retries=0) as other:
        for _ in range(5):
            await other.raw.privateGetAccountConfig()


async def test_rate_limit_hit_by_another_program_is_backed_off_and_retried(sim: Any, tmp_path: Path) -> None:
    key = new_key(sim)
    path = "/api/v5/account/config"
    async with client(sim, key, tmp_path) as ours:
        await ours.sync_clock()
        await _burn_account_config(sim, key, tmp_path)
        before = hits(sim, path)
        config = await ours.account_config()  # refused with 50011 at first, then accepted
        assert config.uid == key["uid"]
        assert hits(sim, path) - before >= 2


async def test_rate_limit_error_explains_the_other_program(sim: Any, tmp_path: Path) -> None:
    key = new_key(sim)
    async with client(sim, key, tmp_path, max_rate_retries=0) as ours:
        await ours.sync_clock()
        await _burn_account_config(sim, key, tmp_path)
        with pytest.raises(OkxRateLimited) as info:
            await ours.account_config()
        assert info.value.code == "50011" and "another program" in info.value.hint


async def test_own_requests_never_hit_the_limit(sim: Any, tmp_path: Path) -> None:
    """okxbot's limiter makes the 6th..8th account/config wait instead of being refused."""
    key = new_key(sim)
    path = "/api/v5/account/config"
    async with client(sim, key, tmp_path) as ours:
        await ours.sync_clock()
        before = hits(sim, path)
        for _ in range(8):
            await ours.raw.privateGetAccountConfig()
        assert hits(sim, path) - before == 8  # not one refused and resent


@contextlib.asynccontextmanager
async def lossy_proxy(target: str, lose: int, seen: dict[str, list[int]]) -> AsyncIterator[str]:
    """A loopback HTTP proxy to the simulator that loses the first `lose` order POSTs on the way in:
    the connection is cut before anything is forwarded, so OKX never sees them. `seen` records the
    expTime of each lost POST and the local time each forwarded POST was passed on."""
    lost = 0

    async def forward(request: web.Request) -> web.StreamResponse:
        nonlocal lost
        body = await request.read()
        if request.method == "POST" and request.path == ORDER_PATH and lost < lose:
            lost += 1
            seen.setdefault("lost_exp_time", []).append(int(request.headers["expTime"]))
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        if request.method == "POST" and request.path == ORDER_PATH:
            seen.setdefault("forwarded_at", []).append(local_ms())
        async with aiohttp.ClientSession() as session:
            async with session.request(
                request.method, target + request.path_qs, data=body, headers=headers
            ) as upstream:
                payload = await upstream.read()
                return web.Response(status=upstream.status, body=payload, content_type=upstream.content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_request_lost_before_okx_is_resent_only_after_its_exp_time(sim: Any, tmp_path: Path) -> None:
    key = new_key(sim)
    seen: dict[str, list[int]] = {}
    async with lossy_proxy(sim.rest, 1, seen) as proxy:
        config = ClientConfig(
            rest_url=proxy, ws_url=sim.ws, cache_dir=tmp_path, exp_time_ms=1000, clock_samples=3
        )
        async with OkxClient(config, credentials(key)) as okx:
            intent = await okx.prepare_order("BTC/USDT", "buy", D("0.001"), D("30000"))
            before = hits(sim, ORDER_PATH)
            order = await okx.place(intent)
    assert order.client_order_id == intent.client_order_id and order.state == "live"
    assert len(sim_orders(sim, key["uid"], intent.client_order_id)) == 1
    # the lost POST never arrived: lookup, lookup after expTime, one POST, the read-back
    assert hits(sim, ORDER_PATH) - before == 4
    # the copy was sent only once the lost request could no longer be executed (its expTime passed)
    assert len(seen["lost_exp_time"]) == 1 and len(seen["forwarded_at"]) == 1
    assert seen["forwarded_at"][0] > seen["lost_exp_time"][0]
