"""Revoked key: the API key of a running `okxbot run` is deleted on the exchange in the middle of trading.

A grid bot trades on its own sub-account (made by `okxbot keys provision`); the master deletes the
bot's key while the bot has orders open and is placing more. The bot must halt cleanly (exit status
1 with the reason, no traceback, within 30 s; nothing left in doubt in its journal), and nothing may
be lost: after `okxbot keys rotate BOT --auto` gives it a new key, a restart reconciles with the
exchange and the journal is audited against the simulator (no order twice, none unaccounted for, the
same fills). Repeated for a few cycles on the same journal.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from okxbot.sim.server import RunningSim
from okxbot.trading.journal import Journal
from reliability.bot import audit
from reliability.checks import Check, Sizes
from reliability.env import credentials, new_key, okxbot_process, scratch_home, sim_profile_env

SECTION = "revoked key"
BOT = "revoke-grid"
HALT_WITHIN_S = 30.0
CONFIG = """name = "revoke-grid"
symbol = "BTC/USDT"
strategy = "grid"

[grid]
lower = "{lower}"
upper = "{upper}"
levels = 8
size = "0.001"

[risk]
max_order_notional = "1000"
max_open_orders = 40
price_band_pct = "10"
max_orders_per_minute = 600

[run]
poll_seconds = 0.5
dead_man = false
"""


def _done(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    process = okxbot_process(args, env)
    out, err = process.communicate(timeout=120)
    if process.returncode != 0:
        raise RuntimeError(f"okxbot {' '.join(args[:3])} failed: {(err or out).strip()[-300:]}")
    answer = json.loads(out)
    return dict(answer[0] if isinstance(answer, list) else answer)


def _journal_states(db: Path) -> list[tuple[str, str]]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return [
                tuple(r)
                for r in conn.execute("SELECT client_order_id, state FROM orders WHERE bot = ?", (BOT,))
            ]
    except sqlite3.OperationalError:
        return []  # the table is not created yet, or a writer holds a lock for a moment


def _started(log: Path) -> int:
    """How many runs of the bot have reconciled and started trading (its JSON log's "reconciled")."""
    if not log.exists():
        return 0
    return sum(1 for line in log.read_text().splitlines() if '"msg": "reconciled"' in line)


def _wait_live(db: Path, log: Path, starts: int, at_least: int, timeout_s: float = 60.0) -> bool:
    """This run has started (its reconciliation is logged: the journal alone cannot tell, a halted
    run leaves its orders live in it) and the journal holds `at_least` live orders."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _started(log) > starts and (
            sum(1 for _, state in _journal_states(db) if state in ("live", "partially_filled")) >= at_least
        ):
            return True
        time.sleep(0.05)
    return False


def _revoke(sim: RunningSim, master: dict[str, Any], sub: str) -> int:
    """The master deletes every key of the sub-account (as on OKX's website, or by `panic --master`)."""
    from okxbot.okx.client import ClientConfig, OkxClient
    from okxbot.okx.subaccounts import MasterAccount

    async def go() -> int:
        async with OkxClient(
            ClientConfig(rest_url=sim.rest, disk_cache=False), credentials(master)
        ) as client:
            api = MasterAccount(client)
            keys = await api.keys(sub)
            for key in keys:
                await api.delete_key(sub, key.api_key)
            return len(keys)

    return asyncio.run(go())


def run(sim: RunningSim, sizes: Sizes) -> list[Check]:
    cycles = max(1, sizes.crashes // 8)  # quick: 1, full: 3
    master = new_key(sim)
    revoked = not_clean = in_doubt = restart_failures = 0
    problems: list[str] = []
    with scratch_home("revoked") as home:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)  # a vault home is private
        env = dict(os.environ) | sim_profile_env(sim, master, "master")
        env.pop("OKXBOT_PROFILE", None)
        report = _done(["keys", "provision", BOT, "--master", "master", "--budget", "USDT=20000",
                        "--budget", "BTC=0.3", "--yes", "--json"], env)  # fmt: skip
        sub = report["subAccount"]
        uid = str(report["subAccountUid"])
        config = home / "grid.toml"
        last = Decimal(str(sim.call(lambda: sim.ctx.exchange.ticker("BTC-USDT"))["last"]))
        config.write_text(CONFIG.format(lower=int(last * Decimal("0.97")), upper=int(last * Decimal("1.03"))))
        db = home / "journal.sqlite"
        bot_log = home / "logs" / f"{BOT}.jsonl"
        args = ["run", str(config), "--profile", BOT, "--no-live"]
        for _ in range(cycles):
            starts = _started(bot_log)
            bot = okxbot_process([*args, "--seconds", "120"], env)
            if not _wait_live(db, bot_log, starts, 3):
                bot.kill()
                raise RuntimeError(f"the bot placed no order: {bot.communicate()[1][-300:]}")
            revoked += _revoke(sim, master, sub)
            started = time.monotonic()
            try:
                out, err = bot.communicate(timeout=HALT_WITHIN_S)
            except subprocess.TimeoutExpired:
                bot.kill()
                out, err = bot.communicate()
            took = time.monotonic() - started
            clean = (
                bot.returncode == 1
                and "no longer accepted by OKX" in err
                and "Traceback" not in out + err
                and took < HALT_WITHIN_S
            )
            if not clean:
                not_clean += 1
                problems.append(f"exit {bot.returncode} after {took:.1f} s: {(err or out).strip()[-200:]!r}")
            in_doubt += sum(1 for _, state in _journal_states(db) if state in ("intent", "sent", "unknown"))
            # a new key for the bot (the old one is gone), as the halt message says
            rotated = _done(["keys", "rotate", BOT, "--auto", "--json"], env)
            if rotated["notDone"]:
                problems.append(f"rotation: {rotated['notDone'][0][:200]}")
        final = okxbot_process([*args, "--seconds", "2"], env)
        out, err = final.communicate(timeout=120)
        if final.returncode != 0 or not any(
            "journal reconciled" in line and "yes" in line for line in out.splitlines()
        ):
            restart_failures += 1
            problems.append(f"restart: exit {final.returncode}: {(err or out).strip()[-200:]!r}")
        journal = Journal(f"sqlite:///{db}", BOT)
        result = audit(sim, uid, [journal])
        placed = len(journal.orders())
        journal.close()
    return [
        Check(
            SECTION, "keys deleted under a running bot", revoked, False, f"{cycles} cycle(s), {placed} orders"
        ),
        Check(
            SECTION,
            f"bots that did not halt cleanly (exit 1 with the reason, no traceback, < {HALT_WITHIN_S:g} s)",
            not_clean,
            True,
            "; ".join(problems[:2]),
        ),
        Check(SECTION, "journal orders left in doubt at the halt (intent / sent / unknown)", in_doubt, True),
        Check(SECTION, "duplicate orders (one intent placed twice)", result.duplicates, True),
        Check(
            SECTION,
            "orders unaccounted for after a new key and a restart",
            result.missing_in_journal + result.state_mismatches + result.unresolved,
            True,
            "; ".join(result.examples[:3]),
        ),
        Check(SECTION, "journal fills != exchange fills", result.fill_mismatches, True),
        Check(
            SECTION,
            "restarts on the new key that did not reconcile",
            restart_failures,
            True,
            "; ".join(p for p in problems if p.startswith(("restart", "rotation")))[:300],
        ),
    ]
