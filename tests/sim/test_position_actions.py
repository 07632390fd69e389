"""Whole-position actions on the engine, at pinned prices: close-position (several market orders when
the position exceeds maxMktSz, autoCxl, long/short sides) and isolated margin moved in and out to the
last digit of its limits."""

from __future__ import annotations

import pytest

from okxbot.sim.engine import Exchange
from okxbot.sim.filters import ParamError
from tests.sim.swap_helpers import (
    BTC,
    D,
    cash,
    futures_account,
    pinned_exchange,
    place,
    position,
    set_index,
    swap_order,
    trade,
)

TAKER, MMR = D("0.0005"), D("0.004")  # BTC-USDT-SWAP tier 1


@pytest.fixture
def ex() -> Exchange:
    return pinned_exchange("60000")


def refused(code: str) -> pytest.RaisesContext[ParamError]:
    return pytest.raises(ParamError, match=f"^{code} ")


def test_a_position_larger_than_one_market_order_closes_in_several(ex: Exchange) -> None:
    maker, uid = futures_account(ex, USDT="1000000000"), futures_account(ex, USDT="100000000")
    trade(ex, maker, uid, BTC, "buy", "6500", "60000")  # BTC-USDT-SWAP: maxMktSz 5000 contracts
    place(ex, maker, swap_order(BTC, "buy", "7000", "59990"))
    answer = ex.position_actions.close(
        uid, {"instId": BTC, "mgnMode": "cross", "clOrdId": "big1", "tag": "t1"}
    )
    assert answer == [{"instId": BTC, "posSide": "net", "clOrdId": "big1", "tag": "t1"}]
    assert position(ex, uid)["pos"] == "0"
    closes = [o for o in ex.all_orders(uid) if o["ordType"] == "market"]
    assert sorted((o["sz"], o["clOrdId"], o["reduceOnly"], o["state"]) for o in closes) == [
        ("1500", "", "true", "filled"),
        ("5000", "big1", "true", "filled"),
    ]
    with refused("51023"):
        ex.position_actions.close(uid, {"instId": BTC, "mgnMode": "cross"})


def test_close_position_checks_its_parameters_like_okx(ex: Exchange) -> None:
    maker, uid = futures_account(ex, USDT="10000000"), futures_account(ex)
    with refused("50014"):
        ex.position_actions.close(uid, {"instId": BTC})
    with refused("51000"):
        ex.position_actions.close(uid, {"instId": BTC, "mgnMode": "cash"})
    with refused("51000"):
        ex.position_actions.close(uid, {"instId": BTC, "mgnMode": "cross", "posSide": "long"})  # net mode
    with refused("51001"):
        ex.position_actions.close(uid, {"instId": "NOPE-USDT-SWAP", "mgnMode": "cross"})
    with refused("54000"):
        ex.position_actions.close(uid, {"instId": "BTC-USDT", "mgnMode": "cross"})
    spot_mode = ex.create_account({"USDT": "1000"})
    with refused("51010"):
        ex.position_actions.close(spot_mode, {"instId": BTC, "mgnMode": "cross"})

    ex.set_position_mode(uid, "long_short_mode")
    ex.set_position_mode(maker, "long_short_mode")
    trade(ex, maker, uid, BTC, "sell", "3", "60000", posSide="short")
    with refused("51000"):
        ex.position_actions.close(uid, {"instId": BTC, "mgnMode": "cross"})  # long/short mode needs a side
    with refused("51023"):
        ex.position_actions.close(uid, {"instId": BTC, "mgnMode": "cross", "posSide": "long"})
    closing = place(ex, uid, swap_order(BTC, "buy", "1", "59000", posSide="short"))["ordId"]  # a close order
    with refused("51115"):
        ex.position_actions.close(uid, {"instId": BTC, "mgnMode": "cross", "posSide": "short"})
    place(ex, maker, swap_order(BTC, "sell", "3", "60010", posSide="long"))
    ex.position_actions.close(uid, {"instId": BTC, "mgnMode": "cross", "posSide": "short", "autoCxl": True})
    assert position(ex, uid, pos_side="short")["pos"] == "0"
    assert ex.get_order(uid, BTC, ord_id=closing)["state"] == "canceled"  # type: ignore[index]


def test_isolated_margin_moves_within_okxs_limits_to_the_last_digit(ex: Exchange) -> None:
    maker, uid = futures_account(ex, USDT="10000000"), futures_account(ex, USDT="10000")
    trade(ex, maker, uid, BTC, "buy", "2", "60000", tdMode="isolated")
    size = 2 * D("0.01")
    row = position(ex, uid, mgn_mode="isolated")
    assert D(row["margin"]) == 120  # 2 x 0.01 x 60000 / 10
    cash_before = cash(ex, uid)

    def move(kind: str, amt: str) -> list[dict[str, str]]:
        return ex.position_actions.adjust_margin(
            uid, {"instId": BTC, "posSide": "net", "type": kind, "amt": amt}
        )

    with refused("59301"):
        move("reduce", "0.0000000000000001")  # at the mark with no loss, the margin is all initial margin
    assert move("add", "30") == [
        {"amt": "30", "ccy": "USDT", "instId": BTC, "leverage": "8", "posSide": "net", "type": "add"}
    ]  # 1200 of position on 150 of margin
    liq = (60000 * size - 150) / (size * (1 - MMR - TAKER))
    assert D(position(ex, uid, mgn_mode="isolated")["liqPx"]) == liq.quantize(D("1E-16"))
    set_index(ex, "59000")  # a loss of 20; the initial margin at the mark is 118
    ex.tick()
    with refused("59301"):
        move("reduce", "12.0000000000000001")  # 150 - 20 - 118 = 12
    move("reduce", "12")
    assert D(position(ex, uid, mgn_mode="isolated")["margin"]) == 138
    assert cash(ex, uid) == cash_before  # margin moves inside the account: no money comes or goes
    bills = ex.bills(uid, {"type": "6"})
    assert [(b["subType"], b["posBalChg"], b["posBal"], b["balChg"]) for b in bills] == [
        ("161", "-12", "138", "0"),
        ("160", "30", "150", "0"),
    ]
    with refused("59301"):
        move("add", "100000")  # more than the available equity
    with refused("59300"):
        ex.position_actions.adjust_margin(
            uid, {"instId": "ETH-USDT-SWAP", "posSide": "net", "type": "add", "amt": "1"}
        )
    with refused("51000"):
        move("move", "1")
    with refused("51000"):
        move("add", "-1")
