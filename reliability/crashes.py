"""Crashes: `okxbot run` killed with SIGKILL at a random moment, then restarted, again and again.

Each kill lands before, while or after orders are sent (classified from the journal afterwards);
two kills in three come right after the market was moved through the grid's resting orders, so orders
fill around the kill (the bot sees the fills, or dies first and must find them when it restarts);
each restart must reconcile and trade again. At the end the journal is audited against the
simulator: no order placed twice, none unaccounted for, the SQLite file intact after every kill.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

from okxbot.sim.server import RunningSim
from okxbot.trading.journal import Journal
from reliability.bot import audit
from reliability.checks import Check, Sizes
from reliability.env import new_key, okxbot_process, scratch_home, sim_profile_env

SECTION = "crashes"
BOT = "crash-grid"
INST = "BTC-USDT"
CONFIG = """name = "crash-grid"
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
dead_man_seconds = 30
"""


def _phase(db: Path, known: set[str]) -> str:
    """Where the kill landed, read from what the journal holds afterwards."""
    if not db.exists():
        return "before the journal existed"
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT client_order_id, state FROM orders").fetchall()
    new = [(cid, state) for cid, state in rows if cid not in known]
    known.update(cid for cid, _ in rows)
    if not new:
        return "before sending orders"
    if any(state in ("intent", "sent", "unknown") for _, state in new):
        return "while sending orders"
    return "after sending orders"


def _wait_for(db: Path, known: set[str], states: tuple[str, ...], timeout_s: float = 10.0) -> None:
    """Return as soon as the journal holds a new order in one of `states` (polled every 5 ms)."""
    deadline = time.monotonic() + timeout_s
    marks = ",".join("?" * len(states))
    while time.monotonic() < deadline:
        if db.exists():
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1) as conn:
                    rows = conn.execute(
                        f"SELECT client_order_id FROM orders WHERE state IN ({marks})",  # noqa: S608 (only "?" marks)
                        states,
                    )
                    if any(cid not in known for (cid,) in rows):
                        return
            except sqlite3.OperationalError:
                pass  # the table is not created yet, or a writer holds a lock for a moment
        time.sleep(0.005)


def _transitions_since(db: Path, since_ms: int) -> int:
    with sqlite3.connect(db) as conn:
        return int(
            conn.execute("SELECT count(*) FROM transitions WHERE ts_ms >= ?", (since_ms,)).fetchone()[0]
        )


def _summary_number(out: str, label: str) -> int:
    """A number from the run summary table (`orders placed │ 5`), 0 when absent."""
    for line in out.splitlines():
        if label in line:
            digits = [cell.strip() for cell in line.split("│") if cell.strip().isdigit()]
            if digits:
                return int(digits[0])
    return 0


def _move_through_grid(sim: RunningSim, last: Decimal, *, down: bool) -> bool:
    """Jump the market 2.5% away from where the grid was laid out: the simulator's market maker
    re-quotes across the grid's resting orders on that side, which fill."""
    px = last * (Decimal("0.975") if down else Decimal("1.025"))
    sim.admin("POST", "/__sim__/price", {"instId": INST, "px": str(px.quantize(Decimal("0.1")))})
    return True


def run(sim: RunningSim, sizes: Sizes) -> list[Check]:
    rng = random.Random(31)
    key = new_key(sim)
    phases: Counter[str] = Counter()
    corrupt = restart_failures = 0
    failures: list[str] = []
    kills = 0
    with scratch_home("crashes") as home:
        home.mkdir(parents=True, exist_ok=True)
        config = home / "grid.toml"
        # the grid straddles the market's current price, wherever the simulator's market has moved it
        last = Decimal(str(sim.call(lambda: sim.ctx.exchange.ticker("BTC-USDT"))["last"]))
        config.write_text(CONFIG.format(lower=int(last * Decimal("0.96")), upper=int(last * Decimal("1.04"))))
        env = dict(os.environ) | sim_profile_env(sim, key, "crash")
        db = home / "journal.sqlite"
        known: set[str] = set()
        args = ["run", str(config), "--sim", sim.rest, "--no-live"]
        for n in range(sizes.crashes):
            bot = okxbot_process([*args, "--seconds", "60"], env)
            moved = False
            if n % 3 == 1:
                _wait_for(db, known, ("sent", "intent"))  # an order is journaled and on its way: kill now
            elif n % 3 == 2:
                _wait_for(db, known, ("live",))
                time.sleep(rng.random())
                # the market runs through resting grid orders right before the kill: fills land while
                # the bot is reading them, or after it died
                moved = _move_through_grid(sim, last, down=n % 2 == 0)
                time.sleep(rng.random() * 0.3)
            else:
                time.sleep(0.3 + rng.random() * 4.0)  # imports + posture + reconcile take ~1-3 s, then orders
                moved = _move_through_grid(sim, last, down=n % 2 == 1)
            bot.send_signal(signal.SIGKILL)
            bot.communicate(timeout=30)
            kills += 1
            if moved:
                # back to where the grid straddles the market (filling the other side on the way)
                sim.admin("POST", "/__sim__/price", {"instId": INST, "px": str(last)})
            phases[_phase(db, known)] += 1
            if db.exists():
                with sqlite3.connect(db) as conn:
                    if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                        corrupt += 1
            restarted_ms = int(time.time() * 1000)
            restart = okxbot_process([*args, "--seconds", "1"], env)
            out, err = restart.communicate(timeout=120)
            reconciled = any("journal reconciled" in line and "yes" in line for line in out.splitlines())
            placed = _summary_number(out, "orders placed")
            # trading resumed: it placed orders, or it took over the ones left live and canceled them
            # on stop (either way it wrote order transitions to the journal)
            resumed = placed > 0 or _transitions_since(db, restarted_ms) > 0
            if restart.returncode != 0 or not reconciled or not resumed:
                restart_failures += 1
                failures.append(
                    f"exit {restart.returncode}, reconciled {reconciled}, resumed {resumed}: "
                    f"{(err or out).strip()[-160:]!r}"
                )
            _phase(db, known)
        journal = Journal(f"sqlite:///{db}", BOT)
        placed = len(journal.orders())
        result = audit(sim, key["uid"], [journal])
        journal.close()
    where = ", ".join(f"{k} {v}" for k, v in sorted(phases.items()))
    return [
        Check(SECTION, "SIGKILLs of okxbot run, each followed by a restart", kills, False, where),
        Check(
            SECTION,
            "orders the bot placed across all runs / fills",
            placed,
            False,
            f"{result.fills_exchange} fills",
        ),
        Check(SECTION, "duplicate orders (one intent placed twice)", result.duplicates, True),
        Check(
            SECTION,
            "orders unaccounted for (exchange vs journal, or left unresolved)",
            result.missing_in_journal + result.state_mismatches + result.unresolved,
            True,
            "; ".join(result.examples[:3]),
        ),
        Check(
            SECTION,
            "fills of the bot's orders (the market was moved through the grid around kills)",
            result.fills_exchange,
            False,
        ),
        Check(SECTION, "journal fills != exchange fills", result.fill_mismatches, True),
        Check(SECTION, "journal failed SQLite integrity_check after a kill", corrupt, True),
        Check(
            SECTION,
            "restarts that did not reconcile and resume trading",
            restart_failures,
            True,
            "; ".join(failures[:2]),
        ),
    ]
