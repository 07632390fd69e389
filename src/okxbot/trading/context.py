"""`BotContext`: the strategy's `Context` over a bot core (okxbot.trading.strategy.Context)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okxbot.okx.models import Balance
from okxbot.trading.journal import JournalOrder
from okxbot.trading.orders import AmendSpec, OrderManager, OrderSpec

if TYPE_CHECKING:
    from okxbot.trading.core import BotCore

log = logging.getLogger("okxbot.trading.strategy")


class BotContext:
    """What a strategy sees and does: the core's order manager, clock and balances; nothing else
    (no venue, no feed, no data source: a backtest's future is not reachable from here)."""

    def __init__(self, core: BotCore) -> None:
        self._core = core
        self.symbol = core.config.symbol

    @property
    def rules(self) -> Any:
        return self._core.rules

    def now_ms(self) -> int:
        return self._core.clock.now_ms()

    def mid(self) -> Decimal | None:
        return self._m.mid

    @property
    def _m(self) -> OrderManager:
        return self._core.manager

    def balances(self) -> dict[str, Balance]:
        # base and quote net of what the bot's own open and in-flight orders hold
        return {**self._core.balances, **self._m.funds.balances()}

    def position(self) -> Decimal:
        return self._m.position()

    def open_orders(self) -> list[JournalOrder]:
        return self._m.open_orders()

    async def place(
        self, side: str, amount: Decimal, price: Decimal | None = None, *, post_only: bool = False
    ) -> JournalOrder | None:
        if self._core.stopping:
            return None
        return await self._m.place(side, amount, price, post_only=post_only)

    async def place_many(self, orders: Sequence[OrderSpec]) -> list[JournalOrder | None]:
        if self._core.stopping:
            return [None] * len(orders)
        return await self._m.place_many(orders)

    async def cancel(self, client_order_id: str) -> bool:
        return await self._m.cancel(client_order_id)

    async def cancel_many(self, client_order_ids: Sequence[str]) -> list[bool]:
        return await self._m.cancel_many(client_order_ids)

    async def amend(
        self, client_order_id: str, *, price: Decimal | None = None, amount: Decimal | None = None
    ) -> bool:
        return await self._m.amend(client_order_id, price=price, amount=amount)

    async def amend_many(self, amendments: Sequence[AmendSpec]) -> list[bool]:
        return await self._m.amend_many(amendments)

    def log(self, message: str, **fields: Any) -> None:
        log.info(message, extra={"strategy": self._core.config.strategy, **fields})
