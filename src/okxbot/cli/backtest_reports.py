"""`okxbot backtest report` and `okxbot backtest compare`: read result files, print or write reports.

Thin: load (okxbot.backtest.result_file), compute (okxbot.backtest.report / metrics), render (Rich
tables, --json). Only typer is imported at module level.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from okxbot.backtest.result import BacktestResult

JSON = typer.Option(False, "--json", help="Print JSON for scripts (stable keys, money as Decimal strings).")


@contextmanager
def result_errors() -> Iterator[None]:
    """A result file that cannot be read: its message on stderr, exit status 2."""
    from okxbot.backtest.result_file import ResultFileError

    try:
        yield
    except ResultFileError as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def write_errors(what: str, path: Path) -> Iterator[None]:
    """A page or result that cannot be written where asked (a directory given for a file, a file
    for a directory, no permission): said plainly, exit status 2."""
    try:
        yield
    except OSError as err:
        typer.echo(f"Error: {what} {path}: cannot write there ({err.strerror or err})", err=True)
        typer.echo(
            "  Fix: give a path this user can write, a file for --html, a directory for --out", err=True
        )
        raise typer.Exit(2) from None


def print_summary(console: Console, result: BacktestResult, values: dict[str, Any]) -> None:
    """The headline figures of one backtest as a Rich table (after a run, and by `report`)."""
    from rich.table import Table

    from okxbot.backtest import report_format as fmt
    from okxbot.backtest.metrics import BY_KEY

    title = (
        f"{result.bot}: {result.strategy} on {result.symbol}, "
        f"{fmt.when(result.start_ms)} -> {fmt.when(result.end_ms)} UTC"
    )
    table = Table(title=title, show_header=False, min_width=72)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in (
        "net_profit", "total_return", "buy_and_hold_return", "cagr", "sharpe", "sortino", "calmar",
        "max_drawdown", "max_drawdown_duration_ms", "trades", "win_rate", "profit_factor", "expectancy",
        "exposure", "fees_paid", "orders", "fills", "turnover",
    ):  # fmt: skip
        table.add_row(BY_KEY[key].label, fmt.metric(key, values.get(key), result.quote_ccy))
    console.print(table)
    console.print(f"parity hash {result.parity_hash()}")
    if result.halted:
        console.print(f"[yellow]The risk guard halted the bot: {result.halted}[/]")


def show_run(result: BacktestResult, out: Path | None, as_json: bool, trades: bool = True) -> Path | None:
    """What `okxbot backtest CONFIG ...` does with its result: result.json + report.html into `out`
    (when given), then --json (metrics + trades) on stdout, or the summary table and the report's path."""
    from okxbot.backtest.report import metrics, report_json, write_report

    paths = write_report(result, out) if out is not None else None
    if as_json:
        data = report_json(result, trades=trades)
        if paths is not None:
            data["report"] = str(paths.html)
        print(json.dumps(data, indent=1))
        return paths.html if paths else None
    from rich.console import Console

    console = Console()
    print_summary(console, result, metrics(result))
    if paths is not None:
        console.print(f"report: {paths.html}  (result: {paths.result})")
    return paths.html if paths else None


def report(
    path: Path = typer.Argument(
        ..., help="A result.json, or the directory `okxbot backtest --out DIR` wrote."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write report.html (and a copy of result.json) here; default: beside the result."
    ),
    as_json: bool = JSON,
    no_trades: bool = typer.Option(
        False, "--no-trades", help="With --json: metrics only, no per-trade list."
    ),
) -> None:
    """Show a saved backtest: its metrics in the terminal, report.html written again, or --json.

    --json prints {"metrics": {...}, "trades": [...]} with the bot, range, settings and parity hash;
    nothing is written then.
    """
    from okxbot.backtest import result_file
    from okxbot.backtest.report import metrics, report_json, write_report

    with result_errors():
        result = result_file.load(path)
    if as_json:
        print(json.dumps(report_json(result, trades=not no_trades), indent=1))
        return
    from rich.console import Console

    console = Console()
    print_summary(console, result, metrics(result))
    target = out if out is not None else result_file.locate(path).parent
    with write_errors("--out" if out is not None else "the report beside", target):
        paths = write_report(result, target)
    console.print(f"report: {paths.html}")


def compare(
    a: Path = typer.Argument(..., help="First result: result.json or its directory."),
    b: Path = typer.Argument(..., help="Second result: result.json or its directory."),
    as_json: bool = JSON,
    html: Path | None = typer.Option(
        None,
        "--html",
        help="Also write the comparison as a self-contained HTML page (both curves, every metric).",
    ),
) -> None:
    """Two backtests side by side: every metric, B minus A, the better side in green.

    Also says whether the two runs placed the same orders and got the same fills (parity hash).
    """
    from okxbot.backtest import compare as comparison
    from okxbot.backtest import report_format as fmt
    from okxbot.backtest import result_file
    from okxbot.backtest.report import metrics

    with result_errors():
        first, second = result_file.load(a), result_file.load(b)
    ma, mb = metrics(first), metrics(second)
    if html is not None:
        page = comparison.render_html(first, second, ma, mb, (str(a), str(b)))
        with write_errors("--html", html):
            html.write_text(page, encoding="utf-8")
    if as_json:
        print(json.dumps(comparison.compare_json(first, second, ma, mb), indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="Backtests compared")
    table.add_column("")
    table.add_column(f"A: {a}", justify="right", overflow="fold")
    table.add_column(f"B: {b}", justify="right", overflow="fold")
    table.add_column("B - A", justify="right")
    for label, va, vb in (
        ("bot", first.bot, second.bot),
        ("strategy", first.strategy, second.strategy),
        ("symbol", first.symbol, second.symbol),
        ("from", fmt.when(first.start_ms), fmt.when(second.start_ms)),
        ("to", fmt.when(first.end_ms), fmt.when(second.end_ms)),
        ("params", _params(first.params), _params(second.params)),
        ("parity hash", first.parity_hash()[:16], second.parity_hash()[:16]),
    ):
        table.add_row(label, _plain_text(va), _plain_text(vb), "" if va != vb else "same")
    table.add_section()
    for row in comparison.rows(first, second, ma, mb):
        a_text = f"[green]{row.a}[/]" if row.better == "a" else row.a
        b_text = f"[green]{row.b}[/]" if row.better == "b" else row.b
        table.add_row(row.label, a_text, b_text, row.diff)
    console.print(table)
    if first.quote_ccy != second.quote_ccy:
        console.print(f"[yellow]Different quote currencies ({first.quote_ccy} / {second.quote_ccy}).[/]")
    same = first.parity_hash() == second.parity_hash()
    console.print(
        "Same orders and fills (equal parity hashes)."
        if same
        else "Different orders or fills (parity hashes differ)."
    )
    if html is not None:
        console.print(f"comparison page: {html}")


def _params(params: dict[str, Any]) -> str:
    from okxbot.backtest.report_format import flatten

    return ", ".join(f"{k}={v}" for k, v in flatten(params))


def _plain_text(value: str) -> str:
    """Text from a result file shown by Rich as it is (no [markup] interpreted)."""
    from rich.markup import escape

    return escape(value)
