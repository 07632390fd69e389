"""JSON-ready views of a running bot, its orders and fills (money as exact Decimal strings).

The dashboard, the API and the registry (which carries a bot's status to the other supervisors) all
read these; nothing here talks to an exchange.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okxbot.okx.limits import limits_for
from okxbot.trading.latency import STAGES

if TYPE_CHECKING:
    from okxbot.okx.ratelimit import BucketUsage
    from okxbot.trading.journal import JournalFill, JournalOrder
    from okxbot.trading.latency import LatencyLog
    from okxbot.trading.runner import Runner

# the order endpoints whose buckets a bot spends, per instrument (rate-limit headroom)
HEADROOM_RULES = (
    ("place", "POST", "/api/v5/trade/order"),
    ("cancel", "POST", "/api/v5/trade/cancel-order"),
    ("amend", "POST", "/api/v5/trade/amend-order"),
)
MAX_ORDERS_SHOWN = 100


def dec_str(value: Decimal | None) -> str | None:
    """A Decimal as OKX writes numbers: plain notation, no exponent, trailing zeros dropped."""
    if value is None:
        return None
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def order_view(o: JournalOrder) -> dict[str, Any]:
    return {
        "client_order_id": o.client_order_id,
        "order_id": o.order_id,
        "bot": o.bot,
        "symbol": o.symbol,
        "side": o.side,
        "price": dec_str(o.price),
        "amount": dec_str(o.amount),
        "filled": dec_str(o.filled),
        "state": o.state,
        "origin": o.origin,
    }


def fill_view(f: JournalFill, bot: str = "") -> dict[str, Any]:
    return {
        "trade_id": f.trade_id,
        "bot": bot,
        "symbol": f.symbol,
        "client_order_id": f.client_order_id,
        "order_id": f.order_id,
        "side": f.side,
        "price": dec_str(f.price),
        "size": dec_str(f.size),
        "fee": dec_str(f.fee),
        "fee_ccy": f.fee_ccy,
        "ts_ms": f.ts_ms,
    }


def _ms(ms: float) -> str:
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def latency_summary(log: LatencyLog) -> dict[str, Any]:
    """Tick-to-order of one bot, wire to wire: the order manager's samples (okxbot.trading.latency),
    the same ones `okxbot run`'s status view and /metrics show. p50 / p99 of the total, p50 per stage."""
    if not len(log):
        return {"n": 0, "p50_ms": None, "p99_ms": None, "stages": []}
    return {
        "n": len(log),
        "p50_ms": _ms(log.percentile_ms(0.5)),
        "p99_ms": _ms(log.percentile_ms(0.99)),
        "stages": [
            {"stage": name, "p50_ms": _ms(log.percentile_ms(0.5, i))} for i, (name, _) in enumerate(STAGES)
        ],
    }


def headroom(usage: list[BucketUsage], inst_id: str) -> list[dict[str, Any]]:
    """What the bot's order buckets can still take in their current window."""
    rows = []
    for label, method, path in HEADROOM_RULES:
        limit = limits_for(method, path)[0]
        used = max(
            (u.used for u in usage if u.name == limit.name and u.bucket.endswith("|" + inst_id)), default=0
        )
        rows.append(
            {
                "rule": label,
                "endpoint": limit.name,
                "used": used,
                "capacity": limit.capacity,
                "free": max(0, limit.capacity - used),
                "window_ms": limit.window_ms,
            }
        )
    return rows


def runner_status(runner: Runner, usage: list[BucketUsage]) -> dict[str, Any]:
    """Everything the dashboard shows of one running bot."""
    config = runner.config
    status: dict[str, Any] = {"symbol": config.symbol, "strategy": config.strategy}
    m = runner.manager
    if m is None:
        return status
    pnl = m.pnl()
    today = m.pnl_today()
    open_orders = sorted(m.open_orders(), key=lambda o: o.price or Decimal(0), reverse=True)
    # OKX's latest report, and what the bot's funds check lets it spend now (its own orders and
    # fills since the report counted: okxbot.trading.funds)
    balances = {
        ccy: {
            "total": dec_str(b.total),
            "available": dec_str(b.available),
            "frozen": dec_str(b.frozen),
            "spendable": dec_str(m.funds.available(ccy)),
        }
        for ccy, b in runner.balances.items()
        if ccy in (config.base, config.quote)
    }
    inst_id = getattr(runner.rules, "inst_id", config.symbol.replace("/", "-"))
    status.update(
        {
            "inst_id": inst_id,
            "mid": dec_str(m.mid),
            "pnl": dec_str(pnl.total),
            "pnl_today": dec_str(today.total),
            "fees": dec_str(pnl.fees_quote),
            "position": dec_str(pnl.position),
            "base": config.base,
            "quote": config.quote,
            "balances": balances,
            "open_orders": len(open_orders),
            "orders": [order_view(o) for o in open_orders[:MAX_ORDERS_SHOWN]],
            "placed": m.stats.placed,
            "fills": m.stats.fills,
            "refused": m.stats.refused,
            "rejected": m.stats.rejected,
            "canceled": m.stats.canceled,
            "rate_limited": m.stats.rate_limited,
            "unresolved": sum(1 for o in open_orders if o.state in ("intent", "unknown")),
            "foreign": sorted(m.foreign)[:20],
            "halted": m.risk.halted,
            "ws_orders": runner.ws_orders_up,
            "dead_man": runner.dead_man_armed,
            "errors": list(m.stats.errors[-5:]),
            "reconciliation": dict(runner.reconciliation),
            "latency": latency_summary(m.latency),
            "headroom": headroom(usage, inst_id),
        }
    )
    return status
