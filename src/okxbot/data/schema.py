"""What a stored row is: the Arrow schema of each kind of dataset, and OKX's strings turned into it.

Prices, sizes and rates are stored as `decimal128(38, scale)`: the exact value OKX sent (its strings
are decimal), kept as an integer and a scale, so nothing is ever rounded, while staying a number
that Arrow compares, sorts and converts to float64 for a backtest in one vectorised step. The scale
of a column is the most decimals its values carry; files written at different times may differ in
scale, and reading widens them to the larger one (exact). A value that does not fit (more than 38
digits) is refused rather than rounded. Strings would be as exact but would have to be parsed on
every load; float64 would not be exact.

Times are `timestamp[ms, UTC]` (what OKX sends: epoch milliseconds). Trade ids are int64 (OKX's are
decimal digits), sides are "buy" / "sell" (the taker's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from okxbot.data.errors import DataError

Kind = Literal["candles", "trades", "funding"]
KINDS: tuple[Kind, ...] = ("candles", "trades", "funding")

TS = pa.timestamp("ms", tz="UTC")
PRECISION = 38
NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"

DECIMALS: Mapping[Kind, tuple[str, ...]] = {
    "candles": ("open", "high", "low", "close", "vol", "vol_ccy", "vol_quote"),
    "trades": ("px", "sz"),
    "funding": ("funding_rate", "realized_rate"),
}
OTHERS: Mapping[Kind, tuple[tuple[str, pa.DataType], ...]] = {
    "candles": (),
    "trades": (("trade_id", pa.int64()), ("side", pa.string())),
    "funding": (("method", pa.string()), ("formula_type", pa.string())),
}
# Columns compared with each other share one scale (decimal128 comparisons need equal scales).
SCALE_GROUPS: Mapping[Kind, tuple[tuple[str, ...], ...]] = {
    "candles": (("open", "high", "low", "close"), ("vol",), ("vol_ccy",), ("vol_quote",)),
    "trades": (("px",), ("sz",)),
    "funding": (("funding_rate", "realized_rate"),),
}
# The column that identifies a row (a second row with the same value is a duplicate).
KEY: Mapping[Kind, str] = {"candles": "ts", "trades": "trade_id", "funding": "ts"}
NULLABLE = frozenset({"realized_rate", "funding_rate", "method", "formula_type"})


def columns(kind: Kind) -> list[str]:
    """Every column of a kind, in stored order: ts, then its own columns."""
    names = ["ts"]
    if kind == "trades":
        names.append("trade_id")
    names.extend(DECIMALS[kind])
    names.extend(name for name, _ in OTHERS[kind] if name not in names)
    return names


def decimal_array(values: Sequence[str | None] | pa.Array, what: str) -> pa.Array:
    """OKX decimal strings as an exact decimal128 column ("" and None become null)."""
    strings = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    if strings.type != pa.string():
        strings = strings.cast(pa.string())
    strings = pc.if_else(pc.equal(strings, ""), pa.scalar(None, pa.string()), strings)
    bad = pc.invert(pc.match_substring_regex(strings, NUMBER))
    if pc.any(bad).as_py():
        sample = strings.filter(pc.fill_null(bad, False))[0].as_py()
        raise DataError(f"{what}: {sample!r} is not a decimal number", "check the source of the data")
    dot = pc.find_substring(strings, ".")
    digits = pc.subtract(pc.subtract(pc.utf8_length(strings), dot), 1)
    scale = pc.max(pc.if_else(pc.equal(dot, -1), 0, digits)).as_py() or 0
    if scale > PRECISION:
        raise DataError(f"{what}: a value has {scale} decimals, more than {PRECISION} can hold exactly")
    try:
        return pc.cast(strings, pa.decimal128(PRECISION, scale))
    except pa.ArrowInvalid:
        raise DataError(f"{what}: a value has more than {PRECISION} digits; refusing to round it") from None


def align(table: pa.Table, kind: Kind) -> pa.Table:
    """Widen the decimal columns of each scale group to the group's largest scale (exact)."""
    return unify([table], kind)


def timestamps(values: Sequence[str | int] | pa.Array, what: str) -> pa.Array:
    """Epoch-ms strings (or ints) as a timestamp column."""
    try:
        ints = pc.cast(values if isinstance(values, pa.Array) else pa.array(values), pa.int64())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise DataError(f"{what}: a time is not a whole number of milliseconds", "check the source") from None
    return ints.cast(TS)


def candles_table(rows: Sequence[Sequence[str]]) -> pa.Table:
    """history-candles rows [ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm] as a table (confirm dropped)."""
    cols = list(zip(*rows, strict=False)) if rows else [()] * 9
    data: dict[str, pa.Array] = {"ts": timestamps(list(cols[0]), "candle time")}
    for i, name in enumerate(DECIMALS["candles"], start=1):
        data[name] = decimal_array(list(cols[i]), f"candle {name}")
    return align(pa.table(data), "candles")


def trades_table(items: Iterable[Mapping[str, Any]]) -> pa.Table:
    """history-trades items {instId, tradeId, px, sz, side, ts} as a table."""
    items = list(items)
    ids = [str(t.get("tradeId", "")) for t in items]
    if not all(i.isdigit() for i in ids):
        raise DataError("a trade id is not a number", "okxbot stores OKX trade ids as integers")
    sides = [t.get("side") for t in items]
    if any(s not in ("buy", "sell") for s in sides):
        raise DataError("a trade's side is neither buy nor sell", "check the source of the data")
    return pa.table(
        {
            "ts": timestamps([t.get("ts", "") for t in items], "trade time"),
            "trade_id": pa.array([int(i) for i in ids], pa.int64()),
            "px": decimal_array([t.get("px") for t in items], "trade price"),
            "sz": decimal_array([t.get("sz") for t in items], "trade size"),
            "side": pa.array(sides, pa.string()),
        }
    )


def funding_table(items: Iterable[Mapping[str, Any]]) -> pa.Table:
    """funding-rate-history items {fundingTime, fundingRate, realizedRate, method, formulaType}."""
    items = list(items)
    return align_funding(
        {
            "ts": timestamps([t.get("fundingTime", "") for t in items], "funding time"),
            "funding_rate": decimal_array([t.get("fundingRate") for t in items], "funding rate"),
            "realized_rate": decimal_array([t.get("realizedRate") for t in items], "realized rate"),
            "method": pa.array([t.get("method") or None for t in items], pa.string()),
            "formula_type": pa.array([t.get("formulaType") or None for t in items], pa.string()),
        }
    )


def align_funding(columns_: dict[str, pa.Array]) -> pa.Table:
    return align(pa.table(columns_), "funding")


def schema_problem(table_schema: pa.Schema, kind: Kind) -> str | None:
    """Why a file's schema is not a `kind` dataset's, or None if it is."""
    names = table_schema.names
    wanted = columns(kind)
    if names != wanted:
        return f"columns {names} instead of {wanted}"
    for name in DECIMALS[kind]:
        t = table_schema.field(name).type
        if not pa.types.is_decimal128(t) or t.precision != PRECISION:
            return f"column {name} is {t}, not decimal128({PRECISION}, scale)"
    if table_schema.field("ts").type != TS:
        return f"column ts is {table_schema.field('ts').type}, not {TS}"
    for name, t in OTHERS[kind]:
        if table_schema.field(name).type != t:
            return f"column {name} is {table_schema.field(name).type}, not {t}"
    return None


def unify(tables: Sequence[pa.Table], kind: Kind) -> pa.Table:
    """One table from several of the same kind: decimal columns widened to the largest scale (exact)."""
    tables = [t for t in tables if t is not None]
    if not tables:
        return empty(kind)
    target: dict[str, pa.DataType] = {}
    for group in SCALE_GROUPS[kind]:
        scale = max(t.schema.field(name).type.scale for t in tables for name in group)
        for name in group:
            target[name] = pa.decimal128(PRECISION, scale)
    fitted = []
    for t in tables:
        for name, dtype in target.items():
            if t.schema.field(name).type != dtype:
                try:
                    t = t.set_column(t.schema.get_field_index(name), name, t[name].cast(dtype))
                except pa.ArrowInvalid:
                    raise DataError(
                        f"{name}: values too long to share {dtype.scale} decimals within {PRECISION} digits"
                    ) from None
        fitted.append(t.select(columns(kind)))
    return pa.concat_tables(fitted)


def empty(kind: Kind) -> pa.Table:
    fields = [pa.field("ts", TS)]
    for name in columns(kind)[1:]:
        dtype = dict(OTHERS[kind]).get(name, pa.decimal128(PRECISION, 0))
        fields.append(pa.field(name, dtype))
    return pa.schema(fields).empty_table()
