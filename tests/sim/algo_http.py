"""Helpers for algo-order tests against a running simulator: signed REST calls, Futures-mode keys, and
waiting on the engine's algo events (a listener on the simulator's loop: no polling, no sleeps)."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from okxbot.sim.events import AlgoEvent, Event
from okxbot.sim.server import RunningSim
from tests.sim.okx_http import signed


class Rest:
    """Signed OKX REST calls with one key; answers are the decoded JSON envelopes."""

    def __init__(self, sim: RunningSim, key: dict[str, Any]) -> None:
        self.sim = sim
        self.key = key
        self.status = 0

    def get(self, path: str, **params: str) -> dict[str, Any]:
        query = f"?{urlencode(params)}" if params else ""
        response = signed(self.sim.rest, self.key, "GET", f"/api/v5/{path}{query}")
        self.status = response.status_code
        return response.json()  # type: ignore[no-any-return]

    def post(self, path: str, body: Any) -> dict[str, Any]:
        response = signed(self.sim.rest, self.key, "POST", f"/api/v5/{path}", json.dumps(body).encode())
        self.status = response.status_code
        return response.json()  # type: ignore[no-any-return]

    def last(self, inst_id: str) -> Decimal:
        return Decimal(self.get("market/ticker", instId=inst_id)["data"][0]["last"])


def futures_key(sim: RunningSim, usdt: str = "100000", **balances: str) -> dict[str, Any]:
    """A fresh funded key whose account is in Futures mode (acctLv 2), net position mode."""
    key = sim.admin("POST", "/__sim__/keys", {"balances": {"USDT": usdt, **balances}, "label": "algo"})
    sim.admin("POST", "/__sim__/account-level", {"uid": key["uid"], "acctLv": "2"})
    return key


@contextmanager
def algo_events(sim: RunningSim) -> Iterator[Callable[[Callable[[AlgoEvent], bool], float], AlgoEvent]]:
    """Yield `wait(predicate, timeout)`: the first algo event (from now on) the predicate accepts."""
    events: queue.Queue[AlgoEvent] = queue.Queue()

    def listen(event: Event) -> None:
        if isinstance(event, AlgoEvent):
            events.put(event)

    sim.call(lambda: sim.ctx.exchange.add_listener(listen))

    def wait(predicate: Callable[[AlgoEvent], bool], timeout: float = 15) -> AlgoEvent:
        deadline = time.monotonic() + timeout
        while True:
            # queue.Empty when nothing matching comes in time
            event = events.get(timeout=max(0.0, deadline - time.monotonic()))
            if predicate(event):
                return event

    try:
        yield wait
    finally:
        sim.call(lambda: sim.ctx.exchange.remove_listener(listen))
