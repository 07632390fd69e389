"""The `okxbot` command line.

Each command group lives in its own module under `okxbot.cli`; every module imports only typer
at import time and defers heavy imports (ccxt, aiohttp, sqlalchemy) into the command bodies, so
that `okxbot --help` stays fast.
"""

from __future__ import annotations

import typer

from okxbot.cli import sim as sim_cli

app = typer.Typer(
    name="okxbot",
    help=(
        "Automated trading on OKX through its API keys, done safely.\n\n"
        "Start with `okxbot demo` (no setup, runs on a built-in OKX simulator), then "
        "`okxbot keys add NAME` to store a real key and `okxbot doctor` to check it."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)

app.add_typer(sim_cli.app, name="sim")


def run() -> None:
    """Entry point of the `okxbot` console script."""
    app()
