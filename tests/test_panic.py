"""`okxbot panic` against a simulator account with open orders, some placed outside okxbot."""

from __future__ import annotations

import asyncio
import csv
import json
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from okxbot.cli.main import app
from okxbot.cli.target import TargetError, resolve_target
from okxbot.okx.client import ClientConfig, OkxClient
from okxbot.okx.ids import new_client_order_id
from okxbot.runstate import register_bot, running_bots
from okxbot.vault.secret import Credentials, Secret

# (symbol, price far below the market so the order rests, size); okxbot places the first three
OKXBOT_ORDERS = [("BTC/USDT", "20000", "0.001"), ("ETH/USDT", "1000", "0.01"), ("SOL/USDT", "40", "0.1")]
FOREIGN_ORDERS = [("XRP-USDT", "0.3", "10", "manual42"), ("LTC-USDT", "30", "0.01", "")]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    password = tmp_path / "pw"
    password.write_text("panic test master password")
    password.chmod(0o600)
    monkeypatch.setenv("OKXBOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OKXBOT_VAULT_PASSWORD_FILE", str(password))
    monkeypatch.setenv("OKXBOT_KEYRING", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE", "OKXBOT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


def creds(key: dict[str, Any]) -> Credentials:
    return Credentials(Secret(key["apiKey"]), Secret(key["secretKey"]), Secret(key["passphrase"]))


def add_profile(runner: CliRunner, name: str, key: dict[str, Any], sim: Any) -> None:
    env = {
        "OKX_API_KEY": key["apiKey"],
        "OKX_SECRET_KEY": key["secretKey"],
        "OKX_PASSPHRASE": key["passphrase"],
    }
    result = runner.invoke(app, ["keys", "add", name, "--from-env", "--sim", sim.rest], env=env)
    assert result.exit_code == 0, result.output


def place_orders(sim: Any, key: dict[str, Any]) -> None:
    async def go() -> None:
        config = ClientConfig(rest_url=sim.rest, disk_cache=False)
        async with OkxClient(config, creds(key)) as client:
            for symbol, px, sz in OKXBOT_ORDERS:
                await client.create_order(symbol, "buy", Decimal(sz), Decimal(px))
            for inst_id, px, sz, cl in FOREIGN_ORDERS:
                body = {
                    "instId": inst_id,
                    "tdMode": "cash",
                    "side": "buy",
                    "ordType": "limit",
                    "px": px,
                    "sz": sz,
                }
                if cl:
                    body["clOrdId"] = cl
                response = await client.raw.privatePostTradeOrder(body)
                assert response["data"][0]["sCode"] == "0"
            # a foreign market order that fills at once: its fills must be flagged too
            body = {
                "instId": "BTC-USDT",
                "tdMode": "cash",
                "side": "buy",
                "ordType": "market",
                "sz": "100",
                "clOrdId": "hand1",
            }
            assert (await client.raw.privatePostTradeOrder(body))["data"][0]["sCode"] == "0"

    asyncio.run(go())


def live_orders(sim: Any, uid: str) -> list[dict[str, Any]]:
    return [
        o
        for o in sim.admin("GET", f"/__sim__/orders?uid={uid}")["orders"]
        if o["state"] in ("live", "partially_filled")
    ]


def test_panic_cancels_everything_flags_foreign_orders_and_disables_the_profile(sim: Any, home: Path) -> None:
    runner = CliRunner()
    key = sim.admin(
        "POST",
        "/__sim__/keys",
        {"balances": {"USDT": "100000"}, "perm": "read_only,trade", "ip": "127.0.0.1"},
    )
    add_profile(runner, "main", key, sim)
    place_orders(sim, key)
    assert len(live_orders(sim, key["uid"])) == 5

    bot = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        register_bot("grid", "main", "grid.toml", pid=bot.pid)
        result = runner.invoke(app, ["panic", "--profile", "main", "--sim", sim.rest, "--json"])
        assert bot.wait(timeout=20) == -signal.SIGTERM
    finally:
        if bot.poll() is None:
            bot.kill()
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["not_done"] == []
    assert outcome["canceled"] == 5 and outcome["foreign_orders"] == 3
    assert any("DELETE THE KEY ON OKX" in line for line in outcome["checklist"])
    assert live_orders(sim, key["uid"]) == []
    assert running_bots() == []

    report = Path(outcome["report_dir"])
    assert report.parent == home / "reports" and report.name.startswith("panic-")
    assert sorted(p.name for p in report.iterdir()) == ["bills.csv", "fills.csv", "orders.csv", "report.json"]
    with (report / "orders.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 and sorted(r["state"] for r in rows) == ["canceled"] * 5 + ["filled"]
    flagged = {(r["instId"], r["clOrdId"]) for r in rows if r["placedByOkxbot"] != "yes"}
    assert flagged == {("XRP-USDT", "manual42"), ("LTC-USDT", ""), ("BTC-USDT", "hand1")}
    with (report / "fills.csv").open() as handle:
        fills = list(csv.DictReader(handle))
    assert fills and all(f["placedByOkxbot"] == "NO - FLAGGED" for f in fills)
    with (report / "bills.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) >= len(fills)
    body = json.loads((report / "report.json").read_text())
    assert len(body["orders"]) == 6 and body["key"].endswith(key["apiKey"][-4:])

    with pytest.raises(TargetError, match="disabled"):
        resolve_target("main", None, need="trade")
    listed = json.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout)
    assert listed[0]["disabled"] is True


def test_read_only_key_says_what_it_could_not_do(sim: Any) -> None:
    runner = CliRunner()
    trader = sim.admin(
        "POST",
        "/__sim__/keys",
        {"balances": {"USDT": "100000"}, "perm": "read_only,trade", "ip": "127.0.0.1"},
    )
    reader = sim.admin(
        "POST", "/__sim__/keys", {"uid": trader["uid"], "perm": "read_only", "ip": "127.0.0.1"}
    )
    add_profile(runner, "watch", reader, sim)
    place_orders(sim, trader)

    result = runner.invoke(app, ["panic", "--profile", "watch", "--sim", sim.rest])
    assert result.exit_code == 1
    assert "NOT DONE:  could not cancel the 5 open order(s): the key is read-only" in result.stdout
    assert "profile 'watch' disabled" in result.stdout and "report:" in result.stdout
    assert len(live_orders(sim, trader["uid"])) == 5


def test_with_a_journal_an_order_that_merely_looks_like_okxbots_is_flagged(sim: Any, home: Path) -> None:
    """okxbot's own orders are the journaled ones: an intruder copying okxbot's clOrdId format is caught."""
    runner = CliRunner()
    key = sim.admin(
        "POST",
        "/__sim__/keys",
        {"balances": {"USDT": "100000"}, "perm": "read_only,trade", "ip": "127.0.0.1"},
    )
    add_profile(runner, "main", key, sim)
    bought = runner.invoke(
        app,
        ["buy", "BTC/USDT", "0.001", "--price", "20000", "--profile", "main", "--sim", sim.rest, "--json"],
    )
    assert bought.exit_code == 0, bought.output
    mine = json.loads(bought.stdout)["client_order_id"]

    async def intruder() -> str:
        # an okxbot-format id that no okxbot journal on this machine holds
        lookalike = new_client_order_id()
        async with OkxClient(ClientConfig(rest_url=sim.rest, disk_cache=False), creds(key)) as client:
            await client.create_order(
                "ETH/USDT", "buy", Decimal("0.01"), Decimal("1000"), client_order_id=lookalike
            )
        return lookalike

    lookalike = asyncio.run(intruder())
    result = runner.invoke(app, ["panic", "--profile", "main", "--sim", sim.rest, "--json"])
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["canceled"] == 2 and outcome["foreign_orders"] == 1
    with (Path(outcome["report_dir"]) / "orders.csv").open() as handle:
        flags = {r["clOrdId"]: r["placedByOkxbot"] for r in csv.DictReader(handle)}
    assert flags == {mine: "yes", lookalike: "NO - FLAGGED"}
