"""Unmodified ccxt (sync and async), live and demo, against the simulator with only the URL changed."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
import pytest

from okxbot.sim.server import RunningSim

pytestmark = pytest.mark.timeout(90)


async def run(result: Any) -> Any:
    """The same test body drives sync and async ccxt: await only what is awaitable."""
    return await result if inspect.isawaitable(result) else result


def make_exchange(sim: RunningSim, key: dict[str, Any], flavour: str) -> Any:
    cls = ccxt.okx if flavour == "sync" else ccxt_async.okx
    exchange = cls(
        {
            "apiKey": key["apiKey"],
            "secret": key["secretKey"],
            "password": key["passphrase"],
            "enableRateLimit": False,
        }
    )
    # ccxt builds URLs from urls['api']['rest']; sandbox mode copies urls['test'] over it.
    exchange.urls["api"]["rest"] = sim.rest
    exchange.urls["test"] = {**exchange.urls.get("test", {}), "rest": sim.rest}
    if key["demo"]:
        exchange.set_sandbox_mode(True)
    return exchange


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=["live", "demo"])
async def exchange(request: pytest.FixtureRequest, sim: RunningSim, flavour: str) -> AsyncIterator[Any]:
    sim.admin("POST", "/__sim__/reset-limits")
    key = sim.admin(
        "POST",
        "/__sim__/keys",
        {"balances": {"USDT": "100000", "BTC": "1"}, "demo": request.param == "demo", "label": "ccxt"},
    )
    ex = make_exchange(sim, key, flavour)
    try:
        yield ex
    finally:
        if flavour == "async":
            await ex.close()


async def test_the_full_spot_workflow(sim: RunningSim, exchange: Any) -> None:
    markets = await run(exchange.load_markets())
    btc = markets["BTC/USDT"]
    assert (btc["id"], btc["type"], btc["spot"], btc["base"], btc["quote"]) == (
        "BTC-USDT",
        "spot",
        True,
        "BTC",
        "USDT",
    )
    assert btc["precision"]["price"] == 0.1
    assert btc["precision"]["amount"] == 1e-08
    assert btc["limits"]["amount"]["min"] == 1e-05
    assert len([m for m in markets.values() if m["spot"]]) >= 10

    ticker = await run(exchange.fetch_ticker("BTC/USDT"))
    assert ticker["symbol"] == "BTC/USDT"
    assert 0 < ticker["bid"] < ticker["ask"]
    assert ticker["last"] > 0 and ticker["baseVolume"] > 0 and ticker["timestamp"] > 0

    book = await run(exchange.fetch_order_book("BTC/USDT", 20))
    assert len(book["bids"]) == 20 and len(book["asks"]) == 20
    assert book["bids"][0][0] < book["asks"][0][0]
    assert [b[0] for b in book["bids"]] == sorted((b[0] for b in book["bids"]), reverse=True)
    assert [a[0] for a in book["asks"]] == sorted(a[0] for a in book["asks"])

    candles = await run(exchange.fetch_ohlcv("BTC/USDT", "1m", limit=50))
    assert len(candles) == 50
    assert [c[0] for c in candles] == sorted(c[0] for c in candles)  # ccxt reverses OKX's newest-first
    assert all(c[0] % 60_000 == 0 and c[3] <= min(c[1], c[4]) <= max(c[1], c[4]) <= c[2] for c in candles)

    balance = await run(exchange.fetch_balance())
    assert (balance["USDT"]["free"], balance["USDT"]["used"], balance["USDT"]["total"]) == (
        100000.0,
        0.0,
        100000.0,
    )
    assert balance["BTC"]["total"] == 1.0

    # A buy far enough below the market to rest (the brief's 50000, with the market moved above it).
    sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "px": "60000"})
    order = await run(exchange.create_limit_buy_order("BTC/USDT", 0.001, 50000))
    assert order["id"].isdigit()
    assert order["clientOrderId"]  # ccxt's broker-prefixed clOrdId, accepted as sent
    fetched = await run(exchange.fetch_order(order["id"], "BTC/USDT"))
    assert (fetched["id"], fetched["symbol"], fetched["type"], fetched["side"], fetched["status"]) == (
        order["id"], "BTC/USDT", "limit", "buy", "open",
    )  # fmt: skip
    assert (fetched["price"], fetched["amount"], fetched["filled"], fetched["remaining"]) == (
        50000.0,
        0.001,
        0.0,
        0.001,
    )
    assert fetched["clientOrderId"] == order["clientOrderId"]
    balance = await run(exchange.fetch_balance())
    assert (balance["USDT"]["free"], balance["USDT"]["used"]) == (99950.0, 50.0)

    open_orders = await run(exchange.fetch_open_orders("BTC/USDT"))
    assert [(o["id"], o["status"], o["price"]) for o in open_orders] == [(order["id"], "open", 50000.0)]

    await run(exchange.cancel_order(order["id"], "BTC/USDT"))
    canceled = await run(exchange.fetch_order(order["id"], "BTC/USDT"))
    assert canceled["status"] == "canceled"
    assert await run(exchange.fetch_open_orders("BTC/USDT")) == []
    balance = await run(exchange.fetch_balance())
    assert (balance["USDT"]["free"], balance["USDT"]["used"]) == (100000.0, 0.0)

    sold = await run(exchange.create_market_sell_order("BTC/USDT", 0.01))
    filled = await run(exchange.fetch_order(sold["id"], "BTC/USDT"))
    assert (filled["status"], filled["type"], filled["side"], filled["filled"], filled["remaining"]) == (
        "closed", "market", "sell", 0.01, 0.0,
    )  # fmt: skip
    assert 50000 < filled["average"] < 70000
    assert filled["cost"] == pytest.approx(filled["average"] * 0.01)
    assert filled["fee"]["currency"] == "USDT" and filled["fee"]["cost"] > 0

    trades = await run(exchange.fetch_my_trades("BTC/USDT"))
    mine = [t for t in trades if t["order"] == sold["id"]]
    assert mine and sum(Decimal(str(t["amount"])) for t in mine) == Decimal("0.01")
    assert all(
        t["side"] == "sell" and t["takerOrMaker"] == "taker" and t["symbol"] == "BTC/USDT" for t in mine
    )
    proceeds = sum(Decimal(str(t["cost"])) - Decimal(str(t["fee"]["cost"])) for t in mine)

    closed = await run(exchange.fetch_closed_orders("BTC/USDT"))
    assert [o["id"] for o in closed][:1] == [sold["id"]]
    assert {o["id"]: o["status"] for o in closed}[sold["id"]] == "closed"
    canceled_orders = await run(exchange.fetch_canceled_orders("BTC/USDT"))
    assert order["id"] in [o["id"] for o in canceled_orders]

    balance = await run(exchange.fetch_balance())
    assert Decimal(str(balance["BTC"]["total"])) == Decimal("0.99")
    assert Decimal(str(balance["USDT"]["total"])) == pytest.approx(Decimal("100000") + proceeds)
    sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "px": "43000"})


async def test_an_oversized_buy_is_insufficient_funds(sim: RunningSim, exchange: Any) -> None:
    await run(exchange.load_markets())
    price = (await run(exchange.fetch_ticker("BTC/USDT")))["bid"]
    with pytest.raises(ccxt.InsufficientFunds, match="51008"):
        await run(exchange.create_limit_buy_order("BTC/USDT", 10, round(price * 0.9, 1)))
    assert await run(exchange.fetch_open_orders("BTC/USDT")) == []
