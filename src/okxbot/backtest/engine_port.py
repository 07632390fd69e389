"""The one function `okxbot optimize` needs from the backtest engine, and the evaluator built on it.

`optimize` never imports the engine elsewhere: a trial is `evaluate(config, start_ms, end_ms,
config_path)` -> the report's metrics of that backtest.
"""

from __future__ import annotations

from typing import Any

from okxbot.backtest.result import BacktestResult
from okxbot.trading.config import BotConfig


def backtest(config: BotConfig, start_ms: int, end_ms: int, config_path: str | None = None) -> BacktestResult:
    """Backtest `config` on [start_ms, end_ms) with the engine (okxbot.backtest.engine)."""
    from okxbot.backtest.engine import run_backtest

    return run_backtest(config, start_ms, end_ms, config_path=config_path)


def evaluate(config: BotConfig, start_ms: int, end_ms: int, config_path: str | None = None) -> dict[str, Any]:
    """The metrics (okxbot.backtest.metrics) of one backtest: what a trial scores."""
    from okxbot.backtest.metrics import metrics

    return metrics(backtest(config, start_ms, end_ms, config_path))
