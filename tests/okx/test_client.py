"""OkxClient against the simulator over loopback: the seed scenario, caching, clock, market data."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from okxbot.okx.client import ClientConfig
from okxbot.okx.errors import OkxInvalidOrder, OkxOrderNotFound
from tests.okx.simkit import client, hits, new_key, sim_orders

D = Decimal


async def test_seed_scenario_balance_limit_buy_and_cancel(sim: Any, tmp_path: Path) -> None:
    key = new_key(sim, balances={"USDT": "1000", "BTC": "0"})
    async with client(sim, key, tmp_path) as okx:
        before = await okx.fetch_balance()
        assert before["USDT"].available == D("1000")

        order = await okx.create_order("BTC/USDT", "buy", D("0.001"), D("50000"))
        assert order.symbol == "BTC/USDT" and order.side == "buy" and order.order_type == "limit"
        assert order.amount == D("0.001") and order.price == D("50000")
        assert len(order.client_order_id) == 32 and order.order_id
        assert order.state in ("live", "partially_filled", "filled")

        # exactly one order on the exchange, with our clOrdId and exact strings
        placed = sim_orders(sim, key["uid"], order.client_order_id)
        assert len(placed) == 1 and placed[0]["sz"] == "0.001" and placed[0]["px"] == "50000"

        after = await okx.fetch_balance()
        spent_or_frozen = before["USDT"].available - after["USDT"].available
        assert D("0") < spent_or_frozen <= D("50")

        if order.is_open:
            assert [o.client_order_id for o in await okx.fetch_open_orders("BTC/USDT")] == [
                order.client_order_id
            ]
            result = await okx.cancel_order("BTC/USDT", order.order_id)
            assert result.ok
            assert (await okx.fetch_order("BTC/USDT", order.order_id)).state == "canceled"
            assert (await okx.fetch_balance())["USDT"].available == D("1000")
        else:
            assert (await okx.fetch_balance())["BTC"].total > 0


async def test_resting_orders_list_and_cancel_all_in_batches_of_20(sim: Any, tmp_path: Path) -> None:
    key = new_key(sim, balances={"USDT": "100000"})
    async with client(sim, key, tmp_path) as okx:
        made = [
            await okx.create_order("BTC/USDT", "buy", D("0.001"), D(30000 + i), check_funds=False)
            for i in range(23)
        ]
        assert {o.state for o in made} == {"live"}
        open_orders = await okx.fetch_open_orders()
        assert {o.client_order_id for o in open_orders} == {o.client_order_id for o in made}
        batches_before = hits(sim, "/api/v5/trade/cancel-batch-orders")
        results = await okx.cancel_all("BTC/USDT")
        assert len(results) == 23 and all(r.ok for r in results)
        assert hits(sim, "/api/v5/trade/cancel-batch-orders") - batches_before == 2
        assert await okx.fetch_open_orders() == []
        assert await okx.cancel_all() == []


async def test_caller_given_client_order_id_and_51016_resolves_to_the_placed_order(
    sim: Any, tmp_path: Path
) -> None:
    key = new_key(sim)
    async with client(sim, key, tmp_path) as okx:
        first = await okx.create_order("BTC/USDT", "buy", D("0.001"), D("30000"), client_order_id="journal42")
        assert first.client_order_id == "journal42" and first.state == "live"
        again = await okx.create_order("BTC/USDT", "buy", D("0.001"), D("30000"), client_order_id="journal42")
        assert again.order_id == first.order_id
        assert len(sim_orders(sim, key["uid"], "journal42")) == 1
        with pytest.raises(OkxInvalidOrder, match="letters and digits") as info:
            await okx.create_order("BTC/USDT", "buy", D("0.001"), D("30000"), client_order_id="my-order")
        assert info.value.local


async def test_order_lookup_and_not_found(sim: Any, tmp_path: Path) -> None:
    key = new_key(sim)
    async with client(sim, key, tmp_path) as okx:
        order = await okx.create_order("ETH/USDT", "buy", D("0.01"), D("1000"))
        by_cid = await okx.fetch_order("ETH/USDT", client_order_id=order.client_order_id)
        assert by_cid.order_id == order.order_id and by_cid.price == D("1000")
        with pytest.raises(OkxOrderNotFound) as info:
            await okx.fetch_order("ETH/USDT", client_order_id="nosuchorder")
        assert info.value.code == "51603"
        await okx.cancel_order("ETH/USDT", client_order_id=order.client_order_id)
        with pytest.raises(OkxOrderNotFound) as again:
            await okx.cancel_order("ETH/USDT", order.order_id)
        assert again.value.code == "51400" and "canceled" in again.value.hint


async def test_market_data_exact_decimals(sim: Any, tmp_path: Path) -> None:
    async with client(sim, None, tmp_path) as okx:
        ticker = await okx.fetch_ticker("BTC/USDT")
        assert isinstance(ticker.last, Decimal) and ticker.last > 0 and ticker.source == "rest"
        book = await okx.fetch_order_book("BTC/USDT", depth=3)
        assert len(book.bids) <= 3 and len(book.asks) <= 3
        for level in book.bids + book.asks:
            assert isinstance(level.price, Decimal) and level.size > 0
        prices = [lv.price for lv in book.bids]
        assert prices == sorted(prices, reverse=True)


async def test_identical_concurrent_requests_are_coalesced(sim: Any, tmp_path: Path) -> None:
    async with client(sim, None, tmp_path) as okx:
        await okx.load_markets()
        before = hits(sim, "/api/v5/market/ticker")
        tickers = await asyncio.gather(*(okx.fetch_ticker("BTC/USDT") for _ in range(8)))
        assert hits(sim, "/api/v5/market/ticker") - before == 1
        assert len({t.last for t in tickers}) == 1
        assert okx.raw.okx_coalescer.shared == 7


async def test_markets_are_cached_on_disk_with_a_ttl(sim: Any, tmp_path: Path) -> None:
    path = "/api/v5/public/instruments"
    start = hits(sim, path)
    async with client(sim, None, tmp_path) as okx:
        await okx.load_markets()
        assert "BTC/USDT" in okx.raw.markets and "BTC/USDT:USDT" in okx.raw.markets
        kinds = len(okx.config.market_types)  # one instruments request per type (spot, swap)
    assert hits(sim, path) - start == kinds
    async with client(sim, None, tmp_path) as second:  # a new process would do the same
        rules = await second.rules("BTC/USDT")
        assert rules.tick_size > 0 and rules.inst_id == "BTC-USDT"
    assert hits(sim, path) - start == kinds
    async with client(sim, None, tmp_path, markets_ttl_s=0.0) as expired:
        await expired.load_markets()
    assert hits(sim, path) - start == 2 * kinds


async def test_unknown_symbol_is_refused_before_any_order_request(sim: Any, tmp_path: Path) -> None:
    key = new_key(sim)
    async with client(sim, key, tmp_path) as okx:
        before = hits(sim, "/api/v5/trade/order")
        with pytest.raises(OkxInvalidOrder) as info:
            await okx.create_order("BTC/USDX", "buy", D("0.001"), D("30000"))
        assert info.value.code == "51001" and info.value.local
        assert "Did you mean" in info.value.hint and "BTC/USDT" in info.value.hint
        assert hits(sim, "/api/v5/trade/order") == before


async def test_40s_clock_skew_is_corrected_without_any_50102(sim: Any, tmp_path: Path) -> None:
    key = new_key(sim)
    sim.admin("POST", "/__sim__/clock", {"offsetMs": 40000})
    try:
        # plain ccxt signs with the local clock: OKX (the simulator) refuses it
        plain = ccxt_async.okx(
            {"apiKey": key["apiKey"], "secret": key["secretKey"], "password": key["passphrase"]}
        )
        plain.urls["api"]["rest"] = sim.rest
        with pytest.raises(ccxt_async.InvalidNonce):
            await plain.privateGetAccountBalance()
        await plain.close()

        async with client(sim, key, tmp_path) as okx:
            before = hits(sim, "/api/v5/trade/order")
            order = await okx.create_order("BTC/USDT", "buy", D("0.001"), D("30000"))
            assert 39_000 < okx.clock.offset_ms < 41_000
            assert order.state == "live"
            # one POST and one lookup GET: no 50102 was answered and resent
            assert hits(sim, "/api/v5/trade/order") - before == 2
    finally:
        sim.admin("POST", "/__sim__/clock", {"offsetMs": 0})


async def test_50102_forces_a_resync_and_one_resend(sim: Any, tmp_path: Path) -> None:
    key = new_key(sim)
    async with client(sim, key, tmp_path) as okx:
        await okx.fetch_balance()
        assert abs(okx.clock.offset_ms) < 1000
        sim.admin("POST", "/__sim__/clock", {"offsetMs": -45000})
        try:
            before = hits(sim, "/api/v5/account/balance")
            balances = await okx.fetch_balance()
            assert balances["USDT"].available == D("100000")
            assert hits(sim, "/api/v5/account/balance") - before == 2  # refused once, then accepted
            assert -46_000 < okx.clock.offset_ms < -44_000
        finally:
            sim.admin("POST", "/__sim__/clock", {"offsetMs": 0})


async def test_orders_carry_exp_time_from_the_corrected_clock(sim: Any, tmp_path: Path) -> None:
    key = new_key(sim)
    async with client(sim, key, tmp_path, exp_time_ms=7000) as okx:
        await okx.sync_clock()
        signed = okx.raw.sign("trade/order", ["private"], "POST", {"instId": "BTC-USDT", "clOrdId": "a1"})
        exp = int(signed["headers"]["expTime"])
        assert 6000 < exp - okx.clock.now_ms() <= 7000
        unsigned = okx.raw.sign("account/balance", ["private"], "GET", {})
        assert "expTime" not in unsigned["headers"]


async def test_account_config_for_the_posture_check(sim: Any, tmp_path: Path) -> None:
    key = new_key(sim, perm="read_only", ip="127.0.0.1")
    async with client(sim, key, tmp_path) as okx:
        config = await okx.account_config()
        assert config.uid == key["uid"]
        assert config.permissions == frozenset({"read_only"})
        assert config.ips == ("127.0.0.1",)


def test_config_refuses_settings_that_cannot_work() -> None:
    with pytest.raises(ValueError, match="not an http"):
        ClientConfig(rest_url="www.okx.com")
    with pytest.raises(ValueError, match="exp_time_ms"):
        ClientConfig(exp_time_ms=10)
    assert ClientConfig(rest_url="https://eea.okx.com").derived_ws_url() == "wss://wseea.okx.com:443/ws/v5"
    assert ClientConfig(demo=True).derived_ws_url() == "wss://wspap.okx.com:8443/ws/v5"
    assert ClientConfig(rest_url="http://127.0.0.1:9000").derived_ws_url() == "ws://127.0.0.1:9000/ws/v5"


async def test_confirm_false_skips_the_read_back_and_says_so(sim: Any, tmp_path: Path) -> None:
    key = new_key(sim)
    async with client(sim, key, tmp_path) as okx:
        await okx.load_markets()
        # an IOC buy above the ask fills at once: only the read-back can tell
        ask = (await okx.fetch_ticker("BTC/USDT")).ask
        assert ask is not None
        px = ask * D("1.01")
        before = hits(sim, "/api/v5/trade/order")  # POST and GET share the path
        confirmed = await okx.create_order("BTC/USDT", "buy", D("0.001"), px.quantize(D("0.1")), ioc=True)
        assert hits(sim, "/api/v5/trade/order") - before == 2
        assert confirmed.state == "filled" and confirmed.filled == D("0.001")

        before = hits(sim, "/api/v5/trade/order")
        quick = await okx.create_order(
            "BTC/USDT", "buy", D("0.001"), px.quantize(D("0.1")), ioc=True, confirm=False
        )
        assert hits(sim, "/api/v5/trade/order") - before == 1
        assert quick.state == "accepted" and not quick.is_open and quick.order_id
        (placed,) = sim_orders(sim, key["uid"], quick.client_order_id)
        assert placed["state"] == "filled" and placed["ordId"] == quick.order_id
