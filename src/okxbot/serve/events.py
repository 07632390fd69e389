"""The supervisor's event bus: what happened to which bot, for the dashboard, /metrics and notifiers.

Publishers (the bot slots, the supervisor, the control actions) call `bus.publish(...)`, which never
blocks: trading must not wait for a slow reader. Each subscriber has its own bounded queue; when a
reader falls that far behind, its oldest events are dropped and counted (`Subscription.dropped`).

Event kinds (`Event.kind`), each with `bot` (or "" for supervisor-wide events) and JSON-ready `data`
(money as Decimal strings):
    order         an order of the bot changed state           data: the order (see snapshot.order_view)
    fill          a fill of the bot                           data: the fill (snapshot.fill_view)
    bot           the bot's state changed                     data: {"state", "previous", "error"?}
    status        the bot's status snapshot was refreshed     data: snapshot.bot_status(...)
    halted        the risk guard halted the bot               data: {"rule"}
    foreign_order an order okxbot did not place is on the key data: {"order_id", "symbol"}
    rate_limited  a burst of 50011 answers                    data: {"count", "window_s"}
    crash         the bot crashed (restarted after a backoff) data: {"error", "restart_in_s", "restarts"}
    posture       a posture check of a profile is failing     data: {"profile", "checks": [...]}
    panic         a panic ran from the dashboard / API        data: {"profile", "done", "not_done"}
A notifier (Telegram, webhooks) subscribes with the kinds it forwards:
    async with bus.subscribe({"fill", "halted", "crash"}) as events:
        async for event in events: ...
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

KINDS = frozenset(
    {"order", "fill", "bot", "status", "halted", "foreign_order", "rate_limited", "crash", "posture", "panic"}
)


@dataclass(frozen=True)
class Event:
    kind: str
    bot: str
    data: dict[str, Any]
    ts_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    origin: str = ""  # the supervisor the event happened on
    seq: int = 0  # this process's order of publication (set by the bus)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "bot": self.bot,
            "data": self.data,
            "ts_ms": self.ts_ms,
            "origin": self.origin,
            "seq": self.seq,
        }


class Subscription:
    """One reader's queue; iterate it (async) or call `get()`."""

    def __init__(self, bus: EventBus, kinds: frozenset[str] | None, maxsize: int) -> None:
        self._bus = bus
        self.kinds = kinds
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.dropped = 0

    def offer(self, event: Event) -> None:
        if self.kinds is not None and event.kind not in self.kinds:
            return
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()  # the oldest goes: a live view wants the newest
                self.dropped += 1

    async def get(self) -> Event:
        return await self._queue.get()

    def get_nowait(self) -> Event | None:
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def close(self) -> None:
        self._bus._subscribers.discard(self)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            yield await self._queue.get()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class EventBus:
    def __init__(self, origin: str = "") -> None:
        self.origin = origin
        self._subscribers: set[Subscription] = set()
        self._seq = itertools.count(1)
        self.published = 0

    def subscribe(self, kinds: Iterable[str] | None = None, maxsize: int = 1000) -> Subscription:
        chosen = None if kinds is None else frozenset(kinds)
        if chosen is not None and not chosen <= KINDS:
            raise ValueError(f"unknown event kinds {sorted(chosen - KINDS)}; known: {sorted(KINDS)}")
        sub = Subscription(self, chosen, maxsize)
        self._subscribers.add(sub)
        return sub

    def publish(self, kind: str, bot: str, data: dict[str, Any], *, origin: str | None = None) -> Event:
        """Hand an event to every subscriber now (never blocks); returns it, numbered."""
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        event = Event(kind, bot, data, origin=self.origin if origin is None else origin, seq=next(self._seq))
        self.published += 1
        for sub in list(self._subscribers):
            sub.offer(event)
        return event
