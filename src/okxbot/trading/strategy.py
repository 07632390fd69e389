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

from okxbot.okx.algos import StopSpec, TrailingSpec
from okxbot.okx.contracts import Unit
from okxbot.okx.models import Balance, Book, Ticker
from okxbot.okx.swap_models import Position
from okxbot.okx.validate import InstrumentRules
from okxbot.trading.journal import JournalFill, JournalOrder
from okxbot.trading.orders import AmendSpec, OrderSpec
from okxbot.trading.swap_journal import FundingPayment
from okxbot.trading.swap_manager import NextFunding

if TYPE_CHECKING:
    from okxbot.trading.config import BotConfig


HISTORY_CANDLES = (
    100  # candles on_candle gets (the newest last): what the live runner polls, and backtests pass
)


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

    def now_ms(self) -> int:
        """The time, epoch ms: OKX's clock live, the replayed time in a backtest. A strategy reads
        time only here (never `time.time()`), so that it behaves the same in both."""
        ...

    def mid(self) -> Decimal | None: ...
    def balances(self) -> dict[str, Balance]: ...
    def position(self) -> Decimal:
        """Spot: base bought minus sold by the bot. Swaps: contracts held (net mode signed)."""
        ...

    def open_orders(self) -> list[JournalOrder]: ...
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
        """One order; None when refused. Swaps: `amount` in `unit` (contracts, base or quote; default
        contracts), converted exactly to contracts or refused; `pos_side` in long/short mode; a
        `stop_loss` / `take_profit` trigger price is attached on the exchange (attachAlgoOrds, trigger
        price type from [swap]); `trailing` (market entries: a TrailingSpec, or a Decimal callback ratio
        in OKX's range 0.001..1, 0.02 = 2 %) is a reduce-only move_order_stop okxbot places for the filled
        size once the entry has filled (OKX cannot attach one); spot bots refuse the swap arguments."""
        ...

    # perpetual swaps (a spot bot: empty / None)
    def positions(self) -> list[Position]:
        """OKX's positions of the symbol (long / short / net rows), as of the last refresh."""
        ...

    def position_of(self, pos_side: str) -> Decimal: ...
    def leverage(self) -> Decimal | None: ...
    def mark(self) -> Decimal | None: ...
    def next_funding(self) -> NextFunding | None:
        """The coming settlement: its rate and time (ms)."""
        ...

    async def close_position(self, pos_side: str | None = None) -> list[JournalOrder | None]:
        """Reduce-only market orders closing what the bot holds (one side, or all)."""
        ...

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
    """Base class; every hook is optional. `timer_seconds` sets how often `on_timer` runs: on the
    clock's multiples of that period (every 3600 s: on the hour), live and in backtests.

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
    async def on_position(self, positions: list[Position]) -> None:
        """Swaps: OKX's positions of the symbol changed (a fill, a stop that fired, a liquidation)."""

    async def on_funding(self, payment: FundingPayment) -> None:
        """Swaps: a funding settlement of the bot's position (amount < 0 paid, > 0 received)."""

    def quiet_ticker_band(self) -> tuple[Decimal, Decimal] | None:
        """Optional promise for backtests: while the mid stays strictly between the two prices,
        `on_ticker` does nothing at all (no order, no change of state), so a backtest may skip
        those calls (`okxbot backtest`'s fast-forward; its results are checked identical to a run
        that makes every call). Asked again after every hook. None (the default): no promise,
        every ticker is delivered. Never called live."""
        return None


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
    if name == "ma_cross_perp":
        from okxbot.trading.strategies.ma_cross_perp import MaCrossPerpStrategy

        return MaCrossPerpStrategy
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
