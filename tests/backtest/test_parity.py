"""Parity, proven: a bot trades live on the simulator (real REST and WebSocket) while the simulator
records its market; a backtest of the same strategy and config on that recording makes the very
same orders (side, type, price, amount, in order) and fills (side, price, size, fee, in order):
`okxbot run`'s summary hash equals `BacktestResult.parity_hash()`. One test per built-in strategy.
How the session is recorded (lockstep) and why: tests/backtest/parity_kit.py, README "Backtests".
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from okxbot.backtest.result import BacktestResult
from okxbot.backtest.run import BacktestRequest, run_backtest
from okxbot.backtest.settings import BacktestSettings
from okxbot.sim.server import RunningSim
from okxbot.trading.config import BotConfig
from tests.backtest import parity_kit as kit

RUN = {"dead_man": False, "poll_seconds": 0.2, "cancel_on_stop": True}
RISK = {"max_open_orders": 100, "max_orders_per_minute": 1000, "max_order_notional": "100000"}


def fair(sim: RunningSim) -> Decimal:
    return Decimal(str(sim.call(lambda: sim.ctx.market.fair_price(kit.INST))))


def backtest(session: kit.Session, config: dict[str, Any], tmp_path: Path) -> BacktestResult:
    assert session.recording is not None
    settings = BacktestSettings(balances=dict(kit.BALANCES), latency_ms=1)
    request = BacktestRequest(
        BotConfig.model_validate(config),
        tmp_path / "bot.toml",
        session.start_ms,
        session.stop_ms,
        settings,
        recording=session.recording,
    )
    return run_backtest(request)


def record(tmp_path: Path, config: Any, script: Any) -> tuple[kit.Session, dict[str, Any]]:
    sim = kit.parity_sim()
    try:
        cfg = config(sim)

        async def go() -> kit.Session:
            session, stop, task = await kit.start(tmp_path, sim, cfg)
            await script(session)
            await kit.finish(session, stop, task, tmp_path)
            return session

        return asyncio.run(go()), cfg
    finally:
        sim.stop()


def test_grid_backtest_matches_the_live_session(tmp_path: Path) -> None:
    def config(sim: RunningSim) -> dict[str, Any]:
        px = fair(sim)
        step = (px * Decimal("0.0004")).quantize(Decimal("0.1"))
        return {
            "name": "grid-parity",
            "symbol": "BTC/USDT",
            "strategy": "grid",
            "grid": {"lower": str(px - 4 * step), "upper": str(px + 4 * step), "levels": 9, "size": "0.001"},
            "risk": RISK,
            "run": RUN,
        }

    async def script(session: kit.Session) -> None:
        for i in range(60):
            if i % 15 == 14:
                await kit.step(session, move_pct="-0.09" if i < 30 else "0.1")
            else:
                await kit.step(session)

    session, cfg = record(tmp_path, config, script)
    result = backtest(session, cfg, tmp_path)
    assert len(result.fills) >= 3, "the session must fill orders for the comparison to mean anything"
    assert len(result.orders) >= 10
    assert result.parity_hash() == session.live_hash


def test_dca_backtest_matches_the_live_session(tmp_path: Path) -> None:
    period_ms = 1000

    def config(sim: RunningSim) -> dict[str, Any]:
        return {
            "name": "dca-parity",
            "symbol": "BTC/USDT",
            "strategy": "dca",
            "dca": {"quote_amount": "150", "interval_seconds": period_ms / 1000},
            "risk": RISK,
            "run": RUN,
        }

    async def script(session: kit.Session) -> None:
        # the backtest starts when the live bot's timer did (its first mark is then the same)
        await kit.wait_quiet(session, also=lambda: session.runner.first_timer_ms is not None)
        first = session.runner.first_timer_ms
        assert first is not None
        session.start_ms = max(session.start_ms, first - period_ms + 1)
        strategy: Any = session.runner.strategy
        for n in range(1, 7):
            # the timer's buy first (handled and settled), then the market moves between two marks
            await kit.wait_quiet(session, also=lambda n=n: strategy.buys >= n)
            for i in range(3):
                now = kit.now_ms(session.sim)
                if period_ms - now % period_ms < 250:
                    break  # too near the next mark: the market waits for the timer
                await kit.step(session, move_pct="0.03" if i == 2 else None)

    session, cfg = record(tmp_path, config, script)
    result = backtest(session, cfg, tmp_path)
    assert len(result.fills) >= 6 and {o.order_type for o in result.orders} == {"market"}
    assert len({f.price for f in result.fills}) > 1, "the market must move between the buys"
    assert result.parity_hash() == session.live_hash


def test_ma_cross_backtest_matches_the_live_session(tmp_path: Path) -> None:
    def config(sim: RunningSim) -> dict[str, Any]:
        return {
            "name": "ma-parity",
            "symbol": "BTC/USDT",
            "strategy": "ma_cross",
            "ma_cross": {"fast": 1, "slow": 2, "bar": "1m", "size": "0.002"},
            "risk": RISK,
            "run": RUN,
        }

    async def script(session: kit.Session) -> None:
        # a minute in a few seconds: the market trades, then the clock jumps past the minute's end
        # and the bot polls the candle that closed (its on_candle may buy or sell)
        for minute in range(10):
            up = minute % 4 < 2  # two minutes up, two down: the averages cross every other minute
            for i in range(4):
                await kit.step(session, move_pct=("0.08" if up else "-0.08") if i == 1 else None)
            await kit.jump_clock(session)

    session, cfg = record(tmp_path, config, script)
    result = backtest(session, cfg, tmp_path)
    assert len(result.orders) >= 3 and {o.side for o in result.orders} == {"buy", "sell"}
    assert result.parity_hash() == session.live_hash
