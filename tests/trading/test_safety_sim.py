"""Safety on the simulator: foreign orders, clean stop, daily loss halt."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from okxbot.sim.server import RunningSim
from tests.trading.botkit import client, exchange_orders, mid, new_key, runner, wait_for

RUN = {"dead_man_seconds": 10, "poll_seconds": 0.5}


def grid(px: Decimal, **run: object) -> dict[str, object]:
    step = (px * Decimal("0.003")).quantize(Decimal("0.1"))
    return {
        "name": "safety-grid",
        "symbol": "BTC/USDT",
        "strategy": "grid",
        "grid": {"lower": str(px - 2 * step), "upper": str(px + 2 * step), "levels": 5, "size": "0.001"},
        "run": RUN | run,
    }


def test_foreign_orders_are_flagged_at_start_and_while_running_and_left_alone(
    sim: RunningSim, tmp_path: Path
) -> None:
    key = new_key(sim)
    px = mid(sim)

    async def scenario() -> None:
        async with client(sim, key) as other:  # "another program" on the same key
            before = await other.create_order(
                "BTC/USDT", "buy", Decimal("0.001"), (px * Decimal("0.9")).quantize(Decimal("0.1"))
            )
            r = runner(sim, key, grid(px), tmp_path)
            stop = asyncio.Event()
            task = asyncio.ensure_future(r.run(stop, 60))
            await wait_for(lambda: r.manager is not None and r.strategy is not None, 20)
            assert before.order_id in r.manager.foreign  # flagged by the reconciliation at start
            during = await other.create_order(
                "BTC/USDT", "sell", Decimal("0.001"), (px * Decimal("1.1")).quantize(Decimal("0.1"))
            )
            await wait_for(lambda: during.order_id in r.manager.foreign, 10)
            stop.set()
            summary = await task
            assert summary.foreign_orders == 2
            open_ids = {o.order_id for o in await other.fetch_open_orders("BTC/USDT")}
            assert open_ids == {before.order_id, during.order_id}  # left alone; the bot's own are gone
            log_lines = [e for e in r.manager.stats.errors if "foreign order" in e]
            assert log_lines

    asyncio.run(scenario())


def test_stop_leaves_no_open_orders(sim: RunningSim, tmp_path: Path) -> None:
    key = new_key(sim)
    r = runner(sim, key, grid(mid(sim)), tmp_path)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(r.run(stop, 60))
        await wait_for(lambda: r.manager is not None and len(r.manager.open_orders()) >= 4, 20)
        stop.set()
        summary = await task
        assert summary.open_orders_left == 0 and summary.reconciled

    asyncio.run(scenario())
    assert all(o["state"] not in ("live", "partially_filled") for o in exchange_orders(sim, key).values())


def test_stop_can_leave_orders_open_when_configured(sim: RunningSim, tmp_path: Path) -> None:
    key = new_key(sim)
    r = runner(sim, key, grid(mid(sim), cancel_on_stop=False), tmp_path)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(r.run(stop, 60))
        await wait_for(lambda: r.manager is not None and len(r.manager.open_orders()) >= 4, 20)
        stop.set()
        summary = await task
        assert summary.open_orders_left >= 4
        assert not r.dead_man_armed  # disarmed: the switch must not cancel what the user keeps

    asyncio.run(scenario())
    assert sum(o["state"] == "live" for o in exchange_orders(sim, key).values()) >= 4


def test_daily_loss_limit_halts_the_bot(sim: RunningSim, tmp_path: Path) -> None:
    key = new_key(sim)
    config = {
        "name": "loss",
        "symbol": "BTC/USDT",
        "strategy": "dca",
        "dca": {"quote_amount": "100", "interval_seconds": 0.3},
        "risk": {"daily_loss_limit": "1"},
        "run": RUN,
    }
    r = runner(sim, key, config, tmp_path)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(r.run(stop, 60))
        await wait_for(lambda: r.manager is not None and r.manager.stats.fills >= 1, 20)
        sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "movePct": "-5"})  # the holding loses
        await wait_for(lambda: r.manager.risk.halted is not None and r.manager.stats.refused >= 1, 20)
        stop.set()
        summary = await task
        assert summary.halted and "daily_loss_limit 1" in summary.halted
        assert summary.pnl <= Decimal("-1")

    asyncio.run(scenario())
