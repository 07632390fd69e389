"""The strategy API: subclass `Strategy`, override the hooks you need, act through `self.ctx`.

Every order a strategy places, amends or cancels goes through the order manager (journal first) and
the risk guard; a refused order returns None and is logged with the rule that refused it.
A user strategy is a Python file named in the config (`strategy = "my_strategy.py"`) that defines one
`Strategy` subclass; its settings are the config's [params] table (`self.params`).
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from okxbot.okx.models import Balance, Book, Ticker
from okxbot.okx.validate import InstrumentRules
from okxbot.trading.journal import JournalFill, JournalOrder
from okxbot.trading.orders import AmendSpec, OrderSpec

if TYPE_CHECKING:
    from okxbot.trading.config import BotConfig


@dataclass(frozen=True)
class Candle:
    ts: int  # the bar's opening time, ms
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    confirmed: bool  # False while the bar is still forming


@dataclass(frozen=True)
class Trade:
    trade_id: str
    price: Decimal
    size: Decimal
    side: str
    ts: int


class Context(Protocol):
    """What a strategy can see and do. Implemented by the runner over the order manager."""

    symbol: str
    rules: InstrumentRules

    def mid(self) -> Decimal | None: ...
    def balances(self) -> dict[str, Balance]: ...
    def position(self) -> Decimal: ...
    def open_orders(self) -> list[JournalOrder]: ...
    async def place(
        self, side: str, amount: Decimal, price: Decimal | None = None, *, post_only: bool = False
    ) -> JournalOrder | None: ...
    async def place_many(self, orders: Sequence[OrderSpec]) -> list[JournalOrder | None]:
        """Orders that go out together (a grid's quotes): OKX's batch endpoint, 20 per request,
        overflowing into the single-order one; one result per order (None: refused)."""
        ...

    async def cancel(self, client_order_id: str) -> bool: ...
    async def cancel_many(self, client_order_ids: Sequence[str]) -> list[bool]: ...
    async def amend(
        self, client_order_id: str, *, price: Decimal | None = None, amount: Decimal | None = None
    ) -> bool: ...
    async def amend_many(self, amendments: Sequence[AmendSpec]) -> list[bool]: ...
    def log(self, message: str, **fields: Any) -> None: ...


class Strategy:
    """Base class; every hook is optional. `timer_seconds` sets how often `on_timer` runs.

    Hooks run one at a time. `on_ticker` and `on_book` get the latest message (a burst that arrives
    while a hook runs is coalesced into its newest); `on_trade` gets every public trade once, in
    order. The runner subscribes to books and trades only when the strategy overrides their hook.
    """

    timer_seconds: float | None = None
    candle_bar: str | None = None  # set (e.g. "1m") to receive on_candle
    book_depth: int = 5  # levels per side in on_book: 1-5 (OKX's books5) or up to 400 (books)

    def __init__(self, ctx: Context, config: BotConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.params: dict[str, Any] = dict(config.params)

    async def on_start(self) -> None: ...
    async def on_ticker(self, ticker: Ticker) -> None: ...
    async def on_book(self, book: Book) -> None: ...
    async def on_trade(self, trade: Trade) -> None: ...
    async def on_candle(self, candle: Candle, history: list[Candle]) -> None: ...
    async def on_order_update(self, order: JournalOrder) -> None: ...
    async def on_fill(self, fill: JournalFill) -> None: ...
    async def on_timer(self) -> None: ...
    async def on_stop(self) -> None: ...


def round_price(rules: InstrumentRules, price: Decimal) -> Decimal:
    tick = rules.tick_size or Decimal("0.00000001")
    return (price / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP) * tick


def round_amount(rules: InstrumentRules, amount: Decimal) -> Decimal:
    lot = rules.lot_size or Decimal("0.00000001")
    return (amount / lot).quantize(Decimal(1), rounding=ROUND_DOWN) * lot


class StrategyLoadError(Exception):
    """A user strategy file that cannot be used; the message says what to fix."""


def strategy_class(name: str, config_dir: Path) -> type[Strategy]:
    """The built-in strategy `name`, or the Strategy subclass defined in the file `name`."""
    if name == "grid":
        from okxbot.trading.strategies.grid import GridStrategy

        return GridStrategy
    if name == "dca":
        from okxbot.trading.strategies.dca import DcaStrategy

        return DcaStrategy
    if name == "ma_cross":
        from okxbot.trading.strategies.ma_cross import MaCrossStrategy

        return MaCrossStrategy
    path = (config_dir / name).resolve()
    if not path.is_file():
        raise StrategyLoadError(f"strategy file {path} does not exist; fix the `strategy` path in the config")
    spec = importlib.util.spec_from_file_location(f"okxbot_user_strategy_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        raise StrategyLoadError(f"strategy file {path} failed to load: {type(err).__name__}: {err}") from None
    found = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, Strategy)
        and obj is not Strategy
        and obj.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise StrategyLoadError(
            f"strategy file {path} must define exactly one subclass of okxbot.trading.strategy.Strategy "
            f"(found {len(found)})"
        )
    return found[0]
