"""`okxbot data ...`: download OKX history, import OKX's daily files, list and check what is stored.

Thin: check the input, call `okxbot.data`, render. Public market data needs no API key, so these
commands never read the vault and never send credentials. Only typer is imported here at module
level; pyarrow, aiohttp and the rest load inside the commands so that `okxbot --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from okxbot.data.download import Report
    from okxbot.data.quality import Summary

T = TypeVar("T")

app = typer.Typer(
    help=(
        "Historical market data for backtests: download candles, trades and funding rates from OKX's "
        "public history endpoints (no API key needed), import OKX's daily history files, and list or "
        "check what is stored (Parquet files under OKXBOT_HOME/history)."
    ),
    no_args_is_help=True,
)

JSON = typer.Option(False, "--json", help="Print JSON for scripts instead of tables.")
SYMBOLS = typer.Argument(None, help="Instrument ids (BTC-USDT, BTC-USDT-SWAP); none = all stored.")


@contextmanager
def _errors(status: int) -> Iterator[None]:
    """A DataError (or a vault refusal) becomes its message on stderr and exit `status`."""
    from okxbot.data.errors import DataError
    from okxbot.vault.errors import VaultError

    try:
        yield
    except (DataError, VaultError) as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(status) from None


def _console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def _base_url(sim: str | None, region: str | None) -> str:
    import os

    from okxbot.data.errors import DataError
    from okxbot.vault.profiles import REGION_HOSTS, check_region

    host = REGION_HOSTS[check_region((region or os.environ.get("OKX_REGION") or "www").strip())]
    if sim:
        if not sim.startswith(("http://", "https://")):
            raise DataError(
                f"--sim {sim!r} is not a URL", "pass the simulator's REST URL, e.g. http://127.0.0.1:8080"
            )
        return sim.rstrip("/")
    return host


@app.command()
def download(
    symbols: list[str] = typer.Argument(..., help="Instrument ids: BTC-USDT (spot), BTC-USDT-SWAP (swap)."),
    bar: str = typer.Option("1m", "--bar", help="Candle bar, as OKX names it: 1s 1m 5m 15m 1H 4H 1D 1W ..."),
    since: str = typer.Option(
        "30d", "--since", help="Start: 2024-01-31, 2024-01-31T12:00 (UTC), or an age: 90d."
    ),
    until: str = typer.Option("now", "--until", help="End (excluded), same forms as --since."),
    trades: bool = typer.Option(
        False, "--trades", help="Also download trades (OKX keeps the last 3 months)."
    ),
    funding: bool = typer.Option(False, "--funding", help="Also download funding rates (perpetual swaps)."),
    candles: bool = typer.Option(True, "--candles/--no-candles", help="Download candles (the default)."),
    refetch: bool = typer.Option(
        False, "--refetch", help="Fetch the whole range again, even parts already stored."
    ),
    sim: str | None = typer.Option(None, "--sim", help="Download from an OKX simulator at this URL instead."),
    region: str | None = typer.Option(
        None, "--region", help="OKX host: www (default), eea or us; env OKX_REGION."
    ),
    rate_limit_url: str | None = typer.Option(
        None, "--rate-limit-url", help="Share OKX's limits with other okxbot processes: redis://host:6379/0."
    ),
    as_json: bool = JSON,
) -> None:
    """Download history from OKX into the local store; a rerun fetches only what is missing.

    Candles come from market/history-candles (300 per request, OKX's limit of 20 requests / 2 s used
    to the last request), trades from market/history-trades, funding rates from
    public/funding-rate-history. Gaps and rows OKX sent twice are reported. Exit status 1 when a
    range holds no data at all, 2 for bad input (nothing is sent then).
    """
    import asyncio

    with _errors(2):
        from okxbot.data import bars
        from okxbot.data.dates import parse_date
        from okxbot.data.download import Request
        from okxbot.data.symbols import normalize
        from okxbot.okx.ratelimit import limiter_from_url

        request = Request(
            inst_ids=list(dict.fromkeys(normalize(s) for s in symbols)),
            bar=bars.check_bar(bar),
            start=parse_date(since, "--since"),
            end=parse_date(until, "--until"),
            candles=candles,
            trades=trades,
            funding=funding,
            refetch=refetch,
        )
        base_url = _base_url(sim, region)
        try:
            limiter = limiter_from_url(rate_limit_url)
        except ValueError as err:
            from okxbot.data.errors import DataError

            raise DataError(f"--rate-limit-url: {err}") from None

    with _errors(1):
        reports = asyncio.run(_download(base_url, request, limiter, as_json))
    _render_reports(reports, as_json)
    if any(r.no_data for r in reports):
        raise typer.Exit(1)


async def _download(base_url: str, request: Any, limiter: Any, quiet: bool) -> list[Report]:
    from okxbot.data.download import run
    from okxbot.data.okx_public import PublicApi
    from okxbot.data.store import Store

    store = Store()
    try:
        async with PublicApi(base_url, limiter) as api:
            if quiet:
                return await run(api, store, request)
            with _RichProgress() as progress:
                return await run(api, store, request, progress)
    finally:
        await limiter.close()


class _RichProgress:
    """A Rich bar per dataset on stderr, with rows, speed and ETA."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rows]:>9,} rows"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=_console(),
        )
        self._rows: dict[object, int] = {}

    def __enter__(self) -> _RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, label: str, total: float) -> object:
        task = self._progress.add_task(label, total=max(total, 1e-9), rows=0)
        self._rows[task] = 0
        return task

    def advance(self, task: object, amount: float, rows: int = 0) -> None:
        self._rows[task] += rows
        self._progress.update(task, advance=amount, rows=self._rows[task])  # type: ignore[arg-type]


def _span(first: int | None, last: int | None) -> str:
    from okxbot.data.dates import fmt_ms

    return "-" if first is None or last is None else f"{fmt_ms(first)} .. {fmt_ms(last)}"


def _render_reports(reports: list[Report], as_json: bool) -> None:
    from okxbot.data.dates import fmt_ms

    if as_json:
        rows = []
        for r in reports:
            rows.append(
                {
                    "dataset": r.label, "start": r.start, "end": r.end, "fetched": r.fetched, "added": r.added,
                    "duplicates": r.duplicates, "conflicting": r.conflicting, "replaced": r.replaced,
                    "alreadyStored": r.already, "rows": r.rows, "first": r.first, "last": r.last,
                    "gaps": [{"start": g.start, "end": g.end, "missing": g.missing} for g in r.gaps],
                    "noData": r.no_data, "notes": r.notes,
                }
            )  # fmt: skip
        print(json.dumps(rows, indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="Download")
    for name in ("dataset", "stored in range", "rows", "fetched", "new", "duplicates", "gaps"):
        table.add_column(name, justify="right" if name not in ("dataset", "stored in range") else "left")
    for r in reports:
        missing = sum(g.missing for g in r.gaps)
        gaps = f"{len(r.gaps)} ({missing} bars)" if missing else str(len(r.gaps))
        fetched = "already stored" if r.already else f"{r.fetched:,}"
        table.add_row(
            r.label, _span(r.first, r.last), f"{r.rows:,}", fetched, f"{r.added:,}", str(r.duplicates), gaps
        )
    console.print(table)
    for r in reports:
        if r.no_data:
            typer.echo(
                f"Error: OKX has no {r.label} between {fmt_ms(r.start)} and {fmt_ms(r.end)} "
                "(not listed yet, beyond OKX's history, or a symbol without trading).\n"
                "Fix: choose another range with --since / --until",
                err=True,
            )
        if r.duplicates:
            extra = (
                f", {r.conflicting} of them with different values (the last kept)" if r.conflicting else ""
            )
            console.print(f"[yellow]{r.label}: OKX sent {r.duplicates} rows twice{extra}; stored once.[/]")
        if r.replaced:
            console.print(
                f"[yellow]{r.label}: {r.replaced} stored rows differed from OKX's answer and were replaced.[/]"
            )
        for gap in r.gaps[:5]:
            what = f"{gap.missing} bars missing" if gap.missing else "not downloaded"
            console.print(f"[yellow]{r.label}: gap {fmt_ms(gap.start)} .. {fmt_ms(gap.end)} ({what})[/]")
        if len(r.gaps) > 5:
            console.print(
                f"[yellow]{r.label}: {len(r.gaps) - 5} more gaps (okxbot data check lists them all)[/]"
            )
        for note in r.notes:
            console.print(f"{r.label}: {note}")


def _selected(symbols: list[str] | None) -> Callable[[str], bool]:
    from okxbot.data.symbols import normalize

    wanted = {normalize(s) for s in symbols or []}
    return lambda inst: not wanted or inst in wanted


@app.command(name="list")
def list_(symbols: list[str] | None = SYMBOLS, as_json: bool = JSON) -> None:
    """Show what is stored: range, rows, gaps, files and size per dataset."""
    with _errors(2):
        from okxbot.data.quality import summarize
        from okxbot.data.store import Store

        keep = _selected(symbols)
        store = Store()
        summaries = [summarize(ds) for ds in store.datasets() if keep(ds.id.inst_id)]
    if as_json:
        print(json.dumps([_summary_json(s) for s in summaries], indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not summaries:
        console.print(
            f"Nothing stored under {store.root}. Download with: okxbot data download BTC-USDT --since 30d"
        )
        return
    table = Table(title=f"Stored history ({store.root})")
    for name in ("dataset", "from .. to (UTC)", "rows", "gaps", "files", "size"):
        table.add_column(name, justify="left" if name in ("dataset", "from .. to (UTC)") else "right")
    for s in summaries:
        if s.problem:
            table.add_row(s.label, f"[red]{s.problem}[/]", "-", "-", str(s.files), _size(s.size))
            continue
        gaps = f"{len(s.gaps)} ({s.missing} bars)" if s.missing else str(len(s.gaps))
        table.add_row(s.label, _span(s.first, s.last), f"{s.rows:,}", gaps, str(s.files), _size(s.size))
    console.print(table)


def _summary_json(s: Summary) -> dict[str, Any]:
    return {
        "dataset": s.label, "kind": s.kind, "instId": s.inst_id, "bar": s.bar, "rows": s.rows,
        "first": s.first, "last": s.last, "files": s.files, "bytes": s.size, "missingBars": s.missing,
        "gaps": [{"start": g.start, "end": g.end, "missing": g.missing} for g in s.gaps],
        "covered": [list(c) for c in s.coverage], "problem": s.problem,
    }  # fmt: skip


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


@app.command()
def check(symbols: list[str] | None = SYMBOLS, as_json: bool = JSON) -> None:
    """Verify what is stored: every file readable, schema, order, duplicates, candle sanity, gaps.

    Nothing is changed. Exit status 1 when a problem is found (gaps alone are warnings: OKX itself
    has minutes without candles).
    """
    with _errors(2):
        from okxbot.data.quality import check as check_dataset
        from okxbot.data.store import Store

        keep = _selected(symbols)
        store = Store()
        datasets = [ds for ds in store.datasets() if keep(ds.id.inst_id)]
        results = [(ds, check_dataset(ds)) for ds in datasets]
    errors = sum(1 for _, found in results for f in found if f.level == "error")
    if as_json:
        out = [
            {
                "dataset": ds.id.label,
                "findings": [{"level": f.level, "where": f.where, "message": f.message} for f in found],
            }
            for ds, found in results
        ]
        print(json.dumps(out, indent=1))
    else:
        from rich.console import Console

        console = Console()
        if not results:
            console.print(f"Nothing stored under {store.root}.")
        for ds, found in results:
            bad = [f for f in found if f.level == "error"]
            warn = [f for f in found if f.level == "warning"]
            status = "[red]FAILED[/]" if bad else "[green]ok[/]"
            console.print(f"{ds.id.label}: {status} ({len(ds.parts())} files, {len(warn)} gap warnings)")
            for f in bad:
                console.print(f"  [red]error[/] {f.where}: {f.message}")
            for f in warn[:10]:
                console.print(f"  [yellow]warning[/] {f.message}")
            if len(warn) > 10:
                console.print(f"  [yellow]warning[/] {len(warn) - 10} more gaps")
        if errors:
            console.print(
                f"{errors} problem(s). Stored files were not changed. Move a bad file away and download its "
                "period again (the download notices the hole only with --refetch, or after deleting the "
                "dataset's coverage.json)."
            )
    if errors:
        raise typer.Exit(1)


@app.command(name="import")
def import_(
    files: list[Path] = typer.Argument(
        ..., help="OKX history files (.zip or .csv) from okx.com/historical-data."
    ),
    inst: str | None = typer.Option(
        None, "--inst", help="Instrument of trade files whose name does not say it."
    ),
    bar: str = typer.Option("1m", "--bar", help="Bar of candlestick files (OKX's daily files are 1m)."),
    as_json: bool = JSON,
) -> None:
    """Import OKX's downloadable daily history files: trades, aggregated trades, 1m candles, funding.

    Formats (CSV inside a zip, header in the first row):
    trades: trade_id,side,size,price,created_time;
    candles: instrument_name,open,high,low,close,vol,vol_ccy,vol_quote,open_time,confirm;
    funding: instrument_name,funding_rate,funding_time.
    """
    with _errors(2):
        from okxbot.data import bars as bar_names
        from okxbot.data.symbols import normalize

        bar_names.check_bar(bar)
        inst_id = normalize(inst) if inst else None
    with _errors(1):
        from okxbot.data.okx_files import import_files
        from okxbot.data.store import Store

        reports = import_files(Store(), list(files), inst_id=inst_id, bar=bar)
    if as_json:
        print(json.dumps([r.__dict__ for r in reports], indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Import")
    for name in ("file", "dataset", "rows", "new", "duplicates", "replaced"):
        table.add_column(name, justify="left" if name in ("file", "dataset") else "right")
    for r in reports:
        table.add_row(r.source, r.label, f"{r.rows:,}", f"{r.added:,}", str(r.duplicates), str(r.replaced))
    Console().print(table)
    for r in reports:
        for note in r.notes:
            print(f"{r.source}: {note}", file=sys.stderr)
