"""The grid's quoting logic through the strategy API (a recording context; no exchange needed)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from okxbot.okx.models import Balance
from okxbot.okx.validate import InstrumentRules
from okxbot.trading.config import BotConfig
from okxbot.trading.journal import JournalOrder
from okxbot.trading.orders import OrderSpec
from okxbot.trading.strategies.grid import GridStrategy

D = Decimal
RULES = InstrumentRules("BTC/USDT", "BTC-USDT", "BTC", "USDT", D("0.1"), D("0.00000001"), D("0.00001"))


class Recorder:
    """A Context that records orders instead of sending them."""

    symbol = "BTC/USDT"
    rules = RULES

    def __init__(self, mid: str, existing: list[JournalOrder] | None = None) -> None:
        self._mid = D(mid)
        self.placed: list[JournalOrder] = []
        self.existing = existing or []

    def mid(self) -> Decimal:
        return self._mid

    def balances(self) -> dict[str, Balance]:
        return {}

    def position(self) -> Decimal:
        return D(0)

    def open_orders(self) -> list[JournalOrder]:
        return self.existing + self.placed

    async def place(self, side: str, amount: Decimal, price: Decimal | None = None, **_: Any) -> JournalOrder:
        order = JournalOrder(
            f"c{len(self.placed)}", "b", "BTC/USDT", side, amount, price, "live", "o", D(0), "bot"
        )
        self.placed.append(order)
        return order

    async def place_many(self, specs: list[OrderSpec]) -> list[JournalOrder | None]:
        return [await self.place(s.side, s.amount, s.price) for s in specs]

    async def cancel(self, client_order_id: str) -> bool:
        return True

    async def amend(self, client_order_id: str, **_: Any) -> bool:
        return True

    def log(self, message: str, **fields: Any) -> None:
        pass


CONFIG = BotConfig.model_validate(
    {
        "name": "g",
        "symbol": "BTC/USDT",
        "strategy": "grid",
        "grid": {"lower": "100", "upper": "200", "levels": 5, "size": "0.01"},
    }
)


def test_grid_quotes_buys_below_and_sells_above_leaving_the_mid_level_empty() -> None:
    ctx = Recorder("150")
    asyncio.run(GridStrategy(ctx, CONFIG).on_start())
    assert [(o.side, o.price) for o in ctx.placed] == [
        ("buy", D("100.0")),
        ("buy", D("125.0")),
        ("sell", D("175.0")),
        ("sell", D("200.0")),
    ]


def test_a_filled_buy_is_answered_by_a_sell_one_level_up_and_vice_versa() -> None:
    ctx = Recorder("150")
    grid = GridStrategy(ctx, CONFIG)
    asyncio.run(grid.on_start())
    buy = ctx.placed[1]  # 125
    ctx._mid = D("124")  # the market came down to fill it
    asyncio.run(grid.on_order_update(_with_state(buy, "filled")))
    assert (ctx.placed[-1].side, ctx.placed[-1].price) == ("sell", D("150.0"))
    ctx._mid = D("151")
    asyncio.run(grid.on_order_update(_with_state(ctx.placed[-1], "filled")))
    assert (ctx.placed[-1].side, ctx.placed[-1].price) == ("buy", D("125.0"))
    sell = ctx.placed[2]  # 175
    ctx._mid = D("176")
    asyncio.run(grid.on_order_update(_with_state(sell, "filled")))
    assert (ctx.placed[-1].side, ctx.placed[-1].price) == ("buy", D("150.0"))
    count = len(ctx.placed)
    asyncio.run(grid.on_order_update(_with_state(ctx.placed[0], "canceled")))
    assert len(ctx.placed) == count  # a cancel is not a fill: nothing re-quoted at once


def test_a_fill_never_re_quotes_a_level_the_refill_already_took() -> None:
    """`make demo` once showed two sells at one price: level 175 emptied, refilled by a ticker, then
    the buy below it filled and its re-quote went to 175 again."""
    ctx = Recorder("150")
    grid = GridStrategy(ctx, CONFIG)
    asyncio.run(grid.on_start())
    sell = ctx.placed[2]  # 175
    ctx._mid = D("176")
    asyncio.run(grid.on_order_update(_with_state(sell, "filled")))  # re-quotes a buy at 150
    buy_150 = ctx.placed[-1]
    asyncio.run(grid.on_order_update(_with_state(ctx.placed[3], "canceled")))  # the sell at 200
    ctx._mid = D("160")
    asyncio.run(grid.on_ticker(None))  # type: ignore[arg-type]  # the refill takes 175 (and 200)
    assert [(o.side, o.price) for o in ctx.placed[-2:]] == [("sell", D("175.0")), ("sell", D("200.0"))]
    ctx._mid = D("149")
    asyncio.run(grid.on_order_update(_with_state(buy_150, "filled")))
    sells_at_175 = [o for o in ctx.placed if o.price == D("175.0") and o is not sell]
    assert len(sells_at_175) == 1


def test_a_re_quote_never_crosses_the_market() -> None:
    ctx = Recorder("150")
    grid = GridStrategy(ctx, CONFIG)
    asyncio.run(grid.on_start())
    ctx._mid = D("190")  # the buy at 125 filled long ago; the market is above 150 now
    count = len(ctx.placed)
    asyncio.run(grid.on_order_update(_with_state(ctx.placed[1], "filled")))
    assert len(ctx.placed) == count  # a sell at 150 would be below the market: skipped


def test_after_a_restart_existing_orders_are_adopted_not_doubled() -> None:
    existing = [JournalOrder("old", "b", "BTC/USDT", "buy", D("0.01"), D("125.0"), "live", "o", D(0), "bot")]
    ctx = Recorder("150", existing)
    asyncio.run(GridStrategy(ctx, CONFIG).on_start())
    assert D("125.0") not in [o.price for o in ctx.placed]
    assert len(ctx.placed) == 3


def _with_state(order: JournalOrder, state: str) -> JournalOrder:
    return JournalOrder(
        order.client_order_id,
        order.bot,
        order.symbol,
        order.side,
        order.amount,
        order.price,
        state,
        order.order_id,
        order.amount if state == "filled" else D(0),
        order.origin,
    )


def test_a_free_level_is_refilled_even_when_no_level_sits_at_the_market() -> None:
    """With the mid halfway between two levels every level is quoted; a canceled one must come back
    (the grid once refilled only when two levels were free)."""
    ctx = Recorder("137.5")
    grid = GridStrategy(ctx, CONFIG)
    asyncio.run(grid.on_start())
    assert len(ctx.placed) == 5
    asyncio.run(grid.on_order_update(_with_state(ctx.placed[0], "canceled")))
    asyncio.run(grid.on_ticker(None))  # type: ignore[arg-type]
    assert (ctx.placed[-1].side, ctx.placed[-1].price, len(ctx.placed)) == ("buy", D("100.0"), 6)
