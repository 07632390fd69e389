"""A swap bot's algo orders on a still simulator (prices move only by trading): an entry canceled after a
partial fill leaves a position without the attached stop (OKX creates it only on a full fill): the bot
finds it missing and places a replacement; a stop whose position the bot closed is canceled (orphan)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from okxbot.sim.server import RunningSim
from okxbot.trading.swap_journal import SwapJournal
from tests.okx.simkit import client
from tests.okx.swapdesk import Desk, still_sim
from tests.okx.swapdesk import futures_key as desk_key
from tests.trading.botkit import runner, wait_for
from tests.trading.swapbot import SWAP, SWAP_ID, exchange_position, futures_key, live_algos, swap_config


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with still_sim(seed=11) as running:
        yield running


def test_a_partially_filled_entry_gets_a_replacement_stop_and_a_closed_position_loses_its_stop(
    sim: RunningSim, tmp_path: Path
) -> None:
    key = futures_key(sim)
    r = runner(sim, key, swap_config(tmp_path, risk={"price_band_pct": "50"}), tmp_path)

    async def go() -> None:
        async with client(
            sim, desk_key(sim, {"USDT": "100000000", "BTC": "10000"}), tmp_path / "maker"
        ) as maker:
            desk = Desk(sim, maker)
            px = await desk.mark(SWAP)
            stop = asyncio.Event()
            task = asyncio.ensure_future(r.run(stop))
            try:
                await wait_for(
                    lambda: r.core is not None and r.core.swaps is not None and r.strategy is not None, 20
                )
                assert r.core is not None and r.core.swaps is not None and r.journal is not None
                swaps, manager = r.core.swaps, r.core.manager
                journal = SwapJournal(r.journal.engine, "perp")
                await desk.rest(SWAP, "sell", "1", str(px))  # only 1 of the 3 contracts can fill
                entry = await swaps.place(
                    "buy", Decimal("3"), px, stop_loss=(px * Decimal("0.95")).quantize(Decimal("0.1"))
                )
                assert entry is not None, manager.stats.errors
                await wait_for(lambda: exchange_position(sim, key) == 1, 15)
                assert await manager.cancel(entry.client_order_id)
                await wait_for(
                    lambda: (manager.journal.order(entry.client_order_id) or entry).state == "canceled", 15
                )
                # OKX created no stop (the entry never filled in full): the bot sees it missing, replaces it
                attached = journal.algos()[0]
                await wait_for(
                    lambda: (journal.algo(attached.algo_client_id) or attached).state == "missing", 15
                )
                await wait_for(lambda: len(live_algos(sim, key)) == 1, 15)
                replacement = live_algos(sim, key)[0]
                assert replacement["sz"] == "1" and Decimal(replacement["slTriggerPx"]) == attached.stop_loss
                assert replacement["reduceOnly"] == "true"
                assert journal.algo(replacement["algoClOrdId"]).kind == "standalone"  # type: ignore[union-attr]
                # the bot closes the position: its stop is now an orphan and is canceled
                await desk.rest(SWAP, "buy", "1", str(px))
                assert (await swaps.close_position())[0] is not None
                await wait_for(lambda: exchange_position(sim, key) == 0, 15)
                await wait_for(lambda: live_algos(sim, key) == [], 15)
                assert journal.algo(replacement["algoClOrdId"]).state == "canceled"  # type: ignore[union-attr]
            finally:
                stop.set()
            summary = await task
            assert summary.reconciled

    asyncio.run(go())
    assert SWAP_ID
