"""The supervisor: runs many bots in this process, keeps them running, and shares them with the other
supervisors of the same database.

Each bot runs in a `BotSlot` (okxbot.serve.bot_slot): a task that builds a `Runner` (which reconciles
with the exchange before its first order), watches it, restarts it after a crash with an exponential
backoff (1 s doubling to 60 s, reset once it has run a minute), and stops it cleanly (open orders
canceled per its config). Errors a restart cannot cure (a bad config, a missing or unsafe key) leave
it "failed" until started again. Bot states: stopped, starting, running, stopping, backoff (waiting
to restart), failed.

The registry (okxbot.serve.registry) is the truth shared by all supervisors: a bot runs where its
lease is held; `desired` says whether it should run at all. Every `renew_s` a supervisor renews its
leases (a lost one stops its copy at once), applies `desired` to its own bots, and takes over bots
that should run but whose lease expired (their supervisor died). Control actions for a bot another
supervisor runs are queued as commands in the database, executed by the owner within ~0.5 s, and
their results returned to the caller. Events are shipped to the database (~0.25 s) and imported by
the other supervisors, whose dashboards so see every bot live. On a clean shutdown the bots are
stopped and their leases released with `desired` kept, so that the next start resumes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from okxbot.okx.client import ClientConfig, process_limiter
from okxbot.okx.ratelimit import RateLimiter, limiter_from_url
from okxbot.serve.bot_slot import BotSlot, describe
from okxbot.serve.events import EventBus
from okxbot.serve.instrument import Observer
from okxbot.serve.registry import BotRow, Registry
from okxbot.serve.shared_clients import SharedClients
from okxbot.trading.config import ConfigError, parse_config

if TYPE_CHECKING:
    from okxbot.cli.target import Target
    from okxbot.trading.runner import Runner

log = logging.getLogger("okxbot.serve.supervisor")


class ControlError(Exception):
    """A control action that cannot be done; the message says why (shown to the user)."""


def default_sid(home: Path) -> str:
    """This machine's supervisor id: stable across restarts (so it takes its own bots back at once),
    distinct per data directory."""
    digest = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:6]
    return f"{socket.gethostname()[:60]}-{digest}"


@dataclass
class SupervisorConfig:
    sid: str
    data_dir: Path
    journal_url: str  # the serve database: registry, and the journal of bots that name none
    api_url: str = ""
    lease_ttl_s: float = 15.0
    renew_s: float = 5.0
    sync_s: float = 0.25
    status_s: float = 1.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    stable_s: float = 60.0
    stop_timeout_s: float = 60.0
    command_timeout_s: float = 30.0
    rate_limit_url: str | None = None  # redis://... when supervisors share keys
    client_options: dict[str, Any] = field(default_factory=dict)  # extra ClientConfig fields


class Supervisor:
    def __init__(
        self,
        registry: Registry,
        config: SupervisorConfig,
        *,
        bus: EventBus | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.registry = registry
        self.config = config
        self.sid = config.sid
        self.bus = bus or EventBus(config.sid)
        self.observer = observer
        self.slots: dict[str, BotSlot] = {}
        self.limiter: RateLimiter = (
            limiter_from_url(config.rate_limit_url) if config.rate_limit_url else process_limiter()
        )
        self.clients = SharedClients(limiter=self.limiter, owner_of=self._owner_of, observer=observer)
        self.started_ms = int(time.time() * 1000)
        self.usage: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._last_event_id = 0
        self._outbox: list[dict[str, Any]] = []
        self._renewed_at = time.monotonic()
        self._remote_seen: dict[str, int] = {}
        self._outbox_sub = self.bus.subscribe(
            {"order", "fill", "bot", "halted", "foreign_order", "rate_limited", "crash", "posture", "panic"},
            maxsize=10_000,
        )
        self.on_panic: Callable[[Target], Awaitable[Any]] | None = None  # set by the app (tests may replace)

    # ---- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        reg = self.registry
        await asyncio.to_thread(
            reg.heartbeat, self.sid, socket.gethostname(), os.getpid(), self.config.api_url, self.started_ms
        )
        self._last_event_id = await asyncio.to_thread(reg.last_event_id)
        await self._claim()
        self._tasks = [
            asyncio.ensure_future(self._renew_loop()),
            asyncio.ensure_future(self._sync_loop()),
            asyncio.ensure_future(self._status_loop()),
        ]

    async def close(self) -> None:
        """Stop every bot here cleanly and release its lease (its `desired` stays: a restart resumes it)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await asyncio.gather(*(slot.stop() for slot in self.slots.values()), return_exceptions=True)
        for name in list(self.slots):
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.registry.release, name, self.sid)
        self.slots.clear()
        with contextlib.suppress(Exception):
            await self._flush_events()
            await asyncio.to_thread(self.registry.forget_supervisor, self.sid)
        self._outbox_sub.close()
        await self.clients.close()
        if self.config.rate_limit_url:
            await self.limiter.close()

    # ---- building a bot -----------------------------------------------------------------------------
    async def build_runner(self, row: BotRow) -> Runner:
        from okxbot.trading.runner import Runner

        path = Path(row.config_path) if row.config_path else self.config.data_dir / f"{row.name}.toml"
        config = parse_config(row.config_text, str(path))
        if config.name != row.name:
            raise ConfigError(
                str(path), None, f"the config names bot {config.name!r}", f"name it {row.name!r}"
            )
        if config.run.journal_url is None:  # journal where the registry is: every supervisor sees it
            config = config.model_copy(
                update={"run": config.run.model_copy(update={"journal_url": self.config.journal_url})}
            )
        target = await asyncio.to_thread(_resolve, row.profile, row.sim_url, "trade")
        client_config = ClientConfig(rest_url=target.base_url, demo=target.demo, **self.config.client_options)
        return Runner(
            config,
            target,
            config_path=path,
            data_dir=self.config.data_dir,
            client_config=client_config,
            clients=self.clients,
        )

    def _owner_of(self, cid: str) -> str | None:
        for slot in self.slots.values():
            runner = slot.runner
            if runner is not None and runner.journal is not None:
                record = runner.journal.order(cid)
                if record is not None:
                    return record.bot
        return None

    # ---- loops -----------------------------------------------------------------------------------
    async def _renew_loop(self) -> None:
        cfg = self.config
        while True:
            await asyncio.sleep(cfg.renew_s)
            try:
                await self._renew()
                self._renewed_at = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.error("supervisor %s could not renew its leases: %s", self.sid, err)
                # stop before the leases can expire and another supervisor starts the same bots
                if time.monotonic() - self._renewed_at > cfg.lease_ttl_s - cfg.renew_s:
                    for slot in list(self.slots.values()):
                        log.error("stopping bot %s: its lease cannot be renewed", slot.name)
                        await slot.stop(abandon=True)
                        self.slots.pop(slot.name, None)

    async def _renew(self) -> None:
        reg, ttl = self.registry, int(self.config.lease_ttl_s * 1000)
        await asyncio.to_thread(
            reg.heartbeat, self.sid, socket.gethostname(), os.getpid(), self.config.api_url, self.started_ms
        )
        for name, slot in list(self.slots.items()):
            if slot.done:
                self.slots.pop(name, None)
                await asyncio.to_thread(reg.release, name, self.sid)
        held = await asyncio.to_thread(reg.renew, self.sid, list(self.slots), ttl)
        for name in list(self.slots):
            if name not in held:
                log.error("bot %s: lease taken by another supervisor; stopping this copy", name)
                await self.slots.pop(name).stop(abandon=True)
        rows = {r.name: r for r in await asyncio.to_thread(reg.bots)}
        for name in list(self.slots):
            row = rows.get(name)
            if row is None or row.desired != "running":
                await self._stop_local(name)
        await self._claim()

    async def _claim(self) -> None:
        """Start the bots that should run and that nobody runs (ours from before a restart included)."""
        rows = await asyncio.to_thread(self.registry.claimable)
        mine = [r for r in await asyncio.to_thread(self.registry.bots) if r.owner == self.sid]
        for row in [*rows, *mine]:
            if row.desired != "running" or row.name in self.slots:
                continue
            ttl = int(self.config.lease_ttl_s * 1000)
            if await asyncio.to_thread(self.registry.try_acquire, row.name, self.sid, ttl):
                self._launch(row)

    def _launch(self, row: BotRow) -> BotSlot:
        slot = BotSlot(self, row)
        self.slots[row.name] = slot
        slot.launch()
        return slot

    async def _stop_local(self, name: str) -> dict[str, Any] | None:
        slot = self.slots.get(name)
        if slot is None:
            return None
        summary = await slot.stop()
        self.slots.pop(name, None)
        await asyncio.to_thread(self.registry.release, name, self.sid)
        return summary

    async def _sync_loop(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(self.config.sync_s)
            ticks += 1
            try:
                await self._flush_events()
                await self._import_events()
                if ticks % 2 == 0:
                    await self._run_commands()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("supervisor sync: %s", err)

    async def _flush_events(self) -> None:
        while (event := self._outbox_sub.get_nowait()) is not None:
            if event.origin == self.sid:
                self._outbox.append(event.as_dict())
        if self._outbox:
            rows, self._outbox = self._outbox, []
            await asyncio.to_thread(self.registry.append_events, rows)

    async def _import_events(self) -> None:
        rows = await asyncio.to_thread(
            self.registry.events_after, self._last_event_id, exclude_origin=self.sid
        )
        for event_id, row in rows:
            self._last_event_id = max(self._last_event_id, event_id)
            with contextlib.suppress(ValueError):
                self.bus.publish(row["kind"], row["bot"], row["data"], origin=row["origin"])
        if not rows:
            # also move past our own events, so the next query starts after them
            self._last_event_id = max(
                self._last_event_id, await asyncio.to_thread(self.registry.last_event_id)
            )

    async def _run_commands(self) -> None:
        commands = await asyncio.to_thread(self.registry.claim_commands, self.sid, list(self.slots))
        for command in commands:
            try:
                result = await self._execute_local(command.bot, command.action, command.args)
                await asyncio.to_thread(self.registry.finish_command, command.id, True, result)
            except Exception as err:
                await asyncio.to_thread(
                    self.registry.finish_command, command.id, False, {"error": describe(err)}
                )

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.status_s)
            try:
                self.usage = await self.limiter.usage(top=200)
                changed: dict[str, dict[str, Any]] = {}
                for slot in list(self.slots.values()):
                    status = slot.refresh(self.usage)
                    if status is not None:
                        changed[slot.name] = status
                        self.bus.publish("status", slot.name, slot.view())
                if changed:
                    await asyncio.to_thread(self.registry.write_statuses, self.sid, changed)
                await self._publish_remote_statuses()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("supervisor status: %s", err)

    async def _publish_remote_statuses(self) -> None:
        """Bots run by other supervisors: their snapshots from the database, as status events."""
        for row in await asyncio.to_thread(self.registry.bots):
            if row.name in self.slots or row.owner in (None, self.sid):
                continue
            if self._remote_seen.get(row.name) == row.updated_ms:
                continue
            self._remote_seen[row.name] = row.updated_ms
            self.bus.publish("status", row.name, row_view(row, self.sid), origin=row.owner or "")

    # ---- views ------------------------------------------------------------------------------------
    async def bot_views(self) -> list[dict[str, Any]]:
        rows = await asyncio.to_thread(self.registry.bots)
        return [
            self.slots[r.name].view() | _row_fields(r) if r.name in self.slots else row_view(r, self.sid)
            for r in rows
        ]

    async def bot_view(self, name: str) -> dict[str, Any] | None:
        row = await asyncio.to_thread(self.registry.bot, name)
        if row is None:
            return None
        if name in self.slots:
            return self.slots[name].view() | _row_fields(row)
        return row_view(row, self.sid)

    # ---- control actions ----------------------------------------------------------------------------
    async def start_bot(self, name: str) -> dict[str, Any]:
        row = await asyncio.to_thread(self.registry.bot, name)
        if row is None:
            raise ControlError(f"no bot named {name!r}")
        await asyncio.to_thread(self.registry.set_desired, name, "running")
        if name in self.slots and not self.slots[name].done:
            return {"bot": name, "owner": self.sid, "state": self.slots[name].state}
        if row.lease_valid() and row.owner != self.sid:
            return {"bot": name, "owner": row.owner, "state": row.state}
        ttl = int(self.config.lease_ttl_s * 1000)
        if not await asyncio.to_thread(self.registry.try_acquire, name, self.sid, ttl):
            fresh = await asyncio.to_thread(self.registry.bot, name)
            return {
                "bot": name,
                "owner": fresh.owner if fresh else None,
                "state": fresh.state if fresh else "",
            }
        row = await asyncio.to_thread(self.registry.bot, name)
        assert row is not None
        self._launch(row)
        return {"bot": name, "owner": self.sid, "state": "starting"}

    async def stop_bot(self, name: str) -> dict[str, Any]:
        row = await asyncio.to_thread(self.registry.bot, name)
        if row is None:
            raise ControlError(f"no bot named {name!r}")
        await asyncio.to_thread(self.registry.set_desired, name, "stopped")
        if name in self.slots:
            summary = await self._stop_local(name)
            return {"bot": name, "state": "stopped", "summary": summary}
        if row.lease_valid() and row.owner != self.sid:
            return await self._remote(row, "stop", {})
        await asyncio.to_thread(self.registry.set_state, name, row.owner or "", "stopped")
        return {"bot": name, "state": "stopped", "summary": None}

    async def cancel_order(self, name: str, client_order_id: str) -> dict[str, Any]:
        return await self._act(name, "cancel", {"client_order_id": client_order_id})

    async def cancel_all(self, name: str) -> dict[str, Any]:
        return await self._act(name, "cancel_all", {})

    async def _act(self, name: str, action: str, args: dict[str, Any]) -> dict[str, Any]:
        if name in self.slots:
            return await self._execute_local(name, action, args)
        row = await asyncio.to_thread(self.registry.bot, name)
        if row is None:
            raise ControlError(f"no bot named {name!r}")
        if not row.lease_valid():
            raise ControlError(f"bot {name!r} is not running: start it first")
        return await self._remote(row, action, args)

    async def _execute_local(self, name: str, action: str, args: dict[str, Any]) -> dict[str, Any]:
        slot = self.slots.get(name)
        if slot is None:
            raise ControlError(f"bot {name!r} does not run on supervisor {self.sid}")
        if action == "stop":
            await asyncio.to_thread(self.registry.set_desired, name, "stopped")
            summary = await self._stop_local(name)
            return {"bot": name, "state": "stopped", "summary": summary}
        runner = slot.runner
        if runner is None or runner.manager is None or slot.state != "running":
            raise ControlError(f"bot {name!r} is {slot.state}, not running")
        if action == "cancel":
            cid = str(args.get("client_order_id") or "")
            if cid not in {o.client_order_id for o in runner.manager.open_orders()}:
                raise ControlError(f"bot {name!r} has no open order {cid!r}")
            ok = await runner.manager.cancel(cid)
            return {"bot": name, "client_order_id": cid, "canceled": ok}
        if action == "cancel_all":
            left = await runner.manager.cancel_all_own()
            return {"bot": name, "open_orders_left": left}
        raise ControlError(f"unknown action {action!r}")

    async def _remote(self, row: BotRow, action: str, args: dict[str, Any]) -> dict[str, Any]:
        cid = await asyncio.to_thread(self.registry.enqueue, row.name, action, args, self.sid)
        deadline = time.monotonic() + self.config.command_timeout_s
        while time.monotonic() < deadline:
            command = await asyncio.to_thread(self.registry.command, cid)
            if command is not None and command.done_ms is not None:
                if not command.ok:
                    raise ControlError(str(command.result.get("error") or "the owning supervisor refused"))
                return command.result | {"via": row.owner}
            await asyncio.sleep(0.1)  # the owner polls its commands every ~0.5 s
        raise ControlError(
            f"supervisor {row.owner} did not answer within {self.config.command_timeout_s:g} s; "
            "the command stays queued"
        )

    async def panic(self, profile: str) -> dict[str, Any]:
        """Stop every bot on `profile` (on every supervisor), then okxbot panic's response for the key."""
        rows = [
            r
            for r in await asyncio.to_thread(self.registry.bots)
            if profile in (r.profile, r.status.get("key_profile"))
        ]
        stopped = []
        for row in rows:
            if row.desired == "running" or row.name in self.slots or row.lease_valid():
                with contextlib.suppress(ControlError):
                    await self.stop_bot(row.name)
                    stopped.append(row.name)
        target = await asyncio.to_thread(_resolve_panic, profile)
        if self.on_panic is None:
            raise ControlError("panic is not available in this supervisor")
        outcome = await self.on_panic(target)
        result = {
            "profile": profile,
            "bots_stopped": stopped,
            "done": list(outcome.done),
            "not_done": list(outcome.not_done),
            "report_dir": outcome.report_dir,
            "canceled": outcome.canceled,
        }
        self.bus.publish("panic", "", result)
        return result


def _row_fields(row: BotRow) -> dict[str, Any]:
    return {
        "profile": row.profile,
        "sim_url": row.sim_url,
        "desired": row.desired,
        "config_path": row.config_path,
        "created_ms": row.created_ms,
    }


def row_view(row: BotRow, me: str) -> dict[str, Any]:
    """A bot as the registry knows it (another supervisor's, or not running)."""
    running = row.lease_valid()
    return {
        "name": row.name,
        "state": row.state if running or row.state == "failed" else "stopped",
        "owner": row.owner if running else None,
        "local": False,
        "restarts": row.restarts,
        "last_error": row.last_error,
        "started_ms": row.started_ms,
        "status": row.status if running else _static_status(row),
        **_row_fields(row),
    }


def _static_status(row: BotRow) -> dict[str, Any]:
    try:
        config = parse_config(row.config_text, row.config_path or row.name)
    except ConfigError:
        return dict(row.status)
    return {**row.status, "symbol": config.symbol, "strategy": config.strategy}


def _resolve(profile: str | None, sim: str | None, need: str) -> Target:
    # the one rule for which key goes to which host lives with the CLI's target resolution
    from okxbot.cli.target import resolve_target

    return resolve_target(profile, sim, need=need)  # type: ignore[arg-type]


def _resolve_panic(profile: str) -> Target:
    from okxbot.cli.target import resolve_target

    return resolve_target(profile, None, need="data", allow_disabled=True)
