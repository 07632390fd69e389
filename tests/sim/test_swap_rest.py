"""The swap REST endpoints over real HTTP: public data, account settings and queries, their parameter
errors with OKX's codes and HTTP statuses, the admin hooks, and the official python-okx SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from okx.Account import AccountAPI
from okx.PublicData import PublicAPI
from okx.Trade import TradeAPI

from okxbot.sim.server import RunningSim, start_sim
from tests.sim.okx_http import signed

pytestmark = [
    pytest.mark.timeout(90),
    # python-okx's own call into httpx; nothing this test controls.
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]


@pytest.fixture(scope="module")
def swap_sim() -> Iterator[RunningSim]:
    with start_sim(seed=17) as sim:
        yield sim


@pytest.fixture
def key(swap_sim: RunningSim) -> dict[str, Any]:
    swap_sim.admin("POST", "/__sim__/reset-limits")
    made = swap_sim.admin("POST", "/__sim__/keys", {"balances": {"USDT": "20000", "BTC": "1"}})
    swap_sim.admin("POST", "/__sim__/account-level", {"uid": made["uid"], "acctLv": "2"})
    return made


def get(sim: RunningSim, path: str) -> httpx.Response:
    return httpx.get(sim.rest + path, timeout=10)


def call(sim: RunningSim, key: dict[str, Any], method: str, path: str, payload: Any = None) -> httpx.Response:
    body = json.dumps(payload).encode() if payload is not None else b""
    return signed(sim.rest, key, method, path, body)


def data(response: httpx.Response) -> list[Any]:
    body = response.json()
    assert body["code"] == "0", body
    return body["data"]


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert body["data"] == [], body
    return response.status_code, body["code"], body["msg"]


def test_public_swap_data(swap_sim: RunningSim) -> None:
    swaps = data(get(swap_sim, "/api/v5/public/instruments?instType=SWAP"))
    assert {s["instId"] for s in swaps} >= {"BTC-USDT-SWAP", "ETH-USDT-SWAP", "BTC-USD-SWAP"}
    assert (
        data(get(swap_sim, "/api/v5/public/instruments?instType=SWAP&instFamily=BTC-USD"))[0]["ctType"]
        == "inverse"
    )
    marks = data(get(swap_sim, "/api/v5/public/mark-price?instType=SWAP"))
    assert len(marks) == len(swaps) and all(Decimal(m["markPx"]) > 0 for m in marks)
    rates = data(get(swap_sim, "/api/v5/public/funding-rate?instId=ANY"))
    assert {r["instId"] for r in rates} == {s["instId"] for s in swaps}
    history = data(get(swap_sim, "/api/v5/public/funding-rate-history?instId=BTC-USDT-SWAP&limit=3"))
    times = [int(h["fundingTime"]) for h in history]
    assert times == sorted(times, reverse=True) and times[0] - times[1] == 8 * 3600_000
    older = data(
        get(swap_sim, f"/api/v5/public/funding-rate-history?instId=BTC-USDT-SWAP&after={times[0]}&limit=2")
    )
    assert [h["fundingTime"] for h in older] == [str(t) for t in times[1:3]]
    tiers = data(
        get(swap_sim, "/api/v5/public/position-tiers?instType=SWAP&tdMode=cross&instFamily=BTC-USDT")
    )
    assert tiers[0]["maxLever"] == "125" and tiers[0]["instFamily"] == "BTC-USDT"
    limit = data(get(swap_sim, "/api/v5/public/price-limit?instId=BTC-USDT-SWAP"))[0]
    assert limit["enabled"] is True and Decimal(limit["buyLmt"]) > Decimal(limit["sellLmt"])
    candles = data(get(swap_sim, "/api/v5/market/mark-price-candles?instId=BTC-USDT-SWAP&bar=1H&limit=3"))
    assert len(candles) == 3 and all(len(row) == 6 for row in candles)
    index = data(get(swap_sim, "/api/v5/market/index-candles?instId=BTC-USD&limit=2"))
    assert len(index) == 2
    tickers = data(get(swap_sim, "/api/v5/market/index-tickers?quoteCcy=USDT"))
    assert "BTC-USDT" in {t["instId"] for t in tickers}
    fee = data(get(swap_sim, "/api/v5/market/ticker?instId=BTC-USDT-SWAP"))[0]
    assert fee["instType"] == "SWAP"


def test_public_swap_parameter_errors(swap_sim: RunningSim) -> None:
    assert error(get(swap_sim, "/api/v5/public/funding-rate"))[:2] == (400, "50014")
    assert error(get(swap_sim, "/api/v5/public/funding-rate?instId=NOPE-SWAP"))[:2] == (200, "51001")
    assert error(get(swap_sim, "/api/v5/public/funding-rate?instId=BTC-USDT"))[:2] == (400, "51000")
    history = "/api/v5/public/funding-rate-history?instId=BTC-USDT-SWAP"
    assert error(get(swap_sim, history + "&limit=0"))[1] == "51000"
    # Above its maximum a limit is answered with the maximum, as OKX does.
    assert len(data(get(swap_sim, "/api/v5/market/mark-price-candles?instId=BTC-USDT-SWAP&limit=500"))) == 100
    assert error(get(swap_sim, "/api/v5/public/position-tiers?instType=SWAP&tdMode=cross"))[1] == "50014"
    assert (
        error(get(swap_sim, "/api/v5/market/mark-price-candles?instId=BTC-USDT-SWAP&bar=1h"))[2]
        == "Parameter bar error"
    )
    assert error(get(swap_sim, "/api/v5/market/index-tickers"))[1] == "50015"


def test_account_settings_and_queries(swap_sim: RunningSim, key: dict[str, Any]) -> None:
    config = data(call(swap_sim, key, "GET", "/api/v5/account/config"))[0]
    assert (config["acctLv"], config["posMode"]) == ("2", "net_mode")
    assert data(
        call(swap_sim, key, "POST", "/api/v5/account/set-position-mode", {"posMode": "long_short_mode"})
    ) == [{"posMode": "long_short_mode"}]
    answer = call(swap_sim, key, "POST", "/api/v5/account/set-leverage",
                  {"instId": "BTC-USDT-SWAP", "lever": "5", "mgnMode": "isolated"})  # fmt: skip
    assert error(answer) == (400, "51000", "Parameter posSide error")
    lever = {"instId": "BTC-USDT-SWAP", "lever": "5", "mgnMode": "isolated", "posSide": "long"}
    assert data(call(swap_sim, key, "POST", "/api/v5/account/set-leverage", lever))[0]["posSide"] == "long"
    info = data(
        call(swap_sim, key, "GET", "/api/v5/account/leverage-info?instId=BTC-USDT-SWAP&mgnMode=isolated")
    )
    assert [(r["posSide"], r["lever"]) for r in info] == [("long", "5"), ("short", "10")]
    order = {
        "instId": "BTC-USDT-SWAP",
        "tdMode": "isolated",
        "side": "buy",
        "posSide": "long",
        "ordType": "market",
        "sz": "1",
    }
    assert data(call(swap_sim, key, "POST", "/api/v5/trade/order", order))[0]["sCode"] == "0"
    positions = data(call(swap_sim, key, "GET", "/api/v5/account/positions?instType=SWAP"))
    assert [(p["posSide"], p["pos"], p["lever"], p["mgnMode"]) for p in positions] == [
        ("long", "1", "5", "isolated")
    ]
    assert error(call(swap_sim, key, "GET", "/api/v5/account/positions?instType=SPOT"))[1] == "51000"
    ids = ",".join(["BTC-USDT-SWAP"] * 11)
    assert error(call(swap_sim, key, "GET", f"/api/v5/account/positions?instId={ids}"))[1] == "50025"
    sizes = data(call(swap_sim, key, "GET", "/api/v5/account/max-size?instId=BTC-USDT-SWAP&tdMode=isolated"))[
        0
    ]
    assert Decimal(sizes["maxBuy"]) > 0 and Decimal(sizes["maxSell"]) > 0
    avail = data(
        call(swap_sim, key, "GET", "/api/v5/account/max-avail-size?instId=BTC-USDT-SWAP&tdMode=cross")
    )[0]
    assert Decimal(avail["availBuy"]) > 0
    assert error(call(swap_sim, key, "GET", "/api/v5/account/max-size?instId=BTC-USDT-SWAP"))[1] == "50014"
    blocked = call(swap_sim, key, "POST", "/api/v5/account/set-position-mode", {"posMode": "net_mode"})
    assert error(blocked)[1:] == (
        "59000",
        "Setting failed. Cancel any open orders, close positions, and stop trading bots first.",
    )
    switch = call(swap_sim, key, "POST", "/api/v5/account/set-account-level", {"acctLv": "1"})
    assert error(switch)[1] == "59134"
    check = data(call(swap_sim, key, "GET", "/api/v5/account/set-account-switch-precheck?acctLv=1"))[0]
    assert (check["sCode"], check["curAcctLv"], [u["type"] for u in check["unmatchedInfoCheck"]]) == (
        "1", "2", ["all_positions"],
    )  # fmt: skip
    assert check["unmatchedInfoCheck"][0]["posList"] == [positions[0]["posId"]]
    precheck_4 = call(swap_sim, key, "GET", "/api/v5/account/set-account-switch-precheck?acctLv=4")
    assert error(precheck_4)[1] == "51070"
    assert (
        error(call(swap_sim, key, "POST", "/api/v5/account/set-account-level", {"acctLv": "4"}))[1] == "51070"
    )
    close = {**order, "side": "sell"}
    assert data(call(swap_sim, key, "POST", "/api/v5/trade/order", close))[0]["sCode"] == "0"
    history = data(call(swap_sim, key, "GET", "/api/v5/account/positions-history?instType=SWAP&type=2"))
    assert history[0]["posSide"] == "long" and history[0]["closeTotalPos"] == "1"
    assert data(call(swap_sim, key, "GET", "/api/v5/account/positions-history?type=3")) == []
    fee = data(call(swap_sim, key, "GET", "/api/v5/account/trade-fee?instType=SWAP"))[0]
    assert (fee["takerU"], fee["makerU"]) == ("-0.0005", "-0.0002")


def test_admin_hooks_check_their_input(swap_sim: RunningSim, key: dict[str, Any]) -> None:
    with pytest.raises(RuntimeError, match="acctLv must be"):
        swap_sim.admin("POST", "/__sim__/account-level", {"uid": key["uid"], "acctLv": "3"})
    with pytest.raises(RuntimeError, match="perpetual swap"):
        swap_sim.admin("POST", "/__sim__/funding", {"instId": "BTC-USDT", "settle": True})
    with pytest.raises(RuntimeError, match="basis"):
        swap_sim.admin("POST", "/__sim__/mark", {"instId": "BTC-USDT-SWAP"})
    fixed = swap_sim.admin("POST", "/__sim__/mark", {"instId": "ETH-USDT-SWAP", "basis": "0.01"})
    assert Decimal(fixed["markPx"]) == (Decimal(fixed["idxPx"]) * Decimal("1.01")).quantize(Decimal("0.01"))
    swap_sim.admin("POST", "/__sim__/mark", {"instId": "ETH-USDT-SWAP", "basis": None})
    with pytest.raises(RuntimeError, match="unknown swap rule"):
        swap_sim.admin("POST", "/__sim__/swap-rules", {"gentle": True})
    with pytest.raises(RuntimeError, match="priceBand"):
        swap_sim.admin("POST", "/__sim__/swap-rules", {"priceBand": "2"})
    rules = swap_sim.admin("POST", "/__sim__/swap-rules", {})
    assert rules == {"liquidationFeeInRatio": True, "priceBand": "0.02", "leverageBlockedByAnyOrder": True,
                     "positionModeBlockedBySpotOrders": True}  # fmt: skip
    positions = swap_sim.admin("GET", f"/__sim__/positions?uid={key['uid']}")
    assert positions == {"uid": key["uid"], "positions": [], "history": []}


def test_python_okx_trades_a_swap(swap_sim: RunningSim, key: dict[str, Any]) -> None:
    creds = (key["apiKey"], key["secretKey"], key["passphrase"])
    account = AccountAPI(*creds, flag="0", domain=swap_sim.rest, debug=False)
    trade = TradeAPI(*creds, flag="0", domain=swap_sim.rest, debug=False)
    public = PublicAPI(flag="0", domain=swap_sim.rest, debug=False)
    assert account.set_leverage(lever="3", mgnMode="cross", instId="ETH-USDT-SWAP")["code"] == "0"
    assert account.get_leverage(instId="ETH-USDT-SWAP", mgnMode="cross")["data"][0]["lever"] == "3"
    placed = trade.place_order(instId="ETH-USDT-SWAP", tdMode="cross", side="sell", ordType="market", sz="5")
    assert placed["data"][0]["sCode"] == "0", placed
    row = account.get_positions(instType="SWAP")["data"][0]
    assert (row["instId"], row["pos"], row["lever"]) == ("ETH-USDT-SWAP", "-5", "3")
    assert public.get_funding_rate(instId="ETH-USDT-SWAP")["data"][0]["instId"] == "ETH-USDT-SWAP"
    assert public.get_mark_price(instType="SWAP", instId="ETH-USDT-SWAP")["data"][0]["instType"] == "SWAP"
    closed = trade.place_order(instId="ETH-USDT-SWAP", tdMode="cross", side="buy", ordType="market", sz="5",
                               reduceOnly="true")  # fmt: skip
    assert closed["data"][0]["sCode"] == "0", closed
    assert account.get_positions(instType="SWAP")["data"] == []


def test_sim_config_starts_the_ready_keys_in_futures_mode() -> None:
    with start_sim(seed=3, config={"account_level": "2", "market": False}) as sim:
        for key in sim.keys:
            config = data(call(sim, key, "GET", "/api/v5/account/config"))[0]
            assert config["acctLv"] == "2"
        details = data(call(sim, sim.keys[0], "GET", "/api/v5/account/balance"))[0]["details"]
        assert all(d["availEq"] != "" for d in details)  # Futures-mode fields are filled
    with pytest.raises(ValueError, match="account_level"):
        start_sim(seed=3, config={"account_level": "3"})
