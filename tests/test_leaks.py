"""With DEBUG logging on for okxbot and ccxt, no command leaks a secret anywhere a user could look.

Searched: the log file, every command's stdout and stderr, and every file okxbot wrote (vault,
profiles, pid files, panic reports, caches, any journal database under OKXBOT_HOME).
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from okxbot.cli.main import app

# A signature is base64 of a 32-byte HMAC: 44 characters ending in "=".
SIGNATURE = re.compile(r"OK-ACCESS-SIGN['\"]?\s*[:=]\s*['\"]?([A-Za-z0-9+/]{43}=)")


@pytest.fixture
def debug_log(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "debug.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "ccxt", "okxbot", "aiohttp")}
    root.addHandler(handler)
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    password = tmp_path / "pw"
    password.write_text("leak test master password")
    password.chmod(0o600)
    monkeypatch.setenv("OKXBOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OKXBOT_VAULT_PASSWORD_FILE", str(password))
    monkeypatch.setenv("OKXBOT_KEYRING", "off")
    monkeypatch.setenv("OKXBOT_CACHE_DIR", str(tmp_path / "home" / "cache"))
    for name in ("OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE", "OKXBOT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


def _trading_app() -> Any:
    """The main app with the trading commands (registered here if main.py does not do it yet)."""
    from okxbot.cli import trade

    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    if "buy" not in names:
        trade.register(app)
    return app


def test_no_secret_reaches_logs_output_or_files(sim: Any, home: Path, debug_log: Path) -> None:
    cli = _trading_app()
    runner = CliRunner()
    key = sim.admin(
        "POST",
        "/__sim__/keys",
        {"balances": {"USDT": "100000"}, "perm": "read_only,trade", "ip": "127.0.0.1"},
    )
    other = sim.admin(
        "POST", "/__sim__/keys", {"balances": {"USDT": "10"}, "perm": "read_only", "ip": "127.0.0.1"}
    )
    env = {
        "OKX_API_KEY": key["apiKey"],
        "OKX_SECRET_KEY": key["secretKey"],
        "OKX_PASSPHRASE": key["passphrase"],
    }
    wrong = {
        "OKX_API_KEY": other["apiKey"],
        "OKX_SECRET_KEY": other["secretKey"],
        "OKX_PASSPHRASE": "wrong-Passphrase-77",
    }
    profile = ["--profile", "main", "--sim", sim.rest]

    commands: list[tuple[list[str], dict[str, str] | None]] = [
        (["keys", "add", "main", "--from-env", "--sim", sim.rest], env),
        (["keys", "add", "wrong", "--from-env", "--sim", sim.rest], wrong),
        (["keys", "list"], None),
        (["keys", "list", "--json"], None),
        (["keys", "show", "main"], None),
        (["keys", "show", "main", "--json"], None),
        (["doctor", *profile], None),
        (["doctor", *profile, "--json"], None),
        (["doctor", "--profile", "wrong", "--sim", sim.rest, "--json"], None),  # 50105: error path logs too
        (["balance", *profile], None),
        (["balance", *profile, "--json"], None),
        (["buy", "BTC/USDT", "0.001", "--price", "20000", *profile], None),
        (["buy", "ETH/USDT", "0.01", "--price", "1000", *profile, "--json"], None),
        (["sell", "BTC/USDT", "5", "--price", "90000", *profile], None),  # insufficient BTC: error path
        (["orders", *profile], None),
        (["fills", *profile], None),
        (["cancel", "--all", *profile], None),
        (["buy", "SOL/USDT", "0.1", "--price", "40", *profile], None),
        (["panic", *profile], None),
        (["panic", *profile, "--json"], None),
        (["keys", "rotate", "main", "--from-env"], env),
        (["keys", "remove", "main", "--yes"], None),
    ]
    outputs = []
    for args, extra in commands:
        sim.admin("POST", "/__sim__/reset-limits")
        result = runner.invoke(cli, args, env=extra)
        assert result.exit_code in (0, 1), (args, result.output)
        outputs.append(f"$ {' '.join(args)}\n{result.stdout}\n{result.stderr}")

    log = debug_log.read_text()
    # the test must be able to fail: ccxt really logged signed requests at DEBUG
    assert "OK-ACCESS-SIGN" in log and "OK-ACCESS-PASSPHRASE" in log and "Request:" in log

    files = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    assert any(p.name == "report.json" for p in files)  # panic wrote its report
    texts = {"log": log, "output": "\n".join(outputs)} | {
        str(p): blob.decode("utf-8", errors="replace") for p, blob in files.items()
    }
    secrets = [
        key["apiKey"],
        key["secretKey"],
        key["passphrase"],
        other["apiKey"],
        other["secretKey"],
        wrong["OKX_PASSPHRASE"],
    ]
    secrets += [urllib.parse.quote(s, safe="") for s in secrets]
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"a secret leaked into {where}"
        assert not SIGNATURE.search(text), f"a request signature leaked into {where}"
    for path, blob in files.items():
        for secret in secrets:
            assert secret.encode() not in blob, f"a secret leaked into {path}"


def test_no_secret_in_serve_pages_api_or_logs(sim: Any, home: Path, debug_log: Path) -> None:
    """okxbot serve: every page, API answer (each GET route, by session and by token), /metrics,
    the live stream, the bot logs and the database hold no key secret, dashboard password, API
    token or session cookie; nor does the DEBUG log. With alerts on: no Telegram bot token, webhook
    URL or webhook secret anywhere, and no key secret in what Telegram and the webhook received."""
    from reliability.serve_leaks import collect

    key = sim.admin(
        "POST",
        "/__sim__/keys",
        {"balances": {"USDT": "100000", "BTC": "2"}, "perm": "read_only,trade", "ip": "127.0.0.1"},
    )
    env = {
        "OKX_API_KEY": key["apiKey"],
        "OKX_SECRET_KEY": key["secretKey"],
        "OKX_PASSPHRASE": key["passphrase"],
    }
    added = CliRunner().invoke(app, ["keys", "add", "main", "--from-env", "--sim", sim.rest], env=env)
    assert added.exit_code == 0, added.output
    # the scan's own HTTP client would log the cookies okxbot sets for it (httpcore's DEBUG lines of
    # response headers): not okxbot's log. httpx stays on: it logs python-telegram-bot's request URLs,
    # which hold the bot token
    quiet = {name: logging.getLogger(name).level for name in ("httpcore",)}
    for name in quiet:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        texts, extra = collect(sim, home, "main")
    finally:
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)
    texts["DEBUG log"] = debug_log.read_text()
    assert "OK-ACCESS-SIGN" in texts["DEBUG log"]  # the scan can fail: signed requests were logged
    # ... the alerts did go out
    assert "leak-serve: " in texts["messages sent to Telegram"]  # a fill alert
    assert '"kind":"fill"' in texts["webhook deliveries"]
    assert any('"fills": ' in t or '"fills":' in t for t in texts.values())  # the bot did trade
    secrets = {
        "API key": [key["apiKey"]],
        "secret key": [key["secretKey"]],
        "passphrase": [key["passphrase"]],
        **extra,
    }
    for where, text in texts.items():
        for what, values in secrets.items():
            for value in values:
                for form in {value, urllib.parse.quote(value, safe="")}:
                    assert form not in text, f"{what} leaked into {where}"
        assert not SIGNATURE.search(text), f"a request signature leaked into {where}"
    # the scan can fail: Telegram's request URLs (the token in their path) were logged, masked
    assert "/bot********/getUpdates" in texts["DEBUG log"]
