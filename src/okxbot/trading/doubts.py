"""Orders in doubt, settled in the background so that trading never waits for them.

A doubt is something the order manager does not know yet about one order:

    place    the placement's outcome is unknown (ambiguous answer, or a crash right after sending):
             settled by finding the order by clOrdId, or by its settle time passing with a lookup
             that still finds nothing (then it was never placed)
    cancel   OKX accepted a cancel (or may have): settled when the order's state says canceled or
             filled, or, past the deadline, by a lookup showing the order still on the book
    amend    OKX accepted an amendment (or may have): settled by the orders channel's amendResult,
             by the order showing the new price / size, or past the deadline by the order unchanged
    fills    the order's filled amount is more than its journaled fills: read its fills (REST order
             objects carry only the last fill; read endpoints may lag)
    lookup   the manager lost track of an order's state (a refused cancel, a poll that missed it)

Nothing is ever sent again while in doubt: the checks only read. Each doubt is checked when due (a
short first delay, then backing off, and always once right after its settle time); the orders
channel settles most of them first, through `OrderManager.apply_order`, which discards them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal

log = logging.getLogger("okxbot.trading.doubts")

KINDS = ("place", "cancel", "amend", "fills", "lookup")
MAX_BACKOFF_S = 5.0
CONCURRENCY = 8  # lookups in flight at once (the limiter still paces them)


@dataclass(frozen=True)
class AmendTarget:
    """What an amendment asked for; `req_id` comes back with the orders channel's amendResult."""

    req_id: str
    price: Decimal | None
    amount: Decimal | None


@dataclass
class Doubt:
    cid: str
    kind: str
    settle_at_ms: int | None  # venue clock: from then on a lookup is proof (None: never by time)
    next_at: float = 0.0  # monotonic: when to check next
    tries: int = 0
    target: AmendTarget | None = None
    created: float = field(default_factory=time.monotonic)


Check = Callable[[Doubt], Awaitable[bool]]


class Doubts:
    """The manager's doubts and the background task that checks them (`check(doubt)` -> settled?)."""

    def __init__(self, check: Check, venue_now_ms: Callable[[], int]) -> None:
        self._check = check
        self._venue_now_ms = venue_now_ms
        self._doubts: dict[tuple[str, str], Doubt] = {}
        self._wake = asyncio.Event()
        self._empty = asyncio.Event()
        self._empty.set()
        self._task: asyncio.Task[None] | None = None
        self.settled = 0  # doubts settled so far (for tests and the status view)

    # ---- registry -----------------------------------------------------------------------------
    def add(
        self,
        cid: str,
        kind: str,
        settle_at_ms: int | None,
        *,
        first_check_s: float,
        target: AmendTarget | None = None,
    ) -> Doubt:
        """Doubt `kind` about `cid` (replacing an older one of the same kind), first checked after
        `first_check_s` seconds."""
        assert kind in KINDS, kind
        doubt = Doubt(cid, kind, settle_at_ms, time.monotonic() + first_check_s, target=target)
        self._doubts[(cid, kind)] = doubt
        self._empty.clear()
        self._wake.set()
        self._ensure_running()
        return doubt

    def get(self, cid: str, kind: str) -> Doubt | None:
        return self._doubts.get((cid, kind))

    def has(self, cid: str, kind: str | None = None) -> bool:
        if kind is not None:
            return (cid, kind) in self._doubts
        return any(key[0] == cid for key in self._doubts)

    def discard(self, cid: str, kind: str | None = None) -> None:
        """Forget the doubt (`kind`, or every kind) about `cid`: it is settled."""
        for key in [k for k in self._doubts if k[0] == cid and (kind is None or k[1] == kind)]:
            del self._doubts[key]
            self.settled += 1
        if not self._doubts:
            self._empty.set()

    def __len__(self) -> int:
        return len(self._doubts)

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _cid, kind in self._doubts:
            counts[kind] = counts.get(kind, 0) + 1
        return counts

    async def wait_empty(self, timeout_s: float) -> bool:
        """Wait until no doubt is left (True) or `timeout_s` passed (False)."""
        try:
            await asyncio.wait_for(self._empty.wait(), max(0.0, timeout_s))
        except TimeoutError:
            return False
        return True

    # ---- the background checks --------------------------------------------------------------------
    def _ensure_running(self) -> None:
        if self._task is not None and not self._task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: started by the next add() made on one
        self._task = loop.create_task(self._run(), name="okxbot-doubts")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            now = time.monotonic()
            due = [d for d in self._doubts.values() if d.next_at <= now]
            if not due:
                self._wake.clear()
                wait = min((d.next_at for d in self._doubts.values()), default=now + 3600) - now
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass
                continue
            for start in range(0, len(due), CONCURRENCY):
                await asyncio.gather(*(self._one(d) for d in due[start : start + CONCURRENCY]))

    async def _one(self, doubt: Doubt) -> None:
        key = (doubt.cid, doubt.kind)
        if self._doubts.get(key) is not doubt:
            return  # settled (or replaced) meanwhile
        try:
            settled = await self._check(doubt)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a failed lookup: try again later, never give up on an order
            log.warning("checking %s of %s failed: %s", doubt.kind, doubt.cid, err)
            settled = False
        if self._doubts.get(key) is not doubt:
            return
        if settled:
            self.discard(doubt.cid, doubt.kind)
            return
        doubt.tries += 1
        delay = min(MAX_BACKOFF_S, 0.25 * 2**doubt.tries)
        next_at = time.monotonic() + delay
        if doubt.settle_at_ms is not None:
            # always check right after the settle time: that lookup is the one that decides
            until_settle = (doubt.settle_at_ms - self._venue_now_ms()) / 1000
            if until_settle > 0:
                next_at = min(next_at, time.monotonic() + until_settle + 0.05)
        doubt.next_at = next_at
