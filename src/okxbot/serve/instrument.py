"""Measurements taken from outside a running bot, for /metrics and the dashboard.

`okxbot serve` owns the clients and runners it starts, so it observes them from outside:
    instrument_client: answers 50011 / 50061 as OKX sent them (every request, retries included, and
        each order of a batch answer), the limiter's wait before each request, WebSocket
        (re)connections; it wraps a few methods of the client's instance (`okxbot run` pays nothing);
    instrument_runner: journal write latency (wrapped), and, from the order manager's own records,
        every order request's outcome (`OrderManager.answer_listeners`: placements, cancels and
        amendments, single or in batches, per order) and each tick-to-order sample
        (`manager.latency`, the same samples as `okxbot run`'s status view).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

from okxbot.okx.batch import batch_answer
from okxbot.okx.errors import explain

if TYPE_CHECKING:
    from okxbot.okx.client import OkxClient
    from okxbot.trading.latency import LatencySample
    from okxbot.trading.runner import Runner

RATE_CODES = ("50011", "50061")


class Observer(Protocol):
    def rate_limited(self, key: str, code: str) -> None: ...
    def limiter_wait(self, key: str, seconds: float) -> None: ...
    def ws_connect(self, key: str, reconnect: bool) -> None: ...
    def journal_write(self, op: str, seconds: float) -> None: ...
    def tick_to_order(self, bot: str, sample: LatencySample) -> None: ...
    def order_answer(self, bot: str, op: str, code: str) -> None:
        """op: place / cancel / amend; code: "0" accepted, else OKX's code (or the manager's label)."""
        ...


def rate_codes(answer: Any) -> list[str]:
    """The 50011 / 50061 codes in one answer: its own, or each order's of a batch answer."""
    data = answer.get("data") if isinstance(answer, dict) else None
    codes = [str(answer.get("code") or "")] if isinstance(answer, dict) else []
    if isinstance(data, list):
        codes = [str(item.get("sCode") or "") for item in data if isinstance(item, dict)] or codes
    return [code for code in codes if code in RATE_CODES]


def instrument_client(client: OkxClient, observer: Observer, key: str) -> None:
    raw: Any = client.raw
    attempt = raw._okx_attempt

    async def counted_attempt(path: str, api: Any, method: str, params: Any, config: Any) -> Any:
        try:
            answer = await attempt(path, api, method, params, config)
        except Exception as exc:
            batch = batch_answer(exc)
            codes = rate_codes(batch) if batch is not None else [explain(exc).code or ""]
            for code in codes:
                if code in RATE_CODES:
                    observer.rate_limited(key, code)
            raise
        if method == "POST":  # a batch answered "2": some of its orders were refused
            for code in rate_codes(answer):
                observer.rate_limited(key, code)
        return answer

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
    """After `runner.start()`: its journal's writes, its order requests' outcomes, its latency."""
    journal: Any = runner.journal
    manager: Any = runner.manager
    bot = runner.config.name
    if journal is not None:
        for op in ("record_intent", "record_intents", "transition", "add_fill"):
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
    manager.answer_listeners.append(lambda op, code: observer.order_answer(bot, op, code))
    manager.latency.listeners.append(lambda sample: observer.tick_to_order(bot, sample))
