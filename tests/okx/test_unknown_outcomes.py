"""Orders whose outcome is unknown are never sent twice, against a simulator that executes late.

OKX may execute a request after answering it ambiguously (50013, a timeout, a dropped connection),
its read endpoints may lag behind, and an order that fills at once frees its clOrdId: a client that
resends after a lookup found nothing makes a second order. These tests arm exactly that on a quiet
simulator (no synthetic market: only the tests' own orders trade) and count orders on the exchange.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ccxt.base.errors import BaseError as CcxtError

from okxbot.okx.client import AmendRequest, OrderIntent, OrderRef
from okxbot.okx.errors import OkxOutcomeUnknown
from okxbot.sim.server import RunningSim
from tests.okx.simkit import client, hits
from tests.sim.asynchrony_kit import ORDER, drained, fresh, new_key, order, orders_of, post, quiet_sim

D = Decimal
BATCH = "/api/v5/trade/batch-orders"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def quiet() -> Iterator[RunningSim]:
    with quiet_sim(seed=41) as sim:
        yield sim


@pytest.fixture(autouse=True)
def clean(quiet: RunningSim) -> Iterator[None]:
    fresh(quiet)
    yield
    quiet.admin("POST", "/__sim__/clock", {"offsetMs": 0})


def resting_sells(sim: RunningSim, px: str = "60000", sz: str = "1") -> None:
    """A maker's sell for market buys to fill against at once."""
    answer = post(sim, new_key(sim), ORDER, order("sell", sz, px)).json()
    assert answer["code"] == "0", answer


def fast(sim: RunningSim, key: dict[str, Any], tmp: Path, **config: Any) -> Any:
    """A client with short expTimes, so that waiting out an unknown outcome takes about a second."""
    config.setdefault("exp_time_ms", 1000)
    config.setdefault("read_lag_ms", 300)
    config.setdefault("timeout_ms", 1500)
    return client(sim, key, tmp, **config)


async def test_a_market_order_answered_50013_then_executed_late_exists_once(
    quiet: RunningSim, tmp_path: Path
) -> None:
    resting_sells(quiet)
    key = new_key(quiet)
    async with fast(quiet, key, tmp_path) as okx:
        intent = await okx.prepare_order("BTC/USDT", "buy", D("0.001"), check_funds=False)
        # "Systems are busy" now, yet the order executes 400 ms later and fills at once
        quiet.admin("POST", "/__sim__/faults", {"path": ORDER, "kind": "50013", "count": 1, "lateMs": 400})
        placed = await okx.place(intent)
    drained(quiet)
    on_exchange = orders_of(quiet, key["uid"], intent.client_order_id)
    assert len(on_exchange) == 1, "the order was sent again while OKX could still execute the first"
    assert placed.order_id == on_exchange[0]["ordId"] and placed.state == "filled"


async def test_an_order_hidden_by_read_lag_is_found_later_not_sent_again(
    quiet: RunningSim, tmp_path: Path
) -> None:
    resting_sells(quiet)
    key = new_key(quiet)
    # every new order stays invisible to GET endpoints for 2.5 s: longer than its expTime + 1 s
    quiet.admin("POST", "/__sim__/realism", {"readLagMs": 2500, "fixedLags": True})
    async with fast(quiet, key, tmp_path, read_lag_ms=3000) as okx:
        intent = await okx.prepare_order("BTC/USDT", "buy", D("0.001"), check_funds=False)
        # executed, then the connection closes unanswered
        quiet.admin("POST", "/__sim__/faults", {"path": ORDER, "kind": "drop", "count": 1})
        placed = await okx.place(intent)
    assert placed.state == "filled"
    assert len(orders_of(quiet, key["uid"], intent.client_order_id)) == 1


@pytest.mark.parametrize("kind", ["50013", "http500"])
async def test_a_request_never_executed_is_sent_again_only_after_its_exp_time(
    quiet: RunningSim, tmp_path: Path, kind: str
) -> None:
    key = new_key(quiet)
    async with fast(quiet, key, tmp_path) as okx:
        intent = await okx.prepare_order("BTC/USDT", "buy", D("0.001"), D("30000"))
        await okx.sync_clock()
        quiet.admin("POST", "/__sim__/faults", {"path": ORDER, "kind": kind, "count": 1})
        before = hits(quiet, ORDER)
        sent_at = okx.clock.now_ms()
        placed = await okx.place(intent)
    on_exchange = orders_of(quiet, key["uid"], intent.client_order_id)
    assert len(on_exchange) == 1 and placed.state == "live"
    # the copy left only once the first request could no longer execute (its expTime had passed)
    assert int(on_exchange[0]["cTime"]) > sent_at + 1000
    # the POST, a lookup, the decisive lookup after the expTime, the second POST, the read-back
    assert hits(quiet, ORDER) - before == 5


async def test_without_waiting_the_unknown_outcome_names_the_order_and_when_it_settles(
    quiet: RunningSim, tmp_path: Path
) -> None:
    key = new_key(quiet)
    async with fast(quiet, key, tmp_path) as okx:
        intent = await okx.prepare_order("BTC/USDT", "buy", D("0.001"), D("30000"))
        await okx.sync_clock()
        quiet.admin("POST", "/__sim__/faults", {"path": ORDER, "kind": "50001", "count": 1})
        before = hits(quiet, ORDER)
        with pytest.raises(OkxOutcomeUnknown) as info:
            await okx.place(intent, wait=False)
        err = info.value
        assert err.details["client_order_id"] == intent.client_order_id
        assert intent.client_order_id in err.hint and "before placing it again" in err.hint
        # expTime (1 s) + clock error + read-lag allowance (0.3 s), on OKX's clock
        assert err.settle_at_ms is not None
        assert okx.clock.now_ms() + 1000 < err.settle_at_ms <= okx.clock.now_ms() + 1300 + 1000
        assert hits(quiet, ORDER) - before == 1  # no lookup, no resend: the caller settles it


async def test_a_batch_answered_ambiguously_places_each_order_once(quiet: RunningSim, tmp_path: Path) -> None:
    resting_sells(quiet)
    key = new_key(quiet)
    async with fast(quiet, key, tmp_path) as okx:
        intents = [
            await okx.prepare_order("BTC/USDT", "buy", D("0.001"), check_funds=False),  # fills at once
            await okx.prepare_order("BTC/USDT", "buy", D("0.002"), check_funds=False),
            await okx.prepare_order("BTC/USDT", "buy", D("0.001"), D("30000")),  # rests
        ]
        quiet.admin("POST", "/__sim__/faults", {"path": BATCH, "kind": "50013", "count": 1, "lateMs": 400})
        results = await okx.place_batch(intents, confirm=True)
    drained(quiet)
    assert [r.error for r in results] == [None, None, None]
    assert [r.order.state for r in results if r.order] == ["filled", "filled", "live"]
    for intent in intents:
        assert len(orders_of(quiet, key["uid"], intent.client_order_id)) == 1
    assert hits(quiet, BATCH) == 1  # one batch request, never a second one


async def test_a_batch_reports_each_order_on_its_own(quiet: RunningSim, tmp_path: Path) -> None:
    key = new_key(quiet)
    async with fast(quiet, key, tmp_path) as okx:
        good = await okx.prepare_order("BTC/USDT", "buy", D("0.001"), D("30000"))
        rules = await okx.rules("BTC/USDT")
        # below the instrument's minimum size: OKX refuses this one order, not the batch
        tiny = OrderIntent(
            "BTC/USDT", "BTC-USDT", "buy", rules.min_size / 10, D("30000"), "limit", "tinyorder1"
        )
        results = await okx.place_batch([good, tiny], wait=False)
        assert results[0].order is not None and results[0].order.order_id
        assert results[1].order is None and results[1].error is not None and not results[1].unknown
        assert results[1].error.code not in ("", None, "0")

        amended = await okx.amend_batch(
            [
                AmendRequest(
                    "BTC/USDT", client_order_id=good.client_order_id, new_price=D("30001"), req_id="r1"
                ),
                AmendRequest("BTC/USDT", client_order_id="neverplaced1", new_price=D("30001")),
            ]
        )
        assert amended[0].ok and amended[0].req_id == "r1"
        assert not amended[1].ok and amended[1].code == "51503"

        canceled = await okx.cancel_batch(
            [OrderRef("BTC/USDT", client_order_id=good.client_order_id), OrderRef("BTC/USDT", "1234")]
        )
        assert canceled[0].ok and canceled[0].client_order_id == good.client_order_id
        assert not canceled[1].ok and canceled[1].code == "51400"
    assert [o["state"] for o in orders_of(quiet, key["uid"], good.client_order_id)] == ["canceled"]
    assert orders_of(quiet, key["uid"], "tinyorder1") == []


async def test_websocket_orders_carry_an_exp_time(quiet: RunningSim, tmp_path: Path) -> None:
    key = new_key(quiet)
    async with fast(quiet, key, tmp_path) as okx:
        await okx.sync_clock()
        await okx.load_markets()
        # OKX's clock jumps 10 s ahead of what the client measured: an order op signed with a 1 s
        # expTime has expired on arrival, so OKX must refuse it instead of executing it
        quiet.admin("POST", "/__sim__/clock", {"offsetMs": 10_000})
        with pytest.raises(CcxtError):
            await okx.raw.create_order_ws(
                "BTC/USDT", "limit", "buy", 0.001, 30000, {"clOrdId": "wsexpired1", "op": "order"}
            )
        assert okx.raw.okx_exp_time("trade/order", "wsexpired1") is not None
    assert orders_of(quiet, key["uid"], "wsexpired1") == []
