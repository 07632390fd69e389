"""Swap bot configs: the example loads with safe defaults; mistakes are refused with what to fix."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from okxbot.trading.config import ConfigError, load_config, parse_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_perp_example_loads_with_its_swap_settings() -> None:
    config = load_config(EXAMPLES / "perp.toml")
    assert config.is_swap and config.quote == "USDT" and config.base == "BTC"
    assert config.swap is not None and config.swap.trigger_price_type == "mark"
    assert config.ma_cross_perp is not None and config.ma_cross_perp.stop_atr == Decimal("2")
    assert config.risk.require_stop


def test_a_swap_symbol_gets_safe_defaults() -> None:
    config = parse_config('name = "p"\nsymbol = "ETH/USDT:USDT"\nstrategy = "mine.py"\n')
    assert config.swap is not None and config.swap.margin_mode == "cross" and config.swap.leverage is None
    r = config.risk
    assert r.require_stop and r.max_leverage == 5 and r.min_liquidation_distance_pct == 10
    assert r.max_position_notional == 10000 and r.max_funding_per_day == 20


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('symbol = "BTC/USDT:USDT"\nstrategy = "grid"\n[grid]\nlower="1"\nupper="2"\nlevels=2\nsize="1"\n',
         "trades spot"),
        ('symbol = "BTC/USDT"\nstrategy = "ma_cross_perp"\n[ma_cross_perp]\nfast=2\nslow=3\nsize="1"\n',
         "give a swap symbol such as BTC/USDT:USDT"),
        ('symbol = "BTC/USDT"\nstrategy = "x.py"\n[swap]\nmargin_mode = "cross"\n', "perpetual swaps only"),
        ('symbol = "BTC/USDT:USDT"\nstrategy = "x.py"\n[swap]\nmargin_mode = "portfolio"\n', "swap.margin_mode"),
        ('symbol = "BTC/USDT:USDT"\nstrategy = "x.py"\n[risk]\nmin_liquidation_distance_pct = "100"\n',
         "min_liquidation_distance_pct"),
    ],
)  # fmt: skip
def test_swap_mistakes_are_refused(text: str, words: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config('name = "p"\n' + text)
    assert words in str(refused.value)


def test_backtest_refuses_a_swap_bot_clearly(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "okxbot", "--data-dir", str(tmp_path), "backtest", "run", str(EXAMPLES / "perp.toml"),
         "--from", "2024-01-01", "--to", "2024-01-02"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "perpetual swap" in done.stderr and "backtests run spot bots only" in done.stderr
    assert "Traceback" not in done.stderr
