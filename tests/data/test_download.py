"""`okxbot.data.download` against the simulator over real HTTP: exact rows, resume, gaps, duplicates."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pytest

from okxbot.data import download as download_module
from okxbot.data import load_candles, load_trades
from okxbot.data.errors import DataError
from okxbot.data.quality import check, summarize
from okxbot.data.store import Dataset, Store
from tests.data.datakit import DAY, MINUTE, download, join_of, okx_get, sim_paths

if TYPE_CHECKING:
    from okxbot.sim.server import RunningSim

CANDLES = "/api/v5/market/history-candles"
TRADES = "/api/v5/market/history-trades"


@pytest.fixture(autouse=True)
def _clean(sim: RunningSim) -> Iterator[None]:
    sim.admin("POST", "/__sim__/reset-limits")
    yield
    sim.admin("POST", "/__sim__/history", {"reset": True})


def _raw_candles(sim: RunningSim, inst: str, start: int, end: int) -> list[list[str]]:
    rows: list[list[str]] = []
    after = end
    while True:
        page = okx_get(sim, "market/history-candles", instId=inst, after=after, before=start - 1, limit=300)
        if not page:
            return rows[::-1]
        rows.extend(page)
        after = int(page[-1][0])


def test_download_stores_exactly_what_okx_answered(sim: RunningSim, tmp_path: Path) -> None:
    join = join_of(sim, "ETH-USDT")
    start, end = join - 2 * DAY, join - DAY + 7 * MINUTE
    store = Store(tmp_path)
    (report,), api = download(sim.rest, store, ["ETH-USDT"], start, end)
    assert (report.rows, report.added, report.fetched, report.duplicates, report.gaps) == (
        1447,
        1447,
        1447,
        0,
        [],
    )
    assert api.counters.by_path["market/history-candles"] == 5  # 300 per request, as OKX allows
    stored = load_candles("ETH-USDT", "1m", start, end, store=store)
    raw = _raw_candles(sim, "ETH-USDT", start, end)
    assert [int(r[0]) for r in raw] == stored.ts.tolist()
    for i in (0, 700, 1446):
        for k, name in enumerate(("open", "high", "low", "close", "vol", "vol_ccy", "vol_quote"), start=1):
            assert stored.exact(name, i) == Decimal(raw[i][k])
    assert stored.close[700] == float(raw[700][4])


def test_the_open_candle_is_not_stored_until_it_is_final(sim: RunningSim, tmp_path: Path) -> None:
    from okxbot.data.dates import now_ms

    store = Store(tmp_path)
    now = now_ms()
    (report,), _ = download(sim.rest, store, ["BTC-USDT"], now - 30 * MINUTE, now + DAY)
    last_open = now - now % MINUTE
    assert report.last is not None and report.last < last_open  # the minute still trading is left out
    assert store.candles("BTC-USDT").coverage()[-1][1] <= last_open  # and fetched again next time


def test_a_rerun_fetches_only_what_is_missing(sim: RunningSim, tmp_path: Path) -> None:
    join = join_of(sim, "SOL-USDT")
    store = Store(tmp_path)
    download(sim.rest, store, ["SOL-USDT"], join - 3 * DAY, join - 2 * DAY)
    (again,), api = download(sim.rest, store, ["SOL-USDT"], join - 3 * DAY, join - 2 * DAY)
    assert again.already and "market/history-candles" not in api.counters.by_path
    assert again.rows == 1440
    (wider,), api = download(sim.rest, store, ["SOL-USDT"], join - 4 * DAY, join - 2 * DAY)
    assert api.counters.by_path["market/history-candles"] == 5  # the new day only: 1440 / 300
    assert (wider.added, wider.rows, wider.gaps) == (1440, 2880, [])


class _Crash(Exception):
    pass


def test_an_interrupted_download_keeps_its_rows_and_resumes(
    sim: RunningSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    join = join_of(sim, "ADA-USDT")
    start, end = join - 5 * DAY, join - 3 * DAY
    monkeypatch.setattr(download_module, "FLUSH_ROWS", 300)
    monkeypatch.setattr(download_module, "WORKERS", 1)
    real_add = Dataset.add_coverage
    calls = []

    def crash_after_two(self: Dataset, spans: list[tuple[int, int]]) -> None:
        real_add(self, spans)
        calls.append(spans)
        if len(calls) == 2:
            raise _Crash("the process dies here")

    monkeypatch.setattr(Dataset, "add_coverage", crash_after_two)
    store = Store(tmp_path)
    with pytest.raises(_Crash):
        download(sim.rest, store, ["ADA-USDT"], start, end)
    kept = store.candles("ADA-USDT").read(start, end)
    assert 0 < kept.num_rows < 2880
    monkeypatch.setattr(Dataset, "add_coverage", real_add)
    (report,), api = download(sim.rest, store, ["ADA-USDT"], start, end)
    assert (report.rows, report.gaps) == (2880, [])
    assert api.counters.by_path["market/history-candles"] < 10  # a full run takes 10
    fresh = Store(tmp_path / "fresh")
    download(sim.rest, fresh, ["ADA-USDT"], start, end)
    assert store.candles("ADA-USDT").read(start, end).equals(fresh.candles("ADA-USDT").read(start, end))


def test_gaps_and_duplicates_are_detected_and_reported(sim: RunningSim, tmp_path: Path) -> None:
    join = join_of(sim, "BTC-USDT")
    start, end = join - 2 * DAY, join - DAY
    outage = [start + 100 * MINUTE, start + 115 * MINUTE]
    doubled = [start + 5 * MINUTE, start + 500 * MINUTE, start + 1000 * MINUTE]
    sim.admin("POST", "/__sim__/history", {"instId": "BTC-USDT", "missing": [outage], "duplicates": doubled})
    store = Store(tmp_path)
    (report,), _ = download(sim.rest, store, ["BTC-USDT"], start, end)
    assert report.duplicates == 3 and report.conflicting == 0
    assert [(g.start, g.end, g.missing) for g in report.gaps] == [(outage[0], outage[1], 15)]
    assert report.rows == 1440 - 15
    ds = store.candles("BTC-USDT")
    summary = summarize(ds)
    assert (summary.rows, summary.missing) == (1425, 15)
    findings = check(ds)
    assert [f.level for f in findings] == ["warning"] and "15 bars missing" in findings[0].message


def test_short_pages_do_not_end_the_download(sim: RunningSim, tmp_path: Path) -> None:
    """OKX has answered 100 candles when asked for 300: only an empty page means the end."""
    join = join_of(sim, "DOT-USDT")
    start, end = join - 3 * DAY, join - 2 * DAY
    sim.admin("POST", "/__sim__/history", {"pageCap": 100})
    store = Store(tmp_path)
    (report,), api = download(sim.rest, store, ["DOT-USDT"], start, end)
    assert (report.rows, report.gaps) == (1440, [])
    assert api.counters.by_path["market/history-candles"] >= 15


def test_trades_download_resume_and_exact_values(sim: RunningSim, tmp_path: Path) -> None:
    join = join_of(sim, "LINK-USDT")
    start, end = join - DAY - 90 * MINUTE, join - DAY
    store = Store(tmp_path)
    reports, _ = download(sim.rest, store, ["LINK-USDT"], start, end, candles=False, trades=True)
    (report,) = reports
    trades = load_trades("LINK-USDT", start, end, store=store)
    assert report.rows == len(trades) > 90 * 8 and report.duplicates == 0 and report.gaps == []
    assert len(set(trades.trade_id.tolist())) == len(trades)
    raw = okx_get(sim, "market/history-trades", instId="LINK-USDT", type="2", after=end, limit=100)
    newest = {t["tradeId"]: t for t in raw}
    for i in range(len(trades) - 100, len(trades)):
        item = newest[str(trades.trade_id[i])]
        assert trades.exact("px", i) == Decimal(item["px"]) and trades.exact("sz", i) == Decimal(item["sz"])
        assert trades.side[i] == (1 if item["side"] == "buy" else -1)
    (again,), api = download(sim.rest, store, ["LINK-USDT"], start, end, candles=False, trades=True)
    assert again.already and "market/history-trades" not in api.counters.by_path
    # the candles of those minutes agree with the trades (the simulator builds candles from trades)
    download(sim.rest, store, ["LINK-USDT"], start, end)
    candles = load_candles("LINK-USDT", "1m", start, end, store=store)
    in_first = trades.table.filter(
        pa.compute.less(trades.table["ts"].cast(pa.int64()), int(candles.ts[0]) + MINUTE)
    )
    assert sum(in_first["sz"].to_pylist()) == candles.exact("vol", 0)


def test_okx_limit_is_used_without_a_single_rejection(sim: RunningSim, tmp_path: Path) -> None:
    join = join_of(sim, "TRX-USDT")
    before = sim_paths(sim).get(CANDLES, 0)
    (report,), api = download(sim.rest, Store(tmp_path), ["TRX-USDT"], join - 12 * DAY, join - 2 * DAY)
    sent = sim_paths(sim)[CANDLES] - before
    assert report.rows == 14400
    assert sent == api.counters.by_path["market/history-candles"] == 48  # more than two windows' worth
    assert api.counters.retries == 0  # the simulator enforces 20 / 2 s per IP: no 50011, no resend


def test_unknown_symbol_and_empty_ranges_are_clear_errors(sim: RunningSim, tmp_path: Path) -> None:
    store = Store(tmp_path)
    with pytest.raises(DataError, match="lists no SPOT instrument NOPE-USDT"):
        download(
            sim.rest,
            store,
            ["BTC-USDT", "NOPE-USDT"],
            join_of(sim, "BTC-USDT") - DAY,
            join_of(sim, "BTC-USDT"),
        )
    assert store.datasets() == []  # the typo was found before anything was downloaded
    join = join_of(sim, "BTC-USDT")
    (report,), _ = download(sim.rest, store, ["BTC-USDT"], join - 5 * 365 * DAY, join - 4 * 365 * DAY)
    assert report.no_data and report.rows == 0
    with pytest.raises(DataError, match="no BTC-USDT 1m candles stored"):
        load_candles("BTC-USDT", "1m", join - 5 * 365 * DAY, join - 4 * 365 * DAY, store=store)
