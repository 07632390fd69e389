"""Trading commands: balance, ticker, book, buy, sell (spot and perpetual swaps), orders, cancel, fills.

Thin: parse, call `OkxClient`, render (Rich tables or `--json`). Only typer is imported at module
level; the client (and ccxt) load inside the commands so that `okxbot --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from okxbot.cli.swap_trade import (
    MARGIN_MODE,
    MIN_LIQ_DISTANCE,
    POS_SIDE,
    REDUCE_ONLY,
    SL,
    TP,
    TRAIL,
    TRAIL_ACTIVATE,
    TRAIL_SPREAD,
    TRIGGER_TYPE,
    UNIT,
    SwapOptions,
    swap_order,
)

if TYPE_CHECKING:
    from okxbot.okx.client import OkxClient
    from okxbot.okx.errors import OkxError

T = TypeVar("T")

PROFILE = typer.Option(
    None,
    "--profile",
    help="Vault profile whose key to use (default: OKX_API_KEY/... if set, else the only profile). The key "
    "goes only to its own host: OKX's for its region, or the simulator a `keys add --sim` profile is bound to.",
)
SIM = typer.Option(
    None,
    "--sim",
    help="Talk to the okxbot simulator at this URL (e.g. http://127.0.0.1:8080) instead of OKX. With no --profile: a funded simulator account okxbot keeps for that URL (fetched on first use); --profile must then name a simulator key of that URL (`okxbot keys add NAME --sim URL`). An OKX key is never sent to a --sim URL.",
)
JSON = typer.Option(False, "--json", help="Print JSON for scripts instead of tables.")
# the flag named by okxbot.okx.posture.WITHDRAW_OVERRIDE_FLAG (not imported: --help stays fast)
WITHDRAW_RISK = typer.Option(
    False, "--i-accept-withdraw-risk", help="Trade even though the key can withdraw (not recommended)."
)


def register(app: typer.Typer) -> None:
    """Add the trading commands to the top-level `okxbot` app."""
    for command in (balance, ticker, book, buy, sell, orders, cancel, fills):
        app.command()(command)


# ---- running a command ------------------------------------------------------------------------------


def _run(
    work: Callable[[OkxClient], Awaitable[T]],
    render: Callable[[T], None],
    *,
    profile: str | None,
    sim: str | None,
    as_json: bool,
    need: str,
    allow_withdraw: bool = False,
    to_json: Callable[[T], Any] | None = None,
) -> None:
    """Resolve the target, run the posture check, do the work, then render or fail with a hint.

    `to_json` picks what `--json` prints of the result (default: all of it)."""
    import asyncio

    from okxbot.cli.target import cli_errors, resolve_target
    from okxbot.okx.errors import OkxError, explain

    with cli_errors():
        target = resolve_target(profile, sim, need=need)  # type: ignore[arg-type]

    async def main() -> T:
        from okxbot.okx.client import ClientConfig, OkxClient
        from okxbot.okx.posture import guard

        config = ClientConfig(rest_url=target.base_url, demo=target.demo)
        async with OkxClient(config, target.credentials) as client:
            # permissions and IP binding first: a key that can withdraw, or a read-only key asked
            # to trade, is refused before any other request
            await guard(client, purpose=target.purpose, need=need, allow_withdraw=allow_withdraw)
            return await work(client)

    try:
        result = asyncio.run(main())
    except OkxError as err:
        _fail(err, as_json)
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:
        _fail(explain(exc), as_json)
    if as_json:
        from okxbot.okx.models import jsonable

        typer.echo(json.dumps(jsonable(to_json(result) if to_json else result), indent=2))
    else:
        render(result)


def _fail(err: OkxError, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(err.as_dict(), indent=2))
    else:
        from rich.console import Console

        console = Console(stderr=True, highlight=False)
        where = " (refused locally; nothing was sent)" if err.local else ""
        code = f" {err.code}" if err.code else ""
        console.print(f"[bold red]error{code}[/]: {err.message}{where}", soft_wrap=True)
        if err.hint:
            console.print(f"[yellow]hint[/]: {err.hint}", soft_wrap=True)
    raise typer.Exit(1)


def _table(title: str, columns: list[str], rows: list[list[str]], empty: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not rows:
        console.print(empty)
        return
    table = Table(title=title)
    for column in columns:
        # ids must stay whole (users copy them into `okxbot cancel`): fold, never truncate
        table.add_column(
            column,
            justify="right" if column in _NUMERIC else "left",
            overflow="fold",
            min_width=18 if column.endswith(" id") else None,
        )
    for row in rows:
        table.add_row(*row)
    console.print(table)


_NUMERIC = {"Total", "Available", "Frozen", "Price", "Amount", "Filled", "Size", "Fee", "Last", "Bid", "Ask"}


def _d(value: Any) -> str:
    if value is None:
        return "-"
    return format(value, "f")


# ---- commands ------------------------------------------------------------------------------------------


def balance(
    profile: str | None = PROFILE,
    sim: str | None = SIM,
    as_json: bool = JSON,
    allow_withdraw: bool = WITHDRAW_RISK,
) -> None:
    """Balances of the trading account."""

    async def work(client: OkxClient) -> Any:
        return await client.fetch_balance()

    def render(result: Any) -> None:
        rows = [[b.ccy, _d(b.total), _d(b.available), _d(b.frozen)] for b in result.values()]
        _table("Balance", ["Currency", "Total", "Available", "Frozen"], rows, "The trading account is empty.")

    _run(work, render, profile=profile, sim=sim, as_json=as_json, need="data", allow_withdraw=allow_withdraw)


def ticker(
    symbol: str = typer.Argument(..., help="Symbol in ccxt form, e.g. BTC/USDT."),
    profile: str | None = PROFILE,
    sim: str | None = SIM,
    as_json: bool = JSON,
    allow_withdraw: bool = WITHDRAW_RISK,
) -> None:
    """Last price, best bid and ask, 24 h range."""

    async def work(client: OkxClient) -> Any:
        return await client.fetch_ticker(symbol)

    def render(t: Any) -> None:
        rows = [[t.symbol, _d(t.last), _d(t.bid), _d(t.ask), _d(t.low_24h), _d(t.high_24h), _d(t.volume_24h)]]
        _table("Ticker", ["Symbol", "Last", "Bid", "Ask", "24h low", "24h high", "24h volume"], rows, "")

    _run(work, render, profile=profile, sim=sim, as_json=as_json, need="data", allow_withdraw=allow_withdraw)


def book(
    symbol: str = typer.Argument(..., help="Symbol in ccxt form, e.g. BTC/USDT."),
    depth: int = typer.Option(5, "--depth", min=1, max=400, help="Levels per side."),
    profile: str | None = PROFILE,
    sim: str | None = SIM,
    as_json: bool = JSON,
    allow_withdraw: bool = WITHDRAW_RISK,
) -> None:
    """The order book's best levels."""

    async def work(client: OkxClient) -> Any:
        return await client.fetch_order_book(symbol, depth)

    def render(b: Any) -> None:
        rows = [[_d(lv.size), _d(lv.price), "", ""] for lv in b.bids]
        for i, lv in enumerate(b.asks):
            if i < len(rows):
                rows[i][2:] = [_d(lv.price), _d(lv.size)]
            else:
                rows.append(["", "", _d(lv.price), _d(lv.size)])
        _table(f"{b.symbol} order book", ["Bid size", "Bid", "Ask", "Ask size"], rows, "The book is empty.")

    _run(work, render, profile=profile, sim=sim, as_json=as_json, need="data", allow_withdraw=allow_withdraw)


def _order_command(
    side: str,
    symbol: str,
    amount: str,
    price: str | None,
    post_only: bool,
    ioc: bool,
    fok: bool,
    client_order_id: str | None,
    profile: str | None,
    sim: str | None,
    as_json: bool,
    allow_withdraw: bool,
    swap: SwapOptions,
) -> None:
    async def work(client: OkxClient) -> Any:
        # a swap, or meant to be one (unknown ones are refused there, with the swaps' names)
        if await client.derivatives.is_swap(symbol) or ":" in symbol or symbol.upper().endswith("-SWAP"):
            return await swap_order(client, side, symbol, amount, price, post_only, ioc, fok, client_order_id,
                                     as_json, swap)  # fmt: skip
        swap.refuse_on_spot(symbol)
        intent = await client.prepare_order(
            symbol,
            side,
            amount,
            price,
            post_only=post_only,
            ioc=ioc,
            fok=fok,
            client_order_id=client_order_id,
        )
        if not as_json:
            # shown before sending: if the answer is lost, this id finds the order
            print(
                f"placing {side} {intent.amount} {symbol} as client order id {intent.client_order_id}",
                file=sys.stderr,
            )
        return await _journaled_place(client, intent)

    def render(o: Any) -> None:
        if isinstance(o, dict):  # a swap order and its protection
            from okxbot.cli.swap_trade import render_swap

            render_swap(o)
            return
        rows = [[name, value] for name, value in zip(_ORDER_COLUMNS, _order_row(o), strict=True)]
        _table("Order", ["Field", "Value"], rows, "")

    _run(work, render, profile=profile, sim=sim, as_json=as_json, need="trade", allow_withdraw=allow_withdraw)


async def _journaled_place(client: OkxClient, intent: Any, bot: str = "cli") -> Any:
    """Place through the write-ahead journal (bot "cli", or `bot`), like every bot order.

    The intent is committed before the request leaves, so an order placed from the command line is
    accounted for by reconciliation and not flagged as foreign by `okxbot panic`.
    """
    from okxbot.okx.errors import OkxError
    from okxbot.trading.journal import Journal, default_url, journal_state
    from okxbot.vault.home import okxbot_home

    journal = Journal(default_url(okxbot_home()), bot=bot)
    try:
        journal.record_intent(
            intent.client_order_id, intent.symbol, intent.side, intent.amount, intent.price, state="sent"
        )
        try:
            order = await client.place(intent)
        except OkxError as err:
            journal.transition(
                intent.client_order_id, "unknown" if err.outcome_unknown else "rejected", note=str(err)
            )
            raise
        state = journal_state(order.state)
        if state is not None:
            journal.transition(intent.client_order_id, state, order_id=order.order_id, filled=order.filled)
        return order
    finally:
        journal.close()


_ORDER_COLUMNS = [
    "Order id",
    "Client order id",
    "Symbol",
    "Side",
    "Type",
    "Price",
    "Amount",
    "Filled",
    "State",
]


def _order_row(o: Any) -> list[str]:
    return [
        o.order_id,
        o.client_order_id,
        o.symbol,
        o.side,
        o.order_type,
        _d(o.price),
        _d(o.amount),
        _d(o.filled),
        o.state,
    ]


TRADE_SYMBOL_HELP = (
    "Spot pair in ccxt form (BTC/USDT), or a perpetual swap (BTC/USDT:USDT, BTC/USD:BTC, BTC-USDT-SWAP)."
)
AMOUNT = typer.Argument(
    ...,
    help="How much: spot in the base currency (0.001 BTC for BTC/USDT); swaps in the unit given by --unit.",
)
PRICE = typer.Option(None, "--price", help="Limit price in the quote currency; omit for a market order.")
POST_ONLY = typer.Option(False, "--post-only", help="Maker only: canceled instead of taking liquidity.")
IOC = typer.Option(False, "--ioc", help="Immediate or cancel.")
FOK = typer.Option(False, "--fok", help="Fill or kill.")
CLORDID = typer.Option(
    None, "--client-order-id", help="Your own id (<= 32 letters/digits); generated if omitted."
)


def buy(
    symbol: str = typer.Argument(..., help=TRADE_SYMBOL_HELP),
    amount: str = AMOUNT,
    price: str | None = PRICE,
    post_only: bool = POST_ONLY,
    ioc: bool = IOC,
    fok: bool = FOK,
    client_order_id: str | None = CLORDID,
    unit: str | None = UNIT,
    margin: str = MARGIN_MODE,
    pos_side: str | None = POS_SIDE,
    reduce_only: bool = REDUCE_ONLY,
    sl: str | None = SL,
    tp: str | None = TP,
    trigger_type: str = TRIGGER_TYPE,
    trail: str | None = TRAIL,
    trail_spread: str | None = TRAIL_SPREAD,
    trail_activate: str | None = TRAIL_ACTIVATE,
    min_liq_distance: str = MIN_LIQ_DISTANCE,
    profile: str | None = PROFILE,
    sim: str | None = SIM,
    as_json: bool = JSON,
    allow_withdraw: bool = WITHDRAW_RISK,
) -> None:
    """Buy AMOUNT of SYMBOL (limit with --price, market without); checked before sending.

    Spot (BTC/USDT): AMOUNT is in the base currency.

    Perpetual swaps (BTC/USDT:USDT, BTC/USD:BTC or BTC-USDT-SWAP): say what AMOUNT counts with --unit
    (contracts, base or quote currency); okxbot converts it to contracts exactly and refuses a size that
    is not a whole number of lots, naming the nearest valid ones.

    --sl / --tp ride on the order and are created by OKX when it fills; --trail follows a market entry.
    Every check (account mode, --pos-side, --reduce-only, leverage tier, liquidation distance) runs
    before anything is sent."""
    _order_command(
        "buy",
        symbol,
        amount,
        price,
        post_only,
        ioc,
        fok,
        client_order_id,
        profile,
        sim,
        as_json,
        allow_withdraw,
        SwapOptions(
            unit,
            margin,
            pos_side,
            reduce_only,
            sl,
            tp,
            trigger_type,
            trail,
            trail_spread,
            trail_activate,
            min_liq_distance,
        ),
    )


def sell(
    symbol: str = typer.Argument(..., help=TRADE_SYMBOL_HELP),
    amount: str = AMOUNT,
    price: str | None = PRICE,
    post_only: bool = POST_ONLY,
    ioc: bool = IOC,
    fok: bool = FOK,
    client_order_id: str | None = CLORDID,
    unit: str | None = UNIT,
    margin: str = MARGIN_MODE,
    pos_side: str | None = POS_SIDE,
    reduce_only: bool = REDUCE_ONLY,
    sl: str | None = SL,
    tp: str | None = TP,
    trigger_type: str = TRIGGER_TYPE,
    trail: str | None = TRAIL,
    trail_spread: str | None = TRAIL_SPREAD,
    trail_activate: str | None = TRAIL_ACTIVATE,
    min_liq_distance: str = MIN_LIQ_DISTANCE,
    profile: str | None = PROFILE,
    sim: str | None = SIM,
    as_json: bool = JSON,
    allow_withdraw: bool = WITHDRAW_RISK,
) -> None:
    """Sell AMOUNT of SYMBOL (limit with --price, market without); checked before sending.

    Spot (BTC/USDT): AMOUNT is in the base currency.

    Perpetual swaps (BTC/USDT:USDT, BTC/USD:BTC or BTC-USDT-SWAP): say what AMOUNT counts with --unit
    (contracts, base or quote currency); okxbot converts it to contracts exactly and refuses a size that
    is not a whole number of lots, naming the nearest valid ones.

    --sl / --tp ride on the order and are created by OKX when it fills; --trail follows a market entry.
    Every check (account mode, --pos-side, --reduce-only, leverage tier, liquidation distance) runs
    before anything is sent."""
    _order_command(
        "sell",
        symbol,
        amount,
        price,
        post_only,
        ioc,
        fok,
        client_order_id,
        profile,
        sim,
        as_json,
        allow_withdraw,
        SwapOptions(
            unit,
            margin,
            pos_side,
            reduce_only,
            sl,
            tp,
            trigger_type,
            trail,
            trail_spread,
            trail_activate,
            min_liq_distance,
        ),
    )


def orders(
    symbol: str | None = typer.Argument(None, help="Only this symbol (ccxt form)."),
    profile: str | None = PROFILE,
    sim: str | None = SIM,
    as_json: bool = JSON,
    allow_withdraw: bool = WITHDRAW_RISK,
) -> None:
    """Open orders."""

    async def work(client: OkxClient) -> Any:
        return await client.fetch_open_orders(symbol)

    def render(result: Any) -> None:
        # the client order id is left to --json: without it the table fits 80 columns
        columns = [c for c in _ORDER_COLUMNS if c != "Client order id"]
        rows = [
            [v for c, v in zip(_ORDER_COLUMNS, _order_row(o), strict=True) if c != "Client order id"]
            for o in result
        ]
        _table("Open orders", columns, rows, "No open orders.")

    _run(work, render, profile=profile, sim=sim, as_json=as_json, need="data", allow_withdraw=allow_withdraw)


def cancel(
    order_id: str | None = typer.Argument(
        None, help="The order id to cancel (see `okxbot orders`); with --all, a symbol."
    ),
    symbol: str | None = typer.Option(
        None, "--symbol", help="Symbol of the order (found automatically if omitted)."
    ),
    all_orders: bool = typer.Option(False, "--all", help="Cancel every open order (of --symbol, or all)."),
    profile: str | None = PROFILE,
    sim: str | None = SIM,
    as_json: bool = JSON,
    allow_withdraw: bool = WITHDRAW_RISK,
) -> None:
    """Cancel one order by id, or all open orders with --all [SYMBOL]."""
    if all_orders and order_id is not None:
        # `cancel --all BTC/USDT`: the positional is the symbol
        symbol, order_id = symbol or order_id, None
    if not all_orders and order_id is None:
        typer.echo("error: give an ORDER_ID, or --all [SYMBOL]", err=True)
        raise typer.Exit(2)

    async def work(client: OkxClient) -> Any:
        if all_orders:
            return await client.cancel_all(symbol)
        target_symbol = symbol
        if target_symbol is None:
            match = [o for o in await client.fetch_open_orders() if o.order_id == order_id]
            if not match:
                from okxbot.okx.errors import from_code

                raise from_code("51400", f"no open order with id {order_id}")
            target_symbol = match[0].symbol
        return [await client.cancel_order(target_symbol, order_id)]

    def render(result: Any) -> None:
        rows = [
            [r.order_id, r.client_order_id, r.symbol, "canceled" if r.ok else f"failed {r.code}: {r.message}"]
            for r in result
        ]
        _table(
            "Cancel", ["Order id", "Client order id", "Symbol", "Result"], rows, "No open orders to cancel."
        )

    _run(work, render, profile=profile, sim=sim, as_json=as_json, need="trade", allow_withdraw=allow_withdraw)


def fills(
    symbol: str | None = typer.Argument(None, help="Only this symbol (ccxt form)."),
    limit: int = typer.Option(20, "--limit", min=1, max=100, help="How many, newest first."),
    profile: str | None = PROFILE,
    sim: str | None = SIM,
    as_json: bool = JSON,
    allow_withdraw: bool = WITHDRAW_RISK,
) -> None:
    """Recent fills (last 3 days)."""

    async def work(client: OkxClient) -> Any:
        return await client.fetch_fills(symbol, limit)

    def render(result: Any) -> None:
        rows = [
            [
                f.order_id,
                f.symbol,
                f.side,
                _d(f.price),
                _d(f.size),
                f"{_d(f.fee)} {f.fee_ccy}",
                f.liquidity,
            ]
            for f in result
        ]
        _table(
            "Fills",
            ["Order id", "Symbol", "Side", "Price", "Size", "Fee", "Role"],
            rows,
            "No fills.",
        )

    _run(work, render, profile=profile, sim=sim, as_json=as_json, need="data", allow_withdraw=allow_withdraw)
