"""OKX's asynchrony, played at the dispatch layer around the (synchronous) engine.

OKX answers before its matching engine is done, and the simulator can be as unkind (all off by
default; `okxbot.sim.realism` says what each setting means):

* Late execution. A request answered ambiguously (an injected fault: a timeout, 50001, 50004, 50013,
  50026, HTTP 5xx) may still execute afterwards: `later()` runs it on the loop `delay` ms on, unless
  the request's `expTime` has passed by then ("the request will not be processed if the current
  system time of the server is after the expTime", OKX docs, Transaction timeouts). Nothing is
  answered then (the client already had its answer): the order just appears, filled or resting.
* Lagged cancel and amend. `cancel_order` / `amend_order` answer sCode 0 as soon as the request
  passes OKX's synchronous checks (order unknown -> 51400 / 51503, bad parameters, cancel already
  pending -> 51410) and change the order up to N ms later, so fills can land in between. Operations on
  one order keep their order.
* Read lag (`okxbot.sim.read_lag`): the GET endpoints miss new orders and fills for a while.

Everything runs on the simulator's event-loop thread, like the engine; the engine is only called
through its public methods (place / cancel / amend / get_order / is_pending / instrument).
`wait_idle()` is the one thread-safe method: tests block on it until scheduled work has drained.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from okxbot.sim.clock import Clock
from okxbot.sim.faults import Fault
from okxbot.sim.filters import param_str
from okxbot.sim.instruments import is_multiple
from okxbot.sim.read_lag import ReadLag
from okxbot.sim.realism import Realism

if TYPE_CHECKING:
    from okxbot.sim.engine import Exchange

log = logging.getLogger("okxbot.sim.asynchrony")

# Fault kinds answered without executing: with a lateMs, or by the realism's share, they execute later.
UNANSWERED_KINDS = frozenset({"timeout", "50001", "50004", "50013", "50026", "http500"})
HOLD_POLL_S = 0.05
HOLD_MAX_S = 120.0  # a gateway gives up on a request held this long (and the client has long before)
WORK_KINDS = ("late", "cancel", "amend")

_CANCEL_PENDING = "Cancellation failed as the order is already in canceling status or pending settlement."


class Asynchrony:
    def __init__(self, exchange: Exchange, clock: Clock, seed: int) -> None:
        self.exchange = exchange
        self.clock = clock
        self.settings = Realism()
        # Its own stream, so that turning realism on does not change the market's prices.
        self._rng = random.Random(f"okxbot-asynchrony-{seed}")
        self.read_lag = ReadLag(clock, self.draw)
        self._listening = False
        self._pending: Counter[str] = Counter()
        self._idle = threading.Event()
        self._idle.set()
        self.counts: Counter[str] = Counter()
        # (uid, ordId) -> its lagged operations not yet run, oldest first: (due loop time, kind, run)
        self._queues: dict[tuple[str, str], deque[tuple[float, str, Callable[[], object]]]] = {}
        self._canceling: set[tuple[str, str]] = set()
        self.stopping = False

    # -- settings ----------------------------------------------------------------------------------

    def configure(self, raw: Mapping[str, Any]) -> None:
        """Change some settings (admin / CLI spelling); ValueError says what to fix and changes nothing."""
        self.settings = self.settings.updated(raw)
        self.read_lag.max_ms = self.settings.read_lag_ms
        listen = self.settings.read_lag_ms > 0
        if listen and not self._listening:
            self.exchange.add_listener(self.read_lag.on_event)
        elif not listen and self._listening:
            self.exchange.remove_listener(self.read_lag.on_event)
            self.read_lag.clear()
        self._listening = listen

    def draw(self, max_ms: int) -> int:
        """One lag in [0, max_ms] from the seeded RNG (exactly max_ms with fixedLags)."""
        if max_ms <= 0:
            return 0
        return max_ms if self.settings.fixed_lags else self._rng.randint(0, max_ms)

    def wire(self) -> dict[str, Any]:
        return {
            **self.settings.wire(),
            "pending": sum(self._pending.values()),
            "pendingByKind": {kind: self._pending[kind] for kind in WORK_KINDS},
            "hidden": self.read_lag.hidden(),
            "counts": {
                name: self.counts[name]
                for name in ("lateScheduled", "lateExecuted", "lateExpired", "lateNotExecuted")
            },
        }

    def wait_idle(self, timeout: float) -> bool:
        """Block (any thread) until no late execution, cancel or amend is scheduled; False on timeout."""
        return self._idle.wait(timeout)

    # -- late execution ----------------------------------------------------------------------------

    def late_delay_ms(self, fault: Fault) -> int | None:
        """After this fault, in how many ms the request executes; None: it never does."""
        if fault.late_ms is not None:
            return fault.late_ms
        if fault.kind not in UNANSWERED_KINDS or not self.settings.late_exec_ms:
            return None
        if self._rng.random() >= float(self.settings.late_exec_share):
            self.counts["lateNotExecuted"] += 1
            return None
        return self.draw(self.settings.late_exec_ms)

    def later(self, delay_ms: int, run: Callable[[], object], exp_time_ms: int | None = None) -> None:
        """Run `run` (the request's execution) `delay_ms` from now unless `exp_time_ms` has passed then."""
        self.counts["lateScheduled"] += 1
        self._begin("late")

        def fire() -> None:
            try:
                if exp_time_ms is not None and self.clock.now_ms() > exp_time_ms:
                    self.counts["lateExpired"] += 1
                    return
                self.counts["lateExecuted"] += 1
                run()
            except Exception:
                log.exception("late execution failed")
            finally:
                self._end("late")

        asyncio.get_running_loop().call_later(delay_ms / 1000, fire)

    async def hold(self, gone: Callable[[], bool]) -> None:
        """Keep a request unanswered until its client gives up (`gone()`), the server stops, or HOLD_MAX_S."""
        waited = 0.0
        while not gone() and not self.stopping and waited < HOLD_MAX_S:
            # No hook tells a handler that its peer left; polling the transport is what remains.
            await asyncio.sleep(HOLD_POLL_S)
            waited += HOLD_POLL_S

    def stop(self) -> None:
        self.stopping = True

    # -- lagged cancel and amend -------------------------------------------------------------------

    def cancel_order(self, uid: str, params: Mapping[str, Any]) -> dict[str, str]:
        """The engine's cancel_order, acknowledged now and done up to cancelLagMs later."""
        if not self.settings.cancel_lag_ms:
            return self.exchange.cancel_order(uid, params)
        order = self._pending_order(uid, params)
        if order is None:
            # Whatever the engine answers now is a refusal (51400, 51001, ...) and changes nothing.
            return self.exchange.cancel_order(uid, params)
        ord_id, cl, inst_id = order["ordId"], order["clOrdId"], order["instId"]
        key = (uid, ord_id)
        now = str(self.clock.now_ms())
        if key in self._canceling:
            return {"clOrdId": cl, "ordId": ord_id, "ts": now, "sCode": "51410", "sMsg": _CANCEL_PENDING}
        self._canceling.add(key)

        def cancel() -> None:
            self._canceling.discard(key)
            # Filled meanwhile: the engine answers 51400 to nobody, and the order stays filled.
            self.exchange.cancel_order(uid, {"instId": inst_id, "ordId": ord_id})

        self._lagged(key, self.draw(self.settings.cancel_lag_ms), "cancel", cancel)
        return {"clOrdId": cl, "ordId": ord_id, "ts": now, "sCode": "0", "sMsg": ""}

    def amend_order(self, uid: str, params: Mapping[str, Any]) -> dict[str, str]:
        """The engine's amend_order, acknowledged now and done up to amendLagMs later.

        The outcome (amendResult 0 / -1 / 1, or the fills of a repriced order) reaches the orders
        channel when the amend runs, as on OKX."""
        if not self.settings.amend_lag_ms:
            return self.exchange.amend_order(uid, params)
        has_change = param_str(params.get("newSz")) or param_str(params.get("newPx"))
        order = self._pending_order(uid, params) if has_change else None
        if order is None or order["ordType"] == "market":
            # The engine's answer is then one of its refusals, made before it changes anything.
            return self.exchange.amend_order(uid, params)
        ord_id, cl = order["ordId"], order["clOrdId"]
        req_id = param_str(params.get("reqId"))
        now = str(self.clock.now_ms())
        refusal = self._bad_amend(order, params)
        if refusal is not None:
            code, msg = refusal
            return {"clOrdId": cl, "ordId": ord_id, "ts": now, "reqId": req_id, "sCode": code, "sMsg": msg}
        # By ordId: when the amend runs, the clOrdId may already name a newer order.
        pinned = {**params, "ordId": ord_id, "clOrdId": ""}
        self._lagged(
            (uid, ord_id),
            self.draw(self.settings.amend_lag_ms),
            "amend",
            lambda: self.exchange.amend_order(uid, pinned),
        )
        return {"clOrdId": cl, "ordId": ord_id, "ts": now, "reqId": req_id, "sCode": "0", "sMsg": ""}

    def _pending_order(self, uid: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The pending order the engine would act on (its wire form), or None when it would refuse."""
        inst_id = param_str(params.get("instId"))
        ord_id = param_str(params.get("ordId"))
        cl = param_str(params.get("clOrdId"))
        if not inst_id or not (ord_id or cl) or self.exchange.instrument(inst_id) is None:
            return None
        # ordId wins over clOrdId (as in the engine); a pending clOrdId is always its latest order.
        if ord_id:
            order = self.exchange.get_order(uid, inst_id, ord_id=ord_id)
        else:
            order = self.exchange.get_order(uid, inst_id, cl_ord_id=cl)
        if order is None or not self.exchange.is_pending(uid, order["ordId"]):
            return None
        return order

    def _bad_amend(self, order: Mapping[str, Any], params: Mapping[str, Any]) -> tuple[str, str] | None:
        """OKX's synchronous parameter checks of an amend (the book and balance checks come later)."""
        inst = self.exchange.instrument(order["instId"])
        assert inst is not None
        new_sz_text, new_px_text = param_str(params.get("newSz")), param_str(params.get("newPx"))
        new_sz = _positive(new_sz_text)
        new_px = _positive(new_px_text)
        if new_sz_text and new_sz is None:
            return "51000", "Parameter newSz error"
        if new_px_text and new_px is None:
            return "51000", "Parameter newPx error"
        if new_px is not None and not is_multiple(new_px, inst.tick_sz):
            return "51000", "Parameter newPx error"
        if new_sz is not None and not is_multiple(new_sz, inst.lot_sz):
            return "51121", "Order quantity must be a multiple of the lot size."
        return None

    def _lagged(self, key: tuple[str, str], lag_ms: int, kind: str, run: Callable[[], object]) -> None:
        """Run `run` lag_ms from now, but never before an earlier lagged operation on the same order.

        One timer per order at a time, for its oldest operation: timers due within the same
        millisecond may fire in any order on uvloop (libuv counts whole ms), a queue may not."""
        loop = asyncio.get_running_loop()
        due = loop.time() + lag_ms / 1000
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            loop.call_at(due, self._run_next, key)
        else:
            due = max(due, queue[-1][0])
        queue.append((due, kind, run))
        self._begin(kind)

    def _run_next(self, key: tuple[str, str]) -> None:
        queue = self._queues[key]
        _, kind, run = queue.popleft()
        try:
            run()
        except Exception:
            log.exception("lagged %s failed", kind)
        finally:
            self._end(kind)
            if queue:
                asyncio.get_running_loop().call_at(queue[0][0], self._run_next, key)
            else:
                del self._queues[key]

    # -- pending work --------------------------------------------------------------------------------

    def _begin(self, kind: str) -> None:
        self._pending[kind] += 1
        self._idle.clear()

    def _end(self, kind: str) -> None:
        self._pending[kind] -= 1
        if not any(self._pending.values()):
            self._idle.set()


def _positive(text: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() and value > 0 else None
