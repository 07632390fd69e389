"""Moves one instrument's book in a simulator started without its synthetic market, step by step.

Every step runs on the simulator's loop thread (`sim.call`): a seeded random change to the book
through an internal account (place, cancel, or a taker order that trades), then the `books` flush,
and returns what the simulator itself now holds. Tests compare that with what a client merged.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from okxbot.sim.server import RunningSim, start_sim
from okxbot.sim.ws import hub_of

MID = Decimal("43000")
TICK = Decimal("0.1")


class BookDriver:
    def __init__(self, sim: RunningSim, inst_id: str = "BTC-USDT", seed: int = 11) -> None:
        self.sim = sim
        self.inst_id = inst_id
        self.rng = random.Random(seed)
        self.live: list[str] = []
        self.uid = sim.call(lambda: sim.ctx.exchange.create_account({}, internal=True))
        # Takers trade from their own account: against the maker account, self-trade prevention
        # would cancel the resting orders instead of filling them.
        self.taker_uid = sim.call(lambda: sim.ctx.exchange.create_account({}, internal=True))

    def _place(self, side: str, px: Decimal, sz: str) -> None:
        params = {
            "instId": self.inst_id,
            "tdMode": "cash",
            "side": side,
            "ordType": "limit",
            "sz": sz,
            "px": str(px),
        }
        result = self.sim.ctx.exchange.place_order(self.uid, params)
        if result["sCode"] == "0":
            self.live.append(result["ordId"])

    def _take(self, side: str, sz: str) -> None:
        """An IOC order from the taker account that crosses up to 60 ticks into the book."""
        px = MID + 60 * TICK if side == "buy" else MID - 60 * TICK
        params = {
            "instId": self.inst_id,
            "tdMode": "cash",
            "side": side,
            "ordType": "ioc",
            "sz": sz,
            "px": str(px),
        }
        self.sim.ctx.exchange.place_order(self.taker_uid, params)

    def _size(self) -> str:
        return str(Decimal(self.rng.randint(1, 4000)) / Decimal(10000))

    def _random_change(self) -> None:
        roll = self.rng.random()
        if roll < 0.5 or len(self.live) < 2000:
            side = self.rng.choice(("buy", "sell"))
            ticks = self.rng.randint(1, 700)
            px = MID - ticks * TICK if side == "buy" else MID + ticks * TICK
            self._place(side, px, self._size())
        elif roll < 0.6:
            # Amend: a smaller size keeps the order in place (reduce), a larger one re-queues it.
            ord_id = self.live[self.rng.randrange(len(self.live))]
            amend = {"instId": self.inst_id, "ordId": ord_id, "newSz": self._size()}
            self.sim.ctx.exchange.amend_order(self.uid, amend)
        elif roll < 0.9:
            ord_id = self.live.pop(self.rng.randrange(len(self.live)))
            self.sim.ctx.exchange.cancel_order(self.uid, {"instId": self.inst_id, "ordId": ord_id})
        else:
            # A taker sweeping a few levels: trades, removed levels and a partially filled one.
            side = self.rng.choice(("buy", "sell"))
            self._take(side, str(Decimal(self.rng.randint(1, 10)) / 100))

    def fill(self, orders: int) -> None:
        """Rest `orders` orders spread over ~1400 ticks: more than 400 levels per side."""

        def run() -> None:
            for i in range(orders):
                side = "buy" if i % 2 else "sell"
                ticks = self.rng.randint(1, 700)
                px = MID - ticks * TICK if side == "buy" else MID + ticks * TICK
                self._place(side, px, self._size())

        self.sim.call(run)

    def step(self) -> tuple[int, dict[str, Any]]:
        """Change the book until a `books` update goes out; return (its seqId, the simulator's top 400)."""

        def run() -> tuple[int, dict[str, Any]]:
            hub = hub_of(self.sim.ctx)
            stream = hub.streams[self.inst_id]
            before = stream.seq_id
            while stream.seq_id == before:
                self._random_change()
                hub.flush_books()
            return stream.seq_id, self.sim.ctx.exchange.books(self.inst_id, 400)

        return self.sim.call(run)

    def cross(self, side: str, sz: str) -> None:
        """A taker order that trades against the best resting orders (e.g. a test's own order)."""
        self.sim.call(lambda: self._take(side, sz))


@contextmanager
def quiet_simulator(seed: int, connections_per_second: int = 100) -> Iterator[RunningSim]:
    """A simulator without its synthetic market: the book moves only when a test moves it, so REST,
    WebSocket and a client's merged book can be compared exactly."""
    sim = start_sim(seed=seed, config={"market": False})
    sim.admin("POST", "/__sim__/ws-config", {"connectionsPerSecond": connections_per_second})
    try:
        yield sim
    finally:
        sim.stop()
