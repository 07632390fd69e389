"""The bot registry: which bots exist, which supervisor runs each (a lease that expires), their last
status, and the control commands and events passed between supervisors through the database.

Leases: a supervisor runs a bot only while it holds the bot's lease (`owner`, `lease_until_ms`). It
takes a lease with one conditional UPDATE (free, expired, or already its own), which the database
serialises, so two supervisors can never both win; it renews its leases every few seconds; a bot
whose supervisor died is taken over once the lease has expired. A supervisor that cannot renew stops
its bots before its leases can expire (see `Supervisor`), so a bot never runs twice.
Times are each machine's wall clock (keep them NTP-synced; the lease TTL dwarfs their skew).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import Engine

from okxbot.serve import tables as t
from okxbot.serve.db import now_ms


class RegistryError(Exception):
    """A registry change that cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class BotRow:
    name: str
    config_text: str
    config_path: str
    profile: str | None
    sim_url: str | None
    desired: str
    state: str
    owner: str | None
    lease_until_ms: int
    restarts: int
    last_error: str
    status: dict[str, Any]
    created_ms: int
    updated_ms: int
    started_ms: int

    def lease_valid(self, at_ms: int | None = None) -> bool:
        return self.owner is not None and self.lease_until_ms > (at_ms or now_ms())


@dataclass(frozen=True)
class Command:
    id: int
    bot: str
    action: str
    args: dict[str, Any]
    requested_by: str
    created_ms: int
    claimed_by: str | None
    done_ms: int | None
    ok: bool | None
    result: dict[str, Any]


@dataclass(frozen=True)
class SupervisorRow:
    id: str
    host: str
    pid: int
    api_url: str
    started_ms: int
    heartbeat_ms: int


def _bot(r: Any) -> BotRow:
    try:
        status = json.loads(r.status or "{}")
    except ValueError:
        status = {}
    return BotRow(
        r.name,
        r.config_text,
        r.config_path,
        r.profile,
        r.sim_url,
        r.desired,
        r.state,
        r.owner,
        int(r.lease_until_ms or 0),
        int(r.restarts or 0),
        r.last_error or "",
        status,
        int(r.created_ms),
        int(r.updated_ms),
        int(r.started_ms or 0),
    )


def _command(r: Any) -> Command:
    return Command(
        r.id,
        r.bot,
        r.action,
        json.loads(r.args or "{}"),
        r.requested_by,
        int(r.created_ms),
        r.claimed_by,
        None if r.done_ms is None else int(r.done_ms),
        r.ok,
        json.loads(r.result or "{}"),
    )


class Registry:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ---- bots -------------------------------------------------------------------------------------
    def add_bot(
        self,
        name: str,
        config_text: str,
        *,
        config_path: str = "",
        profile: str | None = None,
        sim_url: str | None = None,
        replace: bool = False,
    ) -> BotRow:
        now = now_ms()
        values = {
            "config_text": config_text,
            "config_path": config_path,
            "profile": profile,
            "sim_url": sim_url,
            "updated_ms": now,
        }
        with self.engine.begin() as conn:
            existing = conn.execute(select(t.bots).where(t.bots.c.name == name)).first()
            if existing is not None:
                if not replace:
                    raise RegistryError(
                        f"a bot named {name!r} already exists: pick another name in its config"
                    )
                if existing.desired == "running" or existing.state in ("starting", "running", "stopping"):
                    raise RegistryError(f"bot {name!r} is running: stop it before changing its config")
                conn.execute(update(t.bots).where(t.bots.c.name == name).values(**values))
            else:
                conn.execute(
                    insert(t.bots).values(
                        name=name,
                        desired="stopped",
                        state="stopped",
                        owner=None,
                        lease_until_ms=0,
                        restarts=0,
                        last_error="",
                        status="{}",
                        created_ms=now,
                        started_ms=0,
                        **values,
                    )
                )
        row = self.bot(name)
        assert row is not None
        return row

    def remove_bot(self, name: str) -> None:
        with self.engine.begin() as conn:
            row = conn.execute(select(t.bots).where(t.bots.c.name == name)).first()
            if row is None:
                raise RegistryError(f"no bot named {name!r}")
            if row.desired == "running" or (row.owner is not None and row.lease_until_ms > now_ms()):
                raise RegistryError(f"bot {name!r} is running: stop it first")
            conn.execute(delete(t.bots).where(t.bots.c.name == name))

    def bots(self) -> list[BotRow]:
        with self.engine.connect() as conn:
            return [_bot(r) for r in conn.execute(select(t.bots).order_by(t.bots.c.name))]

    def bot(self, name: str) -> BotRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.bots).where(t.bots.c.name == name)).first()
        return None if row is None else _bot(row)

    def set_desired(self, name: str, desired: str) -> None:
        if desired not in ("running", "stopped"):
            raise ValueError(f"desired state must be running or stopped, not {desired!r}")
        with self.engine.begin() as conn:
            done = conn.execute(
                update(t.bots).where(t.bots.c.name == name).values(desired=desired, updated_ms=now_ms())
            )
        if done.rowcount == 0:
            raise RegistryError(f"no bot named {name!r}")

    def set_state(self, name: str, owner: str, state: str, **fields: Any) -> bool:
        """The owner records its bot's state (and last_error / restarts / started_ms); False if the
        bot is no longer `owner`'s."""
        allowed = {"last_error", "restarts", "started_ms"}
        if not set(fields) <= allowed:
            raise ValueError(f"unknown fields {sorted(set(fields) - allowed)}")
        if "last_error" in fields:
            fields["last_error"] = str(fields["last_error"])[:500]
        with self.engine.begin() as conn:
            done = conn.execute(
                update(t.bots)
                .where(and_(t.bots.c.name == name, t.bots.c.owner == owner))
                .values(state=state, updated_ms=now_ms(), **fields)
            )
        return done.rowcount == 1

    def write_statuses(self, owner: str, statuses: dict[str, dict[str, Any]]) -> None:
        """The owner's latest status snapshots, one transaction for all of its bots."""
        if not statuses:
            return
        now = now_ms()
        with self.engine.begin() as conn:
            for name, status in statuses.items():
                conn.execute(
                    update(t.bots)
                    .where(and_(t.bots.c.name == name, t.bots.c.owner == owner))
                    .values(status=json.dumps(status, default=str), updated_ms=now)
                )

    # ---- leases -----------------------------------------------------------------------------------
    def try_acquire(self, name: str, owner: str, ttl_ms: int) -> bool:
        """Take the bot's lease if it is free, expired or already `owner`'s (atomic)."""
        now = now_ms()
        with self.engine.begin() as conn:
            done = conn.execute(
                update(t.bots)
                .where(
                    and_(
                        t.bots.c.name == name,
                        or_(
                            t.bots.c.owner.is_(None),
                            t.bots.c.owner == owner,
                            t.bots.c.lease_until_ms < now,
                        ),
                    )
                )
                .values(owner=owner, lease_until_ms=now + ttl_ms, updated_ms=now)
            )
        return done.rowcount == 1

    def renew(self, owner: str, names: Iterable[str], ttl_ms: int) -> set[str]:
        """Extend `owner`'s leases on `names`; returns those it still holds (a lost one was taken)."""
        names = list(names)
        if not names:
            return set()
        now = now_ms()
        with self.engine.begin() as conn:
            conn.execute(
                update(t.bots)
                .where(and_(t.bots.c.owner == owner, t.bots.c.name.in_(names)))
                .values(lease_until_ms=now + ttl_ms)
            )
            held = conn.execute(
                select(t.bots.c.name).where(and_(t.bots.c.owner == owner, t.bots.c.name.in_(names)))
            ).all()
        return {r.name for r in held}

    def release(self, name: str, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(t.bots)
                .where(and_(t.bots.c.name == name, t.bots.c.owner == owner))
                .values(owner=None, lease_until_ms=0, updated_ms=now_ms())
            )

    def claimable(self) -> list[BotRow]:
        """Bots that should run and that nobody runs (never started, or their supervisor died)."""
        now = now_ms()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.bots).where(
                    and_(
                        t.bots.c.desired == "running",
                        or_(t.bots.c.owner.is_(None), t.bots.c.lease_until_ms < now),
                    )
                )
            ).all()
        return [_bot(r) for r in rows]

    # ---- supervisors ------------------------------------------------------------------------------
    def heartbeat(self, sid: str, host: str, pid: int, api_url: str, started_ms: int) -> None:
        now = now_ms()
        with self.engine.begin() as conn:
            done = conn.execute(
                update(t.supervisors)
                .where(t.supervisors.c.id == sid)
                .values(heartbeat_ms=now, api_url=api_url, host=host, pid=pid)
            )
            if done.rowcount == 0:
                conn.execute(
                    insert(t.supervisors).values(
                        id=sid, host=host, pid=pid, api_url=api_url, started_ms=started_ms, heartbeat_ms=now
                    )
                )

    def supervisors(self) -> list[SupervisorRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.supervisors).order_by(t.supervisors.c.started_ms)).all()
        return [SupervisorRow(r.id, r.host, r.pid, r.api_url, r.started_ms, r.heartbeat_ms) for r in rows]

    def forget_supervisor(self, sid: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(t.supervisors).where(t.supervisors.c.id == sid))

    # ---- commands (control actions for a bot another supervisor runs) -------------------------------
    def enqueue(self, bot: str, action: str, args: dict[str, Any], requested_by: str) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(t.commands).values(
                    bot=bot,
                    action=action,
                    args=json.dumps(args),
                    requested_by=requested_by,
                    created_ms=now_ms(),
                    result="{}",
                )
            )
            return int(result.inserted_primary_key[0])

    def claim_commands(self, owner: str, bots: Iterable[str]) -> list[Command]:
        """Unclaimed commands for `bots` (the ones `owner` runs), now claimed by `owner`."""
        names = list(bots)
        if not names:
            return []
        claimed: list[Command] = []
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(t.commands)
                .where(and_(t.commands.c.claimed_by.is_(None), t.commands.c.bot.in_(names)))
                .order_by(t.commands.c.id)
            ).all()
            for r in rows:
                done = conn.execute(
                    update(t.commands)
                    .where(and_(t.commands.c.id == r.id, t.commands.c.claimed_by.is_(None)))
                    .values(claimed_by=owner)
                )
                if done.rowcount == 1:
                    claimed.append(_command(r))
        return claimed

    def finish_command(self, cid: int, ok: bool, result: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(t.commands)
                .where(t.commands.c.id == cid)
                .values(ok=ok, result=json.dumps(result, default=str), done_ms=now_ms())
            )

    def command(self, cid: int) -> Command | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.commands).where(t.commands.c.id == cid)).first()
        return None if row is None else _command(row)

    # ---- events -----------------------------------------------------------------------------------
    def append_events(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        with self.engine.begin() as conn:
            conn.execute(
                insert(t.events),
                [
                    {
                        "ts_ms": r["ts_ms"],
                        "bot": r["bot"],
                        "kind": r["kind"],
                        "origin": r["origin"],
                        "data": json.dumps(r["data"], default=str),
                    }
                    for r in rows
                ],
            )

    def last_event_id(self) -> int:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.events.c.id).order_by(t.events.c.id.desc()).limit(1)).all()
        return int(rows[0].id) if rows else 0

    def events_after(
        self, after_id: int, *, exclude_origin: str | None = None, limit: int = 500
    ) -> list[tuple[int, dict[str, Any]]]:
        query = select(t.events).where(t.events.c.id > after_id)
        if exclude_origin is not None:
            query = query.where(t.events.c.origin != exclude_origin)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.events.c.id).limit(limit)).all()
        return [
            (
                int(r.id),
                {
                    "kind": r.kind,
                    "bot": r.bot,
                    "origin": r.origin,
                    "ts_ms": int(r.ts_ms),
                    "data": json.loads(r.data),
                },
            )
            for r in rows
        ]

    def recent_events(self, bot: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        query = select(t.events)
        if bot is not None:
            query = query.where(t.events.c.bot == bot)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.events.c.id.desc()).limit(limit)).all()
        return [
            {
                "id": int(r.id),
                "kind": r.kind,
                "bot": r.bot,
                "origin": r.origin,
                "ts_ms": int(r.ts_ms),
                "data": json.loads(r.data),
            }
            for r in rows
        ]

    def prune(self, older_than_ms: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(t.events).where(t.events.c.ts_ms < older_than_ms))
            conn.execute(
                delete(t.commands).where(
                    and_(t.commands.c.done_ms.is_not(None), t.commands.c.done_ms < older_than_ms)
                )
            )
