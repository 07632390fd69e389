"""Mark-price and index candles reach back like the spot candles do (OKX: history-mark-price-candles and
history-index-candles hold "recent years"), page without gaps or duplicates across the moment the
simulator started, and every bar is whole even when `after` is not on a bar boundary (ccxt sends
`after = since + limit x bar`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import ccxt
import httpx
import pytest

from okxbot.sim.server import RunningSim, start_sim

pytestmark = pytest.mark.timeout(120)
HOUR, DAY = 3_600_000, 86_400_000


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with start_sim(seed=41) as running:
        yield running


def get(sim: RunningSim, path: str, **params: Any) -> list[list[str]]:
    sim.admin("POST", "/__sim__/reset-limits")
    answer = httpx.get(f"{sim.rest}/api/v5/{path}", params=params).json()
    assert answer["code"] == "0", answer
    return answer["data"]  # type: ignore[no-any-return]


def pages(sim: RunningSim, path: str, inst_id: str, bar: str, count: int) -> list[list[str]]:
    rows: list[list[str]] = []
    after: str | None = None
    for _ in range(count):
        params = {"instId": inst_id, "bar": bar, "limit": "100", **({"after": after} if after else {})}
        page = get(sim, path, **params)
        assert page, (path, after)
        rows += page
        after = page[-1][0]
    return rows


@pytest.mark.parametrize(
    ("path", "inst_id", "bar", "step"),
    [
        ("market/history-mark-price-candles", "BTC-USDT-SWAP", "1H", HOUR),
        ("market/history-index-candles", "BTC-USD", "1H", HOUR),
        ("market/history-mark-price-candles", "ETH-USD-SWAP", "1D", DAY),
        ("market/history-mark-price-candles", "BTC-USDT-SWAP", "1m", 60_000),
    ],
)
def test_history_pages_back_without_gaps_or_duplicates(
    sim: RunningSim, path: str, inst_id: str, bar: str, step: int
) -> None:
    rows = pages(sim, path, inst_id, bar, 4)  # 400 bars: far before the simulator started
    opens = [int(r[0]) for r in rows]
    assert [a - b for a, b in pairwise(opens)] == [step] * (len(opens) - 1)
    assert all(len(r) == 6 and r[5] in ("0", "1") for r in rows)
    assert [r[5] for r in rows].count("0") <= 1  # only the bar in progress
    assert all(float(r[2]) >= max(float(r[1]), float(r[4])) >= min(float(r[1]), float(r[4])) >= float(r[3])
               for r in rows)  # fmt: skip


def test_before_the_simulator_ran_the_mark_was_the_spot_price(sim: RunningSim) -> None:
    spot = {r[0]: r[1:5] for r in pages(sim, "market/history-candles", "BTC-USDT", "4H", 2)}
    mark = {r[0]: r[1:5] for r in pages(sim, "market/history-mark-price-candles", "BTC-USDT-SWAP", "4H", 2)}
    old = sorted(spot)[:50]  # weeks back, long before the simulator started
    assert [mark[ts] for ts in old] == [spot[ts] for ts in old]


def test_ccxt_fetches_mark_and_index_candles_from_a_month_ago(sim: RunningSim) -> None:
    okx = ccxt.okx()
    okx.urls["api"]["rest"] = sim.rest
    okx.load_markets()
    since = okx.milliseconds() - 30 * DAY + 12_345  # not on a bar boundary, as a user gives it
    for fetch in (okx.fetch_mark_ohlcv, okx.fetch_index_ohlcv):
        sim.admin("POST", "/__sim__/reset-limits")
        candles = fetch("BTC/USDT:USDT", "1h", since, 50)
        assert len(candles) == 50, fetch
        assert candles[0][0] == since - since % HOUR + HOUR and candles[-1][0] == candles[0][0] + 49 * HOUR


def test_a_bar_is_whole_when_after_is_not_on_its_boundary(sim: RunningSim) -> None:
    (newest,) = get(sim, "market/candles", instId="BTC-USDT", bar="1H", limit="1", after=str(_hours_ago(3)))
    opened = int(newest[0])
    (whole,) = get(sim, "market/candles", instId="BTC-USDT", bar="1H", limit="1", after=str(opened + 1))
    cut = get(
        sim, "market/candles", instId="BTC-USDT", bar="1H", limit="1", after=str(opened + 17 * 60_000 + 5)
    )
    assert cut == [whole] and int(whole[0]) == opened


def _hours_ago(hours: int) -> int:
    return int(time.time() * 1000) - hours * HOUR
