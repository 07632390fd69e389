"""The perpetual-swap commands end to end: `okxbot ... --sim URL` against a still simulator (no synthetic
market: a maker account rests the orders the CLI trades against). Bad input is refused before any
request: a capturing proxy in front of the simulator sees nothing reach an order endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import pytest
from typer.testing import CliRunner

from okxbot.cli.main import app
from okxbot.sim.server import RunningSim
from tests.capture import CaptureProxy
from tests.okx.simkit import sim_profile
from tests.okx.swapdesk import futures_key, still_sim

pytestmark = pytest.mark.timeout(240)
runner = CliRunner()
D = Decimal
SWAP = "BTC/USDT:USDT"
ORDER_PATHS = (
    "/api/v5/trade/order",
    "/api/v5/trade/batch-orders",
    "/api/v5/trade/order-algo",
    "/api/v5/account/set-leverage",
    "/api/v5/account/set-position-mode",
)


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with still_sim(seed=9) as running:
        yield running


@pytest.fixture(scope="module")
def proxy(sim: RunningSim) -> Iterator[CaptureProxy]:
    with CaptureProxy(sim.rest) as capture:
        yield capture


class Maker:
    """The other side of the CLI's trades: unmodified ccxt resting limit orders."""

    def __init__(self, sim: RunningSim) -> None:
        key = futures_key(sim, {"USDT": "100000000", "BTC": "10000"})
        self.okx = ccxt.okx(
            {"apiKey": key["apiKey"], "secret": key["secretKey"], "password": key["passphrase"]}
        )
        self.okx.urls["api"]["rest"] = sim.rest

    def mark(self) -> Decimal:
        data = self.okx.publicGetPublicMarkPrice({"instType": "SWAP", "instId": "BTC-USDT-SWAP"})["data"]
        return D(data[0]["markPx"])

    def rest(self, side: str, contracts: str, price: Decimal | None = None) -> None:
        px = price if price is not None else self.mark()
        body = {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": side, "ordType": "limit",
                "sz": contracts, "px": format(px, "f")}  # fmt: skip
        assert self.okx.privatePostTradeOrder(body)["data"][0]["sCode"] == "0"


@pytest.fixture
def maker(sim: RunningSim) -> Maker:
    sim.admin("POST", "/__sim__/reset-limits")
    return Maker(sim)


@pytest.fixture
def key(
    sim: RunningSim, proxy: CaptureProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """A Futures-mode account handed to the CLI as a simulator profile bound to the capturing proxy."""
    found = futures_key(sim, {"USDT": "100000"})
    monkeypatch.setenv("OKXBOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OKXBOT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("OKXBOT_KEYRING", "off")
    for name in ("OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE", "OKX_DEMO"):
        monkeypatch.delenv(name, raising=False)
    bound = type("Bound", (), {"rest": proxy.url})()
    monkeypatch.setenv("OKXBOT_PROFILE", sim_profile(bound, found, "swaps"))
    return found


def okxbot(proxy: CaptureProxy, *args: str) -> Any:
    return runner.invoke(app, [*args, "--sim", proxy.url])


def ok_json(proxy: CaptureProxy, *args: str) -> Any:
    result = okxbot(proxy, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def order_requests(proxy: CaptureProxy) -> int:
    return sum(1 for r in proxy.requests if r.path_qs.split("?")[0] in ORDER_PATHS)


def test_buy_a_swap_with_tp_and_sl_then_positions_algos_and_a_reduce_only_close(
    proxy: CaptureProxy, key: dict[str, Any], maker: Maker
) -> None:
    px = maker.mark()
    maker.rest("sell", "3", px)
    sl, tp = (px * D("0.95")).quantize(D("0.1")), (px * D("1.05")).quantize(D("0.1"))
    bought = ok_json(proxy, "buy", SWAP, "0.03", "--unit", "base", "--sl", str(sl), "--tp", str(tp))
    assert bought["contracts"] == "3" and bought["requested"] == {"amount": "0.03", "unit": "base"}
    assert bought["order"]["state"] == "filled" and bought["order"]["amount"] == "3"
    [oco] = bought["protection"]
    assert (oco["order_type"], oco["side"], oco["size"]) == ("oco", "sell", "3")
    assert (D(oco["stop_loss_trigger"]), D(oco["take_profit_trigger"])) == (sl, tp)

    [position] = ok_json(proxy, "positions")
    assert (position["symbol"], position["contracts"], position["margin_mode"]) == (SWAP, "3", "cross")
    table = okxbot(proxy, "positions")
    assert table.exit_code == 0 and "long 3" in table.stdout and "0.03 BTC" in table.stdout

    algos = ok_json(proxy, "algos")
    assert [a["algo_id"] for a in algos] == [oco["algo_id"]]
    listed = okxbot(proxy, "algos")
    assert oco["algo_id"] in listed.stdout and f"SL {format(sl.normalize(), 'f')}" in listed.stdout
    canceled = ok_json(proxy, "algos", "cancel", oco["algo_id"])
    assert [(c["algo_id"], c["ok"]) for c in canceled] == [(oco["algo_id"], True)]
    assert ok_json(proxy, "algos") == []
    history = ok_json(proxy, "algos", "--history")
    assert [(a["algo_id"], a["state"]) for a in history] == [(oco["algo_id"], "canceled")]

    maker.rest("buy", "3", px)
    sold = ok_json(proxy, "sell", SWAP, "3", "--unit", "contracts", "--reduce-only")
    assert sold["order"]["state"] == "filled"
    assert ok_json(proxy, "positions") == []


def test_trailing_stop_after_a_market_entry_and_protecting_a_position(
    proxy: CaptureProxy, key: dict[str, Any], maker: Maker
) -> None:
    maker.rest("sell", "2")
    bought = ok_json(proxy, "buy", SWAP, "2", "--unit", "contracts", "--trail", "1.5")
    [trail] = bought["protection"]
    assert (trail["order_type"], trail["callback_ratio"], trail["size"]) == ("move_order_stop", "0.015", "2")
    px = maker.mark()
    protected = ok_json(proxy, "algos", "protect", SWAP, "--sl", str((px * D("0.9")).quantize(D("0.1"))))
    assert [(a["order_type"], a["size"], a["reduce_only"]) for a in protected] == [("conditional", "2", True)]
    assert {a["order_type"] for a in ok_json(proxy, "algos")} == {"move_order_stop", "conditional"}
    assert len(ok_json(proxy, "algos", "cancel", "--all")) == 2
    maker.rest("buy", "2")
    ok_json(proxy, "sell", SWAP, "2", "--unit", "contracts", "--reduce-only")


def test_leverage_position_mode_and_funding(proxy: CaptureProxy, key: dict[str, Any]) -> None:
    shown = ok_json(proxy, "leverage", SWAP)
    assert [s["leverage"] for s in shown["leverage"]] == ["10"] and shown["tiers"][0]["max_leverage"] == "125"
    changed = ok_json(proxy, "leverage", SWAP, "3", "--margin", "isolated")
    assert [(s["margin_mode"], s["leverage"]) for s in changed["leverage"]] == [("isolated", "3")]
    assert "Position tiers" in okxbot(proxy, "leverage", "BTC-USDT-SWAP").stdout

    assert ok_json(proxy, "position-mode")["position_mode"] == "net_mode"
    assert ok_json(proxy, "position-mode", "long_short")["position_mode"] == "long_short_mode"
    changed = ok_json(proxy, "leverage", SWAP, "4", "--margin", "isolated", "--side", "short")
    assert ("short", "4") in [(s["pos_side"], s["leverage"]) for s in changed["leverage"]]
    assert ok_json(proxy, "position-mode", "net")["position_mode"] == "net_mode"

    funding = ok_json(proxy, "funding", SWAP, "--limit", "3")
    assert funding["current"]["symbol"] == SWAP and len(funding["history"]) == 3
    assert D(funding["current"]["max_rate"]) == D("0.00375")
    table = okxbot(proxy, "funding", SWAP)
    assert "Next settlement" in table.stdout and "Interval" in table.stdout and "8 h" in table.stdout


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["buy", SWAP, "0.03"], None, "needs --unit"),
        (["buy", SWAP, "100", "--unit", "quote"], "51121", "nearest valid sizes"),
        (["buy", SWAP, "0.00001", "--unit", "base"], "51121", "Nothing was rounded"),
        (["buy", SWAP, "1", "--unit", "contracts", "--pos-side", "long"], "51000", "net mode"),
        (["sell", SWAP, "1", "--unit", "contracts", "--reduce-only"], "51169", "no BTC/USDT:USDT position"),
        (["buy", SWAP, "1", "--unit", "contracts", "--sl", "999999"], "51051", "below"),
        (["buy", SWAP, "1", "--unit", "contracts", "--price", "60000", "--trail", "2"], None, "market entry"),
        (
            ["buy", SWAP, "1", "--unit", "contracts", "--trail", "2", "--trail-spread", "100"],
            None,
            "not both",
        ),
        (["buy", SWAP, "1", "--unit", "contracts", "--margin", "portfolio"], "51000", "isolated"),
        (["buy", SWAP, "1", "--unit", "coins"], None, "contracts, base or quote"),
        (["buy", "BTC/USDT", "0.001", "--sl", "50000"], None, "perpetual swaps only"),
        (["buy", "BTC/USDT:USDX", "1", "--unit", "contracts"], "51001", "unknown symbol"),
        (["leverage", SWAP, "500"], "59102", "0.01..125x"),
        (["leverage", SWAP, "5", "--side", "long"], "51000", "Leave --side out"),
    ],
)
def test_bad_input_is_refused_with_a_hint_and_no_order_request_is_sent(
    proxy: CaptureProxy, key: dict[str, Any], args: list[str], code: str | None, words: str
) -> None:
    before = order_requests(proxy)
    result = okxbot(proxy, *args)
    assert result.exit_code == 1, result.output
    assert "nothing was sent" in result.stderr and words in result.stderr, result.stderr
    if code is not None:
        assert f"error {code}" in result.stderr
    assert "Traceback" not in result.output
    as_json = json.loads(okxbot(proxy, *args, "--json").stdout)
    assert as_json["code"] == code and as_json["local"] is True
    assert order_requests(proxy) == before


def test_too_close_a_liquidation_is_refused_and_a_spot_mode_account_is_told_why(
    sim: RunningSim, proxy: CaptureProxy, key: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    small = futures_key(sim, {"USDT": "300"})
    bound = type("Bound", (), {"rest": proxy.url})()
    monkeypatch.setenv("OKXBOT_PROFILE", sim_profile(bound, small, "small"))
    assert okxbot(proxy, "leverage", SWAP, "50").exit_code == 0
    before = order_requests(proxy)
    # cross margin: the whole 300 USDT backs 20 contracts (12,200 USDT): liquidation about 2 % away
    result = okxbot(proxy, "buy", SWAP, "20", "--unit", "contracts")
    assert result.exit_code == 1 and "error 51004" in result.stderr
    assert "liquidated at about" in result.stderr and "minimum distance is 5 %" in result.stderr
    assert "--min-liq-distance 0" in result.stderr
    assert order_requests(proxy) == before

    spot = futures_key(sim, {"USDT": "300"}, level="1")
    monkeypatch.setenv("OKXBOT_PROFILE", sim_profile(bound, spot, "spotonly"))
    result = okxbot(proxy, "buy", SWAP, "1", "--unit", "contracts")
    assert result.exit_code == 1 and "error 51010" in result.stderr and "Futures mode" in result.stderr
    assert order_requests(proxy) == before
