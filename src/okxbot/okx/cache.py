"""Caching for the client: markets on disk with a TTL, and coalescing of identical requests.

Markets change rarely but cost several requests (and 20 req / 2 s of public/instruments); a CLI
command that starts, trades once and exits should not pay for them each time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import time
from collections.abc import Awaitable, Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

from okxbot.okx.clock import ClockSync, local_ms

T = TypeVar("T")

DEFAULT_MARKETS_TTL_S = 3600.0


def default_cache_dir() -> Path:
    """$OKXBOT_CACHE_DIR, else $XDG_CACHE_HOME/okxbot, else ~/.cache/okxbot."""
    if env := os.environ.get("OKXBOT_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "okxbot"


class MarketsCache:
    """ccxt market lists stored as JSON, one file per (host, environment, market types)."""

    def __init__(self, directory: Path | None, key: str, ttl_s: float = DEFAULT_MARKETS_TTL_S) -> None:
        self.ttl_s = ttl_s
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        self.path = directory / f"markets-{digest}.json" if directory is not None else None

    def load(self) -> list[dict[str, Any]] | None:
        """The cached markets if present and younger than the TTL, else None."""
        if self.path is None:
            return None
        try:
            payload = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(payload, dict) or time.time() - float(payload.get("saved_at", 0)) > self.ttl_s:
            return None
        markets = payload.get("markets")
        return markets if isinstance(markets, list) else None

    def save(self, markets: list[dict[str, Any]]) -> None:
        if self.path is None:
            return
        # a cache that cannot be written only costs requests; never fail the caller for it
        with contextlib.suppress(OSError, TypeError, ValueError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"saved_at": time.time(), "markets": markets}))
            tmp.replace(self.path)  # atomic: a concurrent reader sees the old or the new file

    def clear(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


DEFAULT_CLOCK_TTL_S = 60.0


class ClockCache:
    """The last clock measurement for one host, reused by processes started within `ttl_s`.

    Short-lived on purpose: a local clock that jumps (NTP step) invalidates it, and a 50102 forces
    a fresh measurement anyway.
    """

    def __init__(self, directory: Path | None, key: str, ttl_s: float = DEFAULT_CLOCK_TTL_S) -> None:
        self.ttl_s = ttl_s
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        self.path = directory / f"clock-{digest}.json" if directory is not None else None

    def load(self) -> ClockSync | None:
        if self.path is None:
            return None
        try:
            payload = json.loads(self.path.read_text())
            offset, measured_at = int(payload["offset_ms"]), int(payload["measured_at_ms"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        age_ms = local_ms() - measured_at
        if not 0 <= age_ms <= self.ttl_s * 1000:
            return None
        return ClockSync((), offset, measured_at)

    def save(self, sync: ClockSync) -> None:
        if self.path is None:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"offset_ms": sync.offset_ms, "measured_at_ms": sync.measured_at_ms}))
            tmp.replace(self.path)


class Coalescer:
    """Identical concurrent calls share one execution: the second caller awaits the first's result."""

    def __init__(self) -> None:
        self._inflight: dict[Hashable, asyncio.Future[Any]] = {}
        self.shared = 0  # how many calls were served by another call's request

    async def run(self, key: Hashable, call: Callable[[], Awaitable[T]]) -> T:
        existing = self._inflight.get(key)
        if existing is not None:
            self.shared += 1
            return await asyncio.shield(existing)
        task = asyncio.ensure_future(call())
        self._inflight[key] = task
        task.add_done_callback(lambda _t: self._inflight.pop(key, None))
        # shield: one caller being cancelled must not cancel the request the others wait for
        return await asyncio.shield(task)
