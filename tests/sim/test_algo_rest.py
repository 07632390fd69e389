"""The algo endpoints on the wire (real HTTP): envelopes field by field, top-level errors, rate limits,
and python-okx's calls (which send every unused parameter as "")."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from okxbot.sim.server import RunningSim, start_sim
from tests.sim.algo_http import Rest, algo_events, futures_key

SWAP = "BTC-USDT-SWAP"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with start_sim(seed=11) as running:
        yield running


@pytest.fixture
def rest(sim: RunningSim) -> Rest:
    sim.admin("POST", "/__sim__/reset-limits")
    client = Rest(sim, futures_key(sim))
    entry = client.post("trade/order", {"instId": SWAP, "tdMode": "cross", "side": "buy", "ordType": "market",
                                        "sz": "10"})  # fmt: skip
    assert entry["code"] == "0", entry
    return client


def stop(rest: Rest, factor: str = "0.9", **extra: Any) -> dict[str, Any]:
    trigger = (rest.last(SWAP) * Decimal(factor)).quantize(Decimal("0.1"))
    return {"instId": SWAP, "tdMode": "cross", "side": "sell", "ordType": "conditional", "sz": "10",
            "slTriggerPx": str(trigger), "slOrdPx": "-1", "reduceOnly": True, **extra}  # fmt: skip


def test_place_answers_okx_envelope_field_by_field(rest: Rest) -> None:
    answer = rest.post("trade/order-algo", stop(rest, algoClOrdId="w1", tag="tg"))
    assert set(answer) == {"code", "msg", "data"} and (answer["code"], answer["msg"]) == ("0", "")
    (item,) = answer["data"]
    assert set(item) == {"algoClOrdId", "algoId", "clOrdId", "sCode", "sMsg", "tag"}
    assert (item["algoClOrdId"], item["clOrdId"], item["sCode"], item["sMsg"], item["tag"]) == (
        "w1",
        "",
        "0",
        "",
        "tg",
    )
    assert item["algoId"].isdigit() and len(item["algoId"]) == 18

    refused = rest.post("trade/order-algo", stop(rest, factor="1.1"))
    assert refused["code"] == "1" and refused["msg"] == "" and rest.status == 200
    assert (refused["data"][0]["sCode"], refused["data"][0]["algoId"]) == ("51280", "")

    details = rest.get("trade/order-algo", algoId=item["algoId"])
    assert details["code"] == "0" and details["data"][0]["algoClOrdId"] == "w1"
    assert rest.get("trade/order-algo", algoClOrdId="w1")["data"] == details["data"]
    assert rest.get("trade/order-algo", algoId="1") == {
        "code": "51603",
        "msg": "Order does not exist",
        "data": [],
    }
    assert rest.get("trade/order-algo")["code"] == "50015"


def test_lists_and_their_parameter_errors(rest: Rest) -> None:
    placed = rest.post("trade/order-algo", stop(rest))["data"][0]["algoId"]
    pending = rest.get("trade/orders-algo-pending", ordType="conditional", instId=SWAP)
    assert [a["algoId"] for a in pending["data"]] == [placed]
    assert pending["data"][0]["state"] == "live" and pending["data"][0]["instType"] == "SWAP"
    assert (
        rest.get("trade/orders-algo-pending", ordType="conditional", instType="SWAP")["data"][0]["algoId"]
        == placed
    )
    missing = rest.get("trade/orders-algo-pending")
    assert (missing["code"], missing["msg"], rest.status) == (
        "50014",
        "Parameter ordType can not be empty.",
        400,
    )
    assert rest.get("trade/orders-algo-pending", ordType="conditional", instId="NOPE-USDT")["code"] == "51001"
    assert rest.get("trade/orders-algo-pending", ordType="conditional", instType="OPTION")["code"] == "51000"
    assert rest.get("trade/orders-algo-history", ordType="conditional")["code"] == "50015"
    assert rest.get("trade/orders-algo-history", ordType="conditional", state="canceled")["data"] == []


def test_cancel_and_amend_answers(rest: Rest) -> None:
    placed = rest.post("trade/order-algo", stop(rest, algoClOrdId="ca1"))["data"][0]["algoId"]
    new_trigger = str((rest.last(SWAP) * Decimal("0.85")).quantize(Decimal("0.1")))
    amended = rest.post("trade/amend-algos", {"instId": SWAP, "algoId": placed, "newSlTriggerPx": new_trigger,
                                              "newSlOrdPx": "-1", "reqId": "q1"})  # fmt: skip
    assert amended == {"code": "0", "msg": "", "data": [
        {"algoClOrdId": "ca1", "algoId": placed, "reqId": "q1", "sCode": "0", "sMsg": ""}]}  # fmt: skip
    assert Decimal(rest.get("trade/order-algo", algoId=placed)["data"][0]["slTriggerPx"]) == Decimal(
        new_trigger
    )

    canceled = rest.post(
        "trade/cancel-algos", [{"instId": SWAP, "algoId": placed}, {"instId": SWAP, "algoId": "7"}]
    )
    assert canceled["code"] == "2"
    assert [(d["algoId"], d["sCode"]) for d in canceled["data"]] == [(placed, "0"), ("7", "51400")]
    assert set(canceled["data"][0]) == {"algoClOrdId", "algoId", "clOrdId", "sCode", "sMsg", "tag"}
    history = rest.get("trade/orders-algo-history", ordType="conditional", state="canceled")
    assert [a["algoId"] for a in history["data"]] == [placed]
    assert rest.post("trade/cancel-algos", {"instId": SWAP, "algoId": placed})["code"] == "50002"
    too_many = rest.post("trade/cancel-algos", [{"instId": SWAP, "algoId": str(i)} for i in range(11)])
    assert too_many["code"] == "51111"


def test_order_algo_is_limited_to_20_per_2_seconds_per_instrument(sim: RunningSim, rest: Rest) -> None:
    body = stop(rest)
    uid = rest.key["uid"]

    def twenty_at_once() -> list[str]:
        # Twenty placements charged within one loop turn: the window cannot slide, however slow the machine.
        codes = []
        for _ in range(20):
            try:
                sim.ctx.limiter.charge("POST /api/v5/trade/order-algo", uid=uid, inst_ids=[SWAP])
                codes.append("0")
            except Exception as err:  # SimError
                codes.append(getattr(err, "code", repr(err)))
        return codes

    assert sim.call(twenty_at_once) == ["0"] * 20
    refused = rest.post("trade/order-algo", body)
    assert (refused.get("code"), rest.status) == ("50011", 429)
    other = {**body, "instId": "ETH-USDT-SWAP", "slTriggerPx": "1", "reduceOnly": False, "sz": "1"}
    assert rest.post("trade/order-algo", other)["code"] == "0"  # its own bucket


def test_attached_stop_shows_on_the_order_and_fires_through_the_admin_price(
    sim: RunningSim, rest: Rest
) -> None:
    last = rest.last(SWAP)
    sl_px = str((last * Decimal("0.99")).quantize(Decimal("0.1")))
    placed = rest.post("trade/order", {"instId": SWAP, "tdMode": "cross", "side": "buy", "ordType": "market",
                                       "sz": "5", "attachAlgoOrds": [{"attachAlgoClOrdId": "att1",
                                       "slTriggerPx": sl_px, "slOrdPx": "-1", "slTriggerPxType": "mark"}]})  # fmt: skip
    ord_id = placed["data"][0]["ordId"]
    order = rest.get("trade/order", instId=SWAP, ordId=ord_id)["data"][0]
    assert order["attachAlgoOrds"][0]["attachAlgoClOrdId"] == "att1" and order["state"] == "filled"
    created = rest.get("trade/order-algo", algoClOrdId="att1")["data"][0]
    assert (created["state"], created["sz"], created["slTriggerPxType"]) == ("live", "5", "mark")
    with algo_events(sim) as wait:
        sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "movePct": "-3"})
        fired = wait(lambda e: e.data["algoId"] == created["algoId"] and e.data["state"] != "live", 15)
    assert fired.data["state"] == "effective" and fired.data["actualSide"] == "sl"
    child = rest.get("trade/order", instId=SWAP, ordId=fired.data["ordId"])["data"][0]
    assert (child["algoClOrdId"], child["source"], child["reduceOnly"]) == ("att1", "7", "true")


@pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
def test_python_okx_algo_calls(sim: RunningSim) -> None:
    import okx.Trade as Trade

    key = futures_key(sim)
    api = Trade.TradeAPI(key["apiKey"], key["secretKey"], key["passphrase"], False, "0", domain=sim.rest,
                         debug=False)  # fmt: skip
    rest = Rest(sim, key)
    assert rest.post("trade/order", {"instId": SWAP, "tdMode": "cross", "side": "buy", "ordType": "market",
                                     "sz": "2"})["code"] == "0"  # fmt: skip
    trigger = str((rest.last(SWAP) * Decimal("0.9")).quantize(Decimal("0.1")))
    placed = api.place_algo_order(instId=SWAP, tdMode="cross", side="sell", ordType="conditional", sz="2",
                                  slTriggerPx=trigger, slOrdPx="-1", algoClOrdId="pyokx1")  # fmt: skip
    assert placed["code"] == "0", placed
    algo_id = placed["data"][0]["algoId"]
    assert api.get_algo_order_details(algoId=algo_id)["data"][0]["algoClOrdId"] == "pyokx1"
    assert [a["algoId"] for a in api.order_algos_list(ordType="conditional")["data"]] == [algo_id]
    amended = api.amend_algo_order(instId=SWAP, algoId=algo_id, newSz="1")
    assert amended["code"] == "0", amended
    assert api.cancel_algo_order([{"instId": SWAP, "algoId": algo_id}])["code"] == "0"
    history = api.order_algos_history(ordType="conditional", state="canceled")
    assert [(a["algoId"], a["sz"]) for a in history["data"]] == [(algo_id, "1")]


def test_admin_lists_every_algo_and_switches_the_partial_parent_rule(sim: RunningSim, rest: Rest) -> None:
    placed = rest.post("trade/order-algo", stop(rest))["data"][0]["algoId"]
    rest.post("trade/cancel-algos", [{"instId": SWAP, "algoId": placed}])
    listed = sim.admin("GET", f"/__sim__/algos?uid={rest.key['uid']}")["algos"]
    assert [(a["algoId"], a["state"]) for a in listed] == [(placed, "canceled")]
    assert sim.admin("POST", "/__sim__/algo-config", {"partialParent": "filled"}) == {
        "partialParent": "filled"
    }
    assert sim.admin("POST", "/__sim__/algo-config", {"partialParent": "none"}) == {"partialParent": "none"}
    with pytest.raises(RuntimeError, match="partialParent must be one of none, filled"):
        sim.admin("POST", "/__sim__/algo-config", {"partialParent": "half"})
