"""Telegram commands of the authorised chat, and the confirmations that guard the control ones.

Read: /status, /bots, /balance, /profit, /daily [DAYS], /help. Control (unless `okxbot serve telegram
setup --read-only`): /stop NAME and /panic PROFILE, which act only once confirmed:

- /stop NAME answers with two buttons (Stop NAME / Keep it running) and a code: pressing Stop, or
  sending "/stop NAME CODE", stops the bot (the same `Supervisor.stop_bot` as the dashboard).
- /panic PROFILE answers with an 8-digit code; "/panic PROFILE CODE" runs the panic (the same
  `Supervisor.panic` as the dashboard and the API: bots on the key stopped on every supervisor, then
  okxbot panic's response for the key).

A confirmation is single use and expires (stop 120 s, panic 60 s); a wrong code cancels it (one try,
so guessing is hopeless), as does a new request for the same bot or profile. Confirmations live in
memory: a restart forgets them, so a confirmation replayed from an old update does nothing.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from okxbot.serve import telegram_reports as reports
from okxbot.serve.supervisor import ControlError, Supervisor
from okxbot.vault.errors import VaultError

STOP_TTL_S = 120
PANIC_TTL_S = 60
COMMANDS = (
    ("status", "Bots: state, PnL, position, orders"),
    ("bots", "Bots: where they run, restarts"),
    ("balance", "Balances of the bots' keys"),
    ("profit", "PnL per bot and in total"),
    ("daily", "PnL per day (last 7 days)"),
    ("stop", "Stop a bot: /stop NAME (asks to confirm)"),
    ("panic", "Compromised key: /panic PROFILE (asks for a code)"),
    ("help", "What I can do"),
)
HELP = "okxbot commands:\n" + "\n".join(f"/{name} - {what}" for name, what in COMMANDS)
CONTROL_OFF = (
    "Control from Telegram is off for this server (set up with --read-only): use the dashboard, or run "
    "`okxbot serve telegram setup --control`."
)


@dataclass
class Pending:
    action: str
    target: str
    code: str
    token: str
    expires: float


class Confirmations:
    """Single-use, expiring confirmations, at most one per (action, target)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._pending: dict[tuple[str, str], Pending] = {}

    def new(self, action: str, target: str, ttl_s: float, digits: int = 6) -> Pending:
        self._expire()
        code = "".join(str(secrets.randbelow(10)) for _ in range(digits))
        pending = Pending(action, target, code, secrets.token_urlsafe(12), self._clock() + ttl_s)
        self._pending[(action, target)] = pending
        return pending

    def take_code(self, action: str, target: str, code: str) -> Pending | None:
        """The confirmation if `code` is its code (consumed either way: one try)."""
        self._expire()
        pending = self._pending.pop((action, target), None)
        if pending is None or not hmac.compare_digest(pending.code.encode(), code.strip().encode()):
            return None
        return pending

    def take_token(self, token: str) -> Pending | None:
        self._expire()
        for key, pending in list(self._pending.items()):
            if hmac.compare_digest(pending.token.encode(), token.encode()):
                return self._pending.pop(key)
        return None

    def _expire(self) -> None:
        now = self._clock()
        for key, pending in list(self._pending.items()):
            if pending.expires <= now:
                del self._pending[key]


@dataclass
class Reply:
    text: str
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (label, callback data), one per row
    then: Callable[[], Awaitable[str]] | None = None  # slow work; its text follows as a new message


@dataclass
class ButtonResult:
    answer: str  # the short toast on the pressed button
    edit: str | None = None  # the prompt's new text (its buttons removed)
    then: Callable[[], Awaitable[str]] | None = None


class Commands:
    def __init__(
        self,
        supervisor: Supervisor,
        engine: Engine,
        *,
        control: Callable[[], bool],
        profile_exists: Callable[[str], bool],
    ) -> None:
        self.sup = supervisor
        self.engine = engine
        self.control = control
        self.profile_exists = profile_exists
        self.confirm = Confirmations()
        self.username = ""  # the bot's @username: "/cmd@other_bot" is for another bot

    async def on_text(self, text: str) -> Reply | None:
        words = text.strip().split()
        if not words or not words[0].startswith("/"):
            return Reply("Send a command; /help lists them.")
        command, _, addressee = words[0][1:].partition("@")
        if addressee and self.username and addressee.lower() != self.username.lower():
            return None
        args = words[1:]
        command = command.lower()
        if command in ("start", "help"):
            return Reply(HELP)
        if command in ("status", "bots", "balance", "profit"):
            views = await self.sup.bot_views()
            return Reply(getattr(reports, command)(views))
        if command == "daily":
            days = int(args[0]) if args and args[0].isdigit() and 1 <= int(args[0]) <= 31 else 7
            views = await self.sup.bot_views()
            return Reply(await asyncio.to_thread(reports.daily, self.engine, views, days))
        if command == "stop":
            return await self._stop(args)
        if command == "panic":
            return await self._panic(args)
        return Reply(f"Unknown command /{command[:32]}.\n{HELP}")

    async def on_button(self, data: str) -> ButtonResult:
        choice, _, token = data.partition(":")
        pending = self.confirm.take_token(token)
        if pending is None or pending.action != "stop":
            return ButtonResult("This confirmation expired or was already used: send the command again.")
        name = pending.target
        if choice != "s":
            return ButtonResult("Not stopped", f"{name} keeps running (not stopped).")
        if not self.control():
            return ButtonResult("Control is off", CONTROL_OFF)
        return ButtonResult(f"Stopping {name}", f"Stopping {name}…", lambda: self._do_stop(name))

    # ---- control ---------------------------------------------------------------------------------
    async def _stop(self, args: list[str]) -> Reply:
        if not self.control():
            return Reply(CONTROL_OFF)
        views = await self.sup.bot_views()
        names = ", ".join(v["name"] for v in views) or "none"
        if not args:
            return Reply(f"Usage: /stop NAME. Bots: {names}")
        name = args[0]
        view = next((v for v in views if v["name"] == name), None)
        if view is None:
            return Reply(f"No bot named {name[:64]}. Bots: {names}")
        if len(args) > 1:
            if self.confirm.take_code("stop", name, args[1]) is None:
                return Reply(f"Wrong or expired code: {name} was not stopped. Send /stop {name} again.")
            return Reply(f"Stopping {name}…", then=lambda: self._do_stop(name))
        if view.get("state") in ("stopped", "failed") and view.get("desired") != "running":
            return Reply(f"{name} is not running ({view.get('state')}).")
        p = self.confirm.new("stop", name, STOP_TTL_S)
        return Reply(
            f"Stop bot {name}? Its open orders are canceled and it stays stopped until you start it "
            f"again.\nPress a button, or send /stop {name} {p.code} within {STOP_TTL_S} s.",
            buttons=[(f"Stop {name}", f"s:{p.token}"), ("Keep it running", f"k:{p.token}")],
        )

    async def _do_stop(self, name: str) -> str:
        try:
            result = await self.sup.stop_bot(name)
        except ControlError as err:
            return f"Could not stop {name}: {err}"
        summary = result.get("summary") or {}
        left = summary.get("open_orders_left")
        tail = f" Open orders left: {left}." if left is not None else ""
        return f"{name} stopped.{tail}"

    async def _panic(self, args: list[str]) -> Reply:
        if not self.control():
            return Reply(CONTROL_OFF)
        views = await self.sup.bot_views()
        in_use = sorted({str(p) for v in views for p in _profiles_of(v)}) or ["none"]
        if not args:
            return Reply(
                "Usage: /panic PROFILE (the vault profile whose key may be compromised). Profiles of your "
                f"bots: {', '.join(in_use)}"
            )
        profile = args[0]
        if len(args) > 1:
            if self.confirm.take_code("panic", profile, args[1]) is None:
                return Reply(
                    f"Wrong or expired code: nothing was done. Send /panic {profile[:64]} for a new code."
                )
            return Reply(f"PANIC for {profile} is running…", then=lambda: self._do_panic(profile))
        if not await asyncio.to_thread(self.profile_exists, profile):
            return Reply(f"No profile named {profile[:64]}. Profiles of your bots: {', '.join(in_use)}")
        p = self.confirm.new("panic", profile, PANIC_TTL_S, digits=8)
        return Reply(
            f"PANIC for profile {profile}: stops its bots on every supervisor, cancels every open order on "
            "its key, exports the last 7 days and disables the profile.\n"
            f"To go ahead, send within {PANIC_TTL_S} s:\n/panic {profile} {p.code}\nThe code works once."
        )

    async def _do_panic(self, profile: str) -> str:
        try:
            result = await self.sup.panic(profile)
        except (ControlError, VaultError) as err:
            return f"Panic for {profile} could not run: {err}"
        stopped = ", ".join(result.get("bots_stopped") or []) or "none"
        text = (
            f"Panic done for {profile}. Bots stopped: {stopped}. Orders canceled: {result.get('canceled')}.\n"
            "Done: " + ("; ".join(result.get("done") or []) or "nothing")
        )
        if result.get("not_done"):
            text += "\nNOT DONE (do these yourself): " + "; ".join(result["not_done"])
        if result.get("report_dir"):
            text += f"\nReport: {result['report_dir']}"
        return text


def _profiles_of(view: dict[str, Any]) -> list[str]:
    status = view.get("status") or {}
    return [p for p in (view.get("profile"), status.get("key_profile")) if p]
