"""The official python-okx SDK, unmodified, works against the simulator with only `domain` changed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from okx.Account import AccountAPI
from okx.Trade import TradeAPI

from okxbot.sim.server import RunningSim

# python-okx posts with httpx's deprecated `data=` for raw bytes; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture(autouse=True)
def fresh_limits(sim: RunningSim) -> None:
    sim.admin("POST", "/__sim__/reset-limits")


@pytest.mark.parametrize(("demo", "flag"), [(False, "0"), (True, "1")])
def test_balance_place_query_cancel(sim: RunningSim, demo: bool, flag: str) -> None:
    key: dict[str, Any] = next(k for k in sim.keys if k["demo"] is demo)
    creds = (key["apiKey"], key["secretKey"], key["passphrase"])
    account = AccountAPI(*creds, flag=flag, domain=sim.rest, debug=False)
    trade = TradeAPI(*creds, flag=flag, domain=sim.rest, debug=False)

    balance = account.get_account_balance()
    assert balance["code"] == "0"
    usdt = next(d for d in balance["data"][0]["details"] if d["ccy"] == "USDT")
    free_before = Decimal(usdt["availBal"])
    assert free_before > 0

    bid = Decimal(sim.call(lambda: sim.ctx.exchange.ticker("BTC-USDT"))["bidPx"])
    px = (bid * Decimal("0.8") + 1).quantize(Decimal("0.1"))
    placed = trade.place_order(
        instId="BTC-USDT",
        tdMode="cash",
        side="buy",
        ordType="limit",
        px=str(px),
        sz="0.001",
        clOrdId=f"pyokx{flag}",
    )
    assert placed["code"] == "0", placed
    item = placed["data"][0]
    assert item["sCode"] == "0"
    assert item["clOrdId"] == f"pyokx{flag}"
    ord_id = item["ordId"]
    assert ord_id.isdigit()

    order = trade.get_order(instId="BTC-USDT", ordId=ord_id)["data"][0]
    assert (order["state"], order["px"], order["sz"], order["side"], order["clOrdId"]) == (
        "live", str(px), "0.001", "buy", f"pyokx{flag}",
    )  # fmt: skip
    frozen = account.get_account_balance(ccy="USDT")["data"][0]["details"][0]
    assert Decimal(frozen["frozenBal"]) == px * Decimal("0.001")
    assert Decimal(frozen["availBal"]) == free_before - px * Decimal("0.001")

    canceled = trade.cancel_order(instId="BTC-USDT", ordId=ord_id)
    assert canceled["code"] == "0"
    assert canceled["data"][0]["sCode"] == "0"
    after = trade.get_order(instId="BTC-USDT", clOrdId=f"pyokx{flag}")["data"][0]
    assert (after["state"], after["cancelSource"]) == ("canceled", "1")
    unfrozen = account.get_account_balance(ccy="USDT")["data"][0]["details"][0]
    assert Decimal(unfrozen["availBal"]) == free_before


def test_the_wrong_flag_is_an_environment_mismatch(sim: RunningSim) -> None:
    key = next(k for k in sim.keys if not k["demo"])
    account = AccountAPI(
        key["apiKey"], key["secretKey"], key["passphrase"], flag="1", domain=sim.rest, debug=False
    )
    assert account.get_account_balance() == {
        "code": "50101",
        "msg": "APIKey does not match current environment.",
        "data": [],
    }
