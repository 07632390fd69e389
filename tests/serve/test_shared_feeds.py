"""Bots sharing one key's client under the supervisor: every bot gets every balance change and
every ticker of its symbol (the runner reads both as ccxt handles them, through `okx_taps`), times
its own orders from the wire, and keeps running when another bot on the key stops."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from okxbot.serve.server import Running
from okxbot.trading.latency import STAGES
from tests.serve import kit

IDLE = """
from okxbot.trading.strategy import Strategy


class Idle(Strategy):
    pass
"""

# On each ticker: a post-only buy far below the market when it has none open, else cancel it. Every
# such order answers a tickers frame, so each is a tick-to-order sample.
PINGER = """
from decimal import Decimal

from okxbot.trading.strategy import Strategy, round_price


class Pinger(Strategy):
    async def on_ticker(self, ticker):
        mine = self.ctx.open_orders()
        if not mine:
            px = round_price(self.ctx.rules, self.ctx.mid() * Decimal("0.97"))
            await self.ctx.place("buy", Decimal("0.0001"), px, post_only=True)
        elif mine[0].state == "live":
            await self.ctx.cancel(mine[0].client_order_id)
"""


def _config(name: str, strategy: str) -> str:
    # poll_seconds = 60: the REST poll (every 5 polls while the channels are up) cannot be what
    # tells a bot anything within these tests
    return f"""name = "{name}"
symbol = "BTC/USDT"
strategy = "{strategy}"

[risk]
max_order_notional = "1000"
max_orders_per_minute = 1000

[run]
dead_man = false
poll_seconds = 60
"""


def _add(served: Running, sim: Any, tmp_path: Path, name: str, strategy: str, source: str) -> None:
    (tmp_path / strategy).write_text(source, encoding="utf-8")
    served.ctx.registry.add_bot(
        name, _config(name, strategy), config_path=str(tmp_path / f"{name}.toml"), sim_url=sim.rest
    )


def _start(c: kit.Client, *names: str) -> None:
    assert c.login().status_code == 200
    assert c.unlock().status_code == 200
    for name in names:
        r = c.post(f"/api/bots/{name}/start", {"confirm": True})
        assert r.status_code == 200, r.text


def _status(c: kit.Client, name: str) -> dict[str, Any]:
    view = kit.bot_view(c, name)
    return view["status"] if view["state"] == "running" else {}


def _usdt(c: kit.Client, name: str) -> dict[str, Decimal] | None:
    usdt = (_status(c, name).get("balances") or {}).get("USDT")
    if not usdt or usdt.get("spendable") is None:
        return None
    return {k: Decimal(usdt[k]) for k in ("total", "available", "frozen", "spendable")}


def test_a_balance_change_reaches_every_bot_on_the_key(
    served: Running, client: kit.Client, sim: Any, tmp_path: Path
) -> None:
    """Another program freezes USDT on the account: both bots' funds views drop by it, told by the
    account channel (the REST poll is minutes away)."""
    for name in ("funds-a", "funds-b"):
        _add(served, sim, tmp_path, name, "idle.py", IDLE)
    _start(client, "funds-a", "funds-b")
    before = {
        n: kit.wait_for(lambda n=n: _usdt(client, n), 60, f"{n}'s USDT") for n in ("funds-a", "funds-b")
    }
    shared = client.get("/api/limits").json()["shared_keys"]
    assert [sorted(bots) for bots in shared.values()] == [["funds-a", "funds-b"]]

    px = (kit.sim_mid(sim.rest) * Decimal("0.5")).quantize(Decimal("0.1"))
    amount = Decimal("0.05")
    freeze = amount * px
    assert freeze < before["funds-a"]["spendable"]  # the account can pay for it
    other = subprocess.run(
        [sys.executable, "-m", "okxbot", "buy", "BTC/USDT", str(amount), "--price", str(px),
         "--post-only", "--sim", sim.rest, "--json"],
        env=os.environ.copy(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert other.returncode == 0, other.stdout + other.stderr
    assert json.loads(other.stdout)["state"] == "live"

    def learned() -> dict[str, dict[str, Decimal]] | None:
        now = {n: _usdt(client, n) for n in before}
        ok = all(
            v is not None
            and v["frozen"] >= before[n]["frozen"] + freeze
            and v["spendable"] <= before[n]["spendable"] - freeze
            for n, v in now.items()
        )
        return now if ok else None  # type: ignore[return-value]

    after = kit.wait_for(learned, 30, "both bots to see the frozen USDT")
    for name in before:  # OKX's report, and the funds check the bot's orders are held to
        assert after[name]["available"] == before[name]["available"] - freeze
    for name in before:
        client.post(f"/api/bots/{name}/stop", {"confirm": True})


def _histogram(text: str, series: str, bot: str) -> tuple[float, float]:
    count = re.search(rf'^{series}_count{{bot="{bot}"}} (\S+)$', text, re.M)
    total = re.search(rf'^{series}_sum{{bot="{bot}"}} (\S+)$', text, re.M)
    return (float(count.group(1)) if count else 0.0, float(total.group(1)) if total else 0.0)


def test_bots_sharing_a_client_time_their_own_orders_and_outlive_each_other(
    served: Running, client: kit.Client, sim: Any, tmp_path: Path
) -> None:
    """Both bots on one key get the symbol's tickers and each has tick-to-order samples, timed at the
    shared client's sockets; /metrics and the API read exactly those samples. One bot stopping
    leaves the other trading on (no crash, no restart, its tickers still coming)."""
    for name in ("tick-a", "tick-b"):
        _add(served, sim, tmp_path, name, "pinger.py", PINGER)
    _start(client, "tick-a", "tick-b")

    def timed(name: str, at_least: int) -> dict[str, Any] | None:
        latency = _status(client, name).get("latency") or {}
        return latency if (latency.get("n") or 0) >= at_least else None

    for name in ("tick-a", "tick-b"):
        latency = kit.wait_for(lambda n=name: timed(n, 3), 60, f"{name}'s tick-to-order samples")
        assert Decimal(latency["p50_ms"]) > 0 and Decimal(latency["p99_ms"]) >= Decimal(latency["p50_ms"])
        assert [s["stage"] for s in latency["stages"]] == [name for name, _ in STAGES]
    slots = served.ctx.supervisor.slots
    managers = {name: slots[name].runner.manager for name in ("tick-a", "tick-b")}  # type: ignore[union-attr]

    assert client.post("/api/bots/tick-a/stop", {"confirm": True}).status_code == 200
    kit.wait_for(lambda: kit.bot_view(client, "tick-a")["state"] == "stopped", 60, "tick-a stopped")
    # tick-b trades on: still running on its first start, and new tickers still make it order
    so_far = len(managers["tick-b"].latency)  # type: ignore[union-attr]
    kit.wait_for(lambda: timed("tick-b", so_far + 3), 60, "tick-b's samples after tick-a stopped")
    view = kit.bot_view(client, "tick-b")
    assert view["state"] == "running" and view["restarts"] == 0, view
    assert client.post("/api/bots/tick-b/stop", {"confirm": True}).status_code == 200
    kit.wait_for(lambda: kit.bot_view(client, "tick-b")["state"] == "stopped", 60, "tick-b stopped")
    assert kit.bot_view(client, "tick-b")["restarts"] == 0

    token = served.ctx.access.create_token("prometheus", ("read",))
    with httpx.Client(base_url=served.url, timeout=30) as http:
        text = http.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
    for name, manager in managers.items():
        samples = list(manager.latency.samples)  # type: ignore[union-attr]
        assert samples, name
        for s in samples:  # frame in, parsed, decided, checked, journaled, written: in that order
            assert s.frame_ns < s.parsed_ns <= s.decided_ns <= s.checked_ns <= s.journaled_ns < s.written_ns
        count, total = _histogram(text, "okxbot_tick_to_order_seconds", name)
        assert count == len(samples), (name, count, len(samples))
        assert abs(total - sum(s.total_ns for s in samples) / 1e9) < 1e-6
        assert (
            f'okxbot_tick_to_order_stage_seconds_count{{bot="{name}",stage="journal"}} {len(samples)}.0'
            in text
        )
