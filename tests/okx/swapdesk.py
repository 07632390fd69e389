"""A still simulator for swap client tests: no synthetic market, so prices move only when a test trades,
and a maker account whose resting orders the client under test trades against at known prices."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from okxbot.okx.client import OkxClient
from okxbot.okx.ids import new_client_order_id
from okxbot.okx.order_entry import OrderIntent
from okxbot.sim.server import RunningSim, start_sim
from tests.okx.simkit import client, new_key

D = Decimal
LINEAR = "BTC/USDT:USDT"
INVERSE = "BTC/USD:BTC"


@contextmanager
def still_sim(seed: int = 5) -> Iterator[RunningSim]:
    """A simulator without the synthetic market; every swap's mark pinned to its index (basis 0)."""
    with start_sim(seed=seed, config={"market": False}) as sim:
        for inst in ("BTC-USDT-SWAP", "BTC-USD-SWAP", "ETH-USDT-SWAP"):
            sim.admin("POST", "/__sim__/mark", {"instId": inst, "basis": "0"})
        yield sim


def futures_key(sim: RunningSim, balances: dict[str, str] | None = None, level: str = "2") -> dict[str, Any]:
    """A fresh account and key in Futures mode (acctLv 2), or `level`."""
    key = new_key(sim, balances=balances or {"USDT": "100000", "BTC": "10"})
    if level != "1":
        sim.admin("POST", "/__sim__/account-level", {"uid": key["uid"], "acctLv": level})
    return key


@dataclass
class Desk:
    """The maker side of a test: rests swap orders the client under test can trade against."""

    sim: RunningSim
    maker: OkxClient

    async def rest(self, symbol: str, side: str, contracts: str, price: str) -> None:
        """A resting limit order of the maker (net mode, cross) at `price`."""
        spec = await self.maker.derivatives.contract(symbol)
        intent = OrderIntent(
            spec.symbol,
            spec.inst_id,
            side,
            D(contracts),
            D(price),
            "limit",
            new_client_order_id(),
            td_mode="cross",
        )
        order = await self.maker.place(intent)
        assert order.state == "live", order

    async def mark(self, symbol: str) -> Decimal:
        return (await self.maker.derivatives.mark_price(symbol)).mark


@contextmanager
def maker_client(sim: RunningSim, tmp: Path) -> Iterator[OkxClient]:
    key = futures_key(sim, {"USDT": "100000000", "BTC": "10000"})
    yield client(sim, key, tmp / "maker")


def order_hits(sim: RunningSim) -> int:
    """Requests that reached any order-placing endpoint of the simulator."""
    paths = sim.admin("GET", "/__sim__/stats")["paths"]
    return sum(
        int(n)
        for p, n in paths.items()
        if p in ("/api/v5/trade/order", "/api/v5/trade/batch-orders", "/api/v5/trade/order-algo")
    )
