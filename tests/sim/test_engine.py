"""The exchange core as a user of OKX sees it: sCodes, balances, fills, fees, order states, events."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from okxbot.sim.clock import Clock
from okxbot.sim.engine import BalanceEvent, BookEvent, Exchange, OrderEvent, ParamError, TradeEvent
from tests.sim.pinned_prices import btc_at_43000

T0 = 1_700_000_000_000
HOUR = 3_600_000
BTC = "BTC-USDT"

# Every field of the order object (reference §3.13).
ORDER_FIELDS = set(
    "instType instId tgtCcy ccy ordId clOrdId tag px pxUsd pxVol pxType sz pnl ordType side posSide tdMode "
    "accFillSz fillPx tradeId fillSz fillTime avgPx state stpId stpMode lever attachAlgoClOrdId tpTriggerPx "
    "tpTriggerPxType tpOrdPx slTriggerPx slTriggerPxType slOrdPx attachAlgoOrds linkedAlgoOrd feeCcy fee "
    "rebateCcy source rebate category reduceOnly isTpLimit cancelSource cancelSourceReason quickMgnType "
    "algoClOrdId algoId uTime cTime tradeQuoteCcy".split()
)


@pytest.fixture
def ex() -> Exchange:
    return Exchange(Clock(frozen_ms=T0), btc_at_43000(), seed=7)


def order(side: str, px: str | None, sz: str, ord_type: str = "limit", **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"instId": BTC, "tdMode": "cash", "side": side, "ordType": ord_type, "sz": sz}
    if px is not None:
        params["px"] = px
    params.update(extra)
    return params


def place_ok(ex: Exchange, uid: str, params: dict[str, Any]) -> str:
    result = ex.place_order(uid, params)
    assert result["sCode"] == "0", result
    return result["ordId"]


def bal(ex: Exchange, uid: str, ccy: str) -> tuple[Decimal, Decimal]:
    """(availBal, frozenBal) as the balance endpoint reports them."""
    for d in ex.balances(uid)["details"]:
        if d["ccy"] == ccy:
            return Decimal(d["availBal"]), Decimal(d["frozenBal"])
    return Decimal(0), Decimal(0)


def test_limit_buy_freezes_quote_and_cancel_releases_it(ex: Exchange) -> None:
    uid = ex.create_account({"USDT": "10000"})
    oid = place_ok(ex, uid, order("buy", "40000", "0.1", clOrdId="grid1"))
    assert bal(ex, uid, "USDT") == (Decimal(6000), Decimal(4000))
    live = ex.get_order(uid, BTC, cl_ord_id="grid1")
    assert live is not None and live["state"] == "live" and live["ordId"] == oid
    assert ex.pending_orders(uid, {"instId": BTC})[0]["ordId"] == oid

    result = ex.cancel_order(uid, {"instId": BTC, "clOrdId": "grid1"})
    assert (result["sCode"], result["ordId"], result["clOrdId"]) == ("0", oid, "grid1")
    assert bal(ex, uid, "USDT") == (Decimal(10000), Decimal(0))
    done = ex.get_order(uid, BTC, ord_id=oid)
    assert done is not None and (done["state"], done["cancelSource"]) == ("canceled", "1")
    assert ex.pending_orders(uid, {}) == []
    again = ex.cancel_order(uid, {"instId": BTC, "ordId": oid})
    assert again["sCode"] == "51400"
    assert (
        again["sMsg"] == "Order cancellation failed as the order has been filled, canceled or does not exist."
    )


def test_order_object_has_every_okx_field_in_wire_form(ex: Exchange) -> None:
    uid = ex.create_account({"USDT": "10000"})
    oid = place_ok(ex, uid, order("buy", "40000.5", "0.01"))
    wire = ex.get_order(uid, BTC, ord_id=oid)
    assert wire is not None
    assert ORDER_FIELDS <= set(wire)
    for key, value in wire.items():
        if key == "attachAlgoOrds":
            assert value == []
        elif key == "linkedAlgoOrd":
            assert value == {"algoId": ""}
        else:
            assert isinstance(value, str), key
    assert wire["px"] == "40000.5" and wire["sz"] == "0.01" and wire["reduceOnly"] == "false"
    assert wire["ordId"].isdigit() and len(wire["ordId"]) == 18
    assert wire["cTime"] == str(T0) and wire["tgtCcy"] == "" and wire["fillPx"] == ""
    assert (wire["feeCcy"], wire["rebateCcy"], wire["fee"], wire["accFillSz"]) == ("BTC", "USDT", "0", "0")


def test_price_time_priority_and_maker_taker_fees(ex: Exchange) -> None:
    first = ex.create_account({"BTC": "1"})
    second = ex.create_account({"BTC": "1"})
    buyer = ex.create_account({"USDT": "100000"})
    a = place_ok(ex, first, order("sell", "43000", "0.3"))
    b = place_ok(ex, second, order("sell", "43000", "0.3"))
    cheaper = place_ok(ex, second, order("sell", "42999.9", "0.1"))
    assert ex.book(BTC).levels("asks", 5) == [("42999.9", "0.1", 1), ("43000", "0.6", 2)]

    taker = place_ok(ex, buyer, order("buy", "43000", "0.5"))
    # Best price first, then the older order at the same price.
    assert ex.get_order(second, BTC, ord_id=cheaper)["state"] == "filled"  # type: ignore[index]
    first_order = ex.get_order(first, BTC, ord_id=a)
    assert first_order is not None and first_order["state"] == "filled"
    second_order = ex.get_order(second, BTC, ord_id=b)
    assert second_order is not None
    assert (second_order["state"], second_order["accFillSz"]) == ("partially_filled", "0.1")
    assert ex.book(BTC).levels("asks", 5) == [("43000", "0.2", 1)]

    t = ex.get_order(buyer, BTC, ord_id=taker)
    assert t is not None and t["state"] == "filled" and t["accFillSz"] == "0.5"
    assert t["avgPx"] == "42999.98"  # (0.1 * 42999.9 + 0.4 * 43000) / 0.5
    # Taker 0.10%, charged in the currency received (BTC for a buy), negative.
    assert t["fee"] == "-0.0005" and t["feeCcy"] == "BTC"
    fills = ex.fills(buyer, {"instId": BTC})
    assert [f["execType"] for f in fills] == ["T", "T", "T"]
    assert {f["feeRate"] for f in fills} == {"-0.001"}
    assert [(f["fillPx"], f["fillSz"]) for f in fills] == [
        ("43000", "0.1"),
        ("43000", "0.3"),
        ("42999.9", "0.1"),
    ]
    # Maker 0.08%, in USDT for a sell.
    maker_fill = ex.fills(first, {})[0]
    assert (maker_fill["execType"], maker_fill["fee"], maker_fill["feeCcy"]) == ("M", "-10.32", "USDT")
    assert maker_fill["tradeId"].isdigit() and maker_fill["billId"].isdigit()
    # The buyer paid 21499.99 USDT and received 0.5 BTC minus the fee.
    assert bal(ex, buyer, "BTC") == (Decimal("0.4995"), Decimal(0))
    assert bal(ex, buyer, "USDT") == (Decimal("100000") - Decimal("21499.99"), Decimal(0))
    assert bal(ex, first, "USDT") == (Decimal("12900") - Decimal("10.32"), Decimal(0))
    assert bal(ex, first, "BTC") == (Decimal("0.7"), Decimal(0))


def test_limit_buy_filled_below_its_price_returns_the_difference(ex: Exchange) -> None:
    seller = ex.create_account({"BTC": "1"})
    buyer = ex.create_account({"USDT": "5000"})
    place_ok(ex, seller, order("sell", "40000", "0.1"))
    place_ok(ex, buyer, order("buy", "41000", "0.1"))
    assert bal(ex, buyer, "USDT") == (Decimal("1000"), Decimal(0))
    assert bal(ex, buyer, "BTC") == (Decimal("0.0999"), Decimal(0))


def test_bills_record_each_currency_of_a_fill(ex: Exchange) -> None:
    seller = ex.create_account({"BTC": "1"})
    buyer = ex.create_account({"USDT": "5000"})
    place_ok(ex, seller, order("sell", "40000", "0.1"))
    oid = place_ok(ex, buyer, order("buy", "40000", "0.1"))
    bills = ex.bills(buyer, {})
    assert {b["ccy"] for b in bills} == {"BTC", "USDT"}
    assert all(b["type"] == "2" and b["subType"] == "1" and b["ordId"] == oid for b in bills)
    by_ccy = {b["ccy"]: b for b in bills}
    assert by_ccy["USDT"]["balChg"] == "-4000" and by_ccy["USDT"]["bal"] == "1000"
    assert by_ccy["BTC"]["balChg"] == "0.0999" and by_ccy["BTC"]["fee"] == "-0.0001"
    assert {b["subType"] for b in ex.bills(seller, {})} == {"2"}
    assert ex.bills(buyer, {"ccy": "BTC"}) == [by_ccy["BTC"]]


def test_market_buy_spends_quote_and_needs_five_percent_headroom(ex: Exchange) -> None:
    seller = ex.create_account({"BTC": "10"})
    for px in ("43000", "43001", "43002"):
        place_ok(ex, seller, order("sell", px, "0.01"))
    poor = ex.create_account({"USDT": "1000"})
    refused = ex.place_order(poor, order("buy", None, "1000", "market"))
    assert refused["sCode"] == "51008"
    assert refused["sMsg"] == "Order failed. Insufficient USDT balance in account"

    oid = place_ok(ex, poor, order("buy", None, "900", "market"))
    o = ex.get_order(poor, BTC, ord_id=oid)
    assert o is not None
    assert (o["state"], o["tgtCcy"], o["px"], o["sz"]) == ("filled", "quote_ccy", "", "900")
    spent = Decimal(1000) - bal(ex, poor, "USDT")[0]
    assert Decimal(890) < spent <= Decimal(900)
    assert bal(ex, poor, "USDT")[1] == 0  # nothing stays frozen once the order is done
    assert Decimal(o["accFillSz"]) * Decimal("0.999") == bal(ex, poor, "BTC")[0]


def test_market_order_with_base_size_and_market_sell(ex: Exchange) -> None:
    maker = ex.create_account({"BTC": "1", "USDT": "100000"})
    place_ok(ex, maker, order("sell", "43000", "0.5"))
    place_ok(ex, maker, order("buy", "42000", "0.5"))
    trader = ex.create_account({"USDT": "50000", "BTC": "1"})
    buy = place_ok(ex, trader, order("buy", None, "0.2", "market", tgtCcy="base_ccy"))
    assert ex.get_order(trader, BTC, ord_id=buy)["accFillSz"] == "0.2"  # type: ignore[index]
    sell = place_ok(ex, trader, order("sell", None, "0.3", "market"))
    s = ex.get_order(trader, BTC, ord_id=sell)
    assert s is not None and (s["state"], s["tgtCcy"], s["fillPx"]) == ("filled", "base_ccy", "42000")
    # Sold 0.3 BTC at 42000 less 0.1% taker fee, paid 0.2 * 43000 before.
    assert bal(ex, trader, "USDT")[0] == Decimal(50000) - Decimal(8600) + Decimal(12600) - Decimal("12.6")


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        ({"instId": ""}, "50014", "Parameter instId can not be empty."),
        ({"sz": None}, "50014", "Parameter sz can not be empty."),
        ({"clOrdId": "has-hyphen"}, "51000", "Parameter clOrdId error"),
        ({"clOrdId": "a" * 33}, "51000", "Parameter clOrdId error"),
        ({"instId": "NOPE-USDT"}, "51001", "Instrument ID or Spread ID doesn't exist."),
        ({"sz": "0.000000001"}, "51121", "Order quantity must be a multiple of the lot size."),
        ({"sz": "0.000001"}, "51020", "Your order should meet or exceed the minimum order amount."),
        ({"px": "40000.05"}, "51000", "Parameter px error"),
        ({"px": "abc"}, "51000", "Parameter px error"),
        ({"px": ""}, "51204", "The price for the limit order cannot be empty."),
        ({"sz": "-1"}, "51000", "Parameter sz error"),
        ({"side": "long"}, "51000", "Parameter side error"),
        ({"ordType": "twap"}, "51000", "Parameter ordType error"),
        ({"tdMode": "cross"}, "51010", "You can't complete this request under your current account mode."),
        ({"sz": "1"}, "51008", "Order failed. Insufficient USDT balance in account"),
        (
            {"px": "60000"},
            "51006",
            "Order price is not within the price limit (max buy price: 51600 , min sell price: 34400 )",
        ),
    ],
)
def test_rejections_carry_okx_scodes(ex: Exchange, params: dict[str, Any], code: str, msg: str) -> None:
    uid = ex.create_account({"USDT": "20000"})
    base = order("buy", "40000", "0.01", clOrdId="ok1", tag="t1")
    base.update(params)
    result = ex.place_order(uid, base)
    assert (result["sCode"], result["sMsg"], result["ordId"]) == (code, msg, "")
    assert result["tag"] == "t1" and result["ts"] == str(T0)
    assert ex.pending_orders(uid, {}) == []
    assert bal(ex, uid, "USDT") == (Decimal(20000), Decimal(0))


def test_python_okx_style_empty_fields_are_absent(ex: Exchange) -> None:
    uid = ex.create_account({"USDT": "20000"})
    params = order(
        "buy", "40000", "0.01", clOrdId="", tag="", tgtCcy="", ccy="", attachAlgoOrds=None, stpMode=""
    )
    result = ex.place_order(uid, params)
    assert result["sCode"] == "0" and result["clOrdId"] == ""


def test_client_order_id_unique_among_pending_and_reusable_after(ex: Exchange) -> None:
    uid = ex.create_account({"USDT": "20000"})
    first = place_ok(ex, uid, order("buy", "40000", "0.01", clOrdId="b15"))
    dup = ex.place_order(uid, order("buy", "40000", "0.01", clOrdId="b15"))
    assert (dup["sCode"], dup["sMsg"], dup["clOrdId"]) == ("51016", "Client order ID already exists.", "b15")
    other = ex.create_account({"USDT": "20000"})
    place_ok(ex, other, order("buy", "40000", "0.01", clOrdId="b15"))  # ids are per account
    ex.cancel_order(uid, {"instId": BTC, "ordId": first})
    second = place_ok(ex, uid, order("buy", "39000", "0.01", clOrdId="b15"))
    latest = ex.get_order(uid, BTC, cl_ord_id="b15")
    assert latest is not None and latest["ordId"] == second and latest["px"] == "39000"


def test_post_only_that_would_take_is_canceled_with_source_31(ex: Exchange) -> None:
    maker = ex.create_account({"BTC": "1"})
    place_ok(ex, maker, order("sell", "43000", "0.1"))
    uid = ex.create_account({"USDT": "10000"})
    crossing = place_ok(ex, uid, order("buy", "43000", "0.1", "post_only"))
    o = ex.get_order(uid, BTC, ord_id=crossing)
    assert o is not None and (o["state"], o["cancelSource"], o["accFillSz"]) == ("canceled", "31", "0")
    assert bal(ex, uid, "USDT") == (Decimal(10000), Decimal(0))
    resting = place_ok(ex, uid, order("buy", "42999.9", "0.1", "post_only"))
    assert ex.get_order(uid, BTC, ord_id=resting)["state"] == "live"  # type: ignore[index]


def test_ioc_remainder_and_fok_all_or_nothing(ex: Exchange) -> None:
    maker = ex.create_account({"BTC": "1"})
    place_ok(ex, maker, order("sell", "43000", "0.1"))
    uid = ex.create_account({"USDT": "100000"})
    fok = place_ok(ex, uid, order("buy", "43000", "0.2", "fok"))
    f = ex.get_order(uid, BTC, ord_id=fok)
    assert f is not None and (f["state"], f["cancelSource"], f["accFillSz"]) == ("canceled", "13", "0")
    assert ex.book(BTC).levels("asks", 1) == [("43000", "0.1", 1)]

    ioc = place_ok(ex, uid, order("buy", "43000", "0.2", "ioc"))
    i = ex.get_order(uid, BTC, ord_id=ioc)
    assert i is not None and (i["state"], i["cancelSource"], i["accFillSz"]) == ("canceled", "14", "0.1")
    assert bal(ex, uid, "USDT") == (Decimal(100000) - Decimal(4300), Decimal(0))

    place_ok(ex, maker, order("sell", "43000", "0.2"))
    ok = place_ok(ex, uid, order("buy", "43000", "0.2", "fok"))
    assert ex.get_order(uid, BTC, ord_id=ok)["state"] == "filled"  # type: ignore[index]


def test_amend_size_price_and_completed_orders(ex: Exchange) -> None:
    uid = ex.create_account({"USDT": "100000"})
    other = ex.create_account({"USDT": "100000"})
    oid = place_ok(ex, uid, order("buy", "40000", "0.5", clOrdId="am1"))
    place_ok(ex, other, order("buy", "40000", "0.5"))
    # Smaller size at the same price keeps time priority.
    r = ex.amend_order(uid, {"instId": BTC, "clOrdId": "am1", "newSz": "0.2", "reqId": "r1"})
    assert (r["sCode"], r["ordId"], r["reqId"]) == ("0", oid, "r1")
    assert bal(ex, uid, "USDT") == (Decimal(92000), Decimal(8000))
    seller = ex.create_account({"BTC": "1"})
    place_ok(ex, seller, order("sell", "40000", "0.1"))
    assert ex.get_order(uid, BTC, ord_id=oid)["accFillSz"] == "0.1"  # type: ignore[index]
    # A new price that crosses the book trades at once.
    place_ok(ex, seller, order("sell", "40500", "0.5"))
    r = ex.amend_order(uid, {"instId": BTC, "ordId": oid, "newPx": "40500"})
    assert r["sCode"] == "0"
    o = ex.get_order(uid, BTC, ord_id=oid)
    assert o is not None and (o["state"], o["accFillSz"], o["px"]) == ("filled", "0.2", "40500")
    gone = ex.amend_order(uid, {"instId": BTC, "ordId": oid, "newSz": "1"})
    assert (gone["sCode"], gone["sMsg"]) == ("51503", "Your order has already been filled or canceled.")
    assert ex.amend_order(uid, {"instId": BTC, "ordId": oid})["sCode"] == "50015"


def test_amend_size_down_to_filled_completes_the_order(ex: Exchange) -> None:
    uid = ex.create_account({"USDT": "100000"})
    oid = place_ok(ex, uid, order("buy", "40000", "0.5"))
    seller = ex.create_account({"BTC": "1"})
    place_ok(ex, seller, order("sell", "40000", "0.2"))
    assert ex.amend_order(uid, {"instId": BTC, "ordId": oid, "newSz": "0.2"})["sCode"] == "0"
    o = ex.get_order(uid, BTC, ord_id=oid)
    assert o is not None and o["state"] == "filled"
    assert bal(ex, uid, "USDT")[1] == 0


def test_self_trade_cancels_the_resting_order(ex: Exchange) -> None:
    uid = ex.create_account({"USDT": "100000", "BTC": "1"})
    resting = place_ok(ex, uid, order("sell", "43000", "0.1"))
    place_ok(ex, uid, order("buy", "43000", "0.1"))
    r = ex.get_order(uid, BTC, ord_id=resting)
    assert r is not None and (r["state"], r["cancelSource"]) == ("canceled", "32")
    assert ex.fills(uid, {}) == []


def test_cancel_all_after_uses_source_20(ex: Exchange) -> None:
    uid = ex.create_account({"USDT": "100000"})
    ids = [place_ok(ex, uid, order("buy", str(40000 - i), "0.01")) for i in range(3)]
    place_ok(ex, uid, {**order("buy", "1", "1"), "instId": "XRP-USDT", "px": "0.5"})
    canceled = ex.cancel_all(uid, BTC, source="20")
    assert [o["ordId"] for o in canceled] == ids
    assert {o["cancelSource"] for o in canceled} == {"20"}
    assert [o["instId"] for o in ex.pending_orders(uid, {})] == ["XRP-USDT"]
    assert len(ex.mass_cancel(uid)) == 1 and ex.pending_orders(uid, {}) == []


def test_history_keeps_filled_7_days_and_unfilled_canceled_2_hours(ex: Exchange) -> None:
    uid = ex.create_account({"USDT": "100000"})
    seller = ex.create_account({"BTC": "1"})
    canceled = place_ok(ex, uid, order("buy", "40000", "0.01"))
    ex.cancel_order(uid, {"instId": BTC, "ordId": canceled})
    place_ok(ex, seller, order("sell", "40000", "0.01"))
    filled = place_ok(ex, uid, order("buy", "40000", "0.01"))
    hist = ex.order_history(uid, {"instType": "SPOT"})
    assert [o["ordId"] for o in hist] == [filled, canceled]
    assert [o["ordId"] for o in ex.order_history(uid, {"instType": "SPOT", "state": "canceled"})] == [
        canceled
    ]

    ex.clock.advance(2 * HOUR + 1)
    assert [o["ordId"] for o in ex.order_history(uid, {"instType": "SPOT"})] == [filled]
    assert ex.get_order(uid, BTC, ord_id=canceled) is None
    assert ex.get_order(uid, BTC, ord_id=filled) is not None

    ex.clock.advance(7 * 24 * HOUR)
    assert ex.order_history(uid, {"instType": "SPOT"}) == []
    assert ex.get_order(uid, BTC, ord_id=filled) is None
    assert len(ex.all_orders(uid)) == 2  # the admin view still has them
    with pytest.raises(ParamError) as err:
        ex.order_history(uid, {})
    assert err.value.code == "50014"


def test_pending_orders_paginate_newest_first(ex: Exchange) -> None:
    uid = ex.create_account({"USDT": "1000000"})
    ids = [place_ok(ex, uid, order("buy", str(30000 + i), "0.01")) for i in range(5)]
    assert [o["ordId"] for o in ex.pending_orders(uid, {})] == ids[::-1]
    assert [o["ordId"] for o in ex.pending_orders(uid, {"limit": "2"})] == [ids[4], ids[3]]
    assert [o["ordId"] for o in ex.pending_orders(uid, {"after": ids[3], "limit": "2"})] == [ids[2], ids[1]]
    assert [o["ordId"] for o in ex.pending_orders(uid, {"before": ids[2]})] == [ids[4], ids[3]]
    assert len(ex.pending_orders(uid, {"limit": "500"})) == 5  # above 100: answered with the maximum
    with pytest.raises(ParamError) as err:
        ex.pending_orders(uid, {"limit": "0"})
    assert (err.value.code, err.value.msg) == ("51000", "Parameter limit error")


def test_events_follow_the_order_lifecycle(ex: Exchange) -> None:
    events: list[Any] = []
    ex.add_listener(events.append)
    seller = ex.create_account({"BTC": "1"})
    buyer = ex.create_account({"USDT": "100000"})
    sell_id = place_ok(ex, seller, order("sell", "43000", "0.3", clOrdId="s1"))
    events.clear()
    buy_id = place_ok(ex, buyer, order("buy", "43000", "0.1", clOrdId="b1"))

    buyer_orders = [e.order for e in events if isinstance(e, OrderEvent) and e.uid == buyer]
    assert [(o["state"], o["fillSz"], o["execType"]) for o in buyer_orders] == [
        ("live", "0", ""),
        ("filled", "0.1", "T"),
    ]
    fill = buyer_orders[-1]
    assert (fill["ordId"], fill["fillPx"], fill["fillFee"], fill["fillFeeCcy"]) == (
        buy_id,
        "43000",
        "-0.0001",
        "BTC",
    )
    assert fill["tradeId"] and fill["lastPx"] == "43000" and fill["code"] == "0"
    seller_orders = [e.order for e in events if isinstance(e, OrderEvent) and e.uid == seller]
    assert [(o["ordId"], o["state"], o["execType"], o["accFillSz"]) for o in seller_orders] == [
        (sell_id, "partially_filled", "M", "0.1")
    ]
    trades = [e.trade for e in events if isinstance(e, TradeEvent)]
    assert [(t["px"], t["sz"], t["side"]) for t in trades] == [("43000", "0.1", "buy")]
    assert trades[0]["tradeId"] == fill["tradeId"]
    balance_events = {e.uid: e.ccys for e in events if isinstance(e, BalanceEvent)}
    assert balance_events == {buyer: ["BTC", "USDT"], seller: ["BTC", "USDT"]}
    assert [e.inst_id for e in events if isinstance(e, BookEvent)] == [BTC]
    # The per-operation events come after the order pushes of that operation.
    assert isinstance(events[-1], BookEvent)

    events.clear()
    ex.cancel_order(seller, {"instId": BTC, "clOrdId": "s1"})
    pushed = [e.order for e in events if isinstance(e, OrderEvent)]
    assert [(o["state"], o["cancelSource"], o["accFillSz"]) for o in pushed] == [("canceled", "1", "0.1")]


def test_amend_pushes_amend_result_and_req_id(ex: Exchange) -> None:
    events: list[Any] = []
    uid = ex.create_account({"USDT": "100000"})
    oid = place_ok(ex, uid, order("buy", "40000", "0.1"))
    ex.add_listener(events.append)
    ex.amend_order(uid, {"instId": BTC, "ordId": oid, "newPx": "40001", "reqId": "x9"})
    pushed = [e.order for e in events if isinstance(e, OrderEvent)]
    assert [(o["amendResult"], o["reqId"], o["px"]) for o in pushed] == [("0", "x9", "40001")]


def test_a_failing_listener_does_not_break_trading(ex: Exchange) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("subscriber bug")

    ex.add_listener(broken)
    uid = ex.create_account({"USDT": "100000"})
    assert ex.place_order(uid, order("buy", "40000", "0.1"))["sCode"] == "0"


def test_ticker_trades_and_candles_follow_the_trades(ex: Exchange) -> None:
    seller = ex.create_account({"BTC": "1"})
    buyer = ex.create_account({"USDT": "100000"})
    place_ok(ex, seller, order("sell", "43000", "0.1"))
    place_ok(ex, seller, order("sell", "43100", "0.1"))
    place_ok(ex, buyer, order("buy", "43000", "0.1"))
    ex.clock.advance(60_000)
    place_ok(ex, buyer, order("buy", "43100", "0.05"))
    t = ex.ticker(BTC)
    assert (t["last"], t["lastSz"], t["askPx"], t["askSz"], t["bidPx"]) == (
        "43100",
        "0.05",
        "43100",
        "0.05",
        "",
    )
    assert (t["open24h"], t["high24h"], t["low24h"], t["vol24h"]) == ("43000", "43100", "43000", "0.15")
    assert t["volCcy24h"] == "6455"
    assert [(x["px"], x["side"]) for x in ex.trades(BTC)] == [("43100", "buy"), ("43000", "buy")]
    rows = ex.candles(BTC, "1m")
    minute = T0 - T0 % 60_000
    assert rows == [
        [str(minute + 60_000), "43100", "43100", "43100", "43100", "0.05", "2155", "2155", "0"],
        [str(minute), "43000", "43000", "43000", "43000", "0.1", "4300", "4300", "1"],
    ]
    hourly = ex.candles(BTC, "1H")
    assert len(hourly) == 1 and hourly[0][1:6] == ["43000", "43100", "43000", "43100", "0.15"]
    with pytest.raises(ParamError):
        ex.candles(BTC, "7m")


def test_books_snapshot_levels_as_strings(ex: Exchange) -> None:
    uid = ex.create_account({"USDT": "100000"})
    place_ok(ex, uid, order("buy", "40000", "0.1"))
    place_ok(ex, uid, order("buy", "40000", "0.25"))
    place_ok(ex, uid, order("buy", "39999.9", "1"))
    snap = ex.books(BTC, 5)
    assert snap["bids"] == [["40000", "0.35", "0", "2"], ["39999.9", "1", "0", "1"]]
    assert snap["asks"] == [] and snap["ts"] == str(T0)


def test_unknown_account_is_a_clear_error(ex: Exchange) -> None:
    with pytest.raises(KeyError, match="no simulator account"):
        ex.place_order("123", order("buy", "40000", "0.1"))


def test_candle_bars_open_where_okx_opens_them() -> None:
    from datetime import UTC, datetime

    from okxbot.sim.tape import bar_open

    def ms(*args: int) -> int:
        return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)

    ts = ms(2024, 3, 13, 10, 37, 12)  # a Wednesday
    assert bar_open(ts, "1m") == ms(2024, 3, 13, 10, 37)
    assert bar_open(ts, "15m") == ms(2024, 3, 13, 10, 30)
    assert bar_open(ts, "4H") == ms(2024, 3, 13, 8)
    # 6H and longer open at 00:00 UTC+8 (16:00 UTC) unless the bar name ends in "utc".
    assert bar_open(ts, "1D") == ms(2024, 3, 12, 16)
    assert bar_open(ts, "1Dutc") == ms(2024, 3, 13)
    assert bar_open(ts, "1W") == ms(2024, 3, 10, 16)  # Monday 00:00 UTC+8
    assert bar_open(ts, "1Wutc") == ms(2024, 3, 11)
    assert bar_open(ts, "1M") == ms(2024, 2, 29, 16)
    assert bar_open(ts, "3Mutc") == ms(2024, 1, 1)


def _all_fills(ex: Exchange, uid: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    while True:
        page = ex.fills(uid, {"after": out[-1]["billId"]} if out else {})
        if not page:
            return out
        out += page


_side = st.sampled_from(["buy", "sell"])
_kind = st.sampled_from(["limit", "limit", "post_only", "ioc", "fok", "market", "market_quote"])
_px = st.integers(min_value=42990, max_value=43010).map(str)
_sz = st.integers(min_value=1, max_value=300).map(lambda n: str(Decimal(n) / 1000))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 2), _side, _kind, _px, _sz, st.booleans()), min_size=1, max_size=40))
@example(  # a quote-sized market sell into an empty bid side once left dust frozen
    [
        (0, "buy", "limit", "42990", "0.001", False),
        (0, "sell", "limit", "42990", "0.001", False),
        (0, "sell", "limit", "42990", "0.099", False),
        (0, "sell", "market_quote", "42990", "0.001", False),
    ]
)
def test_money_is_conserved_and_nothing_stays_frozen(ops: list[tuple[int, str, str, str, str, bool]]) -> None:
    ex = Exchange(Clock(frozen_ms=T0), btc_at_43000(), seed=7)
    uids = [ex.create_account({"USDT": "50000", "BTC": "1"}) for _ in range(3)]
    placed: list[tuple[str, str]] = []
    for who, side, kind, px, sz, cancel_one in ops:
        uid = uids[who]
        if cancel_one and placed:
            owner, oid = placed.pop(0)
            ex.cancel_order(owner, {"instId": BTC, "ordId": oid})
            continue
        if kind == "market":
            params = order(side, None, sz, "market", tgtCcy="base_ccy")
        elif kind == "market_quote":  # sz in USDT: 1 to 300
            params = order(side, None, str(Decimal(sz) * 1000), "market", tgtCcy="quote_ccy")
        else:
            params = order(side, px, sz, kind)
        result = ex.place_order(uid, params)
        assert result["sCode"] in ("0", "51008"), result
        if result["sCode"] == "0":
            placed.append((uid, result["ordId"]))
        bid, ask = ex.book(BTC).best_px("bids"), ex.book(BTC).best_px("asks")
        assert bid is None or ask is None or bid < ask
        for u in uids:
            for d in ex.balances(u)["details"]:
                assert Decimal(d["availBal"]) >= 0 and Decimal(d["frozenBal"]) >= 0
    for u in uids:
        ex.cancel_all(u)
    fees = {"BTC": Decimal(0), "USDT": Decimal(0)}
    totals = {"BTC": Decimal(0), "USDT": Decimal(0)}
    for u in uids:
        for f in _all_fills(ex, u):
            fees[f["feeCcy"]] += -Decimal(f["fee"])
        for d in ex.balances(u)["details"]:
            assert d["frozenBal"] == "0" and d["availBal"] == d["cashBal"]
            totals[d["ccy"]] += Decimal(d["cashBal"])
    assert totals["BTC"] + fees["BTC"] == 3
    assert totals["USDT"] + fees["USDT"] == 150000
