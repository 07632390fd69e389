"""OKX's 480 subscribe/unsubscribe/login messages per hour on one WebSocket connection."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import ccxt.pro as ccxtpro
import pytest

from okxbot.okx.limits import WS_SUBSCRIBE_LOGIN, Limit
from okxbot.okx.ws_budget import ConnectionBudget
from tests.okx.simkit import client

PER_HOUR = WS_SUBSCRIBE_LOGIN.capacity


def _answers(exchange: Any) -> list[dict[str, Any]]:
    """Every subscribe/unsubscribe/error event the exchange receives from now on."""
    seen: list[dict[str, Any]] = []
    original = exchange.handle_message

    def recording(ws: Any, message: Any) -> Any:
        if isinstance(message, dict) and message.get("event") in ("subscribe", "unsubscribe", "error"):
            seen.append(message)
        return original(ws, message)

    exchange.handle_message = recording
    return seen


def _pongs(exchange: Any) -> list[str]:
    """Every "pong" the exchange receives from now on."""
    seen: list[str] = []
    original = exchange.handle_pong

    def recording(ws: Any, message: Any) -> Any:
        seen.append(message)
        return original(ws, message)

    exchange.handle_pong = recording
    return seen


def _churn(n: int) -> list[dict[str, Any]]:
    """n messages that each count: unsubscribe / subscribe of one ticker, alternately."""
    arg = [{"channel": "tickers", "instId": "ETH-USDT"}]
    return [{"op": "unsubscribe" if i % 2 == 0 else "subscribe", "args": arg} for i in range(n)]


async def _public_socket(exchange: Any, sim: Any) -> Any:
    await exchange.watch_ticker("BTC/USDT")  # connects and spends the first message
    (ws,) = [c for url, c in exchange.clients.items() if url.endswith("/public")]
    return ws


async def _settle(seen: list[Any], count: int) -> None:
    deadline = time.monotonic() + 10
    while len(seen) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


async def test_the_481st_message_of_the_hour_waits_instead_of_drawing_60014(sim: Any, tmp_path: Path) -> None:
    async with client(sim, None, tmp_path) as okx:
        seen = _answers(okx.raw)  # before connecting: ccxt binds the handler to the connection
        pongs = _pongs(okx.raw)
        ws = await _public_socket(okx.raw, sim)
        for message in _churn(PER_HOUR - 1):
            await ws.send(message)
        await _settle(seen, PER_HOUR)
        assert ws.okx_budget.used() == PER_HOUR
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.send(_churn(1)[0]), 1.0)
        # a ping is not budgeted, and OKX answers a connection's messages in order: once its pong is
        # here, an answer to anything sent before it (a 60014 for the 481st) would be here too
        # (ccxt's own keep-alive pings come 20 s apart: none is in flight in this short test)
        await ws.send("ping")
        await _settle(pongs, 1)
        assert pongs == ["pong"]
        assert [m for m in seen if m.get("event") == "error"] == []
        assert len(seen) == PER_HOUR  # every message the budget let through was answered


async def test_unmodified_ccxt_pro_gets_60014_on_the_481st(sim: Any) -> None:
    plain = ccxtpro.okx({})
    plain.urls["api"] = dict(plain.urls["api"], rest=sim.rest, ws=sim.ws)
    plain.options["fetchMarkets"] = {"types": ["spot"]}
    try:
        seen = _answers(plain)
        ws = await _public_socket(plain, sim)
        for message in _churn(PER_HOUR):
            await ws.send(message)
        await _settle(seen, PER_HOUR + 1)
        errors = [m for m in seen if m.get("event") == "error"]
        assert [e.get("code") for e in errors] == ["60014"]
    finally:
        await plain.close()


async def test_budget_waits_first_come_first_served_and_resets_per_connection() -> None:
    budget = ConnectionBudget(Limit("test", 3, 300, "connection"), margin_ms=0)
    start = time.monotonic()
    for _ in range(3):
        assert await budget.take() == 0.0
    order: list[int] = []

    async def take(i: int) -> None:
        await budget.take()
        order.append(i)

    await asyncio.gather(*(take(i) for i in range(4)))
    elapsed = time.monotonic() - start
    assert order == [0, 1, 2, 3]
    assert 0.3 <= elapsed < 1.0  # the 4th..6th waited one window, the 7th a second one
    assert budget.used() >= 1
    budget.reset()
    assert budget.used() == 0
    assert await budget.take() == 0.0
