"""Access: the simulator's admin API and okxbot's local servers answer only on loopback, and a
withdraw-enabled key is refused by every trading path before any order request leaves."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

from okxbot.okx.client import ClientConfig, OkxClient
from okxbot.okx.errors import OkxError
from okxbot.sim.server import RunningSim, start_sim
from reliability.checks import Check, Sizes
from reliability.env import (
    credentials,
    exchange_orders,
    new_key,
    order_requests,
    scratch_home,
    sim_profile_env,
)

SECTION = "access"
ADMIN = [
    ("GET", "/__sim__/stats"),
    ("GET", "/__sim__/ws-stats"),
    ("POST", "/__sim__/keys"),
    ("POST", "/__sim__/accounts"),
    ("POST", "/__sim__/faults"),
    ("POST", "/__sim__/price"),
    ("POST", "/__sim__/clock"),
    ("POST", "/__sim__/reset-limits"),
    ("POST", "/__sim__/ws-faults"),
    ("POST", "/__sim__/ws-config"),
    ("GET", "/__sim__/orders?uid=1"),
]
GRID = """name = "withdraw-probe"
symbol = "BTC/USDT"
strategy = "grid"
[grid]
lower = "40000"
upper = "46000"
levels = 4
size = "0.001"
"""


def non_loopback_address() -> str | None:
    """This machine's address on a real interface (how another host would reach it), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def _status(method: str, url: str) -> int | None:
    data = b'{"kind":"drop"}' if method == "POST" else None
    # the URL is built here from a fixed http scheme, a local address and a fixed path
    request = urllib.request.Request(  # noqa: S310
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except OSError:
        return None  # refused: nothing listens there for this peer


def _admin_exposed(address: str) -> tuple[int, int]:
    """A simulator deliberately bound to every interface: its admin API must still refuse this peer."""
    answered = 0
    with start_sim(host="0.0.0.0", port=0, seed=9) as wide:
        for method, path in ADMIN:
            status = _status(method, f"http://{address}:{wide.port}{path}")
            if status is None or status != 403:
                answered += 1
        # the same API does answer a loopback peer: the refusal above is about the peer, not the route
        loopback_ok = _status("GET", f"http://127.0.0.1:{wide.port}/__sim__/stats") == 200
    return answered, int(not loopback_ok)


def _sim_serve_binds_loopback(address: str) -> int:
    """`okxbot sim serve` with its defaults: reachable on loopback, not on the machine's address."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [sys.executable, "-m", "okxbot", "sim", "serve", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=dict(os.environ, OKXBOT_HOME=tmp),
        )
        try:
            assert proc.stdout is not None
            ready = json.loads(proc.stdout.readline())
            port = int(ready["rest"].rsplit(":", 1)[1])
            exposed = _status("GET", f"http://{address}:{port}/api/v5/public/time") is not None
            works = _status("GET", f"http://127.0.0.1:{port}/api/v5/public/time") == 200
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return int(exposed) + int(not works)


def _withdraw_paths(sim: RunningSim) -> tuple[int, list[str], int]:
    from typer.testing import CliRunner

    from okxbot.cli.main import app

    key = new_key(sim, perm="read_only,trade,withdraw")
    runner = CliRunner()
    before = order_requests(sim)
    allowed: list[str] = []
    tried = 0
    with scratch_home("access") as home:
        home.mkdir(parents=True, exist_ok=True)
        env = sim_profile_env(sim, key)
        config = home / "grid.toml"
        config.write_text(GRID)
        commands = [
            ["buy", "BTC/USDT", "0.001", "--price", "30000"],
            ["buy", "BTC/USDT", "0.001"],
            ["sell", "BTC/USDT", "0.001", "--price", "60000"],
            ["sell", "ETH/USDT", "0.01", "--post-only", "--price", "4000"],
            ["cancel", "123456789", "--symbol", "BTC/USDT"],
            ["cancel", "--all"],
            ["run", str(config), "--seconds", "3", "--no-live"],
        ]
        for args in commands:
            tried += 1
            result = runner.invoke(app, [*args, "--sim", sim.rest], env=env)
            if result.exit_code == 0:
                allowed.append("okxbot " + " ".join(args[:2]))
            elif "withdraw" not in result.output.lower():
                # refused, but not for the key's power: this run proves nothing about the withdraw rule
                allowed.append(
                    f"okxbot {' '.join(args[:2])} failed for another reason: {result.output[-120:]!r}"
                )

        async def api_paths() -> list[str]:
            from okxbot.okx.posture import guard

            got: list[str] = []
            async with OkxClient(
                ClientConfig(rest_url=sim.rest, disk_cache=False), credentials(key)
            ) as client:
                for purpose in ("trade", "data"):
                    try:
                        await guard(client, purpose=purpose, need="trade")
                        got.append(f"posture.guard(purpose={purpose}, need=trade)")
                    except OkxError as err:
                        if "withdraw" not in err.message.lower():
                            got.append(f"posture.guard(purpose={purpose}) refused for another reason: {err}")
            return got

        allowed += asyncio.run(api_paths())
        tried += 2
    sent = order_requests(sim) - before + len(exchange_orders(sim, key["uid"]))
    return tried, allowed, sent


def run(sim: RunningSim, sizes: Sizes) -> list[Check]:
    rows: list[Check] = []
    address = non_loopback_address()
    if address is None:
        rows.append(
            Check(SECTION, "non-loopback checks skipped: this machine has no non-loopback address", 0, False)
        )
    else:
        answered, loopback_broken = _admin_exposed(address)
        rows += [
            Check(
                SECTION, f"admin API endpoints tried from {address} (sim bound to 0.0.0.0)", len(ADMIN), False
            ),
            Check(
                SECTION,
                "admin API endpoints that answered a non-loopback peer",
                answered + loopback_broken,
                True,
            ),
            Check(
                SECTION,
                "okxbot sim serve (defaults) reachable off loopback",
                _sim_serve_binds_loopback(address),
                True,
            ),
        ]
    tried, allowed, sent = _withdraw_paths(sim)
    rows += [
        Check(
            SECTION,
            "withdraw-enabled key: trading paths tried (CLI buy/sell/cancel/run, posture guard)",
            tried,
            False,
        ),
        Check(
            SECTION, "withdraw-enabled key: paths that let it trade", len(allowed), True, "; ".join(allowed)
        ),
        Check(SECTION, "withdraw-enabled key: order requests / orders at the exchange", sent, True),
    ]
    return rows
