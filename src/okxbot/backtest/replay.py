"""The replay: the bot core fed from history on the virtual clock, one event at a time.

Events, in time order (virtual microseconds within each millisecond break ties):

    T ms + 0 µs   the strategy's bar closes (on_candle) and timer marks (on_timer); equity samples
    T ms + 1 µs   a market event: a price point (candles, trades) or a recorded market step
    sent + L ms + 1 µs   a bot request reaches the engine (`BacktestVenue`, latency L)

So a hook due at T runs on the state at T (the price points of T come after it), and at an equal
millisecond the market moves before a request of the bot lands. Everything a hook does that takes
no virtual time is done before the clock moves by a microsecond.

A market event is applied to the engine; the order updates it caused reach the bot at once (the
orders channel); its market data (ticker if it changed, book, public trades, as live pushes them)
follows once the bot has answered its order updates (hooks done, their requests answered), or just
before the next event at the latest. Then the daily loss limit is checked, as the live runner does
on its polls. Subclasses give the market (`market_ms` / `apply_market`) and what it shows
(`public_data`); `okxbot.backtest.candles`, `okxbot.backtest.recorded`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from okxbot.backtest.loop import VirtualClock, sleep_until_us
from okxbot.backtest.venue import BacktestVenue
from okxbot.okx.models import Book, Ticker
from okxbot.trading.clock import next_multiple_ms
from okxbot.trading.core import BotCore
from okxbot.trading.strategy import Candle, Trade

MARKET_US = 1  # a market event's offset within its millisecond (see the module docstring)
END = 1 << 62


class Replay:
    """The event loop of one backtest; subclasses provide the market."""

    def __init__(
        self, core: BotCore, venue: BacktestVenue, clock: VirtualClock, start_ms: int, end_ms: int
    ) -> None:
        self.core = core
        self.venue = venue
        self.clock = clock
        self.start_ms = start_ms
        self.end_ms = end_ms
        self._timer_ms = END
        self._timer_period_ms = 0
        self._last_ticker: dict[str, Any] | None = None
        self._wants_book = self._wants_trades = False
        self.events = 0  # market events applied (for progress)
        self.progress: Any = None  # called now and then with the replay's time (ms)

    # ---- what subclasses give --------------------------------------------------------------------------
    def market_ms(self) -> int:
        """Time (ms) of the next market event; END when there is none."""
        raise NotImplementedError

    def apply_market(self) -> None:
        """Apply the next market event to the engine."""
        raise NotImplementedError

    def public_data(self) -> tuple[dict[str, Any] | None, Book | None, list[Trade]]:
        """(ticker wire object, book, public trades) after the latest market event."""
        raise NotImplementedError

    def bar_close_ms(self) -> int:
        """When the strategy's next bar closes (END: no candle hook, or none left)."""
        return END

    def close_bar(self) -> list[Candle]:
        """The history on_candle gets at that close (empty: the hook is not called)."""
        return []

    def sample_ms(self) -> int:
        """When the next equity sample is due (END: none)."""
        return END

    def sample(self) -> None:
        """Record the equity at this moment."""

    def sample_start(self) -> None:
        """Record the equity at the start (the report's starting point)."""

    def skip_quiet(self, until_ms: int) -> None:
        """Fast-forward: jump over market events that cannot call a hook nor fill an order, up to
        `until_ms` (the next bar close or timer; only when the bot is idle), taking the equity
        samples they hold. The full run does nothing here."""

    def start_history(self) -> list[Candle]:
        """What on_candle gets at the start (the live runner polls candles as it starts)."""
        return []

    def start_ticker(self) -> dict[str, Any] | None:
        return None

    # ---- the run ----------------------------------------------------------------------------------------
    async def run(self) -> None:
        core, venue = self.core, self.venue
        venue.core = core
        venue.changed = asyncio.Event()
        # as the live runner starts: balances and the ticker, reconciliation, then the strategy
        core.set_balances((await venue.fetch_balance()).values(), full=True)
        ticker = self.start_ticker()
        if ticker is not None:
            core.set_mid(Ticker.from_okx(ticker, core.config.symbol, "ws"))
            self._last_ticker = _content(ticker)
        await core.manager.reconcile()
        # the venue's orders channel is up from the start: no read-back GET after a placement
        core.manager.confirm_placements = False
        strategy = core.load_strategy()
        self._wants_book = core.wants("on_book")
        self._wants_trades = core.wants("on_trade")
        if ticker is not None:  # the ticker channel's first push, as a live bot subscribes
            core.on_ticker(Ticker.from_okx(ticker, core.config.symbol, "ws"))
        dispatcher = asyncio.get_running_loop().create_task(core.dispatch())
        if strategy.timer_seconds:
            self._timer_period_ms = max(1, round(strategy.timer_seconds * 1000))
            self._timer_ms = next_multiple_ms(self.start_ms, self._timer_period_ms)
        self.sample_start()
        history = self.start_history()
        if history:
            core.on_candles(history)
        try:
            await self._loop()
            await sleep_until_us(self.clock, self.end_ms * 1000)
            await core.stop_strategy()
            await core.wind_down()
        finally:
            dispatcher.cancel()
            await asyncio.gather(dispatcher, return_exceptions=True)
            await core.manager.close()

    async def _loop(self) -> None:
        clock, core = self.clock, self.core
        turns = 0
        while True:
            turns += 1
            if self.progress is not None and turns % 1024 == 0:
                self.progress(clock.now_ms())
            if self.core.idle() and self.venue.idle():
                self.skip_quiet(min(self.bar_close_ms(), self._timer_ms, self.end_ms))
            bar_ms, timer_ms, sample_ms = self.bar_close_ms(), self._timer_ms, self.sample_ms()
            hook_ms = min(bar_ms, timer_ms, sample_ms)
            market_ms = self.market_ms()
            if hook_ms > self.end_ms and market_ms >= self.end_ms:
                return  # (a bar closing at the end still counts; a market event at the end does not)
            if hook_ms <= market_ms:  # hooks first at an equal millisecond
                await sleep_until_us(clock, hook_ms * 1000)
                if sample_ms == hook_ms:
                    self.sample()
                # at the end itself only the equity is sampled: nothing decided then could act
                if bar_ms == hook_ms:
                    history = self.close_bar()
                    if history and bar_ms < self.end_ms:
                        core.on_candles(history)
                if timer_ms == hook_ms:
                    if timer_ms < self.end_ms:
                        core.on_timer()
                    self._timer_ms = next_multiple_ms(timer_ms, self._timer_period_ms)
                continue
            await sleep_until_us(clock, market_ms * 1000 + MARKET_US)
            self.apply_market()
            self.events += 1
            await self.venue.deliver()
            await self._settle(min(self.market_ms(), self.bar_close_ms(), self._timer_ms, self.sample_ms()))
            self._publish()
            await core.check_halt()

    async def _settle(self, deadline_ms: int) -> None:
        """Wait until the bot has answered what it got (hooks done, requests answered, updates
        delivered), but not past `deadline_ms` (the next event)."""
        core, venue, clock = self.core, self.venue, self.clock
        deadline_us = min(deadline_ms, self.end_ms) * 1000
        changed = venue.changed
        assert changed is not None
        while not (core.idle() and venue.idle()):
            if clock.us >= deadline_us:
                return
            changed.clear()
            waiters = [asyncio.ensure_future(core.queue.join()), asyncio.ensure_future(changed.wait())]
            _, pending = await asyncio.wait(
                waiters, timeout=clock.seconds_until_us(deadline_us), return_when=asyncio.FIRST_COMPLETED
            )
            for w in pending:
                w.cancel()

    def _publish(self) -> None:
        """The latest market event's market data to the bot, as live pushes it."""
        ticker, book, trades = self.public_data()
        core = self.core
        symbol = core.config.symbol
        for trade in trades:
            core.on_trade(trade)
        if book is not None:
            core.on_book(book)
        if ticker is not None:
            content = _content(ticker)
            if content != self._last_ticker:  # OKX pushes a ticker only when it changed
                self._last_ticker = content
                core.on_ticker(Ticker.from_okx(ticker, symbol, "ws"))


def _content(ticker: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in ticker.items() if k != "ts"}


def trades_of(raw: Iterable[dict[str, Any]]) -> list[Trade]:
    """Public trades (OKX's wire objects) as the strategy API's `Trade`."""
    from okxbot.okx.models import dec0

    return [
        Trade(
            str(t["tradeId"]),
            dec0(t.get("px")),
            dec0(t.get("sz")),
            str(t.get("side", "")),
            int(t.get("ts") or 0),
        )
        for t in raw
    ]
