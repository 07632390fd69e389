"""A key goes only where it belongs: with `--sim URL`, no command sends a byte of an OKX key.

A capturing proxy stands in as the `--sim` URL (a real simulator behind it, so commands run end to
end) while a live OKX profile is stored and OKX_API_KEY / OKX_SECRET_KEY / OKX_PASSPHRASE are set.
Every exchange command is tried with the OKX profile (refused), with the OKX_* variables (refused),
with a simulator profile bound to the URL, and with okxbot's own simulator account for the URL. The
proxy must have received no form of the OKX values, and no signature made with the OKX secrets over
any request or WebSocket login it received.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from okxbot.cli.main import app
from okxbot.sim.server import RunningSim
from okxbot.vault import redact
from okxbot.vault.profiles import Profile
from okxbot.vault.secret import Credentials, Secret
from okxbot.vault.store import Vault
from tests.capture import CaptureProxy
from tests.okx.simkit import credentials, new_key

LIVE = Credentials(
    Secret("6f1d2c3b-4a59-4e8d-9c7b-0a1b2c3d4e5f"),
    Secret("C0FFEE00C0FFEE00C0FFEE00C0FFEE00"),
    Secret("Live-Passphrase-12"),
)
ENV = Credentials(
    Secret("0a9b8c7d-6e5f-4a3b-8c1d-2e3f4a5b6c7d"),
    Secret("BADC0DE0BADC0DE0BADC0DE0BADC0DE0"),
    Secret("Env-Passphrase-34"),
)
runner = CliRunner()


def exchange_commands(config: Path) -> list[list[str]]:
    """Every command that talks to an exchange, as a user would type it."""
    return [
        ["balance"],
        ["ticker", "BTC/USDT"],
        ["buy", "BTC/USDT", "0.001", "--price", "20000"],
        ["sell", "BTC/USDT", "0.001", "--price", "900000"],
        ["orders"],
        ["cancel", "--all", "BTC/USDT"],
        ["fills"],
        ["run", str(config), "--seconds", "3", "--no-live"],
        ["doctor"],
        ["panic"],
    ]


@pytest.fixture
def setting(
    sim: RunningSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[CaptureProxy, Path]]:
    """A home holding a live OKX profile, OKX_* set, and a capturing proxy in front of the simulator."""
    password = tmp_path / "pw"
    password.write_text("destinations master password")
    password.chmod(0o600)
    monkeypatch.setenv("OKXBOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OKXBOT_VAULT_PASSWORD_FILE", str(password))
    monkeypatch.setenv("OKXBOT_KEYRING", "off")
    monkeypatch.setenv("OKXBOT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("OKXBOT_PROFILE", raising=False)
    for name, value in zip(("OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE"), ENV.values(), strict=True):
        monkeypatch.setenv(name, value)
    Vault(kdf_log2_n=14).add(Profile("live"), LIVE)
    mid = Decimal(str(sim.call(lambda: sim.ctx.market.fair_price("BTC-USDT"))))
    step = (mid * Decimal("0.001")).quantize(Decimal("0.1"))
    config = tmp_path / "grid.toml"
    config.write_text(
        f'name = "dest"\nsymbol = "BTC/USDT"\nstrategy = "grid"\n\n[grid]\nlower = "{mid - 3 * step}"\n'
        f'upper = "{mid + 3 * step}"\nlevels = 6\nsize = "0.001"\n\n[run]\npoll_seconds = 0.5\n'
    )
    with CaptureProxy(sim.rest) as proxy:
        yield proxy, config


def _sign(secret: str, message: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()).decode()


def signatures_by(secret: str, proxy: CaptureProxy) -> set[str]:
    """The signature `secret` makes over every request and WebSocket login the proxy received."""
    made = set()
    for request in proxy.requests:
        stamp = request.header("OK-ACCESS-TIMESTAMP")
        if stamp:
            made.add(_sign(secret, stamp + request.method + request.path_qs + request.body.decode()))
    for frame in proxy.frames:
        try:
            message = json.loads(frame)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("op") == "login":
            for arg in message.get("args", []):
                made.add(_sign(secret, f"{arg.get('timestamp')}GET/users/self/verify"))
    return made


def assert_nothing_of(creds: Credentials, proxy: CaptureProxy, what: str) -> None:
    received = proxy.everything()
    for value in creds.values():
        for form in redact.forms(value):
            assert form.encode() not in received, f"{what}: a form of an OKX value reached the --sim URL"
    for signature in signatures_by(creds.secret_key.reveal(), proxy):
        assert signature.encode() not in received, f"{what}: a signature by the OKX secret reached the URL"


def test_okx_keys_with_sim_are_refused_and_nothing_is_sent(setting: tuple[CaptureProxy, Path]) -> None:
    proxy, config = setting
    for command in exchange_commands(config):
        for extra in ([], ["--profile", "live"]):
            result = runner.invoke(app, [*command, *extra, "--sim", proxy.url])
            assert result.exit_code == 2, (command, extra, result.output)
            assert "refused" in result.stderr and "nothing was sent" in result.stderr
            assert ("OKX_API_KEY" if not extra else "profile 'live'") in result.stderr
            assert "Fix:" in result.stderr and "Traceback" not in result.output
    assert proxy.requests == [] and proxy.frames == []


def test_simulator_keys_run_every_command_and_no_okx_byte_is_sent(
    sim: RunningSim, setting: tuple[CaptureProxy, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy, config = setting
    key = new_key(sim, balances={"USDT": "100000", "BTC": "1"}, ip="127.0.0.1")
    added = runner.invoke(
        app, ["keys", "add", "local", "--sim", proxy.url, "--from-env"], env=dict(zip(
            ("OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE"), credentials(key).values(), strict=True
        )),
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "bound to " + proxy.url in added.stdout

    # a simulator profile, with OKX_* still set and the live profile stored
    for command in exchange_commands(config):
        sim.admin("POST", "/__sim__/reset-limits")
        result = runner.invoke(app, [*command, "--profile", "local", "--sim", proxy.url])
        assert result.exit_code in (0, 1), (command, result.output)  # panic: 1 when a step was not done
        assert "refused" not in result.stderr, (command, result.output)
    # okxbot's own simulator account (OKX_* must be unset for that, the live profile stays)
    for name in ("OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE"):
        monkeypatch.delenv(name)
    for command in exchange_commands(config):
        sim.admin("POST", "/__sim__/reset-limits")
        result = runner.invoke(app, [*command, "--sim", proxy.url])
        assert result.exit_code in (0, 1), (command, result.output)

    assert_nothing_of(LIVE, proxy, "live profile")
    assert_nothing_of(ENV, proxy, "OKX_* variables")

    # the scan can fail: the simulator keys' own bytes and signatures are all there
    received = proxy.everything()
    vault = Vault()
    kept = [p.name for p in vault.profiles.all() if p.auto]
    assert len(kept) == 1
    for name in ("local", kept[0]):
        sim_creds = vault.credentials(name)
        assert sim_creds.api_key.reveal().encode() in received
        made = signatures_by(sim_creds.secret_key.reveal(), proxy)
        assert any(signature.encode() in received for signature in made), name
    paths = {r.path_qs.split("?")[0] for r in proxy.requests}
    assert {"/api/v5/trade/order", "/api/v5/account/balance", "/api/v5/trade/fills"} <= paths
    logins = [f for f in proxy.frames if b'"login"' in f]
    assert logins, "the bot logged in on the private WebSocket through the proxy"
