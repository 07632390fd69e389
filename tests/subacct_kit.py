"""Helpers for the sub-account tests: a master profile on the simulator, provisioned bots, real bots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from okxbot.cli.main import app
from tests.homes import private_home


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throwaway OKXBOT_HOME (file vault, master password file), never the user's."""
    return private_home(tmp_path, monkeypatch, "sub-account test master password")


def okxbot(*args: str, **env: str) -> Any:
    """Run an okxbot command in-process; returns the click Result."""
    return CliRunner().invoke(app, list(args), env=env or None)


def master_key(sim: Any, **fields: Any) -> dict[str, Any]:
    """A funded main account with a key bound to 127.0.0.1 (what the user makes by hand on OKX)."""
    body = {"balances": {"USDT": "100000", "BTC": "2"}, "perm": "read_only,trade", "ip": "127.0.0.1"}
    return sim.admin("POST", "/__sim__/keys", body | fields)


def add_profile(sim: Any, name: str, key: dict[str, Any]) -> None:
    env = {
        "OKX_API_KEY": key["apiKey"],
        "OKX_SECRET_KEY": key["secretKey"],
        "OKX_PASSPHRASE": key["passphrase"],
    }
    result = CliRunner().invoke(app, ["keys", "add", name, "--from-env", "--sim", sim.rest], env=env)
    assert result.exit_code == 0, result.output


def provision(bot: str, *args: str, master: str = "main") -> dict[str, Any]:
    result = okxbot("keys", "provision", bot, "--master", master, "--yes", "--json", *args)
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["notDone"] == [], result.output
    return dict(report)


def stored_key(profile: str) -> dict[str, Any]:
    """A profile's key from the vault, in the shape the signed-request helpers take."""
    from okxbot.vault.store import Vault

    api_key, secret, passphrase = Vault().credentials(profile).values()
    return {"apiKey": api_key, "secretKey": secret, "passphrase": passphrase, "demo": False}


def sub_uid(sim: Any, master_uid: str, name: str) -> str:
    subs = sim.admin("GET", f"/__sim__/subaccounts?uid={master_uid}")["subaccounts"]
    return str(next(s["uid"] for s in subs if s["subAcct"] == name))


def open_orders(sim: Any, uid: str) -> list[dict[str, Any]]:
    orders = sim.admin("GET", f"/__sim__/orders?uid={uid}")["orders"]
    return [o for o in orders if o["state"] in ("live", "partially_filled")]


def mid(sim: Any, inst_id: str = "BTC-USDT") -> Decimal:
    return Decimal(str(sim.call(lambda: sim.ctx.market.fair_price(inst_id))))


def grid_config(
    path: Path, name: str, px: Decimal, *, levels: int = 6, step: str = "0.001", **run: object
) -> Path:
    """A spot grid straddling `px` (buys below, sells above), fast polling."""
    tick = (px * Decimal(step)).quantize(Decimal("0.1"))
    half = levels // 2
    lines = "\n".join(f"{k} = {str(v).lower() if isinstance(v, bool) else v}" for k, v in run.items())
    path.write_text(
        f'name = "{name}"\nsymbol = "BTC/USDT"\nstrategy = "grid"\n\n[grid]\n'
        f'lower = "{px - half * tick}"\nupper = "{px + half * tick}"\nlevels = {levels}\nsize = "0.001"\n\n'
        f'[risk]\nmax_open_orders = 50\nmax_orders_per_minute = 1000\nprice_band_pct = "10"\n\n'
        f"[run]\npoll_seconds = 0.5\n{lines}\n"
    )
    return path


def start_bot(home: Path, config: Path, profile: str, seconds: float = 120) -> subprocess.Popen[str]:
    env = dict(os.environ) | {"OKXBOT_HOME": str(home)}
    for name in ("OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE", "OKXBOT_PROFILE"):
        env.pop(name, None)
    cmd = [sys.executable, "-m", "okxbot", "run", str(config), "--profile", profile, "--no-live"]
    return subprocess.Popen(
        [*cmd, "--seconds", str(seconds)],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait(predicate: Callable[[], bool], timeout: float, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} not reached in {timeout:g} s"
        time.sleep(0.1)
