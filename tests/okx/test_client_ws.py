"""WebSocket through the same clock and limiter: live tickers/books, login and orders under skew."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt.pro as ccxtpro
import pytest

from okxbot.okx.client import process_limiter
from tests.okx.simkit import client, hits, new_key, sim_orders

D = Decimal


class RecordingLimiter:
    """The real process limiter, noting which buckets each request asked for."""

    def __init__(self) -> None:
        self.inner = process_limiter().bind(uid=None)
        self.calls: list[tuple[str, str, Any]] = []

    async def acquire(self, method: str, path: str, params: Any = None) -> None:
        self.calls.append((method, path, params))
        await self.inner.acquire(method, path, params)


async def test_tickers_and_books_are_served_from_live_subscriptions(sim: Any, tmp_path: Path) -> None:
    async with client(sim, None, tmp_path) as okx:
        await okx.stream_ticker("BTC/USDT")
        await okx.stream_order_book("BTC/USDT")
        tickers, books = hits(sim, "/api/v5/market/ticker"), hits(sim, "/api/v5/market/books")
        for _ in range(3):
            ticker = await okx.fetch_ticker("BTC/USDT")
            book = await okx.fetch_order_book("BTC/USDT", depth=5)
        assert ticker.source == "ws" and isinstance(ticker.last, Decimal) and ticker.last > 0
        assert book.source == "ws" and len(book.bids) == 5 and len(book.asks) == 5
        assert book.bids[0].price < book.asks[0].price
        assert [lv.price for lv in book.asks] == sorted(lv.price for lv in book.asks)
        # nothing went over REST for them
        assert hits(sim, "/api/v5/market/ticker") == tickers and hits(sim, "/api/v5/market/books") == books
        # a symbol without a subscription still goes over REST
        assert (await okx.fetch_ticker("ETH/USDT")).source == "rest"


async def test_ws_login_and_order_under_40s_skew_through_the_limiter(sim: Any, tmp_path: Path) -> None:
    key = new_key(sim)
    sim.admin("POST", "/__sim__/clock", {"offsetMs": 40000})
    try:
        # plain ccxt.pro logs in with the local clock: refused
        plain = ccxtpro.okx(
            {"apiKey": key["apiKey"], "secret": key["secretKey"], "password": key["passphrase"]}
        )
        plain.urls["api"]["ws"] = sim.ws
        with pytest.raises(ccxtpro.BaseError) as refused:
            await asyncio.wait_for(plain.authenticate(), 10)
        assert "60006" in str(refused.value) or "60004" in str(refused.value)
        await plain.close()

        async with client(sim, key, tmp_path) as okx:
            recorder = RecordingLimiter()
            okx.raw.okx_limiter = recorder
            order = await okx.raw.create_order_ws(
                "BTC/USDT", "limit", "buy", 0.001, 30000, {"clOrdId": "wsorder1"}
            )
            assert order["clientOrderId"] == "wsorder1"
            assert 39_000 < okx.clock.offset_ms < 41_000
            assert ("POST", "/api/v5/trade/order", {"instId": "BTC-USDT"}) in recorder.calls
            assert ("GET", "/ws/v5/private", None) in recorder.calls  # the connection itself
            placed = sim_orders(sim, key["uid"], "wsorder1")
            assert len(placed) == 1 and placed[0]["px"] == "30000"
            canceled = await okx.raw.cancel_order_ws(order["id"], "BTC/USDT")
            assert canceled["id"] == order["id"]
            assert ("POST", "/api/v5/trade/cancel-order", {"instId": "BTC-USDT"}) in recorder.calls
    finally:
        sim.admin("POST", "/__sim__/clock", {"offsetMs": 0})
