"""`okxbot data download`: fetch what is missing, store it, say what came back wrong.

Candles come from `market/history-candles` (300 rows a request, OKX's documented maximum, 20
requests / 2 s per IP: about 3,000 candles/s), trades from `market/history-trades` (100 rows, type=2
to start at a time, then type=1 by tradeId; OKX keeps 3 months), funding rates from
`public/funding-rate-history` (400 rows, perpetual swaps only).

The range is cut into pieces walked at the same time (OKX answers newest first, so each piece is
walked backwards with `after`; `before` fences its start), enough of them in flight that OKX's limit,
not the round trip, sets the pace. A short page does not mean the end: OKX has been seen to answer
100 candles when asked for 300, so a piece ends only on an empty page or a row at its start.
Unconfirmed candles (the bar still open) are not stored and their time is left uncovered, so the
next run fetches them once they are final.

Rows are stored as they arrive (every few thousand rows), then the covered time is recorded: a run
that stops halfway, for any reason, keeps what it stored, and the next run fetches only the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from okxbot.data import bars, schema
from okxbot.data.dates import fmt_ms, now_ms
from okxbot.data.errors import DataError
from okxbot.data.okx_public import InstrumentInfo, PublicApi
from okxbot.data.quality import Gap, gaps_of
from okxbot.data.store import Dataset, MergeResult, Store
from okxbot.data.symbols import inst_type

CANDLES_PER_REQUEST = 300  # OKX docs: history-candles limit max 300 (default 100)
TRADES_PER_REQUEST = 100  # history-trades: max and default 100
FUNDING_PER_REQUEST = 400  # funding-rate-history: max and default 400
TRADES_DEPTH_MS = 90 * 86_400_000  # OKX serves the last 3 months of trades
WORKERS = 4  # pieces in flight; OKX's limit, not this, sets the pace once latency is covered
FLUSH_ROWS = 20_000


class Progress(Protocol):
    """Where a download reports how far it got (a Rich bar in the CLI; nothing in the library)."""

    def start(self, label: str, total: float) -> object: ...
    def advance(self, task: object, amount: float, rows: int = 0) -> None: ...


class NoProgress:
    def start(self, label: str, total: float) -> object:
        return None

    def advance(self, task: object, amount: float, rows: int = 0) -> None:
        return None


@dataclass
class Report:
    """What one dataset's download did and found."""

    label: str
    start: int
    end: int
    fetched: int = 0  # rows received (in range)
    added: int = 0  # rows not stored before
    duplicates: int = 0  # rows OKX sent twice
    conflicting: int = 0  # of those, copies that disagreed
    replaced: int = 0  # stored rows OKX now answers differently
    already: bool = False  # nothing was missing: no request made
    rows: int = 0  # rows stored in [start, end) afterwards
    first: int | None = None
    last: int | None = None
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def no_data(self) -> bool:
        return self.rows == 0


@dataclass
class _Piece:
    rows: list[Any]
    covered: tuple[int, int]


Emit = Callable[[_Piece], Awaitable[None]]


class _Sink:
    """Collects pieces from the walkers; stores rows, then records their coverage, in batches."""

    def __init__(self, ds: Dataset, to_table: Callable[[list[Any]], pa.Table], report: Report) -> None:
        self.ds = ds
        self.to_table = to_table
        self.report = report
        self.rows: list[Any] = []
        self.spans: list[tuple[int, int]] = []
        self._lock = asyncio.Lock()

    async def put(self, piece: _Piece) -> None:
        self.rows.extend(piece.rows)
        self.spans.append(piece.covered)
        self.report.fetched += len(piece.rows)
        if len(self.rows) >= FLUSH_ROWS:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            rows, spans = self.rows, self.spans
            self.rows, self.spans = [], []
            if not rows and not spans:
                return
            result = await asyncio.to_thread(self._store, rows, spans)
            r = self.report
            r.added += result.added
            r.duplicates += result.duplicates
            r.conflicting += result.conflicting
            r.replaced += result.replaced

    def _store(self, rows: list[Any], spans: list[tuple[int, int]]) -> MergeResult:
        with self.ds.locked():
            result = self.ds.merge(self.to_table(rows)) if rows else MergeResult(0, 0, 0, 0)
            self.ds.add_coverage(spans)
        return result


class _Floor:
    """The time before which OKX has said it holds nothing (None until it says so)."""

    def __init__(self) -> None:
        self.value: int | None = None

    def lower_than(self, ms: int) -> None:
        """OKX answered that nothing is older than `ms`."""
        self.value = ms if self.value is None else max(self.value, ms)

    def covers(self, hi: int) -> bool:
        return self.value is not None and hi <= self.value


async def _walk(
    spans: list[tuple[int, int]],
    size: int,
    walk: Callable[[int, int, _Floor], Awaitable[None]],
    skip: Callable[[int, int], Awaitable[None]],
) -> None:
    """Walk the pieces of `spans` newest first, WORKERS at a time. A piece older than what OKX said
    it has is covered without a request (a range from before the listing costs one request, not one
    per piece)."""
    pieces = iter(sorted(_split(spans, size), reverse=True))
    floor = _Floor()

    async def worker() -> None:
        for lo, hi in pieces:  # shared: each worker takes the next piece
            if floor.covers(hi):
                await skip(lo, hi)
            else:
                await walk(lo, hi, floor)

    tasks = [asyncio.ensure_future(worker()) for _ in range(WORKERS)]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _oldest(page: list[Any], time_of: Callable[[Any], int], cursor: int, path: str) -> int:
    """The oldest time on a page; a page not older than the cursor would make the walk go round."""
    try:
        oldest = min(time_of(row) for row in page)
    except (KeyError, IndexError, TypeError, ValueError):
        raise DataError(f"{path} answered rows okxbot cannot read: {page[0]!r}") from None
    if oldest >= cursor:
        raise DataError(f"{path} answered a row at {oldest}, not older than after={cursor} as asked")
    return oldest


def _split(spans: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    out = []
    for lo, hi in spans:
        while lo < hi:
            out.append((lo, min(hi, lo + size)))
            lo += size
    return out


# ---------------------------------------------------------------------- candles


async def _candle_piece(
    api: PublicApi, inst_id: str, bar: str, lo: int, hi: int, floor: _Floor, emit: Emit, progress: Progress,
    task: object,
) -> None:  # fmt: skip
    """Bars opening in [lo, hi), walked newest first."""
    unit = bars.nominal_ms(bar)
    first = bars.bar_open(lo, bar)
    if first < lo:
        first = bars.next_open(first, bar)  # the first bar opening in the piece: its answer ends the walk
    cursor = accounted = hi
    rows: list[list[str]] = []
    open_bar: int | None = None  # the oldest unconfirmed bar seen: not stored, not covered
    while True:
        params = {"instId": inst_id, "bar": bar, "after": str(cursor), "before": str(first - 1),
                  "limit": str(CANDLES_PER_REQUEST)}  # fmt: skip
        page = await api.get("market/history-candles", params)
        if not page:
            if cursor == hi:  # nothing in the piece: is there anything older at all?
                probe = {"instId": inst_id, "bar": bar, "after": str(lo), "limit": "1"}
                if not await api.get("market/history-candles", probe):
                    floor.lower_than(lo)
            break
        oldest = _oldest(page, lambda r: int(r[0]), cursor, "market/history-candles")
        kept = 0
        for row in page:
            ts = int(row[0])
            if lo <= ts < hi:
                if len(row) > 8 and row[8] == "0":
                    open_bar = ts if open_bar is None else min(open_bar, ts)
                else:
                    rows.append(row)
                    kept += 1
        reached = max(oldest, lo)
        progress.advance(task, (accounted - reached) / unit, kept)
        accounted = reached
        if oldest <= first:
            break
        cursor = oldest
    progress.advance(task, (accounted - lo) / unit)
    await emit(_Piece(rows, (lo, hi if open_bar is None else min(hi, open_bar))))


async def download_candles(
    api: PublicApi, store: Store, inst_id: str, bar: str, start: int, end: int,
    progress: Progress | None = None, refetch: bool = False,
) -> Report:  # fmt: skip
    progress = progress or NoProgress()
    ds = store.candles(inst_id, bar)
    report = Report(ds.id.label, start, end)
    spans = [(start, end)] if refetch else ds.missing(start, end)
    unit = bars.nominal_ms(bar)
    if spans:
        sink = _Sink(ds, schema.candles_table, report)
        task = progress.start(ds.id.label, sum(hi - lo for lo, hi in spans) / unit)

        async def walk(lo: int, hi: int, floor: _Floor) -> None:
            await _candle_piece(api, inst_id, bar, lo, hi, floor, sink.put, progress, task)

        async def skip(lo: int, hi: int) -> None:
            progress.advance(task, (hi - lo) / unit)
            await sink.put(_Piece([], (lo, hi)))

        try:
            await _walk(spans, CANDLES_PER_REQUEST * unit, walk, skip)
        finally:
            await sink.flush()
    else:
        report.already = True
    return _finish(ds, report)


# ---------------------------------------------------------------------- trades


async def _trade_piece(
    api: PublicApi,
    inst_id: str,
    lo: int,
    hi: int,
    floor: _Floor,
    emit: Emit,
    progress: Progress,
    task: object,
) -> None:
    """Trades with lo <= ts < hi, newest first: type=2 (by time) to start, then type=1 by tradeId."""
    params = {"instId": inst_id, "type": "2", "after": str(hi), "limit": str(TRADES_PER_REQUEST)}
    covered_to = hi
    after_id = 2**63  # no id bound on the first page
    while True:
        page = await api.get("market/history-trades", params)
        if not page:
            if covered_to == hi:  # type=2 after=hi has no lower bound: nothing is older than hi
                floor.lower_than(hi)
            progress.advance(task, (covered_to - lo) / 60_000)
            await emit(_Piece([], (lo, covered_to)))
            return
        kept = [t for t in page if lo <= int(t["ts"]) < hi]
        oldest_ts = _oldest(page, lambda t: int(t["ts"]), hi, "market/history-trades")
        oldest_id = _oldest(page, lambda t: int(t["tradeId"]), after_id, "market/history-trades")
        # trades of the oldest millisecond may continue on the next page: cover up to it only
        covered_from = max(lo, oldest_ts + 1)
        progress.advance(task, (covered_to - covered_from) / 60_000, len(kept))
        if oldest_ts < lo:
            progress.advance(task, (covered_from - lo) / 60_000)
            await emit(_Piece(kept, (lo, covered_to)))
            return
        await emit(_Piece(kept, (covered_from, covered_to)))
        covered_to = covered_from
        after_id = oldest_id
        params = {"instId": inst_id, "type": "1", "after": str(oldest_id), "limit": str(TRADES_PER_REQUEST)}


async def download_trades(
    api: PublicApi, store: Store, inst_id: str, start: int, end: int,
    progress: Progress | None = None, refetch: bool = False,
) -> Report:  # fmt: skip
    progress = progress or NoProgress()
    ds = store.trades(inst_id)
    report = Report(ds.id.label, start, end)
    floor = now_ms() - TRADES_DEPTH_MS
    if start < floor:
        report.notes.append(
            f"OKX keeps 3 months of trades (from {fmt_ms(floor)}); import daily trade files for older ones"
        )
    spans = [(start, end)] if refetch else ds.missing(start, end)
    spans = [(max(lo, floor), hi) for lo, hi in spans if hi > floor]
    if spans:
        sink = _Sink(ds, schema.trades_table, report)
        task = progress.start(ds.id.label, sum(hi - lo for lo, hi in spans) / 60_000)
        span_total = sum(hi - lo for lo, hi in spans)
        size = max(3_600_000, span_total // (WORKERS * 4))

        async def walk(lo: int, hi: int, floor: _Floor) -> None:
            await _trade_piece(api, inst_id, lo, hi, floor, sink.put, progress, task)

        async def skip(lo: int, hi: int) -> None:
            progress.advance(task, (hi - lo) / 60_000)
            await sink.put(_Piece([], (lo, hi)))

        try:
            await _walk(spans, size, walk, skip)
        finally:
            await sink.flush()
    else:
        report.already = True
    return _finish(ds, report)


# ---------------------------------------------------------------------- funding


async def download_funding(
    api: PublicApi, store: Store, info: InstrumentInfo, start: int, end: int,
    progress: Progress | None = None, refetch: bool = False,
) -> Report:  # fmt: skip
    progress = progress or NoProgress()
    if info.inst_type != "SWAP":
        raise DataError(
            f"{info.inst_id} is {info.inst_type}: funding rates exist for perpetual swaps only",
            f"ask for the swap, e.g. {info.inst_id}-SWAP",
        )
    ds = store.funding(info.inst_id)
    report = Report(ds.id.label, start, end)
    spans = [(start, end)] if refetch else ds.missing(start, end)
    if not spans:
        report.already = True
        return _finish(ds, report)
    sink = _Sink(ds, schema.funding_table, report)
    task = progress.start(ds.id.label, sum(hi - lo for lo, hi in spans) / 3_600_000)
    try:
        for lo, hi in spans:
            cursor = hi
            rows: list[dict[str, Any]] = []
            while True:
                params = {"instId": info.inst_id, "after": str(cursor), "before": str(lo - 1),
                          "limit": str(FUNDING_PER_REQUEST)}  # fmt: skip
                page = await api.get("public/funding-rate-history", params)
                if not page:
                    break
                oldest = _oldest(page, lambda r: int(r["fundingTime"]), cursor, "public/funding-rate-history")
                rows.extend(r for r in page if lo <= int(r["fundingTime"]) < hi)
                progress.advance(task, (cursor - max(oldest, lo)) / 3_600_000, len(page))
                if oldest <= lo:
                    break
                cursor = oldest
            await sink.put(_Piece(rows, (lo, hi)))
    finally:
        await sink.flush()
    return _finish(ds, report)


# ---------------------------------------------------------------------- after a download


def _finish(ds: Dataset, report: Report) -> Report:
    """Fill in what is stored in the range now, and its gaps."""
    table = ds.read(report.start, report.end, columns=["ts"])
    ts = table["ts"].cast(pa.int64()).to_numpy()
    report.rows = len(ts)
    if len(ts):
        report.first, report.last = int(ts[0]), int(ts[-1])
        report.gaps = gaps_of(ds, np.asarray(ts))
        unit = bars.nominal_ms(ds.id.bar) if ds.kind == "candles" and ds.id.bar else 0
        if unit and report.first - report.start > unit:
            report.notes.append(
                f"no data before {fmt_ms(report.first)} (not listed yet, or beyond OKX's history)"
            )
    return report


@dataclass(frozen=True)
class Request:
    """One `okxbot data download` call, checked: nothing here needs the network."""

    inst_ids: list[str]
    bar: str
    start: int
    end: int
    candles: bool = True
    trades: bool = False
    funding: bool = False
    refetch: bool = False

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise DataError(
                f"--since {fmt_ms(self.start)} is not before --until {fmt_ms(self.end)}",
                "give a --since earlier than --until",
            )
        if not (self.candles or self.trades or self.funding):
            raise DataError("nothing to download", "drop --no-candles, or add --trades or --funding")
        for inst in self.inst_ids:
            if self.funding and inst_type(inst) != "SWAP":
                raise DataError(
                    f"--funding: {inst} is not a perpetual swap; funding rates exist for swaps only",
                    f"ask for {inst}-SWAP, or drop --funding",
                )


async def run(
    api: PublicApi, store: Store, request: Request, progress: Progress | None = None
) -> list[Report]:
    """Download everything `request` asks for; one Report per dataset."""
    reports: list[Report] = []
    end = min(request.end, now_ms())
    if request.start >= end:
        raise DataError(f"--since {fmt_ms(request.start)} is in the future", "give a --since in the past")
    # every instrument is checked before the first download starts: a typo fails fast
    infos = [await api.instrument(inst_id) for inst_id in request.inst_ids]
    for inst_id, info in zip(request.inst_ids, infos, strict=True):
        if request.candles:
            candles = download_candles(
                api, store, inst_id, request.bar, request.start, end, progress, request.refetch
            )
            reports.append(await candles)
        if request.trades:
            reports.append(
                await download_trades(api, store, inst_id, request.start, end, progress, request.refetch)
            )
        if request.funding:
            reports.append(
                await download_funding(api, store, info, request.start, end, progress, request.refetch)
            )
    return reports
