"""Late execution: a request OKX answered ambiguously (timeout, 50001, 50013, 5xx) may still execute.

Every test arms a fault, observes the ambiguous answer over real HTTP, then waits on the simulator's
scheduled work (not on a clock) and checks what the exchange holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ccxt
import httpx
import pytest

from okxbot.sim.asynchrony import Asynchrony
from okxbot.sim.clock import Clock
from okxbot.sim.engine import Exchange
from okxbot.sim.faults import Fault
from okxbot.sim.server import RunningSim, start_sim
from tests.sim.asynchrony_kit import (
    INST,
    ORDER,
    drained,
    fresh,
    lookup,
    new_key,
    order,
    orders_of,
    post,
    quiet_sim,
    realism,
)
from tests.sim.test_ccxt_rest import make_exchange

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def quiet() -> Iterator[RunningSim]:
    with quiet_sim(seed=31) as sim:
        yield sim


@pytest.fixture(autouse=True)
def clean(quiet: RunningSim) -> None:
    fresh(quiet)


def fault(sim: RunningSim, **body: Any) -> None:
    sim.admin("POST", "/__sim__/faults", {"path": ORDER, "count": 1, **body})


def test_a_50013_answer_is_followed_by_the_order_appearing_later(quiet: RunningSim) -> None:
    key = new_key(quiet)
    fault(quiet, kind="50013", lateMs=1500)
    answer = post(quiet, key, ORDER, order("buy", "0.001", "50000", cl="late50013"))
    assert answer.status_code == 429 and answer.json()["code"] == "50013"
    # A lookup right after the answer finds nothing: the request is still in flight inside "OKX".
    assert lookup(quiet, key, clOrdId="late50013")["code"] == "51603"
    assert realism(quiet)["pendingByKind"]["late"] == 1

    drained(quiet)
    found = lookup(quiet, key, clOrdId="late50013")
    assert found["code"] == "0" and found["data"][0]["state"] == "live"
    assert [o["clOrdId"] for o in orders_of(quiet, key["uid"])] == ["late50013"]


def test_a_timeout_holds_the_request_unanswered_and_it_executes_later(quiet: RunningSim) -> None:
    key = new_key(quiet)
    fault(quiet, kind="timeout", lateMs=2500)
    with httpx.Client(timeout=0.5) as impatient, pytest.raises(httpx.ReadTimeout):
        # Held open, neither answered nor closed, until the client gives up.
        post(quiet, key, ORDER, order("buy", "0.001", "50000", cl="heldthenlate"), client=impatient)
    assert orders_of(quiet, key["uid"]) == []
    drained(quiet)
    assert [(o["clOrdId"], o["state"]) for o in orders_of(quiet, key["uid"])] == [("heldthenlate", "live")]


def test_a_timeout_without_late_execution_never_executes(quiet: RunningSim) -> None:
    key = new_key(quiet)
    before = realism(quiet)["counts"]["lateScheduled"]
    fault(quiet, kind="timeout")
    with httpx.Client(timeout=0.5) as impatient, pytest.raises(httpx.ReadTimeout):
        post(quiet, key, ORDER, order("buy", "0.001", "50000", cl="heldnever"), client=impatient)
    # Nothing was scheduled, so nothing can execute later.
    assert realism(quiet)["counts"]["lateScheduled"] == before
    assert realism(quiet)["pending"] == 0
    assert orders_of(quiet, key["uid"]) == []


async def test_a_market_order_filled_at_once_executes_late_so_a_naive_resend_doubles_it(
    quiet: RunningSim,
) -> None:
    maker, taker = new_key(quiet), new_key(quiet)
    assert post(quiet, maker, ORDER, order("buy", "0.01", "60000")).json()["code"] == "0"
    exchange = make_exchange(quiet, taker, "sync")
    exchange.load_markets()
    # ccxt's create_order posts to batch-orders (one order in the array).
    quiet.admin(
        "POST", "/__sim__/faults", {"path": "/api/v5/trade/batch-orders", "kind": "50013", "lateMs": 1500}
    )

    # What a naive client does: the answer is "busy", a lookup finds nothing, so it sends again.
    with pytest.raises(ccxt.BaseError, match="50013"):
        exchange.create_order("BTC/USDT", "market", "sell", 0.001, None, {"clOrdId": "naive1"})
    with pytest.raises(ccxt.OrderNotFound):
        exchange.fetch_order(None, "BTC/USDT", {"clOrdId": "naive1"})
    resent = exchange.create_order("BTC/USDT", "market", "sell", 0.001, None, {"clOrdId": "naive1"})
    # The resend filled at once, which freed its clOrdId ...
    assert exchange.fetch_order(resent["id"], "BTC/USDT")["status"] == "closed"

    # ... so the first request, executing late, is a second order with the same clOrdId.
    drained(quiet)
    doubled = orders_of(quiet, taker["uid"], "naive1")
    assert len(doubled) == 2 and len({o["ordId"] for o in doubled}) == 2
    assert [o["state"] for o in doubled] == ["filled", "filled"]
    assert sum(float(o["accFillSz"]) for o in doubled) == pytest.approx(0.002)


def test_a_request_whose_exp_time_passes_before_its_late_execution_never_executes(quiet: RunningSim) -> None:
    key = new_key(quiet)
    counts = realism(quiet)["counts"]
    fault(quiet, kind="50013", lateMs=1500)
    exp_time = str(quiet.call(quiet.ctx.clock.now_ms) + 500)
    answer = post(
        quiet, key, ORDER, order("buy", "0.001", "50000", cl="expires1"), headers={"expTime": exp_time}
    )
    assert answer.json()["code"] == "50013"
    drained(quiet)
    after = realism(quiet)["counts"]
    assert after["lateScheduled"] == counts["lateScheduled"] + 1
    assert after["lateExpired"] == counts["lateExpired"] + 1
    assert after["lateExecuted"] == counts["lateExecuted"]
    assert orders_of(quiet, key["uid"]) == []


def test_an_exp_time_already_past_on_arrival_is_never_scheduled(quiet: RunningSim) -> None:
    key = new_key(quiet)
    before = realism(quiet)["counts"]["lateScheduled"]
    fault(quiet, kind="50001", lateMs=100)
    exp_time = str(quiet.call(quiet.ctx.clock.now_ms) - 1000)
    answer = post(
        quiet, key, ORDER, order("buy", "0.001", "50000", cl="expired0"), headers={"expTime": exp_time}
    )
    assert answer.status_code == 503 and answer.json()["code"] == "50001"
    assert realism(quiet)["counts"]["lateScheduled"] == before
    assert orders_of(quiet, key["uid"]) == []


def test_batch_place_cancel_and_amend_execute_late_too(quiet: RunningSim) -> None:
    key = new_key(quiet)
    quiet.admin(
        "POST", "/__sim__/faults", {"path": "/api/v5/trade/batch-orders", "kind": "http500", "lateMs": 300}
    )
    batch = [order("buy", "0.001", "50000", cl="batchlate1"), order("buy", "0.001", "50001", cl="batchlate2")]
    answer = post(quiet, key, "/api/v5/trade/batch-orders", batch)
    assert answer.status_code == 500 and answer.text == "Internal Server Error"
    drained(quiet)
    assert sorted(o["clOrdId"] for o in orders_of(quiet, key["uid"])) == ["batchlate1", "batchlate2"]

    amend = "/api/v5/trade/amend-order"
    quiet.admin("POST", "/__sim__/faults", {"path": amend, "kind": "50026", "lateMs": 300})
    answer = post(quiet, key, amend, {"instId": INST, "clOrdId": "batchlate1", "newPx": "49000"})
    assert answer.status_code == 500 and answer.json()["code"] == "50026"
    drained(quiet)
    assert lookup(quiet, key, clOrdId="batchlate1")["data"][0]["px"] == "49000"

    cancel = "/api/v5/trade/cancel-order"
    # long enough that the lookup below comes before it on a loaded machine (300 ms did not)
    quiet.admin("POST", "/__sim__/faults", {"path": cancel, "kind": "50001", "lateMs": 3000})
    answer = post(quiet, key, cancel, {"instId": INST, "clOrdId": "batchlate2"})
    assert answer.json()["code"] == "50001"
    assert lookup(quiet, key, clOrdId="batchlate2")["data"][0]["state"] == "live"
    drained(quiet)
    assert lookup(quiet, key, clOrdId="batchlate2")["data"][0]["state"] == "canceled"


def test_a_drop_with_late_ms_closes_first_and_executes_afterwards(quiet: RunningSim) -> None:
    key = new_key(quiet)
    fault(quiet, kind="drop", lateMs=1500)
    with pytest.raises(httpx.RemoteProtocolError):
        post(quiet, key, ORDER, order("buy", "0.001", "50000", cl="droplate"))
    assert orders_of(quiet, key["uid"]) == []
    drained(quiet)
    assert [o["clOrdId"] for o in orders_of(quiet, key["uid"])] == ["droplate"]


def test_the_realism_share_decides_which_ambiguous_answers_execute_late(quiet: RunningSim) -> None:
    key = new_key(quiet)
    quiet.admin("POST", "/__sim__/realism", {"lateExecMs": 200, "lateExecShare": "1"})
    fault(quiet, kind="50001", count=3)
    for n in range(3):
        assert post(quiet, key, ORDER, order("buy", "0.001", "50000", cl=f"share1n{n}")).status_code == 503
    drained(quiet)
    assert len(orders_of(quiet, key["uid"])) == 3

    skipped = realism(quiet)["counts"]["lateNotExecuted"]
    quiet.admin("POST", "/__sim__/realism", {"lateExecShare": "0"})
    fault(quiet, kind="50013", count=3)
    for n in range(3):
        assert post(quiet, key, ORDER, order("buy", "0.001", "50000", cl=f"share0n{n}")).status_code == 429
    assert realism(quiet)["counts"]["lateNotExecuted"] == skipped + 3
    assert realism(quiet)["pending"] == 0
    assert len(orders_of(quiet, key["uid"])) == 3


def test_with_realism_off_and_no_late_ms_faults_keep_their_old_meaning(quiet: RunningSim) -> None:
    key = new_key(quiet)
    before = realism(quiet)["counts"]["lateScheduled"]
    fault(quiet, kind="50013", count=2)
    for n in range(2):
        assert post(quiet, key, ORDER, order("buy", "0.001", "50000", cl=f"old{n}")).status_code == 429
    assert realism(quiet)["counts"]["lateScheduled"] == before and realism(quiet)["pending"] == 0
    assert orders_of(quiet, key["uid"]) == []
    # Synchronous as before: acknowledged means visible, a cancel's answer means canceled.
    placed = post(quiet, key, ORDER, order("buy", "0.001", "50000", cl="oldsync")).json()
    assert lookup(quiet, key, ordId=placed["data"][0]["ordId"])["data"][0]["state"] == "live"
    canceled = post(quiet, key, "/api/v5/trade/cancel-order", {"instId": INST, "clOrdId": "oldsync"}).json()
    assert canceled["data"][0]["sCode"] == "0"
    assert lookup(quiet, key, clOrdId="oldsync")["data"][0]["state"] == "canceled"


def test_realism_settings_round_trip_and_bad_values_are_explained(quiet: RunningSim) -> None:
    current = realism(quiet)
    assert {k: current[k] for k in ("lateExecMs", "cancelLagMs", "amendLagMs", "readLagMs")} == dict.fromkeys(
        ("lateExecMs", "cancelLagMs", "amendLagMs", "readLagMs"), 0
    )
    assert current["pending"] == 0 and current["hidden"] == 0
    answer = quiet.admin("POST", "/__sim__/realism", {"cancelLagMs": 150, "lateExecShare": 0.25})
    assert answer["cancelLagMs"] == 150 and answer["lateExecShare"] == "0.25" and answer["lateExecMs"] == 0
    assert realism(quiet)["cancelLagMs"] == 150
    for body, message in (
        ({"lateExecMs": -1}, "lateExecMs must be an integer"),
        ({"readLagMs": "200"}, "readLagMs must be an integer"),
        ({"lateExecShare": "1.5"}, "lateExecShare must be a number from 0 to 1"),
        ({"fixedLags": "yes"}, "fixedLags must be true or false"),
        ({"lagMs": 5}, "unknown realism setting"),
    ):
        with pytest.raises(RuntimeError, match=message):
            quiet.admin("POST", "/__sim__/realism", body)
    assert realism(quiet)["cancelLagMs"] == 150  # a refused change changes nothing
    with pytest.raises(RuntimeError, match="delay already executes at once"):
        quiet.admin("POST", "/__sim__/faults", {"path": ORDER, "kind": "delay", "delayMs": 10, "lateMs": 5})
    with pytest.raises(RuntimeError, match="kind for /ws/v5/private must be one of"):
        quiet.admin("POST", "/__sim__/faults", {"path": "/ws/v5/private", "kind": "http500"})
    with pytest.raises(RuntimeError, match="op must be one of"):
        quiet.admin("POST", "/__sim__/faults", {"path": "/ws/v5/private", "kind": "50013", "op": "explode"})


def test_lags_are_drawn_from_the_seeded_rng_within_their_bound() -> None:
    def draws(seed: int) -> list[int | None]:
        asynchrony = Asynchrony(Exchange(Clock(), seed=seed), Clock(), seed)
        asynchrony.configure({"lateExecMs": 400, "lateExecShare": "0.5"})
        return [asynchrony.late_delay_ms(Fault(ORDER, "50013", 1)) for _ in range(200)]

    first = draws(5)
    assert first == draws(5)  # reproducible in the seed
    assert first != draws(6)
    late = [d for d in first if d is not None]
    assert all(0 <= d <= 400 for d in late)
    assert 40 < len(late) < 160  # about half execute late


def test_start_sim_takes_the_realism_and_refuses_a_bad_one() -> None:
    with start_sim(seed=41, config={"market": False}, realism={"cancelLagMs": 50, "readLagMs": 20}) as sim:
        settings = realism(sim)
        assert (settings["cancelLagMs"], settings["readLagMs"], settings["lateExecMs"]) == (50, 20, 0)
    with pytest.raises(ValueError, match="amendLagMs must be an integer"):
        start_sim(seed=41, config={"market": False}, realism={"amendLagMs": 1.5})
