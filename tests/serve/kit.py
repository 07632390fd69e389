"""Helpers for the serve tests: a throwaway okxbot home, grid configs around the simulator's price,
a started `okxbot serve`, and an HTTP session that logs in like the dashboard does."""

from __future__ import annotations

import json
import os
import secrets
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from okxbot.serve.access import AccessStore
from okxbot.serve.db import database_url, open_engine
from okxbot.serve.passwords import hash_password
from okxbot.serve.server import Running, ServeOptions, start_serve

PASSWORD = "correct horse battery staple"
# fast loops so that tests see leases, takeovers and commands within seconds
FAST = {"lease_ttl_s": 4.0, "renew_s": 1.0, "sync_s": 0.1, "status_s": 0.25, "backoff_initial_s": 0.5}


@contextmanager
def serve_home(tmp_path: Path, monkeypatch: Any) -> Iterator[Path]:
    """A private OKXBOT_HOME with a file vault (no keyring, random password), no OKX_* variables."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    password_file = tmp_path / "vault-password"
    password_file.write_text(secrets.token_urlsafe(24), encoding="utf-8")
    password_file.chmod(0o600)
    monkeypatch.setenv("OKXBOT_HOME", str(home))
    monkeypatch.setenv("OKXBOT_KEYRING", "off")
    monkeypatch.setenv("OKXBOT_VAULT_PASSWORD_FILE", str(password_file))
    for name in ("OKXBOT_PROFILE", "OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    yield home


def set_password(home: Path, db_url: str | None = None, password: str = PASSWORD) -> None:
    AccessStore(open_engine(database_url(db_url, home))).set_password_hash(hash_password(password))


def sim_mid(sim_rest: str, inst_id: str = "BTC-USDT") -> Decimal:
    with urllib.request.urlopen(f"{sim_rest}/api/v5/market/ticker?instId={inst_id}", timeout=10) as r:  # noqa: S310
        data = json.loads(r.read())["data"][0]
    return (Decimal(data["bidPx"]) + Decimal(data["askPx"])) / 2


def grid_config(name: str, mid: Decimal, *, step_pct: str = "0.0004", levels: int = 11) -> str:
    """A grid around `mid` that trades within seconds on the simulator's market."""
    step = (mid * Decimal(step_pct)).quantize(Decimal("0.1"))
    lower = (mid - 5 * step).quantize(Decimal("0.1"))
    upper = (mid + 5 * step).quantize(Decimal("0.1"))
    return f"""name = "{name}"
symbol = "BTC/USDT"
strategy = "grid"

[grid]
lower = "{lower}"
upper = "{upper}"
levels = {levels}
size = "0.001"

[risk]
max_order_notional = "1000"
max_position = {{ BTC = "0.05" }}
daily_loss_limit = "500"

[run]
dead_man_seconds = 30
poll_seconds = 1
"""


def start(home: Path, *, db_url: str | None = None, sid: str = "sup-a", **options: Any) -> Running:
    supervisor = dict(FAST, **options.pop("supervisor", {}))
    return start_serve(
        ServeOptions(
            home=home,
            port=0,
            db_url=db_url,
            sid=sid,
            supervisor=supervisor,
            client_options={"disk_cache": False},
            **options,
        )
    )


class Client:
    """The API as the dashboard uses it: session cookie + CSRF token."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=60)
        self.csrf: str | None = None

    def login(self, password: str = PASSWORD) -> httpx.Response:
        r = self.http.post("/api/login", json={"password": password})
        if r.status_code == 200:
            self.csrf = r.json()["csrf"]
        return r

    def unlock(self, password: str = PASSWORD) -> httpx.Response:
        return self.post("/api/session/control", {"password": password})

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, body: Any = None) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf} if self.csrf else {}
        return self.http.post(path, json={} if body is None else body, headers=headers)

    def delete(self, path: str) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf or "", "Content-Type": "application/json"}
        return self.http.request("DELETE", path, content=b"{}", headers=headers)

    def close(self) -> None:
        self.http.close()


def wait_for(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy (the event itself), bounded by `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


def bot_view(client: Client, name: str) -> dict[str, Any]:
    r = client.get(f"/api/bots/{name}")
    assert r.status_code == 200, r.text
    return r.json()


def env_clear() -> None:
    os.environ.pop("OKXBOT_PROFILE", None)
