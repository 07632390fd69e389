"""`okxbot sim serve` as a user runs it: one JSON ready line, usable keys, clean stop on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from okxbot.sim.server import admin_call
from tests.sim.okx_http import signed

pytestmark = pytest.mark.timeout(60)


def serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "okxbot", "sim", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    config = tmp_path / "sim.toml"
    config.write_text('market = true\n[balances]\nUSDT = "2500.5"\nBTC = "0.25"\n', encoding="utf-8")
    process = serve("--seed", "11", "--config", str(config))
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        yield process, ready
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_the_ready_line_and_its_keys_work(served: tuple[subprocess.Popen[str], dict[str, Any]]) -> None:
    process, ready = served
    assert set(ready) == {"rest", "ws", "keys"}
    assert ready["rest"].startswith("http://127.0.0.1:")
    port = ready["rest"].rsplit(":", 1)[1]
    assert ready["ws"] == f"ws://127.0.0.1:{port}/ws/v5"
    live = [k for k in ready["keys"] if not k["demo"]]
    demo = [k for k in ready["keys"] if k["demo"]]
    assert live and demo
    for key in ready["keys"]:
        assert {"apiKey", "secretKey", "passphrase", "perm", "ip", "demo", "uid"} <= set(key)
        assert (key["perm"], key["ip"]) == ("read_only,trade", "127.0.0.1")
    balance = signed(ready["rest"], live[0], "GET", "/api/v5/account/balance").json()
    assert balance["code"] == "0"
    assert {d["ccy"]: d["cashBal"] for d in balance["data"][0]["details"]} == {
        "BTC": "0.25",
        "USDT": "2500.5",
    }
    assert signed(ready["rest"], demo[0], "GET", "/api/v5/account/balance").json()["code"] == "0"

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    assert process.stdout is not None and process.stdout.read() == ""  # exactly one line was printed


def test_a_bad_config_file_is_explained(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[balances]\nUSDT = "a lot"\n', encoding="utf-8")
    process = serve("--config", str(config))
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "balances.USDT must be a decimal amount" in err
    assert "Traceback" not in err
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("speed = 3\n", encoding="utf-8")
    process = serve("--config", str(unknown))
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "unknown simulator setting(s) ['speed']" in err


def test_realism_flags_set_the_asynchrony_and_bad_values_are_explained() -> None:
    process = serve("--realism", "--cancel-lag-ms", "75", "--late-exec-share", "0.25")
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        settings = admin_call(ready["rest"], "GET", "/__sim__/realism")
        # the preset, with the two flags given on top of it
        assert {
            k: settings[k] for k in ("lateExecMs", "lateExecShare", "cancelLagMs", "amendLagMs", "readLagMs")
        } == {
            "lateExecMs": 400,
            "lateExecShare": "0.25",
            "cancelLagMs": 75,
            "amendLagMs": 150,
            "readLagMs": 200,
        }
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
    # without flags everything is off
    process = serve()
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        settings = admin_call(ready["rest"], "GET", "/__sim__/realism")
        assert (settings["lateExecMs"], settings["cancelLagMs"], settings["readLagMs"]) == (0, 0, 0)
    finally:
        process.kill()
        process.wait(timeout=10)
    process = serve("--late-exec-share", "2")
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "--late-exec-share: lateExecShare must be a number from 0 to 1" in err
    assert "Traceback" not in err
