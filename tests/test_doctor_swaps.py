"""`okxbot doctor` for keys whose bots trade perpetual swaps: account and position mode, leverage per
instrument, and a warning for a key without IP binding; the instruments come from --symbol, --config
files and the configs of the bots running here."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from okxbot.cli.main import app
from okxbot.runstate import register_bot, unregister_bot
from tests.test_doctor import home, new_key  # noqa: F401 (fixture)
from tests.test_panic import add_profile

runner = CliRunner()


def doctor(sim: Any, profile: str, *args: str) -> tuple[int, dict[str, tuple[str, str]]]:
    sim.admin("POST", "/__sim__/reset-limits")
    result = runner.invoke(app, ["doctor", "--profile", profile, "--sim", sim.rest, "--json", *args])
    assert result.stdout.startswith("{"), result.output
    body = json.loads(result.stdout)
    return result.exit_code, {c["check"]: (c["status"], c["detail"]) for c in body["checks"]}


def futures(sim: Any, key: dict[str, Any]) -> dict[str, Any]:
    sim.admin("POST", "/__sim__/account-level", {"uid": key["uid"], "acctLv": "2"})
    return key


def test_a_swap_symbol_adds_modes_and_leverage_settings(sim: Any) -> None:
    add_profile(runner, "bound", futures(sim, new_key(sim)), sim)
    code, checks = doctor(sim, "bound", "--symbol", "BTC/USDT:USDT", "--symbol", "BTC/USDT")
    assert code == 0
    assert checks["position mode"] == ("pass", "net_mode: one position per swap, no posSide")
    status, detail = checks["leverage BTC/USDT:USDT"]
    assert status == "pass" and "cross 10x" in detail and "isolated" in detail and "maximum 125x" in detail
    assert "IP binding (swaps)" not in checks and "leverage BTC/USDT" not in checks  # spot: nothing to add
    code, checks = doctor(sim, "bound")
    assert "position mode" not in checks  # no swap among the bots' instruments: no swap checks


def test_a_swap_bot_key_without_ip_binding_is_warned_and_spot_mode_fails(sim: Any, tmp_path: Path) -> None:
    add_profile(runner, "open", futures(sim, new_key(sim, ip="")), sim)
    config = tmp_path / "perp.toml"
    config.write_text('name = "perp"\nsymbol = "ETH/USDT:USDT"\nstrategy = "ma_cross"\n')
    code, checks = doctor(sim, "open", "--config", str(config))
    assert checks["IP binding (swaps)"][0] == "warn"
    assert (
        "ETH/USDT:USDT" in checks["IP binding (swaps)"][1] and "leveraged" in checks["IP binding (swaps)"][1]
    )
    assert checks["leverage ETH/USDT:USDT"][0] == "pass"

    add_profile(runner, "spot", new_key(sim), sim)  # Spot mode (acctLv 1)
    path = register_bot("perp-bot", "spot", str(config), pid=os.getpid())  # a running bot's config
    try:
        code, checks = doctor(sim, "spot")
    finally:
        unregister_bot(path)
    assert code == 1
    status, detail = checks["swap account mode"]
    assert status == "fail" and "Spot mode" in detail and "ETH/USDT:USDT" in detail
