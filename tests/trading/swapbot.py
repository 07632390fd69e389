"""Helpers for perpetual-swap bot tests: a Futures-mode key, a swap bot config, a scripted strategy."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from okxbot.sim.server import RunningSim
from tests.trading.botkit import new_key

SWAP = "BTC/USDT:USDT"
SWAP_ID = "BTC-USDT-SWAP"

# A strategy that does nothing by itself: tests act through `runner.core.swaps` / the context, and
# read what its hooks saw.
RECORDER = """
from okxbot.trading.strategy import Strategy


class Recorder(Strategy):
    def __init__(self, ctx, config):
        super().__init__(ctx, config)
        self.positions_seen = []
        self.funding_seen = []

    async def on_position(self, positions):
        self.positions_seen.append(positions)

    async def on_funding(self, payment):
        self.funding_seen.append(payment)
"""


def futures_key(sim: RunningSim, *, mode: str = "net_mode") -> dict[str, Any]:
    key = new_key(sim)
    sim.admin("POST", "/__sim__/account-level", {"uid": key["uid"], "acctLv": "2"})
    if mode != "net_mode":
        sim.call(lambda: sim.ctx.exchange.set_position_mode(key["uid"], mode))
    return key


def swap_config(tmp: Path, *, risk: dict[str, Any] | None = None, swap: dict[str, Any] | None = None,
                name: str = "perp") -> dict[str, Any]:  # fmt: skip
    (tmp / "recorder.py").write_text(RECORDER)
    return {
        "name": name,
        "symbol": SWAP,
        "strategy": "recorder.py",
        "swap": {"margin_mode": "cross", "leverage": "3", **(swap or {})},
        "risk": {"max_orders_per_minute": 1000, **(risk or {})},
        "run": {"poll_seconds": 0.5, "dead_man": False},
    }


def mark(sim: RunningSim) -> Decimal:
    return Decimal(str(sim.call(lambda: sim.ctx.exchange.mark_price(SWAP_ID))))


def exchange_position(sim: RunningSim, key: dict[str, Any]) -> Decimal:
    rows = sim.call(lambda: sim.ctx.exchange.positions(key["uid"], {"instId": SWAP_ID}))
    return sum((Decimal(r["pos"]) for r in rows if r.get("pos")), Decimal(0))


def live_algos(sim: RunningSim, key: dict[str, Any]) -> list[dict[str, Any]]:
    return sim.call(lambda: sim.ctx.exchange.algos_pending(key["uid"], {"ordType": "conditional,oco"}))
