"""`OkxClient`: the okxbot API over one OKX key, on top of `OkxExchange` (ccxt, extended).

Decimal in and out, dataclasses, `OkxError`s with hints, and orders that are never placed twice.
`client.raw` is the ccxt instance for anything else (it raises ccxt's exceptions).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from ccxt.base.errors import BadSymbol

from okxbot.okx.batch import batch_answer
from okxbot.okx.cache import DEFAULT_MARKETS_TTL_S, ClockCache, MarketsCache, default_cache_dir
from okxbot.okx.clock import Clock, ClockSync
from okxbot.okx.errors import (
    OkxBadRequest,
    OkxError,
    OkxInvalidOrder,
    answers_are_checked,
    explain,
    from_code,
)
from okxbot.okx.exchange import Limiter, OkxExchange
from okxbot.okx.models import (
    AccountConfig,
    Balance,
    Book,
    Fill,
    Order,
    Ticker,
)
from okxbot.okx.order_entry import (
    AmendRequest,
    OrderEntry,
    OrderIntent,
    OrderRef,
    PlaceResult,
)
from okxbot.okx.ratelimit import AccountLimiter, MemoryRateLimiter, RateLimiter, limiter_from_url
from okxbot.okx.validate import InstrumentRules, check_order, order_basics, plain
from okxbot.okx.wire import WireProbe
from okxbot.vault.secret import Credentials

if TYPE_CHECKING:
    from okxbot.okx.algos import Algos
    from okxbot.okx.derivatives import Derivatives

T = TypeVar("T")
log = logging.getLogger(__name__)

LIVE_REST = "https://www.okx.com"
# OKX's WebSocket hosts per REST host: (live, demo), as ccxt.pro's okx / myokx / okxus use them
_WS_HOSTS = {
    "www.okx.com": ("wss://ws.okx.com:8443/ws/v5", "wss://wspap.okx.com:8443/ws/v5"),
    "okx.com": ("wss://ws.okx.com:8443/ws/v5", "wss://wspap.okx.com:8443/ws/v5"),
    "aws.okx.com": ("wss://wsaws.okx.com:8443/ws/v5", "wss://wspap.okx.com:8443/ws/v5"),
    "eea.okx.com": ("wss://wseea.okx.com:443/ws/v5", "wss://wseeapap.okx.com:443/ws/v5"),
    "my.okx.com": ("wss://wseea.okx.com:443/ws/v5", "wss://wseeapap.okx.com:443/ws/v5"),
    "us.okx.com": ("wss://wsus.okx.com:443/ws/v5", "wss://wsuspap.okx.com:443/ws/v5"),
    "app.okx.com": ("wss://wsus.okx.com:443/ws/v5", "wss://wsuspap.okx.com:443/ws/v5"),
}


_PROCESS_LIMITER: RateLimiter | None = None


def process_limiter() -> RateLimiter:
    """The in-memory limiter every client of this process shares by default.

    IP-keyed buckets (public data, public/time) are per machine, so clients of one process must
    count together; processes sharing a key or an IP share a Redis limiter (`rate_limit_url`).
    """
    global _PROCESS_LIMITER
    if _PROCESS_LIMITER is None:
        _PROCESS_LIMITER = MemoryRateLimiter()
    return _PROCESS_LIMITER


@dataclass(frozen=True)
class ClientConfig:
    """How the client talks to OKX. `rest_url` is the real host or a simulator's address."""

    rest_url: str = LIVE_REST
    ws_url: str | None = None  # derived from rest_url when None
    demo: bool = False
    timeout_ms: int = 10_000
    exp_time_ms: int | None = 5_000  # orders not received within this are discarded by OKX
    clock_samples: int = 5
    clock_resync_s: float = 600.0
    clock_cache_s: float = 60.0  # a measurement is reused by processes started within this
    market_types: tuple[str, ...] = ("spot", "swap")
    markets_ttl_s: float = DEFAULT_MARKETS_TTL_S
    cache_dir: Path | None = None  # None: default_cache_dir(); use disk_cache=False to disable
    disk_cache: bool = True
    max_rate_retries: int = 3
    rate_limit: bool = True  # False only to play "another program" in tests
    rate_limit_url: str | None = None  # None / memory:// for one process, redis://... to share a key
    max_place_attempts: int = 3
    # How long OKX's GET endpoints may lag behind an execution (OKX documents no bound): a lookup
    # that finds nothing proves "never placed" only this long after the request's expTime (plus the
    # clock error). Larger is safer and only delays the resolution of unknown outcomes.
    read_lag_ms: int = 2_000
    # order requests written straight to kept-alive connections (okx.order_lane) instead of through
    # ccxt's generic path; False sends them through ccxt and aiohttp like every other request
    order_lane: bool = True

    def __post_init__(self) -> None:
        parts = urlsplit(self.rest_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"rest_url {self.rest_url!r} is not an http(s) URL: use https://www.okx.com or a "
                "simulator address such as http://127.0.0.1:8080"
            )
        for name in ("timeout_ms", "clock_samples", "max_place_attempts"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1 (got {getattr(self, name)})")
        if self.read_lag_ms < 0:
            raise ValueError(f"read_lag_ms must be >= 0 (got {self.read_lag_ms})")
        if self.exp_time_ms is not None and self.exp_time_ms < 500:
            raise ValueError(
                f"exp_time_ms must be >= 500 or None to send no expTime (got {self.exp_time_ms})"
            )

    def derived_ws_url(self) -> str:
        if self.ws_url:
            return self.ws_url.rstrip("/")
        parts = urlsplit(self.rest_url)
        if parts.hostname in _WS_HOSTS:
            live, demo = _WS_HOSTS[parts.hostname]
            return demo if self.demo else live
        scheme = "wss" if parts.scheme == "https" else "ws"
        return f"{scheme}://{parts.netloc}/ws/v5"


@answers_are_checked
class OkxClient(OrderEntry):
    """The okxbot API over one OKX key (or none, for market data).

    Use as `async with OkxClient(config, credentials) as client:`; every method raises `OkxError`.
    """

    def __init__(
        self,
        config: ClientConfig | None = None,
        credentials: Credentials | None = None,
        *,
        limiter: RateLimiter | Limiter | None = None,
    ) -> None:
        """`limiter`: a RateLimiter shared with other clients of this process (or a Redis one shared
        with other processes), or None to build one from `config.rate_limit_url`."""
        self.config = config or ClientConfig()
        self.credentials = credentials
        self._owned_limiter: RateLimiter | None = None
        if limiter is None and self.config.rate_limit:
            if self.config.rate_limit_url is None:
                limiter = process_limiter()
            else:
                limiter = self._owned_limiter = limiter_from_url(self.config.rate_limit_url)
        # uid-keyed buckets are shared by all requests until account_config() tells the uid
        self.limiter: Limiter | None = limiter.bind(uid=None) if isinstance(limiter, RateLimiter) else limiter
        cache_dir = (self.config.cache_dir or default_cache_dir()) if self.config.disk_cache else None
        cache_key = "|".join(
            [self.config.rest_url, str(self.config.demo), ",".join(self.config.market_types)]
        )
        self.markets_cache = MarketsCache(cache_dir, cache_key, self.config.markets_ttl_s)
        self.clock = Clock(
            self._server_time,
            samples=self.config.clock_samples,
            resync_s=self.config.clock_resync_s,
            store=ClockCache(cache_dir, self.config.rest_url, self.config.clock_cache_s),
        )
        self.raw = self._build_exchange()
        self._markets_loaded_at: float | None = None
        self._streams: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._stream_ok: dict[tuple[str, str], bool] = {}

    @functools.cached_property
    def derivatives(self) -> Derivatives:
        """Perpetual swaps: contracts, leverage, positions, funding, swap orders (okx.derivatives)."""
        from okxbot.okx.derivatives import Derivatives

        return Derivatives(self)

    @functools.cached_property
    def algos(self) -> Algos:
        """Algo orders on the exchange: TP/SL, trailing stops, their lists and cancels (okx.algos)."""
        from okxbot.okx.algos import Algos

        return Algos(self)

    def _build_exchange(self) -> OkxExchange:
        cfg = self.config
        options: dict[str, Any] = {
            "enableRateLimit": False,  # okxbot's limiter applies OKX's real buckets instead
            "timeout": cfg.timeout_ms,
            "options": {"fetchMarkets": {"types": list(cfg.market_types)}},
        }
        if self.credentials is not None:
            api_key, secret, passphrase = self.credentials.values()
            options.update(apiKey=api_key, secret=secret, password=passphrase)
        exchange = OkxExchange(
            options,
            clock=self.clock,
            limiter=self.limiter,
            exp_time_ms=cfg.exp_time_ms,
            markets_cache=self.markets_cache,
            max_rate_retries=cfg.max_rate_retries,
            order_lane=cfg.order_lane,
        )
        rest = cfg.rest_url.rstrip("/")
        ws = cfg.derived_ws_url()
        if cfg.demo:
            exchange.set_sandbox_mode(True)  # x-simulated-trading: 1
        # sandbox mode copies urls['test'] over urls['api']: point both at the chosen host
        for which in ("api", "test"):
            exchange.urls[which] = dict(exchange.urls.get(which) or {}, rest=rest, ws=ws)
        return exchange

    async def __aenter__(self) -> OkxClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        for task in self._streams.values():
            task.cancel()
        await asyncio.gather(*self._streams.values(), return_exceptions=True)
        self._streams.clear()
        await self.raw.close()
        if self._owned_limiter is not None:
            await self._owned_limiter.close()

    @property
    def wire(self) -> WireProbe:
        """Socket timestamps (frames in, order requests out) for tick-to-order latency."""
        return self.raw.okx_wire

    # ---- clock --------------------------------------------------------------------------------
    async def _server_time(self) -> int:
        response = await self.raw.publicGetPublicTime()
        return int(response["data"][0]["ts"])

    async def sync_clock(self) -> ClockSync:
        """Measure OKX's clock offset now (also done before the first private request)."""
        return await self._call(self.clock.sync())

    # ---- markets --------------------------------------------------------------------------------
    async def load_markets(self, reload: bool = False) -> dict[str, Any]:
        """ccxt markets (memory, then disk cache, then OKX); reloaded after the TTL."""
        stale = (
            self._markets_loaded_at is None
            or time.monotonic() - self._markets_loaded_at > self.config.markets_ttl_s
        )
        if reload:
            self.markets_cache.clear()
        markets = await self._call(self.raw.load_markets(reload=reload or (stale and bool(self.raw.markets))))
        if reload or stale:
            self._markets_loaded_at = time.monotonic()
        return markets

    async def rules(self, symbol: str) -> InstrumentRules:
        """The trading rules (tick, lot, minimum) of `symbol` in ccxt form (BTC/USDT)."""
        return InstrumentRules.from_market(await self._market(symbol))

    async def _market(self, symbol: str) -> dict[str, Any]:
        await self.load_markets()
        if not isinstance(symbol, str) or symbol not in self.raw.markets:
            raise _unknown_symbol(symbol, self.raw.symbols or [])
        return self.raw.markets[symbol]

    async def _inst_id(self, symbol: str) -> str:
        return str((await self._market(symbol))["id"])

    async def _order_ref(
        self, symbol: str, order_id: str | None, client_order_id: str | None
    ) -> dict[str, str]:
        """instId plus ordId (preferred) or clOrdId: how OKX names one order in a request."""
        if not order_id and not client_order_id:
            raise from_code("51003", "neither order id nor client order id given", local=True)
        ref = {"instId": await self._inst_id(symbol)}
        if order_id:
            ref["ordId"] = str(order_id)
        else:
            ref["clOrdId"] = str(client_order_id)
        return ref

    def _symbol_of(self, inst_id: str) -> str:
        market = (self.raw.markets_by_id or {}).get(inst_id)
        if market:
            first = market[0] if isinstance(market, list) else market
            return str(first["symbol"])
        return inst_id.replace("-", "/", 1)

    # ---- account ------------------------------------------------------------------------------
    async def fetch_balance(self) -> dict[str, Balance]:
        """Trading-account balances per currency (currencies with nothing are omitted by OKX)."""
        response = await self._call(self.raw.privateGetAccountBalance())
        details = (response.get("data") or [{}])[0].get("details") or []
        return {b.ccy: b for b in (Balance.from_okx(d) for d in details)}

    async def account_config(self) -> AccountConfig:
        """The key's account: uid, permissions, IP binding, account mode (GET account/config)."""
        response = await self._call(self.raw.privateGetAccountConfig())
        config = AccountConfig.from_okx((response.get("data") or [{}])[0])
        if isinstance(self.limiter, AccountLimiter) and config.uid:
            self.limiter.uid = config.uid
        return config

    # ---- market data ----------------------------------------------------------------------------
    async def fetch_ticker(self, symbol: str) -> Ticker:
        """The ticker, from a live WebSocket subscription when `stream_ticker` started one."""
        inst_id = await self._inst_id(symbol)
        if self._stream_alive("ticker", symbol):
            cached = (self.raw.tickers or {}).get(symbol)
            if cached and cached.get("info"):
                return Ticker.from_okx(cached["info"], symbol, source="ws")
        response = await self._call(self.raw.publicGetMarketTicker({"instId": inst_id}))
        data = response.get("data") or []
        if not data:
            raise from_code("52000", f"no ticker for {symbol}")
        return Ticker.from_okx(data[0], symbol)

    async def fetch_order_book(self, symbol: str, depth: int = 5) -> Book:
        """Top `depth` levels per side, from a live WebSocket subscription when there is one."""
        if not 1 <= depth <= 400:
            raise OkxBadRequest(
                None, f"depth {depth}", "Book depth must be 1..400.", "BadRequest", local=True
            )
        inst_id = await self._inst_id(symbol)
        if self._stream_alive("book", symbol):
            book = (self.raw.orderbooks or {}).get(symbol)
            if book is not None and (book["bids"] or book["asks"]):
                return Book.from_ccxt(book, symbol, depth)
        response = await self._call(self.raw.publicGetMarketBooks({"instId": inst_id, "sz": str(depth)}))
        data = response.get("data") or []
        if not data:
            raise from_code("52000", f"no order book for {symbol}")
        return Book.from_okx(data[0], symbol, depth)

    async def stream_ticker(self, symbol: str) -> None:
        """Keep `symbol`'s ticker fresh over WebSocket; fetch_ticker then serves it locally."""
        await self._stream("ticker", symbol, lambda: self.raw.watch_ticker(symbol))

    async def stream_order_book(self, symbol: str) -> None:
        await self._stream("book", symbol, lambda: self.raw.watch_order_book(symbol))

    async def _stream(self, kind: str, symbol: str, watch: Callable[[], Awaitable[Any]]) -> None:
        await self._inst_id(symbol)
        key = (kind, symbol)
        if key in self._streams and not self._streams[key].done():
            return
        await self._call(watch())  # fail here, in the caller, if the subscription fails
        self._stream_ok[key] = True

        async def keep_watching() -> None:
            delay = 0.5
            while True:
                try:
                    await watch()
                    self._stream_ok[key], delay = True, 0.5
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # until the subscription is back, readers fall back to REST
                    self._stream_ok[key] = False
                    log.warning(
                        "%s stream for %s interrupted (%s); resubscribing", kind, symbol, explain(exc).message
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)

        self._streams[key] = asyncio.ensure_future(keep_watching())

    def _stream_alive(self, kind: str, symbol: str) -> bool:
        task = self._streams.get((kind, symbol))
        return task is not None and not task.done() and self._stream_ok.get((kind, symbol), False)

    # ---- orders -----------------------------------------------------------------------------------
    async def prepare_order(
        self,
        symbol: str,
        side: str,
        amount: Decimal | str,
        price: Decimal | str | None = None,
        *,
        post_only: bool = False,
        ioc: bool = False,
        fok: bool = False,
        client_order_id: str | None = None,
        check_funds: bool = True,
    ) -> OrderIntent:
        """Validate an order against the instrument's rules and the balance, and give it a clOrdId.

        Nothing is sent to the order endpoints; the caller can journal the intent, then `place` it.
        """
        basics = order_basics(
            side, amount, price, post_only=post_only, ioc=ioc, fok=fok, client_order_id=client_order_id
        )
        cid, qty, px, order_type = basics.client_order_id, basics.amount, basics.price, basics.order_type
        rules = await self.rules(symbol)
        available = None
        reference = None
        if check_funds:
            available = {ccy: b.available for ccy, b in (await self.fetch_balance()).items()}
            if px is None and side == "buy":
                reference = (await self.fetch_ticker(symbol)).ask
        check_order(rules, side, qty, px, available=available, reference_price=reference)
        return OrderIntent(symbol, rules.inst_id, side, qty, px, order_type, cid)

    async def create_order(
        self,
        symbol: str,
        side: str,
        amount: Decimal | str,
        price: Decimal | str | None = None,
        *,
        post_only: bool = False,
        ioc: bool = False,
        fok: bool = False,
        client_order_id: str | None = None,
        check_funds: bool = True,
        confirm: bool = True,
    ) -> Order:
        """Validate, then place an order exactly once (see `place` for `confirm`)."""
        intent = await self.prepare_order(
            symbol,
            side,
            amount,
            price,
            post_only=post_only,
            ioc=ioc,
            fok=fok,
            client_order_id=client_order_id,
            check_funds=check_funds,
        )
        return await self.place(intent, confirm=confirm)

    async def _with_available(self, err: OkxError, intent: OrderIntent) -> OkxError:
        """OKX's 51008 names the currency; add how much of it is available, so the user can act."""
        ccy = intent.symbol.split("/")[1] if intent.side == "buy" else intent.symbol.split("/")[0]
        if ":" in intent.symbol:  # a swap: the margin is in its settle currency, whichever the side
            ccy = intent.symbol.split(":")[1]
        try:
            balance = (await self.fetch_balance()).get(ccy)
        except OkxError:
            return err
        available = plain(balance.available) if balance is not None else "0"
        assert err.code is not None
        return from_code(err.code, err.message, ccy=ccy, available=available)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        """Open orders (live, partially filled), all instruments (spot and swaps) or one."""
        params: dict[str, str] = {}
        if symbol is not None:
            params["instId"] = await self._inst_id(symbol)
        else:
            await self.load_markets()
        orders: list[Order] = []
        while True:
            response = await self._call(self.raw.privateGetTradeOrdersPending(dict(params)))
            page = response.get("data") or []
            orders += [Order.from_okx(o, self._symbol_of(str(o.get("instId", "")))) for o in page]
            if len(page) < 100:
                return orders
            params["after"] = str(page[-1]["ordId"])

    async def fetch_fills(
        self, symbol: str | None = None, limit: int = 100, *, order_id: str | None = None
    ) -> list[Fill]:
        """Recent fills (last 3 days), newest first; only those of one order with `order_id`."""
        if not 1 <= limit <= 100:
            raise OkxBadRequest(None, f"limit {limit}", "limit must be 1..100.", "BadRequest", local=True)
        params: dict[str, str] = {"limit": str(limit)}
        if symbol is not None:
            params["instId"] = await self._inst_id(symbol)
        else:
            await self.load_markets()
        if order_id:
            params["ordId"] = str(order_id)
        response = await self._call(self.raw.privateGetTradeFills(params))
        return [
            Fill.from_okx(f, self._symbol_of(str(f.get("instId", "")))) for f in response.get("data") or []
        ]

    # ---- errors -----------------------------------------------------------------------------------
    async def _call(self, awaitable: Awaitable[T], *, partial_ok: bool = False) -> T:
        """Await a ccxt call and turn any failure into an OkxError."""
        try:
            return await awaitable
        except OkxError:
            raise
        except BadSymbol as exc:
            raise _unknown_symbol(str(exc), self.raw.symbols or []) from None
        except Exception as exc:
            if partial_ok:
                recovered = batch_answer(exc)
                if recovered is not None:
                    return recovered  # type: ignore[return-value]
            raise explain(exc) from None


def _unknown_symbol(symbol: object, known: list[str]) -> OkxInvalidOrder:
    text = str(symbol)
    close = [s for s in known if text and s.split("/")[0] == text.split("/")[0].upper()][:5]
    hint = "Use the ccxt form BASE/QUOTE, e.g. BTC/USDT."
    if close:
        hint += f" Did you mean {', '.join(close)}?"
    err = from_code("51001", f"unknown symbol {text!r}", local=True)
    return OkxInvalidOrder(err.code, err.message, hint, err.ccxt_class, local=True)


# the order-entry types are part of the client's API (`from okxbot.okx.client import OrderIntent`)
__all__ = [
    "AmendRequest",
    "ClientConfig",
    "OkxClient",
    "OrderIntent",
    "OrderRef",
    "PlaceResult",
    "process_limiter",
]
