"""Measurements taken from outside a running bot, for /metrics and the dashboard.

`okxbot serve` owns the clients and runners it starts, so it observes them by wrapping a few of their
methods on the instance (nothing in okx/ or trading/ changes, and `okxbot run` pays nothing):
    instrument_client: answers 50011 / 50061 (each one OKX sent, retries included), the limiter's
        wait before each request, WebSocket (re)connections;
    instrument_runner: journal write latency, tick-to-order latency, orders placed / rejected by code.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

from okxbot.okx.errors import OkxError, explain

if TYPE_CHECKING:
    from okxbot.okx.client import OkxClient
    from okxbot.trading.runner import Runner

RATE_CODES = ("50011", "50061")
TICK_WINDOW_NS = 2_000_000_000  # an order sent later than this after the last tick answers no tick


class Observer(Protocol):
    def rate_limited(self, key: str, code: str) -> None: ...
    def limiter_wait(self, key: str, seconds: float) -> None: ...
    def ws_connect(self, key: str, reconnect: bool) -> None: ...
    def journal_write(self, op: str, seconds: float) -> None: ...
    def tick_to_order(self, bot: str, seconds: float) -> None: ...
    def order_placed(self, bot: str) -> None: ...
    def order_rejected(self, bot: str, code: str) -> None: ...


def instrument_client(client: OkxClient, observer: Observer, key: str) -> None:
    raw: Any = client.raw
    attempt = raw._okx_attempt

    async def counted_attempt(path: str, api: Any, method: str, params: Any, config: Any) -> Any:
        try:
            return await attempt(path, api, method, params, config)
        except Exception as exc:
            code = explain(exc).code or ""
            if code in RATE_CODES:
                observer.rate_limited(key, code)
            raise

    raw._okx_attempt = counted_attempt

    limiter: Any = raw.okx_limiter
    if limiter is not None:
        acquire = limiter.acquire

        async def timed_acquire(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await acquire(*args, **kwargs)
            finally:
                observer.limiter_wait(key, time.perf_counter() - started)

        limiter.acquire = timed_acquire

    ws_client_for = raw.client
    connects: dict[str, int] = {}

    def counted_client(url: str) -> Any:
        ws = ws_client_for(url)
        if not getattr(ws, "okxbot_counted", False):
            connect = ws.create_connection

            async def counted_connection(session: Any) -> Any:
                connects[url] = connects.get(url, 0) + 1
                observer.ws_connect(key, connects[url] > 1)
                return await connect(session)

            ws.create_connection = counted_connection
            ws.okxbot_counted = True
        return ws

    raw.client = counted_client


def instrument_runner(runner: Runner, observer: Observer) -> None:
    """After `runner.start()`: its journal's writes, its orders and their tick-to-order time."""
    journal: Any = runner.journal
    manager: Any = runner.manager
    bot = runner.config.name
    if journal is not None:
        for op in ("record_intent", "transition", "add_fill"):
            method = getattr(journal, op)

            def timed(*args: Any, _method: Any = method, _op: str = op, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return _method(*args, **kwargs)
                finally:
                    observer.journal_write(_op, time.perf_counter() - started)

            setattr(journal, op, timed)
    if manager is None:
        return
    previous_on_send = manager.on_send

    def on_send() -> None:
        tick_ns = getattr(runner, "tick_ns", 0)
        now = time.perf_counter_ns()
        if tick_ns and now - tick_ns < TICK_WINDOW_NS:
            observer.tick_to_order(bot, (now - tick_ns) / 1e9)
        if previous_on_send is not None:
            previous_on_send()

    manager.on_send = on_send
    client: Any = manager.client
    place = client.place

    async def counted_place(*args: Any, **kwargs: Any) -> Any:
        try:
            order = await place(*args, **kwargs)
        except OkxError as err:
            if not err.outcome_unknown:
                observer.order_rejected(bot, err.code or ("local" if err.local else "unknown"))
            raise
        observer.order_placed(bot)
        return order

    client.place = counted_place
