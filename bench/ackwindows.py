"""The measure of the order benchmarks: acknowledged orders per whole 2 s window, dated by the exchange.

Why this measure: OKX (and the simulator) counts a request when it arrives and stamps that instant in
the answer's `inTime`. Counting acknowledgements by the time the client *received* them, from the first
acknowledgement on (the old measure), lets a window hold requests that arrived over more than 2 s: the
first answer is late (new connection, cold caches), the later ones are quick, so a run of an
unthrottled client showed 100.7 % of the limit. Here every accepted order is dated by its response's
inTime, and the windows start at the first request sent (the client's clock, the same host clock as
the simulator's inTime, and never later than that request's arrival), so every acknowledgement from the
first request on counts, the start-up ramp included. No client can then exceed the documented limit in
any window: a negative control (python-okx with no throttle) shows at most 100 %.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

WINDOW_US = 2_000_000  # OKX's order limits are per 2 s
RATE_LIMITED = ("50011", "50061")
PLACE_PATHS = ("trade/order", "trade/batch-orders")


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass
class Tally:
    """What one client process saw: accepted placements dated by inTime, refusals, errors."""

    acks: list[tuple[int, int]] = field(default_factory=list)  # (inTime µs, orders accepted in it)
    first_send_us: int | None = None  # when the first placement request left
    rate_limited: int = 0  # every 50011 / 50061 answer, wherever it came from
    limited_paths: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    cpu_s: float = 0.0  # this process's CPU time over the run
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sending(self) -> None:
        """Call just before a placement request is sent."""
        if self.first_send_us is None:
            stamp = now_us()
            with self.lock:
                if self.first_send_us is None:
                    self.first_send_us = stamp

    def saw(self, response: Any, path: str, method: str = "POST") -> None:
        """Count one OKX response: rate-limit codes anywhere, accepted orders of a placement."""
        if not isinstance(response, dict):
            return
        data = [d for d in response.get("data") or [] if isinstance(d, dict)]
        codes = [str(response.get("code", ""))] + [str(d.get("sCode", "")) for d in data]
        endpoint = path.split("?")[0].rsplit("/api/v5/", 1)[-1]
        with self.lock:
            if any(c in RATE_LIMITED for c in codes):
                self.rate_limited += 1
                self.limited_paths[endpoint] += 1
            if method.upper() == "POST" and endpoint in PLACE_PATHS and response.get("inTime"):
                accepted = sum(1 for d in data if d.get("sCode") == "0")
                if accepted:
                    self.acks.append((int(response["inTime"]), accepted))

    def error(self, name: str) -> None:
        with self.lock:
            self.errors[name] += 1

    def __getstate__(self) -> dict[str, Any]:  # sent back from the shared-key processes
        return {k: v for k, v in self.__dict__.items() if k != "lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, lock=threading.Lock())


def merge(tallies: list[Tally]) -> Tally:
    merged = Tally()
    for t in tallies:
        merged.acks += t.acks
        starts = [s for s in (merged.first_send_us, t.first_send_us) if s is not None]
        merged.first_send_us = min(starts) if starts else None
        merged.rate_limited += t.rate_limited
        merged.limited_paths += t.limited_paths
        merged.errors += t.errors
        merged.cpu_s += t.cpu_s
    return merged


@dataclass(frozen=True)
class Windows:
    """Accepted orders in each whole 2 s window from the first request."""

    counts: list[int]
    total_accepted: int  # over the whole run, windows or not (for CPU per order)

    @property
    def per_second(self) -> float:
        return sum(self.counts) / (len(self.counts) * WINDOW_US / 1e6) if self.counts else 0.0

    @property
    def lowest_per_second(self) -> float:
        return min(self.counts) / (WINDOW_US / 1e6) if self.counts else 0.0


def windows(tally: Tally, n_windows: int) -> Windows:
    total = sum(n for _, n in tally.acks)
    if tally.first_send_us is None:
        return Windows([0] * n_windows, total)
    t0 = tally.first_send_us
    counts = [0] * n_windows
    for stamp, n in tally.acks:
        k = (stamp - t0) // WINDOW_US
        if 0 <= k < n_windows:
            counts[k] += n
    return Windows(counts, total)


class ProcessCpu:
    """CPU seconds used by this process (all threads) between `start()` and `stop()`."""

    def __init__(self) -> None:
        self._start = 0.0

    @staticmethod
    def _now() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def start(self) -> None:
        self._start = self._now()

    def stop(self) -> float:
        return self._now() - self._start


def pid_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) used so far by another process, from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15 of stat)
