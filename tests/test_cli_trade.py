"""The trading commands end to end: `okxbot ... --sim URL` against the simulator over loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from okxbot.cli.main import app
from tests.okx.simkit import hits, new_key, sim_orders, sim_profile

runner = CliRunner()


@pytest.fixture
def key(sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A funded key of its own, handed to the CLI as a simulator profile named by OKXBOT_PROFILE."""
    found = new_key(sim, balances={"USDT": "1000", "BTC": "0.01"})
    monkeypatch.setenv("OKXBOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OKXBOT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("OKXBOT_KEYRING", "off")
    for name in ("OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE", "OKX_DEMO"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OKXBOT_PROFILE", sim_profile(sim, found, "main"))
    return found


def okxbot(sim: Any, *args: str) -> Any:
    return runner.invoke(app, [*args, "--sim", sim.rest])


def test_seed_scenario_balance_then_limit_buy(sim: Any, key: dict[str, Any]) -> None:
    balance = okxbot(sim, "balance", "--json")
    assert balance.exit_code == 0, balance.output
    assert json.loads(balance.stdout)["USDT"]["available"] == "1000"

    table = okxbot(sim, "balance")
    assert table.exit_code == 0 and "USDT" in table.stdout and "1000" in table.stdout

    bought = okxbot(sim, "buy", "BTC/USDT", "0.001", "--price", "50000", "--json")
    assert bought.exit_code == 0, bought.output
    order = json.loads(bought.stdout)
    assert order["symbol"] == "BTC/USDT" and order["amount"] == "0.001" and order["price"] == "50000"
    assert order["state"] in ("live", "partially_filled", "filled")
    on_exchange = sim_orders(sim, key["uid"], order["client_order_id"])
    assert len(on_exchange) == 1 and on_exchange[0]["ordId"] == order["order_id"]


def test_orders_cancel_and_fills(sim: Any, key: dict[str, Any]) -> None:
    placed = okxbot(sim, "buy", "BTC/USDT", "0.001", "--price", "30000", "--post-only", "--json")
    assert placed.exit_code == 0, placed.output
    order = json.loads(placed.stdout)
    assert order["order_type"] == "post_only" and order["state"] == "live"

    listed = okxbot(sim, "orders", "--json")
    assert [o["order_id"] for o in json.loads(listed.stdout)] == [order["order_id"]]
    assert order["order_id"] in okxbot(sim, "orders", "BTC/USDT").stdout

    canceled = okxbot(sim, "cancel", order["order_id"], "--json")
    assert canceled.exit_code == 0, canceled.output
    assert json.loads(canceled.stdout)[0]["ok"] is True
    assert json.loads(okxbot(sim, "orders", "--json").stdout) == []

    for price in ("30000", "30000.1"):
        assert okxbot(sim, "buy", "BTC/USDT", "0.001", "--price", price).exit_code == 0
    all_canceled = okxbot(sim, "cancel", "--all", "BTC/USDT", "--json")
    assert len(json.loads(all_canceled.stdout)) == 2

    sold = okxbot(sim, "sell", "BTC/USDT", "0.001", "--json")  # market order
    assert sold.exit_code == 0, sold.output
    assert json.loads(sold.stdout)["state"] == "filled"
    fills = json.loads(okxbot(sim, "fills", "--json").stdout)
    assert fills and fills[0]["side"] == "sell" and fills[0]["symbol"] == "BTC/USDT"


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["buy", "BTC/USDT", "0", "--price", "30000"], "51000", "greater than 0"),
        (["buy", "BTC/USDX", "0.001", "--price", "30000"], "51001", "Did you mean"),
        (["buy", "BTC/USDT", "0.001", "--price", "30000.05"], "51000", "tick size 0.1"),
        (["buy", "BTC/USDT", "0.0000001", "--price", "30000"], "51020", "at least 0.00001"),
        (["buy", "BTC/USDT", "1", "--price", "30000"], "51008", "available: 1000 USDT"),
        (["sell", "BTC/USDT", "abc"], None, "not a number"),
        (["buy", "BTC/USDT", "0.001", "--price", "30000", "--ioc", "--fok"], None, "at most one"),
    ],
)
def test_bad_input_is_refused_with_a_hint_and_nothing_is_sent(
    sim: Any, key: dict[str, Any], args: list[str], code: str | None, words: str
) -> None:
    before = hits(sim, "/api/v5/trade/order")
    result = okxbot(sim, *args)
    assert result.exit_code == 1
    assert "nothing was sent" in result.stderr and words in result.stderr
    if code is not None:
        assert f"error {code}" in result.stderr
    assert "Traceback" not in result.output
    assert hits(sim, "/api/v5/trade/order") == before

    as_json = json.loads(okxbot(sim, *args, "--json").stdout)
    assert as_json["code"] == code and as_json["local"] is True


def test_read_only_key_is_refused_by_the_posture_check(
    sim: Any, key: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = new_key(sim, perm="read_only")
    monkeypatch.setenv("OKXBOT_PROFILE", sim_profile(sim, reader, "reader"))
    before = hits(sim, "/api/v5/trade/order")
    result = okxbot(sim, "buy", "BTC/USDT", "0.001", "--price", "30000")
    assert result.exit_code == 1
    assert "read-only" in result.stderr and "Read + Trade" in result.stderr
    assert hits(sim, "/api/v5/trade/order") == before
    assert okxbot(sim, "balance").exit_code == 0  # reading is what a read-only key is for


def test_exchange_errors_carry_the_okx_code_and_hint(
    sim: Any, key: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim_profile(sim, {**key, "passphrase": "wrong-passphrase"}, "main")
    result = okxbot(sim, "balance")
    assert result.exit_code == 1
    assert "error 50105" in result.stderr and "passphrase is wrong" in result.stderr
    assert "wrong-passphrase" not in result.output

    sim_profile(sim, key, "main")
    missing = okxbot(sim, "cancel", "123456", "--json")
    assert missing.exit_code == 1 and json.loads(missing.stdout)["code"] == "51400"


def test_cancel_needs_an_id_or_all(sim: Any, key: dict[str, Any]) -> None:
    result = okxbot(sim, "cancel")
    assert result.exit_code == 2 and "--all" in result.stderr


def test_help_does_not_import_ccxt() -> None:
    """`okxbot --help` stays fast because no command module imports ccxt at import time."""
    code = "import sys, okxbot.cli.main; print(sorted(m for m in ('ccxt', 'aiohttp', 'sqlalchemy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert runner.invoke(app, ["buy", "--help"]).exit_code == 0


def test_withdraw_enabled_key_is_refused_unless_the_risk_is_accepted(
    sim: Any, key: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from okxbot.okx.posture import WITHDRAW_OVERRIDE_FLAG

    risky = new_key(sim, perm="read_only,trade,withdraw")
    monkeypatch.setenv("OKXBOT_PROFILE", sim_profile(sim, risky, "risky"))
    refused = okxbot(sim, "balance")
    assert (
        refused.exit_code == 1 and "WITHDRAW" in refused.stderr and WITHDRAW_OVERRIDE_FLAG in refused.stderr
    )
    accepted = okxbot(sim, "balance", WITHDRAW_OVERRIDE_FLAG, "--json")
    assert accepted.exit_code == 0 and json.loads(accepted.stdout)["USDT"]["available"] == "100000"
