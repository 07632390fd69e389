"""The one function `okxbot optimize` needs from the backtest engine, and the evaluator built on it.

`optimize` never imports the engine elsewhere: a trial is `evaluate(config, start_ms, end_ms,
config_path)` -> the report's metrics of that backtest. Trials use the config's own `[backtest]`
table (balances, fees, latency, fill model) and the history store of OKXBOT_HOME.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from okxbot.backtest.result import BacktestResult
from okxbot.trading.config import BotConfig


def backtest(config: BotConfig, start_ms: int, end_ms: int, config_path: str | None = None) -> BacktestResult:
    """Backtest `config` on [start_ms, end_ms) with the engine (okxbot.backtest.run)."""
    from okxbot.backtest.run import BacktestRequest, run_backtest
    from okxbot.backtest.settings import settings_for

    path = Path(config_path) if config_path else Path("config.toml")
    settings = settings_for(config, path=str(path))
    return run_backtest(BacktestRequest(config, path, start_ms, end_ms, settings))


def evaluate(config: BotConfig, start_ms: int, end_ms: int, config_path: str | None = None) -> dict[str, Any]:
    """The metrics (okxbot.backtest.metrics) of one backtest: what a trial scores."""
    from okxbot.backtest.metrics import metrics

    return metrics(backtest(config, start_ms, end_ms, config_path))
