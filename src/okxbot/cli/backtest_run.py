"""`okxbot backtest CONFIG --from DATE --to DATE`: a bot's own strategy on stored history.

Thin: parse and check the input (nothing runs on bad input), run the engine (okxbot.backtest.run)
with a Rich progress bar, hand the result to `backtest_reports.show_run` (summary table, --json,
--out DIR with result.json and report.html). Only typer is imported at module level.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import typer


def run(
    config: Path = typer.Argument(
        ..., help="The bot's TOML config (see examples/); its \\[backtest] table sets the defaults below."
    ),
    start: str | None = typer.Option(
        None,
        "--from",
        help="Start (UTC): 2024-01-31, 2024-01-31T12:00, or an age such as 90d. Required unless --recording.",
    ),
    end: str | None = typer.Option(
        None, "--to", help="End (excluded), same forms; default: now (or the recording's end)."
    ),
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        help="The history store (`okxbot data download` fills it); default OKXBOT_HOME/history.",
    ),
    bar: str = typer.Option("1m", "--bar", help="The stored candles to replay (1s, 1m, 5m ... 1W)."),
    trades: bool = typer.Option(
        False, "--trades", help="Replay stored trades instead of candles (each trade one price point)."
    ),
    recording: Path | None = typer.Option(
        None,
        "--recording",
        help="Replay a recorded simulator session (GET /__sim__/record saved as JSON) instead of history.",
    ),
    latency_ms: int | None = typer.Option(
        None,
        "--latency-ms",
        help="How long an order takes to reach the book after the event that caused it (default 50).",
    ),
    fill: str | None = typer.Option(
        None,
        "--fill",
        help="Resting orders fill when the price goes 'through' them (default) or already 'at-touch'.",
    ),
    queue: bool | None = typer.Option(
        None,
        "--queue/--no-queue",
        help="At touch: fill only after the synthetic book's size ahead of the order traded.",
    ),
    fee_tier: str | None = typer.Option(
        None, "--fee-tier", help="OKX spot fee tier: lv1 (default) .. lv5, vip1 .. vip8."
    ),
    balance: list[str] = typer.Option(
        [],
        "--balance",
        help="The bot's starting balance, CCY=AMOUNT (repeat: --balance USDT=10000 --balance BTC=0).",
    ),
    spread_bps: str | None = typer.Option(
        None, "--spread-bps", help="Synthetic book: best bid to best ask, basis points."
    ),
    depth: int | None = typer.Option(None, "--depth", help="Synthetic book: levels per side."),
    full: bool = typer.Option(
        False,
        "--full",
        help="Play every price point and call every hook (slower; the same results: a check of the fast-forward).",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the metrics and trades as JSON instead of tables."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write result.json and report.html into this directory."
    ),
) -> None:
    """Backtest a bot: its own strategy, risk guard and order manager on stored history, against the
    simulator's matching engine, on a virtual clock (no network, no waiting).

    Candles become four price points each (open, the nearer of high/low, the other, close); resting
    orders fill when the price trades through them; market orders walk a synthetic book (spread,
    depth); fees follow OKX's tier, in the currency OKX charges; orders reach the book --latency-ms
    after their cause. Prints orders, fills, PnL and the parity hash (the digest `okxbot run` prints
    for a live session); the bot's warnings (orders refused, ...) once each at the end, with how
    often they came. Exit status 2 for bad input, 1 when the backtest cannot run (no data, a
    config it cannot honour); stored data is never changed.
    """
    from rich.console import Console

    console = Console(stderr=True)
    request = _request(
        config, start, end, data_dir, bar, trades, recording, full,
        {"latency_ms": latency_ms, "fill": fill, "queue": queue, "fee_tier": fee_tier, "spread_bps": spread_bps,
         "depth": depth, "balances": _balances(balance)},
    )  # fmt: skip
    if out is not None:
        _check_out(out)  # before the run: a backtest of a year is not thrown away at the end
    result = _run(request, console, quiet=as_json)
    from okxbot.cli.backtest_reports import show_run

    show_run(result, out, as_json)


def _fail(message: str, status: int) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(status)


def _check_out(out: Path) -> None:
    """--out must be a directory, or creatable as one (the nearest existing parent a writable
    directory); exit 2 otherwise, before anything runs. Nothing is created yet."""
    import os

    if out.exists() and not out.is_dir():
        raise _fail(f"--out {out} is a file, not a directory\n  Fix: give a directory (new or existing)", 2)
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise _fail(
            f"--out {out}: {parent} is not a directory this user can write in\n  Fix: choose another --out", 2
        )


def _balances(items: list[str]) -> dict[str, str] | None:
    if not items:
        return None
    out: dict[str, str] = {}
    for item in items:
        ccy, sep, amount = item.partition("=")
        if not sep or not ccy.strip() or not amount.strip():
            raise _fail(f"--balance {item!r} is not CCY=AMOUNT\n  Fix: write it like --balance USDT=10000", 2)
        out[ccy.strip().upper()] = amount.strip()
    return out


def _request(
    config_path: Path,
    start: str | None,
    end: str | None,
    data_dir: Path | None,
    bar: str,
    trades: bool,
    recording: Path | None,
    full: bool,
    overrides: dict[str, Any],
) -> Any:
    from okxbot.backtest.errors import BacktestError
    from okxbot.backtest.run import BacktestRequest
    from okxbot.backtest.settings import settings_for
    from okxbot.data.bars import check_bar
    from okxbot.data.dates import parse_date
    from okxbot.data.errors import DataError
    from okxbot.trading.config import ConfigError, load_config

    try:
        config = load_config(config_path)
        text = config_path.read_text(encoding="utf-8")
        if recording is not None:
            from okxbot.backtest.recorded import check_recorded_settings, load_recording, recording_range

            check_recorded_settings(overrides)
            if trades:
                raise BacktestError("--trades and --recording are two different markets", "choose one")
            first, last = recording_range(load_recording(recording))
            start_ms = parse_date(start, "--from") if start else first
            end_ms = parse_date(end, "--to") if end else last
        else:
            if start is None:
                raise BacktestError(
                    "--from is missing", "give the start, e.g. --from 2024-01-01 (or --recording FILE)"
                )
            check_bar(bar)
            start_ms = parse_date(start, "--from")
            end_ms = parse_date(end or "now", "--to")
        if end_ms <= start_ms:
            raise BacktestError("--to must be after --from", "give a range that is not empty")
        settings = settings_for(config, overrides, path=str(config_path), text=text)
    except (ConfigError, DataError, BacktestError) as err:
        raise _fail(str(err), 2) from None
    return BacktestRequest(
        config, config_path, start_ms, end_ms, settings, data_dir=data_dir, bar=bar, trades=trades,
        recording=recording, fast=not full,
    )  # fmt: skip


def _run(request: Any, console: Any, *, quiet: bool) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from okxbot.backtest.errors import BacktestError
    from okxbot.backtest.run import run_backtest
    from okxbot.trading.config import ConfigError

    span = max(1, request.end_ms - request.start_ms)
    with Progress(
        TextColumn("[bold]backtest[/] {task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=console,
        disable=quiet,
        transient=True,
    ) as progress:
        task = progress.add_task(f"{request.config.name} {request.config.symbol}", total=span)

        def advance(now_ms: int) -> None:
            progress.update(task, completed=min(span, now_ms - request.start_ms))

        request.progress = advance
        try:
            with BotWarnings() as warnings:
                result = run_backtest(request)
        except (BacktestError, ConfigError) as err:
            raise _fail(str(err), 1) from None
    warnings.show(console)  # on stderr, --json included (stdout stays the JSON)
    return result


NUMBER = re.compile(r"\d+(?:\.\d+)?")


class BotWarnings(logging.Handler):
    """The bot's per-order warnings (an order refused by the risk guard or the funds check, ...),
    counted instead of printed: a backtest replays months in seconds, and a refusal repeated at every
    tick would scroll thousands of lines over the progress bar. After the run: how many of each,
    with the first one in full. Errors still print as they happen."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: dict[str, int] = {}
        self.first: dict[str, str] = {}
        self._logger = logging.getLogger("okxbot.trading")

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            parent = self._logger.parent
            if parent is not None:
                parent.handle(record)  # errors go on to the usual handlers, as they happen
            return
        message = record.getMessage()
        key = NUMBER.sub("#", message)  # the same warning with other amounts or prices counts as one
        self.counts[key] = self.counts.get(key, 0) + 1
        self.first.setdefault(key, message)

    def __enter__(self) -> BotWarnings:
        self._propagate = self._logger.propagate
        self._logger.addHandler(self)
        self._logger.propagate = False
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.propagate = self._propagate
        self._logger.removeHandler(self)

    def show(self, console: Any) -> None:
        from rich.markup import escape

        for key, count in sorted(self.counts.items(), key=lambda kv: -kv[1]):
            times = "once" if count == 1 else f"{count:,} times, the first"
            console.print(f"[yellow]bot warning, {times}[/]: {escape(self.first[key])}", soft_wrap=True)
