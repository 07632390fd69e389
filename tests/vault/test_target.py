from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from okxbot.cli.target import TargetError, resolve_target
from okxbot.runstate import register_bot, run_dir, running_bots, unregister_bot
from okxbot.vault.errors import VaultError
from okxbot.vault.profiles import Profile
from okxbot.vault.secret import Credentials, Secret
from okxbot.vault.store import Vault

CREDS = Credentials(Secret("11111111-2222-4333-8444-555555555555"), Secret("E" * 32), Secret("target-pass-1"))


@pytest.fixture
def vault(home: Path) -> Vault:
    return Vault(kdf_log2_n=14)


def test_profile_gives_its_region_host_and_environment(vault: Vault) -> None:
    vault.add(Profile("eu", region="eea", demo=True), CREDS)
    target = resolve_target("eu", None, need="trade")
    assert (target.base_url, target.demo, target.profile, target.sim) == (
        "https://eea.okx.com",
        True,
        "eu",
        False,
    )
    assert target.credentials.values() == CREDS.values()
    assert vault.profiles.get("eu").last_used is not None


def test_sim_url_replaces_the_host(vault: Vault) -> None:
    vault.add(Profile("main"), CREDS)
    target = resolve_target("main", "http://127.0.0.1:9999/", need="data")
    assert target.base_url == "http://127.0.0.1:9999" and target.sim


def test_disabled_profile_is_refused_until_rotated(vault: Vault) -> None:
    vault.add(Profile("main"), CREDS)
    vault.disable("main", "okxbot panic at 2026-01-01T00:00:00Z")
    with pytest.raises(TargetError, match="disabled") as err:
        resolve_target("main", None, need="data")
    assert "keys rotate main" in err.value.fix
    assert resolve_target("main", None, need="data", allow_disabled=True).profile == "main"
    vault.rotate(
        "main",
        Credentials(Secret("99999999-2222-4333-8444-555555555555"), Secret("D" * 32), Secret("new-pass-22")),
    )
    assert resolve_target("main", None, need="trade").credentials.passphrase.reveal() == "new-pass-22"


def test_data_profile_is_refused_for_trading(vault: Vault) -> None:
    vault.add(Profile("md", purpose="data"), CREDS)
    assert resolve_target("md", None, need="data").purpose == "data"
    with pytest.raises(TargetError, match="data profile"):
        resolve_target("md", None, need="trade")


def test_environment_variables_are_used_when_no_profile_is_named(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault.add(Profile("main"), CREDS)
    monkeypatch.setenv("OKX_API_KEY", "env-key-0000-0000")
    monkeypatch.setenv("OKX_SECRET_KEY", "env-secret-0000")
    monkeypatch.setenv("OKX_PASSPHRASE", "env-pass-0000")
    monkeypatch.setenv("OKX_DEMO", "1")
    target = resolve_target(None, None, need="trade")
    assert (
        target.credentials.api_key.reveal() == "env-key-0000-0000" and target.demo and target.profile is None
    )
    # a named profile still wins over the environment
    assert resolve_target("main", None, need="trade").profile == "main"
    monkeypatch.delenv("OKX_PASSPHRASE")
    with pytest.raises(VaultError, match="OKX_PASSPHRASE"):
        resolve_target(None, None, need="trade")


def test_nothing_configured_says_what_to_do(home: Path) -> None:
    with pytest.raises(TargetError, match="no API key chosen") as err:
        resolve_target(None, None, need="data")
    assert "okxbot keys add" in err.value.fix and "--sim" in err.value.fix


def test_the_only_profile_is_the_default(vault: Vault) -> None:
    vault.add(Profile("solo"), CREDS)
    assert resolve_target(None, None, need="trade").profile == "solo"
    vault.add(Profile("second"), CREDS)
    with pytest.raises(TargetError, match="second, solo"):
        resolve_target(None, None, need="trade")


def test_bad_sim_url_is_refused(home: Path) -> None:
    with pytest.raises(TargetError, match="not a URL"):
        resolve_target(None, "localhost:8080", need="data")


def test_sim_without_credentials_gets_a_fresh_funded_key(
    home: Path, sim, capsys: pytest.CaptureFixture[str]
) -> None:
    target = resolve_target(None, sim.rest, need="trade")
    assert target.sim and target.base_url == sim.rest and target.purpose == "trade"
    assert "fresh funded simulator key" in capsys.readouterr().err

    import asyncio

    from okxbot.okx.client import ClientConfig, OkxClient

    async def usdt() -> str:
        async with OkxClient(
            ClientConfig(rest_url=target.base_url, disk_cache=False), target.credentials
        ) as c:
            return str((await c.fetch_balance())["USDT"].total)

    assert asyncio.run(usdt()) == "100000"


def test_unreachable_sim_is_a_clear_error(home: Path) -> None:
    with pytest.raises(TargetError, match="could not get a key from the simulator"):
        resolve_target(None, "http://127.0.0.1:9", need="trade")


def test_pid_files_list_running_bots_and_drop_stale_ones(home: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = register_bot("grid btc", "main", "grid.toml", pid=sleeper.pid)
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        register_bot("dca", "main", pid=dead.pid)
        (run_dir() / "junk.pid").write_text("not json")
        bots = running_bots()
        assert [(b.bot, b.pid, b.profile) for b in bots] == [("grid btc", sleeper.pid, "main")]
        assert sorted(p.name for p in run_dir().iterdir()) == [live.name]
        assert json.loads(live.read_text())["config"] == "grid.toml"
        assert oct(os.stat(live).st_mode & 0o777) == "0o600"
        unregister_bot(live)
        assert running_bots() == []
    finally:
        sleeper.kill()
        sleeper.wait()
