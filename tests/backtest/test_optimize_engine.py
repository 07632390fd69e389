"""Section 6 end to end: `okxbot optimize` on the real backtest engine (stored 1m candles, the bot's own
grid strategy through the simulator's matching engine), in-sample and out-of-sample scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from okxbot.backtest.engine_port import evaluate
from okxbot.backtest.search_space import apply
from okxbot.cli.main import app
from tests.backtest.histkit import DAY, T0, walk, write_candles

CONFIG = """name = "grid-e2e"
symbol = "BTC/USDT"
strategy = "grid"

[grid]
lower = "59800"
upper = "60200"
levels = 8
size = "0.001"

[backtest]
balances = { USDT = "5000", BTC = "0.05" }
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: Any) -> Path:
    monkeypatch.setenv("OKXBOT_HOME", str(tmp_path / "home"))
    write_candles(tmp_path / "home" / "history", walk(3 * 1440, seed=11))
    (tmp_path / "grid.toml").write_text(CONFIG)
    return tmp_path


def test_optimize_runs_real_backtests_and_scores_out_of_sample(home: Path) -> None:
    config = str(home / "grid.toml")
    out = CliRunner().invoke(
        app,
        [
            "optimize", config, "--from", "2024-01-01", "--to", "2024-01-04",
            "--param", "grid.levels=4..12", "--param", "grid.lower=59700..59900:100",
            "--objective", "total_return", "--trials", "6", "--seed", "1", "--holdout", "1d", "--json",
        ],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    (window,) = data["windows"]
    assert (window["train_start"], window["train_end"], window["test_end"]) == (
        T0,
        T0 + 2 * DAY,
        T0 + 3 * DAY,
    )
    assert window["trials"] == 6 and window["complete"] >= 1
    best = window["best_params"]
    assert set(best) == {"grid.levels", "grid.lower"}
    # a trial is a real backtest: the best settings backtested again give the in-sample score exactly
    settings = {"grid.levels": best["grid.levels"], "grid.lower": best["grid.lower"]}
    config_text = CONFIG
    again = evaluate(apply(config_text, settings), T0, T0 + 2 * DAY, config)
    assert again["total_return"] == window["in_sample"]
    assert window["in_sample_metrics"]["fills"] == again["fills"] > 0
    test = evaluate(apply(config_text, settings), T0 + 2 * DAY, T0 + 3 * DAY, config)
    assert window["out_of_sample"] == test["total_return"]
    assert window["out_of_sample_metrics"]["orders"] == test["orders"]
