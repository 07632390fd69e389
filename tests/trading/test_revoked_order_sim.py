"""A key deleted on OKX while a bot trades: the refused order itself halts the bot (issue 16 left it to
the next poll, which may be minutes away), cleanly, with the reason, and nothing left in doubt."""

from __future__ import annotations

import asyncio
from pathlib import Path

from okxbot.sim.server import RunningSim
from tests.trading.botkit import new_key, runner, wait_for

# a resting buy far below the market every 0.2 s: its orders are refused once the key is gone
STRATEGY = """
from decimal import Decimal
from okxbot.trading.strategy import Strategy, round_price

class Every(Strategy):
    timer_seconds = 0.2

    async def on_timer(self):
        px = round_price(self.ctx.rules, self.ctx.mid() * Decimal("0.97"))
        await self.ctx.place("buy", Decimal("0.0001"), px)
"""


def delete_key(sim: RunningSim, api_key: str) -> None:
    """What OKX does when the key is deleted (website, or a master's delete-apikey): unknown from now
    on, its WebSocket sessions closed."""
    from okxbot.sim.ws import hub_of

    def go() -> None:
        sim.ctx.keystore.delete(api_key)
        hub_of(sim.ctx).revoke_key(api_key)

    sim.call(go)


def test_an_order_refused_for_a_deleted_key_halts_the_bot_at_once(sim: RunningSim, tmp_path: Path) -> None:
    key = new_key(sim)
    (tmp_path / "every.py").write_text(STRATEGY, encoding="utf-8")
    config = {
        "name": "revoked-order",
        "symbol": "BTC/USDT",
        "strategy": "every.py",
        "risk": {"max_orders_per_minute": 1000, "max_open_orders": 1000},
        # the REST cross-check (and its key check) only every 2 minutes: the order must tell first
        "run": {"dead_man": False, "poll_seconds": 120},
    }
    r = runner(sim, key, config, tmp_path)

    async def go() -> None:
        stop = asyncio.Event()
        r.key_swap.stop_event = stop
        task = asyncio.ensure_future(r.run(stop, 300))
        await wait_for(lambda: r.manager is not None and r.manager.stats.placed >= 3, 30)
        delete_key(sim, key["apiKey"])
        await wait_for(stop.is_set, 30)  # long before the next poll (120 s)
        await task

    asyncio.run(go())
    assert r.key_swap.halted is not None and "no longer accepted by OKX" in r.key_swap.halted
    assert "50111" in r.key_swap.halted or "50100" in r.key_swap.halted
    assert r.manager is not None
    in_doubt = [o for o in r.manager.journal.orders() if o.state in ("intent", "sent", "unknown")]
    assert in_doubt == []
