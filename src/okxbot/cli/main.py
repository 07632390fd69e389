"""The `okxbot` command line.

Each command group lives in its own module under `okxbot.cli`; every module imports only typer
at import time and defers heavy imports (ccxt, aiohttp, sqlalchemy) into the command bodies, so
that `okxbot --help` stays fast.
"""

from __future__ import annotations

import typer

from okxbot.cli import backtest_group
from okxbot.cli import budget as budget_cli
from okxbot.cli import data as data_cli
from okxbot.cli import demo as demo_cli
from okxbot.cli import doctor as doctor_cli
from okxbot.cli import keys as keys_cli
from okxbot.cli import optimize as optimize_cli
from okxbot.cli import panic as panic_cli
from okxbot.cli import run as run_cli
from okxbot.cli import serve as serve_cli
from okxbot.cli import sim as sim_cli
from okxbot.cli import swap as swap_cli
from okxbot.cli import trade as trade_cli

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
    # A crash report listing local variables would print API secrets held by the frames.
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _every_command(
    data_dir: str | None = typer.Option(
        None,
        "--data-dir",
        envvar="OKXBOT_HOME",
        help="okxbot's data directory (vault, profiles); default ~/.okxbot.",
    ),
) -> None:
    """Runs before every command: secrets are scrubbed from all logs, whoever logs them."""
    import os

    from okxbot.vault import redact

    redact.install()
    if data_dir:
        os.environ["OKXBOT_HOME"] = data_dir


app.add_typer(sim_cli.app, name="sim")
app.add_typer(keys_cli.app, name="keys")
app.add_typer(serve_cli.app, name="serve")
app.add_typer(data_cli.app, name="data")
app.add_typer(backtest_group.app, name="backtest")
app.command(name="doctor")(doctor_cli.doctor)
app.command(name="panic")(panic_cli.panic)
app.command(name="budget")(budget_cli.budget)
trade_cli.register(app)
swap_cli.register(app)
app.command(name="run")(run_cli.run)
app.command(name="stop")(run_cli.stop)
app.command(name="demo")(demo_cli.demo)
app.command(name="optimize", help=optimize_cli.HELP)(optimize_cli.optimize)


def run() -> None:
    """Entry point of the `okxbot` console script."""
    app()
