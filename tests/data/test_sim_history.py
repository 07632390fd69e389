"""The simulator's market/history-candles and market/history-trades, as OKX documents them, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from itertools import pairwise
from typing import TYPE_CHECKING

import pytest

from tests.data.datakit import DAY, MINUTE, join_of, okx_get, okx_raw

if TYPE_CHECKING:
    from okxbot.sim.server import RunningSim

CANDLES = "market/history-candles"
TRADES = "market/history-trades"


@pytest.fixture(autouse=True)
def _clean_knobs(sim: RunningSim) -> Iterator[None]:
    yield
    sim.admin("POST", "/__sim__/history", {"reset": True})


def test_candles_are_newest_first_with_exclusive_after_and_before(sim: RunningSim) -> None:
    latest = okx_get(sim, CANDLES, instId="BTC-USDT")
    assert len(latest) == 100  # OKX's default limit
    opens = [int(r[0]) for r in latest]
    assert opens == sorted(opens, reverse=True) and len(set(opens)) == 100
    assert all(len(r) == 9 and all(isinstance(v, str) for v in r) for r in latest)
    after = opens[10]
    page = okx_get(sim, CANDLES, instId="BTC-USDT", after=after, limit=5)
    assert [int(r[0]) for r in page] == [after - k * MINUTE for k in range(1, 6)]
    fenced = okx_get(sim, CANDLES, instId="BTC-USDT", after=after, before=after - 4 * MINUTE)
    assert [int(r[0]) for r in fenced] == [after - MINUTE, after - 2 * MINUTE, after - 3 * MINUTE]
    alone = [int(r[0]) for r in okx_get(sim, CANDLES, instId="BTC-USDT", before=after - 4 * MINUTE, limit=3)]
    # `before` alone: the latest rows (a new minute may have opened since the first request)
    assert alone[0] >= opens[0] and alone == [alone[0] - k * MINUTE for k in range(3)]


def test_limit_goes_to_300_and_a_larger_one_is_cut_to_300(sim: RunningSim) -> None:
    join = join_of(sim, "ETH-USDT")
    assert len(okx_get(sim, CANDLES, instId="ETH-USDT", after=join, limit=300)) == 300
    assert len(okx_get(sim, CANDLES, instId="ETH-USDT", after=join, limit=1000)) == 300
    assert okx_raw(sim, CANDLES, instId="ETH-USDT", limit="x")["code"] == "51000"
    assert okx_raw(sim, CANDLES, instId="ETH-USDT", limit="0")["code"] == "51000"


def test_one_price_path_across_the_join_with_the_live_tape(sim: RunningSim) -> None:
    join = join_of(sim, "BTC-USDT")
    rows = okx_get(sim, CANDLES, instId="BTC-USDT", after=join + 5 * MINUTE, limit=300)
    assert int(rows[4][0]) == join and int(rows[5][0]) == join - MINUTE  # the tape, then the generated past
    tape = sim.call(lambda: sim.ctx.exchange.candles("BTC-USDT", "1m", after=join + 5 * MINUTE, limit=5))
    assert rows[:5] == tape
    for newer, older in pairwise(rows):
        assert older[4] == newer[1], f"close of {older[0]} is not the open of {newer[0]}"
        o, h, low, c = (Decimal(x) for x in older[1:5])
        assert low <= min(o, c) and h >= max(o, c) and Decimal(older[5]) > 0 and older[8] == "1"


def test_a_generated_minute_is_made_of_its_trades(sim: RunningSim) -> None:
    join = join_of(sim, "SOL-USDT")
    minute = join - 30 * MINUTE
    candle = okx_get(sim, CANDLES, instId="SOL-USDT", after=minute + MINUTE, limit=1)[0]
    assert int(candle[0]) == minute
    trades = okx_get(sim, TRADES, instId="SOL-USDT", type="2", after=minute + MINUTE)
    trades = [t for t in trades if int(t["ts"]) >= minute]
    assert 8 <= len(trades) <= 20
    assert set(trades[0]) == {"instId", "side", "sz", "px", "tradeId", "ts"}
    chrono = sorted(trades, key=lambda t: int(t["tradeId"]))
    assert [int(t["ts"]) for t in chrono] == sorted(int(t["ts"]) for t in chrono)
    prices = [Decimal(t["px"]) for t in chrono]
    assert (prices[0], max(prices), min(prices), prices[-1]) == tuple(Decimal(x) for x in candle[1:5])
    assert sum(Decimal(t["sz"]) for t in chrono) == Decimal(candle[5])
    assert sum(Decimal(t["px"]) * Decimal(t["sz"]) for t in chrono) == Decimal(candle[7])


def test_bars_aggregate_the_minutes(sim: RunningSim) -> None:
    join = join_of(sim, "XRP-USDT")
    hour = join - join % 3_600_000 - 5 * 3_600_000
    bar = okx_get(sim, CANDLES, instId="XRP-USDT", bar="1H", after=hour + 1, limit=1)[0]
    minutes = okx_get(sim, CANDLES, instId="XRP-USDT", after=hour + 3_600_000, before=hour - 1, limit=100)
    assert int(bar[0]) == hour and len(minutes) == 60
    assert bar[1] == minutes[-1][1] and bar[4] == minutes[0][4]
    assert Decimal(bar[2]) == max(Decimal(m[2]) for m in minutes)
    assert Decimal(bar[3]) == min(Decimal(m[3]) for m in minutes)
    assert Decimal(bar[5]) == sum(Decimal(m[5]) for m in minutes)
    day = okx_get(sim, CANDLES, instId="XRP-USDT", bar="1D", after=join - 3 * DAY, limit=1)[0]
    assert (int(day[0]) + 8 * 3_600_000) % DAY == 0  # 1D bars open at 00:00 UTC+8, as OKX's


def test_history_has_a_start_and_bad_input_gets_okx_errors(sim: RunningSim) -> None:
    join = join_of(sim, "BTC-USDT")
    listing = join - 3 * 365 * DAY
    assert okx_get(sim, CANDLES, instId="BTC-USDT", after=listing + 2 * MINUTE)
    assert okx_get(sim, CANDLES, instId="BTC-USDT", after=listing) == []
    assert okx_raw(sim, CANDLES, instId="NOPE-USDT")["code"] == "51001"
    assert okx_raw(sim, CANDLES, instId="BTC-USDT", bar="1h")["code"] == "51000"
    assert okx_raw(sim, CANDLES)["code"] == "50014"
    assert okx_raw(sim, TRADES, instId="BTC-USDT", type="3")["code"] == "51000"


def test_trades_paginate_by_trade_id_and_by_time(sim: RunningSim) -> None:
    newest = okx_get(sim, TRADES, instId="ETH-USDT")
    assert len(newest) == 100
    ids = [int(t["tradeId"]) for t in newest]
    assert ids == sorted(ids, reverse=True)
    older = okx_get(sim, TRADES, instId="ETH-USDT", after=ids[-1], limit=100)
    assert len(older) == 100 and int(older[0]["tradeId"]) < ids[-1]
    back = okx_get(sim, TRADES, instId="ETH-USDT", before=int(older[50]["tradeId"]), limit=100)
    assert int(back[0]["tradeId"]) >= ids[0]  # `before` alone: the latest rows (the market trades on)
    assert all(int(t["tradeId"]) > int(older[50]["tradeId"]) for t in back)
    assert len(okx_get(sim, TRADES, instId="ETH-USDT", limit=500)) == 100  # max 100
    join = join_of(sim, "ETH-USDT")
    at = join - 2 * DAY + 12_345
    by_time = okx_get(sim, TRADES, instId="ETH-USDT", type="2", after=at, limit=10)
    assert all(int(t["ts"]) < at for t in by_time) and int(by_time[0]["ts"]) > at - MINUTE
    # 3 months of trades, as OKX keeps
    assert okx_get(sim, TRADES, instId="ETH-USDT", type="2", after=join - 91 * DAY) == []


def test_same_seed_same_history(sim: RunningSim) -> None:
    from okxbot.sim.server import start_sim

    join = join_of(sim, "BTC-USDT")
    here = okx_get(sim, CANDLES, instId="BTC-USDT", after=join - 400 * DAY, limit=50)
    with start_sim(seed=7, config={"market": True}) as other:
        other_join = join_of(other, "BTC-USDT")
        there = okx_get(other, CANDLES, instId="BTC-USDT", after=other_join - 400 * DAY, limit=50)
    assert [r[1:] for r in here] == [r[1:] for r in there]  # same prices at the same distance from the join
    assert [int(r[0]) - join for r in here] == [int(r[0]) - other_join for r in there]


def test_knobs_cap_pages_drop_minutes_and_duplicate_rows(sim: RunningSim) -> None:
    join = join_of(sim, "LTC-USDT")
    sim.admin("POST", "/__sim__/history", {"pageCap": 100})
    assert len(okx_get(sim, CANDLES, instId="LTC-USDT", after=join, limit=300)) == 100
    gone = (join - 20 * MINUTE, join - 10 * MINUTE)
    sim.admin("POST", "/__sim__/history", {"pageCap": None, "instId": "LTC-USDT", "missing": [list(gone)],
                                           "duplicates": [join - 30 * MINUTE]})  # fmt: skip
    rows = okx_get(sim, CANDLES, instId="LTC-USDT", after=join, limit=40)
    opens = [int(r[0]) for r in rows]
    assert not any(gone[0] <= t < gone[1] for t in opens)
    assert opens.count(join - 30 * MINUTE) == 2 and len(rows) == 41  # 40 rows + the duplicate
    trades = okx_get(sim, TRADES, instId="LTC-USDT", type="2", after=gone[1])
    assert all(int(t["ts"]) < gone[0] for t in trades)  # the outage has no trades either
    with pytest.raises(RuntimeError, match="pageCap"):
        sim.admin("POST", "/__sim__/history", {"pageCap": 0})


def test_market_candles_serve_the_latest_1440_bars_of_any_size(sim: RunningSim) -> None:
    import ccxt

    from okxbot.data.dates import now_ms

    count, after = 0, None
    while True:
        page = okx_get(
            sim, "market/candles", instId="ETH-USDT", limit=300, **({"after": after} if after else {})
        )
        if not page:
            break
        count, after = count + len(page), int(page[-1][0])
    assert 1439 <= count <= 1441  # a minute may open while the pages are read
    month_ago = now_ms() - 30 * DAY
    assert len(okx_get(sim, "market/candles", instId="ETH-USDT", bar="1H", after=month_ago, limit=300)) == 300
    # what ccxt does with `since` (candles within 1,440 bars, history-candles beyond): both answer
    exchange = ccxt.okx({"urls": {"api": {"rest": sim.rest}}})
    hourly = exchange.fetch_ohlcv("ETH/USDT", "1h", since=month_ago, limit=300)
    minutes = exchange.fetch_ohlcv("ETH/USDT", "1m", since=month_ago, limit=100)
    assert len(hourly) == 300 and month_ago <= hourly[0][0] < month_ago + 3_600_000
    assert len(minutes) == 100 and month_ago <= minutes[0][0] < month_ago + MINUTE
