"""`okxbot buy` / `sell` on perpetual swaps: their options, the plan (every check, nothing sent), the
journaled placement and what is shown of the protection.

Only typer and dataclasses at module level (`okxbot --help` stays fast); `okxbot.cli.trade` owns the
runner, the tables and the journaling place, imported inside the functions that use them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from okxbot.okx.client import OkxClient

UNIT = typer.Option(
    None,
    "--unit",
    help="Swaps (required): what AMOUNT counts: contracts (what OKX trades), base (e.g. BTC) or quote "
    "(e.g. USDT). 1 BTC/USDT:USDT contract = 0.01 BTC; 1 BTC/USD:BTC contract = 100 USD. Spot: base only.",
)
MARGIN_MODE = typer.Option(
    "cross",
    "--margin",
    help="Swaps: cross (the whole balance backs the position) or isolated (its own margin).",
)
POS_SIDE = typer.Option(
    None,
    "--pos-side",
    help="Swaps in long/short position mode (required there): long or short, the position the order is for "
    "(buy + long opens a long, sell + long closes it). Not in net mode.",
)
REDUCE_ONLY = typer.Option(
    False, "--reduce-only", help="Swaps: only reduce the position (refused when there is none to reduce)."
)
SL = typer.Option(
    None, "--sl", help="Swaps: stop-loss trigger price, attached to the order (market order when hit)."
)
TP = typer.Option(
    None, "--tp", help="Swaps: take-profit trigger price, attached to the order (market order when hit)."
)
TRIGGER_TYPE = typer.Option(
    "last", "--trigger-type", help="What --sl/--tp watch: last (trade price, OKX's default), mark or index."
)
TRAIL = typer.Option(
    None,
    "--trail",
    help="Swaps, market entries: a trailing stop after the fill, callback in percent (2 = 2 %).",
)
TRAIL_SPREAD = typer.Option(
    None,
    "--trail-spread",
    help="Swaps, market entries: a trailing stop with the callback as a price distance.",
)
TRAIL_ACTIVATE = typer.Option(
    None, "--trail-activate", help="Swaps: the price at which the trailing stop starts."
)
MIN_LIQ_DISTANCE = typer.Option(
    "5",
    "--min-liq-distance",
    help="Swaps: refuse an order whose estimated liquidation price would be closer than this percent of "
    "the mark (0 turns the check off).",
)


@dataclass(frozen=True)
class SwapOptions:
    """The swap-only options of buy / sell, as typed."""

    unit: str | None
    margin: str
    pos_side: str | None
    reduce_only: bool
    sl: str | None
    tp: str | None
    trigger_type: str
    trail: str | None
    trail_spread: str | None
    trail_activate: str | None
    min_liq_distance: str

    def refuse_on_spot(self, symbol: str) -> None:
        """Spot orders take none of the swap options (a unit other than base is refused too)."""
        from okxbot.okx.errors import OkxBadRequest

        given = [
            flag
            for flag, value in (
                ("--pos-side", self.pos_side),
                ("--reduce-only", self.reduce_only),
                ("--sl", self.sl),
                ("--tp", self.tp),
                ("--trail", self.trail),
                ("--trail-spread", self.trail_spread),
                ("--trail-activate", self.trail_activate),
                ("--margin isolated", self.margin != "cross"),
                (f"--unit {self.unit}", self.unit not in (None, "base")),
            )
            if value
        ]
        if given:
            raise OkxBadRequest(
                None,
                f"{', '.join(given)}: perpetual swaps only; {symbol} is a spot pair",
                "Trade the swap instead (e.g. BTC/USDT:USDT), or drop these options for spot.",
                local=True,
            )


def protection_specs(
    sl: str | None,
    tp: str | None,
    trigger_type: str,
    trail: str | None,
    trail_spread: str | None,
    trail_activate: str | None,
) -> tuple[Any, Any, Any]:
    """(StopSpec | None, StopSpec | None, TrailingSpec | None) from the command line's strings."""
    from okxbot.okx.algos import StopSpec, TrailingSpec
    from okxbot.okx.errors import OkxBadRequest
    from okxbot.okx.validate import parse_decimal

    if trigger_type not in ("last", "mark", "index"):
        raise OkxBadRequest(None, f"--trigger-type {trigger_type}", "Use last, mark or index.", local=True)
    stop_loss = StopSpec(parse_decimal(sl, "--sl price"), None, trigger_type) if sl is not None else None
    take_profit = StopSpec(parse_decimal(tp, "--tp price"), None, trigger_type) if tp is not None else None
    trailing = None
    if trail is not None or trail_spread is not None:
        if trail is not None and trail_spread is not None:
            raise OkxBadRequest(None, "--trail and --trail-spread", "Give one of them, not both.", local=True)
        ratio = parse_decimal(trail, "--trail percent") / 100 if trail is not None else None
        spread = parse_decimal(trail_spread, "--trail-spread") if trail_spread is not None else None
        active = parse_decimal(trail_activate, "--trail-activate") if trail_activate is not None else None
        trailing = TrailingSpec(ratio, spread, active)
    elif trail_activate is not None:
        raise OkxBadRequest(
            None, "--trail-activate without --trail", "Add --trail PCT or --trail-spread PX.", local=True
        )
    return stop_loss, take_profit, trailing


async def swap_order(
    client: OkxClient,
    side: str,
    symbol: str,
    amount: str,
    price: str | None,
    post_only: bool,
    ioc: bool,
    fok: bool,
    client_order_id: str | None,
    as_json: bool,
    swap: SwapOptions,
) -> dict[str, Any]:
    """Plan (every check, nothing sent), journal, place, and read back the protection."""
    from okxbot.cli.trade import _journaled_place
    from okxbot.okx.errors import OkxBadRequest
    from okxbot.okx.validate import parse_decimal

    spec = await client.derivatives.contract(symbol)
    if swap.unit is None:
        raise OkxBadRequest(
            None,
            f"a {spec.symbol} amount needs --unit: OKX counts swaps in contracts "
            f"(1 contract = {format(spec.contract_size.normalize(), 'f')} {spec.ct_val_ccy})",
            "Add --unit contracts, --unit base or --unit quote.",
            local=True,
        )
    if swap.unit not in ("contracts", "base", "quote"):
        raise OkxBadRequest(None, f"--unit {swap.unit}", "Use contracts, base or quote.", local=True)
    stop_loss, take_profit, trailing = protection_specs(
        swap.sl, swap.tp, swap.trigger_type, swap.trail, swap.trail_spread, swap.trail_activate
    )
    min_distance = parse_decimal(swap.min_liq_distance, "--min-liq-distance")
    if min_distance < 0 or min_distance >= 100:
        raise OkxBadRequest(
            None, f"--min-liq-distance {swap.min_liq_distance}", "Give a percent from 0 to 99.", local=True
        )
    plan = await client.derivatives.prepare_order(
        spec.symbol, side, amount, swap.unit, price,  # type: ignore[arg-type]
        margin_mode=swap.margin, pos_side=swap.pos_side, reduce_only=swap.reduce_only, post_only=post_only,
        ioc=ioc, fok=fok, stop_loss=stop_loss, take_profit=take_profit, trailing=trailing,
        min_liq_distance=min_distance / 100, client_order_id=client_order_id,
    )  # fmt: skip
    if not as_json:
        print(f"placing {plan.describe()} as client order id {plan.intent.client_order_id}", file=sys.stderr)
    placed = await client.derivatives.place_plan(plan, place=lambda intent: _journaled_place(client, intent))
    order, trailing_algo, trailing_error = placed.order, placed.trailing, placed.trailing_error
    attached = []
    attach_ids = {a.get("attachAlgoClOrdId") for a in plan.intent.attach_algos}
    if attach_ids:
        attached = [a for a in await client.algos.pending(spec.symbol) if a.algo_client_id in attach_ids]
    return {
        "order": order,
        "contracts": plan.contracts,
        "requested": {"amount": plan.requested.value, "unit": plan.requested.unit},
        "conversion_price": plan.conversion_price,
        "leverage": plan.leverage,
        "estimated_liquidation": plan.estimated_liquidation,
        "attached": plan.intent.attach_algos,
        "protection": attached + ([trailing_algo] if trailing_algo else []),
        "trailing_error": trailing_error.as_dict() if trailing_error else None,
    }


def render_swap(result: dict[str, Any]) -> None:
    from rich.console import Console

    from okxbot.cli.trade import _ORDER_COLUMNS, _d, _order_row, _table

    o = result["order"]
    rows = [[name, value] for name, value in zip(_ORDER_COLUMNS, _order_row(o), strict=True)]
    rows.insert(6, ["Contracts", _d(result["contracts"])])
    rows = [r for r in rows if r[0] != "Amount"]
    rows.append(["Est. liquidation", _d(result["estimated_liquidation"])])
    _table("Swap order", ["Field", "Value"], rows, "")
    console = Console(highlight=False)
    for algo in result["protection"]:
        console.print(f"protection on the exchange: {algo.order_type} {algo.algo_id} ({algo.state})")
    if result["attached"] and not [a for a in result["protection"] if a.order_type in ("oco", "conditional")]:
        console.print("TP/SL attached: OKX creates it when the order has fully filled.")
    if result["trailing_error"]:
        err = result["trailing_error"]
        Console(stderr=True, highlight=False).print(
            f"[bold red]trailing stop NOT placed[/]: {err['message']} -- {err['hint']}"
        )
