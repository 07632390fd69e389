"""Perpetual swaps over the simulator's WebSocket: unmodified ccxt.pro (watchPositions, watchMarkPrice,
watchFundingRate, watchLiquidations) and raw frames for the channels ccxt does not cover."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import ccxt.pro as ccxtpro
import pytest

from okxbot.sim.server import RunningSim, start_sim
from tests.sim.okx_http import signed
from tests.sim.ws_client import Conn

pytestmark = pytest.mark.timeout(120)
LINEAR = "BTC/USDT:USDT"


@pytest.fixture(scope="module")
def swap_sim() -> Iterator[RunningSim]:
    with start_sim(seed=13) as sim:
        # These tests open connections faster than OKX's 3 per second from one IP allows.
        sim.admin("POST", "/__sim__/ws-config", {"connectionsPerSecond": 100})
        yield sim


@pytest.fixture
def key(swap_sim: RunningSim) -> dict[str, Any]:
    swap_sim.admin("POST", "/__sim__/reset-limits")
    made = swap_sim.admin("POST", "/__sim__/keys", {"balances": {"USDT": "50000"}, "label": "wsswaps"})
    swap_sim.admin("POST", "/__sim__/account-level", {"uid": made["uid"], "acctLv": "2"})
    return made


@pytest.fixture
async def pro(swap_sim: RunningSim, key: dict[str, Any]) -> AsyncIterator[ccxtpro.okx]:
    exchange = ccxtpro.okx(
        {"apiKey": key["apiKey"], "secret": key["secretKey"], "password": key["passphrase"]}
    )
    exchange.urls["api"]["rest"] = swap_sim.rest
    exchange.urls["api"]["ws"] = swap_sim.ws
    try:
        yield exchange
    finally:
        await exchange.close()


def rest(sim: RunningSim, key: dict[str, Any], method: str, path: str, payload: Any = None) -> dict[str, Any]:
    body = json.dumps(payload).encode() if payload is not None else b""
    return signed(sim.rest, key, method, path, body).json()


async def subscribed(sim: RunningSim, channel: str) -> None:
    """Wait until the simulator holds a subscription to `channel` (a push sent earlier would be lost)."""
    async with asyncio.timeout(10):
        while not sim.admin("GET", "/__sim__/ws-stats")["subscriptions"].get(channel):
            await asyncio.sleep(0.02)


def market_order(sim: RunningSim, key: dict[str, Any], side: str, sz: str, **extra: str) -> None:
    order = {
        "instId": "BTC-USDT-SWAP",
        "tdMode": extra.pop("tdMode", "cross"),
        "side": side,
        "ordType": "market",
        "sz": sz,
        **extra,
    }
    answer = rest(sim, key, "POST", "/api/v5/trade/order", order)
    assert answer["data"][0]["sCode"] == "0", answer


async def test_ccxt_pro_watches_positions_mark_price_and_funding(
    pro: ccxtpro.okx, swap_sim: RunningSim, key: dict[str, Any]
) -> None:
    await pro.load_markets()
    mark = await pro.watch_mark_price(LINEAR)
    assert mark["symbol"] == LINEAR and mark["markPrice"] > 0
    rate = await pro.watch_funding_rate(LINEAR)
    assert rate["symbol"] == LINEAR and abs(rate["fundingRate"]) <= 0.00375
    first = asyncio.ensure_future(pro.watch_positions())
    # Whether the order lands before or after the subscription, a push shows the 3 contracts.
    market_order(swap_sim, key, "buy", "3")
    async with asyncio.timeout(10):
        positions = await first
        while not any(p["symbol"] == LINEAR and p["contracts"] == 3 for p in positions):
            positions = await pro.watch_positions()
    position = next(p for p in positions if p["symbol"] == LINEAR)
    assert (position["side"], position["marginMode"], position["contractSize"]) == ("long", "cross", 0.01)
    market_order(swap_sim, key, "sell", "3", reduceOnly="true")
    async with asyncio.timeout(10):
        while True:
            positions = await pro.watch_positions()
            if any(p["symbol"] == LINEAR and not p["contracts"] for p in positions):
                break  # the close is pushed as pos "0"


async def test_ccxt_pro_watches_public_liquidations(pro: ccxtpro.okx, swap_sim: RunningSim) -> None:
    await pro.load_markets()
    victim = swap_sim.admin("POST", "/__sim__/keys", {"balances": {"USDT": "1000"}})
    swap_sim.admin("POST", "/__sim__/account-level", {"uid": victim["uid"], "acctLv": "2"})
    lever = {"instId": "SOL-USDT-SWAP", "lever": "50", "mgnMode": "isolated"}
    assert rest(swap_sim, victim, "POST", "/api/v5/account/set-leverage", lever)["code"] == "0"
    order = {"instId": "SOL-USDT-SWAP", "tdMode": "isolated", "side": "buy", "ordType": "market", "sz": "20"}
    assert rest(swap_sim, victim, "POST", "/api/v5/trade/order", order)["data"][0]["sCode"] == "0"
    watching = asyncio.ensure_future(pro.watch_liquidations_for_symbols(["SOL/USDT:USDT"]))
    await subscribed(swap_sim, "liquidation-orders")
    swap_sim.admin("POST", "/__sim__/price", {"instId": "SOL-USDT", "movePct": "-5"})
    swap_sim.admin("POST", "/__sim__/tick")
    async with asyncio.timeout(10):
        liquidations = await watching
    assert liquidations[0]["symbol"] == "SOL/USDT:USDT" and liquidations[0]["contracts"] == 20


async def watch_positions_and_balances(conn: Conn, key: dict[str, Any]) -> None:
    """Log in and subscribe to positions (every change pushed at once) and balance_and_position."""
    assert (await conn.login(key))["code"] == "0"
    await conn.send({"op": "subscribe", "args": [
        {"channel": "positions", "instType": "SWAP", "extraParams": '{"updateInterval": "0"}'},
        {"channel": "balance_and_position"},
    ]})  # fmt: skip


async def test_positions_and_balance_and_position_channels(swap_sim: RunningSim, key: dict[str, Any]) -> None:
    async with await Conn.open(swap_sim.ws + "/private") as conn:
        await watch_positions_and_balances(conn, key)
        snapshot = await conn.push("positions")
        assert (snapshot["eventType"], snapshot["data"]) == ("snapshot", [])
        bp = await conn.push("balance_and_position")
        assert bp["data"][0]["eventType"] == "snapshot"
        assert bp["data"][0]["balData"][0] | {"uTime": ""} == {"ccy": "USDT", "cashBal": "50000", "uTime": ""}
        market_order(swap_sim, key, "sell", "2")
        update = await conn.push("positions")
        row = update["data"][0]
        assert (update["eventType"], row["pos"], row["posSide"], row["instId"]) == (
            "event_update",
            "-2",
            "net",
            "BTC-USDT-SWAP",
        )
        assert update["arg"] == {"channel": "positions", "instType": "SWAP", "uid": key["uid"]}
        filled = await conn.push("balance_and_position")
        data = filled["data"][0]
        assert data["eventType"] == "filled" and data["posData"][0]["pos"] == "-2" and data["trades"]
        swap_sim.admin(
            "POST", "/__sim__/funding", {"instId": "BTC-USDT-SWAP", "rate": "0.0001", "settle": True}
        )
        paid = await conn.push("positions")
        assert Decimal(paid["data"][0]["fundingFee"]) > 0  # a short receives a positive rate
        funding = await conn.push("balance_and_position")
        assert funding["data"][0]["eventType"] == "funding_fee"
        swap_sim.admin("POST", "/__sim__/funding", {"instId": "BTC-USDT-SWAP", "rate": None})
        market_order(swap_sim, key, "buy", "2", reduceOnly="true")
        closed = await conn.push("positions")
        assert closed["data"][0]["pos"] == "0"


async def test_margin_moves_and_close_position_are_pushed(swap_sim: RunningSim, key: dict[str, Any]) -> None:
    async with await Conn.open(swap_sim.ws + "/private") as conn:
        await watch_positions_and_balances(conn, key)
        await conn.push("positions")
        await conn.push("balance_and_position")
        market_order(swap_sim, key, "buy", "4", tdMode="isolated")
        opened = (await conn.push("positions"))["data"][0]
        await conn.push("balance_and_position")
        move = {"instId": "BTC-USDT-SWAP", "posSide": "net", "type": "add", "amt": "12.5"}
        assert rest(swap_sim, key, "POST", "/api/v5/account/position/margin-balance", move)["code"] == "0"
        moved = (await conn.push("positions"))["data"][0]
        assert Decimal(moved["margin"]) == Decimal(opened["margin"]) + Decimal("12.5")
        event = (await conn.push("balance_and_position"))["data"][0]
        assert event["eventType"] == "adjust_margin"
        assert event["posData"][0]["posId"] == moved["posId"]
        close = {"instId": "BTC-USDT-SWAP", "mgnMode": "isolated"}
        assert rest(swap_sim, key, "POST", "/api/v5/trade/close-position", close)["data"] == [
            {"instId": "BTC-USDT-SWAP", "posSide": "net", "clOrdId": "", "tag": ""}
        ]
        closed = (await conn.push("positions"))["data"][0]
        assert (closed["pos"], closed["mgnMode"]) == ("0", "isolated")
        assert (await conn.push("balance_and_position"))["data"][0]["eventType"] == "filled"


async def test_public_and_business_swap_channels(swap_sim: RunningSim) -> None:
    async with await Conn.open(swap_sim.ws + "/public") as public:
        await public.send({"op": "subscribe", "args": [
            {"channel": "mark-price", "instId": "BTC-USDT-SWAP"},
            {"channel": "funding-rate", "instId": "BTC-USD-SWAP"},
            {"channel": "price-limit", "instId": "BTC-USDT-SWAP"},
            {"channel": "index-tickers", "instId": "BTC-USD"},
            {"channel": "mark-price", "instId": "BTC-USD"},
        ]})  # fmt: skip
        mark = await public.push("mark-price")
        assert set(mark["data"][0]) == {"instId", "instType", "markPx", "ts"}
        funding = await public.push("funding-rate")
        assert (
            funding["data"][0]["instId"] == "BTC-USD-SWAP"
            and funding["data"][0]["method"] == "current_period"
        )
        limits = await public.push("price-limit")
        assert Decimal(limits["data"][0]["buyLmt"]) > Decimal(limits["data"][0]["sellLmt"])
        index = await public.push("index-tickers")
        assert index["data"][0]["instId"] == "BTC-USD" and Decimal(index["data"][0]["idxPx"]) > 0
        error = await public.expect_event(("error",))
        assert error["code"] == "60018"  # an index is not a swap: no mark-price channel
    async with await Conn.open(swap_sim.ws + "/business") as business:
        await business.send({"op": "subscribe", "args": [
            {"channel": "mark-price-candle1m", "instId": "BTC-USDT-SWAP"},
            {"channel": "index-candle1m", "instId": "BTC-USDT"},
        ]})  # fmt: skip
        for channel in ("mark-price-candle1m", "index-candle1m"):
            row = (await business.push(channel))["data"][0]
            assert len(row) == 6 and row[5] in ("0", "1")
