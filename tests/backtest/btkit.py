"""Running backtests in tests: stored candles from rows, user strategies from source, one call."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from okxbot.backtest.result import BacktestResult
from okxbot.backtest.run import BacktestRequest, run_backtest
from okxbot.backtest.settings import BacktestSettings
from okxbot.trading.config import BotConfig
from tests.backtest.histkit import MINUTE, T0, write_candles

TICK = 10  # 0.1 USDT is one tick; prices below are in whole USDT


def candles(tmp: Path, rows: list[tuple[float, float, float, float, float]], start_ms: int = T0) -> None:
    """Store 1m candles (open, high, low, close in USDT, volume in BTC), one a minute from start."""
    o, h, low, c, v = (
        np.array([round(r[i] * (TICK if i < 4 else 1e8)) for r in rows], dtype=np.int64) for i in range(5)
    )
    write_candles(tmp, {"open": o, "high": h, "low": low, "close": c, "vol": v}, start_ms)


def flat(n: int, px: float = 60_000, vol: float = 4) -> list[tuple[float, float, float, float, float]]:
    return [(px, px, px, px, vol)] * n


def strategy_file(tmp: Path, source: str) -> str:
    path = tmp / "probe.py"
    path.write_text(textwrap.dedent(source))
    return path.name


def backtest(
    tmp: Path,
    config: dict[str, Any],
    minutes: int,
    *,
    start_ms: int = T0,
    fast: bool = True,
    trades: bool = False,
    **settings: Any,
) -> BacktestResult:
    config = {"name": "bt", "symbol": "BTC/USDT", **config}
    settings.setdefault("balances", {"USDT": "100000", "BTC": "1"})
    request = BacktestRequest(
        BotConfig.model_validate(config),
        tmp / "bot.toml",
        start_ms,
        start_ms + minutes * MINUTE,
        BacktestSettings.model_validate(settings),
        data_dir=tmp,
        fast=fast,
        trades=trades,
    )
    return run_backtest(request)


__all__ = ["MINUTE", "T0", "backtest", "candles", "flat", "strategy_file"]
