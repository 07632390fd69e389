"""`okxbot data import`: OKX's downloadable history files (okx.com/historical-data) into the store.

OKX publishes daily (and monthly) zip files of CSV, one per instrument and day, cut at 00:00 UTC+8:

    trades        {instId}-trades-YYYY-MM-DD.zip       trade_id/交易id,side/交易方向,size/数量,price/价格,created_time/成交时间
    aggregated    {instId}-aggtrades-YYYY-MM-DD.zip    same columns (one row per taker order)
    1m candles    {instId}-candlesticks-YYYY-MM-DD.zip instrument_name,open,high,low,close,vol,vol_ccy,vol_quote,open_time,confirm
    funding       allswap-fundingrates-YYYY-MM-DD.zip  instrument_name,funding_rate,funding_time

Times are epoch milliseconds, numbers are decimal text (kept exact, as from the API). Headers are
matched by the English name before any "/", so the bilingual trade header and the plain ones both
read, in any column order. A trade file's instrument comes from an `instrument_name` column when it
has one, else from the file name, or from `--inst` (which wins). A zip or
a bare .csv is accepted. Candle files are 1m bars; funding files' rate is the settled (realized) one.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from okxbot.data import bars, schema
from okxbot.data.errors import DataError
from okxbot.data.schema import Kind
from okxbot.data.store import MergeResult, Store
from okxbot.data.symbols import normalize

TRADE_COLUMNS = ("trade_id", "side", "size", "price", "created_time")
CANDLE_COLUMNS = (
    "instrument_name",
    "open",
    "high",
    "low",
    "close",
    "vol",
    "vol_ccy",
    "vol_quote",
    "open_time",
    "confirm",
)
FUNDING_COLUMNS = ("instrument_name", "funding_rate", "funding_time")
_TRADE_FILE = re.compile(
    r"^(?P<inst>[A-Za-z0-9]+-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)-(?:agg)?trades-\d{4}-\d{2}(?:-\d{2})?$"
)


@dataclass
class ImportReport:
    source: str  # file (and zip member)
    label: str  # dataset
    rows: int = 0
    added: int = 0
    duplicates: int = 0
    replaced: int = 0
    notes: list[str] = field(default_factory=list)


def _members(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each CSV in a file: the file itself, or every .csv inside a zip."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror or err}", "check the path") from None
    if data.startswith(b"PK\x03\x04") or zipfile.is_zipfile(io.BytesIO(data)):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
                if not names:
                    raise DataError(
                        f"{path} holds no .csv file", "pass a zip downloaded from okx.com/historical-data"
                    )
                for name in names:
                    yield f"{path.name}:{name}", archive.read(name)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
            raise DataError(f"{path} is a damaged zip file ({err})", "download it again") from None
    else:
        yield path.name, data


def _header(raw: bytes, source: str) -> list[str]:
    first = raw.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").strip()
    return [cell.split("/", 1)[0].strip().lower() for cell in first.split(",")]


def _kind_of(header: list[str], source: str) -> Kind:
    # by name, not position: OKX's trade files have changed their column order (and some lead with
    # instrument_name); a header holding every trade column is a trades file
    if set(TRADE_COLUMNS) <= set(header):
        return "trades"
    if header[:1] == ["instrument_name"] and "open_time" in header and "open" in header:
        return "candles"
    if header[:1] == ["instrument_name"] and "funding_rate" in header and "funding_time" in header:
        return "funding"
    shown = ",".join(header)
    shown = shown[:120] if shown.isprintable() else "not text"
    raise DataError(
        f"{source} is not an OKX history file okxbot knows (header: {shown})",
        "import trades, candlestick or funding-rate files from okx.com/historical-data; "
        "their formats are listed in the README (History data)",
    )


def _read(raw: bytes, header: list[str], source: str) -> pa.Table:
    options = pacsv.ReadOptions(column_names=header, skip_rows=1, encoding="utf8")
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in header}, strings_can_be_null=False
    )
    try:
        return pacsv.read_csv(io.BytesIO(raw.removeprefix(b"\xef\xbb\xbf")), read_options=options,
                              convert_options=convert)  # fmt: skip
    except pa.ArrowInvalid as err:
        raise DataError(
            f"{source} is not readable CSV ({str(err).splitlines()[0]})", "download it again"
        ) from None


def _inst_from_name(source: str) -> str | None:
    stem = Path(source.rsplit(":", 1)[-1]).name
    stem = stem.rsplit(".", 1)[0]
    match = _TRADE_FILE.match(stem)
    return normalize(match.group("inst")) if match else None


def _column(table: pa.Table, name: str) -> pa.Array:
    if name in table.column_names:
        return table[name].combine_chunks()
    return pa.nulls(table.num_rows, pa.string())


def _candles(table: pa.Table, source: str, report_notes: list[str]) -> pa.Table:
    if "confirm" in table.column_names:
        open_rows = pc.equal(table["confirm"], "0")
        skipped = pc.sum(pc.cast(open_rows, pa.int64())).as_py() or 0
        if skipped:
            report_notes.append(f"{skipped} unconfirmed candles skipped")
            table = table.filter(pc.invert(open_rows))
    for name in ("vol", "vol_ccy", "vol_quote"):
        if name not in table.column_names:
            report_notes.append(f"no {name} column: stored empty")
    data = {"ts": schema.timestamps(table["open_time"], f"{source} open_time")}
    for name in schema.DECIMALS["candles"]:
        data[name] = schema.decimal_array(_column(table, name), f"{source} {name}")
    return schema.align(pa.table(data), "candles")


def _trades(table: pa.Table, source: str) -> pa.Table:
    sides = pc.utf8_lower(table["side"])
    if not pc.all(pc.is_in(sides, pa.array(["buy", "sell"]))).as_py():
        raise DataError(f"{source}: a side is neither buy nor sell", "download the file again")
    try:
        ids = pc.cast(table["trade_id"], pa.int64())
    except pa.ArrowInvalid:
        raise DataError(f"{source}: a trade_id is not a number", "download the file again") from None
    return pa.table(
        {
            "ts": schema.timestamps(table["created_time"], f"{source} created_time"),
            "trade_id": ids,
            "px": schema.decimal_array(table["price"].combine_chunks(), f"{source} price"),
            "sz": schema.decimal_array(table["size"].combine_chunks(), f"{source} size"),
            "side": sides,
        }
    )


def _funding(table: pa.Table, source: str) -> pa.Table:
    n = table.num_rows
    return schema.align_funding(
        {
            "ts": schema.timestamps(table["funding_time"], f"{source} funding_time"),
            "funding_rate": pa.nulls(n, pa.decimal128(schema.PRECISION, 0)),
            "realized_rate": schema.decimal_array(
                table["funding_rate"].combine_chunks(), f"{source} funding_rate"
            ),
            "method": pa.nulls(n, pa.string()),
            "formula_type": pa.nulls(n, pa.string()),
        }
    )


def _by_instrument(table: pa.Table) -> Iterator[tuple[str, pa.Table]]:
    names = table["instrument_name"]
    for inst in pc.unique(names).to_pylist():
        yield normalize(inst), table.filter(pc.equal(names, inst))


def import_files(
    store: Store, paths: list[Path], *, inst_id: str | None = None, bar: str = "1m"
) -> list[ImportReport]:
    """Import every file; a file that cannot be read raises DataError before anything of it is stored."""
    reports: list[ImportReport] = []
    for path in paths:
        for source, raw in _members(path):
            header = _header(raw, source)
            kind = _kind_of(header, source)
            table = _read(raw, header, source)
            notes: list[str] = []
            if kind == "trades" and inst_id is None and "instrument_name" in header:
                groups = [(inst, _trades(part, source)) for inst, part in _by_instrument(table)]
            elif kind == "trades":
                inst = normalize(inst_id) if inst_id else _inst_from_name(source)
                if inst is None:
                    raise DataError(
                        f"{source}: a trades file names no instrument inside, and its name is not "
                        "{instId}-trades-YYYY-MM-DD",
                        "pass the instrument with --inst BTC-USDT",
                    )
                groups = [(inst, _trades(table, source))]
            elif kind == "candles":
                groups = [(inst, _candles(part, source, notes)) for inst, part in _by_instrument(table)]
            else:
                groups = [(inst, _funding(part, source)) for inst, part in _by_instrument(table)]
            for inst, rows in groups:
                ds = store.dataset(kind, inst, bar if kind == "candles" else None)
                report = ImportReport(source, ds.id.label, rows.num_rows, notes=list(notes))
                with ds.locked():
                    result = ds.merge(rows) if rows.num_rows else MergeResult(0, 0, 0, 0)
                    if rows.num_rows:
                        ts = rows["ts"].cast(pa.int64())
                        last = pc.max(ts).as_py() + (bars.nominal_ms(bar) if kind == "candles" else 1)
                        ds.add_coverage([(pc.min(ts).as_py(), last)])
                report.added, report.duplicates, report.replaced = (
                    result.added,
                    result.duplicates,
                    result.replaced,
                )
                reports.append(report)
    return reports
