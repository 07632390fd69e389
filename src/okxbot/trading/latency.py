"""Tick-to-order latency, from the wire to the wire, split into the stages that make it.

One sample per market-data message that made the strategy place an order (the first order it
placed for that message): from the frame's arrival at the socket to the order request's bytes
written to it (`okxbot.okx.wire`), through ccxt's parsing, the runner's dispatch and the strategy,
the risk guard and funds check, the journal's write-ahead commit, the limiter, signing and the order
lane's write (`okxbot.okx.order_lane`).
The stages are differences of consecutive timestamps, so they add up to the total exactly.
`okxbot run`'s live status view, `bench/bench_latency.py` and `okxbot serve` (its /metrics histogram,
the dashboard and the API) read the same samples.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

STAGES = (
    ("frame -> parsed", "socket to the runner holding ccxt's parsed message (JSON, ccxt, wake-up)"),
    ("parsed -> decision", "dispatch and the strategy hook, up to its place() call"),
    ("risk", "risk guard, order validation, funds check"),
    ("journal", "write-ahead commit of the intent"),
    ("send -> written", "limiter, signing and the order lane (okx.order_lane), up to the socket write"),
)


@dataclass(frozen=True)
class Tick:
    """A market-data message: when its frame reached the socket and when the runner had it parsed."""

    frame_ns: int
    parsed_ns: int


@dataclass(frozen=True)
class LatencySample:
    frame_ns: int  # the frame's bytes came out of the socket
    parsed_ns: int  # the runner had ccxt's parsed message
    decided_ns: int  # the strategy called place()
    checked_ns: int  # risk guard, validation and funds check passed
    journaled_ns: int  # the intent was committed
    written_ns: int  # the request's bytes were written to the socket

    @property
    def stages_ns(self) -> tuple[int, ...]:
        marks = (
            self.frame_ns,
            self.parsed_ns,
            self.decided_ns,
            self.checked_ns,
            self.journaled_ns,
            self.written_ns,
        )
        return tuple(b - a for a, b in pairwise(marks))

    @property
    def total_ns(self) -> int:
        return self.written_ns - self.frame_ns


class LatencyLog:
    """The latest samples (a ring), with the percentiles the status view and the benchmark show."""

    def __init__(self, keep: int = 2000) -> None:
        self.samples: deque[LatencySample] = deque(maxlen=keep)
        self.listeners: list[Callable[[LatencySample], None]] = []  # each new sample (okxbot serve)

    def add(self, sample: LatencySample) -> None:
        self.samples.append(sample)
        for listener in self.listeners:
            listener(sample)

    def __len__(self) -> int:
        return len(self.samples)

    def percentile_ms(self, q: float, stage: int | None = None) -> float:
        """The q-quantile (0..1) of the total, or of stage `stage`, in milliseconds."""
        values = sorted(s.total_ns if stage is None else s.stages_ns[stage] for s in self.samples)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))] / 1e6
