"""The texts of Telegram's read commands (/status, /bots, /balance, /profit, /daily), plain text.

They read what the dashboard reads: the supervisor's bot views (every supervisor's bots, each with
its latest status snapshot) and, for /daily, the fills in the serve database's journal. Money stays
Decimal until it is written; PnL per day follows the order manager's own rule (`PnlSums`: cash plus
position marked at the bot's latest mid).
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from okxbot.serve.snapshot import dec_str
from okxbot.trading.journal import JournalFill, fills_table
from okxbot.trading.orders import PnlSums

DAY_MS = 86_400_000
MAX_TEXT = 4000  # Telegram takes 4096 characters per message


def clip(text: str, limit: int = MAX_TEXT) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 40].rsplit("\n", 1)[0]
    return f"{cut}\n… ({text.count(chr(10)) - cut.count(chr(10))} more lines: see the dashboard)"


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _signed(value: Decimal | None) -> str:
    if value is None:
        return "-"
    text = dec_str(value) or "0"
    return text if value < 0 or text == "0" else f"+{text}"


def _key_of(view: dict[str, Any]) -> str:
    status = view.get("status") or {}
    return str(status.get("key_profile") or view.get("profile") or view.get("sim_url") or "?")


def status(views: list[dict[str, Any]]) -> str:
    if not views:
        return "No bots yet: add one with `okxbot serve add CONFIG` or from the dashboard."
    lines = []
    for v in views:
        s = v.get("status") or {}
        head = f"{v['name']} · {v.get('state')} · {s.get('symbol', '?')} {s.get('strategy', '')}".rstrip()
        lines.append(head)
        if "pnl" in s:
            lines.append(
                f"  PnL {_signed(_dec(s.get('pnl')))} {s.get('quote', '')} (today "
                f"{_signed(_dec(s.get('pnl_today')))}) · position {s.get('position')} {s.get('base', '')} · "
                f"{s.get('open_orders', 0)} open orders · {s.get('fills', 0)} fills"
            )
            if s.get("halted"):
                lines.append(f"  HALTED by the risk guard: {s['halted']}")
        if v.get("last_error"):
            lines.append(f"  last error: {str(v['last_error'])[:200]}")
    return clip("\n".join(lines))


def bots(views: list[dict[str, Any]]) -> str:
    if not views:
        return "No bots yet."
    lines = []
    for v in views:
        where = f" on {v['owner']}" if v.get("owner") else ""
        line = f"{v['name']}: {v.get('state')}{where} (wanted: {v.get('desired', '?')}), restarts {v.get('restarts', 0)}"
        lines.append(line)
    return clip("\n".join(lines) + "\n\nStop one with /stop NAME.")


def balance(views: list[dict[str, Any]]) -> str:
    by_key: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for v in views:
        for ccy, amounts in ((v.get("status") or {}).get("balances") or {}).items():
            by_key[_key_of(v)][ccy] = amounts  # bots on one key see the same account
    if not by_key:
        return "No balances yet: they show once a bot runs."
    lines = []
    for key in sorted(by_key):
        lines.append(f"Key {key}:")
        for ccy in sorted(by_key[key]):
            a = by_key[key][ccy]
            lines.append(
                f"  {ccy} {a.get('total')} (available {a.get('available')}, in orders {a.get('frozen')})"
            )
    return clip("\n".join(lines))


def profit(views: list[dict[str, Any]]) -> str:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    lines = []
    for v in views:
        s = v.get("status") or {}
        pnl = _dec(s.get("pnl"))
        if pnl is None:
            continue
        quote = s.get("quote", "")
        totals[quote] += pnl
        lines.append(
            f"{v['name']}: {_signed(pnl)} {quote} (today {_signed(_dec(s.get('pnl_today')))}, fees "
            f"{s.get('fees')}, position {s.get('position')} {s.get('base', '')})"
        )
    if not lines:
        return "No PnL yet: it shows once a bot runs."
    lines.append("Total: " + ", ".join(f"{_signed(v)} {q}" for q, v in sorted(totals.items())))
    lines.append("(realised + open position marked at the mid; fees included)")
    return clip("\n".join(lines))


def daily(engine: Engine, views: list[dict[str, Any]], days: int = 7, now_ms: int | None = None) -> str:
    """PnL per UTC day and bot over the last `days` days, from the journal's fills."""
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    first_day = now_ms // DAY_MS - (days - 1)
    info = {v["name"]: v.get("status") or {} for v in views}
    c = fills_table.c
    with engine.connect() as conn:
        rows = conn.execute(select(fills_table).where(c.ts_ms >= first_day * DAY_MS).order_by(c.ts_ms)).all()
    sums: dict[tuple[int, str], PnlSums] = {}
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for r in rows:
        status = info.get(r.bot, {})
        base = status.get("base") or r.symbol.split("-")[0].split("/")[0]
        key = (int(r.ts_ms) // DAY_MS, r.bot)
        sums.setdefault(key, PnlSums(base)).add(
            JournalFill(r.symbol, r.trade_id, r.client_order_id, r.order_id, r.side, Decimal(r.price),
                        Decimal(r.size), Decimal(r.fee), r.fee_ccy, int(r.ts_ms))
        )  # fmt: skip
        counts[key] += 1
    lines = [f"PnL per UTC day, last {days} days (fills in the journal, marked at the latest mid):"]
    for day in range(now_ms // DAY_MS, first_day - 1, -1):
        date = datetime.fromtimestamp(day * DAY_MS / 1000, UTC).strftime("%Y-%m-%d")
        entries = sorted((bot, s) for (d, bot), s in sums.items() if d == day)
        if not entries:
            lines.append(f"{date}: no fills")
            continue
        for bot, s in entries:
            status = info.get(bot, {})
            pnl = s.at(_dec(status.get("mid")))
            lines.append(
                f"{date}: {bot} {_signed(pnl.total)} {status.get('quote', '')} ({counts[(day, bot)]} fills)".rstrip()
            )
    return clip("\n".join(lines))
