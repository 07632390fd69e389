"""Spot grid: resting orders on evenly spaced levels; each fill re-quotes the opposite side one level over.

A buy filled at level i is followed by a sell at level i+1 and a sell filled at level i by a buy at
level i-1, so each round trip earns one grid step. The level nearest the market stays empty.
After a restart, open orders found in the journal are adopted by their price, so no level is doubled.
"""

from __future__ import annotations

from decimal import Decimal

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
        for i, px in enumerate(self.prices):
            if i in occupied or abs(px - mid) < self.step / 2:
                continue
            await self._quote(i, "buy" if px < mid else "sell")

    async def _quote(self, level: int, side: str) -> None:
        order = await self.ctx.place(side, self.size, self.prices[level])
        if order is not None:
            self.level_of[order.client_order_id] = level

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
