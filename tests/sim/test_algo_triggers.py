"""Algo orders fire on the right price stream and execute like any order (okxbot.sim.algos).

Every test drives a bare exchange with a frozen clock: prices move only when the desk trades or
quotes, so each trigger happens exactly when the test moves the price, and never otherwise.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from okxbot.sim.engine import Exchange
from okxbot.sim.events import AlgoEvent
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


@pytest.fixture
def ex() -> Exchange:
    return new_exchange()


@pytest.fixture
def desk(ex: Exchange) -> Desk:
    return Desk(ex)


def test_stop_loss_on_last_price_closes_the_long_with_a_reduce_only_market_order(
    ex: Exchange, desk: Desk
) -> None:
    uid = swap_account(ex)
    ex.set_leverage(uid, {"instId": SWAP, "lever": "10", "mgnMode": "cross"})
    open_long(ex, desk, uid, "10")
    assert position(ex, uid) == 10
    algo_id = ok(ex.place_algo(uid, sl("10", "60000", reduceOnly=True, algoClOrdId="stop1")))

    desk.move(60500)  # above the stop: nothing happens
    assert algo(ex, uid, algo_id)["state"] == "live"
    desk.move(59900)  # through the stop
    done = algo(ex, uid, algo_id)
    assert (done["state"], done["actualSide"], done["actualSz"], done["failCode"]) == (
        "effective",
        "sl",
        "10",
        "",
    )
    assert done["ordIdList"] == [done["ordId"]] and done["triggerTime"] == str(ex.clock.now_ms())
    assert position(ex, uid) == 0

    child = ex.get_order(uid, SWAP, ord_id=done["ordId"])
    assert child is not None
    assert (child["algoId"], child["algoClOrdId"], child["source"]) == (algo_id, "stop1", "7")
    assert (child["ordType"], child["side"], child["reduceOnly"], child["state"]) == (
        "market",
        "sell",
        "true",
        "filled",
    )
    assert (
        child["avgPx"] == "59899.9"
    )  # the best bid after the move: filled at/after the stop as a market order
    history = ex.positions_history(uid, {"instId": SWAP})
    assert history[0]["type"] == "2" and history[0]["closeAvgPx"] == "59899.9"
    assert ex.algos_pending(uid, {"ordType": "conditional"}) == []
    assert [a["algoId"] for a in ex.algos_history(uid, {"ordType": "conditional", "state": "effective"})] == [
        algo_id
    ]


def test_a_spike_through_the_trigger_and_back_still_fires(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex)
    open_long(ex, desk, uid, "1")
    algo_id = ok(ex.place_algo(uid, sl("1", "60000", reduceOnly=True)))
    with ex.batch():  # one operation: a trade under the stop, then the price back up
        desk.trade(SWAP, 59000)
        desk.trade(SWAP, 61000)
    assert algo(ex, uid, algo_id)["state"] == "effective"


def test_take_profit_fires_on_a_rise_and_oco_ends_both_legs(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex)
    open_long(ex, desk, uid, "2")
    algo_id = ok(
        ex.place_algo(
            uid, sl("2", "59000", ordType="oco", tpTriggerPx="62000", tpOrdPx="-1", reduceOnly=True)
        )
    )
    desk.move(62000.5)
    done = algo(ex, uid, algo_id)
    assert (done["state"], done["actualSide"], done["ordType"]) == ("effective", "tp", "oco")
    assert position(ex, uid) == 0
    desk.move(58000)  # the SL leg went with the TP: nothing more happens
    assert algo(ex, uid, algo_id)["ordIdList"] == [done["ordId"]]


def test_net_conditional_with_both_legs_performs_the_stop_loss_only(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex)
    open_long(ex, desk, uid, "2")
    algo_id = ok(ex.place_algo(uid, sl("2", "59000", tpTriggerPx="62000", tpOrdPx="-1", reduceOnly=True)))
    desk.move(62500)
    assert algo(ex, uid, algo_id)["state"] == "live"  # OKX ignores the TP of a net conditional
    desk.move(58900)
    assert algo(ex, uid, algo_id)["actualSide"] == "sl"


def test_mark_price_stop_ignores_a_last_price_print_and_fires_on_the_mark(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex)
    open_long(ex, desk, uid, "1")
    algo_id = ok(ex.place_algo(uid, sl("1", "60000", slTriggerPxType="mark", reduceOnly=True)))
    desk.trade(SWAP, 55000)  # a last-price print far below; the index (spot) has not moved
    assert ex.mark_price(SWAP) == START
    assert algo(ex, uid, algo_id)["state"] == "live"
    desk.quote(SPOT, 59950, sz="1000")  # the index, hence the mark, falls under the stop
    assert ex.mark_price(SWAP) == Decimal("59950")
    assert algo(ex, uid, algo_id)["state"] == "effective"


def test_index_price_take_profit_on_a_short(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex)
    desk.quote(SWAP, START)
    ok(
        ex.place_order(
            uid, {"instId": SWAP, "tdMode": "cross", "side": "sell", "ordType": "market", "sz": "1"}
        )
    )
    algo_id = ok(
        ex.place_algo(uid, {"instId": SWAP, "tdMode": "cross", "side": "buy", "ordType": "conditional", "sz": "1",
                            "tpTriggerPx": "60000", "tpOrdPx": "-1", "tpTriggerPxType": "index", "reduceOnly": True})
    )  # fmt: skip
    desk.trade(SWAP, 59000)
    assert algo(ex, uid, algo_id)["state"] == "live"
    desk.move(59990)
    assert algo(ex, uid, algo_id)["state"] == "effective"
    assert position(ex, uid) == 0


def test_trigger_order_places_its_limit_order_when_the_price_rises_to_it(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex)
    desk.quote(SWAP, START)
    algo_id = ok(
        ex.place_algo(uid, {"instId": SWAP, "tdMode": "cross", "side": "buy", "ordType": "trigger", "sz": "3",
                            "triggerPx": "61500", "orderPx": "61400"})
    )  # fmt: skip
    desk.move(61400)
    assert algo(ex, uid, algo_id)["state"] == "live"
    desk.move(61550)
    done = algo(ex, uid, algo_id)
    assert (done["state"], done["actualPx"], done["actualSz"], done["actualSide"]) == (
        "effective",
        "61400",
        "3",
        "",
    )
    child = ex.get_order(uid, SWAP, ord_id=done["ordId"])
    assert child is not None and (child["ordType"], child["px"], child["source"]) == ("limit", "61400", "6")
    assert child["state"] == "live"  # 61400 is under the market: it rests


def test_trailing_stop_tracks_the_high_and_fires_on_the_callback(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex)
    open_long(ex, desk, uid, "1")
    algo_id = ok(
        ex.place_algo(uid, {"instId": SWAP, "tdMode": "cross", "side": "sell", "ordType": "move_order_stop",
                            "sz": "1", "callbackRatio": "0.02", "reduceOnly": True})
    )  # fmt: skip
    ex.tick()
    assert (
        algo(ex, uid, algo_id)["moveTriggerPx"] == "59780.1"
    )  # the entry's fill 61000.1 x 0.98, to the tick
    desk.move(63000)
    assert algo(ex, uid, algo_id)["moveTriggerPx"] == "61740"
    desk.move(61800)
    assert algo(ex, uid, algo_id)["state"] == "live"
    desk.move(61700)
    done = algo(ex, uid, algo_id)
    assert done["state"] == "effective" and position(ex, uid) == 0
    child = ex.get_order(uid, SWAP, ord_id=done["ordId"])
    assert child is not None and child["source"] == "25"


def test_trailing_stop_with_an_activation_price_waits_for_it(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex)
    open_long(ex, desk, uid, "1")
    algo_id = ok(
        ex.place_algo(uid, {"instId": SWAP, "tdMode": "cross", "side": "sell", "ordType": "move_order_stop",
                            "sz": "1", "callbackSpread": "500", "activePx": "62000", "reduceOnly": True})
    )  # fmt: skip
    desk.move(59000)  # far below where tracking would have fired; not active yet
    assert algo(ex, uid, algo_id)["state"] == "live" and algo(ex, uid, algo_id)["moveTriggerPx"] == ""
    desk.move(62100)
    assert algo(ex, uid, algo_id)["moveTriggerPx"] == "61600"
    desk.move(61550)
    assert algo(ex, uid, algo_id)["state"] == "effective"


def test_a_triggered_order_the_exchange_refuses_is_order_failed_with_its_code(
    ex: Exchange, desk: Desk
) -> None:
    uid = ex.create_account({"USDT": "1000", "BTC": "0.001"})
    desk.quote(SPOT, START, sz="10")
    algo_id = ok(
        ex.place_algo(uid, {"instId": SPOT, "tdMode": "cash", "side": "sell", "ordType": "conditional", "sz": "1",
                            "slTriggerPx": "60000", "slOrdPx": "59000"})
    )  # fmt: skip
    desk.move_spot(59900)
    failed = algo(ex, uid, algo_id)
    assert (failed["state"], failed["failCode"], failed["ordId"]) == ("order_failed", "51008", "")
    assert [
        a["algoId"] for a in ex.algos_history(uid, {"ordType": "conditional", "state": "order_failed"})
    ] == [algo_id]


def test_a_reduce_only_stop_whose_position_was_closed_fails_when_it_fires(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex)
    open_long(ex, desk, uid, "1")
    algo_id = ok(ex.place_algo(uid, sl("1", "60000", reduceOnly=True)))
    ok(
        ex.place_order(
            uid, {"instId": SWAP, "tdMode": "cross", "side": "sell", "ordType": "market", "sz": "1"}
        )
    )
    assert algo(ex, uid, algo_id)["state"] == "live"  # not tied to the position (OKX, python-okx#111)
    desk.move(59000)
    failed = algo(ex, uid, algo_id)
    assert (failed["state"], failed["failCode"]) == ("order_failed", "51169")
    assert position(ex, uid) == 0  # nothing opened the other way


def test_close_all_stop_follows_the_position_and_ends_with_it(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex)
    open_long(ex, desk, uid, "1")
    algo_id = ok(ex.place_algo(uid, {**sl("", "60000", closeFraction="1", reduceOnly=True), "sz": ""}))
    assert algo(ex, uid, algo_id)["sz"] == "" and algo(ex, uid, algo_id)["closeFraction"] == "1"
    (row,) = ex.positions(uid, {"instId": SWAP})
    assert row["closeOrderAlgo"] == [{"algoId": algo_id, "closeFraction": "1", "slTriggerPx": "60000",
                                      "slTriggerPxType": "last", "tpTriggerPx": "", "tpTriggerPxType": ""}]  # fmt: skip
    open_long(ex, desk, uid, "4")  # the position grows after placement
    desk.move(59000)
    done = algo(ex, uid, algo_id)
    assert (done["state"], done["actualSz"], done["sz"]) == ("effective", "5", "5") and position(ex, uid) == 0

    desk.move(START)
    open_long(ex, desk, uid, "1")
    second = ok(ex.place_algo(uid, {**sl("", "60000", closeFraction="1", reduceOnly=True), "sz": ""}))
    ok(
        ex.place_order(
            uid, {"instId": SWAP, "tdMode": "cross", "side": "sell", "ordType": "market", "sz": "1"}
        )
    )
    assert algo(ex, uid, second)["state"] == "canceled"  # its position closed: OKX cancels it


def test_cxl_on_close_pos_cancels_the_stop_when_the_position_closes(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex)
    open_long(ex, desk, uid, "1")
    algo_id = ok(ex.place_algo(uid, sl("1", "60000", reduceOnly=True, cxlOnClosePos=True)))
    ok(
        ex.place_order(
            uid, {"instId": SWAP, "tdMode": "cross", "side": "sell", "ordType": "market", "sz": "1"}
        )
    )
    assert algo(ex, uid, algo_id)["state"] == "canceled"


def test_long_short_mode_stop_closes_the_long_side(ex: Exchange, desk: Desk) -> None:
    uid = swap_account(ex, mode="long_short_mode")
    desk.quote(SWAP, START)
    ok(ex.place_order(uid, {"instId": SWAP, "tdMode": "isolated", "side": "buy", "posSide": "long",
                            "ordType": "market", "sz": "2"}))  # fmt: skip
    algo_id = ok(ex.place_algo(uid, sl("2", "60000", tdMode="isolated", posSide="long")))
    desk.move(59000)
    done = algo(ex, uid, algo_id)
    child = ex.get_order(uid, SWAP, ord_id=done["ordId"])
    assert child is not None and (child["posSide"], child["side"], child["state"]) == (
        "long",
        "sell",
        "filled",
    )
    assert ex.positions(uid, {"instId": SWAP})[0]["pos"] == "0"


def test_spot_stop_loss_sells_base_with_tgt_ccy(ex: Exchange, desk: Desk) -> None:
    uid = ex.create_account({"BTC": "1"})
    desk.quote(SPOT, START, sz="10")
    algo_id = ok(
        ex.place_algo(uid, {"instId": SPOT, "tdMode": "cash", "side": "sell", "ordType": "conditional",
                            "sz": "0.5", "slTriggerPx": "60000", "slOrdPx": "-1"})
    )  # fmt: skip
    assert algo(ex, uid, algo_id)["tgtCcy"] == "base_ccy"
    desk.move_spot(59000)
    child = ex.get_order(uid, SPOT, ord_id=algo(ex, uid, algo_id)["ordId"])
    assert child is not None and (child["accFillSz"], child["avgPx"], child["tgtCcy"]) == (
        "0.5",
        "58999.9",
        "base_ccy",
    )


def test_spot_trigger_order_is_sized_to_the_balance_when_it_fires(ex: Exchange, desk: Desk) -> None:
    uid = ex.create_account({"BTC": "0.3"})
    desk.quote(SPOT, START, sz="10")
    algo_id = ok(
        ex.place_algo(uid, {"instId": SPOT, "tdMode": "cash", "side": "sell", "ordType": "trigger", "sz": "1",
                            "triggerPx": "62000", "orderPx": "-1"})
    )  # fmt: skip
    desk.move_spot(62100)
    done = algo(ex, uid, algo_id)
    assert (done["state"], done["actualSz"]) == (
        "effective",
        "0.3",
    )  # OKX: placed for what the balance allows


def test_every_change_emits_an_algo_event_on_its_channel(ex: Exchange, desk: Desk) -> None:
    events: list[AlgoEvent] = []
    ex.add_listener(lambda e: events.append(e) if isinstance(e, AlgoEvent) else None)
    uid = swap_account(ex)
    open_long(ex, desk, uid, "1")
    stop = ok(ex.place_algo(uid, sl("1", "60000", reduceOnly=True)))
    ok(ex.amend_algo(uid, {"instId": SWAP, "algoId": stop, "newSlTriggerPx": "59500", "newSlOrdPx": "-1",
                           "reqId": "r1"}))  # fmt: skip
    trail = ok(ex.place_algo(uid, {"instId": SWAP, "tdMode": "cross", "side": "sell", "ordType": "move_order_stop",
                                   "sz": "1", "callbackRatio": "0.05", "reduceOnly": True}))  # fmt: skip
    ex.cancel_algos(uid, [{"instId": SWAP, "algoId": trail}])
    desk.move(59000)
    seen = [(e.channel, e.data["algoId"], e.data["state"], e.data.get("amendResult", "")) for e in events]
    assert seen == [
        ("orders-algo", stop, "live", ""),
        ("orders-algo", stop, "live", "0"),
        ("algo-advance", trail, "live", ""),
        ("algo-advance", trail, "canceled", ""),
        ("orders-algo", stop, "effective", ""),
    ]
    assert events[1].data["reqId"] == "r1" and events[1].data["slTriggerPx"] == "59500"
    assert events[0].data["notionalUsd"] == "610.001"  # 1 contract x 0.01 BTC x the last price 61000.1
    assert events[2].data["count"] == "1" and "pTime" in events[2].data
