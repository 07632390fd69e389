"""The simulator's WebSocket API: `/ws/v5/public`, `/ws/v5/private`, `/ws/v5/business` (reference §5).

One `WsHub` per running simulator owns every connection (`Session`) and every subscription. It listens
to the engine's events and pushes them: trades and orders as they happen, balances aggregated per
10 ms tick, books / books5 / tickers every 100 ms when they changed, bbo-tbt every 10 ms, candles every
second. All of it runs on the simulator's event-loop thread, like the engine, so REST and WebSocket
see the same state at every moment.

Each session has its own outbound queue and writer task: the engine's listener must not await, and a
slow (or admin-stalled) client must not hold up the others. Demo is chosen the way OKX's demo URLs do
it in the clients: `?brokerId=9999` on the URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from okxbot.sim import ws_algo, ws_derivs
from okxbot.sim.auth import ApiKey, WsAuthError
from okxbot.sim.context import CTX, SimContext
from okxbot.sim.engine import BalanceEvent, BookEvent, Event, OrderEvent, TradeEvent
from okxbot.sim.events import AlgoEvent, LiquidationEvent, PositionEvent
from okxbot.sim.limits import monotonic_ms
from okxbot.sim.ws_books import BookStream, top_levels
from okxbot.sim.ws_channels import CANDLES, PRIVATE, ArgError, Sub, check_arg
from okxbot.sim.ws_ops import OPS, run_op

log = logging.getLogger("okxbot.sim.ws")

TICK_MS = 10
BOOK_INTERVAL_MS = 100
PRICE_INTERVAL_MS = 200  # mark-price, price-limit
CANDLE_INTERVAL_MS = 1000
IDLE_CLOSE_MS = 30_000
CONNECTIONS_PER_SECOND = 3
SUBSCRIBE_LOGIN_PER_HOUR = 480
CONNECTIONS_PER_CHANNEL = 30  # private channels, per account
CHANNELS_ON_CHANGE = frozenset({"books5", "bbo-tbt", "tickers"})  # pushed whole when their content changes
_ID = re.compile(r"[A-Za-z0-9]{1,32}")


def _dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


@dataclass
class WsConfig:
    """Knobs the admin API may turn (tests shorten the idle close instead of waiting 30 s)."""

    idle_ms: int = IDLE_CLOSE_MS
    connections_per_second: int = CONNECTIONS_PER_SECOND
    requests_per_hour: int = SUBSCRIBE_LOGIN_PER_HOUR
    # Public pushes (trades, tickers, books, candles) wait for `WsHub.flush_public` (admin ws-flush):
    # a session recorded in lockstep lets the bot answer its own order updates before it sees the
    # market data of the same step, so that the order of events is the one a backtest replays.
    hold_public: bool = False


@dataclass(eq=False)
class Session:
    """One client connection."""

    ws: web.WebSocketResponse
    endpoint: str  # "public" | "private" | "business"
    demo: bool
    ip: str
    conn_id: str = field(default_factory=lambda: secrets.token_hex(4))
    transport: asyncio.BaseTransport | None = None  # kept to cut the connection without a close frame
    key: ApiKey | None = None
    subs: dict[tuple[str, str, str, str], Sub] = field(default_factory=dict)
    last_in_ms: int = field(default_factory=monotonic_ms)
    last_out_ms: int = field(default_factory=monotonic_ms)
    stalled_until_ms: int = 0
    requests: deque[int] = field(default_factory=deque)  # subscribe / unsubscribe / login times
    _out: deque[str] = field(default_factory=deque)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    writer: asyncio.Task[None] | None = None

    @property
    def path(self) -> str:
        return f"/ws/v5/{self.endpoint}"

    @property
    def backlog(self) -> int:
        """Messages queued and not yet written (a slow client's lag)."""
        return len(self._out)

    def send(self, text: str) -> None:
        self._out.append(text)
        self._wake.set()

    def send_json(self, body: dict[str, Any]) -> None:
        self.send(_dumps(body))

    def event(self, body: dict[str, Any], req_id: str = "") -> None:
        """An `event` message, with the request's id echoed first as OKX does."""
        message = {"id": req_id, **body} if req_id else dict(body)
        message["connId"] = self.conn_id
        self.send_json(message)

    def error(self, code: str, msg: str, req_id: str = "") -> None:
        self.event({"event": "error", "code": code, "msg": msg}, req_id)

    async def write_loop(self) -> None:
        while not self.ws.closed:
            await self._wake.wait()
            self._wake.clear()
            stall = self.stalled_until_ms - monotonic_ms()
            if stall > 0:
                await asyncio.sleep(stall / 1000)
                self._wake.set()
                continue
            while self._out and not self.ws.closed:
                try:
                    await self.ws.send_str(self._out.popleft())
                except ConnectionError:
                    return
                self.last_out_ms = monotonic_ms()


class WsHub:
    """Every WebSocket session of one simulator and the channel state they share."""

    def __init__(self, ctx: SimContext) -> None:
        self.ctx = ctx
        self.config = WsConfig()
        self.sessions: set[Session] = set()
        # (channel, instId) -> sessions, for the public and business channels.
        self.public: dict[tuple[str, str], set[Session]] = defaultdict(set)
        self.private: dict[str, set[Session]] = defaultdict(set)  # uid -> logged-in sessions
        self.streams: dict[str, BookStream] = {}
        self._sent: dict[tuple[str, str], str] = {}  # last books5 / bbo / ticker / candle body sent
        self._dirty_books: set[str] = set()
        self._balances: dict[str, set[str]] = defaultdict(set)
        self._connects: dict[str, deque[int]] = defaultdict(deque)
        self._task: asyncio.Task[None] | None = None
        self._deferred: list[tuple[Session, str]] | None = None  # pushes held while a WS op runs
        self._held_trades: list[tuple[tuple[str, str], str]] = []  # public trades held (hold_public)
        self._next_book_ms = 0
        self._next_price_ms = 0
        self._next_candle_ms = 0
        self._next_idle_ms = 0
        self.swaps = ws_derivs.SwapStreams(self)

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        self.ctx.exchange.add_listener(self.on_event)
        self._task = asyncio.get_running_loop().create_task(self._ticker())

    async def stop(self) -> None:
        self.ctx.exchange.remove_listener(self.on_event)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for session in list(self.sessions):
            await session.ws.close(code=1001, message=b"server shutdown")
        for stream in self.streams.values():
            stream.close()
        self.streams.clear()

    def allow_connection(self, ip: str) -> bool:
        now = monotonic_ms()
        recent = self._connects[ip]
        while recent and recent[0] <= now - 1000:
            recent.popleft()
        if len(recent) >= self.config.connections_per_second:
            return False
        recent.append(now)
        return True

    def reset_connection_counts(self) -> None:
        self._connects.clear()

    def attach(self, session: Session) -> None:
        self.sessions.add(session)
        session.writer = asyncio.get_running_loop().create_task(session.write_loop())

    def deliver(self, session: Session, text: str) -> None:
        """Send an event push; while a WS op runs, after its answer (as OKX orders them)."""
        if self._deferred is not None:
            self._deferred.append((session, text))
        else:
            session.send(text)

    async def detach(self, session: Session) -> None:
        self.sessions.discard(session)
        self.swaps.forget(session)
        for sub in list(session.subs.values()):
            self._unindex(session, sub)
        session.subs.clear()
        if session.key is not None:
            logged_in = self.private.get(session.key.uid)
            if logged_in is not None:
                logged_in.discard(session)
                if not logged_in:
                    del self.private[session.key.uid]
        if session.writer is not None:
            session.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await session.writer

    # -- requests ----------------------------------------------------------------------------------

    def on_text(self, session: Session, text: str) -> None:
        if text == "ping":
            session.send("pong")
            return
        try:
            message = json.loads(text)
        except ValueError:
            session.error("60012", f"Invalid request: {text}")
            return
        if not isinstance(message, dict) or not isinstance(message.get("op"), str):
            session.error("60012", f"Invalid request: {text}")
            return
        raw_id = message.get("id")
        if raw_id is not None and not (isinstance(raw_id, str) and _ID.fullmatch(raw_id)):
            session.error("60012", f"Invalid request: {text}")
            return
        req_id = raw_id or ""
        op = message["op"]
        if op in ("login", "subscribe", "unsubscribe"):
            if not self._count_request(session):
                session.error("60014", "Requests too frequent.", req_id)
                return
            args = message.get("args")
            if not isinstance(args, list) or not args:
                session.error("60012", f"Invalid request: {text}", req_id)
                return
            if op == "login":
                self._login(session, args, req_id, text)
            elif op == "subscribe":
                self._subscribe(session, args, req_id)
            else:
                self._unsubscribe(session, args, req_id)
        elif op in OPS:
            if session.endpoint != "private":
                session.error("60018", f"Wrong URL or op:{op} doesn't exist.", req_id)
            elif session.key is None:
                session.error("60011", "Please log in", req_id)
            else:
                # The answer goes out before the orders-channel pushes the op caused, as on OKX.
                self._deferred = []
                try:
                    answer = run_op(self.ctx, session.key, message)
                finally:
                    deferred, self._deferred = self._deferred, None
                if answer is not None:  # None: an injected `timeout` fault swallows the answer
                    session.send_json(answer)
                for target, text in deferred:
                    target.send(text)
        else:
            session.error("60019", f"Invalid op: op:{op}", req_id)

    def _count_request(self, session: Session) -> bool:
        now = monotonic_ms()
        times = session.requests
        while times and times[0] <= now - 3_600_000:
            times.popleft()
        if len(times) >= self.config.requests_per_hour:
            return False
        times.append(now)
        return True

    def _login(self, session: Session, args: list[Any], req_id: str, text: str) -> None:
        if len(args) != 1 or not isinstance(args[0], dict):
            session.error("60012", f"Invalid request: {text}", req_id)
            return
        if session.key is not None:
            session.error(
                "60031", "The WebSocket endpoint does not allow multiple or repeated logins.", req_id
            )
            return
        result = self.ctx.keystore.verify_ws_login(args[0], session.ip, session.demo)
        if isinstance(result, WsAuthError):
            session.error(result.code, result.msg, req_id)
            return
        session.key = result
        self.private[result.uid].add(session)
        session.event({"event": "login", "code": "0", "msg": ""}, req_id)

    def _subscribe(self, session: Session, args: list[Any], req_id: str) -> None:
        exchange = self.ctx.exchange
        kind = ws_derivs.kind_of(exchange)
        for raw in args:
            sub = check_arg(raw, session.endpoint, session.key is not None, exchange.has_instrument, kind)
            if isinstance(sub, ArgError):
                session.error(sub.code, sub.msg, req_id)
                continue
            if sub.channel in PRIVATE:
                assert session.key is not None
                count = self._private_count(session.key.uid, sub.channel, session)
                if count > CONNECTIONS_PER_CHANNEL:
                    session.event(
                        {
                            "event": "channel-conn-count-error",
                            "channel": sub.channel,
                            "connCount": str(count - 1),
                        }
                    )
                    continue
            fresh = sub.key not in session.subs
            session.subs[sub.key] = sub
            if fresh:
                self._index(session, sub)
            session.event({"event": "subscribe", "arg": raw}, req_id)
            self._first_push(session, sub, fresh)

    def _private_count(self, uid: str, channel: str, joining: Session) -> int:
        return sum(
            1
            for s in self.private[uid]
            if s is joining or any(sub.channel == channel for sub in s.subs.values())
        )

    def _first_push(self, session: Session, sub: Sub, fresh: bool) -> None:
        exchange = self.ctx.exchange
        now = self.ctx.clock.now_ms()
        channel = sub.channel
        if channel == "books":
            stream = self.streams.get(sub.inst_id)
            if stream is None:
                stream = self.streams[sub.inst_id] = BookStream(sub.inst_id, exchange.book(sub.inst_id))
            snapshot = stream.snapshot(now)
            session.send_json({"arg": sub.arg(), "action": "snapshot", "data": [snapshot]})
        elif channel in CHANNELS_ON_CHANGE or channel in CANDLES or channel in ws_derivs.RENDERED:
            self._publish(channel, sub.inst_id, newcomer=session)
        elif channel in PRIVATE:
            assert session.key is not None
            uid = session.key.uid
            if fresh:
                count = self._private_count(uid, channel, session)
                session.event({"event": "channel-conn-count", "channel": channel, "connCount": str(count)})
            if channel in ws_derivs.PRIVATE_SWAP:
                self.swaps.first_push(session, sub, uid)
            elif channel in ws_algo.CHANNELS:
                ws_algo.first_push(self, session, sub, uid)
            elif channel == "account":
                balances = exchange.balances(uid, [sub.ccy] if sub.ccy else None)
                session.send_json(
                    {
                        "arg": sub.arg(uid),
                        "eventType": "snapshot",
                        "curPage": 1,
                        "lastPage": True,
                        "data": [balances],
                    }
                )

    def _unsubscribe(self, session: Session, args: list[Any], req_id: str) -> None:
        exchange = self.ctx.exchange
        kind = ws_derivs.kind_of(exchange)
        for raw in args:
            sub = check_arg(raw, session.endpoint, session.key is not None, exchange.has_instrument, kind)
            if isinstance(sub, ArgError):
                session.error(sub.code, sub.msg, req_id)
                continue
            held = session.subs.pop(sub.key, None)
            if held is not None:
                self._unindex(session, held)
            session.event({"event": "unsubscribe", "arg": raw}, req_id)

    def _index(self, session: Session, sub: Sub) -> None:
        if sub.channel not in PRIVATE:
            self.public[(sub.channel, sub.inst_id)].add(session)

    def _unindex(self, session: Session, sub: Sub) -> None:
        if sub.channel in PRIVATE:
            return
        key = (sub.channel, sub.inst_id)
        listeners = self.public.get(key)
        if listeners is None:
            return
        listeners.discard(session)
        if not listeners:
            del self.public[key]
            self._sent.pop(key, None)
            if sub.channel == "books":
                stream = self.streams.pop(sub.inst_id, None)
                if stream is not None:
                    stream.close()

    # -- engine events -----------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        if isinstance(event, BookEvent):
            self._dirty_books.add(event.inst_id)
        elif isinstance(event, TradeEvent):
            key = ("trades", event.inst_id)
            listeners = self.public.get(key)
            if listeners:
                text = _dumps({"arg": {"channel": "trades", "instId": event.inst_id}, "data": [event.trade]})
                if self.config.hold_public:
                    self._held_trades.append((key, text))
                    return
                for session in listeners:
                    session.send(text)
        elif isinstance(event, OrderEvent):
            self._push_order(event)
        elif isinstance(event, BalanceEvent):
            if self.private.get(event.uid):
                self._balances[event.uid].update(event.ccys)
        elif isinstance(event, PositionEvent):
            self.swaps.on_position(event)
        elif isinstance(event, LiquidationEvent):
            self.swaps.on_liquidation(event)
        elif isinstance(event, AlgoEvent):
            ws_algo.push(self, event)

    def _push_order(self, event: OrderEvent) -> None:
        order = event.order
        for session in self.private.get(event.uid, ()):
            for sub in session.subs.values():
                if sub.channel != "orders":
                    continue
                if sub.inst_type not in ("ANY", order.get("instType")):
                    continue
                if sub.inst_id and sub.inst_id != order.get("instId"):
                    continue
                text = _dumps({"arg": sub.arg(event.uid), "data": [order]})
                if self._deferred is not None:
                    self._deferred.append((session, text))
                else:
                    session.send(text)

    # -- periodic pushes ---------------------------------------------------------------------------

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK_MS / 1000)
            try:
                self.tick()
            except Exception:
                # One bad push must not end every stream of the simulator.
                log.exception("WebSocket push failed")

    def tick(self) -> None:
        now = monotonic_ms()
        self._flush_balances()
        if self.config.hold_public:
            self._close_idle_due(now)
            return
        self._flush(lambda channel: channel == "bbo-tbt")
        if now >= self._next_book_ms:
            self._next_book_ms = now + BOOK_INTERVAL_MS
            self.flush_books()
            self._flush(
                lambda channel: channel in ("books5", "tickers") or channel in ws_derivs.FAST_CHANNELS
            )
            self.swaps.periodic(now)
        if now >= self._next_price_ms:
            self._next_price_ms = now + PRICE_INTERVAL_MS
            self._flush(lambda channel: channel in ws_derivs.PRICE_CHANNELS)
        if now >= self._next_candle_ms:
            self._next_candle_ms = now + CANDLE_INTERVAL_MS
            self._flush(lambda channel: channel in CANDLES or channel in ws_derivs.SLOW_CHANNELS)
        self._close_idle_due(now)

    def _close_idle_due(self, now: int) -> None:
        if now >= self._next_idle_ms:
            self._next_idle_ms = now + 200
            self._close_idle(now)

    def flush_public(self) -> int:
        """Send every public push now (held trades first, in order; then books, books5, bbo-tbt,
        tickers and candles that changed); returns how many trades were held."""
        held, self._held_trades = self._held_trades, []
        for key, text in held:
            for session in self.public.get(key, ()):
                session.send(text)
        self.flush_books()
        self._flush(
            lambda channel: (
                channel in ("bbo-tbt", "books5", "tickers")
                or channel in CANDLES
                or channel in ws_derivs.FAST_CHANNELS
                or channel in ws_derivs.PRICE_CHANNELS
                or channel in ws_derivs.SLOW_CHANNELS
            )
        )
        return len(held)

    def flush_books(self) -> int:
        """Send every `books` update that is due; returns how many instruments had one."""
        dirty, self._dirty_books = self._dirty_books, set()
        now = self.ctx.clock.now_ms()
        sent = 0
        for inst_id, stream in self.streams.items():
            if inst_id not in dirty and now - stream.last_sent_ms < 60_000:
                continue
            update = stream.update(now)
            if update is None:
                continue
            text = _dumps(
                {"arg": {"channel": "books", "instId": inst_id}, "action": "update", "data": [update]}
            )
            for session in self.public.get(("books", inst_id), ()):
                session.send(text)
            sent += 1
        return sent

    def _render(self, channel: str, inst_id: str) -> tuple[str, str] | None:
        """(content, message) of a books5 / bbo-tbt / tickers / candle push; content leaves out `ts`."""
        exchange = self.ctx.exchange
        if channel in ws_derivs.RENDERED:
            return ws_derivs.render(exchange, channel, inst_id, self.ctx.clock.now_ms())
        arg = {"channel": channel, "instId": inst_id}
        if channel == "tickers":
            ticker = exchange.ticker(inst_id)
            content = _dumps({k: v for k, v in ticker.items() if k != "ts"})
            return content, _dumps({"arg": arg, "data": [ticker]})
        if channel in CANDLES:
            rows = exchange.candles(inst_id, CANDLES[channel], limit=1)
            if not rows:
                return None
            return _dumps(rows), _dumps({"arg": arg, "data": rows})
        body = top_levels(exchange.book(inst_id), 5 if channel == "books5" else 1)
        content = _dumps(body)
        if channel == "books5":
            body["instId"] = inst_id
        body["ts"] = str(self.ctx.clock.now_ms())
        return content, _dumps({"arg": arg, "data": [body]})

    def _publish(self, channel: str, inst_id: str, newcomer: Session | None = None) -> None:
        """Push to every subscriber when the content changed; else only to a `newcomer` (its first push)."""
        rendered = self._render(channel, inst_id)
        if rendered is None:
            return
        content, text = rendered
        key = (channel, inst_id)
        if self._sent.get(key) != content:
            self._sent[key] = content
            for session in self.public.get(key, ()):
                session.send(text)
        elif newcomer is not None:
            newcomer.send(text)

    def _flush(self, wanted: Callable[[str], bool]) -> None:
        for channel, inst_id in list(self.public):
            if wanted(channel):
                self._publish(channel, inst_id)

    def _flush_balances(self) -> None:
        if not self._balances:
            return
        pending, self._balances = self._balances, defaultdict(set)
        for uid, ccys in pending.items():
            for session in self.private.get(uid, ()):
                for sub in session.subs.values():
                    if sub.channel != "account" or (sub.ccy and sub.ccy not in ccys):
                        continue
                    wanted = [sub.ccy] if sub.ccy else sorted(ccys)
                    balances = self.ctx.exchange.balances(uid, wanted)
                    session.send_json(
                        {
                            "arg": sub.arg(uid),
                            "eventType": "event_update",
                            "curPage": 1,
                            "lastPage": True,
                            "data": [balances],
                        }
                    )

    def _close_idle(self, now: int) -> None:
        limit = self.config.idle_ms
        for session in list(self.sessions):
            if now - max(session.last_in_ms, session.last_out_ms) > limit and not session.ws.closed:
                asyncio.get_running_loop().create_task(
                    session.ws.close(code=4004, message=b"No data received in 30s")
                )

    # -- admin faults ------------------------------------------------------------------------------

    def matching(self, path: str = "") -> list[Session]:
        return [s for s in self.sessions if not path or s.path == path]

    def drop(self, path: str = "") -> int:
        """Cut connections without a close frame, as a network failure would."""
        victims = self.matching(path)
        for session in victims:
            if session.transport is not None:
                session.transport.abort()
        return len(victims)

    def revoke_key(self, api_key: str) -> int:
        """A key was deleted or changed: its sessions stop being logged in at once (later ops answer
        60011, private pushes stop) and are closed with 4007 once what was queued for them is out."""
        victims = [s for s in self.sessions if s.key is not None and s.key.api_key == api_key]
        for session in victims:
            assert session.key is not None
            logged_in = self.private.get(session.key.uid)
            if logged_in is not None:
                logged_in.discard(session)
                if not logged_in:
                    del self.private[session.key.uid]
            session.key = None
            task = asyncio.get_running_loop().create_task(_close_when_flushed(session, 4007, KEY_CHANGED))
            _CLOSING.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(_CLOSING.discard)
        return len(victims)

    def stall(self, duration_ms: int, path: str = "") -> int:
        until = monotonic_ms() + duration_ms
        victims = self.matching(path)
        for session in victims:
            session.stalled_until_ms = until
        return len(victims)

    def arm_book_fault(self, inst_id: str, kind: str) -> None:
        stream = self.streams.get(inst_id)
        if stream is None:
            raise LookupError(f"nobody is subscribed to the books channel of {inst_id}; subscribe first")
        if kind == "bad-checksum":
            stream.corrupt_next = True
        else:
            stream.skip_next = True


KEY_CHANGED = b"API key has been updated or deleted. Please reconnect."
_CLOSING: set[asyncio.Task[None]] = set()


async def _close_when_flushed(session: Session, code: int, reason: bytes) -> None:
    """Close after the writer has sent what was queued (an order push that happened before the key was
    deleted still reaches the client), waiting at most one second for a slow reader."""
    deadline = monotonic_ms() + 1000
    # The writer task signals nothing when its queue runs dry; a bounded poll keeps Session unchanged.
    while session.backlog and not session.ws.closed and monotonic_ms() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    if not session.ws.closed:
        await session.ws.close(code=code, message=reason)


HUB = web.AppKey("okxbot.sim.ws_hub", WsHub)
_HUBS: dict[int, WsHub] = {}


def hub_of(ctx: SimContext) -> WsHub:
    """The WebSocket hub of a running simulator (for benchmarks that drive it directly)."""
    return _HUBS[id(ctx)]


async def handle(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    endpoint = request.match_info["endpoint"]
    ip = request.remote or ""
    hub.ctx.stats.by_path[request.path] += 1
    if not hub.allow_connection(ip):
        # OKX refuses the 4th connection of a second from one IP before the upgrade.
        body = _dumps({"event": "error", "code": "60014", "msg": "Requests too frequent."})
        return web.Response(status=429, text=body, content_type="application/json")
    ws = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20)
    await ws.prepare(request)
    demo = request.query.get("brokerId") == "9999"
    session = Session(ws=ws, endpoint=endpoint, demo=demo, ip=ip, transport=request.transport)
    hub.attach(session)
    try:
        async for message in ws:
            session.last_in_ms = monotonic_ms()
            if message.type == WSMsgType.TEXT:
                try:
                    hub.on_text(session, message.data)
                except Exception:
                    # A simulator bug must cost the client one answer, not its connection.
                    log.exception("WebSocket request failed: %.200s", message.data)
                    session.error("64007", "Operation failed due to WebSocket internal error")
            elif message.type == WSMsgType.BINARY:
                session.error("60012", "Invalid request: binary frame")
    finally:
        await hub.detach(session)
    return ws


def register(app: web.Application) -> None:
    """Add the WebSocket routes, the WS admin routes and the hub's start / stop to the simulator app."""
    from okxbot.sim import ws_admin

    app.router.add_get("/ws/v5/{endpoint:public|private|business}", handle)
    ws_admin.register(app.router)

    hub = WsHub(app[CTX])
    app[HUB] = hub

    async def start(app: web.Application) -> None:
        _HUBS[id(hub.ctx)] = hub
        hub.start()

    async def stop(app: web.Application) -> None:
        _HUBS.pop(id(hub.ctx), None)
        await hub.stop()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
