"""`okxbot doctor`: is this key safe and working? Clock, credentials, permissions, IP binding, limits."""

from __future__ import annotations

import typer


def doctor(
    profile: str | None = typer.Option(None, "--profile", "-p", help="Vault profile to check."),
    sim: str | None = typer.Option(
        None,
        "--sim",
        help="Check against the okxbot simulator at this URL instead of OKX. With no --profile: a funded simulator account okxbot keeps for that URL (fetched on first use); --profile must then name a simulator key of that URL (`okxbot keys add NAME --sim URL`). An OKX key is never sent to a --sim URL.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
    symbols: list[str] = typer.Option(
        None,
        "--symbol",
        help="An instrument the key's bots trade (repeatable), e.g. BTC/USDT:USDT: for swaps the account "
        "and position mode, the leverage settings and the key's IP binding are checked. The symbols of the "
        "bots running here (and of --config files) are added.",
    ),
    configs: list[str] = typer.Option(
        None, "--config", help="A bot config file whose symbol to check (repeatable)."
    ),
) -> None:
    """Check a key's posture: each check prints pass / warn / fail and what to do; exit 1 on any fail.

    Checks: the host answers; the clock offset; the credentials (cause named from OKX's code);
    withdraw permission (refused); read-only vs trade against the profile's purpose; IP binding;
    environment (live / demo); account mode; the current order rate limit; for the swaps the bots trade
    (running bots' configs, --config, --symbol): account and position mode, leverage per instrument and
    margin mode, and a warning when the key has no IP binding.
    """
    import asyncio
    import json

    from okxbot.cli.target import cli_errors, resolve_target
    from okxbot.okx.posture import audit

    with cli_errors():
        target = resolve_target(profile, sim, need="data")
    from okxbot.okx.swap_posture import config_symbols
    from okxbot.runstate import running_bots

    running = [b.config for b in running_bots() if b.config]
    wanted, unreadable = config_symbols([*(configs or []), *running])
    for path in unreadable:
        typer.echo(f"warning: could not read the bot config {path}", err=True)
    posture = asyncio.run(
        audit(
            target.base_url,
            target.credentials,
            demo=target.demo,
            purpose=target.purpose,
            sim=target.sim,
            symbols=[*(symbols or []), *wanted],
        )
    )
    if target.profile and posture.perm:
        from okxbot.vault.store import Vault

        with cli_errors():
            Vault().record_check(target.profile, posture.perm, posture.ip)
    if json_out:
        body = posture.as_dict() | {
            "profile": target.profile,
            "base_url": target.base_url,
            "demo": target.demo,
        }
        typer.echo(json.dumps(body, indent=2))
    else:
        _render(posture, target.profile or "(environment / simulator key)")
    if posture.failed:
        raise typer.Exit(1)


def _render(posture: object, who: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from okxbot.okx.posture import Posture

    assert isinstance(posture, Posture)
    style = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}
    table = Table(title=f"okxbot doctor: {who}")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail")
    table.add_column("what to do")
    for check in posture.checks:
        table.add_row(check.name, f"[{style[check.status]}]{check.status}[/]", check.detail, check.fix)
    console = Console()
    console.print(table)
    if posture.failed:
        console.print("[bold red]Some checks failed:[/] fix them before trading with this key.")
    else:
        console.print("[green]No failures.[/]")
