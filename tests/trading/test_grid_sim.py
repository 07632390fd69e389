"""The grid on the simulator for a while: price swings, fills, levels emptied under it; the exchange's
own open orders never show two orders on one level."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from decimal import Decimal
from pathlib import Path

from okxbot.okx.errors import OkxError
from okxbot.sim.server import RunningSim
from tests.trading.botkit import client, mid, new_key, runner, wait_for

LEVELS = 7


def test_the_grid_never_holds_two_orders_on_one_level_on_the_exchange(
    sim: RunningSim, tmp_path: Path
) -> None:
    key = new_key(sim)
    px = mid(sim)
    step = (px * Decimal("0.0015")).quantize(Decimal("0.1"))
    config = {
        "name": "grid-levels",
        "symbol": "BTC/USDT",
        "strategy": "grid",
        "grid": {
            "lower": str(px - 3 * step),
            "upper": str(px + 3 * step),
            "levels": LEVELS,
            "size": "0.001",
        },
        "risk": {"max_orders_per_minute": 1000},
        "run": {"dead_man": False, "poll_seconds": 0.5},
    }
    r = runner(sim, key, config, tmp_path)
    rng = random.Random(12)
    seen: list[Counter[str]] = []

    def open_by_price() -> Counter[str]:
        orders = sim.admin("GET", f"/__sim__/orders?uid={key['uid']}")["orders"]
        return Counter(o["px"] for o in orders if o["state"] in ("live", "partially_filled"))

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(r.run(stop, 120))
        await wait_for(lambda: r.manager is not None and len(r.manager.open_orders()) >= LEVELS - 1, 20)
        async with client(sim, key) as other:
            for i in range(40):
                # swing the price through the grid, so buys and sells fill and are re-quoted
                sim.admin(
                    "POST", "/__sim__/price", {"instId": "BTC-USDT", "movePct": rng.choice(["-0.2", "0.2"])}
                )
                if i % 4 == 3:  # empty a level under the bot: its refill races the fills' re-quotes
                    mine = await other.fetch_open_orders("BTC/USDT")
                    if mine:
                        with contextlib.suppress(OkxError):  # it may have filled meanwhile
                            await other.cancel_order("BTC/USDT", rng.choice(mine).order_id)
                await asyncio.sleep(0.25)
                seen.append(open_by_price())
        stop.set()
        return await task

    summary = asyncio.run(scenario())
    assert summary.fills >= 5, summary  # the swings did trade through the levels
    assert summary.orders_placed > LEVELS + 5  # re-quotes and refills happened
    assert seen and all(n <= 1 for counts in seen for n in counts.values()), [
        c for c in seen if max(c.values(), default=0) > 1
    ]
    assert all(sum(counts.values()) <= LEVELS for counts in seen)
