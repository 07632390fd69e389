"""Leaks through `okxbot serve`: a bot trades under the supervisor with DEBUG logging on, then every
page, every API answer (session and token, every GET route the app has), /metrics, the live stream,
the logs and every file written are collected, to be searched for the key's secrets, the dashboard
password, the API token and the session cookie.

The alerts run too: Telegram (set up through the CLI against the tests' local fake of the Bot API,
tests/telegram_fake.py; the owner and a stranger send commands) and a webhook (tests/webhook_receiver.py).
What Telegram and the webhook received is searched for the key's secrets, and everything else for
the bot token, the webhook's URL and its signing secret."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from okxbot.serve.access import AccessStore
from okxbot.serve.app import route_table
from okxbot.serve.db import database_url, open_engine
from okxbot.serve.passwords import hash_password
from okxbot.serve.server import ServeOptions, start_serve
from okxbot.sim.server import RunningSim

DASHBOARD_PASSWORD = "leak-scan dashboard password 7731"  # noqa: S105 (the value the scan searches for)


def _grid(sim: RunningSim) -> str:
    with urllib.request.urlopen(f"{sim.rest}/api/v5/market/ticker?instId=BTC-USDT", timeout=10) as r:  # noqa: S310
        data = json.loads(r.read())["data"][0]
    mid = (Decimal(data["bidPx"]) + Decimal(data["askPx"])) / 2
    step = (mid * Decimal("0.0004")).quantize(Decimal("0.1"))
    return (
        f'name = "leak-serve"\nsymbol = "BTC/USDT"\nstrategy = "grid"\n[grid]\n'
        f'lower = "{(mid - 5 * step).quantize(Decimal("0.1"))}"\nupper = "{(mid + 5 * step).quantize(Decimal("0.1"))}"\n'
        'levels = 11\nsize = "0.001"\n[run]\npoll_seconds = 1\ndead_man_seconds = 30\n'
    )


def collect(
    sim: RunningSim, home: Path, profile: str, seconds: float = 60.0
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(texts by where they were seen, extra secrets: dashboard password, token, session cookie).
    `profile` is a simulator profile in `home`'s vault holding the key under test."""
    from tests.telegram_fake import FakeTelegram, make_token
    from tests.webhook_receiver import Receiver

    store = AccessStore(open_engine(database_url(None, home)))
    store.set_password_hash(hash_password(DASHBOARD_PASSWORD))
    token = store.create_token("leak-scan", ("read", "control"))
    telegram = FakeTelegram(make_token()).start()
    hook_secret = secrets.token_urlsafe(32)
    receiver = Receiver(hook_secret, path=f"/hooks/{secrets.token_urlsafe(16)}").start()
    _alerts_setup(home, telegram, receiver, hook_secret)
    running = start_serve(
        ServeOptions(home=home, port=0, sid="leak-scan", client_options={"disk_cache": False},
                     supervisor={"sync_s": 0.1, "status_s": 0.25},
                     alerts={"reload_s": 0.3, "poll_timeout_s": 2, "min_interval_s": 0.05})
    )  # fmt: skip
    texts: dict[str, str] = {}
    cookie = ""
    try:
        http = httpx.Client(base_url=running.url, timeout=60)
        wrong = http.post("/api/login", json={"password": DASHBOARD_PASSWORD + "x"})
        texts["wrong-password answer"] = wrong.text
        login = http.post("/api/login", json={"password": DASHBOARD_PASSWORD})
        csrf = login.json()["csrf"]
        cookie = http.cookies.get("okxbot_session") or ""
        texts["login answer"] = login.text
        head = {"X-CSRF-Token": csrf}
        http.post("/api/session/control", json={"password": DASHBOARD_PASSWORD}, headers=head)
        added = http.post(
            "/api/bots", json={"config": _grid(sim), "profile": profile, "start": True}, headers=head
        )
        texts["add-bot answer"] = added.text
        stream: list[str] = []

        def listen() -> None:
            try:
                with http.stream("GET", "/api/stream", timeout=seconds + 30) as s:
                    for line in s.iter_lines():
                        stream.append(line)
                        if len(stream) > 400:
                            return
            except httpx.HTTPError:
                return

        threading.Thread(target=listen, daemon=True).start()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            status = http.get("/api/bots/leak-serve").json().get("status", {})
            if (status.get("fills") or 0) >= 2:
                break
            time.sleep(0.2)
        bearer = {"Authorization": f"Bearer {token}"}
        for route in route_table(running.app):
            path = route["path"]
            if "GET" not in route["methods"] or route["mount"] or path == "/api/stream":
                continue
            concrete = re.sub(r"\{name\}", "leak-serve", path).replace("{profile}", profile)
            concrete = re.sub(r"\{[^}]+\}", "x", concrete)
            texts[f"GET {concrete} (session)"] = http.get(concrete).text
            texts[f"GET {concrete} (token)"] = httpx.get(
                running.url + concrete, headers=bearer, timeout=60
            ).text
        for asset in (
            "index.html",
            "app.js",
            "api.js",
            "bot.js",
            "overview.js",
            "pages.js",
            "ui.js",
            "dom.js",
        ):
            texts[f"static {asset}"] = http.get(f"/static/{asset}").text
        texts["posture check"] = http.post(f"/api/posture/{profile}/check", json={}, headers=head).text
        _telegram_session(telegram)
        texts["stop answer"] = http.post(
            "/api/bots/leak-serve/stop", json={"confirm": True}, headers=head
        ).text
        texts["live stream"] = "\n".join(stream)
        http.close()
    finally:
        running.stop()
        texts["messages sent to Telegram"] = "\n".join(json.dumps(params) for _, params in telegram.calls())
        texts["webhook deliveries"] = "\n".join(
            json.dumps(d.headers) + "\n" + d.body.decode() for d in receiver.all()
        )
        telegram.stop()
        receiver.stop()
    for path in home.rglob("*"):
        if path.is_file():
            texts[f"file {path.relative_to(home)}"] = path.read_bytes().decode("utf-8", errors="replace")
    # okxb_<id>_<secret>: the id is hex, the secret (token_urlsafe) may itself hold "_"
    extra = {"dashboard password": [DASHBOARD_PASSWORD], "API token": [token, token.split("_", 2)[2]]}
    alert_secrets = {
        "Telegram bot token": [telegram.token, telegram.token.split(":", 1)[1]],
        "webhook secret": [hook_secret],
        "webhook URL": [receiver.url],
    }
    extra |= alert_secrets
    if cookie:
        extra["session cookie"] = [cookie]
    return texts, extra


OWNER = 5_551_234_567
STRANGER = 6_660_000_001


def _alerts_setup(home: Path, telegram: Any, receiver: Any, hook_secret: str) -> None:
    """Telegram and a webhook set up through the CLI, as a user does (token and secret from files)."""
    from typer.testing import CliRunner

    from okxbot.cli.main import app

    env = {"OKXBOT_HOME": str(home)}
    token_file, secret_file = home / ".leak-telegram-token", home / ".leak-webhook-secret"
    for path, value in ((token_file, telegram.token), (secret_file, hook_secret)):
        path.write_text(value)
        path.chmod(0o600)
    runner = CliRunner()
    for args in (
        ["serve", "telegram", "setup", "--token-file", str(token_file), "--api-url", telegram.url,
         "--chat-id", str(OWNER)],
        ["serve", "webhook", "add", "leak-hook", receiver.url, "--secret-file", str(secret_file)],
    ):  # fmt: skip
        result = runner.invoke(app, args, env=env)
        if result.exit_code != 0:
            raise RuntimeError(f"okxbot {' '.join(args[:3])} failed: {result.output}")
    token_file.unlink()
    secret_file.unlink()
    telegram.add_chat(OWNER)


def _telegram_session(telegram: Any) -> None:
    """The owner uses every read command, asks to stop the bot and to panic (never confirmed); a
    stranger tries too. Waits for the owner's answers."""
    telegram.send(STRANGER, "/start", name="Stranger")
    telegram.send(STRANGER, "/status", name="Stranger")
    for command in ("/status", "/bots", "/balance", "/profit", "/daily", "/stop leak-serve", "/panic main"):
        before = len(telegram.sent(OWNER))
        telegram.send(OWNER, command)
        telegram.wait_sent(
            OWNER, lambda m, n=before: len(telegram.sent(OWNER)) > n, 60, f"an answer to {command}"
        )
