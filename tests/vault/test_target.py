"""`resolve_target`: a key goes only to the host it belongs to (OKX's for its region, or its simulator)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from okxbot.cli.target import TargetError, resolve_target
from okxbot.runstate import register_bot, run_dir, running_bots, unregister_bot
from okxbot.vault.errors import VaultError
from okxbot.vault.profiles import REGION_HOSTS, Profile, check_sim_url
from okxbot.vault.secret import Credentials, Secret
from okxbot.vault.store import Vault

CREDS = Credentials(Secret("11111111-2222-4333-8444-555555555555"), Secret("E" * 32), Secret("target-pass-1"))
SIM = "http://127.0.0.1:9999"


@pytest.fixture
def vault(home: Path) -> Vault:
    return Vault(kdf_log2_n=14)


def set_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKX_API_KEY", "env-key-0000-0000")
    monkeypatch.setenv("OKX_SECRET_KEY", "env-secret-0000")
    monkeypatch.setenv("OKX_PASSPHRASE", "env-pass-0000")


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


@pytest.mark.parametrize("demo", [False, True])
def test_an_okx_profile_is_never_aimed_at_a_sim_url(
    vault: Vault, demo: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault.add(Profile("main", demo=demo), CREDS)
    with pytest.raises(TargetError) as err:
        resolve_target("main", SIM + "/", need="data")
    what = str(err.value)
    assert "refused" in what and "'main'" in what and SIM in what and "nothing was sent" in what
    assert "only ever sent to OKX" in what and "https://www.okx.com" in what
    assert "drop --sim" in err.value.fix and "keys add NAME --sim" in err.value.fix
    # the same when the profile is named by OKXBOT_PROFILE, and the message says where it came from
    monkeypatch.setenv("OKXBOT_PROFILE", "main")
    with pytest.raises(TargetError, match="from OKXBOT_PROFILE"):
        resolve_target(None, SIM, need="data")
    assert vault.profiles.get("main").last_used is None  # the key was not even loaded for use


def test_okx_environment_variables_are_never_aimed_at_a_sim_url(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env_key(monkeypatch)
    with pytest.raises(TargetError) as err:
        resolve_target(None, SIM, need="trade")
    assert "OKX_API_KEY" in str(err.value) and "nothing was sent" in str(err.value)
    assert "env -u OKX_API_KEY" in err.value.fix and "drop --sim" in err.value.fix


def test_a_simulator_profile_is_bound_to_its_url(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    vault.add(Profile("local", sim_url=SIM, demo=True), CREDS)
    assert vault.profiles.get("local").backend == "simfile"
    for sim in (SIM, SIM + "/", "HTTP://127.0.0.1:9999"):
        target = resolve_target("local", sim, need="trade")
        assert (target.base_url, target.sim, target.demo) == (SIM, True, True)
    # --profile alone knows its simulator
    assert resolve_target("local", None, need="trade").base_url == SIM
    with pytest.raises(TargetError, match=re.escape(f"bound to {SIM}, not to http://127.0.0.1:8888")):
        resolve_target("local", "http://127.0.0.1:8888", need="trade")
    # OKX_* are not read when a simulator profile is named: nothing of them can be sent
    set_env_key(monkeypatch)
    assert resolve_target("local", SIM, need="trade").credentials.values() == CREDS.values()


def test_sim_urls_are_checked_and_canonical(home: Path) -> None:
    assert check_sim_url("http://LOCALHOST:80/") == "http://localhost"
    assert check_sim_url("https://[::1]:8443") == "https://[::1]:8443"
    for bad, why in (
        ("localhost:8080", "not an http"),
        ("ftp://127.0.0.1", "not an http"),
        ("http://user:pw@127.0.0.1:8080", "user name"),
        ("http://127.0.0.1:8080/?x=1", "query"),
        ("https://www.okx.com", "OKX itself"),
        ("https://eea.OKX.com", "OKX itself"),
        ("http://127.0.0.1:99999", "not a URL"),
    ):
        with pytest.raises(TargetError, match=why):
            resolve_target(None, bad, need="data")


def test_environment_variables_go_to_their_region(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    vault.add(Profile("main"), CREDS)
    set_env_key(monkeypatch)
    monkeypatch.setenv("OKX_DEMO", "1")
    target = resolve_target(None, None, need="trade")
    assert target.credentials.api_key.reveal() == "env-key-0000-0000" and target.demo
    assert (target.profile, target.base_url, target.sim) == (None, REGION_HOSTS["www"], False)
    monkeypatch.setenv("OKX_REGION", "us")
    assert resolve_target(None, None, need="trade").base_url == "https://us.okx.com"
    # a named profile still wins over the environment
    assert resolve_target("main", None, need="trade").profile == "main"
    monkeypatch.delenv("OKX_PASSPHRASE")
    with pytest.raises(VaultError, match="OKX_PASSPHRASE"):
        resolve_target(None, None, need="trade")


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


def test_nothing_configured_says_what_to_do(home: Path) -> None:
    with pytest.raises(TargetError, match="no API key chosen") as err:
        resolve_target(None, None, need="data")
    assert "okxbot keys add" in err.value.fix and "--sim" in err.value.fix


def test_the_only_profile_is_the_default_and_kept_simulator_keys_do_not_count(vault: Vault) -> None:
    vault.add(Profile("sim-127.0.0.1-9999", sim_url=SIM, auto=True), CREDS)
    with pytest.raises(TargetError, match="no API key chosen"):
        resolve_target(None, None, need="trade")
    vault.add(Profile("solo"), CREDS)
    target = resolve_target(None, None, need="trade")
    assert (target.profile, target.base_url) == ("solo", "https://www.okx.com")
    vault.add(Profile("second"), CREDS)
    with pytest.raises(TargetError, match=r"profiles: second, solo\)"):
        resolve_target(None, None, need="trade")


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
