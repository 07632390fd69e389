"""`okxbot panic` against a simulator account with open orders, some placed outside okxbot."""

from __future__ import annotations

import asyncio
import csv
import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
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
from tests.homes import private_home

# (symbol, price far below the market so the order rests, size); okxbot places the first three
OKXBOT_ORDERS = [("BTC/USDT", "20000", "0.001"), ("ETH/USDT", "1000", "0.01"), ("SOL/USDT", "40", "0.1")]
FOREIGN_ORDERS = [("XRP-USDT", "0.3", "10", "manual42"), ("LTC-USDT", "30", "0.01", "")]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_home(tmp_path, monkeypatch, "panic test master password")


def utc(ts: str) -> str:
    return datetime.fromtimestamp(int(ts) / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


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


ATTACKER = "TAttackerAddress0000000000000000001"


def fund(sim: Any, uid: str, amt: str, **extra: Any) -> dict[str, Any]:
    """A deposit into the account's funding account."""
    return sim.admin("POST", "/__sim__/deposits", {"uid": uid, "ccy": "USDT", "amt": amt, **extra})


def steal(sim: Any, uid: str, amt: str, **extra: Any) -> dict[str, Any]:
    """A withdrawal made with the leaked key, to an address the owner does not know."""
    body = {"uid": uid, "ccy": "USDT", "amt": amt, "toAddr": ATTACKER, **extra}
    return sim.admin("POST", "/__sim__/withdrawals", body)


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
    fund(sim, key["uid"], "500")
    sent = steal(sim, key["uid"], "120", state="2")
    waiting = steal(sim, key["uid"], "30", state="0")

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
    assert sorted(p.name for p in report.iterdir()) == [
        "algo_orders.csv",
        "bills.csv",
        "deposits.csv",
        "fills.csv",
        "funding_bills.csv",
        "orders.csv",
        "positions.csv",
        "positions_history.csv",
        "report.json",
        "summary.txt",
        "withdrawals.csv",
    ]
    # withdrawals first everywhere: JSON output, report.json, summary.txt
    assert next(iter(outcome)) == "withdrawals"
    assert [(w["wdId"], w["amount"], w["ccy"], w["address"], w["state"]) for w in outcome["withdrawals"]] == [
        (waiting["wdId"], "30", "USDT", ATTACKER, "0"),
        (sent["wdId"], "120", "USDT", ATTACKER, "2"),
    ]
    assert outcome["withdrawals"][0]["what_to_do"].startswith("CANCEL IT NOW")
    assert outcome["withdrawals"][1]["meaning"] == "SENT: the funds have left OKX"
    assert outcome["alert"][0] == "!!! 2 WITHDRAWAL(S) IN THE LAST 7 DAYS: CHECK THESE FIRST !!!"
    summary = (report / "summary.txt").read_text()
    assert summary.startswith(outcome["alert"][0]) and "DELETE THE KEY ON OKX" in summary
    assert next(iter(json.loads((report / "report.json").read_text()))) == "withdrawals"
    with (report / "withdrawals.csv").open() as handle:
        assert [(w["wdId"], w["to"], w["txId"] != "") for w in csv.DictReader(handle)] == [
            (waiting["wdId"], ATTACKER, False),
            (sent["wdId"], ATTACKER, True),
        ]
    with (report / "deposits.csv").open() as handle:
        assert [(d["amt"], d["ccy"], d["state"]) for d in csv.DictReader(handle)] == [("500", "USDT", "2")]
    with (report / "funding_bills.csv").open() as handle:
        assert [(b["type"], b["balChg"]) for b in csv.DictReader(handle)] == [
            ("2", "-30"),
            ("2", "-120"),
            ("1", "500"),
        ]
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
    assert body["withdrawals"] == outcome["withdrawals"]

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
    fund(sim, trader["uid"], "1000")
    taken = steal(sim, trader["uid"], "999.5", state="2")

    result = runner.invoke(app, ["panic", "--profile", "watch", "--sim", sim.rest])
    assert result.exit_code == 1
    # a read-only key reads the withdrawals too, and they come before anything else
    lines = result.stdout.splitlines()
    assert lines[0] == "!!! 1 WITHDRAWAL(S) IN THE LAST 7 DAYS: CHECK THESE FIRST !!!"
    assert lines[1] == f"  1. 999.5 USDT to {ATTACKER} on USDT-TRC20"
    assert lines[2].startswith(f"     at {utc(taken['ts'])}; state 2: SENT: the funds have left OKX")
    assert taken["wdId"] in lines[2] and taken["txId"] in lines[2]
    assert lines[3].startswith("     what to do: contact OKX support NOW with the withdrawal id")
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


def test_panic_pages_through_every_deposit_withdrawal_and_funding_bill(sim: Any, home: Path) -> None:
    """More than a page (100) of each, some sharing one millisecond across a page boundary; the rows
    older than the report's 7 days are left out."""
    runner = CliRunner()
    key = sim.admin("POST", "/__sim__/keys", {"perm": "read_only", "ip": "127.0.0.1"})
    uid = key["uid"]
    add_profile(runner, "paged", key, sim)
    now = int(time.time() * 1000)
    hour = 3_600_000
    # made oldest first, as an exchange writes them (bill ids grow with time)
    fund(sim, uid, "1", ts=now - 8 * 24 * hour)  # outside the window
    fund(sim, uid, "1000", ts=now - 7 * hour)
    same_ms = [fund(sim, uid, "2", ts=now - 6 * hour)["depId"] for _ in range(70)]
    spread = [fund(sim, uid, "3", ts=now - 5 * hour + i * 1000)["depId"] for i in range(90)]
    taken = [steal(sim, uid, "1", ts=now - 3 * hour + i * 1000)["wdId"] for i in range(105)]

    result = runner.invoke(app, ["panic", "--profile", "paged", "--sim", sim.rest, "--json"])
    outcome = json.loads(result.stdout)
    assert [line for line in outcome["not_done"] if "export" in line] == []
    report = Path(outcome["report_dir"])
    with (report / "deposits.csv").open() as handle:
        deposits = [d["depId"] for d in csv.DictReader(handle)]
    assert len(deposits) == len(set(deposits)) == 161
    assert set(deposits) >= set(same_ms) | set(spread)
    with (report / "withdrawals.csv").open() as handle:
        assert [w["wdId"] for w in csv.DictReader(handle)] == taken[::-1]
    assert [w["wdId"] for w in outcome["withdrawals"]] == taken[::-1]
    assert outcome["alert"][0] == "!!! 105 WITHDRAWAL(S) IN THE LAST 7 DAYS: CHECK THESE FIRST !!!"
    with (report / "funding_bills.csv").open() as handle:
        bills = list(csv.DictReader(handle))
    assert len(bills) == len({b["billId"] for b in bills}) == 1 + 70 + 90 + 105
    assert all(int(b["ts"]) >= now - 7 * 24 * hour for b in bills)


def test_withdrawals_that_cannot_be_read_are_the_first_thing_said(sim: Any, home: Path) -> None:
    runner = CliRunner()
    key = sim.admin("POST", "/__sim__/keys", {"perm": "read_only", "ip": "127.0.0.1"})
    add_profile(runner, "blind", key, sim)
    # OKX's gateway answers 50001 to the one withdrawal-history request panic makes
    fault = {"path": "/api/v5/asset/withdrawal-history", "kind": "50001", "count": 1}
    sim.admin("POST", "/__sim__/faults", fault)
    result = runner.invoke(app, ["panic", "--profile", "blind", "--sim", sim.rest])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("!!! WITHDRAWALS NOT CHECKED (") and "50001" in lines[0]
    assert lines[1] == "    Look at OKX's website or app NOW: Assets > History > Withdrawals."
    assert any(line.startswith("NOT DONE:  could not export withdrawals") for line in lines)
    assert "report:" in result.stdout  # the other sections were still exported
