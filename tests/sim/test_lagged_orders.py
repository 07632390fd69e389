"""Lagged cancels and amends, read lag, and late execution of WebSocket order ops.

The lags here are fixed (`fixedLags`) so that what happens inside the window does not depend on a
random draw; the tests wait for the simulator's scheduled work to drain, or move its clock past a read
lag, instead of sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from okxbot.sim.server import RunningSim
from tests.sim.asynchrony_kit import (
    INST,
    ORDER,
    drained,
    fresh,
    get,
    lookup,
    new_key,
    order,
    orders_of,
    post,
    quiet_sim,
    realism,
)
from tests.sim.ws_client import Conn

pytestmark = pytest.mark.timeout(90)

CANCEL = "/api/v5/trade/cancel-order"
AMEND = "/api/v5/trade/amend-order"


@pytest.fixture(scope="module")
def quiet() -> Iterator[RunningSim]:
    with quiet_sim(seed=37) as sim:
        yield sim


@pytest.fixture(autouse=True)
def clean(quiet: RunningSim) -> Iterator[None]:
    fresh(quiet)
    yield
    quiet.admin("POST", "/__sim__/clock", {"offsetMs": 0})


async def private(sim: RunningSim, key: dict[str, Any]) -> Conn:
    conn = await Conn.open(sim.ws + "/private")
    assert (await conn.login(key))["code"] == "0"
    await conn.send({"id": "s1", "op": "subscribe", "args": [{"channel": "orders", "instType": "SPOT"}]})
    await conn.expect(event="subscribe")
    return conn


@pytest.fixture
async def maker_socket(quiet: RunningSim) -> AsyncIterator[tuple[dict[str, Any], Conn]]:
    key = new_key(quiet)
    conn = await private(quiet, key)
    try:
        yield key, conn
    finally:
        await conn.close()


async def pushes_until(conn: Conn, ord_id: str, final: str) -> list[dict[str, Any]]:
    """The orders-channel updates of one order, up to the first one in state `final`."""
    seen: list[dict[str, Any]] = []
    while not seen or seen[-1]["state"] != final:
        push = await conn.push("orders", timeout=10)
        seen += [d for d in push["data"] if d["ordId"] == ord_id]
    return seen


async def test_a_cancel_is_acknowledged_first_and_a_fill_landing_in_between_wins(
    quiet: RunningSim, maker_socket: tuple[dict[str, Any], Conn]
) -> None:
    maker, conn = maker_socket
    taker = new_key(quiet)
    quiet.admin("POST", "/__sim__/realism", {"cancelLagMs": 3000, "fixedLags": True})
    placed = post(quiet, maker, ORDER, order("sell", "0.002", "61000", cl="cxlraced")).json()["data"][0]
    ord_id = placed["ordId"]

    ack = post(quiet, maker, CANCEL, {"instId": INST, "ordId": ord_id}).json()
    assert ack["code"] == "0" and ack["data"][0]["sCode"] == "0" and ack["data"][0]["ordId"] == ord_id
    # Accepted is not canceled: the order still rests, and a second cancel is told one is under way.
    assert lookup(quiet, maker, ordId=ord_id)["data"][0]["state"] == "live"
    again = post(quiet, maker, CANCEL, {"instId": INST, "clOrdId": "cxlraced"}).json()["data"][0]
    assert again["sCode"] == "51410"

    fill = post(quiet, taker, ORDER, order("buy", "0.002")).json()["data"][0]
    assert fill["sCode"] == "0"
    drained(quiet)

    assert lookup(quiet, maker, ordId=ord_id)["data"][0]["state"] == "filled"
    history = get(quiet, maker, f"/api/v5/trade/orders-history?instType=SPOT&instId={INST}")["data"]
    assert [(o["ordId"], o["state"]) for o in history] == [(ord_id, "filled")]
    fills = get(quiet, maker, f"/api/v5/trade/fills?ordId={ord_id}")["data"]
    assert sum(float(f["fillSz"]) for f in fills) == pytest.approx(0.002)
    updates = await pushes_until(conn, ord_id, "filled")
    assert [u["state"] for u in updates] == ["live", "filled"]
    assert all(u["state"] != "canceled" for u in updates)


async def test_a_lagged_cancel_takes_effect_later_and_the_orders_channel_says_so(
    quiet: RunningSim, maker_socket: tuple[dict[str, Any], Conn]
) -> None:
    maker, conn = maker_socket
    quiet.admin("POST", "/__sim__/realism", {"cancelLagMs": 1500, "fixedLags": True})
    ord_id = post(quiet, maker, ORDER, order("buy", "0.001", "50000")).json()["data"][0]["ordId"]
    assert post(quiet, maker, CANCEL, {"instId": INST, "ordId": ord_id}).json()["data"][0]["sCode"] == "0"
    assert realism(quiet)["pendingByKind"]["cancel"] == 1
    pending = get(quiet, maker, f"/api/v5/trade/orders-pending?instId={INST}")["data"]
    assert [o["ordId"] for o in pending] == [ord_id]
    drained(quiet)
    assert lookup(quiet, maker, ordId=ord_id)["data"][0]["state"] == "canceled"
    assert [u["state"] for u in await pushes_until(conn, ord_id, "canceled")] == ["live", "canceled"]


def test_what_okx_checks_synchronously_is_still_answered_at_once(quiet: RunningSim) -> None:
    key = new_key(quiet)
    quiet.admin("POST", "/__sim__/realism", {"cancelLagMs": 5000, "amendLagMs": 5000, "fixedLags": True})
    unknown = post(quiet, key, CANCEL, {"instId": INST, "ordId": "123456789"}).json()["data"][0]
    assert unknown["sCode"] == "51400"
    assert (
        post(quiet, key, AMEND, {"instId": INST, "clOrdId": "nosuch", "newPx": "1"}).json()["data"][0][
            "sCode"
        ]
        == "51503"
    )
    ord_id = post(quiet, key, ORDER, order("buy", "0.001", "50000")).json()["data"][0]["ordId"]
    bad_px = post(quiet, key, AMEND, {"instId": INST, "ordId": ord_id, "newPx": "50000.05"}).json()["data"][0]
    assert (bad_px["sCode"], bad_px["sMsg"]) == ("51000", "Parameter newPx error")
    bad_sz = post(quiet, key, AMEND, {"instId": INST, "ordId": ord_id, "newSz": "-1"}).json()["data"][0]
    assert bad_sz["sCode"] == "51000"
    none = post(quiet, key, AMEND, {"instId": INST, "ordId": ord_id}).json()["data"][0]
    assert none["sCode"] == "50015"
    assert realism(quiet)["pending"] == 0  # none of these was scheduled


async def test_an_amend_is_acknowledged_first_and_applied_after_its_lag(
    quiet: RunningSim, maker_socket: tuple[dict[str, Any], Conn]
) -> None:
    key, conn = maker_socket
    quiet.admin("POST", "/__sim__/realism", {"amendLagMs": 1500, "fixedLags": True})
    ord_id = post(quiet, key, ORDER, order("buy", "0.001", "50000", cl="amendlag")).json()["data"][0]["ordId"]
    ack = post(quiet, key, AMEND, {"instId": INST, "clOrdId": "amendlag", "newPx": "50100", "reqId": "r1"})
    assert ack.json()["data"][0] | {"ts": ""} == {
        "clOrdId": "amendlag", "ordId": ord_id, "ts": "", "reqId": "r1", "sCode": "0", "sMsg": "",
    }  # fmt: skip
    assert lookup(quiet, key, ordId=ord_id)["data"][0]["px"] == "50000"  # not applied yet
    drained(quiet)
    assert lookup(quiet, key, ordId=ord_id)["data"][0]["px"] == "50100"
    updates = await pushes_until(conn, ord_id, "live")  # the creation push
    while not any(u.get("amendResult") == "0" for u in updates):
        updates += [d for d in (await conn.push("orders", timeout=10))["data"] if d["ordId"] == ord_id]
    amended = next(u for u in updates if u.get("amendResult") == "0")
    assert (amended["px"], amended["reqId"]) == ("50100", "r1")


def test_operations_on_one_order_keep_their_order_through_the_lags(quiet: RunningSim) -> None:
    key = new_key(quiet)
    # Uniform lags: the amend may draw a longer lag than the cancel after it, yet runs first.
    quiet.admin("POST", "/__sim__/realism", {"amendLagMs": 800, "cancelLagMs": 50})
    ord_id = post(quiet, key, ORDER, order("buy", "0.001", "50000")).json()["data"][0]["ordId"]
    for n in range(5):
        body = {"instId": INST, "ordId": ord_id, "newPx": str(50001 + n), "reqId": f"a{n}"}
        assert post(quiet, key, AMEND, body).json()["data"][0]["sCode"] == "0"
    assert post(quiet, key, CANCEL, {"instId": INST, "ordId": ord_id}).json()["data"][0]["sCode"] == "0"
    drained(quiet)
    final = lookup(quiet, key, ordId=ord_id)["data"][0]
    assert (final["state"], final["px"]) == ("canceled", "50005")


def test_read_lag_hides_new_orders_and_fills_until_it_has_passed(quiet: RunningSim) -> None:
    maker, taker = new_key(quiet), new_key(quiet)
    lag = 20_000  # within the 30 s signing window, so the clock can move past it
    quiet.admin("POST", "/__sim__/realism", {"readLagMs": lag, "fixedLags": True})
    placed = post(quiet, maker, ORDER, order("sell", "0.001", "61000", cl="unseen")).json()["data"][0]
    assert placed["sCode"] == "0"
    fill = post(quiet, taker, ORDER, order("buy", "0.001")).json()["data"][0]
    assert fill["sCode"] == "0"

    # Acknowledged and already filled, yet the query side has not seen it.
    assert lookup(quiet, maker, ordId=placed["ordId"])["code"] == "51603"
    assert lookup(quiet, maker, clOrdId="unseen")["code"] == "51603"
    history = f"/api/v5/trade/orders-history?instType=SPOT&instId={INST}"
    assert get(quiet, maker, history)["data"] == []
    assert get(quiet, taker, f"/api/v5/trade/fills?instId={INST}")["data"] == []
    assert get(quiet, taker, "/api/v5/trade/fills-history?instType=SPOT")["data"] == []
    assert realism(quiet)["hidden"] == 4  # two orders, two fills
    assert [o["state"] for o in orders_of(quiet, maker["uid"])] == ["filled"]  # the exchange has it

    quiet.admin("POST", "/__sim__/clock", {"offsetMs": lag + 1})
    assert lookup(quiet, maker, ordId=placed["ordId"])["data"][0]["state"] == "filled"
    assert [o["ordId"] for o in get(quiet, maker, history)["data"]] == [placed["ordId"]]
    assert [f["ordId"] for f in get(quiet, taker, f"/api/v5/trade/fills?instId={INST}")["data"]] == [
        fill["ordId"]
    ]
    assert realism(quiet)["hidden"] == 0


def test_read_lag_is_at_most_its_bound(quiet: RunningSim) -> None:
    key = new_key(quiet)
    lag = 20_000
    quiet.admin("POST", "/__sim__/realism", {"readLagMs": lag})  # uniform in [0, lag]
    ids = [
        post(quiet, key, ORDER, order("buy", "0.001", "50000")).json()["data"][0]["ordId"] for _ in range(8)
    ]
    shown = {o["ordId"] for o in get(quiet, key, f"/api/v5/trade/orders-pending?instId={INST}")["data"]}
    assert len(shown) < len(ids)  # eight draws from [0, 20 s]: some hidden at first
    quiet.admin("POST", "/__sim__/clock", {"offsetMs": lag + 1})
    shown = {o["ordId"] for o in get(quiet, key, f"/api/v5/trade/orders-pending?instId={INST}")["data"]}
    assert shown == set(ids)


async def test_websocket_order_ops_execute_late_after_an_ambiguous_answer(quiet: RunningSim) -> None:
    key = new_key(quiet)
    conn = await private(quiet, key)
    try:
        quiet.admin(
            "POST",
            "/__sim__/faults",
            {"path": "/ws/v5/private", "op": "order", "kind": "50013", "lateMs": 800},
        )
        await conn.send({"id": "w1", "op": "order", "args": [order("buy", "0.001", "50000", cl="wslate")]})
        answer = await conn.expect(id="w1")
        assert (answer["code"], answer["data"]) == ("50013", [])
        created = await conn.push("orders", timeout=10)
        assert [(d["clOrdId"], d["state"]) for d in created["data"]] == [("wslate", "live")]

        # timeout: no answer at all; the cancel still happens later
        ord_id = created["data"][0]["ordId"]
        quiet.admin("POST", "/__sim__/faults", {"path": "/ws/v5/private", "kind": "timeout", "lateMs": 300})
        await conn.send({"id": "w2", "op": "cancel-order", "args": [{"instId": INST, "ordId": ord_id}]})
        # The next frame is the cancel's push, and the one after it our ping's pong: w2 got no answer.
        canceled = await conn.recv(timeout=10)
        assert canceled["arg"]["channel"] == "orders"
        assert [(d["ordId"], d["state"]) for d in canceled["data"]] == [(ord_id, "canceled")]
        await conn.send("ping")
        assert await conn.recv() == "pong"

        # An expTime that passes before the late execution: never executed.
        expired_before = realism(quiet)["counts"]["lateExpired"]
        quiet.admin("POST", "/__sim__/faults", {"path": "/ws/v5/private", "kind": "50001", "lateMs": 800})
        exp_time = str(quiet.call(quiet.ctx.clock.now_ms) + 300)
        message = {
            "id": "w3",
            "op": "order",
            "expTime": exp_time,
            "args": [order("buy", "0.001", "50000", cl="wsexp")],
        }
        await conn.send(message)
        assert (await conn.expect(id="w3"))["code"] == "50001"
        drained(quiet)
        assert realism(quiet)["counts"]["lateExpired"] == expired_before + 1
        assert orders_of(quiet, key["uid"], "wsexp") == []
    finally:
        await conn.close()
