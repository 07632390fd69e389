"""Unmodified ccxt (REST and ccxt.pro) using OKX's algo orders against the simulator: stop-loss and
take-profit prices, attached stopLoss / takeProfit, trailing stops, trigger orders, and their queries.

Spot stop orders pass params {"tdMode": "cash"}: ccxt otherwise turns a spot conditional's tdMode into
"cross" (spot margin), which the simulator, like an account without margin trading, refuses (54000).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import ccxt
import ccxt.pro as ccxtpro
import pytest

from okxbot.sim.server import RunningSim, start_sim
from tests.sim.algo_http import futures_key

SYMBOL = "BTC/USDT:USDT"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with start_sim(seed=17) as running:
        running.admin("POST", "/__sim__/ws-config", {"connectionsPerSecond": 1000})
        yield running


def credentials(key: dict[str, Any]) -> dict[str, Any]:
    return {"apiKey": key["apiKey"], "secret": key["secretKey"], "password": key["passphrase"]}


@pytest.fixture
def okx(sim: RunningSim) -> ccxt.okx:
    sim.admin("POST", "/__sim__/reset-limits")
    exchange = ccxt.okx({**credentials(futures_key(sim, BTC="1")), "enableRateLimit": False})
    exchange.urls["api"]["rest"] = sim.rest
    exchange.load_markets()
    exchange.create_order(SYMBOL, "market", "buy", 10)
    return exchange


def price(okx: ccxt.okx, factor: str, symbol: str = SYMBOL) -> float:
    last = Decimal(str(okx.fetch_ticker(symbol)["last"]))
    return float((last * Decimal(factor)).quantize(Decimal("0.1")))


def test_stop_loss_price_is_a_conditional_algo_order(okx: ccxt.okx) -> None:
    stop_px = price(okx, "0.95")
    order = okx.create_order(
        SYMBOL, "market", "sell", 10, None, {"stopLossPrice": stop_px, "reduceOnly": True}
    )
    assert order["id"] and order["clientOrderId"]
    fetched = okx.fetch_order(order["id"], SYMBOL, {"trigger": True})
    assert (fetched["status"], fetched["stopLossPrice"], fetched["amount"], fetched["reduceOnly"]) == (
        "open",
        stop_px,
        10,
        True,
    )
    assert (
        fetched["info"]["ordType"] == "conditional"
        and fetched["info"]["algoClOrdId"] == order["clientOrderId"]
    )
    listed = okx.fetch_open_orders(SYMBOL, params={"trigger": True, "ordType": "conditional"})
    assert [o["id"] for o in listed] == [order["id"]]

    lower = price(okx, "0.9")
    okx.edit_order(order["id"], SYMBOL, "conditional", "sell", None, None,
                   {"stopLossPrice": lower, "newSlOrdPx": -1})  # fmt: skip
    assert okx.fetch_order(order["id"], SYMBOL, {"trigger": True})["stopLossPrice"] == lower
    okx.cancel_order(order["id"], SYMBOL, {"trigger": True})
    canceled = okx.fetch_canceled_orders(SYMBOL, params={"trigger": True, "ordType": "conditional"})
    assert [(o["id"], o["status"]) for o in canceled] == [(order["id"], "canceled")]
    with pytest.raises(ccxt.OrderNotFound):
        okx.cancel_order(order["id"], SYMBOL, {"trigger": True})


def test_take_profit_and_stop_loss_together_are_an_oco(okx: ccxt.okx) -> None:
    tp, sl = price(okx, "1.05"), price(okx, "0.95")
    order = okx.create_order(SYMBOL, "market", "sell", 10, None,
                             {"takeProfitPrice": tp, "stopLossPrice": sl, "reduceOnly": True})  # fmt: skip
    (listed,) = okx.fetch_open_orders(SYMBOL, params={"trigger": True, "ordType": "oco"})
    assert (listed["id"], listed["takeProfitPrice"], listed["stopLossPrice"]) == (order["id"], tp, sl)
    with pytest.raises(ccxt.InvalidOrder):  # a stop above the market: 51280
        okx.create_order(
            SYMBOL, "market", "sell", 10, None, {"stopLossPrice": price(okx, "1.1"), "reduceOnly": True}
        )


def test_stop_loss_and_take_profit_params_attach_to_the_entry(okx: ccxt.okx) -> None:
    sl, tp = price(okx, "0.97"), price(okx, "1.04")
    entry = okx.create_order(SYMBOL, "market", "buy", 2, None,
                             {"stopLoss": {"triggerPrice": sl}, "takeProfit": {"triggerPrice": tp}})  # fmt: skip
    filled = okx.fetch_order(entry["id"], SYMBOL)
    assert (filled["status"], filled["stopLossPrice"], filled["takeProfitPrice"]) == ("closed", sl, tp)
    (protect,) = okx.fetch_open_orders(SYMBOL, params={"trigger": True, "ordType": "oco"})
    assert (protect["amount"], protect["side"], protect["stopLossPrice"], protect["takeProfitPrice"]) == (
        2,
        "sell",
        sl,
        tp,
    )


def test_a_take_profit_with_a_price_rests_as_a_tp_limit_order(okx: ccxt.okx) -> None:
    sl, tp_trigger, tp_px = price(okx, "0.97"), price(okx, "1.04"), price(okx, "1.05")
    okx.create_order(SYMBOL, "market", "buy", 3, None,
                     {"stopLoss": {"triggerPrice": sl}, "takeProfit": {"triggerPrice": tp_trigger, "price": tp_px}})  # fmt: skip
    resting = [o for o in okx.fetch_open_orders(SYMBOL) if o["info"]["isTpLimit"] == "true"]
    assert [(o["price"], o["amount"], o["side"], o["reduceOnly"]) for o in resting] == [
        (tp_px, 3, "sell", True)
    ]
    (stop,) = okx.fetch_open_orders(SYMBOL, params={"trigger": True, "ordType": "oco"})
    assert (stop["stopLossPrice"], stop["info"]["linkedOrd"]["ordId"]) == (sl, resting[0]["id"])


def test_trailing_percent_is_a_trailing_stop(okx: ccxt.okx) -> None:
    order = okx.create_order(SYMBOL, "market", "sell", 10, None, {"trailingPercent": 2, "reduceOnly": True})
    (listed,) = okx.fetch_open_orders(SYMBOL, params={"trailing": True})
    assert listed["id"] == order["id"] and listed["info"]["callbackRatio"] == "0.02"
    assert listed["triggerPrice"] is not None and listed["triggerPrice"] < price(okx, "1")
    okx.cancel_order(order["id"], SYMBOL, {"trailing": True})
    assert okx.fetch_open_orders(SYMBOL, params={"trailing": True}) == []


def test_trigger_price_is_a_trigger_order(okx: ccxt.okx) -> None:
    below = price(okx, "0.9")
    order = okx.create_order(SYMBOL, "limit", "buy", 1, below, {"triggerPrice": price(okx, "0.91")})
    (listed,) = okx.fetch_open_orders(SYMBOL, params={"trigger": True})
    assert (listed["id"], listed["price"], listed["info"]["ordType"]) == (order["id"], below, "trigger")
    okx.cancel_orders([order["id"]], SYMBOL, {"trigger": True})
    closed = okx.fetch_canceled_orders(SYMBOL, params={"trigger": True, "ordType": "trigger"})
    assert [o["id"] for o in closed] == [order["id"]]


def test_spot_stop_loss_with_cash_mode(okx: ccxt.okx) -> None:
    stop_px = price(okx, "0.95", "BTC/USDT")
    order = okx.create_order(
        "BTC/USDT", "market", "sell", 0.01, None, {"stopLossPrice": stop_px, "tdMode": "cash"}
    )
    fetched = okx.fetch_order(order["id"], "BTC/USDT", {"trigger": True})
    assert (fetched["stopLossPrice"], fetched["info"]["tdMode"], fetched["info"]["tgtCcy"]) == (
        stop_px,
        "cash",
        "base_ccy",
    )
    with pytest.raises(ccxt.ExchangeError):  # ccxt's default spot conditional goes as tdMode "cross"
        okx.create_order("BTC/USDT", "market", "sell", 0.01, None, {"stopLossPrice": stop_px})


@pytest.fixture
async def pro(sim: RunningSim) -> AsyncIterator[ccxtpro.okx]:
    sim.admin("POST", "/__sim__/reset-limits")
    exchange = ccxtpro.okx(credentials(futures_key(sim)))
    exchange.urls["api"]["rest"] = sim.rest
    exchange.urls["api"]["ws"] = sim.ws
    try:
        await exchange.load_markets()
        await exchange.create_order(SYMBOL, "market", "buy", 10)
        yield exchange
    finally:
        await exchange.close()


async def test_watch_orders_with_trigger_follows_the_algo_order(sim: RunningSim, pro: ccxtpro.okx) -> None:
    ticker = await pro.fetch_ticker(SYMBOL)
    stop_px = float((Decimal(str(ticker["last"])) * Decimal("0.95")).quantize(Decimal("0.1")))
    waiter = asyncio.ensure_future(pro.watch_orders(SYMBOL, params={"trigger": True}))
    # orders-algo sends no snapshot: the subscription must be in place before the order goes in.
    async with asyncio.timeout(10):
        while not sim.admin("GET", "/__sim__/ws-stats")["subscriptions"].get("orders-algo"):
            await asyncio.sleep(0.02)
    order = await pro.create_order(
        SYMBOL, "market", "sell", 10, None, {"stopLossPrice": stop_px, "reduceOnly": True}
    )
    (seen,) = await asyncio.wait_for(waiter, 10)
    assert (seen["id"], seen["status"], seen["stopLossPrice"]) == (order["id"], "open", stop_px)
    await pro.cancel_order(order["id"], SYMBOL, {"trigger": True})
    updates = await asyncio.wait_for(pro.watch_orders(SYMBOL, params={"trigger": True}), 10)
    assert updates[-1]["id"] == order["id"] and updates[-1]["status"] == "canceled"
