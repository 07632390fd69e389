"""The Redis backend of the rate limiter: several processes on one API key stay under OKX's limits.

Each bucket is a sorted set of grants scored by the Redis server's clock (microseconds). One Lua script
per request prunes every bucket it needs, and either records the request in all of them and returns 0,
or records nothing and returns how many microseconds until the last of them has room. The script runs
atomically, so two processes can never both take the last slot, and every process reads the same
clock. Keys hold the rule, the uid and the instrument, so accounts never share buckets. When a
request is answered (`Grant.complete`), a second script moves its entries to the answer's time.

Within one process, waiters still queue first come, first served per bucket (`RateLimiter.acquire`);
across processes the heads of those queues race on Redis, each sleeping exactly the time the script
names before trying again.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from okxbot.okx.limits import Charge
from okxbot.okx.ratelimit import ANSWERED_MARGIN_MS, DEFAULT_MARGIN_MS, BucketUsage, RateLimiter

# KEYS: one sorted set per bucket. ARGV[1]: a token unique to this attempt; then per key:
# capacity, window (µs, margin included), units, units reserved by this process's earlier waiters.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = 0
for i = 1, #KEYS do
  local base = 2 + (i - 1) * 4
  local capacity = tonumber(ARGV[base])
  local window = tonumber(ARGV[base + 1])
  local units = tonumber(ARGV[base + 2]) + tonumber(ARGV[base + 3])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local excess = redis.call('ZCARD', KEYS[i]) + units - capacity
  if excess > 0 then
    local oldest = redis.call('ZRANGE', KEYS[i], excess - 1, excess - 1, 'WITHSCORES')
    local free_at = tonumber(oldest[2]) + window
    if free_at - now > wait then wait = free_at - now end
  end
end
if wait > 0 then return wait end
for i = 1, #KEYS do
  local base = 2 + (i - 1) * 4
  local window = tonumber(ARGV[base + 1])
  local units = tonumber(ARGV[base + 2])
  for j = 1, units do
    redis.call('ZADD', KEYS[i], now, ARGV[1] .. ':' .. i .. ':' .. j)
  end
  redis.call('PEXPIRE', KEYS[i], math.ceil(window / 1000) + 1000)
end
return 0
"""

# KEYS: the buckets of one granted request; ARGV[1]: its token, ARGV[2]: how far before now to stamp
# it (µs), then its units per key. Moves its entries there (XX: an entry that already left the window
# stays out).
_RESTAMP = """
local t = redis.call('TIME')
local stamp = tonumber(t[1]) * 1000000 + tonumber(t[2]) - tonumber(ARGV[2])
for i = 1, #KEYS do
  for j = 1, tonumber(ARGV[i + 2]) do
    redis.call('ZADD', KEYS[i], 'XX', stamp, ARGV[1] .. ':' .. i .. ':' .. j)
  end
end
return 0
"""

# KEYS: buckets; ARGV: their windows (µs). Returns the units each holds now.
_USAGE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local counts = {}
for i = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - tonumber(ARGV[i]))
  counts[i] = redis.call('ZCARD', KEYS[i])
end
return counts
"""


class RateLimiterUnavailable(RuntimeError):
    """The shared limiter's Redis cannot be reached; the message names the server and the fix."""


class RedisRateLimiter(RateLimiter):
    """Sliding windows in Redis, shared by every process that uses the same URL and prefix."""

    def __init__(self, url: str, *, margin_ms: int = DEFAULT_MARGIN_MS, prefix: str = "okxbot:rl") -> None:
        super().__init__(margin_ms=margin_ms)
        self.prefix = prefix
        self._where = _display(url)
        self._redis = aioredis.Redis.from_url(url)
        self._acquire_script = self._redis.register_script(_ACQUIRE)
        self._usage_script = self._redis.register_script(_USAGE)
        self._restamp_script = self._redis.register_script(_RESTAMP)
        self._token = uuid.uuid4().hex[:12]
        self._attempts = itertools.count()
        self._seen: dict[str, Charge] = {}  # buckets this process used, for usage()

    def _key(self, bid: str) -> str:
        return f"{self.prefix}:{bid}"

    def _window_us(self, charge: Charge) -> int:
        return (charge.limit.window_ms + self.margin_ms) * 1000

    async def _try_record(self, plan: list[Charge], ids: list[str], ahead: list[int]) -> tuple[float, Any]:
        token = f"{self._token}-{next(self._attempts)}"
        args: list[str | int] = [token]
        for c, reserved in zip(plan, ahead, strict=True):
            args += [c.limit.capacity, self._window_us(c), c.units, reserved]
        for c, bid in zip(plan, ids, strict=True):
            self._seen.setdefault(bid, c)
        keys = [self._key(b) for b in ids]
        try:
            wait_us = int(await self._acquire_script(keys=keys, args=args))
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from exc
        if wait_us > 0:
            return wait_us / 1_000_000, None
        shift_us = max(0, self.margin_ms - ANSWERED_MARGIN_MS) * 1000
        return 0.0, (keys, [token, shift_us, *(c.units for c in plan)])

    async def _used(self, plan: list[Charge], ids: list[str]) -> list[int]:
        try:
            counts = await self._usage_script(
                keys=[self._key(b) for b in ids], args=[self._window_us(c) for c in plan]
            )
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from exc
        return [int(n) for n in counts]

    async def _restamp(self, receipt: Any) -> None:
        keys, args = receipt
        try:
            await self._restamp_script(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: Exception) -> RateLimiterUnavailable:
        return RateLimiterUnavailable(
            f"the shared rate limiter's Redis at {self._where} is unreachable ({type(exc).__name__});"
            " start Redis there or run without a shared limiter (memory://)"
        )

    async def usage(self, top: int = 5) -> list[BucketUsage]:
        if not self._seen:
            return []
        ids = list(self._seen)
        counts = await self._usage_script(
            keys=[self._key(b) for b in ids], args=[self._window_us(self._seen[b]) for b in ids]
        )
        result = []
        for bid, used in zip(ids, counts, strict=True):
            c = self._seen[bid]
            if int(used) == 0:
                del self._seen[bid]
                continue
            result.append(BucketUsage(c.limit.name, c.bucket, int(used), c.limit.capacity))
        result.sort(key=lambda u: u.ratio, reverse=True)
        return result[:top]

    async def close(self) -> None:
        await self._redis.aclose()


def _display(url: str) -> str:
    # never echo a password from the URL into an error message
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}{parts.path}"
