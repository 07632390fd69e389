"""Bots check funds before sending, from the balances they track: refused locally, nothing sent."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from okxbot.sim.server import RunningSim
from tests.trading.botkit import client, exchange_orders, mid, runner, wait_for

# places `count` buys of `size` BTC at `frac` x mid at once (gathered: none waits for another's answer)
STRATEGY = """
import asyncio
from decimal import Decimal
from okxbot.trading.strategy import Strategy, round_price

class Buys(Strategy):
    results = None

    async def on_start(self):
        await self.buy()

    async def buy(self):
        px = round_price(self.ctx.rules, self.ctx.mid() * Decimal(self.params["frac"]))
        size = Decimal(self.params["size"])
        self.results = await asyncio.gather(
            *(self.ctx.place("buy", size, px) for _ in range(int(self.params["count"])))
        )
"""


def small_key(sim: RunningSim, usdt: str) -> dict[str, Any]:
    return sim.admin(
        "POST", "/__sim__/keys", {"perm": "read_only,trade", "ip": "127.0.0.1", "balances": {"USDT": usdt}}
    )


def config(tmp_path: Path, size: str, count: int, **run: Any) -> dict[str, Any]:
    (tmp_path / "buys.py").write_text(STRATEGY, encoding="utf-8")
    return {
        "name": "funds-test",
        "symbol": "BTC/USDT",
        "strategy": "buys.py",
        "params": {"size": size, "count": count, "frac": "0.97"},
        "run": {"dead_man": False, "poll_seconds": 0.5} | run,
    }


def order_requests(sim: RunningSim) -> int:
    return int(sim.admin("GET", "/__sim__/stats")["paths"].get("/api/v5/trade/order", 0))


async def _started(r: Any) -> None:
    stop = asyncio.Event()
    task = asyncio.ensure_future(r.run(stop, 60))
    await wait_for(lambda: r.strategy is not None and r.strategy.results is not None, 20)
    stop.set()
    await task


def test_an_order_above_the_balance_is_refused_locally_and_never_sent(
    sim: RunningSim, tmp_path: Path
) -> None:
    key = small_key(sim, "100")
    px = mid(sim)
    size = str((Decimal(150) / (px * Decimal("0.97"))).quantize(Decimal("0.00001")))  # ~150 USDT
    r = runner(sim, key, config(tmp_path, size, 1), tmp_path)
    before = order_requests(sim)
    asyncio.run(_started(r))
    assert r.strategy.results == [None]  # type: ignore[attr-defined]
    assert order_requests(sim) == before  # zero requests reached the order endpoint
    assert exchange_orders(sim, key) == {}
    stats = r.manager.stats
    assert (stats.refused, stats.no_funds, stats.rejected) == (1, 1, 0)
    message = stats.errors[-1]
    assert "not enough USDT" in message and "needs 1" in message and "100 USDT is available" in message
    assert "51008" not in " ".join(stats.errors)


def test_two_quick_orders_cannot_together_exceed_the_balance(sim: RunningSim, tmp_path: Path) -> None:
    key = small_key(sim, "100")
    px = mid(sim)
    size = str((Decimal(60) / (px * Decimal("0.97"))).quantize(Decimal("0.00001")))  # ~60 USDT each
    r = runner(sim, key, config(tmp_path, size, 2), tmp_path)
    asyncio.run(_started(r))
    placed = [o for o in r.strategy.results if o is not None]  # type: ignore[attr-defined]
    assert len(placed) == 1
    # the second never left: OKX has the first only, and the journal never wrote the second
    assert set(exchange_orders(sim, key)) == {placed[0].client_order_id}
    assert [o.client_order_id for o in r.journal.orders()] == [placed[0].client_order_id]
    stats = r.manager.stats
    assert (stats.no_funds, stats.rejected) == (1, 0)
    assert "held by this bot's open orders" in stats.errors[-1] and "51008" not in " ".join(stats.errors)


def test_the_account_channel_updates_what_the_bot_may_spend(sim: RunningSim, tmp_path: Path) -> None:
    """Another program on the key freezes most of the USDT: the bot learns it from the account
    channel (REST polling is an hour away) and refuses what no longer fits, instead of a 51008."""
    key = small_key(sim, "100")
    px = mid(sim)
    size = str((Decimal(40) / (px * Decimal("0.97"))).quantize(Decimal("0.00001")))  # ~40 USDT
    r = runner(sim, key, config(tmp_path, size, 1, poll_seconds=3600), tmp_path)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(r.run(stop, 60))
        await wait_for(lambda: r.strategy is not None and r.strategy.results is not None, 20)
        assert r.strategy.results[0] is not None  # 40 of 100 USDT: placed
        assert r.manager.funds.available("USDT") < Decimal(61)
        async with client(sim, key) as other:
            price = (px * Decimal("0.8")).quantize(Decimal("0.1"))
            amount = (Decimal(45) / price).quantize(Decimal("0.00001"))
            await other.create_order("BTC/USDT", "buy", amount, price)
        await wait_for(lambda: r.manager.funds.available("USDT") < Decimal(20), 10)
        before = order_requests(sim)
        await r.strategy.buy()  # another 40 USDT: no longer there
        assert r.strategy.results == [None]
        assert order_requests(sim) == before
        stop.set()
        await task

    asyncio.run(scenario())
    assert r.manager.stats.no_funds == 1 and r.manager.stats.rejected == 0
