"""Fast-forward changes nothing: over a few months, the fast run (quiet stretches jumped over,
on_candle called where it may act) and the full run (every price point, every hook) give the same
orders, fills, equity curve, balances and parity hash, for each built-in strategy."""

from __future__ import annotations

from pathlib import Path

import pytest

from okxbot.backtest.run import BacktestRequest, run_backtest
from okxbot.backtest.settings import BacktestSettings
from okxbot.trading.config import BotConfig
from tests.backtest.histkit import DAY, T0, walk, write_candles

DAYS = 75  # of 5m candles: 21,600 bars, 86,400 price points
CONFIGS = {
    "grid": {
        "grid": {"lower": "59800", "upper": "60800", "levels": 21, "size": "0.01"},
        "risk": {"daily_loss_limit": "400", "max_position": {"BTC": "3"}},
    },
    "ma_cross": {"ma_cross": {"fast": 5, "slow": 20, "bar": "15m", "size": "0.02"}},
    "dca": {"dca": {"quote_amount": "50", "interval_seconds": 6 * 3600, "max_price": "60500"}},
}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("history")
    write_candles(root, walk(DAYS * 288, seed=21, step=60), bar="5m")
    return root


@pytest.mark.parametrize("strategy", sorted(CONFIGS))
def test_fast_and_full_runs_are_identical(history: Path, strategy: str) -> None:
    config = BotConfig.model_validate(
        {"name": strategy, "symbol": "BTC/USDT", "strategy": strategy, **CONFIGS[strategy]}
    )
    settings = BacktestSettings(balances={"USDT": "50000", "BTC": "1"})

    def run(fast: bool):  # type: ignore[no-untyped-def]
        request = BacktestRequest(
            config, history / "bot.toml", T0, T0 + DAYS * DAY, settings, data_dir=history, bar="5m", fast=fast
        )
        return run_backtest(request)

    full, fast = run(False), run(True)
    assert len(full.fills) >= 10, "the comparison must cover trading"
    assert fast.parity_hash() == full.parity_hash()
    assert fast.orders == full.orders
    assert fast.fills == full.fills
    assert fast.equity == full.equity and len(full.equity) == DAYS * 288 + 1  # the start, then each close
    assert fast.final_balances == full.final_balances
    assert (fast.refused, fast.halted) == (full.refused, full.halted)
