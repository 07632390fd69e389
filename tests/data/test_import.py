"""`okxbot data import`: OKX's daily history files (zip of CSV) into the store, exactly."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from okxbot.data import load_candles, load_funding, load_trades
from okxbot.data.errors import DataError
from okxbot.data.okx_files import import_files
from okxbot.data.store import Store

T0 = 1_704_038_400_000  # 2024-01-01 00:00 UTC+8: where OKX cuts its daily files
TRADES_HEADER = "trade_id/交易id,side/交易方向,size/数量,price/价格,created_time/成交时间"
CANDLES_HEADER = "instrument_name,open,high,low,close,vol,vol_ccy,vol_quote,open_time,confirm"


def okx_zip(path: Path, lines: list[str], member: str | None = None) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member or path.with_suffix(".csv").name, "\n".join(lines) + "\n")
    path.write_bytes(buffer.getvalue())
    return path


def trade_lines(n: int, first_id: int = 719977054) -> list[str]:
    return [TRADES_HEADER] + [
        f"{first_id + i},{'buy' if i % 3 else 'sell'},0.0{i + 1}5271880,{84760 + i}.1,{T0 + i * 1000}"
        for i in range(n)
    ]


def test_trades_and_candles_files_import_exactly(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    trades = okx_zip(tmp_path / "BTC-USDT-trades-2024-01-01.zip", trade_lines(50))
    candles = okx_zip(
        tmp_path / "BTC-USDT-candlesticks-2024-01-01.zip",
        [CANDLES_HEADER]
        + [
            f"BTC-USDT,42000.{i},42010,41990.5,42001,1.2345678{i},51851.1,51851.123456,{T0 + i * 60_000},1"
            for i in range(30)
        ],
    )
    reports = import_files(store, [trades, candles])
    assert [(r.label, r.rows, r.added) for r in reports] == [
        ("BTC-USDT trades", 50, 50),
        ("BTC-USDT 1m candles", 30, 30),
    ]
    t = load_trades("BTC-USDT", store=store)
    assert t.trade_id[:2].tolist() == [719977054, 719977055]
    assert t.exact("sz", 0) == Decimal("0.015271880") and t.exact("px", 49) == Decimal("84809.1")
    assert t.side[:3].tolist() == [-1, 1, 1] and t.ts[1] == T0 + 1000
    c = load_candles("BTC-USDT", store=store)
    assert (
        len(c) == 30
        and c.exact("open", 7) == Decimal("42000.7")
        and c.exact("vol", 9) == Decimal("1.23456789")
    )
    assert store.candles("BTC-USDT").coverage() == [(T0, T0 + 30 * 60_000)]
    again = import_files(store, [trades])
    assert (again[0].added, again[0].duplicates) == (0, 0) and len(load_trades("BTC-USDT", store=store)) == 50


def test_aggregated_trades_plain_csv_and_the_instrument_option(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    agg = tmp_path / "ETH-USDT-aggtrades-2024-01-01.csv"
    agg.write_text("\n".join(trade_lines(5)) + "\n", encoding="utf-8")
    assert import_files(store, [agg])[0].label == "ETH-USDT trades"
    nameless = okx_zip(tmp_path / "download.zip", trade_lines(3, first_id=1))
    with pytest.raises(DataError, match="names no instrument") as err:
        import_files(store, [nameless])
    assert err.value.fix == "pass the instrument with --inst BTC-USDT"
    assert import_files(store, [nameless], inst_id="SOL-USDT")[0].added == 3


def test_trade_columns_are_read_by_name_in_any_order_with_an_instrument_column(tmp_path: Path) -> None:
    # OKX's later trade files lead with instrument_name and put price before size
    store = Store(tmp_path / "store")
    lines = ["instrument_name,trade_id,side,price,size,created_time"]
    lines += [
        f"BTC-USDT,{500 + i},{'buy' if i % 2 else 'sell'},8476{i}.5,0.00{i + 1},{T0 + i * 1000}"
        for i in range(4)
    ]
    lines += ["ETH-USDT,900,buy,3000.25,0.5,1704067205000"]
    reports = import_files(store, [okx_zip(tmp_path / "trades-2024-01-01.zip", lines)])
    assert sorted((r.label, r.added) for r in reports) == [("BTC-USDT trades", 4), ("ETH-USDT trades", 1)]
    btc = load_trades("BTC-USDT", store=store)
    assert btc.exact("px", 3) == Decimal("84763.5") and btc.exact("sz", 3) == Decimal("0.004")
    assert btc.side.tolist() == [-1, 1, -1, 1] and btc.trade_id.tolist() == [500, 501, 502, 503]
    assert load_trades("ETH-USDT", store=store).exact("px", 0) == Decimal("3000.25")


def test_funding_files_split_by_instrument(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    lines = ["instrument_name,funding_rate,funding_time"]
    lines += [
        f"{inst},0.0000{i + 1},{T0 + i * 28_800_000}"
        for inst in ("BTC-USDT-SWAP", "ETH-USDT-SWAP")
        for i in range(3)
    ]
    reports = import_files(store, [okx_zip(tmp_path / "allswap-fundingrates-2024-01-01.zip", lines)])
    assert sorted(r.label for r in reports) == ["BTC-USDT-SWAP funding", "ETH-USDT-SWAP funding"]
    f = load_funding("ETH-USDT-SWAP", store=store)
    assert f.rate.tolist() == [0.00001, 0.00002, 0.00003]
    assert f.table["realized_rate"][2].as_py() == Decimal("0.00003")


def test_files_that_are_not_okx_history_are_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    odd = okx_zip(tmp_path / "BTC-USDT-trades-2024-01-01.zip", ["time,price,amount", "1,2,3"])
    with pytest.raises(DataError, match="not an OKX history file okxbot knows"):
        import_files(store, [odd])
    broken = tmp_path / "BTC-USDT-trades-2024-01-02.zip"
    broken.write_bytes(okx_zip(tmp_path / "x.zip", trade_lines(20)).read_bytes()[:-30])
    with pytest.raises(DataError, match="damaged zip"):
        import_files(store, [broken])
    bad_number = okx_zip(
        tmp_path / "BTC-USDT-trades-2024-01-03.zip", [*trade_lines(2)[:2], "7,buy,abc,1.5,1"]
    )
    with pytest.raises(DataError, match="'abc' is not a decimal number"):
        import_files(store, [bad_number])
    with pytest.raises(DataError, match="cannot read"):
        import_files(store, [tmp_path / "missing.zip"])
    assert store.datasets() == []
