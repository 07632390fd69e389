"""Issue 14's "done when" as one story told by unmodified ccxt.pro (its REST methods and its WebSocket),
only the URLs changed: markets with contract sizes, setPositionMode, setLeverage, fetchFundingRate, a
long and a short each entered with a stop-loss and a take-profit attached on the exchange, the
exchange closing the short at its take-profit and the long at its stop while watchPositions follows,
a funding payment to the last digit, and a liquidation that costs exactly the position's margin."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import ccxt.pro as ccxtpro
import pytest

from okxbot.sim.server import RunningSim, start_sim
from tests.sim.algo_http import algo_events

pytestmark = pytest.mark.timeout(120)
BTC, ETH, SOL = "BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"
D = Decimal
MONEY = D("1E-16")


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with start_sim(seed=31) as running:
        running.admin("POST", "/__sim__/ws-config", {"connectionsPerSecond": 100})
        yield running


@pytest.fixture
async def pro(sim: RunningSim) -> AsyncIterator[ccxtpro.okx]:
    key = sim.admin("POST", "/__sim__/keys", {"balances": {"USDT": "50000"}, "label": "scenario"})
    sim.admin("POST", "/__sim__/account-level", {"uid": key["uid"], "acctLv": "2"})
    exchange = ccxtpro.okx(
        {"apiKey": key["apiKey"], "secret": key["secretKey"], "password": key["passphrase"]}
    )
    exchange.urls["api"]["rest"] = sim.rest
    exchange.urls["api"]["ws"] = sim.ws
    try:
        yield exchange
    finally:
        await exchange.close()


async def last(pro: ccxtpro.okx, symbol: str) -> Decimal:
    return D(str((await pro.fetch_ticker(symbol))["last"]))


def at(price: Decimal, factor: str) -> float:
    return float((price * D(factor)).quantize(D("0.1")))  # on every tick size used here


async def open_contracts(pro: ccxtpro.okx, symbol: str) -> dict[str, float]:
    return {p["side"]: p["contracts"] for p in await pro.fetch_positions([symbol]) if p["contracts"]}


async def until_pushed(pro: ccxtpro.okx, symbol: str, contracts: float) -> dict[str, Any]:
    """watchPositions until the position of `symbol` is pushed with `contracts` (0 = closed)."""
    async with asyncio.timeout(15):
        while True:
            for p in await pro.watch_positions([symbol]):
                if p["symbol"] == symbol and (p["contracts"] or 0) == contracts:
                    return p  # type: ignore[no-any-return]


async def test_unmodified_ccxt_pro_trades_perpetuals_end_to_end(pro: ccxtpro.okx, sim: RunningSim) -> None:
    markets = await pro.load_markets()
    assert (markets[BTC]["contractSize"], markets[ETH]["contractSize"], markets[BTC]["settle"]) == (
        0.01,
        0.1,
        "USDT",
    )
    await pro.set_position_mode(False)
    assert (await pro.fetch_position_mode(BTC))["hedged"] is False
    await pro.set_leverage(10, BTC, {"marginMode": "cross"})
    await pro.set_leverage(10, ETH, {"marginMode": "cross"})
    assert (await pro.fetch_leverage(BTC, {"marginMode": "cross"}))["longLeverage"] == 10
    rate = await pro.fetch_funding_rate(BTC)
    assert rate["interval"] == "8h" and abs(rate["fundingRate"]) <= 0.00375

    watching = asyncio.ensure_future(pro.watch_positions([BTC]))  # subscribe before trading
    btc, eth = await last(pro, BTC), await last(pro, ETH)
    short = await pro.create_order(BTC, "market", "sell", 3, None, {
        "stopLoss": {"triggerPrice": at(btc, "1.05")}, "takeProfit": {"triggerPrice": at(btc, "0.96")},
    })  # fmt: skip
    long = await pro.create_order(ETH, "market", "buy", 5, None, {
        "stopLoss": {"triggerPrice": at(eth, "0.96")}, "takeProfit": {"triggerPrice": at(eth, "1.05")},
    })  # fmt: skip
    pushed = await until_pushed(pro, BTC, 3)
    watching.cancel()
    assert (pushed["side"], pushed["contractSize"], pushed["leverage"]) == ("short", 0.01, 10)
    assert await open_contracts(pro, BTC) == {"short": 3} and await open_contracts(pro, ETH) == {"long": 5}
    protection = {
        o["symbol"]: o
        for o in await pro.fetch_open_orders(None, None, None, {"trigger": True, "ordType": "oco"})
    }
    assert (protection[BTC]["side"], protection[BTC]["amount"], protection[BTC]["reduceOnly"]) == (
        "buy",
        3,
        True,
    )
    assert (protection[ETH]["side"], protection[ETH]["amount"]) == ("sell", 5)
    assert protection[BTC]["takeProfitPrice"] == at(btc, "0.96") and protection[ETH]["stopLossPrice"] == at(
        eth, "0.96"
    )

    sim.admin("POST", "/__sim__/funding", {"instId": "BTC-USDT-SWAP", "rate": "-0.0005", "settle": True})
    sim.admin("POST", "/__sim__/funding", {"instId": "BTC-USDT-SWAP", "rate": None})
    (payment,) = await pro.fetch_funding_history(BTC)
    (bill,) = (await pro.private_get_account_bills({"type": "8", "instType": "SWAP"}))["data"]
    paid = (3 * D("0.01") * D(bill["px"]) * D("0.0005")).quantize(MONEY, ROUND_HALF_EVEN)
    assert (bill["subType"], D(bill["balChg"])) == ("173", -paid)  # a negative rate: shorts pay longs
    assert D(payment["info"]["balChg"]) == -paid and payment["code"] == "USDT"

    with algo_events(sim) as wait:  # the exchange takes the short's profit, then stops the long out
        sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "px": str(at(btc, "0.95"))})
        wait(lambda e: e.data["algoId"] == protection[BTC]["id"] and e.data["state"] == "effective", 30)
        closed = await until_pushed(pro, BTC, 0)
        sim.admin("POST", "/__sim__/price", {"instId": "ETH-USDT", "px": str(at(eth, "0.95"))})
        wait(lambda e: e.data["algoId"] == protection[ETH]["id"] and e.data["state"] == "effective", 30)
    assert closed["symbol"] == BTC
    assert await open_contracts(pro, BTC) == {} and await open_contracts(pro, ETH) == {}
    for symbol, entry, side in ((BTC, short, "tp"), (ETH, long, "sl")):
        (fired,) = await pro.fetch_closed_orders(symbol, None, None, {"trigger": True, "ordType": "oco"})
        assert (fired["status"], fired["info"]["actualSide"]) == ("closed", side)
        assert (await pro.fetch_order(entry["id"], symbol))["status"] == "closed"
    history = {h["symbol"]: h["info"] for h in await pro.fetch_positions_history([BTC, ETH])}
    assert (history[BTC]["type"], history[BTC]["direction"]) == ("2", "short")
    assert D(history[BTC]["pnl"]) > 0 and D(history[ETH]["pnl"]) < 0
    assert D(history[BTC]["fundingFee"]) == -paid

    await pro.set_leverage(50, SOL, {"marginMode": "isolated"})
    await pro.create_order(SOL, "market", "buy", 20, None, {"marginMode": "isolated"})
    (position,) = [p for p in await pro.fetch_positions([SOL]) if p["contracts"]]
    margin = D(position["info"]["margin"])
    assert margin == (20 * D("1") * D(position["info"]["avgPx"]) / 50).quantize(MONEY, ROUND_HALF_EVEN)
    sim.admin("POST", "/__sim__/price", {"instId": "SOL-USDT", "movePct": "-5"})
    sim.admin("POST", "/__sim__/tick")
    assert await open_contracts(pro, SOL) == {}
    (liquidated,) = [h["info"] for h in await pro.fetch_positions_history([SOL])]
    assert (liquidated["type"], D(liquidated["pnl"]) + D(liquidated["liqPenalty"])) == ("3", -margin)
