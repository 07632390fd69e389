"""One OkxClient per key, shared by every bot on that key in this process (a `ClientSource`).

Bots on one key then share the key's rate limiter (one view of its buckets, so they never overrun
them together) and its WebSocket connections: one public connection for their tickers, one private
connection for their orders channel (OKX allows 30 connections per channel and sub-account, and 480
subscriptions per connection per hour: twenty bots with their own connections would spend both).

Each bot sees the shared client through a `BotClient`, which differs from the client in four ways:
- the orders channel is fanned out: one subscription per key, and each push goes to the bot that
  journaled the order (an order no bot journaled, a foreign one, goes to every bot on the key, each
  of which flags it). ccxt's `watch_orders` cannot be awaited by several readers: a reader busy
  when a push arrives would miss it;
- the messages a runner reads as they are handled (`OkxExchange.okx_taps`: tickers, the account
  channel's balances) go to every bot that tapped them: each bot's funds check needs every balance
  change of the account, and each bot on a symbol every ticker. The shared exchange has one tap per
  channel, so a bot's tap set directly there would replace the previous bot's;
- the other watches bots share (public trades, tickers, balances, order books) are read once by the
  key and handed to every reader: ccxt gives all readers of a channel one future, so one bot
  stopping (cancelling its wait) would otherwise cancel every other bot's wait on that channel;
- the dead-man switch (cancel-all-after) is per account, not per bot: a bot disarming it while
  another bot on the key still has it armed re-arms it for the other bot instead of switching it off;
- the reads of every bot's REST cross-check (the key's open orders, recent fills, balances) are
  shared: one request answers every bot asking while it is in flight or within `SHARED_READ_S` of
  its answer. Twenty bots on one key would otherwise each read the key's whole open-order list; an
  answer at most that old is no staler than OKX's own read lag, which the order manager survives
  (it keeps an order's furthest state, and balances by their uTime).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from okxbot.okx.client import ClientConfig, OkxClient
from okxbot.okx.errors import OkxError
from okxbot.okx.ratelimit import RateLimiter
from okxbot.serve.instrument import Observer, instrument_client
from okxbot.vault.secret import Credentials

log = logging.getLogger("okxbot.serve.shared_clients")

SHARED_READ_S = 1.0  # how old a shared cross-check answer may be when another bot asks for it

OwnerOf = Callable[[str], str | None]  # clOrdId -> the bot that journaled it, or None (foreign)
Tap = Callable[[dict[str, Any], int], None]  # OkxExchange.okx_taps: fn(message, frame_ns)
TapKey = tuple[str, str]  # (channel, instId or "")
RETRY_S = 1.0  # after a failed upstream watch, before subscribing again


def key_id(config: ClientConfig, credentials: Credentials) -> str:
    """A stable, non-secret name for (host, environment, API key)."""
    raw = f"{config.rest_url}|{config.demo}|{credentials.api_key.reveal()}".encode()
    return hashlib.sha256(raw).hexdigest()[:16]


class _Fanout:
    """One upstream `watch_*` loop; each reader gets its own queue of results (or the error).

    `route(result)` says what each reader gets of one result (nothing: no entry, or an empty list);
    by default every reader gets it as is. Readers wait on their own queue, so cancelling one never
    touches the upstream wait (ccxt's future, which all readers of a channel would share)."""

    def __init__(
        self, watch: Callable[[], Any], route: Callable[[Any], dict[str, Any]] | None = None
    ) -> None:
        self._watch = watch
        self._route = route or (lambda result: dict.fromkeys(self.queues, result))
        self.queues: dict[str, asyncio.Queue[Any]] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, reader: str) -> None:
        self.queues.setdefault(reader, asyncio.Queue())

    def remove(self, reader: str) -> None:
        self.queues.pop(reader, None)

    async def next(self, reader: str) -> Any:
        queue = self.queues.setdefault(reader, asyncio.Queue())
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        item = await queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    async def _run(self) -> None:
        while self.queues:
            try:
                batch = await self._watch()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                for queue in self.queues.values():
                    if queue.empty():  # a reader still busy with the last error needs no second one
                        queue.put_nowait(err)
                await asyncio.sleep(RETRY_S)  # a reconnect backoff, not a synchronisation
                continue
            for reader, items in self._route(batch).items():
                queue = self.queues.get(reader)
                if queue is not None and items is not None and items != []:
                    queue.put_nowait(items)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


class KeyClient:
    """The shared client of one key and what its bots share through it."""

    def __init__(self, kid: str, client: OkxClient, owner_of: OwnerOf) -> None:
        self.kid = kid
        self.client = client
        self.bots: set[str] = set()
        self._owner_of = owner_of
        self._owners: OrderedDict[str, str] = OrderedDict()  # clOrdId -> bot (recent, bounded)
        self.orders = _Fanout(client.raw.watch_orders, lambda batch: self._route_orders(list(batch)))
        self._watches: dict[tuple[Any, ...], _Fanout] = {}  # (watch method, *args) -> its readers
        self._taps: dict[TapKey, dict[str, Tap]] = {}  # (channel, instId) -> bot -> its tap
        self._armed: dict[str, str] = {}  # bot -> its dead-man timeOut (seconds, as sent)
        self._dead_man_lock = asyncio.Lock()
        self._reads: dict[tuple[Any, ...], tuple[asyncio.Future[Any], float]] = {}  # shared reads

    async def shared_read(self, method: str, *args: Any) -> Any:
        """`self.client.<method>(*args)`, one request for every bot asking while it is in flight or
        within SHARED_READ_S of its answer (the module docstring says why that is safe)."""
        key = (method, *args)
        now = time.monotonic()
        held = self._reads.get(key)
        if held is not None:
            future, answered = held
            if not future.done() or now - answered <= SHARED_READ_S:
                return _copy(await asyncio.shield(future))
        future = asyncio.ensure_future(getattr(self.client, method)(*args))
        self._reads[key] = (future, float("inf"))

        def answered(done: asyncio.Future[Any]) -> None:
            if self._reads.get(key, (None, 0.0))[0] is done:
                if done.cancelled() or done.exception() is not None:
                    self._reads.pop(key, None)  # a failed read is not shared with later askers
                else:
                    self._reads[key] = (done, time.monotonic())

        future.add_done_callback(answered)
        return _copy(await asyncio.shield(future))

    def owner(self, cid: str) -> str | None:
        if not cid:
            return None
        if cid in self._owners:
            return self._owners[cid]
        bot = self._owner_of(cid)
        if bot is not None:
            self._owners[cid] = bot
            if len(self._owners) > 10_000:
                self._owners.popitem(last=False)
        return bot

    def _route_orders(self, orders: list[Any]) -> dict[str, list[Any]]:
        routed: dict[str, list[Any]] = {bot: [] for bot in self.orders.queues}
        for order in orders:
            info = order.get("info") if isinstance(order, dict) else None
            cid = str((info or {}).get("clOrdId") or "")
            bot = self.owner(cid)
            if bot is None:  # foreign: every bot on the key flags it
                for items in routed.values():
                    items.append(order)
            elif bot in routed:
                routed[bot].append(order)
        return routed

    def watch(self, method: str, *args: Any) -> _Fanout:
        """The shared reading of `raw.<method>(*args)` (every reader gets every result)."""
        key = (method, *args)
        fanout = self._watches.get(key)
        if fanout is None:
            fanout = self._watches[key] = _Fanout(lambda: getattr(self.client.raw, method)(*args))
        return fanout

    # ---- taps: every bot that tapped a channel gets each of its messages ----------------------
    def tap(self, bot: str, key: TapKey) -> Tap | None:
        return self._taps.get(key, {}).get(bot)

    def taps_of(self, bot: str) -> list[TapKey]:
        return [key for key, bots in self._taps.items() if bot in bots]

    def set_tap(self, bot: str, key: TapKey, tap: Tap) -> None:
        bots = self._taps.setdefault(key, {})
        bots[bot] = tap
        if len(bots) == 1 or key not in self.client.raw.okx_taps:
            self.client.raw.okx_taps[key] = self._fan_tap(key)

    def remove_tap(self, bot: str, key: TapKey) -> None:
        bots = self._taps.get(key, {})
        bots.pop(bot, None)
        if not bots:  # nobody reads it any more: ccxt's own handling of the channel comes back
            self._taps.pop(key, None)
            self.client.raw.okx_taps.pop(key, None)

    def _fan_tap(self, key: TapKey) -> Tap:
        def fan(message: dict[str, Any], frame_ns: int) -> None:
            for bot, tap in list(self._taps.get(key, {}).items()):
                try:
                    tap(message, frame_ns)
                except Exception:  # one bot's failure is its own: the others still get the message
                    log.exception("bot %s failed to read a %s message", bot, key[0])

        return fan

    def remove_bot(self, bot: str) -> None:
        self.bots.discard(bot)
        self.orders.remove(bot)
        for fanout in self._watches.values():
            fanout.remove(bot)
        for key in self.taps_of(bot):
            self.remove_tap(bot, key)

    async def dead_man(self, bot: str, params: dict[str, Any]) -> Any:
        """cancel-all-after for the account, on behalf of `bot`: the longest timeout any armed bot
        asked for, "0" (off) only when no bot on the key has it armed any more."""
        async with self._dead_man_lock:
            timeout = str(params.get("timeOut", "0"))
            if timeout == "0":
                self._armed.pop(bot, None)
            else:
                self._armed[bot] = timeout
            effective = max(self._armed.values(), key=int) if self._armed else "0"
            return await self.client.raw.privatePostTradeCancelAllAfter(dict(params, timeOut=effective))

    async def close(self) -> None:
        await self.orders.close()
        for fanout in self._watches.values():
            await fanout.close()
        await self.client.close()


class _BotExchange:
    """The ccxt exchange as one bot sees it (see the module docstring); the rest is the shared one."""

    def __init__(self, key: KeyClient, bot: str) -> None:
        self._key = key
        self._bot = bot

    def __getattr__(self, name: str) -> Any:
        return getattr(self._key.client.raw, name)

    async def watch_orders(self, symbol: str | None = None, *args: Any, **kwargs: Any) -> list[Any]:
        orders = await self._key.orders.next(self._bot)
        if symbol is None:
            return orders
        return [o for o in orders if o.get("symbol") == symbol]

    async def watch_trades(self, symbol: str, *args: Any, **kwargs: Any) -> list[Any]:
        return await self._key.watch("watch_trades", symbol).next(self._bot)  # type: ignore[no-any-return]

    async def watch_ticker(self, symbol: str, *args: Any, **kwargs: Any) -> Any:
        return await self._key.watch("watch_ticker", symbol).next(self._bot)

    async def watch_balance(self, *args: Any, **kwargs: Any) -> Any:
        return await self._key.watch("watch_balance").next(self._bot)

    async def watch_order_book(self, symbol: str, limit: int | None = None, *args: Any, **kwargs: Any) -> Any:
        return await self._key.watch("watch_order_book", symbol, limit).next(self._bot)

    @property
    def okx_taps(self) -> _BotTaps:
        return _BotTaps(self._key, self._bot)

    def privatePostTradeCancelAllAfter(self, params: dict[str, Any]) -> Any:
        return self._key.dead_man(self._bot, params)


class _BotTaps(MutableMapping[TapKey, Tap]):
    """`okx_taps` as one bot sees it: its own taps, each fed every message of its channel."""

    def __init__(self, key: KeyClient, bot: str) -> None:
        self._key = key
        self._bot = bot

    def __getitem__(self, key: TapKey) -> Tap:
        tap = self._key.tap(self._bot, key)
        if tap is None:
            raise KeyError(key)
        return tap

    def __setitem__(self, key: TapKey, tap: Tap) -> None:
        self._key.set_tap(self._bot, key, tap)

    def __delitem__(self, key: TapKey) -> None:
        if self._key.tap(self._bot, key) is None:
            raise KeyError(key)
        self._key.remove_tap(self._bot, key)

    def __iter__(self) -> Iterator[TapKey]:
        return iter(self._key.taps_of(self._bot))

    def __len__(self) -> int:
        return len(self._key.taps_of(self._bot))


def _copy(answer: Any) -> Any:
    """Each bot gets its own list / dict of the shared answer (the items themselves are frozen)."""
    return list(answer) if isinstance(answer, list) else dict(answer) if isinstance(answer, dict) else answer


class BotClient:
    """One bot's handle on its key's shared OkxClient (quacks like OkxClient)."""

    def __init__(self, key: KeyClient, bot: str) -> None:
        self._key = key
        self.bot = bot
        self.raw = _BotExchange(key, bot)

    # the REST cross-check's reads, shared by the key's bots (KeyClient.shared_read)
    async def fetch_open_orders(self, symbol: str | None = None) -> Any:
        if symbol is not None:  # one symbol's: the stop's reconciliation check, which must be fresh
            return await self._key.client.fetch_open_orders(symbol)
        return await self._key.shared_read("fetch_open_orders")

    async def fetch_fills(
        self, symbol: str | None = None, limit: int = 100, *, order_id: str | None = None
    ) -> Any:
        if order_id is not None:  # one order's fills: a lookup of this bot's own, not a cross-check
            return await self._key.client.fetch_fills(symbol, limit, order_id=order_id)
        return await self._key.shared_read("fetch_fills", symbol, limit)

    async def fetch_balance(self) -> Any:
        return await self._key.shared_read("fetch_balance")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._key.client, name)

    @property
    def shared(self) -> OkxClient:
        return self._key.client


class SharedClients:
    """A `ClientSource` (okxbot.trading.client_source) handing out one shared client per key."""

    def __init__(
        self,
        *,
        limiter: RateLimiter | None = None,
        owner_of: OwnerOf | None = None,
        observer: Observer | None = None,
        label_of: Callable[[ClientConfig], str] | None = None,
    ) -> None:
        self.limiter = limiter
        self.owner_of: OwnerOf = owner_of or (lambda cid: None)
        self.observer = observer
        self.label_of = label_of
        self.keys: dict[str, KeyClient] = {}
        self._lock = asyncio.Lock()

    async def open_client(self, config: ClientConfig, credentials: Credentials, bot: str) -> OkxClient:
        kid = key_id(config, credentials)
        async with self._lock:
            key = self.keys.get(kid)
            if key is None:
                client = OkxClient(config, credentials, limiter=self.limiter)
                if self.observer is not None:
                    instrument_client(client, self.observer, kid)
                key = self.keys[kid] = KeyClient(kid, client, lambda cid: self.owner_of(cid))
            key.bots.add(bot)
            key.orders.add(bot)
        return BotClient(key, bot)  # type: ignore[return-value]

    async def release_client(self, client: OkxClient, bot: str) -> None:
        kid = getattr(client, "_key", None)
        key = kid if isinstance(kid, KeyClient) else None
        if key is None:
            with contextlib.suppress(OkxError):
                await client.close()
            return
        async with self._lock:
            key.remove_bot(bot)
            if not key.bots:
                self.keys.pop(key.kid, None)
                await key.close()

    async def close(self) -> None:
        async with self._lock:
            for key in list(self.keys.values()):
                await key.close()
            self.keys.clear()

    def sharing(self) -> dict[str, list[str]]:
        """key id -> the bots sharing its client (for the status page)."""
        return {kid: sorted(k.bots) for kid, k in self.keys.items()}
