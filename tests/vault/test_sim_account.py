"""`--sim URL` with no profile: one simulator account per URL, kept encrypted, no password prompt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from okxbot.cli.main import app
from okxbot.cli.target import resolve_target
from okxbot.sim.server import start_sim
from okxbot.vault.store import Vault

runner = CliRunner()


@pytest.fixture
def newcomer(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A first-time user: no vault, no master password source, no terminal to prompt on, no keyring."""
    monkeypatch.delenv("OKXBOT_VAULT_PASSWORD_FILE")
    monkeypatch.setenv("OKXBOT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    return home


def test_buy_then_orders_with_only_sim_shows_the_order(sim: Any, newcomer: Path) -> None:
    bought = runner.invoke(app, ["buy", "BTC/USDT", "0.001", "--price", "20000", "--json", "--sim", sim.rest])
    assert bought.exit_code == 0, bought.output
    assert "fresh funded simulator key" in bought.stderr and "kept as profile" in bought.stderr
    order = json.loads(bought.stdout)

    listed = runner.invoke(app, ["orders", "--json", "--sim", sim.rest + "/"])
    assert listed.exit_code == 0, listed.output
    assert [o["client_order_id"] for o in json.loads(listed.stdout)] == [order["client_order_id"]]
    assert "fresh" not in listed.stderr  # the same account, silently

    # kept encrypted like any other key, in the simulator key file: no master password was needed
    vault = Vault()
    (kept,) = vault.profiles.all()
    assert kept.auto and kept.sim_url == sim.rest and kept.backend == "simfile"
    api_key, secret, passphrase = vault.credentials(kept.name).values()
    blob = (newcomer / "sim-vault.bin").read_bytes()
    assert api_key.encode() not in blob and secret.encode() not in blob and passphrase.encode() not in blob
    assert not (newcomer / "vault.bin").exists()
    for name in ("sim-vault.bin", "sim-vault.key"):
        assert oct(os.stat(newcomer / name).st_mode & 0o777) == "0o600"
    shown = runner.invoke(app, ["keys", "list", "--json"])
    assert json.loads(shown.stdout)[0]["sim_url"] == sim.rest


def test_a_restarted_simulator_gets_a_fresh_key_and_says_so(
    newcomer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = start_sim(host="127.0.0.1", port=0, seed=3, config={"market": False})
    url, port = first.rest, first.port
    try:
        before = resolve_target(None, url, need="trade")
        again = resolve_target(None, url, need="trade")
        assert again.credentials == before.credentials
    finally:
        first.stop()
    assert "fresh funded simulator key" in capsys.readouterr().err

    with start_sim(host="127.0.0.1", port=port, seed=3, config={"market": False}) as second:
        assert second.rest == url
        after = resolve_target(None, url, need="trade")
        err = capsys.readouterr().err
        assert "no longer knows the key" in err and "restarted" in err
        assert after.credentials != before.credentials and after.profile == before.profile
        assert len(Vault().profiles.all()) == 1
        # the fresh key is a working, funded account of the new simulator
        key = second.call(lambda: second.ctx.keystore.get(after.credentials.api_key.reveal()))
        assert key is not None and key.perm == frozenset({"read_only", "trade"})


def test_a_disabled_kept_key_is_replaced(
    sim: Any, newcomer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = resolve_target(None, sim.rest, need="data")
    assert first.profile is not None
    Vault().disable(first.profile, "okxbot panic at 2026-01-01T00:00:00Z")
    second = resolve_target(None, sim.rest, need="data")
    assert second.credentials != first.credentials and "disabled" in capsys.readouterr().err
    assert not Vault().profiles.get(first.profile).disabled


_RESOLVE = textwrap.dedent(
    """
    import sys
    from okxbot.cli.target import resolve_target
    print(resolve_target(None, sys.argv[1], need="data").credentials.api_key.masked(), flush=True)
    """
)


def test_commands_started_together_share_one_account(sim: Any, newcomer: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RESOLVE, sim.rest],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=os.environ.copy(),
        )
        for _ in range(3)
    ]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), outputs
    assert len({out.strip() for out, _ in outputs}) == 1
    assert sum("fresh funded" in err for _, err in outputs) == 1
    assert len(Vault().profiles.all()) == 1
