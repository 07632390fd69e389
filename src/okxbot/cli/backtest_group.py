"""The `okxbot backtest` command group: `okxbot backtest CONFIG ...` runs a backtest, and
`okxbot backtest report|compare ...` read saved results.

The group runs its `run` command when the first word is not one of its commands, so both
`okxbot backtest CONFIG --from ...` and `okxbot backtest run CONFIG --from ...` work.
"""

from __future__ import annotations

from typing import Any

import click
import typer
from typer.core import TyperGroup

from okxbot.cli import backtest_reports, backtest_run


class RunByDefault(TyperGroup):
    """A group whose first argument may be the `run` command's own (CONFIG)."""

    default = "run"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if (
            args
            and args[0] not in self.commands
            and args[0] not in ("--help", "-h")
            and self.default in self.commands
        ):
            args = [self.default, *args]
        return super().parse_args(ctx, args)


app: Any = typer.Typer(
    cls=RunByDefault,
    help=(
        "Backtests: run a bot's own strategy on OKX history (`okxbot backtest CONFIG --from DATE --to DATE`), "
        "then read the results: `okxbot backtest report DIR` (metrics, report.html, --json) and "
        "`okxbot backtest compare A B` (side by side)."
    ),
    no_args_is_help=True,
)
app.command(name="run")(backtest_run.run)
app.command(name="report")(backtest_reports.report)
app.command(name="compare")(backtest_reports.compare)
