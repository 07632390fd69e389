"""The Parquet store: exact decimals, merging, atomic writes, corrupted files, gaps, the load API."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from okxbot.data import bars, iter_trades, load_candles, load_funding, load_trades, schema
from okxbot.data.errors import DataError
from okxbot.data.quality import candle_gaps, check, summarize
from okxbot.data.store import Store, merge_spans, subtract_spans

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
MINUTE = 60_000


def candle_rows(start: int, n: int, *, px: str = "42000.5", skip: set[int] | None = None) -> list[list[str]]:
    rows = []
    for i in range(n):
        if skip and i in skip:
            continue
        rows.append(
            [str(start + i * MINUTE), px, "42001", "41999.9", px, "0.00012345", "5.18", "5.1812345", "1"]
        )
    return rows


def test_decimals_round_trip_exactly_whatever_their_scale(tmp_path: Path) -> None:
    store = Store(tmp_path)
    ds = store.candles("BTC-USDT", "1m")
    ds.merge(schema.candles_table(candle_rows(T0, 3, px="0.1")))
    ds.merge(schema.candles_table(candle_rows(T0 + 3 * MINUTE, 2, px="123456789.123456789012")))
    c = load_candles("BTC-USDT", store=store)
    assert [c.exact("open", i) for i in range(5)] == [Decimal("0.1")] * 3 + [
        Decimal("123456789.123456789012")
    ] * 2
    assert c.exact("vol", 0) == Decimal("0.00012345") and c.exact("vol_quote", 4) == Decimal("5.1812345")
    ints, scale = c.scaled("low")
    assert scale == 12 and ints.tolist() == [41_999_900_000_000_000] * 5  # prices share the widest scale
    assert c.close.dtype == np.float64 and c.close[4] == pytest.approx(123456789.123456789)
    with pytest.raises(DataError, match="more than 38 digits"):
        schema.decimal_array(["1" * 39], "price")
    with pytest.raises(DataError, match="not a decimal number"):
        schema.decimal_array(["1.2.3"], "price")


def test_merge_keeps_one_row_per_key_in_order_and_counts_what_changed(tmp_path: Path) -> None:
    ds = Store(tmp_path).candles("ETH-USDT", "1m")
    first = ds.merge(schema.candles_table(candle_rows(T0, 10)[::-1]))
    assert (first.added, first.duplicates, first.replaced) == (10, 0, 0)
    again = ds.merge(schema.candles_table(candle_rows(T0 + 5 * MINUTE, 10)))
    assert (again.added, again.replaced) == (5, 0)
    doubled = candle_rows(T0 + 20 * MINUTE, 2)
    changed = [r[:] for r in candle_rows(T0, 1, px="1")]
    result = ds.merge(schema.candles_table(doubled + doubled[:1] + changed))
    assert (result.added, result.duplicates, result.conflicting, result.replaced) == (2, 1, 0, 1)
    table = ds.read()
    ts = table["ts"].cast(pa.int64()).to_numpy()
    assert ts.tolist() == sorted(set(ts.tolist())) and len(ts) == 17
    assert table["open"][0].as_py() == Decimal("1")  # the newer answer wins


def test_a_crash_while_writing_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = Store(tmp_path).candles("BTC-USDT", "1m")
    ds.merge(schema.candles_table(candle_rows(T0, 5)))
    path = ds.path("2024-01")
    before = path.read_bytes()

    def die(src: str, dst: str) -> None:
        raise OSError("power cut before the rename")

    monkeypatch.setattr("os.replace", die)
    with pytest.raises(OSError, match="power cut"):
        ds.merge(schema.candles_table(candle_rows(T0 + 5 * MINUTE, 5)))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []
    assert ds.read().num_rows == 5


def test_a_corrupted_file_is_reported_and_never_overwritten(tmp_path: Path) -> None:
    store = Store(tmp_path)
    ds = store.candles("BTC-USDT", "1m")
    ds.merge(schema.candles_table(candle_rows(T0, 5) + candle_rows(T0 + 40 * 86_400_000, 5)))
    path = ds.path("2024-01")
    damaged = path.read_bytes()[:-40] + b"\0" * 40
    path.write_bytes(damaged)
    with pytest.raises(DataError, match=r"2024-01.parquet is corrupted.*left as it is"):
        load_candles("BTC-USDT", store=store)
    with pytest.raises(DataError, match="corrupted"):
        ds.merge(schema.candles_table(candle_rows(T0 + 10 * MINUTE, 5)))
    assert path.read_bytes() == damaged
    feb = load_candles("BTC-USDT", start=T0 + 31 * 86_400_000, store=store)  # the other month still reads
    assert len(feb) == 5
    errors = [f for f in check(ds) if f.level == "error"]
    assert len(errors) == 1 and errors[0].where == str(path) and "cannot be read" in errors[0].message
    assert "corrupted" in (summarize(ds).problem or "")


def test_check_finds_wrong_schema_disorder_duplicates_and_impossible_candles(tmp_path: Path) -> None:
    ds = Store(tmp_path).candles("BTC-USDT", "1m")
    ds.merge(schema.candles_table(candle_rows(T0, 5)))
    good = ds.read()
    bad_order = good.take([1, 0, 2, 2, 4])
    pq.write_table(bad_order, ds.path("2024-01"))
    messages = [f.message for f in check(ds)]
    assert "rows are not in time order" in messages and "1 duplicate rows (same time)" in messages
    rows = candle_rows(T0, 2)
    rows[1][2] = "1"  # high below low
    rows[0][0] = str(T0 + 30_000)  # not a minute's open
    pq.write_table(schema.candles_table(rows), ds.path("2024-01"))
    messages = [f.message for f in check(ds)]
    assert "1 candles with high/low not enclosing open and close" in messages
    assert "1 rows not on 1m bar open times" in messages
    pq.write_table(pa.table({"ts": [1], "price": ["1"]}), ds.path("2024-01"))
    assert any("columns ['ts', 'price']" in f.message for f in check(ds))


def test_candle_gaps_count_missing_bars_for_every_kind_of_bar() -> None:
    ts = np.array([T0, T0 + MINUTE, T0 + 5 * MINUTE, T0 + 6 * MINUTE], dtype=np.int64)
    (gap,) = candle_gaps(ts, "1m")
    assert (gap.start, gap.end, gap.missing) == (T0 + 2 * MINUTE, T0 + 5 * MINUTE, 3)
    day = 86_400_000
    hk = T0 - 8 * 3_600_000  # 1D bars open at 00:00 UTC+8
    assert bars.bar_open(T0, "1D") == hk + day - day and bars.bar_open(T0, "1Dutc") == T0
    assert candle_gaps(np.array([hk, hk + 3 * day], dtype=np.int64), "1D")[0].missing == 2
    months = [
        bars.bar_open(T0, "1Mutc"),
        bars.next_open(bars.next_open(bars.bar_open(T0, "1Mutc"), "1Mutc"), "1Mutc"),
    ]
    assert candle_gaps(np.array(months, dtype=np.int64), "1Mutc")[0].missing == 1
    assert bars.misaligned(np.array([T0, T0 + 1], dtype=np.int64), "1m") == 1
    with pytest.raises(DataError, match="OKX spells it '1H'"):
        bars.check_bar("1h")


def test_coverage_spans_merge_and_subtract() -> None:
    assert merge_spans([(5, 10), (0, 5), (20, 30), (25, 26)]) == [(0, 10), (20, 30)]
    assert subtract_spans((0, 40), [(5, 10), (20, 30)]) == [(0, 5), (10, 20), (30, 40)]
    assert subtract_spans((6, 9), [(5, 10)]) == []


def test_trades_load_per_day_in_time_order(tmp_path: Path) -> None:
    store = Store(tmp_path)
    items = [
        {"tradeId": str(100 + i), "px": f"{42000 + i}.5", "sz": "0.001", "side": "buy" if i % 2 else "sell",
         "ts": str(T0 + i * 3_600_000)}
        for i in range(50)
    ]  # fmt: skip
    store.trades("BTC-USDT").merge(schema.trades_table(items[::-1]))
    assert store.trades("BTC-USDT").parts()[:2] == ["2024-01/2024-01-01", "2024-01/2024-01-02"]
    batches = list(iter_trades("BTC-USDT", T0 + 10 * 3_600_000, T0 + 40 * 3_600_000, store=store))
    assert [len(b) for b in batches] == [14, 16]
    joined = np.concatenate([b.trade_id for b in batches])
    assert joined.tolist() == list(range(110, 140))
    whole = load_trades("BTC-USDT", store=store)
    assert whole.side[:2].tolist() == [-1, 1] and whole.exact("px", 49) == Decimal("42049.5")
    with pytest.raises(DataError, match=r"okxbot data download BTC-USDT .* --trades --no-candles"):
        list(iter_trades("BTC-USDT", T0 + 400 * 86_400_000, store=store))


def test_funding_rates_prefer_the_realized_rate(tmp_path: Path) -> None:
    store = Store(tmp_path)
    items = [
        {"fundingTime": str(T0 + i * 8 * 3_600_000), "fundingRate": "0.0001", "realizedRate": "0.00009" if i else "",
         "method": "current_period", "formulaType": "noRate"}
        for i in range(3)
    ]  # fmt: skip
    store.funding("BTC-USDT-SWAP").merge(schema.funding_table(items))
    f = load_funding("BTC-USDT-SWAP", store=store)
    assert f.rate.tolist() == [0.0001, 0.00009, 0.00009]
    assert f.table["realized_rate"][0].as_py() is None


def test_loading_an_empty_range_says_how_to_download_it(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_candles("btc/usdt", "5m", T0, T0 + 86_400_000, root=tmp_path)
    assert "no BTC-USDT 5m candles stored between 2024-01-01 00:00 and 2024-01-02 00:00" in err.value.problem
    assert err.value.fix == (
        "download them: okxbot data download BTC-USDT --since '2024-01-01 00:00' --until '2024-01-02 00:00' --bar 5m"
    )
