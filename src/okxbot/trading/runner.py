"""Runs one bot live: posture check -> reconciliation -> trading, with a live status view; stops cleanly.

A live bot is the bot core (`okxbot.trading.core.BotCore`: strategy, risk guard, order manager,
dispatch of hooks) plus the live feeds this module owns: OKX's WebSocket channels through ccxt
(tickers, books, trades, orders, account), the REST polls that take over when a channel is down,
the candle poll, the strategy's timer and the exchange-side dead-man switch (cancel-all-after),
refreshed while the bot is healthy so that a frozen or killed bot's orders are canceled by OKX.
A backtest feeds the same core from history (`okxbot.backtest`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from okxbot.okx.client import ClientConfig, OkxClient
from okxbot.okx.errors import OkxError
from okxbot.okx.models import Balance, Book, Ticker, dec0
from okxbot.okx.posture import guard
from okxbot.trading.client_source import ClientSource, OwnClient
from okxbot.trading.clock import VenueClock, next_multiple_ms
from okxbot.trading.config import BotConfig, check_instrument
from okxbot.trading.core import BotCore, Summary
from okxbot.trading.journal import Journal, default_url
from okxbot.trading.key_swap import KeySwap
from okxbot.trading.latency import Tick
from okxbot.trading.orders import OrderManager
from okxbot.trading.strategy import HISTORY_CANDLES, Candle, Strategy, Trade
from okxbot.trading.swap_manager import SwapManager
from okxbot.trading.swap_start import start_swaps

if TYPE_CHECKING:
    from rich.console import Console

    from okxbot.cli.target import Target

log = logging.getLogger("okxbot.trading.runner")

__all__ = ["Runner", "Summary"]


class Runner:
    def __init__(
        self,
        config: BotConfig,
        target: Target,
        *,
        config_path: Path,
        data_dir: Path,
        console: Console | None = None,
        client_config: ClientConfig | None = None,
        allow_withdraw: bool = False,
        clients: ClientSource | None = None,
    ) -> None:
        """`clients`: where the bot's OkxClient comes from (default: its own, closed on close)."""
        self.config = config
        self.target = target
        self.config_path = config_path
        self.data_dir = data_dir
        self.console = console
        self.allow_withdraw = allow_withdraw
        self.client_config = client_config or ClientConfig(rest_url=target.base_url, demo=target.demo)
        self.clients = clients or OwnClient()
        self.client: OkxClient | None = None
        self.journal: Journal | None = None
        self.core: BotCore | None = None
        self.rules: Any = None
        self.ws_orders_up = False
        self._unsubscribe: Callable[[], None] | None = None
        self.dead_man_armed = False
        self.reconciliation: dict[str, int] = {}
        self.next_timer_ms: int | None = None  # when the strategy's timer fires next (clock ms)
        self.first_timer_ms: int | None = None  # its first mark after the start
        self._last_trade_ms = int(time.time() * 1000)  # the REST fallback delivers only newer trades
        self._tasks: list[asyncio.Task[Any]] = []
        self.key_swap = KeySwap(self)  # moves onto a rotated key between requests; halts on a revoked one

    # ---- the core's parts, as the status view, `okxbot serve` and tests read them ------------------
    @property
    def manager(self) -> OrderManager | None:
        return self.core.manager if self.core is not None else None

    @property
    def strategy(self) -> Strategy | None:
        return self.core.strategy if self.core is not None else None

    @property
    def balances(self) -> dict[str, Balance]:
        return self.core.balances if self.core is not None else {}

    @property
    def stopping(self) -> bool:
        return self.core is not None and self.core.stopping

    # ---- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> dict[str, int]:
        """Posture check, markets, journal, reconciliation, dead-man switch, strategy start."""
        self.client = await self.clients.open_client(
            self.client_config, self.target.credentials, self.config.name
        )
        await guard(
            self.client, purpose=self.target.purpose, need="trade", allow_withdraw=self.allow_withdraw
        )
        self.rules = await self.client.rules(self.config.symbol)
        check_instrument(self.config, self.rules.min_size, str(self.config_path), _read(self.config_path))
        url = self.config.run.journal_url or default_url(self.data_dir)
        self.journal = Journal(url, self.config.name)
        core = self.core = BotCore(
            self.config,
            self.client,
            self.journal,
            self.rules,
            clock=VenueClock(self.client.okx_now_ms),
            config_dir=self.config_path.parent,
        )
        core.manager.answer_listeners.append(self.key_swap.on_answer)  # a revoked key halts at once
        core.set_mid(await self.client.fetch_ticker(self.config.symbol))
        core.set_balances((await self.client.fetch_balance()).values(), full=True)
        swaps = await start_swaps(core, self.client, self.journal) if self.config.is_swap else None
        self.reconciliation = await core.manager.reconcile()
        if swaps is not None:
            self.reconciliation |= {f"algos_{k}": v for k, v in (await swaps.algos.reconcile()).items()}
        log.info("reconciled", extra=self.reconciliation)
        if self.config.run.dead_man:
            await self._arm_dead_man()
        strategy = core.load_strategy()
        if swaps is not None:
            await swaps.refresh()  # positions, mark, funding: read before the first hook runs
        loop_tasks = [
            core.dispatch(),
            self._ticker_feed(),
            self._orders_feed(),
            self._account_feed(),
            self._poll_loop(),
        ]
        # books and trades cost a subscription each: only for strategies that use them
        if core.wants("on_book"):
            loop_tasks.append(self._book_feed())
        if core.wants("on_trade"):
            loop_tasks.append(self._trades_feed())
        if self.config.run.dead_man:
            loop_tasks.append(self._dead_man_loop())
        if strategy.timer_seconds:
            loop_tasks.append(self._timer_loop(strategy.timer_seconds))
        if strategy.candle_bar:
            loop_tasks.append(self._candle_loop(strategy.candle_bar))
        if swaps is not None:
            loop_tasks.append(self._swap_loop(swaps))
        loop_tasks.append(self.key_swap.watch())
        self._tasks = [asyncio.ensure_future(t) for t in loop_tasks]
        # What start-up built (ccxt's markets, modules, the journal) lives as long as the bot: keep it
        # out of the collector's generations, or each full collection walks ~250k objects (tens of ms)
        # in the middle of some order's tick-to-order path.
        gc.collect()
        gc.freeze()
        return self.reconciliation

    async def run(
        self, stop: asyncio.Event, seconds: float | None = None, live_view: bool = False
    ) -> Summary:
        """Start, trade until `stop` is set (or `seconds` pass), then stop cleanly; returns the summary."""
        self.key_swap.stop_event = stop  # a revoked key stops the bot like a stop request
        try:
            await self.start()
            if live_view and self.console is not None:
                await self._with_live_view(stop, seconds)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), seconds)
            return await self.stop()
        finally:
            await self.close()

    async def _with_live_view(self, stop: asyncio.Event, seconds: float | None) -> None:
        from rich.live import Live

        from okxbot.okx.client import process_limiter
        from okxbot.trading.status import render

        assert self.console is not None
        deadline = None if seconds is None else time.monotonic() + seconds
        with Live(console=self.console, refresh_per_second=2, transient=False) as live:
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                usage = await process_limiter().usage(top=3)
                live.update(render(self, usage))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)

    async def stop(self) -> Summary:
        """Stop placing, let the strategy know, cancel open orders (configurable), flush, summarise."""
        core, client = self.core, self.client
        assert core is not None and client is not None and core.strategy is not None
        await core.stop_strategy()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        left = await core.wind_down()
        # with cancel_on_stop off the user wants the orders to stay: the switch must not cancel them
        if self.dead_man_armed and (left == 0 or not self.config.run.cancel_on_stop):
            await self._disarm_dead_man()
        summary = core.summary(reconciled=await core.check_reconciled())
        log.info("stopped", extra={k: str(v) for k, v in summary.__dict__.items()})
        return summary

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._unsubscribe is not None:
            self._unsubscribe()  # a shared client (okxbot serve) outlives this bot
        if self.core is not None:
            await self.core.manager.close()
        if self.client is not None:
            await self.clients.release_client(self.client, self.config.name)
        if self.journal is not None:
            self.journal.close()

    async def check_reconciled(self) -> bool:
        """The journal's open orders are exactly the exchange's open orders of this bot, and every
        recent exchange fill of the bot's orders is in the journal."""
        assert self.core is not None
        return await self.core.check_reconciled()

    # ---- dead-man switch ----------------------------------------------------------------------------
    async def _arm_dead_man(self) -> None:
        assert self.client is not None
        timeout = str(self.config.run.dead_man_seconds)
        await self.client._call(self.client.raw.privatePostTradeCancelAllAfter({"timeOut": timeout}))
        self.dead_man_armed = True

    async def _disarm_dead_man(self) -> None:
        assert self.client is not None
        try:
            await self.client._call(self.client.raw.privatePostTradeCancelAllAfter({"timeOut": "0"}))
            self.dead_man_armed = False
        except OkxError as err:
            log.warning("could not disarm the dead-man switch: %s", err)

    async def _dead_man_loop(self) -> None:
        period = max(3.0, self.config.run.dead_man_seconds / 3)
        while True:
            await asyncio.sleep(period)
            try:
                await self._arm_dead_man()
            except OkxError as err:
                self._error(f"dead-man refresh: {err.message}")

    # ---- feeds ----------------------------------------------------------------------------------
    def on_ticker_message(self, raw: dict[str, Any], frame_ns: int = 0) -> None:
        """One market-data message (a tickers push): update the mid, queue on_ticker (coalesced).
        `frame_ns`: when its frame reached the socket (okx.wire; 0 for REST, then it is not timed)."""
        assert self.core is not None
        tick = Tick(frame_ns, time.perf_counter_ns())
        self.core.on_ticker(Ticker.from_okx(raw, self.config.symbol, "ws"), tick)

    async def _ticker_feed(self) -> None:
        assert self.client is not None
        raw = self.client.raw
        # the tickers push is read as it is handled (OkxExchange taps): no ccxt ticker is built
        raw.okx_taps[("tickers", self.rules.inst_id)] = self._on_tickers_push
        while True:
            try:
                await raw.watch_ticker(self.config.symbol)  # subscribes; ends only with an error
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._error(f"ticker stream: {type(err).__name__}; polling REST")
                with contextlib.suppress(OkxError):
                    t = await self.client.fetch_ticker(self.config.symbol)
                    self.on_ticker_message(t.raw if hasattr(t, "raw") else {})
                await asyncio.sleep(self.config.run.poll_seconds)

    def _on_tickers_push(self, message: dict[str, Any], frame_ns: int) -> None:
        for data in message.get("data") or []:
            if isinstance(data, dict):
                self.on_ticker_message(data, frame_ns)

    def on_book_message(self, book: Book, frame_ns: int = 0) -> None:
        """One order-book message: queue on_book with the latest book (coalesced like tickers)."""
        assert self.core is not None
        self.core.on_book(book, Tick(frame_ns, time.perf_counter_ns()))

    async def _book_feed(self) -> None:
        assert self.client is not None and self.strategy is not None
        symbol, depth = self.config.symbol, self.strategy.book_depth
        while True:
            try:
                # depth <= 5: OKX's books5 snapshots; deeper: the 400-level books channel, checksummed
                book = await self.client.raw.watch_order_book(symbol, depth)
                frame_ns = max(self._arrival("books5"), self._arrival("books"))
                self.on_book_message(Book.from_ccxt(book, symbol, depth), frame_ns)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._error(f"book stream: {type(err).__name__}; polling REST")
                with contextlib.suppress(OkxError):
                    self.on_book_message(await self.client.fetch_order_book(symbol, depth))
                await asyncio.sleep(self.config.run.poll_seconds)

    def on_trade_message(self, raw: dict[str, Any], frame_ns: int = 0) -> None:
        """One public trade (OKX wire fields): queue on_trade, once per tradeId, in arrival order."""
        assert self.core is not None
        trade_id = str(raw.get("tradeId") or "")
        if not trade_id:
            return
        tick = Tick(frame_ns, time.perf_counter_ns())
        trade = Trade(trade_id, dec0(raw.get("px")), dec0(raw.get("sz")), str(raw.get("side", "")), _ms(raw))
        if self.core.on_trade(trade, tick):
            self._last_trade_ms = max(self._last_trade_ms, trade.ts)

    async def _trades_feed(self) -> None:
        assert self.client is not None
        while True:
            try:
                # ccxt.pro returns the trades that arrived since the previous call
                for trade in await self.client.raw.watch_trades(self.config.symbol):
                    self.on_trade_message(trade.get("info") or {}, self._arrival("trades"))
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._error(f"trades stream: {type(err).__name__}; polling REST")
                with contextlib.suppress(OkxError):
                    answer = await self.client._call(
                        self.client.raw.publicGetMarketTrades({"instId": self.rules.inst_id, "limit": "100"})
                    )
                    since = self._last_trade_ms
                    for raw in reversed(answer.get("data") or []):  # oldest first
                        if _ms(raw) >= since:
                            self.on_trade_message(raw)
                await asyncio.sleep(self.config.run.poll_seconds)

    async def _orders_feed(self) -> None:
        assert self.client is not None and self.core is not None
        manager = self.core.manager

        def subscribed(arg: dict[str, Any]) -> None:
            # acknowledged: OKX pushes every change of the bot's orders from now on (the first push
            # may be minutes away; until then REST polling would be taken for the feed)
            if arg.get("channel") == "orders":
                self.ws_orders_up = True
                manager.confirm_placements = False

        self.client.raw.okx_subscribed_listeners.append(subscribed)
        self._unsubscribe = lambda: _discard(self.client.raw.okx_subscribed_listeners, subscribed)
        while True:
            try:
                orders = await self.client.raw.watch_orders()
                self.ws_orders_up = True
                manager.confirm_placements = False  # the channel reports every state change
                await self.core.apply_orders(o.get("info") or {} for o in orders)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                if self.ws_orders_up:
                    self._error(f"orders stream down ({type(err).__name__}); REST polling takes over")
                self.ws_orders_up = False
                manager.confirm_placements = True
                await asyncio.sleep(self.config.run.poll_seconds)

    def _set_balances(self, balances: Iterable[Balance], *, full: bool) -> None:
        """A balance report from OKX (REST or the account channel); older reports are ignored."""
        assert self.core is not None
        self.core.set_balances(balances, full=full)

    async def _account_feed(self) -> None:
        """The account channel: balance changes as OKX makes them, for the funds check."""
        assert self.client is not None
        raw = self.client.raw
        raw.okx_taps[("account", "")] = self._on_account_push
        while True:
            try:
                await raw.watch_balance()  # subscribes; with the tap it ends only with an error
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._error(f"account stream: {type(err).__name__}; balances from REST polling")
                await asyncio.sleep(self.config.run.poll_seconds)

    def _on_account_push(self, message: dict[str, Any], frame_ns: int) -> None:
        """One account push: each currency's balance with its uTime ("snapshot": every currency)."""
        assert self.core is not None
        self.core.on_account_push(message)

    async def _poll_loop(self) -> None:
        assert self.client is not None and self.core is not None
        manager = self.core.manager
        while True:
            # REST is the fallback: fast while the socket is down, a slow cross-check while it is up
            await asyncio.sleep(self.config.run.poll_seconds * (1 if not self.ws_orders_up else 5))
            try:
                await manager.poll()
                self._set_balances((await self.client.fetch_balance()).values(), full=True)
            except OkxError as err:
                if err.code == "50011":
                    manager.stats.rate_limited += 1
                self._error(f"poll: {err.message}")
                await self.key_swap.on_error(err)
            await self.core.check_halt()

    async def _swap_loop(self, swaps: SwapManager) -> None:
        """Positions, mark, funding and the bot's algo orders, every poll period (REST)."""
        while True:
            await asyncio.sleep(self.config.run.poll_seconds)
            try:
                await swaps.refresh()
                await swaps.algos.reconcile()
            except OkxError as err:
                self._error(f"swap poll: {err.message}")
                await self.key_swap.on_error(err)

    async def _timer_loop(self, period: float) -> None:
        """on_timer on the clock's multiples of `period` (okxbot.trading.clock.next_multiple_ms)."""
        assert self.core is not None
        clock = self.core.clock
        period_ms = max(1, round(period * 1000))
        due = self.next_timer_ms = self.first_timer_ms = next_multiple_ms(clock.now_ms(), period_ms)
        while True:
            await asyncio.sleep(max(0, due - clock.now_ms()) / 1000)
            if clock.now_ms() < due:
                continue  # woke a little early (the loop's clock is not the exchange's): not due yet
            self.core.on_timer()
            due = self.next_timer_ms = next_multiple_ms(max(due, clock.now_ms()), period_ms)

    async def _candle_loop(self, bar: str) -> None:
        assert self.client is not None and self.core is not None
        while True:
            try:
                answer = await self.client._call(
                    self.client.raw.publicGetMarketCandles(
                        {"instId": self.rules.inst_id, "bar": bar, "limit": str(HISTORY_CANDLES)}
                    )
                )
                rows = list(reversed(answer.get("data") or []))  # oldest first
                self.core.on_candles(
                    [
                        Candle(
                            int(r[0]), dec0(r[1]), dec0(r[2]), dec0(r[3]), dec0(r[4]), dec0(r[5]), r[8] == "1"
                        )
                        for r in rows
                    ]
                )
            except OkxError as err:
                self._error(f"candles: {err.message}")
            await asyncio.sleep(self.config.run.poll_seconds)

    def _arrival(self, channel: str) -> int:
        assert self.client is not None
        return self.client.raw.okx_wire.arrival(channel, self.rules.inst_id)

    def _error(self, message: str) -> None:
        if self.core is not None:
            self.core.error(message)
        else:
            log.warning(message)


def _ms(raw: dict[str, Any]) -> int:
    try:
        return int(raw.get("ts") or 0)
    except (TypeError, ValueError):
        return 0


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _discard(listeners: list[Any], listener: Any) -> None:
    with contextlib.suppress(ValueError):
        listeners.remove(listener)
