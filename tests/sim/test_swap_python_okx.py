"""The official python-okx SDK, unmodified (only `domain` changed), trading perpetual swaps on the
simulator: account level, position mode, leverage, instruments in contracts, tiers, marks and funding,
a hedged long with attached TP/SL and a short protected by an OCO that the exchange fires, a funding
payment, isolated margin moved in and out, close-position (with and without autoCxl) and a
liquidation, every amount checked to the last digit against OKX's formulas."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import pairwise
from typing import Any

import httpx
import pytest
from okx.Account import AccountAPI
from okx.MarketData import MarketAPI
from okx.PublicData import PublicAPI
from okx.Trade import TradeAPI

from okxbot.sim.server import RunningSim, start_sim
from tests.sim.algo_http import algo_events

# python-okx posts with httpx's deprecated `data=` for raw bytes; not ours to fix.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
    pytest.mark.timeout(120),
]
SWAP, ETH = "BTC-USDT-SWAP", "ETH-USDT-SWAP"
D = Decimal
MONEY = D("1E-16")  # the simulator keeps money to 16 places, as OKX's bills show


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with start_sim(seed=29) as running:
        yield running


class Sdk:
    """python-okx's API classes for one key."""

    def __init__(self, sim: RunningSim, key: dict[str, Any]) -> None:
        creds = (key["apiKey"], key["secretKey"], key["passphrase"])
        kw: dict[str, Any] = {"flag": "0", "domain": sim.rest, "debug": False}
        self.account = AccountAPI(*creds, **kw)
        self.trade = TradeAPI(*creds, **kw)
        self.public = PublicAPI(**kw)
        self.market = MarketAPI(**kw)

    def last(self, inst_id: str = SWAP) -> Decimal:
        return D(self.market.get_ticker(instId=inst_id)["data"][0]["last"])

    def positions(self, inst_id: str = SWAP) -> dict[str, dict[str, Any]]:
        rows = self.account.get_positions(instType="SWAP", instId=inst_id)["data"]
        return {r["posSide"]: r for r in rows if r["pos"] not in ("0", "")}


@pytest.fixture
def sdk(sim: RunningSim) -> Sdk:
    sim.admin("POST", "/__sim__/reset-limits")
    key = sim.admin("POST", "/__sim__/keys", {"balances": {"USDT": "100000"}, "label": "pyokx-swaps"})
    return Sdk(sim, key)


def ok(answer: dict[str, Any]) -> list[dict[str, Any]]:
    assert answer["code"] == "0", answer
    return answer["data"]  # type: ignore[no-any-return]


def placed(answer: dict[str, Any]) -> str:
    (item,) = ok(answer)
    assert item["sCode"] == "0", item
    return item.get("ordId") or item["algoId"]  # type: ignore[no-any-return]


def px(value: Decimal) -> str:
    return str(value.quantize(D("0.1")))


def test_account_modes_leverage_and_public_swap_data(sdk: Sdk) -> None:
    refused = sdk.trade.place_order(instId=SWAP, tdMode="cross", side="buy", ordType="market", sz="1")
    assert (refused["code"], refused["data"][0]["sCode"]) == ("1", "51010")  # Spot mode trades no swaps
    assert ok(sdk.account.set_account_level(acctLv="2")) == [{"acctLv": "2"}]
    assert ok(sdk.account.set_position_mode(posMode="long_short_mode")) == [{"posMode": "long_short_mode"}]
    (config,) = ok(sdk.account.get_account_config())
    assert (config["acctLv"], config["posMode"]) == ("2", "long_short_mode")

    (linear,) = ok(sdk.public.get_instruments(instType="SWAP", instId=SWAP))
    assert {k: linear[k] for k in ("ctType", "ctVal", "ctMult", "ctValCcy", "settleCcy", "instFamily")} == {
        "ctType": "linear", "ctVal": "0.01", "ctMult": "1", "ctValCcy": "BTC", "settleCcy": "USDT",
        "instFamily": "BTC-USDT",
    }  # fmt: skip
    (inverse,) = ok(sdk.public.get_instruments(instType="SWAP", instId="BTC-USD-SWAP"))
    assert (inverse["ctType"], inverse["ctVal"], inverse["ctValCcy"], inverse["settleCcy"]) == (
        "inverse", "100", "USD", "BTC",
    )  # fmt: skip
    tiers = ok(sdk.public.get_position_tiers(instType="SWAP", tdMode="isolated", instFamily="BTC-USDT"))
    assert tiers[0]["tier"] == "1" and D(tiers[0]["imr"]) == 1 / D(tiers[0]["maxLever"])
    assert all(D(a["maxSz"]) == D(b["minSz"]) for a, b in pairwise(tiers))

    wrong = sdk.account.set_leverage(lever="5", mgnMode="isolated", instId=SWAP)  # no posSide in hedge mode
    assert (wrong["code"], wrong["data"]) == ("51000", [])
    assert ok(sdk.account.set_leverage(lever="8", mgnMode="isolated", instId=SWAP, posSide="long")) == [
        {"lever": "8", "mgnMode": "isolated", "instId": SWAP, "posSide": "long"}
    ]
    too_high = sdk.account.set_leverage(lever="126", mgnMode="cross", instId=SWAP)
    assert too_high["code"] == "59102"
    levers = {r["posSide"]: r["lever"] for r in ok(sdk.account.get_leverage(mgnMode="isolated", instId=SWAP))}
    assert levers["long"] == "8"

    (mark,) = ok(sdk.public.get_mark_price(instType="SWAP", instId=SWAP))
    (rate,) = ok(sdk.public.get_funding_rate(instId=SWAP))
    assert D(mark["markPx"]) > 0 and abs(D(rate["fundingRate"])) <= D(rate["maxFundingRate"])
    assert int(rate["nextFundingTime"]) - int(rate["fundingTime"]) == 8 * 3600 * 1000
    history = ok(sdk.public.funding_rate_history(instId=SWAP, limit="3"))
    assert len(history) == 3 and all(h["realizedRate"] == h["fundingRate"] for h in history)
    candles = ok(sdk.market.get_mark_price_candlesticks(instId=SWAP, bar="1m", limit="3"))
    assert len(candles) == 3 and all(len(c) == 6 for c in candles)


def test_hedged_long_and_short_protected_on_the_exchange_funding_margin_and_close(
    sim: RunningSim, sdk: Sdk
) -> None:
    ok(sdk.account.set_account_level(acctLv="2"))
    ok(sdk.account.set_position_mode(posMode="long_short_mode"))
    ok(sdk.account.set_leverage(lever="10", mgnMode="isolated", instId=SWAP, posSide="long"))
    ok(sdk.account.set_leverage(lever="5", mgnMode="cross", instId=SWAP))
    last = sdk.last()
    long_sl, long_tp = px(last * D("0.93")), px(last * D("1.10"))
    entry = placed(sdk.trade.place_order(
        instId=SWAP, tdMode="isolated", side="buy", posSide="long", ordType="market", sz="10",
        attachAlgoOrds=[{"tpTriggerPx": long_tp, "tpOrdPx": "-1", "slTriggerPx": long_sl, "slOrdPx": "-1"}],
    ))  # fmt: skip
    (order,) = ok(sdk.trade.get_order(instId=SWAP, ordId=entry))
    assert (order["state"], order["accFillSz"]) == ("filled", "10")
    long = sdk.positions()["long"]
    assert (long["pos"], long["lever"], long["mgnMode"]) == ("10", "10", "isolated")
    assert D(long["margin"]) == (10 * D("0.01") * D(long["avgPx"]) / 10).quantize(MONEY, ROUND_HALF_EVEN)
    (attached,) = ok(sdk.trade.order_algos_list(ordType="oco", instId=SWAP))
    assert (attached["side"], attached["posSide"], attached["sz"]) == ("sell", "long", "10")
    assert (D(attached["slTriggerPx"]), D(attached["tpTriggerPx"])) == (D(long_sl), D(long_tp))

    placed(sdk.trade.place_order(
        instId=SWAP, tdMode="cross", side="sell", posSide="short", ordType="market", sz="4"
    ))  # fmt: skip
    short_sl = px(last * D("1.05"))
    oco = placed(sdk.trade.place_algo_order(
        instId=SWAP, tdMode="cross", side="buy", posSide="short", ordType="oco", sz="4",
        tpTriggerPx=px(last * D("0.90")), tpOrdPx="-1", slTriggerPx=short_sl, slOrdPx="-1",
    ))  # fmt: skip
    tighter = px(last * D("1.02"))
    ok(sdk.trade.amend_algo_order(instId=SWAP, algoId=oco, newSlTriggerPx=tighter, newSlOrdPx="-1"))
    (detail,) = ok(sdk.trade.get_algo_order_details(algoId=oco))
    assert (detail["state"], D(detail["slTriggerPx"])) == ("live", D(tighter))

    with algo_events(sim) as wait:  # the price rises through the short's stop: the exchange closes it
        sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "px": px(last * D("1.03"))})
        wait(lambda e: e.data["algoId"] == oco and e.data["state"] == "effective", 30)
    (fired,) = ok(sdk.trade.order_algos_history(ordType="oco", algoId=oco))
    assert (fired["state"], fired["actualSide"], fired["actualSz"]) == ("effective", "sl", "4")
    (close,) = ok(sdk.trade.get_order(instId=SWAP, ordId=fired["ordId"]))
    assert (close["state"], close["side"], close["posSide"], close["algoId"]) == (
        "filled",
        "buy",
        "short",
        oco,
    )
    assert set(sdk.positions()) == {"long"}  # the long's stop is lower, its take-profit higher

    sim.admin("POST", "/__sim__/funding", {"instId": SWAP, "rate": "0.0003", "settle": True})
    sim.admin("POST", "/__sim__/funding", {"instId": SWAP, "rate": None})
    (bill,) = ok(sdk.account.get_account_bills(instType="SWAP", type="8"))
    paid = (10 * D("0.01") * D(bill["px"]) * D("0.0003")).quantize(MONEY, ROUND_HALF_EVEN)
    assert (bill["subType"], bill["sz"], D(bill["balChg"]), D(bill["pnl"])) == ("173", "10", -paid, -paid)
    assert D(sdk.positions()["long"]["fundingFee"]) == -paid

    margin, liq = D(long["margin"]), D(sdk.positions()["long"]["liqPx"])
    (added,) = ok(sdk.account.adjustment_margin(instId=SWAP, posSide="long", type="add", amt="100"))
    assert (added["amt"], added["type"], added["ccy"]) == ("100", "add", "USDT")
    more = sdk.positions()["long"]
    assert D(more["margin"]) == margin + 100 and D(more["liqPx"]) < liq  # more margin: further away
    ok(sdk.account.adjustment_margin(instId=SWAP, posSide="long", type="reduce", amt="40"))
    assert D(sdk.positions()["long"]["margin"]) == margin + 60
    too_much = sdk.account.adjustment_margin(instId=SWAP, posSide="long", type="reduce", amt=str(margin + 60))
    assert (too_much["code"], too_much["data"]) == ("59301", [])
    no_short = sdk.account.adjustment_margin(instId=SWAP, posSide="short", type="add", amt="1")
    assert no_short["code"] == "59300"
    bills = ok(sdk.account.get_account_bills(instType="SWAP", type="6"))
    assert [(b["subType"], b["posBalChg"], b["balChg"]) for b in bills] == [
        ("161", "-40", "0"),
        ("160", "100", "0"),
    ]

    resting = placed(sdk.trade.place_order(
        instId=SWAP, tdMode="isolated", side="sell", posSide="long", ordType="limit", sz="3",
        px=px(sdk.last() * D("1.015")),
    ))  # fmt: skip
    blocked = sdk.trade.close_positions(instId=SWAP, mgnMode="isolated", posSide="long")
    assert (blocked["code"], blocked["data"]) == ("51115", [])
    assert set(sdk.positions()) == {"long"}
    closed = ok(sdk.trade.close_positions(instId=SWAP, mgnMode="isolated", posSide="long", autoCxl="true",
                                          clOrdId="closeall1"))  # fmt: skip
    assert closed == [{"instId": SWAP, "posSide": "long", "clOrdId": "closeall1", "tag": ""}]
    assert sdk.positions() == {}
    (canceled,) = ok(sdk.trade.get_order(instId=SWAP, ordId=resting))
    assert canceled["state"] == "canceled"
    (market_close,) = ok(sdk.trade.get_order(instId=SWAP, clOrdId="closeall1"))
    assert (market_close["ordType"], market_close["side"], market_close["accFillSz"]) == (
        "market",
        "sell",
        "10",
    )
    row = next(
        r
        for r in ok(sdk.account.get_positions_history(instType="SWAP", instId=SWAP))
        if r["posSide"] == "long"
    )
    assert (row["type"], row["closeTotalPos"], D(row["fundingFee"])) == ("2", "10", -paid)
    again = sdk.trade.close_positions(instId=SWAP, mgnMode="isolated", posSide="long")
    assert again["code"] == "51023"
    # As on OKX, a TP/SL attached to an order is not linked to the position: it stays until canceled.
    (left,) = ok(sdk.trade.order_algos_list(ordType="oco", instId=SWAP))
    assert left["algoId"] == attached["algoId"]
    (gone,) = ok(sdk.trade.cancel_algo_order([{"instId": SWAP, "algoId": left["algoId"]}]))
    assert gone["sCode"] == "0"
    assert ok(sdk.trade.order_algos_list(ordType="oco", instId=SWAP)) == []
    (history,) = ok(sdk.trade.order_algos_history(ordType="oco", state="canceled", instId=SWAP))
    assert history["algoId"] == attached["algoId"]


def test_an_isolated_long_is_liquidated_losing_exactly_its_margin(sim: RunningSim, sdk: Sdk) -> None:
    ok(sdk.account.set_account_level(acctLv="2"))
    ok(sdk.account.set_leverage(lever="25", mgnMode="isolated", instId=ETH))
    placed(sdk.trade.place_order(instId=ETH, tdMode="isolated", side="buy", ordType="market", sz="20"))
    position = sdk.positions(ETH)["net"]
    margin = D(position["margin"])
    assert margin == (20 * D("0.1") * D(position["avgPx"]) / 25).quantize(MONEY, ROUND_HALF_EVEN)
    cash = D(ok(sdk.account.get_account_balance(ccy="USDT"))[0]["details"][0]["cashBal"])
    sim.admin("POST", "/__sim__/price", {"instId": "ETH-USDT", "movePct": "-8"})
    sim.admin("POST", "/__sim__/tick")
    assert sdk.positions(ETH) == {}
    (row,) = ok(sdk.account.get_positions_history(instType="SWAP", instId=ETH))
    assert (row["type"], D(row["pnl"]) + D(row["liqPenalty"])) == ("3", -margin)
    (bill,) = ok(sdk.account.get_account_bills(instType="SWAP", type="5"))
    assert (bill["subType"], D(bill["balChg"]), bill["sz"]) == ("107", -margin, "20")
    after = D(ok(sdk.account.get_account_balance(ccy="USDT"))[0]["details"][0]["cashBal"])
    assert after == cash - margin


def test_contracts_and_coins_convert_on_the_lot(sim: RunningSim, sdk: Sdk) -> None:
    convert = sdk.public.get_convert_contract_coin
    (coin,) = ok(convert(instId=SWAP, sz="0.888"))  # 0.888 BTC of 0.01 BTC contracts
    assert (coin["type"], coin["sz"], coin["unit"]) == ("1", "88.8", "coin")
    (usdt,) = ok(convert(instId=SWAP, sz="1000", px="60000", unit="usds"))  # 1.6666... rounded to the lot
    assert usdt["sz"] == "1.67"
    opening = httpx.get(f"{sim.rest}/api/v5/public/convert-contract-coin",
                        params={"instId": SWAP, "sz": "1000", "px": "60000", "unit": "usds", "opType": "open"})  # fmt: skip
    assert opening.json()["data"][0]["sz"] == "1.66"  # opening rounds down: never more than asked for
    (back,) = ok(convert(type="2", instId=SWAP, sz="3", px="60000", unit="usds"))
    assert back["sz"] == "1800"  # 3 x 0.01 BTC x 60000
    (inverse,) = ok(convert(instId="BTC-USD-SWAP", sz="0.1", px="60000"))  # 6000 USD of 100 USD contracts
    assert inverse["sz"] == "60"
    assert convert(instId="BTC-USD-SWAP", sz="0.1")["code"] == "50014"  # a coin-margined swap needs the price
    assert convert(instId="BTC-USDT", sz="1")["code"] == "51000"  # spot has no contracts
    (families,) = ok(sdk.public.get_underlying(instType="SWAP"))
    assert {"BTC-USDT", "BTC-USD", "ETH-USDT"} <= set(families)
