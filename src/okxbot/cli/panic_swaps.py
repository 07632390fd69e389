"""`okxbot panic`'s swap steps: cancel every algo order, close every position (with
`--close-positions`), and export algo orders and positions for the review.

Algo orders (TP/SL, trailing stops, triggers) live on the exchange and fire on their own, so a leaked
key's attacker, or okxbot's own protection, could still open or close positions after every normal
order is canceled: panic cancels every pending algo of every type on every instrument first.

Closing uses reduce-only market orders (net mode: `reduceOnly`; long/short mode: the closing side of
that posSide), each journaled before it is sent (bot "panic") like every okxbot order, split at the
instrument's market-order cap. What was done is said per position; positions left open afterwards are
named as not done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from okxbot.okx.client import OkxClient
    from okxbot.okx.swap_models import Position

DAYS_MS = 7 * 86_400_000


@dataclass
class SwapSteps:
    """What the swap steps did; lines are for the user."""

    done: list[str] = field(default_factory=list)
    not_done: list[str] = field(default_factory=list)
    algos_canceled: int = 0
    closed: list[dict[str, Any]] = field(default_factory=list)  # one per position, what was done
    positions_before: list[Position] = field(default_factory=list)
    algos_before: list[dict[str, Any]] = field(default_factory=list)


async def snapshot(client: OkxClient, steps: SwapSteps) -> None:
    """The positions and pending algo orders as panic found them (for the report)."""
    from okxbot.okx.errors import OkxError

    try:
        steps.positions_before = await client.derivatives.positions()
    except OkxError as err:
        if err.code != "51010":  # a Spot-mode account has no positions to read
            steps.not_done.append(f"could not list positions ({err.describe()})")
    try:
        steps.algos_before = [dict(a.raw) for a in await client.algos.pending()]
    except OkxError as err:
        steps.not_done.append(f"could not list algo orders ({err.describe()})")


async def cancel_algos(client: OkxClient, steps: SwapSteps) -> None:
    """Cancel every pending algo order; a second round catches ones placed meanwhile."""
    from okxbot.okx.errors import OkxError

    failed: list[str] = []
    for _ in range(3):
        try:
            results = await client.algos.cancel_all()
        except OkxError as err:
            steps.not_done.append(f"algo-order cancel failed: {err.describe()}")
            return
        if not results:
            break
        steps.algos_canceled += sum(1 for r in results if r.ok)
        failed = [f"{r.symbol} {r.algo_id} ({r.code} {r.message})" for r in results if not r.ok]
    if failed:
        steps.not_done.append(f"could not cancel {len(failed)} algo order(s): {'; '.join(failed[:10])}")
    steps.done.append(
        f"canceled {steps.algos_canceled} algo order(s) (TP/SL, trailing, trigger) on every instrument"
    )


async def close_positions(client: OkxClient, steps: SwapSteps) -> None:
    """Close every open position with reduce-only market orders and say what happened to each."""
    from okxbot.cli.trade import _journaled_place
    from okxbot.okx.errors import OkxError

    try:
        positions = await client.derivatives.positions()
    except OkxError as err:
        if err.code == "51010":
            steps.done.append("no positions to close (the account is in Spot mode)")
            return
        steps.not_done.append(f"could not list positions to close them ({err.describe()})")
        return
    if not positions:
        steps.done.append("no open positions to close")
    for position in positions:
        what = f"{position.side} {_n(position.size)} contracts of {position.symbol} ({position.margin_mode})"
        record: dict[str, Any] = {
            "symbol": position.symbol,
            "side": position.side,
            "contracts": _n(position.size),
            "margin_mode": position.margin_mode,
            "pos_side": position.pos_side,
            "orders": [],
        }
        try:
            for intent in await client.derivatives.close_intents(position):
                order = await _journaled_place(client, intent, bot="panic")
                record["orders"].append(
                    {
                        "client_order_id": order.client_order_id,
                        "order_id": order.order_id,
                        "side": order.side,
                        "contracts": _n(order.amount),
                        "filled": _n(order.filled),
                        "state": order.state,
                        "average_price": _n(order.average_price),
                    }
                )
        except OkxError as err:
            record["error"] = err.describe()
            steps.not_done.append(f"could not close {what}: {err.describe()}")
        else:
            orders = record["orders"]
            sides = {o["side"] for o in orders}
            filled = sum(_dec(o["filled"]) for o in orders)
            prices = ", ".join(o["average_price"] for o in orders if o["average_price"] != "-")
            steps.done.append(
                f"closed {what}: reduce-only market {'/'.join(sorted(sides))} of {_n(filled)} contracts"
                + (f" at {prices}" if prices else "")
                + f" ({', '.join(o['order_id'] for o in orders)})"
            )
        steps.closed.append(record)
    try:
        left = await client.derivatives.positions()
    except OkxError as err:
        steps.not_done.append(f"could not check that the positions are closed ({err.describe()})")
        return
    for position in left:
        steps.not_done.append(
            f"position still open: {position.side} {_n(position.size)} contracts of {position.symbol} "
            f"({position.margin_mode}); close it on OKX's website or app"
        )


async def export_sections(
    client: OkxClient, steps: SwapSteps, now_ms: int
) -> tuple[dict[str, list[Any]], list[str]]:
    """Report sections: algo orders (pending at panic + finished in the last 7 days), positions at
    panic, positions history (7 days)."""
    from okxbot.okx.errors import OkxError

    sections: dict[str, list[Any]] = {}
    problems: list[str] = []
    begin = now_ms - DAYS_MS
    try:
        finished = [dict(a.raw) for a in await client.algos.history() if (a.created_ms or 0) >= begin]
        merged = {str(a.get("algoId")): a for a in [*finished, *steps.algos_before]}
        sections["algo_orders"] = sorted(
            merged.values(), key=lambda a: int(a.get("cTime") or 0), reverse=True
        )
    except OkxError as err:
        problems.append(f"could not export algo orders ({err.describe()})")
    sections["positions"] = [dict(p.raw) for p in steps.positions_before]
    try:
        history = await _positions_history(client, begin)
        sections["positions_history"] = history
    except OkxError as err:
        if err.code == "51010":  # Spot mode: no swap positions, ever
            sections["positions_history"] = []
        else:
            problems.append(f"could not export positions history ({err.describe()})")
    return sections, problems


async def _positions_history(client: OkxClient, begin: int) -> list[dict[str, Any]]:
    from okxbot.okx.errors import explain

    rows: list[dict[str, Any]] = []
    query = {"instType": "SWAP", "limit": "100"}
    for _ in range(100):
        try:
            response = await client.raw.privateGetAccountPositionsHistory(dict(query))
        except Exception as exc:
            raise explain(exc) from None
        page = list(response.get("data") or [])
        fresh = [r for r in page if int(r.get("uTime") or 0) >= begin]
        rows += fresh
        if len(page) < 100 or len(fresh) < len(page):
            break
        query["after"] = str(page[-1]["uTime"])
    return rows


def _n(value: Any) -> str:
    if value is None:
        return "-"
    return format(value, "f")


def _dec(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text) if text not in ("", "-") else Decimal(0)
