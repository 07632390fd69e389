"""A swap bot's trailing stop on a still simulator (the desk sets the last price, index and mark): OKX cannot
attach a move_order_stop to an order, so the bot places it, reduce-only, for what the entry filled, under
an algoClOrdId journaled with the entry; the exchange closes the position when the price falls back
through the callback; a restart places one that was never sent and adopts one that was."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from okxbot.okx.algos import TrailingSpec
from okxbot.sim.server import RunningSim
from okxbot.trading.runner import Runner
from okxbot.trading.swap_journal import JournalAlgo, SwapJournal
from tests.okx.swapdesk import order_hits, still_sim
from tests.sim.algo_desk import Desk
from tests.trading.botkit import runner, wait_for
from tests.trading.swapbot import SWAP_ID, exchange_position, futures_key, swap_config

pytestmark = pytest.mark.timeout(240)
D = Decimal


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with still_sim(seed=13) as running:
        yield running


_DESKS: dict[int, Desk] = {}


def move(sim: RunningSim, px: int) -> None:
    """The whole market at `px`: spot quoted around it (index = mark), the swap traded there and quoted."""
    if id(sim) not in _DESKS:
        _DESKS[id(sim)] = sim.call(lambda: Desk(sim.ctx.exchange))
    desk = _DESKS[id(sim)]
    sim.call(lambda: desk.move(px))


def trailing_algos(sim: RunningSim, key: dict[str, Any]) -> list[dict[str, Any]]:
    return sim.call(lambda: sim.ctx.exchange.algos_pending(key["uid"], {"ordType": "move_order_stop"}))


def config(tmp: Path) -> dict[str, Any]:
    # require_stop stays on (the default): the trailing stop is the order's exchange-side stop
    return swap_config(tmp, risk={"price_band_pct": "50"})


async def started(r: Runner) -> asyncio.Task[Any]:
    stop = asyncio.Event()
    task = asyncio.ensure_future(r.run(stop))
    task.stop = stop  # type: ignore[attr-defined]
    await wait_for(lambda: r.core is not None and r.core.swaps is not None and r.strategy is not None, 30)
    return task


async def stopped(task: asyncio.Task[Any]) -> Any:
    task.stop.set()  # type: ignore[attr-defined]
    return await task


def the_trailing(journal: SwapJournal) -> JournalAlgo:
    [algo] = [a for a in journal.algos() if a.kind == "trailing"]
    return algo


def test_a_long_with_a_trailing_stop_is_closed_by_the_exchange_when_the_price_falls_back(
    sim: RunningSim, tmp_path: Path
) -> None:
    key = futures_key(sim)
    move(sim, 60000)
    r = runner(sim, key, config(tmp_path), tmp_path)

    async def go() -> None:
        task = await started(r)
        try:
            assert r.core is not None and r.strategy is not None and r.journal is not None
            ctx, manager = r.strategy.ctx, r.core.manager
            journal = SwapJournal(r.journal.engine, "perp")
            # refused with nothing sent: a ratio outside OKX's range, a percent given as a ratio, a limit entry
            before = order_hits(sim)
            assert await ctx.place("buy", D(2), trailing=D("0.0001")) is None
            assert await ctx.place("buy", D(2), trailing=D(2)) is None
            assert "for 2 % give 0.02" in manager.stats.errors[-1]
            assert await ctx.place("buy", D(2), D(59000), trailing=D("0.02")) is None
            assert "market entry" in manager.stats.errors[-1]
            assert await ctx.place("buy", D(2)) is None  # require_stop: no stop at all
            assert order_hits(sim) == before and journal.algos() == []

            entry = await ctx.place("buy", D(2), trailing=TrailingSpec(callback_ratio=D("0.02")))
            assert entry is not None, manager.stats.errors
            await wait_for(lambda: len(trailing_algos(sim, key)) == 1, 30)
            [live] = trailing_algos(sim, key)
            algo = the_trailing(journal)
            assert algo.entry_client_order_id == entry.client_order_id  # the journal links it to its entry
            assert live["algoClOrdId"] == algo.algo_client_id  # placed under the id journaled first
            assert (live["side"], live["sz"], live["reduceOnly"], live["callbackRatio"]) == (
                "sell", "2", "true", "0.02",
            )  # fmt: skip
            await wait_for(lambda: (journal.algo(algo.algo_client_id) or algo).state == "live", 30)
            assert exchange_position(sim, key) == 2
            move(sim, 63000)  # the stop follows the high: 63000 x 0.98 = 61740
            move(sim, 61800)
            assert exchange_position(sim, key) == 2 and len(trailing_algos(sim, key)) == 1
            move(sim, 61700)  # through the callback: the exchange closes the position
            assert exchange_position(sim, key) == 0 and trailing_algos(sim, key) == []
            await wait_for(lambda: (journal.algo(algo.algo_client_id) or algo).state == "effective", 30)
            await wait_for(lambda: r.core is not None and r.core.swaps is not None
                           and r.core.swaps.position() == 0, 30)  # fmt: skip
        finally:
            summary = await stopped(task)
        assert summary.reconciled

    asyncio.run(go())


def test_a_restart_places_a_trailing_stop_never_sent_and_adopts_one_that_was(
    sim: RunningSim, tmp_path: Path
) -> None:
    key = futures_key(sim)
    move(sim, 60000)
    cfg = config(tmp_path)

    async def first_run_dies_before_the_stop_is_sent() -> str:
        r = runner(sim, key, cfg, tmp_path)
        task = await started(r)
        try:
            assert r.core is not None and r.core.swaps is not None and r.strategy is not None
            keeper = r.core.swaps.algos

            async def killed(*_: Any) -> None:  # the process dies between the entry's fill and the stop
                return None

            keeper.place_trailing = killed  # type: ignore[method-assign]
            entry = await r.strategy.ctx.place("buy", D(3), trailing=D("0.05"))
            assert entry is not None, r.core.manager.stats.errors
            await wait_for(lambda: exchange_position(sim, key) == 3, 30)
            await wait_for(lambda: r.core is not None and r.core.swaps is not None
                           and r.core.swaps.position() == 3, 30)  # fmt: skip
        finally:
            await stopped(task)
        assert trailing_algos(sim, key) == []
        return entry.client_order_id

    entry_id = asyncio.run(first_run_dies_before_the_stop_is_sent())

    async def restart() -> dict[str, int]:
        r = runner(sim, key, cfg, tmp_path)
        task = await started(r)
        await stopped(task)
        return r.reconciliation

    done = asyncio.run(restart())
    assert done["algos_placed"] == 1, done
    [live] = trailing_algos(sim, key)
    journal_db = tmp_path / "journal.sqlite"
    with sqlite3.connect(journal_db) as conn:
        [(algo_id, entry, state, size)] = conn.execute(
            "SELECT algo_client_id, entry_client_order_id, state, size FROM swap_algos WHERE kind = 'trailing'"
        ).fetchall()
    assert (live["algoClOrdId"], live["sz"], live["callbackRatio"]) == (algo_id, "3", "0.05")
    assert (entry, state, size) == (entry_id, "live", "3")

    # a crash after the send, before its answer was journaled: the restart finds it by algoClOrdId
    with sqlite3.connect(journal_db) as conn:
        conn.execute("UPDATE swap_algos SET state = 'expected', algo_id = NULL WHERE kind = 'trailing'")
        conn.execute("UPDATE swap_trailing SET sent_ms = 0")
    done = asyncio.run(restart())
    assert done["algos_adopted"] == 1 and done["algos_placed"] == 0, done
    # nothing sent twice: the one trailing stop the account ever had is still the live one
    assert [a["algoId"] for a in trailing_algos(sim, key)] == [live["algoId"]]
    for state in ("effective", "canceled", "order_failed"):
        assert sim.call(
            lambda s=state: sim.ctx.exchange.algos_history(key["uid"], {"ordType": "move_order_stop", "state": s})
        ) == []  # fmt: skip
    with sqlite3.connect(journal_db) as conn:
        assert conn.execute("SELECT state, algo_id FROM swap_algos WHERE kind = 'trailing'").fetchall() == [
            ("live", live["algoId"])
        ]
    assert SWAP_ID


def test_a_partly_filled_entry_is_trailed_for_its_fill_and_a_closed_position_loses_its_trailing_stop(
    sim: RunningSim, tmp_path: Path
) -> None:
    key = futures_key(sim)
    move(sim, 60000)
    desk = _DESKS[id(sim)]
    sim.call(lambda: desk.quote(SWAP_ID, 60000, sz="1"))  # only 1 contract offered: a market buy of 3 fills 1
    r = runner(sim, key, config(tmp_path), tmp_path)

    async def go() -> None:
        task = await started(r)
        try:
            assert r.core is not None and r.strategy is not None and r.journal is not None
            ctx = r.strategy.ctx
            journal = SwapJournal(r.journal.engine, "perp")
            entry = await ctx.place("buy", D(3), trailing=D("0.01"))
            assert entry is not None, r.core.manager.stats.errors
            await wait_for(lambda: len(trailing_algos(sim, key)) == 1, 30)
            [live] = trailing_algos(sim, key)
            assert exchange_position(sim, key) == 1 and live["sz"] == "1"  # the filled part, not the order
            order = r.core.manager.journal.order(entry.client_order_id)
            assert order is not None and order.filled == 1 and order.state == "canceled"
            sim.call(lambda: desk.quote(SWAP_ID, 60000))
            # the bot closes the position: its trailing stop protects nothing now and is canceled
            assert (await ctx.close_position())[0] is not None
            await wait_for(lambda: exchange_position(sim, key) == 0, 30)
            await wait_for(lambda: trailing_algos(sim, key) == [], 30)
            assert the_trailing(journal).state == "canceled"
        finally:
            summary = await stopped(task)
        assert summary.reconciled

    asyncio.run(go())


def test_a_trailing_stop_okx_refuses_leaves_no_unprotected_position(sim: RunningSim, tmp_path: Path) -> None:
    key = futures_key(sim)
    move(sim, 60000)
    r = runner(sim, key, config(tmp_path), tmp_path)

    async def go() -> None:
        task = await started(r)
        try:
            assert r.core is not None and r.strategy is not None and r.journal is not None
            journal = SwapJournal(r.journal.engine, "perp")
            # within okxbot's range, above the simulator's harsher cap (51257): the entry fills, the stop is
            # refused, and the position it should have protected is closed
            entry = await r.strategy.ctx.place("buy", D(2), trailing=D("0.5"))
            assert entry is not None, r.core.manager.stats.errors
            await wait_for(lambda: the_trailing(journal).state == "not_created", 30)
            assert the_trailing(journal).note.startswith("51257")
            await wait_for(lambda: exchange_position(sim, key) == 0, 30)
            assert any("trailing stop refused" in e for e in r.core.manager.stats.errors)
            assert trailing_algos(sim, key) == []
        finally:
            summary = await stopped(task)
        assert summary.reconciled

    asyncio.run(go())
