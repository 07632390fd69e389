"""Placing, amending, canceling and listing algo orders, and TP/SL attached to orders (OKX's sCodes)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from okxbot.sim.engine import Exchange, ParamError
from tests.sim.algo_desk import (
    SPOT,
    START,
    SWAP,
    Desk,
    algo,
    new_exchange,
    ok,
    open_long,
    position,
    sl,
    swap_account,
)

# Every field of the algo object (OKX "GET / Algo order details").
ALGO_FIELDS = set(
    "activePx actualPx actualSide actualSz algoClOrdId algoId amendPxOnTriggerType attachAlgoOrds cTime "
    "callbackRatio callbackSpread ccy chaseType chaseVal clOrdId closeFraction failCode instId instType "
    "isTradeBorrowMode last lever linkedOrd maxChaseType maxChaseVal moveTriggerPx ordId ordIdList ordPx ordType "
    "posSide pxLimit pxSpread pxVar quickMgnType reduceOnly side slOrdPx slTriggerPx slTriggerPxType state sz "
    "szLimit tag tdMode tgtCcy timeInterval tpOrdPx tpTriggerPx tpTriggerPxType triggerPx triggerPxType "
    "triggerTime tradeQuoteCcy uTime".split()
)


@pytest.fixture
def ex() -> Exchange:
    return new_exchange()


@pytest.fixture
def desk(ex: Exchange) -> Desk:
    return Desk(ex)


@pytest.fixture
def long10(ex: Exchange, desk: Desk) -> str:
    """A Futures-mode account holding a 10-contract long on BTC-USDT-SWAP at 61000.1."""
    uid = swap_account(ex)
    open_long(ex, desk, uid, "10")
    return uid


def code(result: dict[str, str]) -> tuple[str, str]:
    return result["sCode"], result["sMsg"]


def test_algo_object_has_every_okx_field(ex: Exchange, long10: str) -> None:
    algo_id = ok(ex.place_algo(long10, sl("10", "60000", reduceOnly=True, algoClOrdId="a1", tag="t1")))
    wire = algo(ex, long10, algo_id)
    assert set(wire) == ALGO_FIELDS
    assert {k: wire[k] for k in ("algoClOrdId", "instType", "ordType", "posSide", "tdMode", "lever", "reduceOnly",
                                 "slTriggerPx", "slOrdPx", "slTriggerPxType", "tpTriggerPx", "state", "sz", "tag",
                                 "last", "actualSz", "failCode", "ordIdList", "linkedOrd", "tgtCcy")} == {
        "algoClOrdId": "a1", "instType": "SWAP", "ordType": "conditional", "posSide": "net", "tdMode": "cross",
        "lever": "10", "reduceOnly": "true", "slTriggerPx": "60000", "slOrdPx": "-1", "slTriggerPxType": "last",
        "tpTriggerPx": "", "state": "live", "sz": "10", "tag": "t1", "last": "61000.1", "actualSz": "0",
        "failCode": "", "ordIdList": [], "linkedOrd": {"ordId": ""}, "tgtCcy": "",
    }  # fmt: skip
    assert ex.get_algo(long10, algo_cl_ord_id="a1") == wire


def test_client_order_id_is_taken_as_the_algo_client_id(ex: Exchange, long10: str) -> None:
    result = ex.place_algo(long10, sl("10", "60000", reduceOnly=True, clOrdId="cc1"))
    assert (result["algoClOrdId"], result["clOrdId"]) == (
        "cc1",
        "cc1",
    )  # as OKX answered ccxt (ccxt PR#20693)
    assert algo(ex, long10, ok(result))["algoClOrdId"] == "cc1"


WRONG_SIDE = [
    ({"side": "sell", "slTriggerPx": "61500", "slOrdPx": "-1"}, "51280", "SL trigger price cannot be higher than the last price."),
    ({"side": "sell", "tpTriggerPx": "60000", "tpOrdPx": "-1"}, "51279", "TP trigger price cannot be lower than the last price."),
    ({"side": "buy", "slTriggerPx": "60000", "slOrdPx": "-1"}, "51278", "SL trigger price cannot be lower than the last price."),
    ({"side": "buy", "tpTriggerPx": "62000", "tpOrdPx": "-1"}, "51277", "TP trigger price cannot be higher than the last price."),
    ({"side": "sell", "slTriggerPx": "61500", "slOrdPx": "-1", "slTriggerPxType": "mark"}, "51304",
     "SL trigger price cannot be higher than the mark price."),
    ({"side": "buy", "tpTriggerPx": "62000", "tpOrdPx": "-1", "tpTriggerPxType": "index"}, "51305",
     "TP trigger price cannot be higher than the index price."),
]  # fmt: skip


@pytest.mark.parametrize(("legs", "scode", "msg"), WRONG_SIDE)
def test_trigger_on_the_wrong_side_of_its_price_is_refused(
    ex: Exchange, desk: Desk, legs: dict[str, str], scode: str, msg: str
) -> None:
    uid = swap_account(ex)
    desk.move(START)
    params = {"instId": SWAP, "tdMode": "cross", "ordType": "conditional", "sz": "1", **legs}
    assert code(ex.place_algo(uid, params)) == (scode, msg)
    assert ex.algos_pending(uid, {"ordType": "conditional"}) == []


REFUSED = [
    ({"ordType": "conditional", "sz": "1"}, ("50015", "Either parameter tpTriggerPx or slTriggerPx is required")),
    ({"ordType": "oco", "sz": "1", "slTriggerPx": "59000", "slOrdPx": "-1"}, ("51000", "Parameter tpTriggerPx error")),
    ({"ordType": "conditional", "sz": "1", "slTriggerPx": "59000"}, ("51000", "Parameter slOrdPx error")),
    ({"ordType": "conditional", "sz": "1", "slTriggerPx": "59000.05", "slOrdPx": "-1"},
     ("51000", "Parameter slTriggerPx error")),
    ({"ordType": "conditional", "sz": "1", "slTriggerPx": "59000", "slOrdPx": "-1", "slTriggerPxType": "fair"},
     ("51000", "Parameter slTriggerPxType error")),
    ({"ordType": "twap", "sz": "1"}, ("51000", "Parameter ordType error")),
    ({"ordType": "conditional", "sz": "1.001", "slTriggerPx": "59000", "slOrdPx": "-1"},
     ("51121", "Order quantity must be a multiple of the lot size.")),
    ({"ordType": "conditional", "slTriggerPx": "59000", "slOrdPx": "-1"}, ("50014", "Parameter sz can not be empty.")),
    ({"ordType": "conditional", "sz": "1", "slTriggerPx": "59000", "slOrdPx": "-1", "tdMode": "cash"},
     ("51000", "Parameter tdMode error")),
    ({"ordType": "conditional", "sz": "1", "slTriggerPx": "59000", "slOrdPx": "-1", "posSide": "long"},
     ("51000", "Parameter posSide error")),
    ({"ordType": "conditional", "sz": "1", "slTriggerPx": "59000", "slOrdPx": "-1", "reduceOnly": True},
     ("51205", "Reduce Only is not available.")),
    ({"ordType": "conditional", "slTriggerPx": "59000", "slOrdPx": "-1", "closeFraction": "1"},
     ("51328", "closeFraction is only available for reduceOnly orders")),
    ({"ordType": "conditional", "slTriggerPx": "59000", "slOrdPx": "59000", "closeFraction": "1", "reduceOnly": True},
     ("51330", "closeFraction is only available for stop market orders")),
    ({"ordType": "conditional", "slTriggerPx": "59000", "slOrdPx": "-1", "closeFraction": "1", "reduceOnly": True},
     ("51058", "No available position for this algo order")),
    ({"ordType": "trigger", "sz": "1", "triggerPx": "62000", "orderPx": "-1", "closeFraction": "1",
      "reduceOnly": True}, ("51331", "closeFraction is only available for close position orders")),
    ({"ordType": "trigger", "sz": "1", "orderPx": "-1"}, ("50014", "Parameter triggerPx can not be empty.")),
    ({"ordType": "trigger", "sz": "1", "triggerPx": "62000", "orderPx": "-1", "tgtCcy": "quote_ccy"},
     ("51281", "Trigger order do not support the tgtCcy parameter.")),
    ({"ordType": "move_order_stop", "sz": "1"},
     ("50015", "Either parameter callbackRatio or callbackSpread is required")),
    ({"ordType": "move_order_stop", "sz": "1", "callbackRatio": "0.05", "callbackSpread": "100"},
     ("50024", "Parameter callbackRatio and callbackSpread can not exist at the same time.")),
    ({"ordType": "move_order_stop", "sz": "1", "callbackRatio": "0.5"},
     ("51257", "Trailing stop order callback rate error. The callback rate should be 0.1<= x<=10%.")),
    ({"ordType": "move_order_stop", "sz": "1", "callbackRatio": "0.05", "activePx": "60000"},
     ("51258", "Trailing stop order placement failed. The trigger price of a sell order must be higher than the "
               "last transaction price.")),
    ({"ordType": "move_order_stop", "sz": "1", "callbackRatio": "0.05", "activePx": "62000", "side": "buy"},
     ("51259", "Trailing stop order placement failed. The trigger price of a buy order must be lower than the "
               "last transaction price.")),
    ({"ordType": "conditional", "sz": "1", "slTriggerPx": "59000", "slOrdPx": "-1", "algoClOrdId": "bad-id"},
     ("51000", "Parameter algoClOrdId error")),
    ({"instId": "NOPE-USDT", "ordType": "conditional", "sz": "1", "slTriggerPx": "59000", "slOrdPx": "-1"},
     ("51001", "Instrument ID or Spread ID doesn't exist.")),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "expected"), REFUSED)
def test_placement_refusals_carry_okx_scodes(
    ex: Exchange, desk: Desk, fields: dict[str, Any], expected: tuple[str, str]
) -> None:
    uid = swap_account(ex)
    desk.move(START)
    params = {"instId": SWAP, "tdMode": "cross", "side": "sell", **fields}
    assert code(ex.place_algo(uid, params)) == expected


def test_account_mode_and_spot_rules(ex: Exchange, desk: Desk) -> None:
    spot_mode = ex.create_account({"USDT": "1000", "BTC": "1"})
    desk.move(START)
    swap_stop = sl("1", "59000")
    assert code(ex.place_algo(spot_mode, swap_stop))[0] == "51010"
    spot = {"instId": SPOT, "tdMode": "cash", "side": "sell", "ordType": "conditional", "sz": "0.1",
            "slTriggerPx": "59000", "slOrdPx": "-1"}  # fmt: skip
    assert code(ex.place_algo(spot_mode, {**spot, "slTriggerPxType": "mark"}))[0] == "51415"
    assert code(ex.place_algo(spot_mode, {**spot, "tdMode": "cross"}))[0] == "51010"
    assert code(ex.place_algo(spot_mode, {**spot, "reduceOnly": True}))[0] == "51139"
    assert code(ex.place_algo(spot_mode, {**spot, "sz": "0.000001"}))[0] == "51020"
    assert ex.place_algo(spot_mode, spot)["sCode"] == "0"


def test_algo_client_id_is_unique_among_live_algos_and_reusable_after(ex: Exchange, long10: str) -> None:
    first = ok(ex.place_algo(long10, sl("1", "60000", reduceOnly=True, algoClOrdId="dup1")))
    assert code(ex.place_algo(long10, sl("1", "59000", reduceOnly=True, algoClOrdId="dup1"))) == (
        "51065",
        "algoClOrdId already exists.",
    )
    ex.cancel_algos(long10, [{"instId": SWAP, "algoId": first}])
    again = ok(ex.place_algo(long10, sl("1", "59000", reduceOnly=True, algoClOrdId="dup1")))
    assert ex.get_algo(long10, algo_cl_ord_id="dup1")["algoId"] == again  # type: ignore[index]


def test_close_all_stop_is_one_per_position(ex: Exchange, long10: str) -> None:
    close_all = {**sl("", "60000", closeFraction="1", reduceOnly=True), "sz": ""}
    ok(ex.place_algo(long10, close_all))
    assert code(ex.place_algo(long10, close_all)) == (
        "51088",
        "You can only place 1 TP/SL order to close an entire position",
    )


def test_pending_caps(ex: Exchange, long10: str) -> None:
    for i in range(100):
        ok(ex.place_algo(long10, sl("1", str(59000 - i), reduceOnly=True)))
    assert code(ex.place_algo(long10, sl("1", "58000", reduceOnly=True))) == (
        "51261",
        "Each user can hold up to 100 pending stop orders at the same time.",
    )
    trail = {"instId": SWAP, "tdMode": "cross", "side": "sell", "ordType": "move_order_stop", "sz": "1",
             "callbackRatio": "0.05"}  # fmt: skip
    for _ in range(50):
        ok(ex.place_algo(long10, trail))
    assert code(ex.place_algo(long10, trail))[0] == "51260"


def test_cancel_algos(ex: Exchange, desk: Desk, long10: str) -> None:
    live = ok(ex.place_algo(long10, sl("1", "60000", reduceOnly=True, algoClOrdId="c1")))
    fired = ok(ex.place_algo(long10, sl("1", "60500", reduceOnly=True)))
    desk.move(60400)
    results = ex.cancel_algos(long10, [
        {"instId": SWAP, "algoClOrdId": "c1"}, {"instId": SWAP, "algoId": fired},
        {"instId": SWAP, "algoId": "123"}, {"instId": SPOT, "algoId": live}, {"algoId": live},
    ])  # fmt: skip
    assert [(r["algoId"], r["sCode"]) for r in results] == [
        (live, "0"),
        (fired, "51416"),
        ("123", "51400"),
        (live, "51400"),
        (live, "50014"),
    ]
    assert results[0]["algoClOrdId"] == "c1"
    assert algo(ex, long10, live)["state"] == "canceled"
    assert ex.cancel_algos(long10, [{"instId": SWAP, "algoId": live}])[0]["sCode"] == "51400"


def test_amend_algos(ex: Exchange, desk: Desk, long10: str) -> None:
    stop = ok(ex.place_algo(long10, sl("10", "60000", ordType="oco", tpTriggerPx="63000", tpOrdPx="-1",
                                       reduceOnly=True)))  # fmt: skip

    def amend(**fields: Any) -> dict[str, str]:
        return ex.amend_algo(long10, {"instId": SWAP, "algoId": stop, **fields})

    result = amend(newSlTriggerPx="59000", newSlOrdPx="-1", reqId="r1")
    assert result == {"algoClOrdId": "", "algoId": stop, "reqId": "r1", "sCode": "0", "sMsg": ""}
    changed = algo(ex, long10, stop)
    assert (changed["slTriggerPx"], changed["tpTriggerPx"]) == (
        "59000",
        "63000",
    )  # SL-only amend keeps the TP
    assert code(amend(newSlTriggerPx="61500", newSlOrdPx="-1"))[0] == "51280"
    assert code(amend(newSz="5")) == ("0", "")
    assert algo(ex, long10, stop)["sz"] == "5"
    assert code(amend(newTpTriggerPx="0", newTpOrdPx="0"))[0] == "0"  # a 0 price deletes the leg
    assert (algo(ex, long10, stop)["ordType"], algo(ex, long10, stop)["tpTriggerPx"]) == ("conditional", "")
    assert code(amend(newSlTriggerPx="0", newSlOrdPx="0"))[0] == "51531"
    assert code(amend())[0] == "51500"
    assert code(ex.amend_algo(long10, {"instId": SWAP, "algoId": "1"}))[0] == "51527"
    assert code(amend(newSlTriggerPx="61500", newSlOrdPx="-1", cxlOnFail=True))[0] == "51280"
    assert algo(ex, long10, stop)["state"] == "canceled"  # cxlOnFail: the failed amendment canceled it
    assert code(amend(newSz="1"))[0] == "51503"

    trail = ok(ex.place_algo(long10, {"instId": SWAP, "tdMode": "cross", "side": "sell", "ordType": "move_order_stop",
                                      "sz": "1", "callbackRatio": "0.05"}))  # fmt: skip
    assert code(ex.amend_algo(long10, {"instId": SWAP, "algoId": trail, "newSz": "2"}))[0] == "51506"
    close_all = ok(ex.place_algo(long10, {**sl("", "60000", closeFraction="1", reduceOnly=True), "sz": ""}))
    assert code(ex.amend_algo(long10, {"instId": SWAP, "algoId": close_all, "newSz": "2"}))[0] == "51524"


def test_amend_trigger_order_price_and_its_attached_stop(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex)
    desk.move(START)
    trig = ok(ex.place_algo(uid, {"instId": SWAP, "tdMode": "cross", "side": "buy", "ordType": "trigger", "sz": "1",
                                  "triggerPx": "62000", "orderPx": "-1",
                                  "attachAlgoOrds": [{"slTriggerPx": "60000", "slOrdPx": "-1"}]}))  # fmt: skip
    assert algo(ex, uid, trig)["attachAlgoOrds"][0]["slTriggerPx"] == "60000"
    assert code(ex.amend_algo(uid, {"instId": SWAP, "algoId": trig, "newTriggerPx": "62500"}))[0] == "50014"
    ok(ex.amend_algo(uid, {"instId": SWAP, "algoId": trig, "newTriggerPx": "62500", "newOrdPx": "-1",
                           "attachAlgoOrds": [{"newSlTriggerPx": "61000", "newSlOrdPx": "-1"}]}))  # fmt: skip
    amended = algo(ex, uid, trig)
    assert (amended["triggerPx"], amended["attachAlgoOrds"][0]["slTriggerPx"]) == ("62500", "61000")
    desk.move(62600)  # fires: a market buy, whose fill creates the attached stop
    stops = ex.algos_pending(uid, {"ordType": "conditional"})
    assert [(s["slTriggerPx"], s["sz"], s["reduceOnly"]) for s in stops] == [("61000", "1", "true")]


def test_lists_filter_and_paginate_newest_first(ex: Exchange, desk: Desk, long10: str) -> None:
    ids = [ok(ex.place_algo(long10, sl("1", str(59000 + i), reduceOnly=True))) for i in range(5)]
    oco = ok(ex.place_algo(long10, sl("1", "58000", ordType="oco", tpTriggerPx="65000", tpOrdPx="-1",
                                      reduceOnly=True)))  # fmt: skip
    pending = ex.algos_pending(long10, {"ordType": "conditional"})
    assert [a["algoId"] for a in pending] == ids[::-1]
    assert [a["algoId"] for a in ex.algos_pending(long10, {"ordType": "conditional,oco", "limit": "2"})] == [
        oco,
        ids[4],
    ]
    assert [
        a["algoId"] for a in ex.algos_pending(long10, {"ordType": "conditional", "after": ids[3]})
    ] == ids[2::-1]
    assert [a["algoId"] for a in ex.algos_pending(long10, {"ordType": "conditional", "before": ids[1]})] == [
        ids[4],
        ids[3],
        ids[2],
    ]
    assert [a["algoId"] for a in ex.algos_pending(long10, {"ordType": "conditional", "algoId": ids[0]})] == [
        ids[0]
    ]
    assert ex.algos_pending(long10, {"ordType": "trigger"}) == []
    assert ex.algos_pending(long10, {"ordType": "conditional", "instType": "SPOT"}) == []
    for bad, expected in (({}, "50014"), ({"ordType": "trigger,oco"}, "51000"), ({"ordType": "x"}, "51000"),
                          ({"ordType": "oco", "limit": "0"}, "51000")):  # fmt: skip
        with pytest.raises(ParamError) as err:
            ex.algos_pending(long10, bad)
        assert err.value.code == expected

    ex.cancel_algos(long10, [{"instId": SWAP, "algoId": i} for i in ids[:2]])
    desk.move(59003)  # fires ids[4] (59004) and ids[3] (59003), not ids[2] (59002)
    canceled = ex.algos_history(long10, {"ordType": "conditional", "state": "canceled"})
    assert [a["algoId"] for a in canceled] == [ids[1], ids[0]]
    effective = ex.algos_history(long10, {"ordType": "conditional", "state": "effective"})
    assert [a["algoId"] for a in effective] == [ids[4], ids[3]]
    assert [a["algoId"] for a in ex.algos_history(long10, {"ordType": "conditional", "algoId": ids[0]})] == [
        ids[0]
    ]
    for bad, expected in (({"ordType": "conditional"}, "50015"),
                          ({"ordType": "conditional", "state": "live"}, "51000"),
                          ({"ordType": "conditional", "state": "canceled", "algoId": ids[0]}, "50024")):  # fmt: skip
        with pytest.raises(ParamError) as err:
            ex.algos_history(long10, bad)
        assert err.value.code == expected


def test_history_keeps_three_months(ex: Exchange, long10: str) -> None:
    done = ok(ex.place_algo(long10, sl("1", "60000", reduceOnly=True)))
    ex.cancel_algos(long10, [{"instId": SWAP, "algoId": done}])
    ex.clock.advance(89 * 24 * 3600 * 1000)
    assert ex.get_algo(long10, done) is not None
    ex.clock.advance(2 * 24 * 3600 * 1000)
    assert ex.get_algo(long10, done) is None
    assert ex.algos_history(long10, {"ordType": "conditional", "state": "canceled"}) == []


# -- attached TP/SL ---------------------------------------------------------------------------------


def limit_buy(sz: str, px: str, **extra: Any) -> dict[str, Any]:
    return {"instId": SWAP, "tdMode": "cross", "side": "buy", "ordType": "limit", "sz": sz, "px": px, **extra}


def test_attached_stop_is_created_only_when_the_order_is_fully_filled(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex)
    desk.move(START)
    attach = [{"attachAlgoClOrdId": "prot1", "slTriggerPx": "59000", "slOrdPx": "-1",
               "tpTriggerPx": "63000", "tpOrdPx": "-1"}]  # fmt: skip
    ord_id = ok(ex.place_order(uid, limit_buy("4", "60900", attachAlgoOrds=attach)))
    order = ex.get_order(uid, SWAP, ord_id=ord_id)
    assert order is not None
    shown = order["attachAlgoOrds"][0]
    assert (shown["attachAlgoClOrdId"], shown["slTriggerPx"], shown["tpTriggerPx"], shown["failCode"]) == (
        "prot1",
        "59000",
        "63000",
        "",
    )
    assert shown["attachAlgoId"] and order["attachAlgoClOrdId"] == "prot1"
    assert ex.algos_pending(uid, {"ordType": "conditional,oco"}) == []

    desk.unquote(SWAP)
    desk.order(desk.seller, SWAP, "sell", START - 100, "1")  # fills 1 of 4
    assert ex.get_order(uid, SWAP, ord_id=ord_id)["state"] == "partially_filled"  # type: ignore[index]
    assert ex.algos_pending(uid, {"ordType": "conditional,oco"}) == []
    desk.order(desk.seller, SWAP, "sell", START - 100, "3")
    created = ex.algos_pending(uid, {"ordType": "conditional,oco"})
    assert len(created) == 1
    protect = created[0]
    assert (
        protect["ordType"],
        protect["algoClOrdId"],
        protect["side"],
        protect["sz"],
        protect["reduceOnly"],
    ) == ("oco", "prot1", "sell", "4", "true")
    assert protect["algoId"] != shown["attachAlgoId"]  # OKX: the attachAlgoId is not the new algoId
    assert code(ex.place_algo(uid, sl("1", "58000", reduceOnly=True, algoClOrdId="prot1")))[0] == "51065"


def test_partially_filled_then_canceled_parent_creates_no_stop_unless_switched(
    ex: Exchange, desk: Desk
) -> None:
    uid = swap_account(ex)
    desk.move(START)
    attach = [{"slTriggerPx": "59000", "slOrdPx": "-1"}]
    first = ok(ex.place_order(uid, limit_buy("4", "60900", attachAlgoOrds=attach)))
    desk.unquote(SWAP)
    desk.order(desk.seller, SWAP, "sell", START - 100, "1")
    ex.cancel_order(uid, {"instId": SWAP, "ordId": first})
    assert position(ex, uid) == 1
    assert ex.algos_pending(uid, {"ordType": "conditional,oco"}) == []  # OKX docs: full fill only

    ex.algos.set_partial_parent("filled")
    second = ok(ex.place_order(uid, limit_buy("4", "60900", attachAlgoOrds=attach)))
    desk.order(desk.seller, SWAP, "sell", START - 100, "2")
    ex.cancel_order(uid, {"instId": SWAP, "ordId": second})
    assert [a["sz"] for a in ex.algos_pending(uid, {"ordType": "conditional"})] == ["2"]


def test_parent_canceled_unfilled_leaves_nothing_and_frees_its_client_id(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex)
    desk.move(START)
    ord_id = ok(ex.place_order(uid, limit_buy("1", "60000", attachAlgoOrds=[
        {"attachAlgoClOrdId": "p9", "slTriggerPx": "59000", "slOrdPx": "-1"}])))  # fmt: skip
    assert code(ex.place_algo(uid, sl("1", "58000", algoClOrdId="p9")))[0] == "51068"
    ex.cancel_order(uid, {"instId": SWAP, "ordId": ord_id})
    assert ex.algos_pending(uid, {"ordType": "conditional"}) == []
    assert ex.place_algo(uid, {**sl("1", "58000", algoClOrdId="p9"), "side": "sell"})["sCode"] == "0"


ATTACH_REFUSED = [
    (limit_buy("1", "60000", attachAlgoOrds=[{"slTriggerPx": "60500", "slOrdPx": "-1"}]),
     ("51047", "The stop loss trigger price must be lower than the order price")),
    (limit_buy("1", "60000", attachAlgoOrds=[{"tpTriggerPx": "59000", "tpOrdPx": "-1"}]),
     ("51046", "The take profit trigger price must be higher than the order price")),
    ({**limit_buy("1", "62000", attachAlgoOrds=[{"slTriggerPx": "61000", "slOrdPx": "-1"}]), "side": "sell"},
     ("51049", "The stop loss trigger price must be higher than the order price")),
    ({**limit_buy("1", "62000", attachAlgoOrds=[{"tpTriggerPx": "63000", "tpOrdPx": "-1"}]), "side": "sell"},
     ("51048", "The take profit trigger price must be lower than the order price")),
    ({"instId": SWAP, "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "1",
      "attachAlgoOrds": [{"slTriggerPx": "61500", "slOrdPx": "-1"}]},
     ("51051", "The stop loss trigger price must be lower than the best ask price")),
    (limit_buy("1", "60000", slTriggerPx="59000", slOrdPx="-1"),
     ("54070", "The current function is not supported. Please use the attachAlgoOrds array to place orders via "
               "Open API.")),
    (limit_buy("1", "60000", attachAlgoOrds=[{"attachAlgoClOrdId": "x1"}]),
     ("51178", "tpTriggerPx&tpOrdPx or slTriggerPx&slOrdPx can't be empty when using attachAlgoClOrdId.")),
    (limit_buy("1", "60000", attachAlgoOrds=[{"tpTriggerPx": "63000", "tpOrdPx": "-1", "sz": "0.5"},
                                              {"tpTriggerPx": "64000", "tpOrdPx": "-1", "sz": "0.4"}]),
     ("51083", "The total size of TP orders with Split TPs attached in a same order should equal the size of this "
               "order")),
    (limit_buy("1", "60000", attachAlgoOrds=[{"tpTriggerPx": "63000", "tpOrdPx": "-1", "sz": "0.5",
                                               "slTriggerPx": "59000", "slOrdPx": "-1"},
                                              {"tpTriggerPx": "64000", "tpOrdPx": "-1", "sz": "0.5"}]),
     ("51076", "TP/SL orders in Split TPs only support one-way TP/SL. You can't use slTriggerPx&slOrdPx and "
               "tpTriggerPx&tpOrdPx at the same time.")),
]  # fmt: skip


@pytest.mark.parametrize(("params", "expected"), ATTACH_REFUSED)
def test_attach_refusals(ex: Exchange, desk: Desk, params: dict[str, Any], expected: tuple[str, str]) -> None:
    uid = swap_account(ex)
    desk.move(START)
    result = ex.place_order(uid, params)
    assert (result["sCode"], result["sMsg"]) == expected
    assert ex.pending_orders(uid, {}) == []


def test_attach_on_reduce_only_and_spot_rules(ex: Exchange, desk: Desk, long10: str) -> None:
    stop = [{"slTriggerPx": "59000", "slOrdPx": "-1"}]
    ro = {"instId": SWAP, "tdMode": "cross", "side": "sell", "ordType": "limit", "sz": "1", "px": "62000",
          "reduceOnly": True, "attachAlgoOrds": [{"slTriggerPx": "63000", "slOrdPx": "-1"}]}  # fmt: skip
    assert ex.place_order(long10, ro)["sCode"] == "51100"
    spot = ex.create_account({"USDT": "100000"})
    desk.move_spot(START)
    base_buy = {"instId": SPOT, "tdMode": "cash", "side": "buy", "ordType": "market", "sz": "0.1",
                "tgtCcy": "base_ccy", "attachAlgoOrds": stop}  # fmt: skip
    assert ex.place_order(spot, base_buy)["sCode"] == "51044"
    limit_tp = {"instId": SPOT, "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "0.1", "px": "60000",
                "attachAlgoOrds": [{"tpTriggerPx": "63000", "tpOrdPx": "62000", "tpOrdKind": "limit"}]}  # fmt: skip
    assert ex.place_order(spot, limit_tp)["sCode"] == "51094"


def test_spot_attached_stop_sells_what_the_buy_left_after_its_fee(ex: Exchange, desk: Desk) -> None:
    uid = ex.create_account({"USDT": "100000"})
    desk.move_spot(START)
    ok(ex.place_order(uid, {"instId": SPOT, "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "1",
                            "px": "61000.1", "attachAlgoOrds": [{"slTriggerPx": "59000", "slOrdPx": "-1"}]}))  # fmt: skip
    created = ex.algos_pending(uid, {"ordType": "conditional"})
    assert [(a["sz"], a["tgtCcy"], a["reduceOnly"]) for a in created] == [("0.999", "base_ccy", "false")]


def test_split_take_profits_become_one_algo_each_and_go_with_the_position(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex)
    desk.move(START)
    attach = [{"tpTriggerPx": "62000", "tpOrdPx": "-1", "sz": "1"}, {"tpTriggerPx": "63000", "tpOrdPx": "-1", "sz": "1"},
              {"slTriggerPx": "59000", "slOrdPx": "-1"}]  # fmt: skip
    ok(ex.place_order(uid, {"instId": SWAP, "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "2",
                            "attachAlgoOrds": attach}))  # fmt: skip
    made = ex.algos_pending(uid, {"ordType": "conditional"})
    assert sorted((a["tpTriggerPx"], a["slTriggerPx"], a["sz"]) for a in made) == [
        ("", "59000", "2"),
        ("62000", "", "1"),
        ("63000", "", "1"),
    ]
    desk.move(58900)
    assert position(ex, uid) == 0
    assert ex.algos_pending(uid, {"ordType": "conditional"}) == []  # the TPs ended with the position


def test_amend_order_changes_and_deletes_attached_legs(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex)
    desk.move(START)
    ord_id = ok(ex.place_order(uid, limit_buy("2", "60000", attachAlgoOrds=[
        {"attachAlgoClOrdId": "am1", "slTriggerPx": "59000", "slOrdPx": "-1", "tpTriggerPx": "63000",
         "tpOrdPx": "-1"}])))  # fmt: skip
    attach_id = ex.get_order(uid, SWAP, ord_id=ord_id)["attachAlgoOrds"][0]["attachAlgoId"]  # type: ignore[index]

    def amend(items: list[dict[str, Any]], **extra: Any) -> dict[str, str]:
        return ex.amend_order(uid, {"instId": SWAP, "ordId": ord_id, "attachAlgoOrds": items, **extra})

    assert amend([{"attachAlgoId": attach_id, "newSlTriggerPx": "58000", "newSlOrdPx": "-1"}])["sCode"] == "0"
    assert (
        amend([{"attachAlgoClOrdId": "am1", "newTpTriggerPx": "0", "newTpOrdPx": "0"}], newPx="60100")[
            "sCode"
        ]
        == "0"
    )
    shown = ex.get_order(uid, SWAP, ord_id=ord_id)
    assert shown is not None and shown["px"] == "60100"
    assert (shown["attachAlgoOrds"][0]["slTriggerPx"], shown["attachAlgoOrds"][0]["tpTriggerPx"]) == (
        "58000",
        "",
    )
    assert amend([{"attachAlgoId": "42", "newSlTriggerPx": "58000", "newSlOrdPx": "-1"}])["sCode"] == "51527"
    assert (
        amend([{"attachAlgoId": attach_id, "newSlTriggerPx": "60500", "newSlOrdPx": "-1"}])["sCode"]
        == "51047"
    )
    plain = ok(ex.place_order(uid, limit_buy("1", "60000")))
    refused = ex.amend_order(uid, {"instId": SWAP, "ordId": plain,
                                   "attachAlgoOrds": [{"attachAlgoId": "1", "newSlTriggerPx": "59000"}]})  # fmt: skip
    assert refused["sCode"] == "51538"

    desk.unquote(SWAP)
    desk.order(desk.seller, SWAP, "sell", "60100", "2")
    made = ex.algos_pending(uid, {"ordType": "conditional,oco"})
    assert [(a["ordType"], a["slTriggerPx"], a["algoClOrdId"]) for a in made] == [
        ("conditional", "58000", "am1")
    ]


def test_pending_tpsl_count_towards_the_500_orders_per_instrument(ex: Exchange, long10: str) -> None:
    for i in range(100):
        ok(ex.place_algo(long10, sl("1", str(50000 + i), reduceOnly=True)))
    for i in range(400):
        ok(ex.place_order(long10, limit_buy("0.01", str(40000 + i))))
    assert ex.place_order(long10, limit_buy("0.01", "39000"))["sCode"] == "51025"
    assert (
        ex.place_order(long10, {**limit_buy("0.01", "39000"), "instId": "ETH-USDT-SWAP", "px": "2000"})[
            "sCode"
        ]
        == "0"
    )  # another instrument has its own 500


# -- TP limit orders (tpOrdKind "limit") ----------------------------------------------------------


def test_attached_tp_limit_rests_as_a_linked_order_and_the_stop_cancels_it(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex)
    desk.move(START)
    attach = [{"attachAlgoClOrdId": "tpl1", "tpOrdKind": "limit", "tpOrdPx": "62000", "slTriggerPx": "60000",
               "slOrdPx": "-1"}]  # fmt: skip
    ok(ex.place_order(uid, {"instId": SWAP, "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "3",
                            "attachAlgoOrds": attach}))  # fmt: skip
    (stop,) = ex.algos_pending(uid, {"ordType": "oco"})
    (tp,) = [o for o in ex.pending_orders(uid, {"instId": SWAP}) if o["isTpLimit"] == "true"]
    assert (tp["clOrdId"], tp["px"], tp["sz"], tp["side"], tp["reduceOnly"]) == (
        "tpl1",
        "62000",
        "3",
        "sell",
        "true",
    )
    assert tp["linkedAlgoOrd"] == {"algoId": stop["algoId"]} and stop["linkedOrd"] == {"ordId": tp["ordId"]}
    assert (stop["tpOrdPx"], stop["tpTriggerPx"], stop["slTriggerPx"], stop["algoClOrdId"]) == (
        "62000",
        "",
        "60000",
        "tpl1",
    )
    assert code(ex.amend_algo(uid, {"instId": SWAP, "algoId": stop["algoId"], "newSz": "2"}))[0] == "51090"
    assert code(ex.amend_algo(uid, {"instId": SWAP, "algoId": stop["algoId"], "newTpTriggerPx": "63000",
                                    "newTpOrdPx": "-1"}))[0] == "51098"  # fmt: skip

    desk.move(59900)
    assert algo(ex, uid, stop["algoId"])["actualSide"] == "sl"
    canceled = ex.get_order(uid, SWAP, ord_id=tp["ordId"])
    assert canceled is not None and (canceled["state"], canceled["cancelSource"]) == ("canceled", "36")
    assert position(ex, uid) == 0


def test_a_filled_tp_limit_makes_its_oco_effective(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex)
    desk.move(START)
    attach = [{"tpOrdKind": "limit", "tpOrdPx": "61500", "slTriggerPx": "60000", "slOrdPx": "-1"}]
    ok(ex.place_order(uid, {"instId": SWAP, "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "1",
                            "attachAlgoOrds": attach}))  # fmt: skip
    (stop,) = ex.algos_pending(uid, {"ordType": "oco"})
    desk.unquote(SWAP)
    desk.order(desk.buyer, SWAP, "buy", Decimal("61600"), "1")  # takes the TP limit order
    done = algo(ex, uid, stop["algoId"])
    assert (done["state"], done["actualSide"], done["actualPx"], done["ordId"]) == (
        "effective",
        "tp",
        "61500",
        stop["linkedOrd"]["ordId"],
    )
    assert position(ex, uid) == 0


def test_order_algo_tp_limit_needs_a_stop_and_cxl_on_close_pos(ex: Exchange, desk: Desk, long10: str) -> None:
    base = {"instId": SWAP, "tdMode": "cross", "side": "sell", "ordType": "oco", "sz": "10", "reduceOnly": True,
            "tpOrdKind": "limit", "tpOrdPx": "62000"}  # fmt: skip
    assert code(ex.place_algo(long10, {**base, "cxlOnClosePos": True}))[0] == "51095"
    assert code(ex.place_algo(long10, {**base, "slTriggerPx": "60000", "slOrdPx": "-1"}))[0] == "51096"
    assert code(ex.place_algo(long10, {**base, "tpOrdPx": "-1", "cxlOnClosePos": True}))[0] == "51093"
    algo_id = ok(
        ex.place_algo(long10, {**base, "slTriggerPx": "60000", "slOrdPx": "-1", "cxlOnClosePos": True})
    )
    tp_id = algo(ex, long10, algo_id)["linkedOrd"]["ordId"]
    ex.cancel_algos(long10, [{"instId": SWAP, "algoId": algo_id}])
    tp = ex.get_order(long10, SWAP, ord_id=tp_id)
    assert tp is not None and (tp["state"], tp["cancelSource"]) == ("canceled", "37")
