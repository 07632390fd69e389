"""`okxbot run CONFIG.toml` (a bot in the foreground, live status) and `okxbot stop [BOT]`."""

from __future__ import annotations

from pathlib import Path

import typer


def run(
    config: Path = typer.Argument(
        ..., help="The bot's TOML config (see examples/; examples/perp.toml for a perpetual swap)."
    ),
    profile: str | None = typer.Option(None, "--profile", "-p", help="Vault profile whose key trades."),
    sim: str | None = typer.Option(
        None,
        "--sim",
        help="Trade on the okxbot simulator at this URL instead of OKX. With no --profile: a funded simulator account okxbot keeps for that URL (fetched on first use); --profile must then name a simulator key of that URL (`okxbot keys add NAME --sim URL`). An OKX key is never sent to a --sim URL.",
    ),
    seconds: float | None = typer.Option(None, "--seconds", help="Stop after this many seconds."),
    live: bool = typer.Option(True, "--live/--no-live", help="Show the live status view."),
    accept_withdraw: bool = typer.Option(
        False, "--i-accept-withdraw-risk", help="Trade even with a withdraw-enabled key (not advised)."
    ),
) -> None:
    """Run a bot: posture check, reconciliation with the exchange, then trading until stopped.

    Stop it with Ctrl-C, SIGTERM or `okxbot stop NAME`: open orders are canceled (run.cancel_on_stop)
    and the journal is flushed. Logs are JSON lines in DATA_DIR/logs/NAME.jsonl.

    Perpetual swaps (symbol BTC/USDT:USDT): the account must be in Futures mode; \\[swap] sets the margin
    mode, the leverage (set at start) and what stops watch; every opening order needs a stop-loss on
    the exchange unless \\[risk] require_stop = false. Stopping cancels open orders, never the stops of
    positions left open. On start the bot's algo orders are reconciled with OKX (adopted, replaced
    when missing, orphans canceled).

    Key rotation: when `okxbot keys rotate` replaces the profile's key (SIGHUP, or seen within 5 s),
    the bot moves onto the new key between two requests, reconciles, and carries on. If OKX stops
    accepting the key (revoked, deleted) and no newer key is in the vault, the bot halts cleanly
    (exit status 1).
    """
    import asyncio
    import signal

    from rich.console import Console

    from okxbot.cli.target import cli_errors, resolve_target
    from okxbot.okx.errors import OkxError
    from okxbot.runstate import register_bot, unregister_bot
    from okxbot.trading import eventloop
    from okxbot.trading.config import ConfigError, load_config
    from okxbot.trading.logs import bot_json_log
    from okxbot.trading.runner import Runner
    from okxbot.trading.strategy import StrategyLoadError
    from okxbot.vault.home import okxbot_home

    console = Console()
    try:
        bot_config = load_config(config)
    except ConfigError as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(2) from None
    with cli_errors():
        target = resolve_target(profile, sim, need="trade")
    home = okxbot_home()
    runner = Runner(
        bot_config, target, config_path=config, data_dir=home, console=console, allow_withdraw=accept_withdraw
    )

    async def main() -> object:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        # `okxbot keys rotate` stored a new key for this profile: move onto it now
        loop.add_signal_handler(signal.SIGHUP, runner.key_swap.wake)
        return await runner.run(stop, seconds, live_view=live)

    with bot_json_log(home / "logs" / f"{bot_config.name}.jsonl"):
        pid_path = register_bot(bot_config.name, target.profile, str(config))
        try:
            summary = eventloop.run(main())
        except (OkxError, ConfigError, StrategyLoadError) as err:
            typer.echo(f"Error: {err}", err=True)
            raise typer.Exit(1) from None
        finally:
            unregister_bot(pid_path)
    print_summary(console, summary)
    if runner.key_swap.halted:
        typer.echo(f"Error: {runner.key_swap.halted}", err=True)
        raise typer.Exit(1)


def print_summary(console: object, summary: object) -> None:
    from decimal import Decimal

    from rich.console import Console
    from rich.table import Table

    from okxbot.trading.core import Summary

    assert isinstance(console, Console) and isinstance(summary, Summary)
    table = Table(title=f"okxbot: {summary.bot} stopped")
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("orders placed", str(summary.orders_placed))
    table.add_row("fills", str(summary.fills))
    table.add_row("fees paid (quote)", format(summary.fees.quantize(Decimal("0.00000001")), "f"))
    table.add_row("PnL (realised + mark-to-mid)", format(summary.pnl.quantize(Decimal("0.0001")), "f"))
    table.add_row("rate-limited answers (50011)", str(summary.rate_limited))
    table.add_row("orders refused before sending (risk guard, funds)", str(summary.refused))
    table.add_row("foreign orders seen on the key", str(summary.foreign_orders))
    table.add_row("open orders left", str(summary.open_orders_left))
    table.add_row(
        "journal reconciled with the exchange", "[green]yes[/]" if summary.reconciled else "[red]NO[/]"
    )
    if summary.halted:
        table.add_row("halted", summary.halted)
    for label, value in (summary.swap or {}).items():
        table.add_row(label, value)
    console.print(table)
    # the digest a backtest of the same session prints too (okxbot.trading.parity), on a line of its
    # own and in the backtest's words: whole (a table cell cuts it to the terminal's width), so that
    # the two can be compared or grepped
    console.print(f"parity hash {summary.parity_hash}", soft_wrap=True, highlight=False)


def stop(
    bot: str | None = typer.Argument(None, help="The bot's name (from its config); default: every bot."),
    wait: float = typer.Option(30.0, "--wait", help="Seconds to wait for the bots to finish stopping."),
) -> None:
    """Stop running bots cleanly (SIGTERM): each cancels its open orders and flushes its journal."""
    import os
    import signal
    import time

    from okxbot.runstate import running_bots

    bots = [b for b in running_bots() if bot is None or b.bot == bot]
    if not bots:
        typer.echo(f"No running bot{' named ' + repr(bot) if bot else ''}.", err=True)
        raise typer.Exit(1)
    for record in bots:
        try:
            os.kill(record.pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        typer.echo(f"Stopping {record.bot} (pid {record.pid}) ...")
    deadline = time.monotonic() + wait
    remaining = bots
    while remaining and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = {b.pid for b in running_bots()}
        remaining = [b for b in remaining if b.pid in alive]
    if remaining:
        names = ", ".join(b.bot for b in remaining)
        typer.echo(f"Still stopping after {wait:g} s: {names} (check their logs)", err=True)
        raise typer.Exit(1)
    typer.echo("Stopped.")
