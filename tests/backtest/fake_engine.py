"""A deterministic stand-in for a backtest's metrics, for the tests about optimize's machinery only
(parsing, storage, workers, windows): the engine's own end-to-end run is tested apart.

Its Sharpe peaks at grid.levels = 12 + (days since 2024-01-01 at the window start) // 30 and
grid.lower = 60300, so the best settings differ between walk-forward windows and an out-of-sample
score differs from the in-sample one. levels = 29 gives n/a (as a run with no trade would).
"""

from __future__ import annotations

import os
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from okxbot.backtest.metrics import BY_KEY
from okxbot.trading.config import BotConfig

T0 = 1_704_067_200_000  # 2024-01-01
DAY = 86_400_000
CALLS: list[tuple[int, Decimal, int, int]] = []  # (levels, lower, start, end), this process


def optimum(start_ms: int) -> int:
    return 12 + (start_ms - T0) // DAY // 30


def evaluate(config: BotConfig, start_ms: int, end_ms: int, config_path: str | None = None) -> dict[str, Any]:
    assert config.grid is not None
    levels, lower = config.grid.levels, config.grid.lower
    CALLS.append((levels, lower, start_ms, end_ms))
    _barrier()
    values: dict[str, Any] = dict.fromkeys(BY_KEY)
    sharpe = 3.0 - (levels - optimum(start_ms)) ** 2 / 20 - float(abs(lower - Decimal(60300))) / 1000
    values.update(sharpe=None if levels == 29 else sharpe, total_return=sharpe / 100, trades=levels)
    values["max_drawdown"] = 0.05 + abs(levels - 12) / 100
    return values


def _barrier() -> None:
    """With OKXBOT_TEST_BARRIER=DIR: the first evaluation of each process waits (up to 120 s) until
    OKXBOT_TEST_BARRIER_N processes have started evaluating (OKXBOT_TEST_BARRIER_SKIP: a pid that
    does not take part), so every worker surely contributes."""
    folder = os.environ.get("OKXBOT_TEST_BARRIER")
    if not folder or getattr(_barrier, "passed", False):
        return
    if os.environ.get("OKXBOT_TEST_BARRIER_SKIP") == str(os.getpid()):
        return  # the process that only starts the workers (and scores the config as written)
    need = int(os.environ.get("OKXBOT_TEST_BARRIER_N", "2"))
    (Path(folder) / str(os.getpid())).touch()
    deadline = time.monotonic() + 120
    while len(list(Path(folder).iterdir())) < need:
        if time.monotonic() > deadline:
            raise TimeoutError("the other workers never started")
        time.sleep(0.05)  # polls the event (the other workers' files), bounded by the deadline
    _barrier.passed = True  # type: ignore[attr-defined]
