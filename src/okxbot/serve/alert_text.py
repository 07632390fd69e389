"""Alerts: what a supervisor event means for the owner, as one `Alert` with a plain-text sentence.

The same `Alert` goes to Telegram (its `text`, plain text: a bot name or an error holding markup is
shown as typed, never interpreted) and to webhooks (`payload()`, JSON). `AlertMaker` turns events of
the bus (okxbot.serve.events) into alerts; it remembers which bots crashed, so that a crashed bot
running again is told as "restarted".

Alert `kind` (what the levels and webhook filters name, see alert_settings.ALERT_KINDS) and `event`
(what happened): fill/fill, halted/halted, foreign_order/foreign_order, posture/posture,
rate_limited/rate_limited, crash/crash (restart scheduled), crash/restarted, crash/failed (will not
restart), panic/panic; and test/test (`okxbot serve alerts test`). A bot's rate-limit bursts alert
at most once a minute (the next alert says how many were held back).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from okxbot.serve.events import Event
from okxbot.vault import redact

SIDE_WORD = {"buy": "bought", "sell": "sold"}


@dataclass(frozen=True)
class Alert:
    kind: str
    event: str
    bot: str
    text: str
    data: dict[str, Any]
    ts_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    origin: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def payload(self) -> dict[str, Any]:
        """The webhook body (see README "Webhooks" for the fields)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "event": self.event,
            "bot": self.bot,
            "ts_ms": self.ts_ms,
            "origin": self.origin,
            "text": self.text,
            "data": self.data,
        }


def trial_alert(origin: str) -> Alert:
    return Alert(
        "test", "test", "", "okxbot: test alert. If you read this, alerts reach you.", {}, origin=origin
    )


RATE_LIMITED_EVERY_S = 60.0  # a bot under sustained 50011s would otherwise alert every few seconds


class AlertMaker:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._crashed: set[str] = set()
        self._clock = clock
        self._limited: dict[str, tuple[float, int]] = {}  # bot -> (last alert, bursts held back since)

    def alert(self, event: Event) -> Alert | None:
        """The alert an event makes, or None (an order change, a status refresh, a normal stop...)."""
        made = self._make(event)
        if made is None:
            return None
        kind, name, text = made
        # error texts come from exceptions: never let one carry a secret to a phone or a URL
        return Alert(kind, name, event.bot, redact.scrub(text), event.data, event.ts_ms, event.origin)

    def _make(self, event: Event) -> tuple[str, str, str] | None:
        d, bot = event.data, event.bot
        if event.kind == "fill":
            side = SIDE_WORD.get(str(d.get("side")), str(d.get("side")))
            fee = f" (fee {d['fee']} {d.get('fee_ccy', '')})" if d.get("fee") not in (None, "", "0") else ""
            return "fill", "fill", f"{bot}: {side} {d.get('size')} {d.get('symbol')} at {d.get('price')}{fee}"
        if event.kind == "halted":
            return (
                "halted",
                "halted",
                (
                    f"{bot}: HALTED by the risk guard (rule {d.get('rule')}). It places no new orders and its "
                    "open orders are canceled; see the dashboard."
                ),
            )
        if event.kind == "foreign_order":
            return (
                "foreign_order",
                "foreign_order",
                (
                    f"{bot}: order {d.get('order_id')} on {d.get('symbol')} is on this key but okxbot did not "
                    "place it. If you did not either, the key may be in other hands: /panic PROFILE."
                ),
            )
        if event.kind == "posture":
            checks = "; ".join(
                f"{c.get('check')}: {c.get('detail', '')}".strip()
                + (f" (fix: {c['fix']})" if c.get("fix") else "")
                for c in d.get("checks", [])
            )
            return "posture", "posture", f"Key posture of profile {d.get('profile')} is failing: {checks}"
        if event.kind == "rate_limited":
            now = self._clock()
            last, held = self._limited.get(bot, (float("-inf"), 0))
            if now - last < RATE_LIMITED_EVERY_S:
                self._limited[bot] = (last, held + 1)
                return None
            self._limited[bot] = (now, 0)
            more = f" ({held} more bursts in the last minutes)" if held else ""
            return (
                "rate_limited",
                "rate_limited",
                (
                    f"{bot}: {d.get('count')} rate-limit answers (50011) from OKX within {d.get('window_s')} s.{more}"
                ),
            )
        if event.kind == "crash":
            self._crashed.add(bot)
            return (
                "crash",
                "crash",
                (
                    f"{bot} CRASHED: {d.get('error') or 'unknown error'}. Restart #{d.get('restarts')} in "
                    f"{d.get('restart_in_s')} s."
                ),
            )
        if event.kind == "bot":
            return self._state(bot, d)
        if event.kind == "panic":
            done = "; ".join(d.get("done") or []) or "nothing"
            not_done = "; ".join(d.get("not_done") or [])
            stopped = ", ".join(d.get("bots_stopped") or []) or "none"
            text = f"PANIC ran for profile {d.get('profile')}. Bots stopped: {stopped}. Done: {done}."
            if not_done:
                text += f" NOT DONE: {not_done}."
            return "panic", "panic", text
        return None

    def _state(self, bot: str, d: dict[str, Any]) -> tuple[str, str, str] | None:
        state = d.get("state")
        if state == "failed":
            self._crashed.discard(bot)
            return (
                "crash",
                "failed",
                (
                    f"{bot} FAILED and will not restart by itself: {d.get('error') or 'see its log'}. Fix the "
                    "cause, then start it again."
                ),
            )
        if state == "running" and bot in self._crashed:
            self._crashed.discard(bot)
            return "crash", "restarted", f"{bot} is running again after a crash."
        if state == "stopped":
            self._crashed.discard(bot)
        return None
