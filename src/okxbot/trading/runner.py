"""Runs one bot: posture check -> reconciliation -> trading, with a live status view; stops cleanly.

Strategy hooks run one at a time on a single dispatcher task (no re-entrancy for strategy authors);
market data and order updates are queued to it. The exchange-side dead-man switch (cancel-all-after)
is refreshed while the bot is healthy, so a frozen or killed bot's orders are canceled by OKX.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from okxbot.okx.client import ClientConfig, OkxClient
from okxbot.okx.errors import OkxError
from okxbot.okx.models import Balance, Book, Ticker, dec0
from okxbot.okx.posture import guard
from okxbot.trading.client_source import ClientSource, OwnClient
from okxbot.trading.config import BotConfig, check_instrument
from okxbot.trading.journal import Journal, JournalFill, JournalOrder, default_url
from okxbot.trading.key_swap import KeySwap
from okxbot.trading.latency import Tick
from okxbot.trading.orders import AmendSpec, OrderManager, OrderSpec
from okxbot.trading.risk import RiskGuard
from okxbot.trading.strategy import Candle, Strategy, Trade, strategy_class

if TYPE_CHECKING:
    from rich.console import Console

    from okxbot.cli.target import Target

log = logging.getLogger("okxbot.trading.runner")
NO_TICK = Tick(0, 0)


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


class _Ctx:
    """The strategy's Context over the runner's order manager."""

    def __init__(self, runner: Runner) -> None:
        self._r = runner
        self.symbol = runner.config.symbol

    @property
    def rules(self) -> Any:
        return self._r.rules

    def mid(self) -> Decimal | None:
        return self._m.mid

    @property
    def _m(self) -> OrderManager:
        assert self._r.manager is not None
        return self._r.manager

    def balances(self) -> dict[str, Balance]:
        # base and quote net of what the bot's own open and in-flight orders hold
        return {**self._r.balances, **self._m.funds.balances()}

    def position(self) -> Decimal:
        return self._m.position()

    def open_orders(self) -> list[JournalOrder]:
        return self._m.open_orders()

    async def place(
        self, side: str, amount: Decimal, price: Decimal | None = None, *, post_only: bool = False
    ) -> JournalOrder | None:
        if self._r.stopping:
            return None
        return await self._m.place(side, amount, price, post_only=post_only)

    async def place_many(self, orders: Sequence[OrderSpec]) -> list[JournalOrder | None]:
        if self._r.stopping:
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
        log.info(message, extra={"strategy": self._r.config.strategy, **fields})


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
        self.manager: OrderManager | None = None
        self.strategy: Strategy | None = None
        self.rules: Any = None
        self.balances: dict[str, Balance] = {}
        self.stopping = False
        self.ws_orders_up = False
        self.dead_man_armed = False
        self.reconciliation: dict[str, int] = {}
        # the latest market-data messages (frame arrival, parsed): what a hook's first order answers
        self._ticker_tick = self._book_tick = NO_TICK
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._ticker_pending = False
        self._latest_ticker: Ticker | None = None
        self._book_pending = False
        self._latest_book: Book | None = None
        self._trade_ids: OrderedDict[str, None] = OrderedDict()  # recent tradeIds, delivered once
        self._last_trade_ms = int(time.time() * 1000)  # the REST fallback delivers only newer trades
        self._tasks: list[asyncio.Task[Any]] = []
        self.key_swap = KeySwap(self)  # moves onto a rotated key between requests; halts on a revoked one

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
        self.manager = OrderManager(
            self.client,
            self.journal,
            RiskGuard(self.config.risk, self.config.symbol),
            self.rules,
            cancel_foreign=self.config.run.cancel_foreign,
        )
        self.manager.listeners.append(self._on_manager_event)
        ticker = await self.client.fetch_ticker(self.config.symbol)
        self._set_mid(ticker)
        self._set_balances((await self.client.fetch_balance()).values(), full=True)
        self.reconciliation = await self.manager.reconcile()
        log.info("reconciled", extra=self.reconciliation)
        if self.config.run.dead_man:
            await self._arm_dead_man()
        cls = strategy_class(self.config.strategy, self.config_path.parent)
        self.strategy = cls(_Ctx(self), self.config)
        await self._queue.put(("start", None))
        loop_tasks = [
            self._dispatch(),
            self._ticker_feed(),
            self._orders_feed(),
            self._account_feed(),
            self._poll_loop(),
        ]
        # books and trades cost a subscription each: only for strategies that use them
        if _overrides(self.strategy, "on_book"):
            loop_tasks.append(self._book_feed())
        if _overrides(self.strategy, "on_trade"):
            loop_tasks.append(self._trades_feed())
        if self.config.run.dead_man:
            loop_tasks.append(self._dead_man_loop())
        if self.strategy.timer_seconds:
            loop_tasks.append(self._timer_loop(self.strategy.timer_seconds))
        if self.strategy.candle_bar:
            loop_tasks.append(self._candle_loop(self.strategy.candle_bar))
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
        self.stopping = True
        m, client = self.manager, self.client
        assert m is not None and client is not None and self.strategy is not None
        await self._queue.join()
        with contextlib.suppress(Exception):
            await self._call_hook("stop", None)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        left = len(m.open_orders())
        if self.config.run.cancel_on_stop:
            left = await m.cancel_all_own()
        # what is still in doubt (an unknown placement, fills not read yet) is settled before exiting
        await m.settle((client.horizon_ms() - client.okx_now_ms()) / 1000 + 5)
        with contextlib.suppress(OkxError):
            await m.poll()
        # with cancel_on_stop off the user wants the orders to stay: the switch must not cancel them
        if self.dead_man_armed and (left == 0 or not self.config.run.cancel_on_stop):
            await self._disarm_dead_man()
        reconciled = await self.check_reconciled()
        pnl = m.pnl()
        summary = Summary(
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
        )
        log.info("stopped", extra={k: str(v) for k, v in summary.__dict__.items()})
        return summary

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.manager is not None:
            await self.manager.close()
        if self.client is not None:
            await self.clients.release_client(self.client, self.config.name)
        if self.journal is not None:
            self.journal.close()

    async def check_reconciled(self) -> bool:
        """The journal's open orders are exactly the exchange's open orders of this bot, and every
        recent exchange fill of the bot's orders is in the journal."""
        m, client = self.manager, self.client
        assert m is not None and client is not None and self.journal is not None
        try:
            exchange_open = await client.fetch_open_orders(self.config.symbol)
            exchange_fills = await client.fetch_fills(self.config.symbol)
        except OkxError:
            return False
        ours = {o.client_order_id for o in self.journal.orders()}
        open_ex = {o.client_order_id for o in exchange_open if o.client_order_id in ours}
        open_j = {o.client_order_id for o in self.journal.open_orders()}
        fills_ex = {f.trade_id for f in exchange_fills if f.client_order_id in ours}
        fills_j = {f.trade_id for f in self.journal.fills()}
        return open_ex == open_j and fills_ex <= fills_j

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
    def _set_mid(self, ticker: Ticker) -> None:
        assert self.manager is not None
        if ticker.bid is not None and ticker.ask is not None:
            self.manager.mid = (ticker.bid + ticker.ask) / 2
        elif ticker.last is not None:
            self.manager.mid = ticker.last

    def on_ticker_message(self, raw: dict[str, Any], frame_ns: int = 0) -> None:
        """One market-data message (a tickers push): update the mid, queue on_ticker (coalesced).
        `frame_ns`: when its frame reached the socket (okx.wire; 0 for REST, then it is not timed)."""
        self._ticker_tick = Tick(frame_ns, time.perf_counter_ns())
        ticker = Ticker.from_okx(raw, self.config.symbol, "ws")
        self._set_mid(ticker)
        self._latest_ticker = ticker
        if not self._ticker_pending:
            self._ticker_pending = True
            self._queue.put_nowait(("ticker", None))

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
        self._book_tick = Tick(frame_ns, time.perf_counter_ns())
        self._latest_book = book
        if not self._book_pending:
            self._book_pending = True
            self._queue.put_nowait(("book", None))

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
        trade_id = str(raw.get("tradeId") or "")
        if not trade_id or trade_id in self._trade_ids:
            return
        tick = Tick(frame_ns, time.perf_counter_ns())
        self._trade_ids[trade_id] = None
        if len(self._trade_ids) > 1000:
            self._trade_ids.popitem(last=False)
        trade = Trade(trade_id, dec0(raw.get("px")), dec0(raw.get("sz")), str(raw.get("side", "")), _ms(raw))
        self._last_trade_ms = max(self._last_trade_ms, trade.ts)
        self._queue.put_nowait(("trade", (trade, tick)))

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
        assert self.client is not None and self.manager is not None
        while True:
            try:
                orders = await self.client.raw.watch_orders()
                self.ws_orders_up = True
                self.manager.confirm_placements = False  # the channel reports every state change
                for o in orders:
                    info = o.get("info") or {}
                    await self.manager.apply_order(info)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                if self.ws_orders_up:
                    self._error(f"orders stream down ({type(err).__name__}); REST polling takes over")
                self.ws_orders_up = False
                self.manager.confirm_placements = True
                await asyncio.sleep(self.config.run.poll_seconds)

    def _set_balances(self, balances: Iterable[Balance], *, full: bool) -> None:
        """A balance report from OKX (REST or the account channel); older reports are ignored."""
        assert self.manager is not None
        balances = list(balances)
        self.manager.funds.snapshot(balances, full=full)
        fresh = {b.ccy: b for b in balances}
        if full:
            self.balances = fresh
        else:
            self.balances = {**self.balances, **fresh}

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
        for data in message.get("data") or []:
            details = data.get("details") if isinstance(data, dict) else None
            self._set_balances(
                [Balance.from_okx(d) for d in details or [] if isinstance(d, dict)],
                full=message.get("eventType") == "snapshot",
            )

    async def _poll_loop(self) -> None:
        assert self.client is not None and self.manager is not None
        halted_before = False
        while True:
            # REST is the fallback: fast while the socket is down, a slow cross-check while it is up
            await asyncio.sleep(self.config.run.poll_seconds * (1 if not self.ws_orders_up else 5))
            try:
                await self.manager.poll()
                self._set_balances((await self.client.fetch_balance()).values(), full=True)
            except OkxError as err:
                if err.code == "50011":
                    self.manager.stats.rate_limited += 1
                self._error(f"poll: {err.message}")
                await self.key_swap.on_error(err)
            halted = self.manager.check_halt()
            if halted and not halted_before:
                self._error(f"halted: {self.manager.risk.halted}; canceling open orders")
                await self.manager.cancel_all_own()
            halted_before = halted

    async def _timer_loop(self, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            await self._queue.put(("timer", None))

    async def _candle_loop(self, bar: str) -> None:
        assert self.client is not None
        while True:
            try:
                answer = await self.client._call(
                    self.client.raw.publicGetMarketCandles(
                        {"instId": self.rules.inst_id, "bar": bar, "limit": "100"}
                    )
                )
                rows = list(reversed(answer.get("data") or []))  # oldest first
                history = [
                    Candle(int(r[0]), dec0(r[1]), dec0(r[2]), dec0(r[3]), dec0(r[4]), dec0(r[5]), r[8] == "1")
                    for r in rows
                ]
                if history:
                    await self._queue.put(("candle", history))
            except OkxError as err:
                self._error(f"candles: {err.message}")
            await asyncio.sleep(self.config.run.poll_seconds)

    # ---- dispatch ----------------------------------------------------------------------------------
    async def _on_manager_event(self, kind: str, payload: Any) -> None:
        self._queue.put_nowait((kind, payload))

    async def _dispatch(self) -> None:
        while True:
            kind, payload = await self._queue.get()
            try:
                if not self.stopping:
                    await self._call_hook(kind, payload)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.exception("strategy hook %s failed", kind)
                self._error(f"strategy {kind}: {type(err).__name__}: {err}")
            finally:
                self._queue.task_done()

    async def _call_hook(self, kind: str, payload: Any) -> None:
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

    @contextlib.contextmanager
    def _answering(self, tick: Tick) -> Iterator[None]:
        """While a market-data hook runs, its first order is timed from `tick` (trading.latency)."""
        assert self.manager is not None
        self.manager.cause = tick if tick.frame_ns else None
        try:
            yield
        finally:
            self.manager.cause = None

    def _arrival(self, channel: str) -> int:
        assert self.client is not None
        return self.client.raw.okx_wire.arrival(channel, self.rules.inst_id)

    def _error(self, message: str) -> None:
        log.warning(message)
        if self.manager is not None:
            self.manager.stats.error(message)


def _overrides(strategy: Strategy, hook: str) -> bool:
    return getattr(type(strategy), hook) is not getattr(Strategy, hook)


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
