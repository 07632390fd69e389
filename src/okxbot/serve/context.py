"""`ServeContext`: everything the HTTP layer reaches, built once by `okxbot.serve.server`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from okxbot.serve.access import AccessStore
from okxbot.serve.botlogs import BotLogs
from okxbot.serve.journal_views import JournalViews
from okxbot.serve.metrics import Metrics
from okxbot.serve.posture_watch import PostureWatch
from okxbot.serve.registry import Registry
from okxbot.serve.supervisor import Supervisor

COOKIE = "okxbot_session"
COOKIE_TLS = "__Host-okxbot_session"  # the __Host- prefix: Secure, Path=/, no Domain, enforced by browsers


@dataclass
class ServeContext:
    supervisor: Supervisor
    registry: Registry
    access: AccessStore
    journal: JournalViews
    metrics: Metrics
    posture: PostureWatch
    logs: BotLogs | None
    home: Path
    tls: bool = False  # the browser reaches us over https (our own TLS, or a TLS proxy in front)
    allowed_hosts: frozenset[str] = frozenset({"127.0.0.1", "localhost", "[::1]"})
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    alerts: Any = None  # okxbot.serve.alerts.AlertService (Telegram, webhooks)

    @property
    def cookie_name(self) -> str:
        return COOKIE_TLS if self.tls else COOKIE
