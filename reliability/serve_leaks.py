"""Leaks through `okxbot serve`: a bot trades under the supervisor with DEBUG logging on, then every
page, every API answer (session and token, every GET route the app has), /metrics, the live stream,
the logs and every file written are collected, to be searched for the key's secrets, the dashboard
password, the API token and the session cookie."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

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
    store = AccessStore(open_engine(database_url(None, home)))
    store.set_password_hash(hash_password(DASHBOARD_PASSWORD))
    token = store.create_token("leak-scan", ("read", "control"))
    running = start_serve(
        ServeOptions(home=home, port=0, sid="leak-scan", client_options={"disk_cache": False},
                     supervisor={"sync_s": 0.1, "status_s": 0.25})
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
        texts["stop answer"] = http.post(
            "/api/bots/leak-serve/stop", json={"confirm": True}, headers=head
        ).text
        texts["live stream"] = "\n".join(stream)
        http.close()
    finally:
        running.stop()
    for path in home.rglob("*"):
        if path.is_file():
            texts[f"file {path.relative_to(home)}"] = path.read_bytes().decode("utf-8", errors="replace")
    extra = {"dashboard password": [DASHBOARD_PASSWORD], "API token": [token, token.rsplit("_", 1)[1]]}
    if cookie:
        extra["session cookie"] = [cookie]
    return texts, extra
