"""The live Rich status view of a running bot."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from okxbot.okx.ratelimit import BucketUsage
    from okxbot.trading.latency import LatencyLog
    from okxbot.trading.runner import Runner


def _d(value: Decimal | None, places: str = "0.01") -> str:
    return "-" if value is None else format(value.quantize(Decimal(places)), "f")


def latency_line(log: LatencyLog) -> str:
    """Tick-to-order, wire to wire (trading.latency): the same samples bench_latency reports."""
    if not len(log):
        return "tick -> order (frame in -> request out): no order answered a market message yet"
    return (
        f"tick -> order (frame in -> request out): median {log.percentile_ms(0.5):.2f} ms, "
        f"p99 {log.percentile_ms(0.99):.2f} ms over the last {len(log)} orders"
    )


def render(runner: Runner, usage: list[BucketUsage]) -> Group:
    m = runner.manager
    assert m is not None
    pnl = m.pnl()
    head = Table.grid(padding=(0, 2))
    for _ in range(4):
        head.add_column()
    head.add_row(
        f"[bold]{runner.config.name}[/] {runner.config.symbol} ({runner.config.strategy})",
        f"mid [bold]{_d(m.mid)}[/]",
        f"PnL [bold]{_d(pnl.total, '0.0001')}[/] {runner.config.quote}",
        "[bold red]HALTED[/]" if m.risk.halted else "[green]trading[/]",
    )
    base, quote = runner.config.base, runner.config.quote
    bal = runner.balances
    head.add_row(
        f"{base} {_d(bal[base].total, '0.00000001') if base in bal else '-'}",
        f"{quote} {_d(bal[quote].total) if quote in bal else '-'}",
        f"orders placed {m.stats.placed}  fills {m.stats.fills}",
        f"refused {m.stats.refused}  50011 {m.stats.rate_limited}",
    )
    orders = Table(title="open orders", expand=False)
    for col in ("side", "price", "amount", "filled", "state", "clOrdId"):
        orders.add_column(col)
    for o in sorted(m.open_orders(), key=lambda o: o.price or Decimal(0), reverse=True)[:12]:
        orders.add_row(o.side, _d(o.price, "0.1"), str(o.amount), str(o.filled), o.state, o.client_order_id)
    limits = (
        ", ".join(f"{u.name} {u.used}/{u.capacity}" for u in usage[:3]) or "all buckets empty (full headroom)"
    )
    feeds = f"orders via {'WebSocket' if runner.ws_orders_up else 'REST polling'}; dead-man switch " + (
        f"armed ({runner.config.run.dead_man_seconds}s)" if runner.dead_man_armed else "off"
    )
    parts: list[object] = [
        head,
        orders,
        Text(f"rate limits: {limits}"),
        Text(feeds),
        Text(latency_line(m.latency)),
    ]
    if m.foreign:
        parts.append(Text(f"foreign orders on this key: {', '.join(sorted(m.foreign))}", style="bold yellow"))
    for err in m.stats.errors[-3:]:
        parts.append(Text(err, style="red"))
    return Group(*parts)  # type: ignore[arg-type]
