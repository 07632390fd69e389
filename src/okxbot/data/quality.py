"""What is stored and whether it is sound: gaps, duplicates, order, schema, unreadable files.

Gaps are reported, not repaired: OKX itself has minutes without candles (maintenance, a quiet
market on a small pair), so a gap is a warning; a file that cannot be read, rows out of order,
duplicates or impossible candles (high below low) are errors.

Candle gaps are missing bar open times between the first and the last stored bar. Trades carry no
schedule (and OKX's trade ids are not promised to be consecutive), so their gaps are the stretches
between the first and last stored trade that no download covered. Funding gaps are intervals more
than 1.5 times the usual interval (OKX settles every 8 h by default, sometimes 4, 2 or 1 h).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from okxbot.data import bars, schema
from okxbot.data.errors import DataError
from okxbot.data.store import Dataset, part_bounds, subtract_spans


@dataclass(frozen=True)
class Gap:
    start: int  # first missing time (a bar open for candles)
    end: int  # the next stored row's time
    missing: int  # bars missing (candles); 0 where it cannot be counted


def candle_gaps(ts: np.ndarray, bar: str) -> list[Gap]:
    """Missing bars between consecutive stored bar opens (ts ascending, ms)."""
    if len(ts) < 2:
        return []
    size = bars.fixed_ms(bar)
    if size is not None:
        steps = np.diff(ts)
        at = np.flatnonzero(steps > size)
        return [Gap(int(ts[i]) + size, int(ts[i + 1]), int(steps[i] // size) - 1) for i in at]
    gaps = []
    for a, b in zip(ts[:-1].tolist(), ts[1:].tolist(), strict=True):
        nxt, missing = bars.next_open(a, bar), 0
        start = nxt
        while nxt < b:
            missing += 1
            nxt = bars.next_open(nxt, bar)
        if missing:
            gaps.append(Gap(start, b, missing))
    return gaps


def funding_gaps(ts: np.ndarray) -> list[Gap]:
    if len(ts) < 3:
        return []
    steps = np.diff(ts)
    usual = int(np.median(steps))
    at = np.flatnonzero(steps > usual * 3 // 2)
    return [Gap(int(ts[i]) + usual, int(ts[i + 1]), int(steps[i] // usual) - 1) for i in at]


@dataclass
class Summary:
    """What `okxbot data list` shows for one dataset."""

    label: str
    kind: str
    inst_id: str
    bar: str | None
    rows: int = 0
    first: int | None = None
    last: int | None = None
    files: int = 0
    size: int = 0
    gaps: list[Gap] = field(default_factory=list)
    coverage: list[tuple[int, int]] = field(default_factory=list)
    problem: str | None = None  # set when the dataset could not be read whole

    @property
    def missing(self) -> int:
        return sum(g.missing for g in self.gaps)


def gaps_of(ds: Dataset, ts: np.ndarray) -> list[Gap]:
    if ds.kind == "candles":
        assert ds.id.bar is not None
        return candle_gaps(ts, ds.id.bar)
    if ds.kind == "funding":
        return funding_gaps(ts)
    if len(ts) == 0:
        return []
    holes = subtract_spans((int(ts[0]), int(ts[-1])), ds.coverage())
    return [Gap(a, b, 0) for a, b in holes]


def summarize(ds: Dataset) -> Summary:
    summary = Summary(ds.id.label, ds.kind, ds.id.inst_id, ds.id.bar)
    summary.files = len(ds.parts())
    summary.size = ds.size_bytes()
    try:
        summary.coverage = ds.coverage()
        table = ds.read(columns=["ts"])
    except DataError as err:
        summary.problem = err.problem
        return summary
    ts = table["ts"].cast(pa.int64()).to_numpy()
    summary.rows = len(ts)
    if len(ts):
        summary.first, summary.last = int(ts[0]), int(ts[-1])
        summary.gaps = gaps_of(ds, ts)
    return summary


@dataclass(frozen=True)
class Finding:
    level: Literal["error", "warning"]
    where: str  # a file path, or the dataset's label
    message: str


def check(ds: Dataset) -> list[Finding]:
    """Every problem of one dataset; stored files are only read."""
    findings: list[Finding] = []
    stamps: list[np.ndarray] = []
    for part in ds.parts():
        where = str(ds.path(part))
        try:
            table = ds.read_part(part)
        except DataError as err:
            findings.append(Finding("error", where, err.problem.split(": ", 1)[-1]))
            continue
        findings.extend(Finding("error", where, m) for m in _part_problems(ds, part, table))
        stamps.append(table["ts"].cast(pa.int64()).to_numpy())
    try:
        ds.coverage()
    except DataError as err:
        findings.append(Finding("error", ds.id.label, err.problem))
    ts = np.concatenate(stamps) if stamps else np.zeros(0, dtype=np.int64)
    if len(ts) and np.all(np.diff(ts) >= 0):
        for gap in gaps_of(ds, ts):
            from okxbot.data.dates import fmt_ms

            count = f"{gap.missing} bars missing" if gap.missing else "not downloaded"
            findings.append(
                Finding("warning", ds.id.label, f"gap {fmt_ms(gap.start)} .. {fmt_ms(gap.end)} ({count})")
            )
    return findings


def _part_problems(ds: Dataset, part: str, table: pa.Table) -> list[str]:
    problems: list[str] = []
    if table.num_rows == 0:
        return ["the file holds no rows"]
    ts = table["ts"].cast(pa.int64()).to_numpy()
    lo, hi = part_bounds(part)
    outside = int(np.count_nonzero((ts < lo) | (ts >= hi)))
    if outside:
        problems.append(f"{outside} rows outside the file's period {part}")
    if ds.kind == "trades":
        ids = table["trade_id"].to_numpy()
        order = np.lexsort((ids, ts))
        if not np.array_equal(order, np.arange(len(ts))):
            problems.append("rows are not in time order")
        dups = len(ids) - len(np.unique(ids))
        if dups:
            problems.append(f"{dups} duplicate trade ids")
        if not pc.all(pc.is_in(table["side"], pa.array(["buy", "sell"]))).as_py():
            problems.append("a side is neither buy nor sell")
        if any(pc.any(pc.less_equal(table[n].cast(pa.float64()), 0)).as_py() for n in ("px", "sz")):
            problems.append("a trade has a price or size <= 0")
        return problems
    steps = np.diff(ts)
    if np.any(steps < 0):
        problems.append("rows are not in time order")
    dups = int(np.count_nonzero(steps == 0))
    if dups:
        problems.append(f"{dups} duplicate rows (same time)")
    if ds.kind == "candles":
        assert ds.id.bar is not None
        off = bars.misaligned(ts, ds.id.bar)
        if off:
            problems.append(f"{off} rows not on {ds.id.bar} bar open times")
        try:
            prices = schema.align(table, "candles")
        except DataError:
            prices = table.select(["open", "high", "low", "close"]).cast(
                pa.schema([(n, pa.float64()) for n in ("open", "high", "low", "close")])
            )
        o, high, low, c = (prices[n] for n in ("open", "high", "low", "close"))
        bad = pc.or_(
            pc.or_(pc.less(high, low), pc.less(high, o)),
            pc.or_(pc.less(high, c), pc.or_(pc.greater(low, o), pc.greater(low, c))),
        )
        count = pc.sum(pc.cast(bad, pa.int64())).as_py() or 0
        if count:
            problems.append(f"{count} candles with high/low not enclosing open and close")
        if pc.any(pc.less(table["vol"].cast(pa.float64()), 0)).as_py():
            problems.append("a candle has a negative volume")
    return problems
