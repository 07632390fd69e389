"""Two supervisors ("machines": separate data directories) share one PostgreSQL and one Redis: each
shows and controls every bot, control actions for the other's bots go through the database, and when
one is killed (SIGKILL) the other takes its bots over once their leases expire, reconciling first."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from okxbot.serve.server import Running
from tests.serve import kit
from tests.servers import PostgresServer, RedisServer

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
LEASE_S = 3.0


def _env(home: Path, key: dict[str, Any] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OKX_", "OKXBOT_"))}
    env.update(
        OKXBOT_HOME=str(home),
        OKXBOT_KEYRING="off",
        OKXBOT_VAULT_PASSWORD_FILE=str(home.parent / f"{home.name}-vault-password"),
    )
    if key is not None:
        env.update(
            OKX_API_KEY=key["apiKey"], OKX_SECRET_KEY=key["secretKey"], OKX_PASSPHRASE=key["passphrase"]
        )
    return env


def _add_profile(home: Path, key: dict[str, Any], sim_url: str) -> None:
    """The same simulator key stored on each machine under one profile name, as a user would."""
    home.mkdir(mode=0o700, exist_ok=True)
    password = home.parent / f"{home.name}-vault-password"
    if not password.exists():
        password.write_text("vault password of this machine")
        password.chmod(0o600)
    done = subprocess.run(
        [sys.executable, "-m", "okxbot", "keys", "add", "shared", "--from-env", "--sim", sim_url],
        env=_env(home, key), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


class Supervisor:
    """`okxbot serve` as its own process (so that it can really be killed)."""

    def __init__(self, home: Path, db: str, redis: str, sid: str) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "okxbot", "serve", "--db", db, "--redis", redis, "--id", sid,
                "--port", "0", "--lease-seconds", str(LEASE_S),
            ],
            env=_env(home), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.url = ""
        self.output: list[str] = []
        found = threading.Event()

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line)
                match = re.search(r"dashboard at (\S+)/ ", line)
                if match:
                    self.url = match.group(1)
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(90):
            self.proc.kill()
            raise AssertionError("okxbot serve did not start:\n" + "".join(self.output[-40:]))

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)


def test_two_supervisors_share_postgres_and_redis(
    home: Path, sim: Any, postgres: PostgresServer, redis: RedisServer, tmp_path: Path
) -> None:
    import redis as redis_lib

    key = sim.admin(
        "POST",
        "/__sim__/keys",
        {"perm": "read_only,trade", "ip": "127.0.0.1", "balances": {"USDT": "100000", "BTC": "2"}},
    )
    home_a = tmp_path / "machine-a"
    _add_profile(home_a, key, sim.rest)
    _add_profile(home, key, sim.rest)  # machine B: this process's home
    kit.set_password(home, postgres.url)
    sup_a = Supervisor(home_a, postgres.url, redis.url, "sup-A")
    sup_b: Running | None = None
    try:
        a = kit.Client(sup_a.url)
        assert a.login().status_code == 200 and a.unlock().status_code == 200
        config = kit.grid_config("grid-s", kit.sim_mid(sim.rest))
        added = a.post("/api/bots", {"config": config, "profile": "shared", "start": True})
        assert added.status_code == 201, added.text
        sup_b = kit.start(home, db_url=postgres.url, sid="sup-B", redis_url=redis.url,
                          supervisor={"lease_ttl_s": LEASE_S, "renew_s": 1.0})  # fmt: skip
        b = kit.Client(sup_b.url)
        assert b.login().status_code == 200  # one password for both: it lives in the shared database
        assert b.unlock().status_code == 200

        # B shows A's bot, live: its status comes through the database
        def trading_on_a() -> dict[str, Any] | None:
            view = kit.bot_view(b, "grid-s")
            ok = (
                view["owner"] == "sup-A"
                and view["state"] == "running"
                and (view["status"].get("fills") or 0) > 0
            )
            return view if ok else None

        view = kit.wait_for(trading_on_a, 90, "grid-s trading on supervisor A, seen from B")
        assert view["local"] is False
        supervisors = {s["id"]: s for s in b.get("/api/supervisors").json()}
        assert supervisors["sup-A"]["bots"] == ["grid-s"] and supervisors["sup-B"]["me"]
        # A's events reach B (fills with their origin)
        kit.wait_for(
            lambda: any(
                e["kind"] == "fill" and e["origin"] == "sup-A" for e in b.get("/api/events?bot=grid-s").json()
            ),
            30,
            "A's fill events in B's event list",
        )
        # B controls A's bot: the command goes through the database and A executes it
        canceled = b.post("/api/bots/grid-s/cancel-all", {"confirm": True})
        assert canceled.status_code == 200, canceled.text
        assert canceled.json()["via"] == "sup-A"
        # the key's rate limits are counted in the shared Redis
        assert redis_lib.Redis.from_url(redis.url).keys("okxbot:rl*")

        # A dies without a word: B takes grid-s over once the lease has expired, reconciling first
        # (from the shared journal: the bot's status row may still be one from before the cancel-all)
        kit.wait_for(
            lambda: b.get("/api/orders", params={"bot": "grid-s", "state": "open"}).json()["total"] > 0,
            30,
            "grid-s orders again",
        )
        sup_a.kill()
        killed_at = time.monotonic()

        def taken_over() -> dict[str, Any] | None:
            view = kit.bot_view(b, "grid-s")
            return (
                view
                if view["owner"] == "sup-B"
                and view["state"] == "running"
                and view["status"].get("reconciliation")
                else None
            )

        view = kit.wait_for(taken_over, 90, "B running grid-s")
        assert time.monotonic() - killed_at >= LEASE_S * 0.5  # not before the lease could have run out
        rec = view["status"]["reconciliation"]
        assert rec["foreign"] == 0  # A's orders are in the shared journal: adopted, not foreign
        assert rec["journal_open_before"] > 0  # the orders A left open were picked up from the journal
        stopped = b.post("/api/bots/grid-s/stop", {"confirm": True})
        assert stopped.status_code == 200 and stopped.json()["summary"]["open_orders_left"] == "0"
        assert b.get("/api/orders", params={"bot": "grid-s", "state": "open"}).json()["total"] == 0
    finally:
        if sup_a.proc.poll() is None:
            sup_a.kill()
        if sup_b is not None:
            sup_b.stop()
