"""Tick-to-order latency hooks: a sample per order a market message caused, timed at the socket."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from rich.console import Console

from okxbot.sim.server import RunningSim
from okxbot.trading.journal import JournalOrder
from okxbot.trading.latency import STAGES
from okxbot.trading.runner import Runner
from okxbot.trading.status import render
from tests.trading.botkit import mid, new_key, runner, wait_for


def resting(r: Runner) -> list[JournalOrder]:
    assert r.manager is not None
    return [o for o in r.manager.open_orders() if o.state == "live"]


def test_a_refill_caused_by_a_ticker_frame_is_timed_from_frame_arrival_to_bytes_written(
    sim: RunningSim, tmp_path: Path
) -> None:
    key = new_key(sim)
    px = mid(sim)
    step = (px * Decimal("0.004")).quantize(Decimal("0.1"))  # wide: the market does not fill it
    config = {
        "name": "latency-test",
        "symbol": "BTC/USDT",
        "strategy": "grid",
        "grid": {"lower": str(px - 3 * step), "upper": str(px + 3 * step), "levels": 7, "size": "0.001"},
        "run": {"dead_man": False, "poll_seconds": 30},
    }
    r = runner(sim, key, config, tmp_path)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(r.run(stop, 60))
        await wait_for(lambda: r.manager is not None and len(resting(r)) >= 6, 20)
        assert len(r.manager.latency) == 0  # the first quotes answer no market message
        outermost = min(resting(r), key=lambda o: o.price or px)
        await r.manager.cancel(outermost.client_order_id)
        # the next tickers push refills the level: that order is timed
        await wait_for(lambda: len(r.manager.latency) >= 1, 20)
        stop.set()
        await task

    asyncio.run(scenario())
    sample = r.manager.latency.samples[0]
    stages = sample.stages_ns
    assert len(stages) == len(STAGES)
    assert sum(stages) == sample.total_ns == sample.written_ns - sample.frame_ns
    assert all(stage >= 0 for stage in stages)
    # the frame came out of the socket before ccxt parsed it, and long before the order was written
    assert sample.frame_ns < sample.parsed_ns < sample.written_ns
    assert r.manager.latency.percentile_ms(0.5) == sample.total_ns / 1e6
    # the live status view shows these samples, not a figure of its own
    console = Console(record=True, width=200)
    console.print(render(r, []))
    assert f"median {sample.total_ns / 1e6:.2f} ms" in console.export_text()
