"""Faults injected through the admin API, consumed by the next matching requests.

Kinds (REST, any `/api/v5/...` path):
  drop     execute the request, then close the connection without answering (the client cannot
           know whether its order exists: the case a clOrdId lookup must resolve)
  delay    execute the request, then hold the answer `delay_ms` before sending it
  timeout  never answer: hold the connection open until the client gives up; do not execute
  50013    answer 429 "Systems are busy" without executing
  50001    answer 503 "Service temporarily unavailable" without executing
  50004    answer 400 "API endpoint request timeout" without executing
  50026    answer 500 "System error" without executing
  http500  answer a bare HTTP 500 without executing
Kinds (WebSocket order entry, path "/ws/v5/private", optionally narrowed to one `op`):
  timeout, 50013, 50001, 50004, 50026 (the answer carries that code and empty data)

`late_ms` (admin `lateMs`) makes the request execute that many ms AFTER the fault's answer (or
non-answer), the way OKX may still execute a request it answered ambiguously: allowed on every kind
that does not execute at once, and on `drop` (then nothing executes before the connection closes).
Without it, the simulator's realism settings decide (`okxbot.sim.asynchrony`). Late execution applies
to order entry (place, cancel, amend; single and batch); other requests just get the fault.
"""

from __future__ import annotations

from dataclasses import dataclass

REST_KINDS = ("drop", "delay", "timeout", "50013", "50001", "50004", "50026", "http500")
WS_PATH = "/ws/v5/private"
WS_KINDS = ("timeout", "50013", "50001", "50004", "50026")


@dataclass
class Fault:
    path: str
    kind: str
    count: int
    delay_ms: int = 0
    late_ms: int | None = None
    op: str = ""  # WebSocket faults only: "" = every trading op (the admin API checks the name)


class FaultPlan:
    """Pending faults, in the order they were added; each fault fires on its next `count` requests."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Arm a fault; ValueError says what to fix."""
        if fault.count < 1:
            raise ValueError("count must be >= 1")
        if fault.delay_ms < 0:
            raise ValueError("delayMs must be >= 0")
        if fault.late_ms is not None and fault.late_ms < 0:
            raise ValueError("lateMs must be >= 0")
        if fault.path.startswith("/api/"):
            if fault.kind not in REST_KINDS:
                raise ValueError(f"kind must be one of {', '.join(REST_KINDS)}")
            if fault.op:
                raise ValueError("op applies to WebSocket faults (path /ws/v5/private) only")
        elif fault.path == WS_PATH:
            if fault.kind not in WS_KINDS:
                raise ValueError(f"kind for {WS_PATH} must be one of {', '.join(WS_KINDS)}")
        if fault.late_ms is not None and fault.kind == "delay":
            raise ValueError(
                "delay already executes at once and answers late; for a late execution use kind "
                "timeout (or 50013, 50001, ...) with lateMs"
            )
        self._faults.append(fault)

    def take(self, path: str, op: str = "") -> Fault | None:
        """The fault to apply to this request to `path` (WS: this `op`), if any; its count goes down by one."""
        if not self._faults:
            return None
        for fault in self._faults:
            if fault.path == path and (not fault.op or fault.op == op):
                fault.count -= 1
                if fault.count == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def pending(self) -> list[Fault]:
        return list(self._faults)

    def clear(self) -> None:
        self._faults.clear()
