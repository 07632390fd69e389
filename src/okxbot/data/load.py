"""Stored history for the backtester and for scripts: columnar, fast, exact on request.

    from okxbot.data import load_candles, iter_trades, load_funding
    c = load_candles("BTC-USDT", "1m", start=ms, end=ms)   # bars opening in [start, end)
    c.ts, c.open, c.high, c.low, c.close, c.vol            # numpy: int64 ms, float64
    c.exact("close", i) -> Decimal;  c.scaled("close") -> (int64 array, scale)   # exact forms
    for batch in iter_trades("BTC-USDT", start, end): batch.ts, batch.px, batch.sz, batch.side (+1 / -1)

The float64 columns are for indicators and speed; the exact values (what OKX sent) stay in
`.table` (decimal128) and come out as Decimals (`exact`) or as integers of 10^-scale (`scaled`,
vectorised, for exact arithmetic at numpy speed). Rows are in time order, without duplicates (the
store guarantees both). Asking for a range with nothing stored is a DataError that says how to
download it; an unreadable file is a DataError naming it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from okxbot.data import bars, schema
from okxbot.data.dates import fmt_ms
from okxbot.data.errors import DataError
from okxbot.data.quality import Gap, candle_gaps
from okxbot.data.schema import Kind
from okxbot.data.store import Dataset, Store
from okxbot.data.symbols import normalize


def floats(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A decimal128 column as float64, each value the float nearest to the exact decimal (NaN for
    empty values). Arrow's own cast multiplies by a power of ten and is often one unit off in the
    last place (42000.7 -> 42000.700000000004); dividing the exact integer by an exact power of ten
    rounds correctly, and is faster."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    nulls = array.null_count
    filled = pc.fill_null(array, pa.scalar(0, pa.int64()).cast(array.type)) if nulls else array
    low, high = _words(filled)
    scale = array.type.scale
    if scale <= 22 and np.all(high == (low >> 63)) and np.all(np.abs(low) < 2**53):
        out = low / 10.0**scale
    else:  # beyond float's exact integers: let the string parser round (slower, rare)
        out = pc.cast(pc.cast(filled, pa.string()), pa.float64()).to_numpy()
    if nulls:
        out[pc.is_null(array).to_numpy(zero_copy_only=False)] = np.nan
    return out


def _words(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The low and high 64-bit words of each decimal128 value (little-endian two's complement)."""
    words = np.frombuffer(array.buffers()[1], dtype="<i8", count=2 * (array.offset + len(array)))
    words = words[2 * array.offset :].reshape(-1, 2)
    return words[:, 0], words[:, 1]


def _floats(table: pa.Table, name: str) -> np.ndarray:
    return floats(table[name])


def _times(table: pa.Table) -> np.ndarray:
    return table["ts"].cast(pa.int64()).to_numpy()


def scaled(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, int]:
    """A decimal128 column as exact int64 integers and its scale: value = integer x 10^-scale."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    dtype = array.type
    if not pa.types.is_decimal128(dtype):
        raise TypeError(f"{dtype} is not a decimal128 column")
    if array.null_count:
        raise DataError("the column has empty values; it has no exact integer form")
    low, high = _words(array)
    if np.any(high != (low >> 63)):
        raise DataError(f"values of {dtype} too large for 64-bit integers; use exact() instead")
    return low.copy(), dtype.scale


class _Rows:
    """What Candles, Trades and Funding share: one row per `ts`, exact values in `table`."""

    ts: np.ndarray
    table: pa.Table

    def __len__(self) -> int:
        return len(self.ts)

    def exact(self, column: str, i: int) -> Decimal:
        """One exact value, as OKX sent it."""
        value = self.table[column][i].as_py()
        assert isinstance(value, Decimal)
        return value

    def scaled(self, column: str) -> tuple[np.ndarray, int]:
        """A decimal column as exact integers and their scale (see `scaled`)."""
        return scaled(self.table[column])


@dataclass(frozen=True)
class Candles(_Rows):
    """Candles of one instrument and bar, oldest first (every array has one entry per bar)."""

    inst_id: str
    bar: str
    ts: np.ndarray  # int64, bar open time, epoch ms (UTC)
    open: np.ndarray  # float64
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    vol: np.ndarray  # base currency (spot) or contracts (swaps)
    vol_ccy: np.ndarray  # quote currency (spot) or base currency (swaps), as OKX reports it
    vol_quote: np.ndarray  # quote currency
    table: pa.Table  # the exact values, decimal128

    def gaps(self) -> list[Gap]:
        return candle_gaps(self.ts, self.bar)


@dataclass(frozen=True)
class Trades(_Rows):
    """Trades of one instrument, in time order."""

    inst_id: str
    ts: np.ndarray  # int64 ms
    trade_id: np.ndarray  # int64
    px: np.ndarray  # float64
    sz: np.ndarray  # float64; base currency (spot) or contracts (swaps)
    side: np.ndarray  # int8: +1 the taker bought, -1 the taker sold
    table: pa.Table  # exact values


@dataclass(frozen=True)
class Funding(_Rows):
    """Funding settlements of one perpetual swap, in time order."""

    inst_id: str
    ts: np.ndarray  # int64 ms, settlement time
    rate: np.ndarray  # float64: the realized rate where known, else the predicted one
    table: pa.Table  # exact funding_rate / realized_rate, method, formula_type


def _store(store: Store | None, root: Path | str | None) -> Store:
    return store if store is not None else Store(root)


def _nothing(ds: Dataset, start: int | None, end: int | None) -> DataError:
    """Nothing stored in the range: say how to download it."""
    since = fmt_ms(start) if start is not None else "the start"
    until = fmt_ms(end) if end is not None else "now"
    command = f"okxbot data download {ds.id.inst_id}"
    command += f" --since '{fmt_ms(start)}'" if start is not None else " --since DATE"
    command += f" --until '{fmt_ms(end)}'" if end is not None else ""
    command += {"candles": f" --bar {ds.id.bar}", "trades": " --trades --no-candles",
                "funding": " --funding --no-candles"}[ds.kind]  # fmt: skip
    return DataError(f"no {ds.id.label} stored between {since} and {until}", f"download them: {command}")


def _stored(
    kind: Kind,
    inst_id: str,
    start: int | None,
    end: int | None,
    store: Store | None,
    root: Path | str | None,
    bar: str | None = None,
) -> tuple[str, pa.Table]:
    """(instId, rows in [start, end)); DataError saying how to download them when there are none."""
    inst_id = normalize(inst_id)
    ds = _store(store, root).dataset(kind, inst_id, bars.check_bar(bar) if bar else None)
    table = ds.read(start, end)
    if table.num_rows == 0:
        raise _nothing(ds, start, end)
    return inst_id, table


def load_candles(
    inst_id: str,
    bar: str = "1m",
    start: int | None = None,
    end: int | None = None,
    *,
    store: Store | None = None,
    root: Path | str | None = None,
) -> Candles:
    """Stored candles opening in [start, end) (ms; None = unbounded), as numpy columns."""
    inst_id, table = _stored("candles", inst_id, start, end, store, root, bar)
    return Candles(
        inst_id, bar, _times(table),
        *(_floats(table, name) for name in schema.DECIMALS["candles"]),
        table=table,
    )  # fmt: skip


def _trades(inst_id: str, table: pa.Table) -> Trades:
    side = np.where(pc.equal(table["side"], "buy").to_numpy(zero_copy_only=False), 1, -1).astype(np.int8)
    return Trades(
        inst_id, _times(table), table["trade_id"].to_numpy(), _floats(table, "px"), _floats(table, "sz"),
        side, table,
    )  # fmt: skip


def iter_trades(
    inst_id: str,
    start: int | None = None,
    end: int | None = None,
    *,
    store: Store | None = None,
    root: Path | str | None = None,
) -> Iterator[Trades]:
    """Stored trades with start <= ts < end, one batch per stored day, in time order.

    Raises DataError before the first batch when nothing is stored in the range."""
    inst_id = normalize(inst_id)
    ds = _store(store, root).trades(inst_id)
    parts = ds.parts_between(start, end)
    if not parts:
        raise _nothing(ds, start, end)

    def batches() -> Iterator[Trades]:
        for part in parts:
            table = ds.read_part(part)
            ts = table["ts"]
            lo, hi = (
                pa.scalar(start or 0, pa.int64()),
                pa.scalar(end if end is not None else 2**62, pa.int64()),
            )
            mask = pc.and_(pc.greater_equal(ts, lo.cast(schema.TS)), pc.less(ts, hi.cast(schema.TS)))
            table = table.filter(mask)
            if table.num_rows:
                yield _trades(inst_id, table)

    return batches()


def load_trades(
    inst_id: str,
    start: int | None = None,
    end: int | None = None,
    *,
    store: Store | None = None,
    root: Path | str | None = None,
) -> Trades:
    """All stored trades in the range at once (see `iter_trades` for a bounded-memory walk)."""
    return _trades(*_stored("trades", inst_id, start, end, store, root))


def load_funding(
    inst_id: str,
    start: int | None = None,
    end: int | None = None,
    *,
    store: Store | None = None,
    root: Path | str | None = None,
) -> Funding:
    """Stored funding settlements in [start, end)."""
    inst_id, table = _stored("funding", inst_id, start, end, store, root)
    realized, predicted = floats(table["realized_rate"]), floats(table["funding_rate"])
    return Funding(inst_id, _times(table), np.where(np.isnan(realized), predicted, realized), table)
