"""The bot core: strategy, risk guard, order manager and the dispatch of hooks, whatever feeds them.

A bot is this core plus feeds. `okxbot.trading.runner.Runner` feeds it live (OKX's WebSocket
channels through ccxt, REST polls, the dead-man switch); `okxbot.backtest.replay` feeds it history
on a virtual clock. Both call the same entry points, so the strategy, the risk guard and the order
manager cannot tell them apart:

    core.on_ticker(ticker) / on_book(book) / on_trade(trade)   market data (coalesced as documented)
    core.on_candles(history)                                    candles, oldest first
    core.on_timer()                                             the strategy's timer is due
    await core.apply_orders(raw_orders)                         the orders channel (OKX wire objects)
    core.on_account_push(message) / core.set_balances(...)      balance reports (the funds check)
    await core.check_halt()                                     the daily loss limit, on the feed's cadence

Hooks run one at a time on one dispatcher task (`dispatch`), in the order their events were queued;
a ticker or book that arrives while a hook runs is coalesced into the newest one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from okxbot.okx.errors import OkxError
from okxbot.okx.models import Balance, Book, Ticker
from okxbot.okx.validate import InstrumentRules
from okxbot.trading.clock import Clock
from okxbot.trading.config import BotConfig
from okxbot.trading.context import BotContext
from okxbot.trading.journal import JournalFill, JournalOrder
from okxbot.trading.latency import Tick
from okxbot.trading.orders import OrderManager
from okxbot.trading.risk import RiskGuard
from okxbot.trading.strategy import Candle, Strategy, Trade, strategy_class
from okxbot.trading.swap_manager import SwapManager
from okxbot.trading.venue import Venue

log = logging.getLogger("okxbot.trading.core")
NO_TICK = Tick(0, 0)
TRADE_IDS_KEPT = 1000  # recent tradeIds remembered so that each trade is delivered once


@dataclass(frozen=True)
class Summary:
    bot: str
    orders_placed: int
    fills: int
    fees: Decimal  # quote terms, positive = paid
    pnl: Decimal  # realised + mark-to-mid, quote
    rate_limited: int  # 50011 answers
    refused: int
    foreign_orders: int
    open_orders_left: int
    reconciled: bool  # journal and exchange agree on open orders and the bot's fills
    halted: str | None
    parity_hash: str = ""  # this session's orders and fills (okxbot.trading.parity)
    swap: dict[str, str] | None = None  # swap bots: position left, stops live on the exchange, funding


class BotCore:
    """One bot's strategy, risk guard and order manager, fed by whoever runs it."""

    def __init__(
        self,
        config: BotConfig,
        venue: Venue,
        journal: Any,
        rules: InstrumentRules,
        *,
        clock: Clock,
        config_dir: Path,
    ) -> None:
        """`journal`: an `okxbot.trading.journal.Journal` (or the backtest's in-memory twin)."""
        self.config = config
        self.venue = venue
        self.journal = journal
        self.rules = rules
        self.clock = clock
        self.config_dir = config_dir
        self.manager = OrderManager(
            venue,
            journal,
            RiskGuard(config.risk, config.symbol, clock=clock.monotonic),
            rules,
            cancel_foreign=config.run.cancel_foreign,
            clock=clock,
        )
        self.manager.listeners.append(self._on_manager_event)
        self.strategy: Strategy | None = None
        self.balances: dict[str, Balance] = {}
        self.stopping = False
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._ticker_pending = False
        self._latest_ticker: Ticker | None = None
        self._ticker_tick = NO_TICK
        self._book_pending = False
        self._latest_book: Book | None = None
        self._book_tick = NO_TICK
        self._trade_ids: OrderedDict[str, None] = OrderedDict()
        self._halted_before = False
        self.hooks_run = 0  # hooks dispatched so far (a strategy's state may have changed)
        self.swaps: SwapManager | None = None  # a perpetual-swap bot's side (`attach_swaps`)

    def attach_swaps(self, swaps: SwapManager) -> None:
        """Make this a perpetual-swap bot: orders, positions and funding through `swaps`."""
        self.swaps = swaps

    # ---- setting up -------------------------------------------------------------------------------
    def load_strategy(self) -> Strategy:
        """Build the configured strategy over this core's context; its start is queued first."""
        cls = strategy_class(self.config.strategy, self.config_dir)
        self.strategy = cls(BotContext(self), self.config)
        self._queue.put_nowait(("start", None))
        return self.strategy

    def wants(self, hook: str) -> bool:
        """Whether the strategy overrides `hook` (feeds subscribe to books and trades only then)."""
        assert self.strategy is not None
        return getattr(type(self.strategy), hook) is not getattr(Strategy, hook)

    # ---- market data and balances in ----------------------------------------------------------------
    def set_mid(self, ticker: Ticker) -> None:
        if ticker.bid is not None and ticker.ask is not None:
            self.manager.mid = (ticker.bid + ticker.ask) / 2
        elif ticker.last is not None:
            self.manager.mid = ticker.last

    def on_ticker(self, ticker: Ticker, tick: Tick = NO_TICK, *, quiet: bool = False) -> None:
        """A ticker: the mid moves now; on_ticker is queued once (a burst is coalesced). `quiet`:
        the strategy promised this one changes nothing (`Strategy.quiet_ticker_band`): not queued."""
        self._ticker_tick = tick
        self.set_mid(ticker)
        self._latest_ticker = ticker
        if not quiet and not self._ticker_pending:
            self._ticker_pending = True
            self._queue.put_nowait(("ticker", None))

    def on_book(self, book: Book, tick: Tick = NO_TICK) -> None:
        """An order book: on_book is queued with the latest one (coalesced like tickers)."""
        self._book_tick = tick
        self._latest_book = book
        if not self._book_pending:
            self._book_pending = True
            self._queue.put_nowait(("book", None))

    def on_trade(self, trade: Trade, tick: Tick = NO_TICK) -> bool:
        """A public trade: queued for on_trade once per tradeId, in arrival order (False: seen)."""
        if not trade.trade_id or trade.trade_id in self._trade_ids:
            return False
        self._trade_ids[trade.trade_id] = None
        if len(self._trade_ids) > TRADE_IDS_KEPT:
            self._trade_ids.popitem(last=False)
        self._queue.put_nowait(("trade", (trade, tick)))
        return True

    def on_candles(self, history: list[Candle]) -> None:
        """Candles, oldest first: on_candle gets the newest and the whole list."""
        if history:
            self._queue.put_nowait(("candle", history))

    def on_timer(self) -> None:
        self._queue.put_nowait(("timer", None))

    def set_balances(self, balances: Iterable[Balance], *, full: bool) -> None:
        """A balance report from the venue (REST or the account channel); older ones are ignored
        by the funds check. `full`: it lists every currency."""
        balances = list(balances)
        self.manager.funds.snapshot(balances, full=full)
        fresh = {b.ccy: b for b in balances}
        self.balances = fresh if full else {**self.balances, **fresh}

    def on_account_push(self, message: Mapping[str, Any]) -> None:
        """One account-channel push: each currency's balance with its uTime ("snapshot": all)."""
        for data in message.get("data") or []:
            details = data.get("details") if isinstance(data, dict) else None
            self.set_balances(
                [Balance.from_okx(d) for d in details or [] if isinstance(d, dict)],
                full=message.get("eventType") == "snapshot",
            )

    async def apply_orders(self, raw_orders: Iterable[Mapping[str, Any]]) -> None:
        """Order objects from the orders channel (or any report in OKX's wire form), in order."""
        for raw in raw_orders:
            await self.manager.apply_order(raw)

    async def check_halt(self) -> bool:
        """The daily loss limit on the latest mid; on the first trip, the bot's orders are canceled."""
        halted = self.manager.check_halt()
        if halted and not self._halted_before:
            self.error(f"halted: {self.manager.risk.halted}; canceling open orders")
            await self.manager.cancel_all_own()
        self._halted_before = halted
        return halted

    # ---- dispatch ----------------------------------------------------------------------------------
    async def _on_manager_event(self, kind: str, payload: Any) -> None:
        self._queue.put_nowait((kind, payload))

    def emit(self, kind: str, payload: Any) -> None:
        """Queue a hook (the swap side's "position" and "funding")."""
        self._queue.put_nowait((kind, payload))

    @property
    def queue(self) -> asyncio.Queue[tuple[str, Any]]:
        """The hooks waiting to run (`queue.join()` waits until every queued hook has run)."""
        return self._queue

    def idle(self) -> bool:
        """No hook running or waiting."""
        return self._queue._unfinished_tasks == 0  # type: ignore[attr-defined]

    async def dispatch(self) -> None:
        """The dispatcher: hooks one at a time, in order, until cancelled."""
        while True:
            kind, payload = await self._queue.get()
            try:
                if not self.stopping:
                    self.hooks_run += 1
                    await self.call_hook(kind, payload)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.exception("strategy hook %s failed", kind)
                self.error(f"strategy {kind}: {type(err).__name__}: {err}")
            finally:
                self._queue.task_done()

    async def call_hook(self, kind: str, payload: Any) -> None:
        s = self.strategy
        assert s is not None
        if kind == "start":
            await s.on_start()
        elif kind == "ticker":
            self._ticker_pending = False
            if self._latest_ticker is not None:
                with self._answering(self._ticker_tick):
                    await s.on_ticker(self._latest_ticker)
        elif kind == "book":
            self._book_pending = False
            if self._latest_book is not None:
                with self._answering(self._book_tick):
                    await s.on_book(self._latest_book)
        elif kind == "trade":
            trade, tick = payload
            assert isinstance(trade, Trade)
            with self._answering(tick):
                await s.on_trade(trade)
        elif kind == "order":
            assert isinstance(payload, JournalOrder)
            await s.on_order_update(payload)
        elif kind == "fill":
            assert isinstance(payload, JournalFill)
            await s.on_fill(payload)
        elif kind == "timer":
            await s.on_timer()
        elif kind == "candle":
            await s.on_candle(payload[-1], payload)
        elif kind == "stop":
            await s.on_stop()
        elif kind == "position":
            await s.on_position(payload)
        elif kind == "funding":
            await s.on_funding(payload)

    @contextlib.contextmanager
    def _answering(self, tick: Tick) -> Iterator[None]:
        """While a market-data hook runs, its first order is timed from `tick` (trading.latency)."""
        self.manager.cause = tick if tick.frame_ns else None
        try:
            yield
        finally:
            self.manager.cause = None

    def error(self, message: str) -> None:
        log.warning(message)
        self.manager.stats.error(message)

    # ---- stopping ------------------------------------------------------------------------------------
    async def stop_strategy(self) -> None:
        """No new orders from now on; the queued hooks run (placing nothing), then on_stop."""
        self.stopping = True
        await self._queue.join()
        with contextlib.suppress(Exception):
            await self.call_hook("stop", None)

    async def wind_down(self) -> int:
        """Cancel the bot's open orders (run.cancel_on_stop), settle what is in doubt, read back;
        returns how many orders were left open by the cancel (all of them without it)."""
        m = self.manager
        left = len(m.open_orders())
        if self.config.run.cancel_on_stop:
            left = await m.cancel_all_own()
        # what is still in doubt (an unknown placement, fills not read yet) is settled before exiting
        await m.settle((self.venue.horizon_ms() - self.venue.okx_now_ms()) / 1000 + 5)
        with contextlib.suppress(OkxError):
            await m.poll()
            if self.swaps is not None:
                # the last fills may have closed a position: its stop is an orphan, canceled before exiting
                await self.swaps.algos.reconcile()
        return left

    async def check_reconciled(self) -> bool:
        """The journal's open orders are exactly the venue's open orders of this bot, and every
        recent venue fill of the bot's orders is in the journal."""
        try:
            venue_open = await self.venue.fetch_open_orders(self.config.symbol)
            venue_fills = await self.venue.fetch_fills(self.config.symbol)
        except OkxError:
            return False
        ours = {o.client_order_id for o in self.journal.orders()}
        open_ex = {o.client_order_id for o in venue_open if o.client_order_id in ours}
        open_j = {o.client_order_id for o in self.journal.open_orders()}
        fills_ex = {f.trade_id for f in venue_fills if f.client_order_id in ours}
        fills_j = {f.trade_id for f in self.journal.fills()}
        if self.swaps is not None:
            try:
                if not await self.swaps.exchange_matches_journal():
                    log.warning("not reconciled: the journal's positions are not the exchange's")
                    return False
            except OkxError:
                return False
        if open_ex != open_j or not fills_ex <= fills_j:
            log.warning(
                "not reconciled: open orders only on the exchange %s, only in the journal %s; fills missing %s",
                sorted(open_ex - open_j), sorted(open_j - open_ex), sorted(fills_ex - fills_j)[:5],
            )  # fmt: skip
            return False
        return True

    def summary(self, *, reconciled: bool) -> Summary:
        m = self.manager
        pnl = m.pnl()
        return Summary(
            bot=self.config.name,
            orders_placed=m.stats.placed,
            fills=m.stats.fills,
            fees=pnl.fees_quote,
            pnl=pnl.total,
            rate_limited=m.stats.rate_limited,
            refused=m.stats.refused,
            foreign_orders=len(m.foreign),
            open_orders_left=len(m.open_orders()),
            reconciled=reconciled,
            halted=m.risk.halted,
            parity_hash=m.session_hash(),
            swap=self.swaps.summary() if self.swaps is not None else None,
        )
