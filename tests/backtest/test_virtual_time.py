"""The replay runs on the virtual clock: no okxbot code in its path reads a wall clock, and nothing
waits for real time (asyncio's real selector never waits; a strategy's own asyncio.sleep is virtual)."""

from __future__ import annotations

import asyncio
import selectors
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from okxbot.backtest.loop import VirtualLoop
from tests.backtest.btkit import MINUTE, T0, backtest, candles, strategy_file
from tests.backtest.histkit import walk, write_candles

CLOCKS = ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "sleep")

SLEEPER = """
import asyncio
from okxbot.trading.strategy import Strategy

class Sleeper(Strategy):
    timer_seconds = 600

    async def on_timer(self):
        before = self.ctx.now_ms()
        await asyncio.sleep(90)  # a strategy's own wait: 90 s of replayed time, no real time
        with open(self.params["out"], "a") as f:
            f.write(f"{before} {self.ctx.now_ms()}\\n")
"""

CHEATER = """
import time
from okxbot.trading.strategy import Strategy

class Cheater(Strategy):
    timer_seconds = 600

    async def on_timer(self):
        self.params["seen"] = time.monotonic()  # the wall clock: what the guard must catch
"""


@pytest.fixture
def wall_clock_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every read of a wall clock by okxbot code while the virtual loop runs, and every real wait."""
    seen: list[str] = []

    def guard(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def read(*args: Any, **kwargs: Any) -> Any:
            try:
                virtual = isinstance(asyncio.get_running_loop(), VirtualLoop)
            except RuntimeError:
                virtual = False
            caller = sys._getframe(1).f_globals.get("__name__", "?")
            if virtual and caller.startswith("okxbot"):
                seen.append(f"{caller} called time.{name}")
            return real(*args, **kwargs)

        return read

    for name in CLOCKS:
        monkeypatch.setattr(time, name, guard(name, getattr(time, name)))

    def real_wait(self: Any, timeout: float | None = None) -> Any:
        seen.append(f"a real selector waited ({timeout})")
        raise AssertionError("the replay waited for real time")

    for cls in {selectors.DefaultSelector, selectors.SelectSelector, selectors.PollSelector}:
        monkeypatch.setattr(cls, "select", real_wait)
    return seen


def test_the_replay_reads_no_wall_clock_and_never_waits(tmp_path: Path, wall_clock_reads: list[str]) -> None:
    write_candles(tmp_path, walk(3 * 1440, seed=3))
    for config in (
        {"strategy": "grid", "grid": {"lower": "59500", "upper": "60500", "levels": 11, "size": "0.01"}},
        {"strategy": "dca", "dca": {"quote_amount": "100", "interval_seconds": 3600}},
        {"strategy": "ma_cross", "ma_cross": {"fast": 5, "slow": 20, "size": "0.01"}},
    ):
        for fast in (True, False):
            result = backtest(tmp_path, config, 3 * 1440, fast=fast)
            assert result.fills, config["strategy"]
    out = tmp_path / "slept.txt"
    backtest(tmp_path, {"strategy": strategy_file(tmp_path, SLEEPER), "params": {"out": str(out)}}, 60)
    slept = [tuple(map(int, line.split())) for line in out.read_text().splitlines()]
    assert slept == [(T0 + k * 10 * MINUTE, T0 + k * 10 * MINUTE + 90_000) for k in range(1, 6)]
    assert wall_clock_reads == []


def test_the_guard_catches_a_strategy_reading_the_wall_clock(
    tmp_path: Path, wall_clock_reads: list[str]
) -> None:
    candles_dir = tmp_path
    write_candles(candles_dir, walk(60, seed=3))
    backtest(tmp_path, {"strategy": strategy_file(tmp_path, CHEATER)}, 60)
    assert wall_clock_reads and all(
        "okxbot_user_strategy_probe called time.monotonic" == r for r in wall_clock_reads
    )


__all__ = ["candles"]
