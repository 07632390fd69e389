"""Webhooks: each alert as a signed JSON POST to a URL, retried with backoff, never blocking trading.

Request (one per alert, per webhook whose filter takes its kind):

    POST <url>                       (redirects are not followed)
    Content-Type: application/json
    User-Agent: okxbot-webhook/1
    X-Okxbot-Event: fill             (the alert's kind)
    X-Okxbot-Delivery: 9f0c...       (the alert's id: the same on every retry of it)
    X-Okxbot-Attempt: 1
    X-Okxbot-Timestamp: 1767225600   (Unix seconds when this attempt was signed)
    X-Okxbot-Signature: v1=<hex>     (HMAC-SHA256 with the webhook's secret over "<timestamp>.<body>")
    body: Alert.payload() as JSON    ({"id", "kind", "event", "bot", "ts_ms", "origin", "text", "data"})

A receiver recomputes the HMAC over the raw body (`verify` below does exactly that), compares in
constant time, rejects a timestamp more than 5 minutes from its clock, and remembers the delivery
ids it accepted in the last 10 minutes (a retry re-signs with a new timestamp and keeps its id).

Delivery: 2xx is done. A network error, a timeout, 408, 425, 429 or 5xx is retried after an
exponential backoff with jitter (`RetryPolicy`: half of the doubling step fixed, half random;
Retry-After honoured up to the cap), `attempts` times in all; any other answer (3xx, 4xx) is final
and counted as failed. Each webhook has its own sender task and bounded outbox (alert_outbox): an
endpoint that hangs or is down delays only its own alerts, and drops the oldest when the outbox is
full (counted). The event bus and the bots never wait for a webhook.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from okxbot.serve.alert_outbox import AlertMetrics, Outbox
from okxbot.serve.alert_text import Alert
from okxbot.vault import redact
from okxbot.vault.secret import Secret

log = logging.getLogger("okxbot.serve.webhooks")

SIGNATURE_HEADER = "X-Okxbot-Signature"
TIMESTAMP_HEADER = "X-Okxbot-Timestamp"
DELIVERY_HEADER = "X-Okxbot-Delivery"
EVENT_HEADER = "X-Okxbot-Event"
ATTEMPT_HEADER = "X-Okxbot-Attempt"
TOLERANCE_S = 300
RETRY_STATUSES = frozenset({408, 425, 429}) | frozenset(range(500, 600))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Okxbot-Signature value for `body` sent at `timestamp` (Unix seconds)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, signature: str, body: bytes, *, now: float | None = None,
    tolerance_s: int = TOLERANCE_S,
) -> bool:  # fmt: skip
    """What a receiver does: a fresh timestamp and the right HMAC over "<timestamp>.<raw body>"."""
    if not timestamp.isascii() or not timestamp.isdigit():
        return False
    ts = int(timestamp)
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


def display_host(url: str) -> str:
    """scheme://host[:port] of a URL: what logs and `webhook list` show (the path may hold a token)."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def check_url(url: str, *, allow_http: bool = False) -> str:
    """An http(s) URL with a host; plain http only to a loopback host unless `allow_http`."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ValueError(f"{display_host(url)!r} is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the webhook URL must start with https:// (or http:// for a local receiver)")
    if parts.username or parts.password:
        raise ValueError("put no user:password in the webhook URL (the HMAC signature authenticates okxbot)")
    loopback = parts.hostname in ("localhost", "::1") or parts.hostname.startswith("127.")
    if parts.scheme == "http" and not loopback and not allow_http:
        raise ValueError(
            "plain http would show your trades to anyone on the way: use https://, or --allow-http if a "
            "private network really carries it"
        )
    return url.strip()


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_s: float = 1.0
    cap_s: float = 60.0
    timeout_s: float = 10.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Wait before attempt `attempt + 1` (attempt counts from 1): half fixed, half random."""
        step = min(self.cap_s, self.base_s * 2 ** (attempt - 1))
        wait = step / 2 + random.uniform(0, step / 2)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap_s))
        return wait


class WebhookChannel:
    def __init__(
        self,
        name: str,
        url: Secret,
        secret: Secret,
        metrics: AlertMetrics,
        *,
        policy: RetryPolicy | None = None,
        maxsize: int = 1000,
    ) -> None:
        self.name = name
        self.channel = f"webhook:{name}"
        self.url = url
        self.secret = secret
        self.host = display_host(url.reveal())
        self.metrics = metrics
        self.policy = policy or RetryPolicy()
        self.outbox: Outbox[Alert] = Outbox(self.channel, metrics, maxsize)
        self.in_flight: Alert | None = None
        self._task: asyncio.Task[None] | None = None
        self._session: Any = None
        metrics.touch(self.channel)

    def offer(self, alert: Alert) -> None:
        self.outbox.put(alert)

    def start(self) -> None:
        import aiohttp

        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.policy.timeout_s))
        self._task = asyncio.ensure_future(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        while True:
            alert = await self.outbox.get()
            self.in_flight = alert
            try:
                await self.deliver(alert)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # a sender must outlive any one delivery
                self.metrics.failed.labels(self.channel).inc()
                log.error("webhook %s: delivery failed: %s", self.name, err)
            finally:
                self.in_flight = None

    async def deliver(self, alert: Alert) -> bool:
        """POST one alert with retries; True when the receiver took it (2xx)."""
        import aiohttp

        body = redact.scrub(json.dumps(alert.payload(), separators=(",", ":"), sort_keys=True, default=str))
        raw = body.encode("utf-8")
        for attempt in range(1, self.policy.attempts + 1):
            ts = int(time.time())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "okxbot-webhook/1",
                EVENT_HEADER: alert.kind,
                DELIVERY_HEADER: alert.id,
                ATTEMPT_HEADER: str(attempt),
                TIMESTAMP_HEADER: str(ts),
                SIGNATURE_HEADER: sign(self.secret.reveal(), ts, raw),
            }
            retry_after: float | None = None
            try:
                async with self._session.post(
                    self.url.reveal(), data=raw, headers=headers, allow_redirects=False
                ) as response:
                    status = response.status
                    retry_after = _retry_after(response.headers.get("Retry-After"))
                    await response.read()
                if 200 <= status < 300:
                    self.metrics.sent.labels(self.channel).inc()
                    return True
                if status not in RETRY_STATUSES:
                    self.metrics.failed.labels(self.channel).inc()
                    log.warning(
                        "webhook %s (%s) refused alert %s with HTTP %d: not retried; check the receiver",
                        self.name, self.host, alert.id, status,
                    )  # fmt: skip
                    return False
                why = f"HTTP {status}"
            except (aiohttp.ClientError, TimeoutError) as err:
                why = type(err).__name__ if isinstance(err, TimeoutError) else f"{type(err).__name__}: {err}"
            if attempt == self.policy.attempts:
                break
            wait = self.policy.delay(attempt, retry_after)
            self.metrics.retries.labels(self.channel).inc()
            log.info(
                "webhook %s (%s): attempt %d of alert %s failed (%s); retrying in %.1f s",
                self.name, self.host, attempt, alert.id, why, wait,
            )  # fmt: skip
            await asyncio.sleep(wait)
        self.metrics.failed.labels(self.channel).inc()
        log.warning(
            "webhook %s (%s): alert %s given up after %d attempts", self.name, self.host, alert.id,
            self.policy.attempts,
        )  # fmt: skip
        return False


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: the backoff decides
