"""Client-side rate limiting with OKX's real buckets (`okxbot.okx.limits`), fair and exact.

    limiter = limiter_from_url(None)                 # or "memory://", "redis://host:6379/0?margin_ms=100"
    await limiter.acquire("POST", "/api/v5/trade/batch-orders", uid="1234", ip="local",
                          orders_by_inst={"BTC-USDT": 3, "ETH-USDT": 2})
    account = limiter.bind(uid="1234")               # what OkxExchange calls, with ccxt's params
    grant = await account.acquire("POST", "/api/v5/trade/order", {"instId": "BTC-USDT", ...})
    ... send the request, read the answer ...
    await grant.complete()                           # or: async with account.request(...): send
    room = await account.headroom("/api/v5/trade/order", "BTC-USDT")   # free now: single vs batch
    await limiter.usage()                            # busiest buckets first: used / capacity
    await limiter.close()

Every request waits until it fits every bucket it consumes (`limits.charges`), then is recorded at the
moment `acquire` returns. Buckets are sliding windows, like OKX's and the simulator's, so a request
is allowed once the entry that filled the bucket is older than the window.

Why `Grant.complete()` and a margin: OKX counts a request when it arrives, we count it when we let
it through. If an earlier request is delayed more on the way than a later one (a busy event loop, a
descheduled process, the network), OKX sees them closer together than we did and answers 50011. So
`Grant.complete()` re-dates a request to the moment its answer (or failure) came back, which is never
earlier than OKX counted it, and holds it for the window + `ANSWERED_MARGIN_MS` (5 ms) from there: no
jitter, however large, can then push a window over the limit, and the cost is one round trip per
window (about 1% on loopback). Until it is answered, a request is held for the window + `margin_ms`
(default 100 ms) from its grant; callers that never complete rely on that margin alone, and pay it
on every window (2 s / 2.1 s = 95% of the limit at the default).

Fairness: waiters are served first come, first served, per bucket: a waiting request reserves its
units in each bucket it needs, and later requests must fit on top of them, so nobody overtakes an
earlier request that is short of room in the same bucket, a big batch is not starved by a stream of
single orders, and a full instrument never holds up another one. Nobody polls: each waiter sleeps
until the exact time the entry it waits for leaves the window (or a request ahead gives up).

Backends: `MemoryRateLimiter` (one process) and `okxbot.okx.ratelimit_redis.RedisRateLimiter` (several
processes on one key: a Lua script checks and records all buckets of a request atomically on the Redis
server's clock, or returns how long to wait).
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from okxbot.okx.limits import (
    BATCH_OF_SINGLE,
    SINGLE_OF_BATCH,
    Charge,
    charges,
    normalize_path,
    request_shape,
)

DEFAULT_MARGIN_MS = 100
# Once answered, a request is known to have reached OKX: only clock granularity is left to cover.
ANSWERED_MARGIN_MS = 5
DEFAULT_IP = "local"  # every process of one host shares its egress IP; the label only has to agree


class RateLimitConfigError(ValueError):
    """A limiter URL or setting that cannot work; the message says what to write instead."""


@dataclass(frozen=True)
class BucketUsage:
    """How full one bucket is right now (for the status view)."""

    name: str  # the rule, e.g. "POST /api/v5/trade/order"
    bucket: str  # its key values, e.g. "1234|BTC-USDT"
    used: int
    capacity: int

    @property
    def ratio(self) -> float:  # a display ratio, not money
        return self.used / self.capacity if self.capacity else 0.0


@dataclass(frozen=True)
class Headroom:
    """What one instrument's order buckets can take right now (see `RateLimiter.headroom`).

    `single`: requests the single-order endpoint (e.g. trade/order) can take now; `batch`: orders the
    batch endpoint (e.g. trade/batch-orders, 20 per request at most) can take now; `account`: orders
    left in the sub-account budget, shared by both, or None when these orders are not counted there
    (spot / margin, cancels). Waiters of this process already queued count as used.
    """

    single_path: str
    batch_path: str
    single: int
    batch: int
    account: int | None

    def split(self, orders: int) -> tuple[int, int]:
        """How many of `orders` orders can go now (via_batch, via_single), batch first (one request
        carries up to 20); a batch of one is a single order by OKX's rule, so via_batch is 0 or >= 2.
        The rest has to wait (or be sent anyway: `acquire` then waits for room)."""
        left = self.account if self.account is not None else orders
        via_batch = min(orders, self.batch, left)
        if via_batch < 2:
            via_batch = 0
        via_single = max(0, min(orders - via_batch, self.single, left - via_batch))
        return via_batch, via_single


def bucket_id(charge: Charge) -> str:
    """A bucket's identity across processes: rule name + key values (uid, instId, ip, ...)."""
    return f"{charge.limit.name}#{charge.bucket}"


@lru_cache(maxsize=4096)
def _plan(
    method: str,
    path: str,
    uid: str | None,
    ip: str,
    orders: tuple[tuple[str, int], ...],
    tag: str,
    inst_type: str,
    ccy: str,
) -> tuple[list[Charge], list[str]]:
    """`charges` and their bucket ids, remembered: a bot sends the same few shapes of request again
    and again, and resolving the rules was a fifth of the limiter's time on the order path. The
    lists are shared between callers: read only."""
    plan = charges(
        method, path, uid=uid, ip=ip, orders_by_inst=dict(orders), tag=tag, inst_type=inst_type, ccy=ccy
    )
    for c in plan:
        if c.units > c.limit.capacity:
            raise ValueError(
                f"{method} {path} with {c.units} orders can never fit {c.limit.name}"
                f" ({c.limit.capacity} per {c.limit.window_ms} ms); split the batch"
            )
    return plan, [bucket_id(c) for c in plan]


class _Ticket:
    __slots__ = ("in_flight", "queue_blocked", "units", "wakeup")

    def __init__(self, units: dict[str, int]) -> None:
        self.units = units  # bucket id -> units this request needs there
        self.queue_blocked = False  # waiting for requests ahead to leave, not for time to pass
        self.in_flight = False  # its check-and-record is on the way to the store (Redis)
        self.wakeup: asyncio.Future[None] | None = None

    def nudge(self) -> None:
        if self.wakeup is not None and not self.wakeup.done():
            self.wakeup.set_result(None)


class _Queues:
    """Per-bucket FIFO queues of the requests of this process that are waiting.

    A request waiting in a bucket reserves its units there: a later request must fit on top of them.
    So nobody overtakes an earlier request that is short of room in the same bucket (FIFO), while a
    request held up elsewhere (its instrument is full) does not block others on a shared bucket (the
    sub-account budget) as long as there is room for both.
    """

    def __init__(self) -> None:
        self._queues: dict[str, dict[_Ticket, int]] = {}

    def enter(self, units: dict[str, int]) -> _Ticket:
        ticket = _Ticket(units)
        for bid, n in units.items():
            self._queues.setdefault(bid, {})[ticket] = n
        return ticket

    def ahead(self, ticket: _Ticket) -> list[int]:
        """Units reserved by earlier waiters, per bucket of `ticket` (in its order)."""
        result = []
        for bid in ticket.units:
            total = 0
            for other, n in self._queues[bid].items():
                if other is ticket:
                    break
                # A request whose check is in flight is either recorded in the store by now or
                # will come back as a waiter; counting it as reserved too would count it twice.
                if not other.in_flight:
                    total += n
            result.append(total)
        return result

    def leave(self, ticket: _Ticket, granted: bool) -> None:
        for bid in ticket.units:
            queue = self._queues[bid]
            behind = False
            for other in queue:
                if other is ticket:
                    behind = True
                elif behind and (other.queue_blocked or not granted):
                    # A grant moves its units from "reserved" to "used", so the waits computed
                    # behind it stay exact; only a request that gave up frees room early.
                    other.nudge()
            del queue[ticket]
            if not queue:
                del self._queues[bid]

    def waiting(self) -> int:
        return len({id(t) for q in self._queues.values() for t in q})

    def reserved(self, bid: str) -> int:
        """Units reserved in one bucket by this process's waiters."""
        return sum(self._queues.get(bid, {}).values())


class RateLimiter(ABC):
    """Waits until a request fits OKX's buckets, then records it. Subclasses store the windows."""

    def __init__(self, *, margin_ms: int = DEFAULT_MARGIN_MS) -> None:
        if margin_ms < 0:
            raise RateLimitConfigError(f"margin_ms must be >= 0 (got {margin_ms})")
        self.margin_ms = margin_ms
        self._queues = _Queues()

    async def acquire(
        self,
        method: str,
        path: str,
        *,
        uid: str | None,
        ip: str = DEFAULT_IP,
        orders_by_inst: Mapping[str, int] | None = None,
        tag: str = "",
        inst_type: str = "",
        ccy: str = "",
    ) -> Grant:
        """Return once a request to `method path` fits every bucket it consumes, and record it.

        `uid`: the OKX user id of the account (sub-accounts are separate); None before it is known
        (uid-keyed buckets are then shared by all such requests, which is stricter than OKX).
        `ip`: the egress IP label for public endpoints. `orders_by_inst`: orders per instId in the
        request (a single order: {instId: 1}); `tag`: cancel-all-after's tag; `inst_type`:
        public/instruments' instType; `ccy`: asset/transfer's currency. WebSocket order ops pass their REST twin's path
        (`limits.ws_op_path`), since OKX counts them in the same buckets.

        The request is recorded as sent now. Call `await grant.complete()` once its answer (or
        failure) is in: the record then moves to that moment, which is never earlier than OKX
        counted it, so latency jitter can no longer make OKX see more than the limit.
        """
        plan, ids = _plan(
            method,
            path,
            uid,
            ip,
            tuple(orders_by_inst.items()) if orders_by_inst else (),
            tag,
            inst_type,
            ccy,
        )
        ticket = self._queues.enter({bid: c.units for bid, c in zip(ids, plan, strict=True)})
        granted = False
        try:
            while True:
                ahead = self._queues.ahead(ticket)
                if any(a + c.units > c.limit.capacity for a, c in zip(ahead, plan, strict=True)):
                    ticket.queue_blocked = True
                    await _pause(ticket, None)
                    ticket.queue_blocked = False
                    continue
                ticket.in_flight = True
                try:
                    wait_s, receipt = await self._try_record(plan, ids, ahead)
                finally:
                    ticket.in_flight = False
                if wait_s <= 0:
                    granted = True
                    return Grant(self, receipt)
                await _pause(ticket, wait_s)
        finally:
            self._queues.leave(ticket, granted)

    async def headroom(
        self, path: str, inst_id: str, *, uid: str | None, ip: str = DEFAULT_IP, method: str = "POST"
    ) -> Headroom:
        """What `inst_id`'s single-order and batch buckets for `path`'s operation can take right now.

        `path` names the operation by either of its endpoints (trade/order or trade/batch-orders for
        placing, cancel-order / cancel-batch-orders, amend-order / amend-batch-orders; WebSocket ops
        via `limits.ws_op_path`). One read of each bucket (one Redis round trip), nothing recorded:
        the order manager asks it to choose the endpoint with room; `acquire` still has the last word.
        """
        name = f"{method.upper()} {normalize_path(path)}"
        single_name = SINGLE_OF_BATCH.get(name, name)
        batch_name = BATCH_OF_SINGLE.get(single_name)
        if batch_name is None:
            raise ValueError(
                f"{method} {path} has no single/batch pair; headroom takes an order endpoint such as"
                f" /api/v5/trade/order, /api/v5/trade/cancel-order or /api/v5/trade/amend-order"
            )
        single_path = single_name.split(" ", 1)[1]
        batch_path = batch_name.split(" ", 1)[1]
        single_plan = charges("POST", single_path, uid=uid, ip=ip, orders_by_inst={inst_id: 1})
        batch_plan = charges("POST", batch_path, uid=uid, ip=ip, orders_by_inst={inst_id: 2})
        plan = [single_plan[0], batch_plan[0], *single_plan[1:]]  # [+ the sub-account budget]
        used = await self._used(plan, [bucket_id(c) for c in plan])
        room = [
            max(0, c.limit.capacity - n - self._queues.reserved(bucket_id(c)))
            for c, n in zip(plan, used, strict=True)
        ]
        return Headroom(
            single_path=single_path,
            batch_path=batch_path,
            single=room[0],
            batch=room[1],
            account=room[2] if len(room) > 2 else None,
        )

    def bind(self, uid: str | None = None, ip: str = DEFAULT_IP) -> AccountLimiter:
        """This limiter for one account, taking requests as ccxt builds them (see `AccountLimiter`)."""
        return AccountLimiter(self, uid=uid, ip=ip)

    def waiting(self) -> int:
        """Requests of this process waiting for their turn or their bucket."""
        return self._queues.waiting()

    @abstractmethod
    async def _try_record(self, plan: list[Charge], ids: list[str], ahead: list[int]) -> tuple[float, Any]:
        """Record the request and return (0, receipt) if every bucket has room now for its units on
        top of the `ahead` units reserved by earlier waiters, else (seconds until it will, None)."""

    @abstractmethod
    async def _used(self, plan: list[Charge], ids: list[str]) -> list[int]:
        """Units recorded in each bucket right now (window + margin), nothing recorded."""

    @abstractmethod
    async def _restamp(self, receipt: Any) -> None:
        """Move a recorded request to now (it has been answered; see `Grant.complete`)."""

    @abstractmethod
    async def usage(self, top: int = 5) -> list[BucketUsage]:
        """The `top` fullest buckets right now, fullest first."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections; the limiter is not used afterwards."""


async def _pause(ticket: _Ticket, seconds: float | None) -> None:
    """Sleep `seconds` (None: until nudged), or less if a request ahead gives up its place."""
    loop = asyncio.get_running_loop()
    wakeup = ticket.wakeup = loop.create_future()
    timer = loop.call_later(seconds, _wake, wakeup) if seconds is not None else None
    try:
        await wakeup
    finally:
        ticket.wakeup = None
        if timer is not None:
            timer.cancel()


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Grant:
    """A request let through. `await complete()` when its answer or failure is in (idempotent).

    Without it the request stays recorded at the moment it was let through, and only `margin_ms`
    absorbs the difference between that moment and OKX's arrival time.
    """

    __slots__ = ("_limiter", "_receipt")

    def __init__(self, limiter: RateLimiter, receipt: Any) -> None:
        self._limiter = limiter
        self._receipt = receipt

    async def complete(self) -> None:
        receipt, self._receipt = self._receipt, None
        if receipt is not None:
            await self._limiter._restamp(receipt)


class AccountLimiter:
    """A limiter bound to one account: `acquire(method, path, params)` with ccxt's request params.

    `params` is the query or body ccxt sends: a dict (one order or a query) or a list of dicts (a
    batch); instIds, tag and instType are read from it. `uid` may be set once the account is known.

        async with account.request("POST", "/api/v5/trade/order", body):   # acquire ... complete
            response = await send(body)
    """

    def __init__(self, limiter: RateLimiter, *, uid: str | None, ip: str) -> None:
        self.limiter = limiter
        self.uid = uid
        self.ip = ip

    async def acquire(self, method: str, path: str, params: Any = None) -> Grant:
        orders, tag, inst_type, ccy = request_shape(params)
        return await self.limiter.acquire(
            method,
            path,
            uid=self.uid,
            ip=self.ip,
            orders_by_inst=orders,
            tag=tag,
            inst_type=inst_type,
            ccy=ccy,
        )

    async def headroom(self, path: str, inst_id: str) -> Headroom:
        """`RateLimiter.headroom` for this account: which of `inst_id`'s single / batch buckets of
        `path`'s operation has room now (e.g. `await account.headroom("trade/order", "BTC-USDT")`)."""
        return await self.limiter.headroom(path, inst_id, uid=self.uid, ip=self.ip)

    @asynccontextmanager
    async def request(self, method: str, path: str, params: Any = None) -> AsyncIterator[Grant]:
        """Wait for room, run the body (send the request), then record the request as answered."""
        grant = await self.acquire(method, path, params)
        try:
            yield grant
        finally:
            await grant.complete()


class _Entry:
    # compared by identity, so that a completed request can find its own entry
    __slots__ = ("t", "units")

    def __init__(self, t: float, units: int) -> None:
        self.t = t
        self.units = units


class _Log:
    """One bucket's sliding window: entries (monotonic time, units), oldest first, and their sum."""

    __slots__ = ("entries", "total")

    def __init__(self) -> None:
        self.entries: deque[_Entry] = deque()
        self.total = 0

    def prune(self, now: float, window_s: float) -> None:
        horizon = now - window_s
        entries = self.entries
        while entries and entries[0].t <= horizon:
            self.total -= entries.popleft().units

    def add(self, entry: _Entry) -> None:
        self.entries.append(entry)
        self.total += entry.units

    def restamp(self, entry: _Entry, t: float) -> None:
        """Move `entry` to time `t` (earlier or later; recent either way), keeping the log sorted."""
        try:
            self.entries.remove(entry)
        except ValueError:
            return  # already out of the window
        entry.t = t
        entries = self.entries
        i = len(entries)
        while i > 0 and entries[i - 1].t > t:  # only entries of the last margin_ms can be later
            i -= 1
        entries.insert(i, entry)

    def wait(self, now: float, window_s: float, units: int, capacity: int) -> float:
        """Seconds until `units` more fit (0 now); pruned first."""
        self.prune(now, window_s)
        excess = self.total + units - capacity
        if excess <= 0:
            return 0.0
        freed = 0
        for entry in self.entries:
            freed += entry.units
            if freed >= excess:
                return entry.t + window_s - now
        raise AssertionError("units above capacity are refused before waiting")


class MemoryRateLimiter(RateLimiter):
    """Windows in this process's memory: exact for one process (the default)."""

    def __init__(self, *, margin_ms: int = DEFAULT_MARGIN_MS) -> None:
        super().__init__(margin_ms=margin_ms)
        self._logs: dict[str, tuple[Charge, _Log]] = {}
        # an answered request stays for window + ANSWERED_MARGIN_MS after its answer
        self._answered_shift_s = max(0, margin_ms - ANSWERED_MARGIN_MS) / 1000

    def _window_s(self, charge: Charge) -> float:
        return (charge.limit.window_ms + self.margin_ms) / 1000

    async def _try_record(self, plan: list[Charge], ids: list[str], ahead: list[int]) -> tuple[float, Any]:
        now = time.monotonic()
        logs = []
        wait = 0.0
        for c, bid, reserved in zip(plan, ids, ahead, strict=True):
            entry = self._logs.get(bid)
            if entry is None:
                entry = self._logs[bid] = (c, _Log())
            log = entry[1]
            logs.append(log)
            wait = max(wait, log.wait(now, self._window_s(c), c.units + reserved, c.limit.capacity))
        if wait > 0:
            return wait, None
        receipt = []
        for c, log in zip(plan, logs, strict=True):
            entry = _Entry(now, c.units)
            log.add(entry)
            receipt.append((log, entry))
        return 0.0, receipt

    async def _used(self, plan: list[Charge], ids: list[str]) -> list[int]:
        now = time.monotonic()
        result = []
        for c, bid in zip(plan, ids, strict=True):
            entry = self._logs.get(bid)
            if entry is None:
                result.append(0)
                continue
            entry[1].prune(now, self._window_s(c))
            result.append(entry[1].total)
        return result

    async def _restamp(self, receipt: Any) -> None:
        t = time.monotonic() - self._answered_shift_s
        for log, entry in receipt:
            log.restamp(entry, t)

    async def usage(self, top: int = 5) -> list[BucketUsage]:
        now = time.monotonic()
        result = []
        for bid, (c, log) in list(self._logs.items()):
            log.prune(now, self._window_s(c))
            if not log.entries:
                del self._logs[bid]  # forget idle buckets so instruments traded once do not pile up
                continue
            result.append(BucketUsage(c.limit.name, c.bucket, log.total, c.limit.capacity))
        result.sort(key=lambda u: u.ratio, reverse=True)
        return result[:top]

    async def close(self) -> None:
        self._logs.clear()


def limiter_from_url(url: str | None) -> RateLimiter:
    """A limiter from a URL: None or "memory://" (this process), "redis://" / "rediss://" / "unix://"
    (shared by every process using the same Redis). Query options: `margin_ms` (default 100) and, for
    Redis, `prefix` (key prefix, default "okxbot:rl")."""
    if url is None or not url.strip():
        return MemoryRateLimiter()
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    margin_ms = _margin(options.pop("margin_ms", None))
    if scheme == "memory":
        if options:
            raise RateLimitConfigError(
                f"unknown option(s) {', '.join(sorted(options))} in the limiter URL; memory:// takes margin_ms"
            )
        return MemoryRateLimiter(margin_ms=margin_ms)
    if scheme in ("redis", "rediss", "unix"):
        from okxbot.okx.ratelimit_redis import RedisRateLimiter

        prefix = options.pop("prefix", "okxbot:rl")
        redis_url = urlunsplit(parts._replace(query=urlencode(options)))
        return RedisRateLimiter(redis_url, margin_ms=margin_ms, prefix=prefix)
    raise RateLimitConfigError(
        f"unsupported rate-limiter URL scheme {scheme or '(none)'!r}: use memory:// (one process) or"
        " redis://host:6379/0 (several processes sharing one API key)"
    )


def _margin(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_MARGIN_MS
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise RateLimitConfigError(
            f"margin_ms={raw!r} in the limiter URL must be a whole number of milliseconds >= 0,"
            " e.g. ?margin_ms=50"
        )
    return value
