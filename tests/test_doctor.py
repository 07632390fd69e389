"""`okxbot doctor` diagnoses, each produced by a key or situation set up through the simulator's admin API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from okxbot.cli.main import app
from okxbot.okx.errors import OkxPermissionError
from okxbot.okx.posture import Posture, audit, guard
from okxbot.vault.secret import Credentials, Secret
from tests.homes import private_home


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_home(tmp_path, monkeypatch, "doctor test master password")


def new_key(sim: Any, **fields: Any) -> dict[str, Any]:
    body = {"balances": {"USDT": "1000"}, "perm": "read_only,trade", "ip": "127.0.0.1"} | fields
    return sim.admin("POST", "/__sim__/keys", body)


def creds(key: dict[str, Any], **override: str) -> Credentials:
    values = {
        "api_key": key["apiKey"],
        "secret_key": key["secretKey"],
        "passphrase": key["passphrase"],
    } | override
    return Credentials(Secret(values["api_key"]), Secret(values["secret_key"]), Secret(values["passphrase"]))


def run_audit(sim: Any, credentials: Credentials, *, demo: bool = False, purpose: str = "trade") -> Posture:
    # every audit samples public/time (10 per 2 s per IP on OKX and here): start each one afresh
    sim.admin("POST", "/__sim__/reset-limits")
    return asyncio.run(audit(sim.rest, credentials, demo=demo, purpose=purpose, sim=True, samples=3))


def status(posture: Posture) -> dict[str, tuple[str, str]]:
    return {c.name: (c.status, c.detail) for c in posture.checks}


def test_healthy_trade_key_passes_everything(sim: Any) -> None:
    posture = run_audit(sim, creds(new_key(sim)))
    checks = status(posture)
    assert not posture.failed
    assert {name: s for name, (s, _) in checks.items()} == {
        "host": "pass",
        "clock": "pass",
        "credentials": "pass",
        "withdraw permission": "pass",
        "least privilege": "pass",
        "IP binding": "pass",
        "environment": "pass",
        "account mode": "pass",
        "order rate limit": "pass",
    }
    assert "Spot mode" in checks["account mode"][1] and "orders / 2 s" in checks["order rate limit"][1]
    assert posture.perm == "read_only,trade" and posture.ip == "127.0.0.1"


def test_withdraw_enabled_key_fails_and_trading_refuses_it(sim: Any) -> None:
    key = new_key(sim, perm="read_only,trade,withdraw")
    assert status(run_audit(sim, creds(key)))["withdraw permission"][0] == "fail"

    from okxbot.okx.client import ClientConfig, OkxClient

    async def pre_flight(allow: bool) -> Any:
        async with OkxClient(ClientConfig(rest_url=sim.rest, disk_cache=False), creds(key)) as client:
            return await guard(client, purpose="trade", need="trade", allow_withdraw=allow)

    with pytest.raises(OkxPermissionError, match="WITHDRAW") as err:
        asyncio.run(pre_flight(False))
    assert err.value.local and "--i-accept-withdraw-risk" in err.value.hint
    assert "withdraw" in asyncio.run(pre_flight(True)).permissions


def test_read_only_key_is_fine_for_data_and_fails_for_trading(sim: Any) -> None:
    key = new_key(sim, perm="read_only")
    assert not run_audit(sim, creds(key), purpose="data").failed
    trade = status(run_audit(sim, creds(key), purpose="trade"))
    assert trade["trade permission"][0] == "fail" and "read-only" in trade["trade permission"][1]


def test_data_profile_with_a_trading_key_warns(sim: Any) -> None:
    checks = status(run_audit(sim, creds(new_key(sim)), purpose="data"))
    assert checks["least privilege"][0] == "warn"


def test_no_ip_binding_warns_about_expiry(sim: Any) -> None:
    checks = status(run_audit(sim, creds(new_key(sim, ip=""))))
    assert checks["IP binding"][0] == "warn" and "14 days" in checks["IP binding"][1]


def test_bound_to_another_ip_fails_with_50110(sim: Any) -> None:
    checks = status(run_audit(sim, creds(new_key(sim, ip="203.0.113.7"))))
    assert checks["IP binding"][0] == "fail" and "50110" in checks["IP binding"][1]


@pytest.mark.parametrize(
    ("override", "code", "words"),
    [
        ({"passphrase": "not-the-passphrase"}, "50105", "wrong passphrase"),
        ({"secret_key": "0" * 32}, "50113", "secret key was pasted wrong"),
        ({"api_key": "00000000-0000-4000-8000-000000000000"}, "50111", "unknown API key"),
    ],
)
def test_wrong_credentials_name_the_wrong_value(
    sim: Any, override: dict[str, str], code: str, words: str
) -> None:
    posture = run_audit(sim, creds(new_key(sim), **override))
    detail = status(posture)["credentials"]
    assert detail[0] == "fail" and code in detail[1] and words in detail[1]
    assert posture.failed and "withdraw permission" not in status(posture)


def test_demo_key_on_live_fails_with_50101(sim: Any) -> None:
    detail = status(run_audit(sim, creds(new_key(sim, demo=True)), demo=False))["credentials"]
    assert detail[0] == "fail" and "50101" in detail[1] and "demo" in detail[1]
    assert not run_audit(sim, creds(new_key(sim, demo=True)), demo=True).failed


@pytest.fixture
def skewed_clock(sim: Any) -> Iterator[None]:
    sim.admin("POST", "/__sim__/clock", {"offsetMs": 40_000})
    try:
        yield
    finally:
        sim.admin("POST", "/__sim__/clock", {"offsetMs": 0})


def test_skewed_clock_fails_and_small_skew_warns(sim: Any, skewed_clock: None) -> None:
    checks = status(run_audit(sim, creds(new_key(sim))))
    assert checks["clock"][0] == "fail" and "behind OKX" in checks["clock"][1]
    # okxbot signs with the corrected clock, so the key itself still works
    assert checks["credentials"][0] == "pass"
    sim.admin("POST", "/__sim__/clock", {"offsetMs": 2_000})
    assert status(run_audit(sim, creds(new_key(sim))))["clock"][0] == "warn"


def test_unreachable_host_fails_first(sim: Any) -> None:
    posture = asyncio.run(
        audit("http://127.0.0.1:9", creds(new_key(sim)), demo=False, purpose="trade", samples=1)
    )
    assert [(c.name, c.status) for c in posture.checks] == [("host", "fail")]


def test_cli_json_exit_status_and_last_check_recorded(sim: Any) -> None:
    runner = CliRunner()
    good, bad = new_key(sim), new_key(sim, perm="read_only,trade,withdraw", ip="")
    for name, key in (("good", good), ("bad", bad)):
        env = {
            "OKX_API_KEY": key["apiKey"],
            "OKX_SECRET_KEY": key["secretKey"],
            "OKX_PASSPHRASE": key["passphrase"],
        }
        added = runner.invoke(app, ["keys", "add", name, "--from-env", "--sim", sim.rest], env=env)
        assert added.exit_code == 0, added.output

    sim.admin("POST", "/__sim__/reset-limits")
    ok = runner.invoke(app, ["doctor", "--profile", "good", "--sim", sim.rest, "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["ok"] is True

    sim.admin("POST", "/__sim__/reset-limits")
    failed = runner.invoke(app, ["doctor", "--profile", "bad", "--sim", sim.rest])
    assert failed.exit_code == 1
    assert "withdraw permission" in failed.stdout and "fail" in failed.stdout

    listed = {p["name"]: p for p in json.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout)}
    assert listed["bad"]["last_check"]["perm"] == "read_only,trade,withdraw"
    assert listed["bad"]["last_check"]["ip"] == ""
    assert listed["good"]["last_check"]["ip"] == "127.0.0.1"


def test_cli_unknown_profile_is_exit_2(sim: Any) -> None:
    result = CliRunner().invoke(app, ["doctor", "--profile", "ghost", "--sim", sim.rest])
    assert result.exit_code == 2 and "okxbot keys add ghost" in result.stderr
