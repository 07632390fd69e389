"""The order manager against OKX's asynchrony: unknown placements, pending cancels and amends, waves.

A quiet simulator (no synthetic market) with its realism switched on per test: late execution after
ambiguous answers, cancels and amends that take effect later, read lag on the GET endpoints. Every
count is taken from the simulator's own record (`/__sim__/orders`, the engine's fills), never from
the journal being tested.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from okxbot.okx.client import ClientConfig, OkxClient
from okxbot.sim.server import RunningSim
from okxbot.trading.config import RiskConfig
from okxbot.trading.journal import Journal
from okxbot.trading.orders import OrderManager, OrderSpec
from okxbot.trading.risk import RiskGuard
from tests.okx.simkit import credentials, hits
from tests.sim.asynchrony_kit import ORDER, drained, fresh, new_key, order, orders_of, post, quiet_sim

D = Decimal
BATCH = "/api/v5/trade/batch-orders"
CANCEL_BATCH = "/api/v5/trade/cancel-batch-orders"
RISK = RiskConfig(
    max_order_notional=D("1000000"),
    max_open_orders=1000,
    max_orders_per_minute=100000,
    price_band_pct=D("50"),
)
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def quiet() -> Iterator[RunningSim]:
    with quiet_sim(seed=43) as sim:
        yield sim


@pytest.fixture(autouse=True)
def clean(quiet: RunningSim) -> None:
    fresh(quiet)


@asynccontextmanager
async def manager(
    sim: RunningSim, key: dict[str, Any], tmp: Path, **config: Any
) -> AsyncIterator[OrderManager]:
    """An order manager on REST (no orders channel), with short expTimes so doubts settle in ~2 s."""
    settings: dict[str, Any] = {
        "exp_time_ms": 1000,
        "read_lag_ms": 1000,
        "timeout_ms": 1500,
        "clock_samples": 3,
        "cache_dir": tmp,
    }
    settings.update(config)
    client = OkxClient(ClientConfig(rest_url=sim.rest, ws_url=sim.ws, **settings), credentials(key))
    rules = await client.rules("BTC/USDT")
    journal = Journal(f"sqlite:///{tmp / 'journal.sqlite'}", "test")
    m = OrderManager(client, journal, RiskGuard(RISK, "BTC/USDT"), rules)
    m.mid = D("60000")
    try:
        yield m
    finally:
        await m.close()
        await client.close()
        journal.close()


def exchange_fills(sim: RunningSim, uid: str) -> dict[str, Decimal]:
    """The engine's own fills of an account: tradeId -> size."""
    rows = sim.call(lambda: [dict(r) for r in sim.ctx.exchange._account(uid).fills])
    return {str(r["tradeId"]): D(str(r["fillSz"])) for r in rows}


def journal_fills(m: OrderManager) -> dict[str, Decimal]:
    return {f.trade_id: f.size for f in m.journal.fills()}


def resting(sim: RunningSim, side: str, px: str, sz: str = "1") -> None:
    answer = post(sim, new_key(sim), ORDER, order(side, sz, px)).json()
    assert answer["code"] == "0", answer


async def test_a_cancel_acknowledged_then_filled_ends_filled_with_its_fills(
    quiet: RunningSim, tmp_path: Path
) -> None:
    key = new_key(quiet)
    quiet.admin("POST", "/__sim__/realism", {"cancelLagMs": 1500, "fixedLags": True})
    async with manager(quiet, key, tmp_path) as m:
        placed = await m.place("buy", D("0.01"), D("60000"))
        assert placed is not None and placed.state == "live"
        cid = placed.client_order_id
        assert await m.cancel(cid)
        # OKX accepted the cancel; the order is still on the book and may fill
        assert m.journal.order(cid).state == "cancel_pending"  # type: ignore[union-attr]
        # a taker fills it before the matching engine gets to the cancel
        taker = post(quiet, new_key(quiet), ORDER, order("sell", "0.01")).json()
        assert taker["code"] == "0", taker
        assert await m.settle(20)
        drained(quiet)
        final = m.journal.order(cid)
        assert final is not None and (final.state, final.filled) == ("filled", D("0.01"))
        assert m.journal.history(cid)[-2:] == ["cancel_pending", "filled"]
        real = orders_of(quiet, key["uid"], cid)
        assert [(o["state"], o["accFillSz"]) for o in real] == [("filled", "0.01")]
        assert journal_fills(m) == exchange_fills(quiet, key["uid"]) and sum(journal_fills(m).values()) == D(
            "0.01"
        )


async def test_an_amendment_is_pending_until_the_order_shows_it(quiet: RunningSim, tmp_path: Path) -> None:
    key = new_key(quiet)
    quiet.admin("POST", "/__sim__/realism", {"amendLagMs": 1000, "fixedLags": True})
    async with manager(quiet, key, tmp_path) as m:
        placed = await m.place("buy", D("0.01"), D("50000"))
        assert placed is not None
        cid = placed.client_order_id
        assert await m.amend(cid, price=D("50001"))
        pending = m.journal.order(cid)
        assert pending is not None and (pending.state, pending.price) == ("amend_pending", D("50000"))
        assert not await m.amend(cid, price=D("50002"))  # one amendment at a time
        assert await m.settle(20)
        drained(quiet)
        done = m.journal.order(cid)
        assert done is not None and (done.state, done.price) == ("live", D("50001"))
        assert [o["px"] for o in orders_of(quiet, key["uid"], cid)] == ["50001"]


async def test_a_market_order_answered_50013_and_executed_late_is_settled_not_doubled(
    quiet: RunningSim, tmp_path: Path
) -> None:
    resting(quiet, "sell", "60000")
    key = new_key(quiet)
    # executed 300 ms after the "busy" answer, and invisible to GET endpoints for 600 ms more
    quiet.admin("POST", "/__sim__/realism", {"readLagMs": 600, "fixedLags": True})
    async with manager(quiet, key, tmp_path) as m:
        quiet.admin("POST", "/__sim__/faults", {"path": ORDER, "kind": "50013", "count": 1, "lateMs": 300})
        record = await m.place("buy", D("0.001"))
        # trading goes on: the call returns with the outcome unknown, settled in the background
        assert record is not None and record.state == "unknown"
        assert m.stats.unknown == 1
        assert await m.settle(30)
        drained(quiet)
        final = m.journal.order(record.client_order_id)
        assert final is not None and (final.state, final.filled) == ("filled", D("0.001"))
        assert len(orders_of(quiet, key["uid"], record.client_order_id)) == 1
        assert len(orders_of(quiet, key["uid"])) == 1
        assert journal_fills(m) == exchange_fills(quiet, key["uid"]) != {}


async def test_an_order_never_executed_is_settled_as_never_placed_without_a_resend(
    quiet: RunningSim, tmp_path: Path
) -> None:
    key = new_key(quiet)
    async with manager(quiet, key, tmp_path) as m:
        await m.client.sync_clock()  # type: ignore[attr-defined]
        before = hits(quiet, ORDER)
        quiet.admin("POST", "/__sim__/faults", {"path": ORDER, "kind": "50013", "count": 1})
        record = await m.place("buy", D("0.001"), D("30000"))
        assert record is not None and record.state == "unknown"
        assert await m.settle(30)
        final = m.journal.order(record.client_order_id)
        assert final is not None and final.state == "rejected"
        assert m.journal.history(record.client_order_id) == ["sent", "unknown", "rejected"]
    # 50013 without late execution never executed: any resend would have made an order
    assert orders_of(quiet, key["uid"]) == []
    assert hits(quiet, ORDER) - before >= 2  # the placement, then lookups until its expTime passed


async def test_a_wave_goes_through_the_batch_endpoint_and_overflows_into_the_single_one(
    quiet: RunningSim, tmp_path: Path
) -> None:
    key = new_key(quiet)
    async with manager(quiet, key, tmp_path) as m:
        m.confirm_placements = False  # as with the orders channel up: no read-back GETs to count
        specs = [OrderSpec("buy", D("0.001"), D(50000 - i)) for i in range(25)]
        before_batch, before_single = hits(quiet, BATCH), hits(quiet, ORDER)
        placed = await m.place_many(specs)
        assert all(p is not None and p.state == "live" for p in placed)
        assert hits(quiet, BATCH) - before_batch == 2  # 20 + 5 orders
        assert hits(quiet, ORDER) - before_single == 0
        # the batch bucket has room for 10 more only: the rest takes the single-order bucket
        client = m.client
        await client.account_config()  # type: ignore[attr-defined]
        limiter = client.limiter  # type: ignore[attr-defined]
        for _ in range(13):
            await limiter.acquire("POST", BATCH, [{"instId": "BTC-USDT"}] * 20)
        await limiter.acquire("POST", BATCH, [{"instId": "BTC-USDT"}] * 5)
        assert (await client.headroom(BATCH, "BTC-USDT")).batch == 10  # type: ignore[attr-defined]
        before_batch, before_single = hits(quiet, BATCH), hits(quiet, ORDER)
        more = await m.place_many([OrderSpec("buy", D("0.001"), D(40000 - i)) for i in range(25)])
        assert all(p is not None and p.state == "live" for p in more)
        assert hits(quiet, BATCH) - before_batch == 1  # 10 orders
        assert hits(quiet, ORDER) - before_single == 15
        # cancel-all goes out in batches too, and waits until the orders say canceled
        before_cancel = hits(quiet, CANCEL_BATCH)
        assert await m.cancel_all_own() == 0
        assert hits(quiet, CANCEL_BATCH) - before_cancel == 3  # 20 + 20 + 10
    real = orders_of(quiet, key["uid"])
    assert len(real) == 50 and {o["state"] for o in real} == {"canceled"}


async def test_a_wave_answered_ambiguously_is_settled_order_by_order_without_a_duplicate(
    quiet: RunningSim, tmp_path: Path
) -> None:
    resting(quiet, "sell", "60000")
    key = new_key(quiet)
    async with manager(quiet, key, tmp_path) as m:
        before = hits(quiet, BATCH)
        quiet.admin("POST", "/__sim__/faults", {"path": BATCH, "kind": "http500", "count": 1, "lateMs": 300})
        specs = [
            OrderSpec("buy", D("0.001")),
            OrderSpec("buy", D("0.002")),
            OrderSpec("buy", D("0.001"), D("30000")),
        ]
        placed = await m.place_many(specs)
        assert [p.state for p in placed if p] == ["unknown"] * 3
        assert await m.settle(30)
        drained(quiet)
        states = [m.journal.order(p.client_order_id).state for p in placed if p]  # type: ignore[union-attr]
        assert states == ["filled", "filled", "live"]
        for p in placed:
            assert p is not None and len(orders_of(quiet, key["uid"], p.client_order_id)) == 1
        assert hits(quiet, BATCH) - before == 1  # never sent again
        assert journal_fills(m) == exchange_fills(quiet, key["uid"])
