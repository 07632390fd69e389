"""Each built-in strategy trades on the simulator; its orders and fills match the journal exactly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from okxbot.sim.server import RunningSim
from okxbot.trading.journal import Journal
from okxbot.trading.runner import Runner
from tests.trading.botkit import client, exchange_orders, mid, new_key, runner, wait_for

RUN = {"dead_man_seconds": 10, "poll_seconds": 0.5}


def assert_journal_matches_exchange(sim: RunningSim, key: dict[str, Any], r: Runner) -> None:
    journal = Journal(r.config.run.journal_url or f"sqlite:///{r.data_dir / 'journal.sqlite'}", r.config.name)
    ours = {o.client_order_id: o for o in journal.orders()}
    on_exchange = exchange_orders(sim, key)
    assert set(on_exchange) == {cid for cid, o in ours.items() if o.state != "rejected"}
    for cid, wire in on_exchange.items():
        state = {"mmp_canceled": "canceled"}.get(wire["state"], wire["state"])
        assert ours[cid].state == state, cid
        assert ours[cid].filled == Decimal(wire["accFillSz"]), cid
        assert ours[cid].order_id == wire["ordId"]
    assert all(o["state"] not in ("live", "partially_filled") for o in on_exchange.values())
    fills = asyncio.run(_exchange_fills(sim, key))
    journal_fills = {(f.trade_id, f.client_order_id, f.size, f.price) for f in journal.fills()}
    assert journal_fills == fills
    journal.close()


async def _exchange_fills(sim: RunningSim, key: dict[str, Any]) -> set[tuple[str, str, Decimal, Decimal]]:
    async with client(sim, key) as c:
        return {(f.trade_id, f.client_order_id, f.size, f.price) for f in await c.fetch_fills("BTC/USDT")}


async def _run(
    r: Runner, moves: list[tuple[Callable[[], bool], str]], sim: RunningSim, until: Any = None
) -> Any:
    """Run the bot; each price move waits until the bot shows it is ready for it (`ready`)."""
    stop = asyncio.Event()
    task = asyncio.ensure_future(r.run(stop, 60))
    await wait_for(lambda: r.strategy is not None, 20)
    for ready, pct in moves:
        await wait_for(ready, 20)
        sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "movePct": pct})
    if until is not None:
        await wait_for(until, 15)
    stop.set()
    return await task


def test_grid_quotes_refills_and_matches_the_journal(sim: RunningSim, tmp_path: Path) -> None:
    key = new_key(sim)
    px = mid(sim)
    step = (px * Decimal("0.002")).quantize(Decimal("0.1"))
    config = {
        "name": "grid-test",
        "symbol": "BTC/USDT",
        "strategy": "grid",
        "grid": {"lower": str(px - 3 * step), "upper": str(px + 3 * step), "levels": 7, "size": "0.001"},
        "run": RUN,
    }
    r = runner(sim, key, config, tmp_path)

    # once the six levels are quoted, push the price through the buy levels, then, once two of them
    # filled, back up through the sells they re-quote
    def quoted() -> bool:
        return r.manager.stats.placed >= 6

    def bought() -> bool:
        return r.manager.stats.fills >= 2

    summary = asyncio.run(
        _run(r, [(quoted, "-0.7"), (bought, "+0.9")], sim, until=lambda: r.manager.stats.fills >= 3)
    )
    assert summary.fills >= 3
    assert summary.orders_placed >= 7  # six levels quoted, then at least one re-quote on a fill
    assert summary.open_orders_left == 0 and summary.reconciled
    assert_journal_matches_exchange(sim, key, r)


def test_dca_buys_every_interval_below_the_ceiling(sim: RunningSim, tmp_path: Path) -> None:
    key = new_key(sim)
    config = {
        "name": "dca-test",
        "symbol": "BTC/USDT",
        "strategy": "dca",
        "dca": {"quote_amount": "50", "interval_seconds": 0.5, "max_price": str(mid(sim) * 2)},
        "run": RUN,
    }
    r = runner(sim, key, config, tmp_path)
    summary = asyncio.run(_run(r, [], sim, until=lambda: r.manager.stats.fills >= 3))
    assert summary.orders_placed >= 3 and summary.fills >= 3
    assert summary.reconciled
    assert_journal_matches_exchange(sim, key, r)
    buys = [f for f in r.manager.fills()]
    assert all(f.side == "buy" for f in buys)
    assert all(f.size * f.price <= Decimal("50.5") for f in buys)  # bought at the ask, sized at the mid


def test_dca_skips_buys_above_the_ceiling(sim: RunningSim, tmp_path: Path) -> None:
    key = new_key(sim)
    config = {
        "name": "dca-ceiling",
        "symbol": "BTC/USDT",
        "strategy": "dca",
        "dca": {"quote_amount": "50", "interval_seconds": 0.3, "max_price": str(mid(sim) / 2)},
        "run": RUN,
    }
    r = runner(sim, key, config, tmp_path)
    summary = asyncio.run(_run(r, [], sim, until=lambda: r.strategy.skipped >= 3))  # type: ignore[union-attr]
    assert summary.orders_placed == 0


def test_ma_cross_buys_on_the_cross_up_and_sells_on_the_cross_down(sim: RunningSim, tmp_path: Path) -> None:
    key = new_key(sim)
    config = {
        "name": "ma-test",
        "symbol": "BTC/USDT",
        "strategy": "ma_cross",
        "ma_cross": {"fast": 1, "slow": 3, "size": "0.001", "use_forming_bar": True},
        "run": RUN,
    }
    r = runner(sim, key, config, tmp_path)

    # once the baseline is set: down (crosses down with nothing to sell), then a sharp rise (cross up:
    # buy), then once bought a sharp fall (cross down: sell)
    def trend() -> str | None:
        return getattr(r.strategy, "trend", None)

    summary = asyncio.run(
        _run(
            r,
            [
                (lambda: trend() is not None, "-2"),
                (lambda: trend() == "down", "+4"),
                (lambda: any(f.side == "buy" for f in r.manager.fills()), "-4"),
            ],
            sim,
            until=lambda: sum(1 for f in r.manager.fills() if f.side == "sell") >= 1,
        )
    )
    sides = [f.side for f in r.manager.fills()]
    assert sides[:1] == ["buy"] and "sell" in sides
    assert summary.reconciled
    assert_journal_matches_exchange(sim, key, r)


def test_a_user_strategy_file_trades_through_the_guard(sim: RunningSim, tmp_path: Path) -> None:
    key = new_key(sim)
    examples = Path(__file__).resolve().parents[2] / "examples"
    config = {
        "name": "user",
        "symbol": "BTC/USDT",
        "strategy": "my_strategy.py",
        "params": {"offset_pct": "1", "size": "0.001"},
        "run": RUN,
    }
    r = runner(sim, key, config, tmp_path)
    r.config_path = examples / "custom.toml"  # the strategy file is found next to the config
    summary = asyncio.run(_run(r, [], sim, until=lambda: r.manager.stats.placed >= 1))
    assert summary.orders_placed == 1  # one bid, kept: the strategy sees its own open order
    assert_journal_matches_exchange(sim, key, r)
