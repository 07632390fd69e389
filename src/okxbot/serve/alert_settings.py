"""Alert settings: which events go where, kept in the serve database (table serve_settings).

One row, key "alerts", holds a JSON document that every supervisor sharing the database reads (a
running `okxbot serve` picks up a change within `RELOAD_S`):

    {"levels":   {"fill": "silent", "halted": "on", ...},      # Telegram: on | silent | off per kind
     "telegram": {"chat_id": 123456789, "control": true,       # the one authorised chat (None: none yet)
                  "token_ms": ..., "changed_ms": ...} | null,   # null: Telegram not set up
     "webhooks": {"NAME": {"kinds": ["fill", ...], "host": "https://example.com",
                           "enabled": true, "secret_ms": ..., "changed_ms": ...}}}

`token_ms` / `secret_ms` say when the vault entry was last stored: a supervisor reloads a channel's
secrets from its vault when they change (the levels, filters and chat id apply without a reload).

Secrets are never here: the bot token (and the one host it is sent to) and each webhook's URL and
signing secret live in the vault (`okxbot.vault.named_secrets`, kinds "telegram" and "webhook") of
each machine that runs `okxbot serve`. Changes are compare-and-swap on the row, so two commands
changing settings at once never lose one another's change.

A second row, key "alerts-leader", elects the one supervisor that sends alerts and polls Telegram
(Telegram allows one poller per bot token): value = its id, updated_ms = when its lease ends.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from okxbot.serve import tables as t
from okxbot.serve.db import now_ms

KEY = "alerts"
LEADER_KEY = "alerts-leader"
RELOAD_S = 2.0
LEVELS = ("on", "silent", "off")
# alert kind: what it is (for --help and `alerts show`)
ALERT_KINDS: dict[str, str] = {
    "fill": "a bot's order filled (partly or fully)",
    "halted": "the risk guard halted a bot (e.g. daily loss limit)",
    "foreign_order": "an order okxbot did not place is on a bot's key",
    "posture": "a posture check of a key is failing (okxbot doctor's checks)",
    "rate_limited": "a burst of OKX rate-limit answers (50011)",
    "crash": "a bot crashed, restarted, or failed for good",
    "panic": "a panic ran (dashboard, API or Telegram)",
}
DEFAULT_LEVELS = {kind: "on" for kind in ALERT_KINDS} | {"fill": "silent"}
_WEBHOOK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


class SettingsError(ValueError):
    """A setting that cannot be applied; the message says what to give instead."""


@dataclass(frozen=True)
class WebhookSettings:
    name: str
    kinds: frozenset[str]
    host: str
    enabled: bool
    changed_ms: int
    secret_ms: int = 0


@dataclass(frozen=True)
class AlertSettings:
    levels: dict[str, str]
    telegram: dict[str, Any] | None
    webhooks: dict[str, WebhookSettings]
    raw: dict[str, Any]

    @property
    def chat_id(self) -> int | None:
        chat = (self.telegram or {}).get("chat_id")
        return int(chat) if chat is not None else None

    @property
    def telegram_control(self) -> bool:
        return bool((self.telegram or {}).get("control", True))

    def level(self, kind: str) -> str:
        return self.levels.get(kind, DEFAULT_LEVELS.get(kind, "on"))


def parse(raw: dict[str, Any]) -> AlertSettings:
    levels = dict(DEFAULT_LEVELS)
    levels.update({k: v for k, v in (raw.get("levels") or {}).items() if k in ALERT_KINDS and v in LEVELS})
    hooks = {}
    for name, hook in (raw.get("webhooks") or {}).items():
        hooks[name] = WebhookSettings(
            name=name,
            kinds=frozenset(k for k in hook.get("kinds", ALERT_KINDS) if k in ALERT_KINDS),
            host=str(hook.get("host", "")),
            enabled=bool(hook.get("enabled", True)),
            changed_ms=int(hook.get("changed_ms", 0)),
            secret_ms=int(hook.get("secret_ms", 0)),
        )
    return AlertSettings(levels, raw.get("telegram"), hooks, raw)


def check_kinds(kinds: list[str] | str) -> list[str]:
    """Alert kinds from a list or "a,b,c" ("all": every kind); SettingsError names an unknown one."""
    items = [k.strip() for k in (kinds.split(",") if isinstance(kinds, str) else kinds) if k.strip()]
    if items == ["all"]:
        return list(ALERT_KINDS)
    unknown = [k for k in items if k not in ALERT_KINDS]
    if unknown or not items:
        raise SettingsError(
            f"unknown alert kind {', '.join(unknown) or '(none given)'}: use all, or some of "
            f"{', '.join(ALERT_KINDS)}"
        )
    return items


def check_webhook_name(name: str) -> str:
    if not _WEBHOOK_NAME.match(name or ""):
        raise SettingsError(
            f"{name!r} is not a valid webhook name: use 1-40 letters, digits, '.', '_' or '-'"
        )
    return name


class AlertStore:
    """Read and change the alert settings, and hold the alert leader's lease."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self) -> AlertSettings:
        return parse(self._read()[0])

    def change(self, fn: Callable[[dict[str, Any]], None]) -> AlertSettings:
        """Apply `fn` to a copy of the settings document and store it (retried if another writer won)."""
        for _ in range(20):
            raw, stored = self._read()
            new = copy.deepcopy(raw)
            fn(new)
            value = json.dumps(new, sort_keys=True)
            with self.engine.begin() as conn:
                if stored is None:
                    try:
                        conn.execute(insert(t.settings).values(key=KEY, value=value, updated_ms=now_ms()))
                        return parse(new)
                    except IntegrityError:
                        continue
                done = conn.execute(
                    update(t.settings)
                    .where(t.settings.c.key == KEY, t.settings.c.value == stored)
                    .values(value=value, updated_ms=now_ms())
                )
                if done.rowcount == 1:
                    return parse(new)
        raise SettingsError("the alert settings kept changing under this command: try again")

    def set_level(self, kinds: list[str], level: str) -> AlertSettings:
        if level not in LEVELS:
            raise SettingsError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
        chosen = check_kinds(kinds)

        def fn(raw: dict[str, Any]) -> None:
            levels = raw.setdefault("levels", {})
            for kind in chosen:
                levels[kind] = level

        return self.change(fn)

    def set_telegram(self, **fields: Any) -> AlertSettings:
        """Create or update the Telegram section (chat_id, control); None values are left as they are."""

        def fn(raw: dict[str, Any]) -> None:
            section = raw.get("telegram") or {"chat_id": None, "control": True}
            section.update({k: v for k, v in fields.items() if v is not None})
            section["changed_ms"] = now_ms()
            raw["telegram"] = section

        return self.change(fn)

    def remove_telegram(self) -> AlertSettings:
        return self.change(lambda raw: raw.update({"telegram": None}))

    def set_webhook(self, name: str, *, kinds: list[str] | None = None, host: str | None = None,
                    enabled: bool | None = None, secret_ms: int | None = None) -> AlertSettings:  # fmt: skip
        check_webhook_name(name)
        chosen = check_kinds(kinds) if kinds is not None else None

        def fn(raw: dict[str, Any]) -> None:
            hooks = raw.setdefault("webhooks", {})
            hook = hooks.get(name) or {"kinds": list(ALERT_KINDS), "host": "", "enabled": True}
            if chosen is not None:
                hook["kinds"] = chosen
            if host is not None:
                hook["host"] = host
            if enabled is not None:
                hook["enabled"] = enabled
            if secret_ms is not None:
                hook["secret_ms"] = secret_ms
            hook["changed_ms"] = now_ms()
            hooks[name] = hook

        return self.change(fn)

    def remove_webhook(self, name: str) -> bool:
        found: list[bool] = []

        def fn(raw: dict[str, Any]) -> None:
            found.append((raw.get("webhooks") or {}).pop(name, None) is not None)

        self.change(fn)
        return bool(found and found[-1])

    # ---- the alert leader ------------------------------------------------------------------------
    def lead(self, sid: str, ttl_ms: int) -> bool:
        """Take or renew the alert lease (free, expired or ours); True while `sid` holds it."""
        now = now_ms()
        c = t.settings.c
        with self.engine.begin() as conn:
            done = conn.execute(
                update(t.settings)
                .where(c.key == LEADER_KEY, or_(c.value == sid, c.updated_ms < now))
                .values(value=sid, updated_ms=now + ttl_ms)
            )
            if done.rowcount == 1:
                return True
        try:  # no row yet: the first to insert it leads
            with self.engine.begin() as conn:
                conn.execute(insert(t.settings).values(key=LEADER_KEY, value=sid, updated_ms=now + ttl_ms))
            return True
        except IntegrityError:
            return False

    def leader(self) -> tuple[str, int] | None:
        """(supervisor id, lease end ms) of the alert leader, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.settings.c.value, t.settings.c.updated_ms).where(t.settings.c.key == LEADER_KEY)
            ).first()
        return None if row is None else (str(row.value), int(row.updated_ms))

    def resign(self, sid: str) -> None:
        c = t.settings.c
        with self.engine.begin() as conn:
            conn.execute(update(t.settings).where(c.key == LEADER_KEY, c.value == sid).values(updated_ms=0))

    def _read(self) -> tuple[dict[str, Any], str | None]:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.settings.c.value).where(t.settings.c.key == KEY)).first()
        if row is None:
            return {}, None
        try:
            raw = json.loads(row.value)
        except ValueError:
            raw = {}
        return (raw if isinstance(raw, dict) else {}), str(row.value)
