"""on_book and on_trade: a user strategy receives the simulator's books and public trades."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from okxbot.sim.server import RunningSim
from okxbot.trading.runner import Runner
from tests.trading.botkit import mid, new_key, runner, wait_for

RECORDER = '''
import json
from pathlib import Path

from okxbot.trading.strategy import Strategy


class Recorder(Strategy):
    """Writes every book top and trade it receives, one JSON line each."""

    book_depth = 5

    async def on_book(self, book):
        with Path(self.params["out"]).open("a") as out:
            out.write(json.dumps({"kind": "book", "levels": len(book.bids),
                                  "bid": str(book.bids[0].price), "ask": str(book.asks[0].price),
                                  "decimal": type(book.bids[0].price).__name__}) + "\\n")

    async def on_trade(self, trade):
        with Path(self.params["out"]).open("a") as out:
            out.write(json.dumps({"kind": "trade", "id": trade.trade_id, "px": str(trade.price),
                                  "sz": str(trade.size), "side": trade.side, "ts": trade.ts,
                                  "decimal": type(trade.price).__name__}) + "\\n")
'''

TICKER_ONLY = """
from okxbot.trading.strategy import Strategy


class TickerOnly(Strategy):
    async def on_ticker(self, ticker):
        pass
"""

RUN = {"dead_man": False, "poll_seconds": 0.5}


def _bot(sim: RunningSim, tmp_path: Path, source: str, params: dict[str, Any]) -> Runner:
    (tmp_path / "strategy.py").write_text(source)
    config = {"name": "hooks", "symbol": "BTC/USDT", "strategy": "strategy.py", "params": params, "run": RUN}
    r = runner(sim, new_key(sim), config, tmp_path)
    r.config_path = tmp_path / "bot.toml"
    return r


async def _run_until(r: Runner, until: Any) -> None:
    stop = asyncio.Event()
    task = asyncio.ensure_future(r.run(stop, 60))
    await wait_for(lambda: r.strategy is not None, 20)
    await wait_for(until, 20)
    stop.set()
    await task


def _public_trades(sim: RunningSim) -> dict[str, dict[str, Any]]:
    answer = httpx.get(f"{sim.rest}/api/v5/market/trades", params={"instId": "BTC-USDT", "limit": "500"})
    return {t["tradeId"]: t for t in answer.json()["data"]}


def test_a_strategy_gets_books_and_every_public_trade_once(sim: RunningSim, tmp_path: Path) -> None:
    out = tmp_path / "seen.jsonl"
    r = _bot(sim, tmp_path, RECORDER, {"out": str(out)})

    def lines() -> list[dict[str, Any]]:
        return [json.loads(x) for x in out.read_text().splitlines()] if out.exists() else []

    def enough() -> bool:
        kinds = [x["kind"] for x in lines()]
        return kinds.count("book") >= 5 and kinds.count("trade") >= 3

    asyncio.run(_run_until(r, enough))
    seen = lines()
    books = [x for x in seen if x["kind"] == "book"]
    trades = [x for x in seen if x["kind"] == "trade"]
    fair = mid(sim)
    for b in books:
        bid, ask = Decimal(b["bid"]), Decimal(b["ask"])
        assert b["decimal"] == "Decimal" and b["levels"] == 5
        assert bid < ask and abs(bid - fair) < fair * Decimal("0.05")
    # each trade once, in order, exactly as the exchange printed it
    ids = [t["id"] for t in trades]
    assert len(ids) == len(set(ids))
    assert [t["ts"] for t in trades] == sorted(t["ts"] for t in trades)
    printed = _public_trades(sim)
    for t in trades:
        assert t["decimal"] == "Decimal"
        wire = printed[t["id"]]
        assert (t["px"], t["sz"], t["side"]) == (wire["px"], wire["sz"], wire["side"])
    # and none missed between the first and the last one delivered
    first, last = trades[0]["ts"], trades[-1]["ts"]
    assert [tid for tid, w in printed.items() if first < int(w["ts"]) < last and tid not in ids] == []


def test_no_book_or_trade_subscription_for_a_strategy_without_those_hooks(
    sim: RunningSim, tmp_path: Path
) -> None:
    r = _bot(sim, tmp_path, TICKER_ONLY, {})
    feeds: list[str] = []

    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(r.run(stop, 60))
        await wait_for(lambda: len(r._tasks) > 0, 20)
        feeds.extend(t.get_coro().__name__ for t in r._tasks)  # type: ignore[union-attr]
        stop.set()
        await task

    asyncio.run(go())
    assert "_ticker_feed" in feeds and "_orders_feed" in feeds
    assert "_book_feed" not in feeds and "_trades_feed" not in feeds
