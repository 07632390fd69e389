"""Spot grid: resting orders on evenly spaced levels; each fill re-quotes the opposite side one level over.

A buy filled at level i is followed by a sell at level i+1 and a sell filled at level i by a buy at
level i-1, so each round trip earns one grid step. The level nearest the market stays empty.
A level emptied by a cancel or a refusal is quoted again on the next ticker (after a failed attempt,
not before 5 s), on the side the market is now on. Levels quoted together (the first quotes, several
refills) go out as one wave (`place_many`: OKX's batch endpoint).

Invariants (tests/trading/test_grid_properties.py): a level holds at most one order that is live or
may be (sent, outcome unknown, partially filled): every quote, whichever path makes it (a fill's
re-quote, a ticker's refill), first checks that its level is free. A buy is only quoted below the
mid and a sell above it, at the moment it is sent, so re-quotes after a fast move are skipped
rather than crossing the market. After a restart, open orders found in the journal are adopted by
their price; a second one on an adopted level is canceled.
"""

from __future__ import annotations

import time
from decimal import Decimal

from okxbot.okx.models import Ticker
from okxbot.trading.config import BotConfig
from okxbot.trading.journal import JournalOrder
from okxbot.trading.orders import OrderSpec
from okxbot.trading.strategy import Context, Strategy, round_price

RETRY_SECONDS = 5.0
_DONE = frozenset({"filled", "canceled", "rejected"})


class GridStrategy(Strategy):
    def __init__(self, ctx: Context, config: BotConfig) -> None:
        super().__init__(ctx, config)
        grid = config.grid
        assert grid is not None
        self.step = (grid.upper - grid.lower) / (grid.levels - 1)
        self.prices = [round_price(ctx.rules, grid.lower + i * self.step) for i in range(grid.levels)]
        self.size = grid.size
        self.level_of: dict[str, int] = {}  # clOrdId -> grid level, for every order not yet final
        self.order_at: dict[int, str] = {}  # grid level -> its one order (the invariant's index)
        self.retry_after = 0.0  # monotonic time before which a failed refill is not retried
        self.started = False
        self.clock = time.monotonic  # tests drive time

    def _level(self, price: Decimal | None) -> int | None:
        if price is None:
            return None
        for i, level_px in enumerate(self.prices):
            if abs(level_px - price) < self.step / 2:
                return i
        return None

    def side_for(self, level: int, mid: Decimal, margin: Decimal | None = None) -> str | None:
        """The side `level` may be quoted on at `mid`: buy below, sell above, none within `margin`
        (default half a step: the level nearest the market stays empty)."""
        px = self.prices[level]
        if abs(px - mid) < (self.step / 2 if margin is None else margin) or px == mid:
            return None
        return "buy" if px < mid else "sell"

    async def on_start(self) -> None:
        mid = self.ctx.mid()
        if mid is None:
            self.ctx.log("grid: no market price yet, not quoting")
            return
        for order in self.ctx.open_orders():
            level = self._level(order.price)
            if level is None or order.client_order_id in self.level_of:
                continue
            if level in self.order_at:
                self.ctx.log("grid: a second order on one level, canceling it", level=level)
                await self.ctx.cancel(order.client_order_id)
                continue
            self._hold(level, order.client_order_id)
        self.started = True
        await self._fill_levels()

    async def _fill_levels(self) -> None:
        """Quote every free level on its side of the market, together (one batch request)."""
        mid = self.ctx.mid()
        if mid is None:
            return
        wanted = [(i, side) for i in range(len(self.prices)) if (side := self.side_for(i, mid)) is not None]
        wanted = [(i, side) for i, side in wanted if i not in self.order_at]
        if len(wanted) == 1:
            ok = await self._quote(*wanted[0])
        elif wanted:
            ok = await self._quote_many(wanted)
        else:
            ok = True
        if not ok:
            self.retry_after = self.clock() + RETRY_SECONDS

    async def _quote_many(self, wanted: list[tuple[int, str]]) -> bool:
        """Several levels at once; False if any was refused."""
        for level, _ in wanted:  # held from before the send, like `_quote`
            self.order_at[level] = f"pending:{level}"
        try:
            orders = await self.ctx.place_many(
                [OrderSpec(side, self.size, self.prices[i]) for i, side in wanted]
            )
        finally:
            for level, _ in wanted:
                if self.order_at.get(level) == f"pending:{level}":
                    del self.order_at[level]
        for (level, _), order in zip(wanted, orders, strict=True):
            if order is not None and order.client_order_id not in self.level_of:
                self._hold(level, order.client_order_id)
        return all(order is not None for order in orders)

    async def on_ticker(self, ticker: Ticker) -> None:
        if not self.started:
            await self.on_start()
            return
        if self.ctx.mid() is None or self.clock() < self.retry_after:
            return
        if len(self.order_at) < len(self.prices):  # some level is free: quote it if it may be
            await self._fill_levels()

    async def _quote(self, level: int, side: str, margin: Decimal | None = None) -> bool:
        """Quote `level` on `side` unless it is taken or the market is no longer on that side.
        False only when the order was refused (risk guard, funds, OKX)."""
        mid = self.ctx.mid()
        if level in self.order_at or mid is None or self.side_for(level, mid, margin) != side:
            return True
        # the level is held from before the send: nothing may quote it while the answer is awaited
        placeholder = f"pending:{level}"
        self.order_at[level] = placeholder
        try:
            order = await self.ctx.place(side, self.size, self.prices[level])
        finally:
            if self.order_at.get(level) == placeholder:
                del self.order_at[level]
        if order is None:
            return False
        if order.client_order_id not in self.level_of:
            self._hold(level, order.client_order_id)
        return True

    def _hold(self, level: int, cid: str) -> None:
        self.level_of[cid] = level
        self.order_at[level] = cid

    def _release(self, cid: str) -> int | None:
        level = self.level_of.pop(cid, None)
        if level is not None and self.order_at.get(level) == cid:
            del self.order_at[level]
        return level

    async def on_order_update(self, order: JournalOrder) -> None:
        if order.state not in _DONE:
            return
        level = self._release(order.client_order_id)
        if level is None or order.state != "filled":
            return
        # the round trip's other leg: any price on the right side of the market will do
        if order.side == "buy" and level + 1 < len(self.prices):
            await self._quote(level + 1, "sell", margin=Decimal(0))
        elif order.side == "sell" and level >= 1:
            await self._quote(level - 1, "buy", margin=Decimal(0))
