"""`OkxExchange`: ccxt's okx (REST + WebSocket) with okxbot's clock, limiter, caches and retries.

It overrides the narrowest hooks: `nonce`/`seconds` (sign with OKX's clock), `sign` (adds
`expTime` to order requests), `fetch2` (limiter, coalescing of identical GETs, 50102 resync,
50011/50061 backoff where retrying is safe; order POSTs signed here and written on the order lane,
`okxbot.okx.order_lane`, instead of ccxt's fetch), `fetch_markets` (disk cache), the WebSocket trading
ops (limiter) and `handle_order_book_message`: ccxt 4.5.90 no longer verifies the order-book
checksum, so every snapshot/update of an incremental book channel is checked against OKX's
`checksum` (option `okxChecksum`, default on); a mismatch drops the book, raises ccxt's
`ChecksumError` to the watcher, and the next `watch_order_book` resubscribes for a fresh snapshot.
It still raises ccxt's exceptions, so code written for ccxt keeps working on it.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol
from urllib.parse import urlsplit

import ccxt.pro as ccxtpro
from ccxt.base.errors import BaseError as CcxtError
from ccxt.base.errors import (
    ChecksumError,
    InvalidNonce,
    RateLimitExceeded,
)

from okxbot.okx.book_checksum import StringBook
from okxbot.okx.cache import Coalescer, MarketsCache
from okxbot.okx.clock import Clock
from okxbot.okx.errors import explain
from okxbot.okx.lane_requests import LaneRequests
from okxbot.okx.limits import WS_BUDGETED_OPS, WS_SUBSCRIBE_LOGIN
from okxbot.okx.order_lane import OrderLane
from okxbot.okx.ratelimit import AccountLimiter
from okxbot.okx.wire import WireProbe
from okxbot.okx.ws_budget import ConnectionBudget

# POSTs that may be sent again after OKX refused them for rate: 50011 / 50061 are answered before
# anything is executed, so the request is known not to have been; cancelling is idempotent anyway.
# Amends are left to their caller (an amend wave is re-decided, not replayed), and transfers or
# withdrawals are never sent twice by a retry loop.
_RETRY_SAFE_POSTS = frozenset(
    {
        "trade/order",
        "trade/batch-orders",
        "trade/cancel-order",
        "trade/cancel-batch-orders",
        "trade/mass-cancel",
        "trade/cancel-all-after",
    }
)
_EXP_TIME_POSTS = frozenset(
    {"trade/order", "trade/batch-orders", "trade/amend-order", "trade/amend-batch-orders"}
)
# WebSocket ops that honour a top-level expTime, and the REST twin their expTimes are noted under
_EXP_TIME_WS_OPS = {
    "order": "trade/order",
    "batch-orders": "trade/batch-orders",
    "amend-order": "trade/amend-order",
    "batch-amend-orders": "trade/amend-batch-orders",
}
_RATE_LIMIT_CODES = ("50011", "50061", "50040")


class Limiter(Protocol):
    """What the client needs from the rate limiter (okxbot.okx.ratelimit)."""

    async def acquire(self, method: str, path: str, params: Any) -> Any:
        """Wait until a request to `path` with `params` fits every bucket it consumes.

        May return a grant with `async complete()`, called once the answer is in: the request is
        then counted from its answer, which is never earlier than OKX counted its arrival.
        """
        ...


class OkxExchange(LaneRequests, ccxtpro.okx):
    """ccxt's okx (REST + WebSocket) with okxbot's clock, limiter, caches and retries."""

    def __init__(
        self,
        config: dict[str, Any],
        *,
        clock: Clock | None = None,
        limiter: Limiter | None = None,
        exp_time_ms: int | None = None,
        markets_cache: MarketsCache | None = None,
        max_rate_retries: int = 3,
        order_lane: bool = True,
    ) -> None:
        super().__init__(config)
        self.okx_clock = clock
        self.okx_limiter = limiter
        self.okx_exp_time_ms = exp_time_ms
        self.okx_markets_cache = markets_cache
        self.okx_max_rate_retries = max_rate_retries
        self.okx_coalescer = Coalescer()
        self.okx_uid_lock = asyncio.Lock()
        # expTime of the last signed request per clOrdId: after a lost answer, the moment from which
        # that request can no longer be executed
        self.okx_exp_times: OrderedDict[str, int] = OrderedDict()
        # messageHash -> (ccxt's book object, the same book in OKX's strings); a new ccxt book object
        # means a new snapshot, so the string book starts over
        self.okx_string_books: dict[str, tuple[Any, StringBook]] = {}
        self.okx_checksums_verified = 0  # books messages whose checksum was checked (incl. mismatches)
        # Taps: (channel, instId or "") -> fn(message, frame_ns), called as the message is handled.
        # A tapped `tickers` or `account` message skips ccxt's unified parsing (its watch_ticker /
        # watch_balance then end only with an error, which is when to resubscribe): a bot reads OKX's
        # own fields, and for a ticker that parsing was the largest part of the way in (~0.1 ms of
        # bench_latency's "frame -> parsed"); for an account push it also loses each currency's uTime.
        self.okx_taps: dict[tuple[str, str], Callable[[dict[str, Any], int], None]] = {}
        self.okx_wire = WireProbe()  # socket timestamps: frames in, order requests out (okx.wire)
        # called with the `arg` of every subscribe acknowledgement ({"channel": "orders", ...}): from
        # then on OKX pushes every change of the channel (a bot's orders feed is up before any push)
        self.okx_subscribed_listeners: list[Callable[[dict[str, Any]], None]] = []
        # order requests written straight to the socket (okx.order_lane); None: not opened yet
        self.okx_lane_wanted = order_lane
        self.okx_lane: OrderLane | None = None
        self.okx_lane_static: tuple[Any, Any, dict[str, str]] | None = None

    # ---- clock -------------------------------------------------------------------------------
    def nonce(self) -> int:
        return self.okx_clock.now_ms() if self.okx_clock is not None else int(time.time() * 1000)

    def seconds(self) -> int:  # WebSocket login timestamps
        return self.nonce() // 1000

    def sign(self, path, api=None, method="GET", params=None, headers=None, body=None):
        api = api if api is not None else ["public"]
        params = params if params is not None else {}
        request = super().sign(path, api, method, params)
        if api[0] == "private" and method == "POST":
            exp = self._okx_exp_time_header(path, params, self.nonce())
            if exp is not None:
                request["headers"] = dict(request.get("headers") or {}, expTime=exp)
        return request

    def _okx_exp_time_header(self, path: str, params: Any, now_ms: int) -> str | None:
        """The expTime header of an order request to `path` signed at `now_ms` (None: it carries
        none), noted for each order it names (`okx_exp_time`)."""
        if path not in _EXP_TIME_POSTS or self.okx_exp_time_ms is None:
            return None
        exp = now_ms + self.okx_exp_time_ms
        self._okx_note_exp_time(path, params, exp)
        return str(exp)

    def open(self, lazy=False):
        super().open(lazy)
        if self.tcp_connector is not None:
            self.okx_wire.watch_connector(self.tcp_connector)

    def _okx_note_exp_time(self, path: str, params: Any, exp: int) -> None:
        """Remember the expTime each order of a request was signed with (see `okx_exp_time`)."""
        for item in params if isinstance(params, list) else [params]:
            if isinstance(item, dict):
                ident = item.get("clOrdId") or item.get("ordId")
                if ident:
                    self.okx_exp_times[f"{path}|{ident}"] = exp
        while len(self.okx_exp_times) > 10_000:  # raw ccxt users never collect theirs
            self.okx_exp_times.popitem(last=False)

    def okx_exp_time(self, path: str, ident: str) -> int | None:
        """The expTime (OKX ms) of the last request to `path` (e.g. "trade/order"; a WebSocket op
        counts as its REST twin) naming the order `ident` (clOrdId, else ordId), and forgets it.

        After a lost answer it is the moment from which that request can no longer be executed;
        None when the request carried no expTime."""
        return self.okx_exp_times.pop(f"{path}|{ident}", None)

    # ---- every REST request ------------------------------------------------------------------
    async def fetch2(self, path, api=None, method="GET", params=None, config=None):
        api = api if api is not None else ["public"]
        params = params if params is not None else {}
        config = config if config is not None else {}
        if method == "GET":
            key = (path, tuple(api), json.dumps(params, sort_keys=True, default=str))
            return await self.okx_coalescer.run(
                key, lambda: self._okx_send(path, api, method, params, config)
            )
        return await self._okx_send(path, api, method, params, config)

    async def _okx_send(self, path: str, api: list[str], method: str, params: Any, config: dict) -> Any:
        private = api[0] == "private"
        if private and self.okx_clock is not None:
            await self.okx_clock.ensure_fresh()
        if private and path != "account/config":
            await self._okx_learn_uid()
        resynced = False
        rate_retries = 0
        while True:
            try:
                return await self._okx_attempt(path, api, method, params, config)
            except InvalidNonce:
                # 50102: OKX refused the timestamp before executing anything, so resend once
                if not private or resynced or self.okx_clock is None:
                    raise
                resynced = True
                await self.okx_clock.sync()
            except CcxtError as exc:
                if not _is_rate_limited(exc) or rate_retries >= self.okx_max_rate_retries:
                    raise
                if method != "GET" and path not in _RETRY_SAFE_POSTS:
                    raise
                rate_retries += 1
                # another program on the key is using the buckets: back off with jitter
                await asyncio.sleep(0.5 * 2 ** (rate_retries - 1) * (1 + random.random() / 2))

    async def _okx_attempt(self, path: str, api: list[str], method: str, params: Any, config: dict) -> Any:
        """One request through the limiter; its grant is completed as soon as the answer (or the
        failure) is in, before any backoff, so the next request is timed from the true answer."""
        grant = None
        if self.okx_limiter is not None:
            grant = await self.okx_limiter.acquire(method, "/api/v5/" + path, params)
        try:
            lane = self._okx_lane_for(path, api, method, params)
            if lane is not None:
                return await self._okx_lane_post(lane, path, params)  # read, never changed
            return await super().fetch2(path, api, method, _fresh(params), config)
        finally:
            if grant is not None and hasattr(grant, "complete"):
                await grant.complete()

    async def close(self, clean_instance_data=False):
        if self.okx_lane is not None:
            self.okx_lane.close()
            self.okx_lane = None
        return await super().close(clean_instance_data)

    def handle_errors(
        self, httpCode, reason, url, method, headers, body, response, requestHeaders, requestBody
    ):
        try:
            return super().handle_errors(
                httpCode, reason, url, method, headers, body, response, requestHeaders, requestBody
            )
        except CcxtError as exc:
            # ccxt's text has OKX's body but not the status; 5xx means "outcome unknown" to okxbot
            exc.okx_http_status = httpCode  # type: ignore[attr-defined]
            raise

    async def _okx_learn_uid(self) -> None:
        """Key the limiter's user-id buckets by the real uid (one account/config request, once)."""
        limiter = self.okx_limiter
        if not isinstance(limiter, AccountLimiter) or limiter.uid:
            return
        async with self.okx_uid_lock:
            if limiter.uid:
                return
            response = await self.fetch2("account/config", ["private"], "GET", {}, {})
            uid = str(((response or {}).get("data") or [{}])[0].get("uid") or "")
            limiter.uid = uid or None

    # ---- markets ------------------------------------------------------------------------------
    async def fetch_markets(self, params=None):
        cache = self.okx_markets_cache
        if cache is not None and (cached := cache.load()) is not None:
            return cached
        markets = await super().fetch_markets(params or {})
        if cache is not None:
            cache.save(markets)
        return markets

    async def fetch_currencies(self, params=None):
        # deposit/withdrawal metadata; a trading client does not need it (and it costs a request)
        return None

    # ---- WebSocket: same clock and limiter as REST ----------------------------------------------
    async def authenticate(self, params=None):
        if self.okx_clock is not None:
            await self.okx_clock.ensure_fresh()
        return await super().authenticate(params or {})

    async def create_order_ws(self, symbol, type, side, amount, price=None, params=None):
        async with self._okx_ws_limit("POST", "trade/order", symbol):
            return await super().create_order_ws(symbol, type, side, amount, price, params or {})

    async def edit_order_ws(self, id, symbol, type, side, amount=None, price=None, params=None):
        async with self._okx_ws_limit("POST", "trade/amend-order", symbol):
            return await super().edit_order_ws(id, symbol, type, side, amount, price, params or {})

    async def cancel_order_ws(self, id, symbol=None, params=None):
        async with self._okx_ws_limit("POST", "trade/cancel-order", symbol):
            return await super().cancel_order_ws(id, symbol, params or {})

    async def cancel_orders_ws(self, ids, symbol=None, params=None):
        async with self._okx_ws_limit("POST", "trade/cancel-batch-orders", symbol, count=len(ids)):
            return await super().cancel_orders_ws(ids, symbol, params or {})

    def client(self, url):
        """ccxt's WebSocket client for `url`, whose connection first waits on OKX's connect limit
        (3 per second per IP) in the same limiter as every request, and whose subscribe /
        unsubscribe / login messages wait on the connection's own budget (480 per hour)."""
        ws_client = super().client(url)
        if not getattr(ws_client, "okx_limited", False):
            connect = ws_client.create_connection
            send = ws_client.send
            path = urlsplit(url).path
            budget = ConnectionBudget(WS_SUBSCRIBE_LOGIN)

            async def limited_connection(session: Any) -> Any:
                if self.okx_limiter is not None:
                    await self.okx_limiter.acquire("GET", path, None)
                connection = await connect(session)
                budget.reset()  # OKX counts per connection: a new one starts empty
                self.okx_wire.watch_connection(ws_client, connection)
                return connection

            async def budgeted_send(message: Any) -> Any:
                if (
                    self.okx_limiter is not None
                    and isinstance(message, dict)
                    and message.get("op") in WS_BUDGETED_OPS
                ):
                    await budget.take()
                return await send(self._okx_with_exp_time(message))

            ws_client.create_connection = limited_connection
            ws_client.send = budgeted_send
            ws_client.okx_budget = budget
            ws_client.okx_limited = True
            self.okx_wire.watch_client(ws_client)
        return ws_client

    def handle_message(self, client, message):
        self.okx_wire.note_message(message)
        return super().handle_message(client, message)

    def handle_subscription_status(self, client, message):
        arg = message.get("arg") if isinstance(message, dict) else None
        if isinstance(arg, dict):
            for listener in list(self.okx_subscribed_listeners):
                listener(arg)
        return super().handle_subscription_status(client, message)

    def handle_ticker(self, client, message):
        tap = self._okx_tap(message)
        if tap is None:
            return super().handle_ticker(client, message)
        tap(message, self.okx_wire.frame_ns)

    def handle_balance(self, client, message):
        tap = self._okx_tap(message)
        if tap is None:
            return super().handle_balance(client, message)
        tap(message, self.okx_wire.frame_ns)

    def _okx_tap(self, message: Any) -> Callable[[dict[str, Any], int], None] | None:
        if not self.okx_taps or not isinstance(message, dict):
            return None
        arg = message.get("arg")
        if not isinstance(arg, dict):
            return None
        return self.okx_taps.get((str(arg.get("channel")), str(arg.get("instId") or "")))

    def _okx_with_exp_time(self, message: Any) -> Any:
        """A WebSocket place / amend op gets a top-level expTime, like its REST twin's header, so
        that OKX drops it rather than executes it late (ccxt sends none)."""
        if (
            self.okx_exp_time_ms is None
            or not isinstance(message, dict)
            or message.get("op") not in _EXP_TIME_WS_OPS
            or "expTime" in message
        ):
            return message
        exp = self.nonce() + self.okx_exp_time_ms
        self._okx_note_exp_time(_EXP_TIME_WS_OPS[message["op"]], message.get("args"), exp)
        return {**message, "expTime": str(exp)}

    # ---- WebSocket: order-book checksum (what ccxt lacks) -----------------------------------------
    def handle_order_book_message(self, client, message, orderbook, messageHash, market=None):
        result = super().handle_order_book_message(client, message, orderbook, messageHash, market)
        expected = message.get("checksum") if isinstance(message, dict) else None
        if expected is None or not self.safe_bool(self.options, "okxChecksum", True):
            return result
        if messageHash not in client.subscriptions:  # ccxt found a seqId gap and dropped the book
            self.okx_string_books.pop(messageHash, None)
            return result
        entry = self.okx_string_books.get(messageHash)
        if entry is None or entry[0] is not orderbook:
            entry = (orderbook, StringBook())
            self.okx_string_books[messageHash] = entry
        strings = entry[1]
        strings.apply(message.get("bids") or [], message.get("asks") or [])
        actual = strings.checksum()
        self.okx_checksums_verified += 1
        if actual != int(expected):
            self._okx_drop_book(client, messageHash, orderbook, expected, actual)
        return result

    def _okx_drop_book(
        self, client: Any, message_hash: str, orderbook: Any, expected: Any, actual: int
    ) -> None:
        """Same recovery path as ccxt's seqId gap: reject the watcher, forget the book, and mark the
        channel 'resync' so the next watch_order_book unsubscribes and subscribes for a new snapshot."""
        self.okx_string_books.pop(message_hash, None)
        symbol = orderbook.get("symbol") if hasattr(orderbook, "get") else None
        if symbol is not None:
            self.orderbooks.pop(symbol, None)
        client.subscriptions.pop(message_hash, None)
        error = ChecksumError(
            f"{self.id} watchOrderBook checksum mismatch on {message_hash} (OKX sent {expected}, the "
            f"merged book gives {actual}): the book was dropped; call watch_order_book again to resync"
        )
        client.reject(error, message_hash)
        # ccxt's update loop marks the channel 'resync' itself when the subscription is gone, its
        # snapshot loop does not; marking it here covers both (an update sees it and stops resolving
        # because the rejected future is gone and the book was removed).
        client.subscriptions[message_hash] = "resync"

    @asynccontextmanager
    async def _okx_ws_limit(
        self, method: str, path: str, symbol: str | None, count: int = 1
    ) -> AsyncIterator[None]:
        """A WebSocket order op waits on the same buckets as its REST twin (OKX shares them) and,
        like a REST request, is counted from its answer once that is in."""
        if self.okx_limiter is None:
            yield
            return
        if self.markets is None:
            await self.load_markets()
        inst_id = self.market(symbol)["id"] if symbol else None
        body: Any = [{"instId": inst_id}] * count if "batch" in path else {"instId": inst_id}
        grant = await self.okx_limiter.acquire(method, "/api/v5/" + path, body)
        try:
            yield
        finally:
            if grant is not None and hasattr(grant, "complete"):
                await grant.complete()


def _fresh(params: Any) -> Any:
    # ccxt's sign() injects clOrdId/tag into the params it is given; a resend must sign a copy
    if isinstance(params, list):
        return [dict(p) if isinstance(p, dict) else p for p in params]
    return dict(params) if isinstance(params, dict) else params


def _is_rate_limited(exc: Exception) -> bool:
    if isinstance(exc, RateLimitExceeded):
        return True
    err = explain(exc)
    return err.code in _RATE_LIMIT_CODES
