"""What the engine tells its listeners (the WebSocket layer) after every state change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order changed: `order` is the orders-channel object of this update."""

    uid: str
    order: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BalanceEvent:
    uid: str
    ccys: list[str]


@dataclass(frozen=True, slots=True)
class BookEvent:
    inst_id: str


@dataclass(frozen=True, slots=True)
class TradeEvent:
    inst_id: str
    trade: dict[str, str]


@dataclass(frozen=True, slots=True)
class PositionEvent:
    """Positions of an account changed (positions / balance_and_position channels).

    `event_type` is balance_and_position's: filled | funding_fee | liquidation | set_leverage | adjust_margin;
    `trades` the [{instId, tradeId}] of the fills behind a `filled` event.
    """

    uid: str
    pos_ids: list[str]
    ccys: list[str]
    event_type: str
    trades: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LiquidationEvent:
    """A position was liquidated: one `liquidation-orders` item (public, no account named)."""

    inst_type: str
    item: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AlgoEvent:
    """An algo order changed: `data` is its push item on `channel` (orders-algo | algo-advance)."""

    uid: str
    channel: str
    data: dict[str, Any]


Event = OrderEvent | BalanceEvent | BookEvent | TradeEvent | PositionEvent | LiquidationEvent | AlgoEvent
Listener = Callable[[Event], None]
