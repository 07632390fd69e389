"""`result.json`: a `BacktestResult` on disk, exact (Decimal strings), read back by `compare` and `report`.

Orders and fills are lists of objects; the equity curve and the price bars are stored by column (a
year of 1m bars is 525,600 points: columns keep the file about half the size of one object per row).
The format carries its version; a file of another version or shape is refused with a clear error.
"""

from __future__ import annotations

import json
from dataclasses import fields
from decimal import Decimal, InvalidOperation
from operator import attrgetter
from pathlib import Path
from typing import Any

from okxbot.backtest.result import BacktestResult, EquityPoint, FillRecord, OrderRecord, PriceBar

FORMAT = "okxbot-backtest-result/1"
RESULT_FILE = "result.json"


class ResultFileError(Exception):
    """A result file that cannot be read; str() says which file and what to do."""


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _record(obj: Any) -> dict[str, Any]:
    return {f.name: plain(getattr(obj, f.name)) for f in fields(obj)}


def to_dict(result: BacktestResult) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "bot": result.bot,
        "strategy": result.strategy,
        "symbol": result.symbol,
        "inst_id": result.inst_id,
        "base_ccy": result.base_ccy,
        "quote_ccy": result.quote_ccy,
        "start_ms": result.start_ms,
        "end_ms": result.end_ms,
        "bar": result.bar,
        "source": result.source,
        "params": plain(result.params),
        "settings": plain(result.settings),
        "initial_balances": plain(result.initial_balances),
        "final_balances": plain(result.final_balances),
        "refused": result.refused,
        "halted": result.halted,
        "parity_hash": result.parity_hash(),
        "orders": [_record(o) for o in result.orders],
        "fills": [_record(f) for f in result.fills],
        "equity": _columns(result.equity, EquityPoint),
        "prices": _columns(result.prices, PriceBar),
    }


def _columns(rows: list[Any], kind: type) -> dict[str, list[Any]]:
    out = {}
    for f in fields(kind):  # a year of 1m points: map() over a column, not plain() per value
        column = list(map(attrgetter(f.name), rows))
        out[f.name] = list(map(str, column)) if column and isinstance(column[0], Decimal) else column
    return out


def save(result: BacktestResult, path: str | Path) -> Path:
    """Write `result` as JSON (atomically: a reader never sees half a file)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(to_dict(result), separators=(",", ":")), encoding="utf-8")
    tmp.replace(path)
    return path


def locate(path: str | Path) -> Path:
    """A result file, or the directory `okxbot backtest --out DIR` wrote (its result.json)."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULT_FILE
    if not path.is_file():
        raise ResultFileError(
            f"{path}: no backtest result there. Pass a result.json or the directory written by "
            "`okxbot backtest CONFIG --out DIR`."
        )
    return path


def load(path: str | Path) -> BacktestResult:
    file = locate(path)
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ResultFileError(f"{file}: not a readable result file ({err})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        found = raw.get("format") if isinstance(raw, dict) else type(raw).__name__
        raise ResultFileError(f"{file}: format {found!r} is not {FORMAT!r}; write it again with this okxbot")
    try:
        result = from_dict(raw)
    except (KeyError, TypeError, ValueError, InvalidOperation) as err:
        raise ResultFileError(f"{file}: damaged result file ({type(err).__name__}: {err})") from None
    if raw.get("parity_hash") not in (None, result.parity_hash()):
        raise ResultFileError(
            f"{file}: damaged result file (its orders and fills do not match its parity hash)"
        )
    return result


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def from_dict(raw: dict[str, Any]) -> BacktestResult:
    orders = [
        OrderRecord(
            ts_ms=int(o["ts_ms"]),
            client_order_id=str(o["client_order_id"]),
            side=str(o["side"]),
            order_type=str(o["order_type"]),
            price=_dec(o["price"]),
            amount=Decimal(o["amount"]),
            state=str(o["state"]),
            filled=Decimal(o["filled"]),
            avg_price=_dec(o["avg_price"]),
        )
        for o in raw["orders"]
    ]
    fills = [
        FillRecord(
            ts_ms=int(f["ts_ms"]),
            trade_id=str(f["trade_id"]),
            client_order_id=str(f["client_order_id"]),
            side=str(f["side"]),
            price=Decimal(f["price"]),
            size=Decimal(f["size"]),
            fee=Decimal(f["fee"]),
            fee_ccy=str(f["fee_ccy"]),
            liquidity=str(f["liquidity"]),
        )
        for f in raw["fills"]
    ]
    eq = raw["equity"]
    equity = [
        EquityPoint(int(t), Decimal(e), Decimal(p), Decimal(x))
        for t, e, p, x in zip(eq["ts_ms"], eq["equity"], eq["position"], eq["price"], strict=True)
    ]
    px = raw["prices"]
    prices = [
        PriceBar(int(t), Decimal(o), Decimal(h), Decimal(lo), Decimal(c), Decimal(v))
        for t, o, h, lo, c, v in zip(
            px["ts_ms"], px["open"], px["high"], px["low"], px["close"], px["volume"], strict=True
        )
    ]
    return BacktestResult(
        bot=str(raw["bot"]),
        strategy=str(raw["strategy"]),
        symbol=str(raw["symbol"]),
        inst_id=str(raw["inst_id"]),
        base_ccy=str(raw["base_ccy"]),
        quote_ccy=str(raw["quote_ccy"]),
        start_ms=int(raw["start_ms"]),
        end_ms=int(raw["end_ms"]),
        bar=str(raw["bar"]),
        source=str(raw["source"]),
        params=dict(raw["params"]),
        settings=dict(raw["settings"]),
        initial_balances={k: Decimal(v) for k, v in raw["initial_balances"].items()},
        final_balances={k: Decimal(v) for k, v in raw["final_balances"].items()},
        orders=orders,
        fills=fills,
        equity=equity,
        prices=prices,
        refused=int(raw.get("refused", 0)),
        halted=raw.get("halted"),
    )
