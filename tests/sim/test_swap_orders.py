"""Swap orders as an OKX user meets them: account mode and posSide gates, sizes in contracts, reduce-only,
margin and position tiers, leverage settings, each refusal with OKX's code (in-process engine)."""

from __future__ import annotations

import pytest

from okxbot.sim.engine import Exchange, ParamError
from tests.sim.swap_helpers import (
    BTC,
    INV,
    D,
    detail,
    futures_account,
    pinned_exchange,
    place,
    position,
    swap_order,
    trade,
)


@pytest.fixture
def ex() -> Exchange:
    return pinned_exchange("60000")


def refused(ex: Exchange, uid: str, params: dict, code: str) -> str:
    result = ex.place_order(uid, params)
    assert (result["sCode"], result["ordId"]) == (code, ""), result
    return result["sMsg"]


def param_error(fn, *args) -> ParamError:  # type: ignore[no-untyped-def]
    with pytest.raises(ParamError) as info:
        fn(*args)
    return info.value


def test_instruments_describe_linear_and_inverse_contracts(ex: Exchange) -> None:
    linear = ex.instrument(BTC).to_wire()
    assert {k: linear[k] for k in ("instType", "ctVal", "ctMult", "ctValCcy", "settleCcy", "ctType", "uly")} == {
        "instType": "SWAP", "ctVal": "0.01", "ctMult": "1", "ctValCcy": "BTC", "settleCcy": "USDT",
        "ctType": "linear", "uly": "BTC-USDT",
    }  # fmt: skip
    assert (linear["baseCcy"], linear["quoteCcy"], linear["lotSz"], linear["lever"]) == (
        "",
        "",
        "0.01",
        "125",
    )
    inverse = ex.instrument(INV).to_wire()
    assert (inverse["ctVal"], inverse["ctValCcy"], inverse["settleCcy"], inverse["ctType"]) == (
        "100",
        "USD",
        "BTC",
        "inverse",
    )
    tiers = ex.position_tiers(BTC)
    assert [(t["tier"], t["maxLever"], t["imr"], t["mmr"]) for t in tiers[:2]] == [
        ("1", "125", "0.008", "0.004"), ("2", "100", "0.01", "0.005"),
    ]  # fmt: skip
    # Each tier starts where the previous one ends; leverage only falls as positions grow.
    assert all(tiers[i]["maxSz"] == tiers[i + 1]["minSz"] for i in range(len(tiers) - 1))
    assert [int(t["maxLever"]) for t in tiers] == sorted((int(t["maxLever"]) for t in tiers), reverse=True)


def test_spot_mode_refuses_swaps_until_the_account_switches_to_futures_mode(ex: Exchange) -> None:
    uid = ex.create_account({"USDT": "10000"})
    msg = refused(ex, uid, swap_order(BTC, "buy", "1", "60000"), "51010")
    assert msg == "You can't complete this request under your current account mode."
    assert (
        param_error(ex.set_leverage, uid, {"instId": BTC, "lever": "5", "mgnMode": "cross"}).code == "51010"
    )
    assert ex.set_account_level(uid, "2") == [{"acctLv": "2"}]
    assert ex.account_settings(uid) == ("2", "net_mode")
    place(ex, uid, swap_order(BTC, "buy", "1", "59000"))
    # Modes the simulator does not model, and a mode never enabled on the web, answer 51070.
    assert param_error(ex.set_account_level, uid, "3").code == "51070"
    other = ex.create_account({"USDT": "10000"})
    ex.allow_account_levels(other, ["1"])
    assert param_error(ex.set_account_level, other, "2").code == "51070"
    assert param_error(ex.set_account_level, other, "9").code == "51000"


def test_account_level_cannot_switch_with_open_orders_or_positions(ex: Exchange) -> None:
    maker, uid = futures_account(ex), futures_account(ex)
    place(ex, uid, swap_order(BTC, "buy", "1", "59000"))
    assert param_error(ex.set_account_level, uid, "1").code == "59132"
    ex.cancel_all(uid)
    trade(ex, maker, uid, BTC, "buy", "1", "60000")
    assert param_error(ex.set_account_level, uid, "1").code == "59134"
    trade(ex, maker, uid, BTC, "sell", "1", "60000")
    assert ex.set_account_level(uid, "1") == [{"acctLv": "1"}]
    assert ex.balances(uid)["details"][0]["availEq"] == ""  # Spot mode fields again


def test_td_mode_and_pos_side_follow_the_position_mode(ex: Exchange) -> None:
    maker, uid = futures_account(ex), futures_account(ex)
    assert (
        refused(ex, uid, swap_order(BTC, "buy", "1", "59000", tdMode="cash"), "51000")
        == "Parameter tdMode error"
    )
    assert (
        refused(ex, uid, swap_order(BTC, "buy", "1", "59000", posSide="long"), "51000")
        == "Parameter posSide error"
    )
    place(ex, uid, swap_order(BTC, "buy", "1", "59000", posSide="net"))
    # Switching the position mode is refused while orders or positions exist (59000).
    err = param_error(ex.set_position_mode, uid, "long_short_mode")
    assert (err.code, err.msg) == (
        "59000",
        "Setting failed. Cancel any open orders, close positions, and stop trading bots first.",
    )
    ex.cancel_all(uid)
    assert ex.set_position_mode(uid, "long_short_mode") == [{"posMode": "long_short_mode"}]
    assert refused(ex, uid, swap_order(BTC, "buy", "1", "59000"), "51000") == "Parameter posSide error"
    assert (
        refused(ex, uid, swap_order(BTC, "buy", "1", "59000", posSide="net"), "51000")
        == "Parameter posSide error"
    )
    ex.set_position_mode(maker, "long_short_mode")
    trade(ex, maker, uid, BTC, "buy", "1", "60000", posSide="long")
    assert param_error(ex.set_position_mode, uid, "net_mode").code == "59000"
    assert param_error(ex.set_position_mode, uid, "hedge").code == "51000"
    assert param_error(ex.set_position_mode, ex.create_account({}), "net_mode").code == "51010"


def test_sizes_are_contracts_with_lot_and_maximum_checks(ex: Exchange) -> None:
    uid = futures_account(ex, USDT="10000000")
    msg = refused(ex, uid, swap_order(BTC, "buy", "0.015", "59000"), "51121")
    assert msg == "Order quantity must be a multiple of the lot size."
    refused(ex, uid, swap_order(INV, "buy", "0.5", "59000"), "51121")
    msg = refused(ex, uid, swap_order(BTC, "buy", "100000.01", "59000"), "51101")
    assert msg == "Order failed, the sz of the current order can’t be more than 100000 (contracts)."
    assert (
        refused(ex, uid, swap_order(BTC, "buy", "5000.01"), "51202")
        == "Market order amount exceeds the maximum amount."
    )
    refused(ex, uid, swap_order(BTC, "buy", "1", "60000", tgtCcy="base_ccy"), "51000")


def test_limit_prices_are_bounded_by_the_price_limit_around_the_mark(ex: Exchange) -> None:
    uid = futures_account(ex)
    buy, sell = ex.price_limit(BTC)
    assert (buy, sell) == (D("61200"), D("58800"))  # mark 60000 +- 2 %
    msg = refused(ex, uid, swap_order(BTC, "buy", "1", "61200.1"), "51006")
    assert msg == "Order price is not within the price limit (max buy price: 61200 , min sell price: 58800 )"
    refused(ex, uid, swap_order(BTC, "sell", "1", "58799.9"), "51006")
    place(ex, uid, swap_order(BTC, "buy", "1", "61200"))


def test_margin_for_the_opening_part_is_held_and_checked(ex: Exchange) -> None:
    uid = futures_account(ex, USDT="1000")
    # 10x by default: 1 contract at 60000 needs 0.01 * 60000 / 10 = 60 USDT.
    place(ex, uid, swap_order(BTC, "buy", "16", "60000"))  # 960 held
    assert (detail(ex, uid)["ordFrozen"], detail(ex, uid)["availEq"]) == ("960", "40")
    assert (
        refused(ex, uid, swap_order(BTC, "buy", "1", "60000"), "51008")
        == "Order failed. Insufficient USDT margin in account"
    )
    ex.cancel_all(uid)
    assert detail(ex, uid)["availEq"] == "1000"


def test_orders_beyond_the_tier_limit_at_the_leverage_are_refused(ex: Exchange) -> None:
    uid = futures_account(ex, USDT="10000000")
    ex.set_leverage(uid, {"instId": BTC, "lever": "125", "mgnMode": "cross"})
    place(ex, uid, swap_order(BTC, "buy", "2000", "59000"))
    msg = refused(ex, uid, swap_order(BTC, "buy", "1000.01", "59000"), "51004")
    assert msg.startswith(
        "Order failed. For buy/sell mode of BTC-USDT-SWAP, the sum of current buy order size, position quantity, "
        "and pending buy orders can’t be more than 3000(contracts) which is the maximum position amount under "
        "current leverage."
    )
    assert "current leverage: 125×" in msg and "pending buy orders: 2000 contracts" in msg
    place(ex, uid, swap_order(BTC, "buy", "1000", "59000"))


def test_reduce_only_orders_never_open_or_grow_a_position(ex: Exchange) -> None:
    maker, uid = futures_account(ex), futures_account(ex)
    msg = refused(ex, uid, swap_order(BTC, "sell", "1", "60000", reduceOnly=True), "51169")
    assert msg.startswith("Order failed because you don't have any positions in this direction")
    trade(ex, maker, uid, BTC, "buy", "2", "60000")
    msg = refused(ex, uid, swap_order(BTC, "buy", "1", "60000", reduceOnly=True), "51170")
    assert (
        msg
        == "Failed to place order. A reduce-only order can’t be the same trading direction as your existing positions."
    )
    place(ex, uid, swap_order(BTC, "sell", "1.5", "60500", reduceOnly="true"))
    refused(ex, uid, swap_order(BTC, "sell", "1", "60600", reduceOnly=True), "51134")
    # Closing the position another way cancels the pending reduce-only order (cancelSource 17).
    resting = ex.pending_orders(uid, {"instId": BTC})[0]
    trade(ex, maker, uid, BTC, "sell", "2", "60000")
    done = ex.get_order(uid, BTC, ord_id=resting["ordId"])
    assert (done["state"], done["cancelSource"], done["reduceOnly"]) == ("canceled", "17", "true")
    assert position(ex, uid)["pos"] == "0"


def test_long_short_mode_holds_both_sides_and_closes_each(ex: Exchange) -> None:
    maker, uid = futures_account(ex), futures_account(ex)
    for who in (maker, uid):
        ex.set_position_mode(who, "long_short_mode")
    trade(ex, maker, uid, BTC, "buy", "2", "60000", posSide="long")
    trade(ex, maker, uid, BTC, "sell", "1", "60000", posSide="short")
    assert position(ex, uid, pos_side="long")["pos"] == "2"
    assert position(ex, uid, pos_side="short")["pos"] == "1"
    msg = refused(ex, uid, swap_order(BTC, "sell", "3", "60000", posSide="long"), "51112")
    assert msg == "Close order size exceeds available size for this position."
    refused(ex, uid, swap_order(BTC, "buy", "1", "60000", posSide="long", reduceOnly=True), "51205")
    trade(ex, maker, uid, BTC, "sell", "2", "60000", posSide="long")
    assert position(ex, uid, pos_side="long")["pos"] == "0"
    assert [b["subType"] for b in reversed(ex.bills(uid, {"instType": "SWAP"}))] == ["3", "4", "5"]
    leverage = ex.leverage_info(uid, [BTC], "isolated")
    assert [(r["posSide"], r["lever"]) for r in leverage] == [("long", "10"), ("short", "10")]


def test_set_leverage_is_capped_and_refused_where_okx_refuses_it(ex: Exchange) -> None:
    maker, uid = futures_account(ex, USDT="10000000"), futures_account(ex, USDT="1000")
    set_lev = ex.set_leverage
    assert set_lev(uid, {"instId": BTC, "lever": 20, "mgnMode": "cross"}) == [
        {"lever": "20", "mgnMode": "cross", "instId": BTC, "posSide": ""}
    ]
    err = param_error(set_lev, uid, {"instId": BTC, "lever": "126", "mgnMode": "cross"})
    assert (err.code, err.msg) == ("59102", "Leverage exceeds the maximum limit. Please lower the leverage.")
    assert param_error(set_lev, uid, {"instId": BTC, "lever": "0.001", "mgnMode": "cross"}).code == "59105"
    assert param_error(set_lev, uid, {"instId": BTC, "lever": "x", "mgnMode": "cross"}).code == "51000"
    assert (
        param_error(
            set_lev, uid, {"instId": BTC, "lever": "5", "mgnMode": "isolated", "posSide": "long"}
        ).code
        == "51000"
    )
    place(ex, uid, swap_order(BTC, "buy", "1", "59000"))
    assert param_error(set_lev, uid, {"instId": BTC, "lever": "5", "mgnMode": "cross"}).code == "59000"
    ex.cancel_all(uid)
    # An isolated 10x long of 1 contract holds 60 of margin; at 2x it holds 300 (taken from equity).
    ex.set_leverage(uid, {"instId": BTC, "lever": "10", "mgnMode": "isolated"})
    trade(ex, maker, uid, BTC, "buy", "1", "60000", tdMode="isolated")
    assert position(ex, uid, mgn_mode="isolated")["margin"] == "60"
    set_lev(uid, {"instId": BTC, "lever": "2", "mgnMode": "isolated"})
    assert position(ex, uid, mgn_mode="isolated")["margin"] == "300"  # 0.01 * 60000 / 2
    # ... while 0.5x would need 1200 of margin: more than the account has.
    assert param_error(set_lev, uid, {"instId": BTC, "lever": "0.5", "mgnMode": "isolated"}).code == "59103"
    # A position in the second tier caps leverage at that tier's maximum.
    big = futures_account(ex, USDT="10000000")
    ex.set_leverage(big, {"instId": BTC, "lever": "100", "mgnMode": "cross"})
    trade(ex, maker, big, BTC, "buy", "3500", "60000")
    assert param_error(set_lev, big, {"instId": BTC, "lever": "125", "mgnMode": "cross"}).code == "59102"
    assert position(ex, big)["lever"] == "100"


def test_the_harsh_readings_can_be_switched_to_the_mild_ones(ex: Exchange) -> None:
    maker, uid = futures_account(ex), futures_account(ex, USDT="100000", BTC="1")
    spot = {
        "instId": "BTC-USDT",
        "tdMode": "cash",
        "side": "sell",
        "ordType": "limit",
        "px": "70000",
        "sz": "0.1",
    }
    place(ex, uid, spot)
    assert param_error(ex.set_position_mode, uid, "long_short_mode").code == "59000"  # a spot order blocks
    ex.rules.position_mode_blocked_by_spot_orders = False
    assert ex.set_position_mode(uid, "long_short_mode") == [{"posMode": "long_short_mode"}]
    ex.cancel_all(uid)
    place(ex, uid, swap_order(BTC, "buy", "1", "59000", posSide="long"))  # a cross order
    isolated = {"instId": BTC, "lever": "3", "mgnMode": "isolated", "posSide": "long"}
    assert param_error(ex.set_leverage, uid, isolated).code == "59000"
    ex.rules.leverage_blocked_by_any_order = False
    assert ex.set_leverage(uid, isolated)[0]["lever"] == "3"
    assert (
        param_error(ex.set_leverage, uid, {"instId": BTC, "lever": "3", "mgnMode": "cross"}).code == "59000"
    )
    ex.rules.price_band = D("0.05")
    assert ex.price_limit(BTC) == (D("63000"), D("57000"))
    del maker
