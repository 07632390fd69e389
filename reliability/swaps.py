"""Swaps: a perpetual-swap bot (`okxbot run`, orders with stop-losses attached on the exchange) killed
with SIGKILL again and again, then restarted; the journal, the algo orders and the positions are then
audited against the simulator's own records.

Kills land in three ways, in turn: (1) right after an order intent is journaled "sent", while it is on
its way; (2) after the simulator executed an order but dropped its answer (an injected `drop` fault on
`trade/order`): the crash falls between the placement and the journal update, and the attached stop OKX
created must be adopted at restart, not placed again or left out; (3) with a position and its stop live,
and the price then moved through the stop while no bot runs: the exchange closes the position, and the
restarted bot must journal the stop's order and fill. Every restart must reconcile (orders, fills,
positions). Every fourth round has no kill: its order placements meet ambiguous answers (dropped after
executing, HTTP 500, 50001 / 50004 / 50013 / 50026; half of them executing later).
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
from typing import Any

from okxbot.sim.server import RunningSim
from okxbot.trading.journal import FINAL, Journal
from okxbot.trading.swap_journal import SwapJournal
from reliability.checks import Check, Sizes
from reliability.env import new_key, okxbot_process, scratch_home, sim_profile_env

SECTION = "swaps"
BOT = "crash-perp"
INST = "BTC-USDT-SWAP"
CONFIG = """name = "crash-perp"
symbol = "BTC/USDT:USDT"
strategy = "flip.py"

[swap]
leverage = "3"

[risk]
max_orders_per_minute = 1000
max_position_notional = "100000"

[run]
poll_seconds = 0.5
dead_man = false
"""
# opens 1-3 contracts long or short with a stop 2 % away (attached), or closes what it holds, each timer
STRATEGY = """
import random
from decimal import Decimal

from okxbot.trading.strategy import Strategy, round_price


class Flip(Strategy):
    timer_seconds = 0.5

    async def on_timer(self):
        mark = self.ctx.mark()
        if mark is None:
            return
        if self.ctx.position() != 0:
            await self.ctx.close_position()
            return
        side = random.choice(("buy", "sell"))
        stop = mark * (Decimal("0.98") if side == "buy" else Decimal("1.02"))
        size = Decimal(random.randint(1, 3))
        await self.ctx.place(side, size, stop_loss=round_price(self.ctx.rules, stop))
"""
# ambiguous answers (a `timeout` would hold each for the client's whole 10 s timeout: left to `faults`)
FAULT_KINDS = ("drop", "50013", "50001", "50004", "50026", "http500")


def _new_rows(db: Path, known: set[str], states: tuple[str, ...]) -> bool:
    if not db.exists():
        return False
    marks = ",".join("?" * len(states))
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1) as conn:
            rows = conn.execute(
                f"SELECT client_order_id FROM orders WHERE state IN ({marks})",  # noqa: S608 (only "?" marks)
                states,
            ).fetchall()
    except sqlite3.OperationalError:
        return False
    return any(cid not in known for (cid,) in rows)


def _known(db: Path) -> set[str]:
    if not db.exists():
        return set()
    with sqlite3.connect(db) as conn:
        return {cid for (cid,) in conn.execute("SELECT client_order_id FROM orders")}


def _wait(predicate: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def _pending_stops(sim: RunningSim, uid: str) -> list[dict[str, Any]]:
    return list(sim.call(lambda: sim.ctx.exchange.algos_pending(uid, {"ordType": "conditional,oco"})))


def _position(sim: RunningSim, uid: str) -> Decimal:
    rows = sim.call(lambda: sim.ctx.exchange.positions(uid, {"instId": INST}))
    return sum((Decimal(r["pos"]) for r in rows if r.get("pos")), Decimal(0))


def _spot_price(sim: RunningSim) -> Decimal:
    return Decimal(str(sim.call(lambda: sim.ctx.exchange.ticker("BTC-USDT"))["last"]))


def run(sim: RunningSim, sizes: Sizes) -> list[Check]:
    rng = random.Random(47)
    key = new_key(sim)
    uid = key["uid"]
    sim.admin("POST", "/__sim__/account-level", {"uid": uid, "acctLv": "2"})
    sim.admin("POST", "/__sim__/mark", {"instId": INST, "basis": "0"})
    ways: Counter[str] = Counter()
    restart_failures, failures, kills, stops_fired_dead, faults_met = 0, [], 0, 0, 0
    try:
        with scratch_home("swaps") as home:
            home.mkdir(parents=True, exist_ok=True)
            config = home / "perp.toml"
            config.write_text(CONFIG)
            (home / "flip.py").write_text(STRATEGY)
            env = dict(os.environ) | sim_profile_env(sim, key, "perp")
            db = home / "journal.sqlite"
            args = ["run", str(config), "--sim", sim.rest, "--no-live"]
            rounds = max(4, sizes.crashes)
            for n in range(rounds):
                known = _known(db)
                way = n % 4
                if way == 3:  # no kill: ambiguous answers (some executing late) on a running swap bot
                    faults_met += _faulty_run(sim, rng, args, env)
                    ways["faults on order placement, no kill"] += 1
                    continue
                if way == 1:  # executed, answer dropped: the crash lands between placement and journal update
                    sim.admin(
                        "POST", "/__sim__/faults", {"path": "/api/v5/trade/order", "count": 1, "kind": "drop"}
                    )
                bot = okxbot_process([*args, "--seconds", "60"], env)
                if way == 2:
                    _wait(lambda: bool(_pending_stops(sim, uid)) and _position(sim, uid) != 0, 30)
                else:
                    _wait(lambda known=known: _new_rows(db, known, ("sent", "unknown")), 30)
                    if way == 1:
                        time.sleep(rng.random() * 0.05)
                bot.send_signal(signal.SIGKILL)
                bot.communicate(timeout=30)
                kills += 1
                ways[
                    ("after journaling 'sent'", "placed, answer dropped", "stop live, price through it")[way]
                ] += 1
                if way == 2:
                    stops = _pending_stops(sim, uid)
                    if stops:
                        before = _spot_price(sim)
                        down = stops[0]["side"] == "sell"
                        sim.admin(
                            "POST", "/__sim__/price", {"instId": "BTC-USDT", "movePct": "-4" if down else "4"}
                        )
                        if _wait(lambda: _position(sim, uid) == 0, 10):
                            stops_fired_dead += 1
                        sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "px": str(before)})
                restart = okxbot_process([*args, "--seconds", "1.5"], env)
                out, err = restart.communicate(timeout=120)
                reconciled = any("journal reconciled" in line and "yes" in line for line in out.splitlines())
                if restart.returncode != 0 or not reconciled:
                    restart_failures += 1
                    failures.append(
                        f"exit {restart.returncode}, reconciled {reconciled}: {(err or out).strip()[-200:]!r}"
                    )
            # a last, longer run settles what the short ones left in doubt, then the audit
            final = okxbot_process([*args, "--seconds", "4"], env)
            final.communicate(timeout=120)
            result = _audit(sim, uid, db)
    finally:
        sim.admin("POST", "/__sim__/mark", {"instId": INST, "basis": None})
    where = ", ".join(f"{k} {v}" for k, v in sorted(ways.items()))
    return [
        Check(SECTION, "SIGKILLs of a swap bot (okxbot run), each followed by a restart", kills, False, where),
        Check(SECTION, "swap orders placed / algo orders (attached stops) / stops fired with no bot running",
              result["orders"], False, f"{result['algos']} algos, {stops_fired_dead} fired while the bot was dead"),
        Check(SECTION, "faults met by swap order placements (HTTP 500, 50001 / 50004 / 50013 / 50026, drop)",
              faults_met, False),
        Check(SECTION, "duplicate orders or algo orders (one intent placed twice)", result["duplicates"], True,
              result["dup_detail"]),
        Check(SECTION, "orders unaccounted for (exchange vs journal, incl. orders the stops placed)",
              result["unaccounted"], True, result["order_detail"]),
        Check(SECTION, "orphaned algo orders (live on the exchange, unknown or for a closed position)",
              result["orphans"], True, result["orphan_detail"]),
        Check(SECTION, "missing algo orders (a position without its stop, or a journaled stop not on the exchange)",
              result["missing"], True, result["missing_detail"]),
        Check(SECTION, "positions in the journal != positions on the exchange", result["position_mismatch"], True,
              result["position_detail"]),
        Check(SECTION, "journal fills != exchange fills (swap)", result["fill_mismatch"], True),
        Check(SECTION, "restarts that did not reconcile (orders, fills, positions)", restart_failures, True,
              "; ".join(failures[:2])),
    ]  # fmt: skip


def _faulty_run(sim: RunningSim, rng: random.Random, args: list[str], env: dict[str, str]) -> int:
    """Arm ambiguous faults on `trade/order` (half of them executing later), run the bot a few seconds,
    stop it cleanly; returns how many of the faults were met."""
    path = "/api/v5/trade/order"
    before = _faults_pending(sim, path)
    armed = 0
    for kind in rng.sample(FAULT_KINDS, 4):
        body: dict[str, Any] = {"path": path, "count": 1, "kind": kind}
        if kind != "drop" and rng.random() < 0.5:
            body["lateMs"] = rng.choice((100, 300, 800))
        sim.admin("POST", "/__sim__/faults", body)
        armed += 1
    run = okxbot_process([*args, "--seconds", "6"], env)
    run.communicate(timeout=120)
    return armed - max(0, _faults_pending(sim, path) - before)


def _faults_pending(sim: RunningSim, path: str) -> int:
    return int(sim.call(lambda: sum(f.count for f in sim.ctx.faults.pending() if f.path == path)))


def _audit(sim: RunningSim, uid: str, db: Path) -> dict[str, Any]:
    journal = Journal(f"sqlite:///{db}", BOT)
    swaps = SwapJournal(journal.engine, BOT)
    try:
        return _compare(sim, uid, journal, swaps)
    finally:
        journal.close()


def _compare(sim: RunningSim, uid: str, journal: Journal, swaps: SwapJournal) -> dict[str, Any]:
    exchange = [o for o in sim.admin("GET", f"/__sim__/orders?uid={uid}")["orders"] if o["instId"] == INST]
    by_cid: dict[str, list[dict[str, Any]]] = {}
    for o in exchange:
        cid = str(o.get("clOrdId") or "") or (f"a{o['ordId']}" if o.get("algoClOrdId") else f"?{o['ordId']}")
        by_cid.setdefault(cid, []).append(o)
    algos = list(
        sim.call(
            lambda: sim.ctx.exchange.algos_history(uid, {"ordType": "conditional,oco", "state": "effective"})
        )
    )
    algos += list(
        sim.call(
            lambda: sim.ctx.exchange.algos_history(uid, {"ordType": "conditional,oco", "state": "canceled"})
        )
    )
    algos += list(
        sim.call(
            lambda: sim.ctx.exchange.algos_history(
                uid, {"ordType": "conditional,oco", "state": "order_failed"}
            )
        )
    )
    pending = _pending_stops(sim, uid)
    algos += pending
    by_acid: Counter[str] = Counter(str(a.get("algoClOrdId") or "") for a in algos)
    dups = [c for c, os in by_cid.items() if len(os) > 1] + [a for a, k in by_acid.items() if a and k > 1]
    orders = {o.client_order_id: o for o in journal.orders(origin=None)}
    unaccounted, detail = 0, []
    for cid, found in by_cid.items():
        real = found[0]
        mine = orders.get(cid)
        if mine is None:
            unaccounted += 1
            detail.append(f"{cid} on the exchange only")
        elif str(real["state"]) in ("filled", "canceled") and (
            mine.state != ("filled" if real["state"] == "filled" else "canceled")
            or Decimal(str(real["accFillSz"] or "0")) != mine.filled
        ):
            unaccounted += 1
            detail.append(
                f"{cid}: journal {mine.state}/{mine.filled}, exchange {real['state']}/{real['accFillSz']}"
            )
    for cid, mine in orders.items():
        if mine.state not in FINAL and cid not in by_cid:
            unaccounted += 1
            detail.append(f"{cid} left {mine.state}")
        elif mine.state == "rejected" and cid in by_cid:
            unaccounted += 1
            detail.append(f"{cid} journaled rejected but on the exchange")
    journal_algos = {a.algo_client_id: a for a in swaps.algos()}
    position = _position(sim, uid)
    orphans, orphan_detail = 0, []
    covered = Decimal(0)
    for a in pending:
        protects_long = a["side"] == "sell"
        if a["algoClOrdId"] not in journal_algos:
            orphans += 1
            orphan_detail.append(f"{a['algoClOrdId']} not in the journal")
        elif position == 0 or (position > 0) != protects_long:
            orphans += 1
            orphan_detail.append(f"{a['algoClOrdId']} protects a closed position")
        else:
            covered += Decimal(str(a.get("sz") or "0"))
    missing, missing_detail = 0, []
    if position != 0 and covered < abs(position):
        missing += 1
        missing_detail.append(f"position {position} covered by stops of {covered}")
    pending_ids = {a["algoClOrdId"] for a in pending}
    for a in journal_algos.values():
        if a.state == "live" and a.algo_client_id not in pending_ids:
            missing += 1
            missing_detail.append(f"{a.algo_client_id} journaled live, not on the exchange")
        elif a.state == "expected" and a.algo_client_id not in by_acid:
            entry = orders.get(a.entry_client_order_id or "")
            if entry is not None and entry.state == "filled":
                missing += 1
                missing_detail.append(f"{a.algo_client_id} expected after a filled entry, never found")
    held = sum(swaps.positions("BTC/USDT:USDT").values(), Decimal(0))
    fills = sim.call(lambda: [dict(r) for r in sim.ctx.exchange._account(uid).fills if r["instId"] == INST])
    exchange_fills = {str(r["tradeId"]) for r in fills}
    journal_fills = {f.trade_id for f in journal.fills() if f.symbol == "BTC/USDT:USDT"}
    return {
        "orders": len([o for o in orders.values() if o.origin == "bot"]),
        "algos": len(journal_algos),
        "duplicates": len(dups),
        "dup_detail": ", ".join(dups[:3]),
        "unaccounted": unaccounted,
        "order_detail": "; ".join(detail[:3]),
        "orphans": orphans,
        "orphan_detail": "; ".join(orphan_detail[:3]),
        "missing": missing,
        "missing_detail": "; ".join(missing_detail[:3]),
        "position_mismatch": int(held != position),
        "position_detail": f"journal {held}, exchange {position}",
        "fill_mismatch": len(exchange_fills ^ journal_fills),
    }
