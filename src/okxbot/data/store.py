"""The Parquet store: one dataset per instrument (and bar), one file per month (trades: per day).

    ROOT/candles/BTC-USDT/1m/2024-01.parquet     ROOT = OKXBOT_HOME/history (or `root=`)
    ROOT/trades/BTC-USDT/2024-01/2024-01-15.parquet
    ROOT/funding/BTC-USDT-SWAP/2024-01.parquet
    each dataset directory: coverage.json (the time ranges downloaded in full)

Partitions are UTC calendar months (a trades month is a directory of days), so a month is read alone
and rewriting one never touches another. Every write goes to a temporary file that is flushed and
renamed over the old one (then the directory is synced): a crash leaves the old file or the new one,
whole, never a torn one. A file that cannot be read is reported and left as it is: merging new rows
into it is refused, so stored data is never replaced by a guess.

`coverage.json` lists the ranges a download asked OKX for and got complete answers to; a rerun
fetches only what is outside them. It is written after the data it describes, so a crash in between
costs a refetch, never a hole.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from okxbot.data import schema
from okxbot.data.errors import DataError
from okxbot.data.schema import Kind

COVERAGE = "coverage.json"
_MONTH_FILE = re.compile(r"^\d{4}-\d{2}\.parquet$")
_DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.parquet$")
_MONTH_DIR = re.compile(r"^\d{4}-\d{2}$")


def default_root() -> Path:
    """OKXBOT_HOME/history (OKXBOT_HOME: `okxbot --data-dir`, default ~/.okxbot)."""
    from okxbot.vault.home import okxbot_home

    return okxbot_home() / "history"


@dataclass(frozen=True)
class DatasetId:
    kind: Kind
    inst_id: str
    bar: str | None = None  # candles only

    @property
    def label(self) -> str:
        return (
            f"{self.inst_id} {self.bar} candles" if self.kind == "candles" else f"{self.inst_id} {self.kind}"
        )


@dataclass(frozen=True)
class MergeResult:
    added: int  # rows that were not stored before
    replaced: int  # stored rows replaced by a different value for the same key
    duplicates: int  # rows given twice in the input (same key)
    conflicting: int  # of those, how many disagreed with each other


def _month_key(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m")


def _day_key(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m/%Y-%m-%d")


def part_bounds(part: str) -> tuple[int, int]:
    """[start, end) in ms of a partition name ("2024-01" or "2024-01/2024-01-15")."""
    name = part.rsplit("/", 1)[-1]
    if len(name) == 7:
        year, month = int(name[:4]), int(name[5:])
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    else:
        start = datetime.fromisoformat(name).replace(tzinfo=UTC)
        end = datetime.fromtimestamp(start.timestamp() + 86_400, UTC)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def write_parquet_atomic(path: Path, table: pa.Table) -> None:
    """Write `table` to `path` so that a crash leaves the old file or the new one, whole."""
    from okxbot.vault.atomic import write_atomic

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, sink.getvalue().to_pybytes())


class Dataset:
    """One instrument's candles of one bar, its trades, or its funding history, on disk."""

    def __init__(self, root: Path, ident: DatasetId) -> None:
        self.root = root
        self.id = ident
        self.kind: Kind = ident.kind
        parts = [ident.kind, ident.inst_id] + ([ident.bar] if ident.bar else [])
        self.dir = root.joinpath(*parts)
        self._by_day = ident.kind == "trades"

    # ------------------------------------------------------------------ partitions

    def part_of(self, ms: int) -> str:
        return _day_key(ms) if self._by_day else _month_key(ms)

    def path(self, part: str) -> Path:
        return self.dir / f"{part}.parquet"

    def parts(self) -> list[str]:
        """Stored partitions, oldest first."""
        if not self.dir.is_dir():
            return []
        if not self._by_day:
            return sorted(p.name[:-8] for p in self.dir.iterdir() if _MONTH_FILE.match(p.name))
        found = []
        for month in sorted(p for p in self.dir.iterdir() if p.is_dir() and _MONTH_DIR.match(p.name)):
            found.extend(
                f"{month.name}/{p.name[:-8]}" for p in sorted(month.iterdir()) if _DAY_FILE.match(p.name)
            )
        return found

    def parts_between(self, start: int | None, end: int | None) -> list[str]:
        out = []
        for part in self.parts():
            lo, hi = part_bounds(part)
            if (start is None or hi > start) and (end is None or lo < end):
                out.append(part)
        return out

    def exists(self) -> bool:
        return bool(self.parts())

    # ------------------------------------------------------------------ reading

    def read_part(self, part: str, columns: list[str] | None = None) -> pa.Table:
        """One partition, checked to be a readable `kind` file; DataError (file untouched) if not."""
        path = self.path(part)
        try:
            table = pq.read_table(path, columns=columns)
            problem = None if columns else schema.schema_problem(table.schema, self.kind)
        except (OSError, pa.ArrowException) as err:
            problem = f"cannot be read ({str(err).splitlines()[0]})"
        if problem is not None:
            raise DataError(
                f"stored file {path} is corrupted: {problem}; it was left as it is",
                "move it away and download that period again (`okxbot data check` lists every bad file)",
            )
        return table

    def read(
        self, start: int | None = None, end: int | None = None, columns: list[str] | None = None
    ) -> pa.Table:
        """Rows with start <= ts < end, oldest first, from every partition in the range."""
        tables = [self.read_part(part, columns) for part in self.parts_between(start, end)]
        if columns:
            table = pa.concat_tables(tables) if tables else None
        else:
            table = schema.unify(tables, self.kind)
        if table is None:
            return schema.empty(self.kind).select(columns) if columns else schema.empty(self.kind)
        ts = table["ts"]
        mask = None
        if start is not None:
            mask = pc.greater_equal(ts, pa.scalar(start, pa.int64()).cast(schema.TS))
        if end is not None:
            below = pc.less(ts, pa.scalar(end, pa.int64()).cast(schema.TS))
            mask = below if mask is None else pc.and_(mask, below)
        return table.filter(mask) if mask is not None else table

    # ------------------------------------------------------------------ writing

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive use of this dataset against other okxbot processes (a download, an import)."""
        from okxbot.vault.atomic import exclusive
        from okxbot.vault.errors import VaultError

        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            with exclusive(self.dir / ".lock", f"{self.id.label} data", timeout_s=60):
                yield
        except VaultError as err:
            raise DataError(err.problem, err.fix) from None

    def merge(self, table: pa.Table) -> MergeResult:
        """Add rows (any order, any partitions); rows whose key is stored already replace it."""
        if table.num_rows == 0:
            return MergeResult(0, 0, 0, 0)
        ts = table["ts"].cast(pa.int64()).to_numpy()
        groups = ts.astype("datetime64[ms]").astype("datetime64[D]" if self._by_day else "datetime64[M]")
        totals = [0, 0, 0, 0]
        for value in np.unique(groups):
            rows = table.filter(pa.array(groups == value))
            part = self.part_of(int(pc.min(rows["ts"]).cast(pa.int64()).as_py()))
            result = self._merge_part(part, rows)
            totals = [
                a + b
                for a, b in zip(
                    totals,
                    (result.added, result.replaced, result.duplicates, result.conflicting),
                    strict=True,
                )
            ]
        return MergeResult(*totals)

    def _merge_part(self, part: str, new: pa.Table) -> MergeResult:
        path = self.path(part)
        old = self.read_part(part) if path.exists() else None
        old_rows = old.num_rows if old is not None else 0
        combined = schema.unify([t for t in (old, new) if t is not None], self.kind)
        n = combined.num_rows
        source = np.zeros(n, dtype=np.int8)
        source[old_rows:] = 1
        key = schema.KEY[self.kind]
        keys = combined[key].cast(pa.int64()).to_numpy()
        # stable order: by key, stored rows before new ones, input order within each: the last wins
        order = np.lexsort((np.arange(n), source, keys))
        sorted_keys = keys[order]
        last_of_key = np.append(sorted_keys[1:] != sorted_keys[:-1], True)
        dropped = order[~last_of_key]
        kept_after = order[np.flatnonzero(~last_of_key) + 1]  # the row that replaces each dropped one
        differs = _rows_differ(combined, dropped, kept_after)
        replaced = int(np.count_nonzero((source[dropped] == 0) & differs))
        dup_new = source[dropped] == 1
        duplicates = int(np.count_nonzero(dup_new))
        conflicting = int(np.count_nonzero(dup_new & differs))
        result = combined.take(pa.array(order[last_of_key]))
        sort_keys = [("ts", "ascending")] + ([("trade_id", "ascending")] if self.kind == "trades" else [])
        result = result.sort_by(sort_keys)
        if old is None or result.num_rows != old_rows or replaced:
            write_parquet_atomic(path, result)
        return MergeResult(result.num_rows - old_rows, replaced, duplicates, conflicting)

    # ------------------------------------------------------------------ coverage

    def coverage(self) -> list[tuple[int, int]]:
        path = self.dir / COVERAGE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            spans = [(int(a), int(b)) for a, b in raw["covered"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError):
            raise DataError(
                f"{path} is unreadable; okxbot no longer knows which ranges of {self.id.label} are complete",
                "delete it: the next download fetches the whole range again and keeps the stored rows",
            ) from None
        return spans

    def add_coverage(self, spans: list[tuple[int, int]]) -> None:
        from okxbot.vault.atomic import write_atomic

        merged = merge_spans(self.coverage() + [s for s in spans if s[1] > s[0]])
        body = json.dumps({"version": 1, "kind": self.kind, "instId": self.id.inst_id, "bar": self.id.bar,
                           "covered": [list(s) for s in merged]}, indent=1)  # fmt: skip
        self.dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.dir / COVERAGE, body.encode())

    def missing(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of [start, end) that no download has covered yet."""
        return subtract_spans((start, end), self.coverage())

    def size_bytes(self) -> int:
        return sum(self.path(p).stat().st_size for p in self.parts() if self.path(p).exists())


def _rows_differ(table: pa.Table, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each pair (a[i], b[i]) of row indexes: do the two rows differ in any column?"""
    if len(a) == 0:
        return np.zeros(0, dtype=bool)
    left, right = table.take(pa.array(a)), table.take(pa.array(b))
    differs = np.zeros(len(a), dtype=bool)
    for name in table.column_names:
        same = pc.fill_null(pc.equal(left[name], right[name]), False)
        both_null = pc.and_(pc.is_null(left[name]), pc.is_null(right[name]))
        differs |= ~pc.or_(same, both_null).to_numpy(zero_copy_only=False)
    return differs


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping spans covering the same time (touching spans join)."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def subtract_spans(span: tuple[int, int], covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    lo, hi = span
    out = []
    for a, b in merge_spans(covered):
        if b <= lo or a >= hi:
            continue
        if a > lo:
            out.append((lo, a))
        lo = max(lo, b)
    if lo < hi:
        out.append((lo, hi))
    return out


class Store:
    """All datasets under one root directory."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def dataset(self, kind: Kind, inst_id: str, bar: str | None = None) -> Dataset:
        return Dataset(self.root, DatasetId(kind, inst_id, bar if kind == "candles" else None))

    def candles(self, inst_id: str, bar: str = "1m") -> Dataset:
        return self.dataset("candles", inst_id, bar)

    def trades(self, inst_id: str) -> Dataset:
        return self.dataset("trades", inst_id)

    def funding(self, inst_id: str) -> Dataset:
        return self.dataset("funding", inst_id)

    def datasets(self) -> list[Dataset]:
        """Every dataset with at least one stored file (or a coverage record), sorted."""
        found: list[Dataset] = []
        for kind in schema.KINDS:
            base = self.root / kind
            if not base.is_dir():
                continue
            for inst in sorted(p for p in base.iterdir() if p.is_dir()):
                if kind == "candles":
                    for bar in sorted(p for p in inst.iterdir() if p.is_dir()):
                        found.append(self.dataset(kind, inst.name, bar.name))
                else:
                    found.append(self.dataset(kind, inst.name))
        return [d for d in found if d.exists() or (d.dir / COVERAGE).exists()]
