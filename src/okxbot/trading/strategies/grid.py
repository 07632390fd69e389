"""Spot grid: resting orders on evenly spaced levels; each fill re-quotes the opposite side one level over.

A buy filled at level i is followed by a sell at level i+1 and a sell filled at level i by a buy at
level i-1, so each round trip earns one grid step. The level nearest the market stays empty.
After a restart, open orders found in the journal are adopted by their price, so no level is doubled.
A level emptied by a cancel or a refusal is quoted again on the next ticker (after a failed attempt,
not before 5 s), on the side the market is now on.
"""

from __future__ import annotations

import time
from decimal import Decimal

from okxbot.okx.models import Ticker
from okxbot.trading.config import BotConfig
from okxbot.trading.journal import JournalOrder
from okxbot.trading.strategy import Context, Strategy, round_price


class GridStrategy(Strategy):
    def __init__(self, ctx: Context, config: BotConfig) -> None:
        super().__init__(ctx, config)
        grid = config.grid
        assert grid is not None
        self.step = (grid.upper - grid.lower) / (grid.levels - 1)
        self.prices = [round_price(ctx.rules, grid.lower + i * self.step) for i in range(grid.levels)]
        self.size = grid.size
        self.level_of: dict[str, int] = {}  # clOrdId -> grid level
        self.retry_after = 0.0  # monotonic time before which a failed refill is not retried
        self.started = False

    def _level(self, price: Decimal | None) -> int | None:
        if price is None:
            return None
        for i, level_px in enumerate(self.prices):
            if abs(level_px - price) < self.step / 2:
                return i
        return None

    async def on_start(self) -> None:
        mid = self.ctx.mid()
        if mid is None:
            self.ctx.log("grid: no market price yet, not quoting")
            return
        occupied: set[int] = set()
        for order in self.ctx.open_orders():
            level = self._level(order.price)
            if level is not None:
                self.level_of[order.client_order_id] = level
                occupied.add(level)
        self.started = True
        await self._fill_levels(mid)

    async def _fill_levels(self, mid: Decimal) -> None:
        occupied = set(self.level_of.values())
        for i, px in enumerate(self.prices):
            if i in occupied or abs(px - mid) < self.step / 2:
                continue
            if not await self._quote(i, "buy" if px < mid else "sell"):
                self.retry_after = time.monotonic() + 5
                return

    async def on_ticker(self, ticker: Ticker) -> None:
        mid = self.ctx.mid()
        if not self.started or mid is None or time.monotonic() < self.retry_after:
            return
        if len(self.level_of) < len(self.prices) - 1:
            await self._fill_levels(mid)

    async def _quote(self, level: int, side: str) -> bool:
        order = await self.ctx.place(side, self.size, self.prices[level])
        if order is not None:
            self.level_of[order.client_order_id] = level
        return order is not None

    async def on_order_update(self, order: JournalOrder) -> None:
        if order.state not in ("filled", "canceled", "rejected"):
            return
        level = self.level_of.pop(order.client_order_id, None)
        if level is None or order.state != "filled":
            return
        if order.side == "buy" and level + 1 < len(self.prices):
            await self._quote(level + 1, "sell")
        elif order.side == "sell" and level >= 1:
            await self._quote(level - 1, "buy")
