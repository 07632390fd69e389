"""The orders channel counts as up once OKX acknowledges the subscription, not at the first push (a bot
that has not traded yet showed "orders via REST polling" and polled five times as often)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from rich.console import Console

from okxbot.sim.server import RunningSim
from okxbot.trading.status import render
from tests.trading.botkit import new_key, runner, wait_for

QUIET = """
from okxbot.trading.strategy import Strategy

class Quiet(Strategy):
    pass
"""


def test_the_orders_feed_is_up_before_any_order_is_pushed(sim: RunningSim, tmp_path: Path) -> None:
    key = new_key(sim)
    (tmp_path / "quiet.py").write_text(QUIET, encoding="utf-8")
    config = {"name": "quiet", "symbol": "BTC/USDT", "strategy": "quiet.py",
              "run": {"dead_man": False, "poll_seconds": 0.5}}  # fmt: skip
    r = runner(sim, key, config, tmp_path)

    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(r.run(stop, 60))
        await wait_for(lambda: r.ws_orders_up, 15)
        assert r.manager is not None and not r.manager.confirm_placements  # pushes tell the state
        assert r.manager.stats.placed == 0  # no order, so no push: the acknowledgement said it
        screen = Console(width=140, record=True, file=io.StringIO())
        screen.print(render(r, []))
        assert "orders via WebSocket" in screen.export_text()  # what the status view shows
        stop.set()
        await task

    asyncio.run(go())
    assert r.client is None or r.client.raw.okx_subscribed_listeners == []
