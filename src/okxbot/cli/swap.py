"""Perpetual-swap commands: positions, leverage, position-mode, funding, algos (list, cancel, protect).

Thin, like `okxbot.cli.trade` (whose runner, options and tables they share): parse, call
`client.derivatives` / `client.algos`, render a Rich table or `--json`. Bad input is refused before
any request; settings changes are checked (okxbot.okx.pretrade) before they are sent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import typer

from okxbot.cli.trade import JSON, PROFILE, SIM, WITHDRAW_RISK, _d, _run, _table

if TYPE_CHECKING:
    from okxbot.okx.client import OkxClient

SWAP_SYMBOL = typer.Argument(
    ...,
    help="A perpetual swap: ccxt form BTC/USDT:USDT (USDT-margined), BTC/USD:BTC (coin-margined), or OKX's BTC-USDT-SWAP.",
)
MARGIN = typer.Option(
    "cross",
    "--margin",
    help="Margin mode: cross (the whole settle-currency balance backs the position) or isolated (the position has its own margin).",
)


def register(app: typer.Typer) -> None:
    """Add the swap commands to the top-level `okxbot` app."""
    app.command()(positions)
    app.command()(leverage)
    app.command(name="position-mode")(position_mode)
    app.command()(funding)
    app.add_typer(algos_app, name="algos")


def _ms(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _round(value: Decimal | None, places: str = "0.01") -> Decimal | None:
    """A display value (OKX's 16-decimal estimates are unreadable); JSON keeps the exact one."""
    return None if value is None else value.quantize(Decimal(places))


def _ratio(value: Decimal | None) -> str:
    """OKX's mgnRatio is a multiple (liquidation at 1 = 100 %)."""
    return "-" if value is None else f"{format((value * 100).quantize(Decimal('1')), ',f')} %"


def _pct(value: Decimal | None) -> str:
    return "-" if value is None else f"{format((value * 100).normalize(), 'f')} %"


# ---- positions ---------------------------------------------------------------------------------------


def positions(
    symbol: str | None = typer.Argument(None, help="Only this swap (BTC/USDT:USDT or BTC-USDT-SWAP)."),
    profile: str | None = PROFILE,
    sim: str | None = SIM,
    as_json: bool = JSON,
    allow_withdraw: bool = WITHDRAW_RISK,
) -> None:
    """Open perpetual-swap positions: size in contracts (and coin), entry, mark, OKX's liquidation
    price, unrealised pnl, leverage, margin and margin ratio (liquidation at 100 %)."""

    async def work(client: OkxClient) -> Any:
        found = await client.derivatives.positions(symbol)
        rows = []
        for p in found:
            spec = await client.derivatives.contract(p.symbol)
            unit = "base" if not spec.inverse else "quote"
            rows.append({"position": p, "value": spec.amount(p.size, unit), "value_ccy": spec.unit_ccy(unit)})
        return rows

    def render(rows: Any) -> None:
        table = []
        for r in rows:
            p = r["position"]
            table.append(
                [
                    f"{p.symbol}\n{p.side} {_d(p.size)} = {_d(r['value'])} {r['value_ccy']}",
                    _d(p.average_price),
                    _d(p.mark_price),
                    _d(_round(p.liquidation_price)),
                    f"{_d(_round(p.unrealized_pnl))} {p.margin_ccy}",
                    f"{_d(p.leverage)}x\n{p.margin_mode}",
                    _ratio(p.margin_ratio),
                ]
            )
        _table(
            "Positions (contracts)",
            ["Position", "Entry", "Mark", "Liq. price", "uPnL", "Lev.", "Margin ratio"],
            table,
            "No open positions.",
        )

    def as_data(rows: Any) -> Any:
        return [r["position"] for r in rows]

    _run(
        work, render, profile=profile, sim=sim, as_json=as_json, need="data", allow_withdraw=allow_withdraw,
        to_json=as_data,
    )  # fmt: skip


# ---- leverage and position mode ----------------------------------------------------------------------


def leverage(
    symbol: str = SWAP_SYMBOL,
    value: str | None = typer.Argument(
        None,
        help="New leverage, e.g. 5 or 2.5 (OKX: 0.01 up to the instrument's maximum). Omit to show the current one.",
    ),
    margin: str = MARGIN,
    side: str | None = typer.Option(
        None,
        "--side",
        help="long or short: only for isolated margin in long/short position mode (set per side).",
    ),
    profile: str | None = PROFILE,
    sim: str | None = SIM,
    as_json: bool = JSON,
    allow_withdraw: bool = WITHDRAW_RISK,
) -> None:
    """Show or set the leverage of a swap in a margin mode, with the position tiers that cap it.

    Refused before sending: a leverage above the maximum of the tier your position is in, a --side that
    the position mode does not take, an account in Spot mode. OKX refuses leverage changes while
    orders are open on the instrument (59000 family): okxbot explains it and does not retry."""

    async def work(client: OkxClient) -> Any:
        d = client.derivatives
        if value is None:
            settings = await d.leverage(symbol, margin)
        else:
            settings = await d.set_leverage(symbol, value, margin_mode=margin, pos_side=side)
        return {
            "leverage": settings,
            "tiers": list(await d.tiers(symbol, margin)),
            "changed": value is not None,
        }

    def render(result: Any) -> None:
        rows = [
            [s.symbol, s.margin_mode, s.pos_side or "-", f"{_d(s.leverage)}x"] for s in result["leverage"]
        ]
        title = "Leverage set" if result["changed"] else "Leverage"
        _table(title, ["Symbol", "Margin", "Side", "Leverage"], rows, "No leverage setting.")
        tiers = [
            [str(t.tier), f"{_d(t.min_size)} - {_d(t.max_size)}", f"{_d(t.max_leverage)}x", _pct(t.mmr)]
            for t in result["tiers"][:6]
        ]
        _table(
            "Position tiers (contracts)",
            ["Tier", "Position size", "Max leverage", "Maint. margin"],
            tiers,
            "",
        )

    _run(work, render, profile=profile, sim=sim, as_json=as_json, need="trade" if value else "data",
         allow_withdraw=allow_withdraw)  # fmt: skip


def position_mode(
    mode: str | None = typer.Argument(
        None, help="net (one position per swap) or long_short (a long and a short at once). Omit to show it."
    ),
    profile: str | None = PROFILE,
    sim: str | None = SIM,
    as_json: bool = JSON,
    allow_withdraw: bool = WITHDRAW_RISK,
) -> None:
    """Show or switch the account's position mode (net or long/short) and show its account mode.

    OKX allows the switch only with no open positions or orders: okxbot checks that first."""
    wanted = None
    if mode is not None:
        wanted = {"net": "net_mode", "net_mode": "net_mode", "long_short": "long_short_mode"}.get(
            mode, "long_short_mode" if mode == "long_short_mode" else None
        )
        if wanted is None:
            typer.echo("error: the position mode is net or long_short", err=True)
            raise typer.Exit(2)

    async def work(client: OkxClient) -> Any:
        d = client.derivatives
        if wanted is None:
            return await d.settings(fresh=True)
        return await d.set_position_mode(wanted)

    def render(s: Any) -> None:
        from okxbot.okx.posture import ACCOUNT_MODES

        level = ACCOUNT_MODES.get(s.account_level, s.account_level)
        _table(
            "Account",
            ["Account mode", "Position mode"],
            [[f"{level} (acctLv {s.account_level})", s.position_mode]],
            "",
        )

    _run(work, render, profile=profile, sim=sim, as_json=as_json, need="trade" if wanted else "data",
         allow_withdraw=allow_withdraw)  # fmt: skip


# ---- funding -------------------------------------------------------------------------------------------


def funding(
    symbol: str = SWAP_SYMBOL,
    limit: int = typer.Option(10, "--limit", min=1, max=400, help="How many past settlements to show."),
    profile: str | None = PROFILE,
    sim: str | None = SIM,
    as_json: bool = JSON,
    allow_withdraw: bool = WITHDRAW_RISK,
) -> None:
    """A swap's funding: the current rate, when it is settled next (and the interval), and past rates.

    A positive rate means longs pay shorts at settlement (position value at the mark x rate)."""

    async def work(client: OkxClient) -> Any:
        d = client.derivatives
        return {
            "current": await d.funding_rate(symbol),
            "mark": await d.mark_price(symbol),
            "history": await d.funding_history(symbol, limit),
        }

    def render(result: Any) -> None:
        now = result["current"]
        hours = now.interval_hours
        rows = [
            [
                "Rate this period",
                _pct(now.rate)
                + (
                    "  (longs pay shorts)" if now.rate > 0 else "  (shorts pay longs)" if now.rate < 0 else ""
                ),
            ],
            ["Next settlement", _ms(now.funding_time)],
            ["Settlement after", _ms(now.next_funding_time)],
            ["Interval", f"{_d(hours.normalize())} h" if hours is not None else "-"],
            ["Cap", f"{_pct(now.min_rate)} .. {_pct(now.max_rate)}"],
            ["Last settled rate", _pct(now.settled_rate)],
            ["Mark price", _d(result["mark"].mark)],
        ]
        _table(f"Funding of {now.symbol}", ["", ""], rows, "")
        past = [
            [_ms(r.funding_time), _pct(r.realized_rate if r.realized_rate is not None else r.rate)]
            for r in result["history"]
        ]
        _table("Past settlements", ["Time", "Rate"], past, "No settlements yet.")

    _run(work, render, profile=profile, sim=sim, as_json=as_json, need="data", allow_withdraw=allow_withdraw)


# ---- algos -----------------------------------------------------------------------------------------------

algos_app = typer.Typer(
    help="Algo orders living on the exchange (TP/SL, trailing stops, triggers): list them (the default), "
    "cancel them, or protect an open position.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _algo_rows(found: list[Any]) -> list[list[str]]:
    rows = []
    for a in found:
        if a.order_type in ("conditional", "oco"):
            legs = []
            if a.stop_loss_trigger is not None:
                legs.append(f"SL {_d(a.stop_loss_trigger)} ({a.stop_loss_trigger_type})")
            if a.take_profit_trigger is not None:
                legs.append(f"TP {_d(a.take_profit_trigger)} ({a.take_profit_trigger_type})")
            what = ", ".join(legs)
        elif a.order_type == "move_order_stop":
            what = (
                f"trail {_pct(a.callback_ratio)}"
                if a.callback_ratio is not None
                else f"trail {_d(a.callback_spread)}"
            )
            if a.activation_price is not None:
                what += f" from {_d(a.activation_price)}"
            if a.move_trigger_price is not None:
                what += f", stop now {_d(a.move_trigger_price)}"
        else:
            what = f"trigger {_d(a.trigger_price)}" if a.trigger_price is not None else ""
        side = a.side + (f"/{a.pos_side}" if a.pos_side not in ("", "net") else "")
        rows.append([a.algo_id, a.symbol, f"{a.order_type}\n{side}", _d(a.size), what, a.state])

    return rows


@algos_app.callback()
def algos(
    ctx: typer.Context,
    symbol: str | None = typer.Option(None, "--symbol", help="Only this instrument."),
    history: bool = typer.Option(
        False, "--history", help="Finished algo orders (triggered, canceled, failed) instead."
    ),
    profile: str | None = PROFILE,
    sim: str | None = SIM,
    as_json: bool = JSON,
    allow_withdraw: bool = WITHDRAW_RISK,
) -> None:
    """List pending algo orders of every type on every instrument (or --history)."""
    if ctx.invoked_subcommand is not None:
        return

    async def work(client: OkxClient) -> Any:
        if history:
            return await client.algos.history(symbol)
        return await client.algos.pending(symbol)

    def render(found: Any) -> None:
        title = "Algo order history" if history else "Pending algo orders"
        _table(title, ["Algo id", "Symbol", "Type", "Contracts", "Trigger", "State"], _algo_rows(found),
               "No algo orders." if history else "No pending algo orders.")  # fmt: skip

    _run(work, render, profile=profile, sim=sim, as_json=as_json, need="data", allow_withdraw=allow_withdraw)


@algos_app.command("cancel")
def algos_cancel(
    algo_ids: list[str] = typer.Argument(None, help="Algo ids to cancel (see `okxbot algos`)."),
    all_algos: bool = typer.Option(
        False, "--all", help="Cancel every pending algo order (of --symbol, or all)."
    ),
    symbol: str | None = typer.Option(None, "--symbol", help="Only this instrument."),
    profile: str | None = PROFILE,
    sim: str | None = SIM,
    as_json: bool = JSON,
    allow_withdraw: bool = WITHDRAW_RISK,
) -> None:
    """Cancel algo orders by id, or all of them with --all."""
    if bool(algo_ids) == all_algos:
        typer.echo("error: give ALGO_IDS, or --all [--symbol SYMBOL]", err=True)
        raise typer.Exit(2)

    async def work(client: OkxClient) -> Any:
        if all_algos:
            return await client.algos.cancel_all(symbol)
        pending = {a.algo_id: a for a in await client.algos.pending(symbol)}
        missing = [i for i in algo_ids if i not in pending]
        if missing:
            from okxbot.okx.errors import OkxOrderNotFound

            raise OkxOrderNotFound(
                "51603", f"no pending algo order with id {', '.join(missing)}",
                "Check the ids with `okxbot algos` (triggered or canceled ones are in --history).", "OrderNotFound",
                local=True,
            )  # fmt: skip
        return await client.algos.cancel([pending[i] for i in algo_ids])

    def render(results: Any) -> None:
        rows = [
            [r.algo_id, r.symbol, "canceled" if r.ok else f"failed {r.code}: {r.message}"] for r in results
        ]
        _table(
            "Cancel algo orders", ["Algo id", "Symbol", "Result"], rows, "No pending algo orders to cancel."
        )

    _run(work, render, profile=profile, sim=sim, as_json=as_json, need="trade", allow_withdraw=allow_withdraw)


@algos_app.command("protect")
def algos_protect(
    symbol: str = SWAP_SYMBOL,
    sl: str | None = typer.Option(None, "--sl", help="Stop-loss trigger price (market order when hit)."),
    tp: str | None = typer.Option(None, "--tp", help="Take-profit trigger price (market order when hit)."),
    trigger_type: str = typer.Option(
        "last", "--trigger-type", help="What --sl/--tp watch: last, mark or index."
    ),
    trail: str | None = typer.Option(
        None, "--trail", help="Trailing stop: callback in percent, e.g. 2 for 2 %."
    ),
    trail_spread: str | None = typer.Option(
        None, "--trail-spread", help="Trailing stop: callback as a price distance."
    ),
    trail_activate: str | None = typer.Option(
        None, "--trail-activate", help="Price at which trailing starts."
    ),
    pos_side: str | None = typer.Option(
        None, "--pos-side", help="long or short: which position (long/short mode)."
    ),
    margin: str | None = typer.Option(
        None, "--margin", help="cross or isolated: which position, if both exist."
    ),
    profile: str | None = PROFILE,
    sim: str | None = SIM,
    as_json: bool = JSON,
    allow_withdraw: bool = WITHDRAW_RISK,
) -> None:
    """Put a stop-loss / take-profit (one OCO for both) and/or a trailing stop on an open position,
    sized to it and reduce-only, so it is protected on the exchange even when okxbot is not running."""
    from okxbot.cli.swap_trade import protection_specs

    async def work(client: OkxClient) -> Any:
        stop_loss, take_profit, trailing = protection_specs(
            sl, tp, trigger_type, trail, trail_spread, trail_activate
        )
        found = [
            p for p in await client.derivatives.positions(symbol)
            if (pos_side is None or p.pos_side == pos_side) and (margin is None or p.margin_mode == margin)
        ]  # fmt: skip
        if len(found) != 1:
            from okxbot.okx.errors import OkxInvalidOrder

            raise OkxInvalidOrder(
                "51169" if not found else "51000",
                f"{len(found)} open positions of {symbol} match"
                if found
                else f"no open position of {symbol}",
                "Say which with --pos-side / --margin." if found else "Open one first (`okxbot buy ...`).",
                local=True,
            )
        return await client.derivatives.protect(
            found[0], stop_loss=stop_loss, take_profit=take_profit, trailing=trailing
        )

    def render(found: Any) -> None:
        _table("Protection placed", ["Algo id", "Symbol", "Type", "Contracts", "Trigger", "State"],
               _algo_rows(found), "")  # fmt: skip

    _run(work, render, profile=profile, sim=sim, as_json=as_json, need="trade", allow_withdraw=allow_withdraw)
