"""`BotContext`: the strategy's `Context` over a bot core (okxbot.trading.strategy.Context)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okxbot.okx.algos import StopSpec, TrailingSpec
from okxbot.okx.contracts import Unit
from okxbot.okx.models import Balance
from okxbot.okx.swap_models import Position
from okxbot.trading.journal import JournalOrder
from okxbot.trading.orders import AmendSpec, OrderManager, OrderSpec
from okxbot.trading.swap_manager import NextFunding, SwapManager

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
        """Spot: the base the bot bought minus sold. Swaps: the bot's position in contracts (net mode
        signed, short < 0; long/short mode long minus short), as its journaled fills add up."""
        swaps = self._core.swaps
        return swaps.position() if swaps is not None else self._m.position()

    # ---- perpetual swaps (None / empty on a spot bot) ---------------------------------------------------
    @property
    def _swaps(self) -> SwapManager | None:
        return self._core.swaps

    def positions(self) -> list[Position]:
        """OKX's positions of the symbol (long / short / net rows) as of the last refresh."""
        return list(self._swaps.positions) if self._swaps is not None else []

    def position_of(self, pos_side: str) -> Decimal:
        """Contracts the bot holds on one side: "long" / "short" (long/short mode), "net" (signed)."""
        return self._swaps.position(pos_side) if self._swaps is not None else Decimal(0)

    def leverage(self) -> Decimal | None:
        return self._swaps.leverage if self._swaps is not None else None

    def mark(self) -> Decimal | None:
        return self._swaps.mark if self._swaps is not None else None

    def next_funding(self) -> NextFunding | None:
        return self._swaps.next_funding() if self._swaps is not None else None

    async def close_position(self, pos_side: str | None = None) -> list[JournalOrder | None]:
        if self._core.stopping or self._swaps is None:
            return []
        return await self._swaps.close_position(pos_side)

    def open_orders(self) -> list[JournalOrder]:
        return self._m.open_orders()

    async def place(
        self,
        side: str,
        amount: Decimal,
        price: Decimal | None = None,
        *,
        post_only: bool = False,
        unit: Unit | None = None,
        pos_side: str | None = None,
        reduce_only: bool = False,
        stop_loss: Decimal | StopSpec | None = None,
        take_profit: Decimal | StopSpec | None = None,
        trailing: Decimal | TrailingSpec | None = None,
    ) -> JournalOrder | None:
        """One order. Swaps: `stop_loss` / `take_profit` ride on it (attachAlgoOrds); `trailing` (a
        market entry only: a TrailingSpec, or a Decimal callback ratio 0.001..1, 0.02 = 2 %) is placed
        by okxbot as a reduce-only move_order_stop for the filled size once the entry has filled."""
        if self._core.stopping:
            return None
        swaps = self._swaps
        if swaps is not None:
            return await swaps.place(
                side, amount, price, unit=unit or "contracts", pos_side=pos_side, reduce_only=reduce_only,
                post_only=post_only, stop_loss=stop_loss, take_profit=take_profit, trailing=trailing,
            )  # fmt: skip
        if unit not in (None, "base") or pos_side or reduce_only or stop_loss or take_profit or trailing:
            self._core.error(
                "order refused before sending: unit / pos_side / reduce_only / stop_loss / take_profit / "
                f"trailing apply to perpetual swaps; {self.symbol} is a spot pair"
            )
            self._m.stats.refused += 1
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
