"""Issue 16 "Done when", as a new user does it: the simulator's ready master key stored as profile
`main`, then exactly the README's two commands, each a real `okxbot` process without a terminal:

    okxbot keys provision grid-btc --master main --budget USDT=500
    okxbot run examples/grid.toml --profile grid-btc

The bot trades on its own sub-account (its orders are there, none on the master), with its own key,
inside its budget, and stops cleanly with `okxbot stop grid-btc`."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from okxbot.vault.profiles import ProfileStore
from tests.subacct_kit import home, open_orders, wait

__all__ = ["home"]
pytestmark = pytest.mark.timeout(240)
ROOT = Path(__file__).resolve().parents[1]
PROVISION = ["keys", "provision", "grid-btc", "--master", "main", "--budget", "USDT=500"]
RUN = ["run", "examples/grid.toml", "--profile", "grid-btc"]


def okxbot_process(args: list[str], **env: str) -> subprocess.Popen[str]:
    """`okxbot ARGS` as the user types it: its own process, no terminal on stdin, from the repo root."""
    return subprocess.Popen(
        [sys.executable, "-m", "okxbot", *args],
        cwd=ROOT,
        env=dict(os.environ) | env,
        text=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def okxbot_done(args: list[str], **env: str) -> str:
    process = okxbot_process(args, **env)
    out = process.communicate(timeout=120)[0]
    assert process.returncode == 0, f"okxbot {' '.join(args)} failed:\n{out}"
    return out


def test_the_readme_walk_through_provisions_and_runs_a_bot_on_its_own_sub_account(
    sim: Any, home: Path
) -> None:
    readme = (ROOT / "README.md").read_text()
    assert "okxbot " + " ".join(PROVISION) in readme and "okxbot " + " ".join(RUN) in readme
    master = next(k for k in sim.keys if not k["demo"])  # what `okxbot sim serve` prints: bound to 127.0.0.1
    okxbot_done(
        ["keys", "add", "main", "--sim", sim.rest, "--from-env"],
        OKX_API_KEY=master["apiKey"],
        OKX_SECRET_KEY=master["secretKey"],
        OKX_PASSPHRASE=master["passphrase"],
    )
    master_orders_before = len(open_orders(sim, master["uid"]))

    out = okxbot_done(PROVISION)
    assert "NOT DONE" not in out and "doctor: all" in out and "moved 500 USDT" in out, out
    profile = ProfileStore().get("grid-btc")
    assert (profile.master, profile.purpose) == ("main", "trade")
    subs = sim.admin("GET", f"/__sim__/subaccounts?uid={master['uid']}")["subaccounts"]
    sub = next(s for s in subs if s["subAcct"] == profile.sub_acct)
    assert [(k["perm"], k["ip"]) for k in sub["keys"]] == [("read_only,trade", "127.0.0.1")]
    money = sim.call(lambda: sim.ctx.exchange.balances(sub["uid"]))
    assert {d["ccy"]: Decimal(d["availBal"]) for d in money["details"]} == {"USDT": Decimal(500)}

    bot = okxbot_process(RUN)
    try:
        wait(
            lambda: len(open_orders(sim, sub["uid"])) >= 2 or bot.poll() is not None, 90, "the grid's orders"
        )
        assert bot.poll() is None, bot.communicate()[0]
        placed = open_orders(sim, sub["uid"])
        assert {o["instId"] for o in placed} == {"BTC-USDT"}
        # inside the budget: what the bot's orders hold is at most the 500 USDT it was given
        held = sum(Decimal(o["px"]) * Decimal(o["sz"]) for o in placed if o["side"] == "buy")
        assert Decimal(0) < held <= 500
        assert len(open_orders(sim, master["uid"])) == master_orders_before  # nothing on the master
        okxbot_done(["stop", "grid-btc"])
        out = bot.communicate(timeout=90)[0]
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.communicate()
    assert bot.returncode == 0, out
    assert any("journal reconciled" in line and "yes" in line for line in out.splitlines()), out
    assert open_orders(sim, sub["uid"]) == []  # cancel_on_stop = true in examples/grid.toml


def test_at_a_terminal_the_ip_binding_is_asked_and_a_no_stops_before_any_key_is_made(
    sim: Any, home: Path
) -> None:
    import pty

    from tests.subacct_kit import add_profile, master_key

    master = master_key(sim)
    add_profile(sim, "main", master)
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "okxbot", *PROVISION[:-2], "--json"],
            cwd=ROOT,
            env=dict(os.environ),
            text=True,
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        os.write(controller, b"n\n")  # read by the prompt: "Bind the bot's key to 127.0.0.1? [Y/n]"
        out, err = process.communicate(timeout=120)
    finally:
        os.close(controller)
        os.close(terminal)
    assert process.returncode == 1 and "Bind the bot's key to 127.0.0.1?" in err, (out, err)
    assert "the IP address was not confirmed; pass --ip ADDRESS" in out
    subs = sim.admin("GET", f"/__sim__/subaccounts?uid={master['uid']}")["subaccounts"]
    assert subs == [] and ProfileStore().find("grid-btc") is None  # asked before anything was made
