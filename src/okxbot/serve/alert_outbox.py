"""What the alert channels share: a bounded outbox per channel and the notification metrics.

A channel (Telegram, each webhook) never makes the event's publisher wait: `Outbox.put` only
appends to a bounded deque and wakes the channel's own sender task. When a channel cannot keep up (a
dead webhook endpoint retrying, Telegram unreachable) its outbox holds at most `maxsize` alerts and
the oldest are dropped and counted (`okxbot_notifications_dropped_total{channel}`), so memory stays
bounded however long an endpoint is down.

Metric names (on the serve registry, `GET /metrics`):
    okxbot_notifications_sent_total{channel}      alerts delivered (Telegram: sent; webhook: 2xx)
    okxbot_notifications_failed_total{channel}    alerts given up on (retries exhausted, refused)
    okxbot_notifications_dropped_total{channel}   alerts dropped unsent (outbox full; channel
                                                  "router": the router fell behind the event bus)
    okxbot_notifications_retries_total{channel}   delivery attempts repeated after a failure
    okxbot_telegram_ignored_updates_total         Telegram updates from chats that are not authorised
channel: "telegram" or "webhook:NAME" (the name, never the URL: a webhook URL may hold a token).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter

T = TypeVar("T")


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        r = registry or CollectorRegistry()
        self.sent = Counter(
            "okxbot_notifications_sent", "Alerts delivered, per channel", ["channel"], registry=r
        )
        self.failed = Counter(
            "okxbot_notifications_failed", "Alerts given up on (retries exhausted or refused)", ["channel"],
            registry=r,
        )  # fmt: skip
        self.dropped = Counter(
            "okxbot_notifications_dropped", "Alerts dropped unsent (outbox full)", ["channel"], registry=r
        )
        self.retries = Counter(
            "okxbot_notifications_retries",
            "Delivery attempts repeated after a failure",
            ["channel"],
            registry=r,
        )
        self.ignored = Counter(
            "okxbot_telegram_ignored_updates",
            "Telegram updates from chats that are not authorised",
            registry=r,
        )

    def touch(self, channel: str) -> None:
        """Show a channel's series at 0 from its start (a scrape then sees it exists)."""
        for counter in (self.sent, self.failed, self.dropped, self.retries):
            counter.labels(channel)


class Outbox(Generic[T]):
    """A bounded queue that never blocks the producer: full -> the oldest item is dropped, counted."""

    def __init__(self, channel: str, metrics: AlertMetrics, maxsize: int = 1000) -> None:
        self.channel = channel
        self.metrics = metrics
        self._items: deque[T] = deque()
        self.maxsize = maxsize
        self.dropped = 0
        self._wake = asyncio.Event()

    def put(self, item: T) -> None:
        if len(self._items) >= self.maxsize:
            self._items.popleft()
            self.dropped += 1
            self.metrics.dropped.labels(self.channel).inc()
        self._items.append(item)
        self._wake.set()

    def __len__(self) -> int:
        return len(self._items)

    async def get(self) -> T:
        while not self._items:
            self._wake.clear()
            await self._wake.wait()
        return self._items.popleft()

    def get_nowait(self) -> T | None:
        return self._items.popleft() if self._items else None

    def peek(self) -> T | None:
        return self._items[0] if self._items else None
