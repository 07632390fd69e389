"""The keyring path against a real Secret Service: Debian's gnome-keyring in a D-Bus session started
here, unlocked with a test password; okxbot's real CLI stores and reads keys through it.

Outside CI a missing gnome-keyring / dbus skips; with CI=true it fails (`.ci/run` installs them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from okxbot.sim.server import RunningSim
from tests.okx.simkit import new_key
from tests.servers import unavailable

UNLOCK_PASSWORD = "gnome keyring test password"
LIVE = ("3c4d5e6f-aaaa-4bbb-8ccc-0d1e2f3a4b5c", "D" * 32, "Secret-Service-Pass-1")


def _service_ready(env: dict[str, str]) -> bool:
    """True once org.freedesktop.secrets answers on the session bus (asked in a child: jeepney reads
    DBUS_SESSION_BUS_ADDRESS from the environment)."""
    probe = (
        "import secretstorage, contextlib\n"
        "with contextlib.closing(secretstorage.dbus_init()) as bus:\n"
        "    raise SystemExit(0 if secretstorage.check_service_availability(bus) else 1)\n"
    )
    return (
        subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, timeout=20).returncode
        == 0
    )


@pytest.fixture
def secret_service(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a fresh D-Bus session with an unlocked gnome-keyring Secret Service in it."""
    daemon, keyring_daemon = shutil.which("dbus-daemon"), shutil.which("gnome-keyring-daemon")
    if daemon is None or keyring_daemon is None:
        unavailable("dbus-daemon or gnome-keyring-daemon is not installed (.ci/run installs them)")
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DBUS_", "OKX_", "GNOME_KEYRING", "OKXBOT_"))
    } | {
        "HOME": str(tmp_path / "home"),
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    (tmp_path / "home").mkdir()
    bus = subprocess.Popen(
        [daemon, "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    keyring_proc: subprocess.Popen[bytes] | None = None
    try:
        assert bus.stdout is not None
        address = bus.stdout.readline().strip()
        if not address:
            unavailable(f"dbus-daemon did not start: {bus.stderr.read() if bus.stderr else ''}")
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        keyring_proc = subprocess.Popen(
            [keyring_daemon, "--unlock", "--components=secrets", "--foreground"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
        )  # fmt: skip
        assert keyring_proc.stdin is not None
        keyring_proc.stdin.write(UNLOCK_PASSWORD.encode())
        keyring_proc.stdin.close()
        deadline = time.monotonic() + 30
        while not _service_ready(env):
            if keyring_proc.poll() is not None or time.monotonic() > deadline:
                err = keyring_proc.stderr.read().decode(errors="replace") if keyring_proc.stderr else ""
                unavailable(f"gnome-keyring-daemon did not provide the Secret Service: {err[-500:]}")
            time.sleep(0.1)  # retry the readiness probe; the loop waits on the service itself
        yield env
    finally:
        for proc in (keyring_proc, bus):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)


def okxbot(
    env: dict[str, str], *args: str, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "okxbot", *args],
        env=env | (extra or {}), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def lookup(env: dict[str, str], name: str) -> str:
    """What the Secret Service itself holds for okxbot's entry `name` (read with libsecret's secret-tool)."""
    tool = shutil.which("secret-tool")
    if tool is None:
        unavailable("secret-tool is not installed (libsecret-tools; .ci/run installs it)")
    found = subprocess.run(
        [tool, "lookup", "service", "okxbot", "username", name], env=env, capture_output=True, text=True, timeout=20
    )  # fmt: skip
    return found.stdout


def key_env(values: tuple[str, str, str]) -> dict[str, str]:
    return dict(zip(("OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE"), values, strict=True))


def test_keys_are_stored_in_and_read_from_the_real_secret_service(
    secret_service: dict[str, str], sim: RunningSim, tmp_path: Path
) -> None:
    env = secret_service | {"OKXBOT_HOME": str(tmp_path / "okxbot"), "OKXBOT_CACHE_DIR": str(tmp_path / "c")}

    added = okxbot(env, "keys", "add", "main", "--from-env", extra=key_env(LIVE))
    assert added.returncode == 0, added.stderr
    assert "Stored in the OS keyring (keyring.backends.SecretService.Keyring)" in added.stdout
    assert "not using the keyring" not in added.stderr
    assert not (tmp_path / "okxbot" / "vault.bin").exists()
    stored = json.loads(lookup(env, "main"))
    assert (stored["api_key"], stored["secret_key"], stored["passphrase"]) == LIVE
    assert "OS keyring" in okxbot(env, "keys", "show", "main").stdout

    # a simulator key goes to the same keyring, and a real command reads it back to trade with it
    key: dict[str, Any] = new_key(sim, balances={"USDT": "4321"})
    sim_values = (key["apiKey"], key["secretKey"], key["passphrase"])
    local = okxbot(env, "keys", "add", "local", "--sim", sim.rest, "--from-env", extra=key_env(sim_values))
    assert local.returncode == 0 and "OS keyring" in local.stdout, local.stderr
    assert json.loads(lookup(env, "local"))["secret_key"] == key["secretKey"]
    balance = okxbot(env, "balance", "--profile", "local", "--json")
    assert balance.returncode == 0, balance.stderr
    assert json.loads(balance.stdout)["USDT"]["available"] == "4321"

    removed = okxbot(env, "keys", "remove", "main", "--yes")
    assert removed.returncode == 0 and lookup(env, "main") == ""
    assert lookup(env, "local") != ""
