"""Unmodified ccxt.pro against the simulator's WebSocket API: market data, private streams, WS orders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import ccxt.pro as ccxtpro
import pytest

from okxbot.sim.server import RunningSim
from tests.sim.book_driver import BookDriver, quiet_simulator

SYMBOL = "BTC/USDT"


@pytest.fixture(scope="module")
def quiet_sim() -> Iterator[RunningSim]:
    with quiet_simulator(seed=5, connections_per_second=100) as sim:
        yield sim


@pytest.fixture(scope="module")
def driver(quiet_sim: RunningSim) -> BookDriver:
    book_driver = BookDriver(quiet_sim, seed=17)
    book_driver.fill(2500)
    return book_driver


@pytest.fixture
async def okx(quiet_sim: RunningSim) -> AsyncIterator[ccxtpro.okx]:
    key = quiet_sim.keys[0]
    exchange = ccxtpro.okx(
        {
            "apiKey": key["apiKey"],
            "secret": key["secretKey"],
            "password": key["passphrase"],
            "options": {"checksum": True},
        }
    )
    exchange.urls["api"]["rest"] = quiet_sim.rest
    exchange.urls["api"]["ws"] = quiet_sim.ws
    try:
        yield exchange
    finally:
        await exchange.close()
        # the next test counts subscriptions from zero: wait until the simulator let these sockets go
        await eventually(lambda: not any(ws_stats(quiet_sim)["connections"].values()))


async def eventually(check: Callable[[], bool], timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


def ws_stats(sim: RunningSim) -> dict[str, Any]:
    return sim.admin("GET", "/__sim__/ws-stats")


async def subscribed(sim: RunningSim, *channels: str) -> None:
    """Until the simulator holds a subscription to each channel (it then pushes what happens)."""
    await eventually(lambda: all(ws_stats(sim)["subscriptions"].get(c, 0) >= 1 for c in channels))


async def waiting(okx: ccxtpro.okx, stream: str) -> None:
    """Until a watch on `stream` (ccxt's message hash, e.g. "orders:BTC-USDT") waits for its next push,
    so a push caused from now on resolves it."""
    await eventually(lambda: any(h.startswith(stream) for c in okx.clients.values() for h in c.futures))


def floats(levels: list[list[str]]) -> list[list[float]]:
    return [[float(px), float(sz)] for px, sz, *_ in levels]


async def test_watch_order_book_follows_500_updates_exactly(
    okx: ccxtpro.okx, quiet_sim: RunningSim, driver: BookDriver
) -> None:
    book = await okx.watch_order_book(SYMBOL)
    for _ in range(520):
        seq_id, expected = driver.step()
        while book["nonce"] != seq_id:
            book = await asyncio.wait_for(okx.watch_order_book(SYMBOL), 5)
        assert book["bids"] == floats(expected["bids"])
        assert book["asks"] == floats(expected["asks"])
    assert len(book["bids"]) == 400


async def test_a_skipped_sequence_number_is_an_invalid_nonce(
    okx: ccxtpro.okx, quiet_sim: RunningSim, driver: BookDriver
) -> None:
    await okx.watch_order_book(SYMBOL)
    quiet_sim.admin("POST", "/__sim__/ws-faults", {"kind": "skip-seq", "instId": "BTC-USDT"})
    driver.step()
    with pytest.raises(ccxtpro.InvalidNonce):
        for _ in range(5):
            await asyncio.wait_for(okx.watch_order_book(SYMBOL), 5)


async def test_ticker_trades_and_candles_agree_with_rest(
    okx: ccxtpro.okx, quiet_sim: RunningSim, driver: BookDriver
) -> None:
    await okx.watch_ticker(SYMBOL)
    await okx.watch_ohlcv(SYMBOL, "1m")
    trades_task = asyncio.ensure_future(okx.watch_trades(SYMBOL))
    ticker_task = asyncio.ensure_future(okx.watch_ticker(SYMBOL))
    candle_task = asyncio.ensure_future(okx.watch_ohlcv(SYMBOL, "1m"))
    await subscribed(quiet_sim, "trades", "tickers", "candle1m")  # the trade happens after these
    await waiting(okx, "trades")
    driver.cross("buy", "0.05")
    trades = await asyncio.wait_for(trades_task, 5)
    rest_trades = await okx.fetch_trades(SYMBOL, limit=5)
    assert trades[-1]["id"] == rest_trades[-1]["id"]
    assert trades[-1]["price"] == rest_trades[-1]["price"] and trades[-1]["side"] == "buy"

    # The trade moved the ticker and the current candle; nothing else moves in this simulator.
    await asyncio.wait_for(ticker_task, 5)
    await asyncio.wait_for(candle_task, 5)
    # ccxt keeps the latest push of each stream; the trade's pushes may need a tick (100 ms, 1 s).
    await eventually(lambda: okx.tickers[SYMBOL]["last"] == trades[-1]["price"])
    ticker = okx.tickers[SYMBOL]
    rest_ticker = await okx.fetch_ticker(SYMBOL)
    assert (ticker["last"], ticker["bid"], ticker["ask"], ticker["baseVolume"]) == (
        rest_ticker["last"],
        rest_ticker["bid"],
        rest_ticker["ask"],
        rest_ticker["baseVolume"],
    )
    rest_candle = (await okx.fetch_ohlcv(SYMBOL, "1m", limit=1))[-1]
    await eventually(lambda: okx.ohlcvs[SYMBOL]["1m"][-1] == rest_candle)


async def test_rest_order_goes_live_fills_and_cancels_on_watch_orders_and_balance(
    okx: ccxtpro.okx, quiet_sim: RunningSim, driver: BookDriver
) -> None:
    await okx.load_markets()
    best_ask = (await okx.fetch_order_book(SYMBOL, 1))["asks"][0][0]
    orders_task = asyncio.ensure_future(okx.watch_orders(SYMBOL))
    balance = await asyncio.wait_for(okx.watch_balance(), 5)  # the account snapshot
    await subscribed(quiet_sim, "orders", "account")  # both subscriptions in place before the order
    await waiting(okx, "orders")
    usdt_before = balance["USDT"]["free"]

    # A resting buy above every other bid: the next market sell fills it first. Each watch is
    # started before the action it waits for, so no push can slip past it.
    price = best_ask - 0.1
    order = await okx.create_order(SYMBOL, "limit", "buy", 0.02, price)
    updates = await asyncio.wait_for(orders_task, 5)
    assert updates[-1]["id"] == order["id"] and updates[-1]["status"] == "open"
    await eventually(lambda: okx.balance["USDT"]["used"] == pytest.approx(0.02 * price))
    assert okx.balance["USDT"]["free"] < usdt_before

    orders_task = asyncio.ensure_future(okx.watch_orders(SYMBOL))
    await waiting(okx, "orders")  # the watch waits before the fill happens
    driver.cross("sell", "0.01")
    updates = await asyncio.wait_for(orders_task, 5)
    assert updates[-1]["id"] == order["id"]
    assert updates[-1]["filled"] == pytest.approx(0.01) and updates[-1]["status"] == "open"
    fill = updates[-1]["info"]
    assert (fill["fillSz"], fill["execType"], fill["state"]) == ("0.01", "M", "partially_filled")
    assert fill["tradeId"] and float(fill["fillPx"]) == price and float(fill["fillFee"]) < 0
    await eventually(lambda: okx.balance.get("BTC", {}).get("free", 0) > 0)

    orders_task = asyncio.ensure_future(okx.watch_orders(SYMBOL))
    await waiting(okx, "orders")  # the watch waits before the cancel goes out
    await okx.cancel_order(order["id"], SYMBOL)
    updates = await asyncio.wait_for(orders_task, 5)
    assert updates[-1]["id"] == order["id"] and updates[-1]["status"] == "canceled"
    assert updates[-1]["info"]["cancelSource"] == "1"


async def test_create_and_cancel_order_over_the_socket(okx: ccxtpro.okx, quiet_sim: RunningSim) -> None:
    placed = await okx.create_order_ws(SYMBOL, "limit", "buy", 0.001, 30000)
    rest_view = await okx.fetch_order(placed["id"], SYMBOL)
    assert rest_view["status"] == "open" and rest_view["price"] == 30000
    canceled = await okx.cancel_order_ws(placed["id"], SYMBOL)
    assert canceled["id"] == placed["id"]
    assert (await okx.fetch_order(placed["id"], SYMBOL))["status"] == "canceled"


async def test_a_dropped_connection_is_seen_as_a_disconnect(okx: ccxtpro.okx, quiet_sim: RunningSim) -> None:
    await okx.watch_ticker(SYMBOL)
    pending = asyncio.ensure_future(okx.watch_ticker(SYMBOL))
    await waiting(okx, "ticker")  # the watch waits on the connection that is about to drop
    dropped = quiet_sim.admin("POST", "/__sim__/ws-faults", {"kind": "drop", "path": "/ws/v5/public"})
    assert dropped["connections"] >= 1
    with pytest.raises(ccxtpro.NetworkError):
        await asyncio.wait_for(pending, 5)
