"""Every list endpoint answers a `limit` (or a book's `sz`) above its documented maximum with the
maximum, as OKX does (ccxt's own fetchTrades test asks market/trades for 12,000), and still refuses
what is not a count at all."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import ccxt
import httpx
import pytest

from okxbot.sim.server import RunningSim
from tests.sim.okx_http import signed

pytestmark = pytest.mark.timeout(120)

# path (with its required query), the count parameter, OKX's documented maximum
PUBLIC = [
    ("/api/v5/market/trades?instId=BTC-USDT", "limit", 500),
    ("/api/v5/market/candles?instId=BTC-USDT", "limit", 300),
    ("/api/v5/market/history-candles?instId=BTC-USDT", "limit", 300),
    ("/api/v5/market/books?instId=BTC-USDT", "sz", 400),
    ("/api/v5/market/books-full?instId=BTC-USDT", "sz", 5000),
    ("/api/v5/market/history-trades?instId=BTC-USDT", "limit", 100),
    ("/api/v5/market/mark-price-candles?instId=BTC-USDT-SWAP", "limit", 100),
    ("/api/v5/market/history-mark-price-candles?instId=BTC-USDT-SWAP", "limit", 100),
    ("/api/v5/market/index-candles?instId=BTC-USDT", "limit", 100),
    ("/api/v5/market/history-index-candles?instId=BTC-USDT", "limit", 100),
    ("/api/v5/public/funding-rate-history?instId=BTC-USDT-SWAP", "limit", 400),
]
PRIVATE = [
    "/api/v5/trade/orders-pending?instType=SPOT",
    "/api/v5/trade/orders-history?instType=SPOT",
    "/api/v5/trade/orders-history-archive?instType=SPOT",
    "/api/v5/trade/fills?instType=SPOT",
    "/api/v5/trade/fills-history?instType=SPOT",
    "/api/v5/account/bills?ccy=USDT",
    "/api/v5/account/bills-archive?ccy=USDT",
    "/api/v5/asset/deposit-history?ccy=USDT",
    "/api/v5/asset/withdrawal-history?ccy=USDT",
    "/api/v5/asset/bills?ccy=USDT",
]
GARBAGE = [
    "0",
    "-1",
    "1.5",
    "abc",
    "1e3",
    "\u00b2",
    "\u0661",
]  # "²" and an Arabic-Indic 1: isdigit() says yes


@pytest.fixture(autouse=True)
def fresh_limits(sim: RunningSim) -> None:
    sim.admin("POST", "/__sim__/reset-limits")


@pytest.fixture(scope="module")
def busy(sim: RunningSim) -> dict[str, Any]:
    """An account with 101 of everything the private lists serve (more than one page of 100)."""
    key = sim.admin("POST", "/__sim__/keys", {"balances": {"USDT": "10000000"}})
    uid = key["uid"]
    for _ in range(101):
        sim.admin("POST", "/__sim__/deposits", {"uid": uid, "ccy": "USDT", "amt": "1"})
        sim.admin("POST", "/__sim__/withdrawals", {"uid": uid, "ccy": "USDT", "amt": "1", "toAddr": "T1"})

    def trade() -> None:
        exchange = sim.ctx.exchange
        ask = exchange.book("BTC-USDT").levels("asks", 1)[0][0]
        for i in range(101):  # resting buys far below the market, and 101 filled market buys
            resting = {
                "instId": "BTC-USDT",
                "tdMode": "cash",
                "side": "buy",
                "ordType": "limit",
                "sz": "0.001",
            }
            assert exchange.place_order(uid, resting | {"px": str(30000 + i)})["sCode"] == "0"
            taker = {
                "instId": "BTC-USDT",
                "tdMode": "cash",
                "side": "buy",
                "ordType": "limit",
                "sz": "0.00001",
            }
            assert exchange.place_order(uid, taker | {"px": ask, "clOrdId": f"t{i}"})["sCode"] == "0"

    sim.call(trade)
    return key


def rows(response: httpx.Response) -> list[Any]:
    body = response.json()
    assert (response.status_code, body["code"]) == (200, "0"), body
    return body["data"]


def public(sim: RunningSim, path: str, name: str, value: str) -> httpx.Response:
    return httpx.get(f"{sim.rest}{path}&{name}={value}", timeout=10)


@pytest.mark.parametrize(("path", "name", "maximum"), PUBLIC)
def test_public_lists_answer_above_the_maximum_with_the_maximum(
    sim: RunningSim, path: str, name: str, maximum: int
) -> None:
    at_max = rows(public(sim, path, name, str(maximum)))
    above = rows(public(sim, path, name, "12000"))
    if name == "sz":
        (at_max_book,), (above_book,) = at_max, above
        assert 1 < len(above_book["bids"]) <= maximum  # the default depth is 1: this is no fallback
        if len(at_max_book["bids"]) == maximum:  # a book deeper than the maximum: cut at it both times
            assert len(above_book["bids"]) == maximum
        # (a shallower one comes whole, and the market may add or take a level between the requests)
    else:
        assert 0 < len(above) <= maximum
        assert len(above) == len(at_max) or path.startswith("/api/v5/market/trades")  # trades keep coming
    if "candles" in path:
        assert len(above) == maximum  # 1,440 minutes of candles exist: exactly the maximum comes back


@pytest.mark.parametrize(("path", "name", "maximum"), PUBLIC)
@pytest.mark.parametrize("value", GARBAGE)
def test_public_lists_refuse_what_is_not_a_count(
    sim: RunningSim, path: str, name: str, maximum: int, value: str
) -> None:
    response = public(sim, path, name, value)
    body = response.json()
    assert (response.status_code, body["code"], body["msg"], body["data"]) == (
        400,
        "51000",
        f"Parameter {name} error",
        [],
    )


@pytest.mark.parametrize("path", PRIVATE)
def test_private_lists_answer_above_100_with_100(sim: RunningSim, busy: dict[str, Any], path: str) -> None:
    everything = rows(signed(sim.rest, busy, "GET", f"{path}&limit=100"))
    assert len(everything) == 100  # 101 exist
    assert rows(signed(sim.rest, busy, "GET", f"{path}&limit=1000")) == everything
    assert len(rows(signed(sim.rest, busy, "GET", f"{path}&limit=7"))) == 7


@pytest.mark.parametrize("path", PRIVATE)
def test_private_lists_refuse_what_is_not_a_count(sim: RunningSim, busy: dict[str, Any], path: str) -> None:
    for value in GARBAGE:
        response = signed(sim.rest, busy, "GET", f"{path}&limit={quote(value)}")  # signed as sent
        body = response.json()
        assert (body["code"], body["msg"]) == ("51000", "Parameter limit error"), value
        sim.admin("POST", "/__sim__/reset-limits")


def test_unmodified_ccxt_fetch_trades_for_12000_gets_what_okx_serves(sim: RunningSim) -> None:
    okx = ccxt.okx()
    okx.urls["api"]["rest"] = sim.rest
    okx.options["fetchMarkets"] = {"types": ["spot"]}
    trades = okx.fetch_trades("BTC/USDT", limit=12000)  # once: ccxt.base.errors.BadRequest 51000
    assert 0 < len(trades) <= 500
    assert [t["timestamp"] for t in trades] == sorted(t["timestamp"] for t in trades)
