"""Faults injected through the admin API, consumed by the next matching requests.

Kinds (REST):
  drop     execute the request, then close the connection without answering (the client cannot
           know whether its order exists: the case a clOrdId lookup must resolve)
  delay    execute the request, then hold the answer `delay_ms` before sending it
  50013    answer 429 "Systems are busy" without executing
  50001    answer 503 "Service temporarily unavailable" without executing
  http500  answer a bare HTTP 500 without executing
The `ws` module may register faults under its own paths (e.g. "/ws/v5/private") and kinds.
"""

from __future__ import annotations

from dataclasses import dataclass

REST_KINDS = ("drop", "delay", "50013", "50001", "http500")


@dataclass
class Fault:
    path: str
    kind: str
    count: int
    delay_ms: int = 0


class FaultPlan:
    """Pending faults, in the order they were added; each fault fires on its next `count` requests."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        if fault.count < 1:
            raise ValueError("count must be >= 1")
        if fault.delay_ms < 0:
            raise ValueError("delayMs must be >= 0")
        self._faults.append(fault)

    def take(self, path: str) -> Fault | None:
        """The fault to apply to this request to `path`, if any (its count goes down by one)."""
        if not self._faults:
            return None
        for fault in self._faults:
            if fault.path == path:
                fault.count -= 1
                if fault.count == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def pending(self) -> list[Fault]:
        return list(self._faults)

    def clear(self) -> None:
        self._faults.clear()
