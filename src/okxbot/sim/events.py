"""What the engine tells its listeners (the WebSocket layer) after every state change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


Event = OrderEvent | BalanceEvent | BookEvent | TradeEvent
Listener = Callable[[Event], None]
