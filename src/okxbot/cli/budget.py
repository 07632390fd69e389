"""`okxbot budget BOT`: a provisioned bot's money, moved between the master and the bot's sub-account.

Money held by the bot's open orders (frozen) never moves: asking for more than the free balance is
refused before any transfer, and `--withdraw-to-master` refuses while the bot runs or has open
orders (stop the bot first, or `--keep-orders` to take only the free part and leave its orders be).
Transfers go through the master key (OKX transfer types 1 and 2); the bot's own key cannot move money.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import typer


def budget(
    bot: str = typer.Argument(..., help="The bot's profile (made by `okxbot keys provision`)."),
    add: list[str] = typer.Option(
        [], "--add", metavar="CCY=AMOUNT", help="Move money master -> bot (repeatable)."
    ),
    withdraw: list[str] = typer.Option(
        [], "--withdraw", metavar="CCY=AMOUNT", help="Move some money bot -> master (repeatable)."
    ),
    withdraw_to_master: bool = typer.Option(
        False, "--withdraw-to-master", help="Move all of the bot's free money back to the master."
    ),
    keep_orders: bool = typer.Option(
        False, "--keep-orders", help="With --withdraw-to-master: leave the money of open orders where it is."
    ),
    master_account: str = typer.Option(
        "trading", "--master-account", help="The master's side of the transfers: trading or funding."
    ),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable report."),
) -> None:
    """Show or change a bot's budget: the money in its own sub-account (a provisioned bot can never
    spend more; OKX refuses its orders beyond it with 51008).

    Show it:          okxbot budget grid-btc
    Add money:        okxbot budget grid-btc --add USDT=100
    Take money back:  okxbot budget grid-btc --withdraw USDT=50
    Take it all back: okxbot budget grid-btc --withdraw-to-master  (after `okxbot stop grid-btc`)

    Refused, with nothing moved, while the move would take money its open orders hold (use
    --keep-orders with --withdraw-to-master to leave that money where it is).
    """
    import asyncio
    import json

    from okxbot.cli.master_account import SetupError, bot_profile, master_target, parse_amounts
    from okxbot.cli.target import cli_errors
    from okxbot.okx.errors import OkxError

    with cli_errors():
        adding = parse_amounts(add, "--add")
        taking = parse_amounts(withdraw, "--withdraw")
        if sum(map(bool, (adding, taking, withdraw_to_master))) > 1:
            raise SetupError(
                "--add, --withdraw and --withdraw-to-master go one at a time", "run them one by one"
            )
        if keep_orders and not withdraw_to_master:
            raise SetupError(
                "--keep-orders goes with --withdraw-to-master", "add --withdraw-to-master or drop it"
            )
        if master_account not in ("trading", "funding"):
            raise SetupError(f"--master-account {master_account!r}", "use trading or funding")
        profile = bot_profile(bot)
        master_target(profile.master)
    report: dict[str, Any] = {"bot": bot, "subAccount": profile.sub_acct, "done": [], "notDone": []}
    try:
        asyncio.run(_budget(profile.name, profile.master, profile.sub_acct, adding, taking,
                            withdraw_to_master, keep_orders, master_account, report))  # fmt: skip
    except (SetupError, OkxError) as err:
        report["notDone"].append(str(err) if isinstance(err, SetupError) else err.describe())
    if json_out:
        typer.echo(json.dumps(report, indent=2))
    else:
        _print(report)
    if report["notDone"]:
        raise typer.Exit(1)


async def _budget(
    bot: str,
    master_name: str,
    sub: str,
    adding: dict[str, Decimal],
    taking: dict[str, Decimal],
    everything: bool,
    keep_orders: bool,
    master_account: str,
    report: dict[str, Any],
) -> None:
    from okxbot.cli.master_account import open_master
    from okxbot.okx.errors import OkxError
    from okxbot.okx.subaccounts import FUNDING, TRADING
    from okxbot.runstate import bots_on

    side = TRADING if master_account == "trading" else FUNDING
    done, not_done = report["done"], report["notDone"]
    async with open_master(master_name, manage_keys=False) as m:
        balances = await m.api.trading_balances(sub)
        moves: list[tuple[str, str, Decimal]] = [("in", ccy, amt) for ccy, amt in adding.items()]
        for ccy, amt in taking.items():
            held = balances.get(ccy)
            free = held.available if held else Decimal(0)
            if amt > free:
                frozen = held.frozen if held else Decimal(0)
                not_done.append(
                    f"{format(amt, 'f')} {ccy} is more than the bot's free {format(free, 'f')} {ccy} "
                    f"({format(frozen, 'f')} is held by its open orders or as position margin): moving it would break them"
                )
                continue
            moves.append(("out", ccy, amt))
        if everything:
            running = bots_on(bot)
            frozen = {c: b.frozen for c, b in balances.items() if b.frozen > 0}
            if running:
                names = ", ".join(f"pid {b.pid}" for b in running)
                not_done.append(f"bot {bot!r} is running ({names}): taking its money would break its next "
                                f"orders; stop it first (`okxbot stop {running[0].bot}`)")  # fmt: skip
            elif frozen and not keep_orders:
                held = ", ".join(f"{format(v, 'f')} {c}" for c, v in frozen.items())
                not_done.append(f"the bot has open orders holding {held}: stop it (`okxbot stop`) or cancel "
                                "them first, or pass --keep-orders to take only the free money")  # fmt: skip
            else:
                moves += [("out", c, b.available) for c, b in balances.items() if b.available > 0]
                if not moves:
                    done.append("nothing free to move")
        for direction, ccy, amt in moves:
            try:
                if direction == "in":
                    await m.api.to_sub(sub, ccy, amt, master_account=side)
                else:
                    await m.api.from_sub(sub, ccy, amt, master_account=side)
            except OkxError as err:
                not_done.append(f"{format(amt, 'f')} {ccy} not moved: {err.describe()}")
                continue
            arrow = f"master -> {sub}" if direction == "in" else f"{sub} -> master"
            done.append(f"moved {format(amt, 'f')} {ccy} ({arrow}, master's {master_account} account)")
        after = await m.api.trading_balances(sub)
        report["balances"] = {
            c: {
                "total": format(b.total, "f"),
                "free": format(b.available, "f"),
                "inOrders": format(b.frozen, "f"),
            }
            for c, b in sorted(after.items())
        }
        funding = await m.api.funding_balances(sub)
        report["fundingBalances"] = {c: format(b.total, "f") for c, b in sorted(funding.items())}


def _print(report: dict[str, Any]) -> None:
    for line in report["done"]:
        typer.echo(f"done:      {line}")
    for line in report["notDone"]:
        typer.echo(f"NOT DONE:  {line}")
    balances = report.get("balances")
    if balances is not None:
        typer.echo(f"\nbudget of {report['bot']} (sub-account {report['subAccount']}, trading account):")
        if not balances:
            typer.echo("  empty")
        for ccy, b in balances.items():
            typer.echo(f"  {ccy:<6} {b['total']:>18}   free {b['free']}   in open orders {b['inOrders']}")
        for ccy, amount in (report.get("fundingBalances") or {}).items():
            typer.echo(f"  {ccy:<6} {amount:>18}   (funding account)")
