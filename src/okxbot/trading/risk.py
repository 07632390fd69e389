"""The risk guard: every order passes every rule, or is refused with the name of the rule."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from okxbot.trading.config import RiskConfig

log = logging.getLogger("okxbot.trading.risk")


class RiskRefused(Exception):
    """An order a rule refused; `rule` is the rule's name."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"[{rule}] {message}")
        self.rule = rule


@dataclass(frozen=True)
class ProposedOrder:
    symbol: str
    side: str
    amount: Decimal
    price: Decimal | None  # None: market order, checked at the mid


@dataclass(frozen=True)
class RiskView:
    """What the rules look at, supplied by the order manager at the time of the check."""

    mid: Decimal | None
    open_orders: int
    position: Decimal  # the bot's holding of the order's base asset (bought minus sold by the bot)
    open_buy_amount: Decimal  # base amount of the bot's open buys, counted against max_position
    pnl_today: Decimal  # realised + mark-to-mid, quote currency


class RiskGuard:
    def __init__(
        self, config: RiskConfig, own_symbol: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self.allowed = set(config.allowed_symbols) or {own_symbol}
        self._clock = clock
        self._sent: deque[float] = deque()
        self.halted: str | None = None  # the reason, once the daily loss limit tripped
        self.refusals: list[tuple[str, str]] = []

    def check(self, order: ProposedOrder, view: RiskView) -> None:
        """Raise RiskRefused if any rule refuses `order`; on success, count it against the rate rule."""
        try:
            self._check(order, view)
        except RiskRefused as refused:
            self.refusals.append((refused.rule, str(refused)))
            log.warning(
                "order refused by risk rule %s: %s", refused.rule, refused, extra={"rule": refused.rule}
            )
            raise
        self._sent.append(self._clock())

    def _check(self, order: ProposedOrder, view: RiskView) -> None:
        c = self.config
        if self.check_loss(view.pnl_today):
            raise RiskRefused("daily_loss_limit", f"trading is halted: {self.halted}")
        if order.symbol not in self.allowed:
            raise RiskRefused(
                "allowed_symbols", f"{order.symbol} is not in allowed symbols {sorted(self.allowed)}"
            )
        if order.amount <= 0:
            raise RiskRefused("amount", f"amount {order.amount} must be positive")
        reference = order.price if order.price is not None else view.mid
        if view.mid is None:
            raise RiskRefused("price_band", "no mid price yet: cannot check the order against the market")
        if order.price is not None:
            band = view.mid * c.price_band_pct / 100
            if abs(order.price - view.mid) > band:
                raise RiskRefused(
                    "price_band",
                    f"price {order.price} is more than {c.price_band_pct}% from the mid {view.mid}",
                )
        assert reference is not None
        notional = order.amount * reference
        if notional > c.max_order_notional:
            raise RiskRefused(
                "max_order_notional", f"notional {notional} exceeds max_order_notional {c.max_order_notional}"
            )
        base = order.symbol.split("/")[0]
        limit = c.max_position.get(base)
        if limit is not None and order.side == "buy":
            exposure = view.position + view.open_buy_amount + order.amount
            if exposure > limit:
                raise RiskRefused(
                    "max_position",
                    f"{base} exposure would be {exposure} (held {view.position}, open buys "
                    f"{view.open_buy_amount}), above max_position {limit}",
                )
        if view.open_orders + 1 > c.max_open_orders:
            raise RiskRefused(
                "max_open_orders", f"{view.open_orders} orders open; max_open_orders is {c.max_open_orders}"
            )
        now = self._clock()
        while self._sent and now - self._sent[0] >= 60:
            self._sent.popleft()
        if len(self._sent) >= c.max_orders_per_minute:
            raise RiskRefused(
                "max_orders_per_minute",
                f"{len(self._sent)} orders in the last minute; max_orders_per_minute is "
                f"{c.max_orders_per_minute}",
            )

    def check_loss(self, pnl_today: Decimal) -> bool:
        """Trip the halt when today's loss reaches the limit; True if halted (now or before)."""
        limit = self.config.daily_loss_limit
        if self.halted:
            return True
        if limit is not None and pnl_today <= -limit:
            self.halted = f"daily loss {-pnl_today} reached daily_loss_limit {limit}"
            log.error("risk halt: %s", self.halted, extra={"rule": "daily_loss_limit"})
            return True
        return False
