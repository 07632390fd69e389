"""Unmodified ccxt (REST) trading perpetual swaps on the simulator, only the URL changed: markets with
contract sizes, position mode, leverage, a long and a short (cross and isolated), reduce-only, positions,
funding rates and a funding payment, mark-price candles, a liquidation, hedged mode."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import ccxt
import pytest

from okxbot.sim.server import RunningSim, start_sim

pytestmark = pytest.mark.timeout(120)
LINEAR = "BTC/USDT:USDT"
INVERSE = "BTC/USD:BTC"
D = Decimal


@pytest.fixture(scope="module")
def swap_sim() -> Iterator[RunningSim]:
    with start_sim(seed=11) as sim:
        yield sim


def futures_exchange(sim: RunningSim, balances: dict[str, str]) -> ccxt.okx:
    key = sim.admin("POST", "/__sim__/keys", {"balances": balances, "label": "swaps"})
    sim.admin("POST", "/__sim__/account-level", {"uid": key["uid"], "acctLv": "2"})
    exchange = ccxt.okx({"apiKey": key["apiKey"], "secret": key["secretKey"], "password": key["passphrase"]})
    exchange.urls["api"]["rest"] = sim.rest
    exchange.uid = key["uid"]
    return exchange


@pytest.fixture
def okx(swap_sim: RunningSim) -> ccxt.okx:
    swap_sim.admin("POST", "/__sim__/reset-limits")
    return futures_exchange(swap_sim, {"USDT": "100000", "BTC": "2"})


def cash_balance(okx: ccxt.okx, ccy: str = "USDT") -> Decimal:
    details = okx.fetch_balance()["info"]["data"][0]["details"]
    return D(next(d["cashBal"] for d in details if d["ccy"] == ccy))


def only_position(okx: ccxt.okx, symbol: str = LINEAR) -> dict[str, Any]:
    positions = [p for p in okx.fetch_positions([symbol]) if p["contracts"]]
    assert len(positions) == 1, positions
    return positions[0]


def test_markets_carry_contract_sizes(okx: ccxt.okx) -> None:
    markets = okx.load_markets()
    linear, inverse = markets[LINEAR], markets[INVERSE]
    assert (linear["type"], linear["swap"], linear["linear"], linear["contractSize"]) == (
        "swap",
        True,
        True,
        0.01,
    )
    assert (linear["settle"], linear["precision"]["amount"], linear["precision"]["price"]) == (
        "USDT",
        0.01,
        0.1,
    )
    assert (linear["limits"]["leverage"]["max"], linear["id"]) == (125, "BTC-USDT-SWAP")
    assert (inverse["inverse"], inverse["contractSize"], inverse["settle"]) == (True, 100, "BTC")
    tiers = okx.fetch_market_leverage_tiers(LINEAR)
    assert (tiers[0]["maxLeverage"], tiers[0]["maintenanceMarginRate"]) == (125, 0.004)


def test_spot_mode_key_cannot_trade_swaps(swap_sim: RunningSim) -> None:
    key = swap_sim.admin("POST", "/__sim__/keys", {"balances": {"USDT": "1000"}})
    spot = ccxt.okx({"apiKey": key["apiKey"], "secret": key["secretKey"], "password": key["passphrase"]})
    spot.urls["api"]["rest"] = swap_sim.rest
    with pytest.raises(ccxt.AccountNotEnabled, match="51010"):
        spot.create_order(LINEAR, "market", "buy", 1)


def test_a_cross_long_and_an_isolated_short_with_reduce_only_closes(okx: ccxt.okx) -> None:
    okx.load_markets()
    okx.set_position_mode(False)
    assert okx.fetch_position_mode()["hedged"] is False
    okx.set_leverage(5, LINEAR, {"marginMode": "cross"})
    assert okx.fetch_leverage(LINEAR, {"marginMode": "cross"})["longLeverage"] == 5
    order = okx.create_order(LINEAR, "market", "buy", 2)
    assert okx.fetch_order(order["id"], LINEAR)["status"] == "closed"
    long = only_position(okx)
    assert (long["side"], long["contracts"], long["contractSize"], long["leverage"], long["marginMode"]) == (
        "long", 2, 0.01, 5, "cross",
    )  # fmt: skip
    assert long["notional"] == pytest.approx(2 * 0.01 * long["markPrice"], rel=1e-9)
    assert long["initialMargin"] == pytest.approx(long["notional"] / 5, rel=1e-9)
    trades = [t for t in okx.fetch_my_trades(LINEAR) if t["order"] == order["id"]]
    assert sum(t["amount"] for t in trades) == pytest.approx(2) and {
        t["fee"]["currency"] for t in trades
    } == {"USDT"}
    for t in trades:  # taker fee on the contracts' value, in the settle currency
        assert t["fee"]["cost"] == pytest.approx(t["amount"] * 0.01 * t["price"] * 0.0005, rel=1e-9)
    okx.create_order(LINEAR, "market", "sell", 2, None, {"reduceOnly": True})
    assert [p for p in okx.fetch_positions([LINEAR]) if p["contracts"]] == []
    with pytest.raises(ccxt.ExchangeError, match="51169"):
        okx.create_order(LINEAR, "market", "sell", 1, None, {"reduceOnly": True})
    history = okx.fetch_positions_history([LINEAR])
    assert history[0]["info"]["type"] == "2" and history[0]["info"]["closeTotalPos"] == "2"

    okx.set_leverage(10, LINEAR, {"marginMode": "isolated"})
    okx.create_order(LINEAR, "market", "sell", 3, None, {"marginMode": "isolated"})
    short = only_position(okx)
    assert (short["side"], short["contracts"], short["marginMode"], short["leverage"]) == (
        "short",
        3,
        "isolated",
        10,
    )
    entry = D(short["info"]["avgPx"])
    assert D(short["info"]["margin"]) == 3 * D("0.01") * entry / 10
    assert short["liquidationPrice"] > short["entryPrice"]
    okx.create_order(LINEAR, "market", "buy", 3, None, {"marginMode": "isolated", "reduceOnly": True})
    assert [p for p in okx.fetch_positions([LINEAR]) if p["contracts"]] == []


def test_leverage_and_mode_refusals_reach_ccxt_with_okx_codes(okx: ccxt.okx) -> None:
    okx.load_markets()
    bid = okx.fetch_ticker(LINEAR)["bid"]
    resting = okx.create_order(LINEAR, "limit", "buy", 1, okx.price_to_precision(LINEAR, bid * 0.99))
    assert [o["id"] for o in okx.fetch_open_orders(LINEAR)] == [resting["id"]]
    with pytest.raises(ccxt.ExchangeError, match="59000"):
        okx.set_leverage(7, LINEAR, {"marginMode": "cross"})
    with pytest.raises(ccxt.ExchangeError, match="59000"):
        okx.set_position_mode(True)
    okx.cancel_order(resting["id"], LINEAR)
    with pytest.raises(ccxt.ExchangeError, match="59102"):
        okx.private_post_account_set_leverage({"instId": "BTC-USDT-SWAP", "lever": "150", "mgnMode": "cross"})


def test_funding_rates_history_marks_and_a_funding_payment(okx: ccxt.okx, swap_sim: RunningSim) -> None:
    okx.load_markets()
    rate = okx.fetch_funding_rate(LINEAR)
    assert rate["interval"] == "8h"
    assert rate["nextFundingTimestamp"] - rate["fundingTimestamp"] == 8 * 3600 * 1000
    assert abs(rate["fundingRate"]) <= 0.00375
    assert len(okx.fetch_funding_rates()) == 7
    history = okx.fetch_funding_rate_history(LINEAR, limit=5)
    assert len(history) == 5 and all(abs(h["fundingRate"]) <= 0.00375 for h in history)
    candles = okx.fetch_mark_ohlcv(LINEAR, "1m", limit=5)
    assert len(candles) == 5 and all(row[2] >= row[3] for row in candles)
    assert len(okx.fetch_index_ohlcv(LINEAR, "1m", limit=3)) == 3

    okx.create_order(LINEAR, "market", "buy", 4)
    swap_sim.admin("POST", "/__sim__/funding", {"instId": "BTC-USDT-SWAP", "rate": "0.0002", "settle": True})
    bill = okx.private_get_account_bills({"type": "8"})["data"][0]
    paid = (4 * D("0.01") * D(bill["px"]) * D("0.0002")).quantize(D("1E-16"), ROUND_HALF_EVEN)
    assert (bill["subType"], bill["sz"], D(bill["balChg"])) == ("173", "4", -paid)
    assert D(only_position(okx)["info"]["fundingFee"]) == -paid
    payments = okx.fetch_funding_history(LINEAR)  # account/bills-archive?type=8&ctType=linear
    assert [(p["symbol"], p["code"], D(p["info"]["balChg"])) for p in payments] == [(LINEAR, "USDT", -paid)]
    assert okx.fetch_funding_rate_history(LINEAR, limit=1)[0]["fundingRate"] == 0.0002
    swap_sim.admin("POST", "/__sim__/funding", {"instId": "BTC-USDT-SWAP", "rate": None})
    okx.create_order(LINEAR, "market", "sell", 4, None, {"reduceOnly": True})


def test_a_leveraged_isolated_long_is_liquidated_when_the_price_falls(swap_sim: RunningSim) -> None:
    okx = futures_exchange(swap_sim, {"USDT": "5000"})
    okx.load_markets()
    okx.set_leverage(20, "ETH/USDT:USDT", {"marginMode": "isolated"})
    okx.create_order("ETH/USDT:USDT", "market", "buy", 10, None, {"marginMode": "isolated"})
    position = only_position(okx, "ETH/USDT:USDT")
    margin = D(position["info"]["margin"])
    assert margin == 10 * D("0.1") * D(position["info"]["avgPx"]) / 20
    before = cash_balance(okx)
    swap_sim.admin("POST", "/__sim__/price", {"instId": "ETH-USDT", "movePct": "-10"})
    swap_sim.admin("POST", "/__sim__/tick")
    assert [p for p in okx.fetch_positions(["ETH/USDT:USDT"]) if p["contracts"]] == []
    row = okx.fetch_positions_history(["ETH/USDT:USDT"])[0]["info"]
    assert (row["type"], D(row["pnl"]) + D(row["liqPenalty"])) == ("3", -margin)
    assert cash_balance(okx) == before - margin
    bill = okx.private_get_account_bills({"type": "5"})["data"][0]
    assert (bill["subType"], D(bill["balChg"])) == ("107", -margin)
    liquidation = okx.fetch_closed_orders("ETH/USDT:USDT")
    assert "full_liquidation" in {o["info"]["category"] for o in liquidation}


def test_hedged_mode_holds_a_long_and_a_short(okx: ccxt.okx) -> None:
    okx.load_markets()
    okx.set_position_mode(True)
    okx.create_order(LINEAR, "market", "buy", 1, None, {"hedged": True})
    okx.create_order(LINEAR, "market", "sell", 2, None, {"hedged": True})
    sides = {p["side"]: p["contracts"] for p in okx.fetch_positions([LINEAR]) if p["contracts"]}
    assert sides == {"long": 1, "short": 2}
    with pytest.raises(ccxt.BadRequest, match="posSide"):
        okx.create_order(LINEAR, "market", "buy", 1)  # long_short_mode needs a posSide
    okx.create_order(LINEAR, "market", "sell", 1, None, {"hedged": True, "reduceOnly": True})
    okx.create_order(LINEAR, "market", "buy", 2, None, {"hedged": True, "reduceOnly": True})
    assert [p for p in okx.fetch_positions([LINEAR]) if p["contracts"]] == []
    okx.set_position_mode(False)


def test_close_position_margin_changes_and_open_interest(okx: ccxt.okx) -> None:
    okx.load_markets()
    okx.set_position_mode(False)
    okx.set_leverage(10, "ETH/USDT:USDT", {"marginMode": "isolated"})
    okx.create_order("ETH/USDT:USDT", "market", "sell", 7, None, {"marginMode": "isolated"})
    short = only_position(okx, "ETH/USDT:USDT")
    margin, liq = D(short["info"]["margin"]), D(short["info"]["liqPx"])
    interest = okx.fetch_open_interest("ETH/USDT:USDT")
    assert interest["openInterestAmount"] >= 7 and interest["info"]["instId"] == "ETH-USDT-SWAP"

    # ccxt 4.5.90's addMargin / reduceMargin fail parsing any answer (`type['type']` on a string), so the
    # endpoint is called through ccxt's generated method.
    def margin_balance(kind: str, amt: str) -> dict[str, Any]:
        body = {"instId": "ETH-USDT-SWAP", "posSide": "net", "type": kind, "amt": amt}
        return okx.private_post_account_position_margin_balance(body)["data"][0]  # type: ignore[no-any-return]

    added = margin_balance("add", "25")
    assert (added["type"], added["amt"], added["ccy"], added["posSide"]) == ("add", "25", "USDT", "net")
    more = only_position(okx, "ETH/USDT:USDT")["info"]
    assert D(more["margin"]) == margin + 25 and D(more["liqPx"]) > liq  # a short: liquidated higher up
    margin_balance("reduce", "20")  # not all 25: the margin left must cover the initial margin and the loss
    assert D(only_position(okx, "ETH/USDT:USDT")["info"]["margin"]) == margin + 5
    with pytest.raises(ccxt.ExchangeError, match="59301"):
        margin_balance("reduce", str(margin))

    okx.close_position("ETH/USDT:USDT", None, {"marginMode": "isolated"})  # trade/close-position
    assert [p for p in okx.fetch_positions(["ETH/USDT:USDT"]) if p["contracts"]] == []
    row = okx.fetch_positions_history(["ETH/USDT:USDT"])[0]["info"]
    assert (row["type"], row["closeTotalPos"], row["direction"]) == ("2", "7", "short")
    with pytest.raises(ccxt.ExchangeError, match="51023"):
        okx.close_position("ETH/USDT:USDT", None, {"marginMode": "isolated"})
    with pytest.raises(ccxt.ExchangeError, match="59300"):
        margin_balance("add", "1")
