"""One bot under supervision: build its Runner, start it (reconciliation first), watch it, restart it
after a crash with an exponential backoff, stop it cleanly; its status snapshot and events.

Errors a restart cannot cure (`PERMANENT`: a bad config, a missing or unsafe key) leave it "failed"
(and no longer wanted) until it is started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from okxbot.okx.errors import OkxAuthError, OkxError, OkxPermissionError
from okxbot.serve.botlogs import current_bot
from okxbot.serve.instrument import instrument_runner
from okxbot.serve.registry import BotRow, RegistryError
from okxbot.serve.snapshot import fill_view, order_view, runner_status
from okxbot.trading.config import ConfigError
from okxbot.trading.journal import JournalFill, JournalOrder
from okxbot.trading.strategy import StrategyLoadError
from okxbot.vault.errors import VaultError

if TYPE_CHECKING:
    from okxbot.serve.supervisor import Supervisor
    from okxbot.trading.runner import Runner

log = logging.getLogger("okxbot.serve.supervisor")

STATES = ("stopped", "starting", "running", "stopping", "backoff", "failed")
# what a restart cannot cure: the bot waits, "failed", for the user
PERMANENT = (ConfigError, StrategyLoadError, VaultError, OkxAuthError, OkxPermissionError)
BURST_WINDOW_S = 10.0
BURST_COUNT = 3  # 50011 answers within the window that make a "rate_limited" event
HISTORY_POINTS = 3600  # price and equity samples kept per bot (one per status refresh: an hour)


class BotSlot:
    """One bot under supervision in this process."""

    def __init__(self, sup: Supervisor, row: BotRow) -> None:
        self.sup = sup
        self.name = row.name
        self.row = row
        self.state = "stopped"
        self.runner: Runner | None = None
        self.task: asyncio.Task[None] | None = None
        self.stop_event = asyncio.Event()
        self.abandon = False
        self.restarts = row.restarts
        self.last_error = ""
        self.started_ms = 0
        self.status: dict[str, Any] = {}
        self.summary: dict[str, Any] | None = None
        self._seen_foreign: set[str] = set()
        self._halted: str | None = None
        self._rate_marks: list[tuple[float, int]] = []
        self.history: deque[tuple[int, str | None, str | None]] = deque(maxlen=HISTORY_POINTS)

    # ---- lifecycle ------------------------------------------------------------------------------
    def launch(self) -> None:
        ctx = contextvars.copy_context()
        ctx.run(current_bot.set, self.name)
        self.task = asyncio.get_running_loop().create_task(self._supervise(), context=ctx)

    async def stop(self, *, abandon: bool = False) -> dict[str, Any] | None:
        """Stop the bot (cleanly; `abandon`: at once, orders left to whoever runs it now)."""
        self.abandon = self.abandon or abandon
        self.stop_event.set()
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self.task)
        return self.summary

    @property
    def done(self) -> bool:
        return self.task is None or self.task.done()

    async def _supervise(self) -> None:
        backoff = self.sup.config.backoff_initial_s
        try:
            while not self.stop_event.is_set():
                began = time.monotonic()
                outcome = await self._run_once()
                if outcome != "crashed" or self.stop_event.is_set():
                    return
                if time.monotonic() - began > self.sup.config.stable_s:
                    backoff = self.sup.config.backoff_initial_s
                self.restarts += 1
                self.sup.bus.publish(
                    "crash",
                    self.name,
                    {"error": self.last_error, "restart_in_s": backoff, "restarts": self.restarts},
                )
                await self._set("backoff", last_error=self.last_error, restarts=self.restarts)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop_event.wait(), backoff)
                backoff = min(backoff * 2, self.sup.config.backoff_max_s)
        finally:
            if not self.abandon and self.state not in ("failed",):
                await self._set("stopped")
            self.runner = None

    async def _run_once(self) -> str:
        """One life of the bot: "stopped", "failed" or "crashed"."""
        try:
            runner = await self.sup.build_runner(self.row)
        except PERMANENT as err:
            return await self._fail(err)
        self.runner = runner
        await self._set("starting")
        try:
            await runner.start()
        except PERMANENT as err:
            await _close(runner)
            return await self._fail(err)
        except asyncio.CancelledError:
            await _close(runner)
            raise
        except Exception as err:
            self.last_error = describe(err)
            log.warning("bot %s failed to start: %s", self.name, self.last_error)
            await _close(runner)
            return "crashed"
        if self.sup.observer is not None:
            instrument_runner(runner, self.sup.observer)
        assert runner.manager is not None
        runner.manager.listeners.append(self._on_manager_event)
        self.started_ms = int(time.time() * 1000)
        self.last_error = ""
        await self._set("running", started_ms=self.started_ms, last_error="")
        stop_wait = asyncio.ensure_future(self.stop_event.wait())
        tasks = list(runner._tasks)  # the runner's loops: none of them ends unless it failed
        done, _ = await asyncio.wait([stop_wait, *tasks], return_when=asyncio.FIRST_COMPLETED)
        if stop_wait in done:
            if self.abandon:
                await _close(runner)
                return "stopped"
            await self._set("stopping")
            try:
                summary = await asyncio.wait_for(runner.stop(), self.sup.config.stop_timeout_s)
                self.summary = {k: str(v) if v is not None else None for k, v in summary.__dict__.items()}
            except Exception as err:
                self.last_error = f"stop: {describe(err)}"
                log.warning("bot %s did not stop cleanly: %s", self.name, self.last_error)
            finally:
                await _close(runner)
            return "stopped"
        stop_wait.cancel()
        failed = next(t for t in tasks if t in done)
        error = failed.exception() if not failed.cancelled() else None
        self.last_error = describe(error) if error else "a bot loop ended"
        log.error("bot %s crashed: %s", self.name, self.last_error)
        await _close(runner)
        return "crashed"

    async def _fail(self, err: BaseException) -> str:
        self.last_error = describe(err)
        log.error("bot %s cannot run: %s", self.name, self.last_error)
        await self._set("failed", last_error=self.last_error)
        with contextlib.suppress(RegistryError):
            await asyncio.to_thread(self.sup.registry.set_desired, self.name, "stopped")
        return "failed"

    async def _set(self, state: str, **fields: Any) -> None:
        previous, self.state = self.state, state
        if previous != state:
            data: dict[str, Any] = {"state": state, "previous": previous}
            if fields.get("last_error"):
                data["error"] = fields["last_error"]
            self.sup.bus.publish("bot", self.name, data)
        if self.abandon:
            return
        try:
            await asyncio.to_thread(self.sup.registry.set_state, self.name, self.sup.sid, state, **fields)
        except Exception as err:  # the database is down: the renew loop decides what that means
            log.warning("could not record state %s of bot %s: %s", state, self.name, err)

    # ---- events -----------------------------------------------------------------------------------
    async def _on_manager_event(self, kind: str, payload: Any) -> None:
        if kind == "order" and isinstance(payload, JournalOrder):
            self.sup.bus.publish("order", self.name, order_view(payload))
        elif kind == "fill" and isinstance(payload, JournalFill):
            self.sup.bus.publish("fill", self.name, fill_view(payload, self.name))

    def refresh(self, usage: list[Any]) -> dict[str, Any] | None:
        """Recompute the status snapshot; publish the changes worth an event. None if unchanged."""
        runner = self.runner
        if runner is None or runner.manager is None:
            return None
        status = runner_status(runner, usage)
        status["key_profile"] = runner.target.profile  # the vault profile whose key trades (panic)
        if status.get("mid") is not None:
            self.history.append((int(time.time() * 1000), status.get("mid"), status.get("pnl")))
        m = runner.manager
        for order_id in sorted(set(m.foreign) - self._seen_foreign):
            order = m.foreign[order_id]
            self.sup.bus.publish("foreign_order", self.name, {"order_id": order_id, "symbol": order.symbol})
        self._seen_foreign = set(m.foreign)
        if m.risk.halted and m.risk.halted != self._halted:
            self.sup.bus.publish("halted", self.name, {"rule": m.risk.halted})
        self._halted = m.risk.halted
        now = time.monotonic()
        self._rate_marks = [(t, n) for t, n in self._rate_marks if now - t <= BURST_WINDOW_S]
        self._rate_marks.append((now, m.stats.rate_limited))
        burst = m.stats.rate_limited - self._rate_marks[0][1]
        if burst >= BURST_COUNT:
            self.sup.bus.publish("rate_limited", self.name, {"count": burst, "window_s": BURST_WINDOW_S})
            self._rate_marks = [(now, m.stats.rate_limited)]
        if status == self.status:
            return None
        self.status = status
        return status

    def view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "owner": self.sup.sid,
            "local": True,
            "restarts": self.restarts,
            "last_error": self.last_error,
            "started_ms": self.started_ms,
            "status": self.status,
        }


async def _close(runner: Runner) -> None:
    try:
        await runner.close()
    except Exception as err:
        log.warning("closing bot %s: %s", runner.config.name, err)


def describe(err: BaseException | None) -> str:
    if err is None:
        return ""
    if isinstance(err, OkxError):
        return err.describe()
    if isinstance(err, VaultError):
        return str(err)
    return f"{type(err).__name__}: {err}"
