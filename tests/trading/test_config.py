"""Bot configs: the examples load; bad configs are refused with file, line and fix."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from okxbot.trading.config import ConfigError, check_instrument, load_config, parse_config
from okxbot.trading.strategy import StrategyLoadError, strategy_class

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

GOOD = """\
name = "g"
symbol = "BTC/USDT"
strategy = "grid"

[grid]
lower = "42000"
upper = "44000"
levels = 5
size = "0.001"

[risk]
max_order_notional = "100"
"""


@pytest.mark.parametrize("name", ["grid.toml", "dca.toml", "ma_cross.toml", "custom.toml"])
def test_every_example_config_is_valid(name: str) -> None:
    config = load_config(EXAMPLES / name)
    assert config.symbol == "BTC/USDT"
    assert strategy_class(config.strategy, EXAMPLES) is not None


def test_values_are_exact_decimals() -> None:
    config = parse_config(GOOD)
    assert config.grid is not None and config.grid.size == Decimal("0.001")
    assert config.risk.max_order_notional == Decimal("100")


def test_unknown_key_names_its_line_and_the_known_keys() -> None:
    text = GOOD.replace('size = "0.001"', 'size = "0.001"\nstep = 3')
    with pytest.raises(ConfigError) as err:
        parse_config(text, "bot.toml")
    assert err.value.line == 10
    assert "bot.toml:10: unknown key 'grid.step'" in str(err.value)
    assert "lower, upper, levels, size" in err.value.fix


def test_wrong_type_names_its_line() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(GOOD.replace("levels = 5", 'levels = "many"'), "bot.toml")
    assert err.value.line == 8
    assert "grid.levels" in str(err.value)


def test_lower_above_upper_is_refused_at_the_grid_table() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(GOOD.replace('lower = "42000"', 'lower = "45000"'), "bot.toml")
    assert err.value.line == 5  # the [grid] header
    assert "lower (45000) must be below upper (44000)" in str(err.value)


def test_size_below_the_instrument_minimum_is_refused_with_the_fix() -> None:
    text = GOOD.replace('size = "0.001"', 'size = "0.000001"')
    config = parse_config(text)
    with pytest.raises(ConfigError) as err:
        check_instrument(config, Decimal("0.00001"), "bot.toml", text)
    assert err.value.line == 9
    assert "at least 0.00001" in err.value.fix


def test_toml_syntax_error_has_a_line() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(GOOD.replace("levels = 5", "levels = "), "bot.toml")
    assert err.value.line == 8


def test_missing_strategy_table_and_bad_strategy_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"needs a \[dca\] table"):
        parse_config('name = "x"\nsymbol = "BTC/USDT"\nstrategy = "dca"\n')
    (tmp_path / "two.py").write_text(
        "from okxbot.trading.strategy import Strategy\nclass A(Strategy): ...\nclass B(Strategy): ...\n"
    )
    with pytest.raises(StrategyLoadError, match="exactly one"):
        strategy_class("two.py", tmp_path)
    with pytest.raises(StrategyLoadError, match="does not exist"):
        strategy_class("missing.py", tmp_path)
