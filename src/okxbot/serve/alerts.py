"""Alert routing: supervisor events -> alerts -> Telegram and webhooks, on one supervisor at a time.

`AlertService` subscribes to the supervisor's event bus (its own bounded queue: publishers never
wait), turns events into alerts (alert_text), and offers each to the channels that want it: Telegram
at the kind's level (on / silent / off), each webhook whose filter takes the kind. Offering only
appends to the channel's bounded outbox; each channel sends from its own task (telegram, webhooks).

Every `reload_s` it re-reads the settings (alert_settings; a change made by `okxbot serve alerts ...`
applies within seconds), loads the secrets a changed channel needs from this machine's vault, and
renews the alert lease: of the supervisors sharing a database, only the lease holder sends alerts and
polls Telegram (Telegram accepts one poller per token; alerts must not arrive twice). The leader
forwards its own events and those imported from the other supervisors, except "posture" (each
supervisor checks the keys it uses and publishes its own). A supervisor whose vault holds none of
the configured channels' secrets does not take the lease. When the lease changes hands, alerts of
the few seconds in between may be lost or, rarely, sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from okxbot.serve.alert_outbox import AlertMetrics
from okxbot.serve.alert_settings import RELOAD_S, AlertSettings, AlertStore, parse
from okxbot.serve.alert_text import Alert, AlertMaker, trial_alert
from okxbot.serve.supervisor import Supervisor
from okxbot.serve.telegram import DEFAULT_API_URL, TelegramChannel
from okxbot.serve.telegram_commands import Commands
from okxbot.serve.webhooks import RetryPolicy, WebhookChannel
from okxbot.vault.errors import VaultError
from okxbot.vault.secret import Secret

log = logging.getLogger("okxbot.serve.alerts")

ROUTED_KINDS = frozenset(
    {"fill", "bot", "halted", "foreign_order", "rate_limited", "crash", "posture", "panic"}
)
TELEGRAM_ENTRY = "bot"  # the name of the vault's telegram entry (one bot per OKXBOT_HOME)


@dataclass
class AlertOptions:
    reload_s: float = RELOAD_S
    lease_ttl_s: float = 10.0
    poll_timeout_s: int = 25
    min_interval_s: float = 1.0
    telegram_maxsize: int = 500
    webhook_maxsize: int = 1000
    webhook_policy: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def of(cls, values: dict[str, Any]) -> AlertOptions:
        return cls(**values)


class AlertService:
    def __init__(
        self,
        supervisor: Supervisor,
        engine: Engine,
        home: Path,
        registry: CollectorRegistry | None = None,
        options: AlertOptions | None = None,
    ) -> None:
        self.sup = supervisor
        self.engine = engine
        self.home = home
        self.options = options or AlertOptions()
        self.store = AlertStore(engine)
        self.metrics = AlertMetrics(registry)
        self.settings: AlertSettings = parse({})
        self.maker = AlertMaker()
        self.leading = False
        self.telegram: TelegramChannel | None = None
        self.webhooks: dict[str, WebhookChannel] = {}
        self.commands = Commands(
            supervisor,
            engine,
            control=lambda: self.settings.telegram_control,
            profile_exists=self._profile_exists,
        )
        # subscribed now: events of bots that start before the first refresh wait in this queue
        self._sub = supervisor.bus.subscribe(ROUTED_KINDS, maxsize=2000)
        self._router_dropped = 0
        self._telegram_id: Any = None
        self._webhook_ids: dict[str, Any] = {}
        self._secrets: dict[Any, Any] = {}  # channel identity -> loaded secrets (or the VaultError text)
        self._led_at = 0.0
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        try:
            await self._refresh()
        except Exception as err:
            log.warning("alerts: settings could not be read (%s); retrying", err)
        self._tasks = [asyncio.ensure_future(self._control_loop()), asyncio.ensure_future(self._route_loop())]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._stop_channels()
        if self.leading:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.store.resign, self.sup.sid)
        self.leading = False
        self._sub.close()

    def offer(self, alert: Alert) -> None:
        """Hand an alert to every channel that wants it (never blocks)."""
        s = self.settings
        level = "on" if alert.kind == "test" else s.level(alert.kind)
        if self.telegram is not None and level != "off" and s.chat_id is not None:
            self.telegram.offer(alert, level == "silent")
        for name, channel in self.webhooks.items():
            hook = s.webhooks.get(name)
            if hook is not None and hook.enabled and (alert.kind in hook.kinds or alert.kind == "test"):
                channel.offer(alert)

    def send_test(self) -> Alert:
        alert = trial_alert(self.sup.sid)
        self.offer(alert)
        return alert

    # ---- routing ---------------------------------------------------------------------------------
    async def _route_loop(self) -> None:
        sid = self.sup.sid
        async for event in self._sub:
            if self._sub.dropped != self._router_dropped:
                self.metrics.dropped.labels("router").inc(self._sub.dropped - self._router_dropped)
                self._router_dropped = self._sub.dropped
            if not self.leading or (event.kind == "posture" and event.origin != sid):
                continue
            try:
                alert = self.maker.alert(event)
                if alert is not None:
                    self.offer(alert)
            except Exception:
                log.exception("alerts: event %s of %s could not be routed", event.kind, event.bot)

    # ---- settings, secrets, lease ------------------------------------------------------------------
    async def _control_loop(self) -> None:
        while True:
            await asyncio.sleep(self.options.reload_s)
            try:
                await self._refresh()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("alerts: settings or lease could not be read: %s", err)
                if (
                    self.leading
                    and time.monotonic() - self._led_at > self.options.lease_ttl_s - self.options.reload_s
                ):
                    log.error("alerts: lease not renewed in time: this supervisor stops sending alerts")
                    self.leading = False
                    await self._stop_channels()

    async def _refresh(self) -> None:
        settings = await asyncio.to_thread(self.store.load)
        self.settings = settings
        telegram = await self._telegram_secrets(settings)
        hooks = await self._webhook_secrets(settings)
        candidate = telegram is not None or bool(hooks)
        if candidate:
            lead = await asyncio.to_thread(
                self.store.lead, self.sup.sid, int(self.options.lease_ttl_s * 1000)
            )
        else:
            lead = False
            if self.leading:
                await asyncio.to_thread(self.store.resign, self.sup.sid)
        if lead:
            self._led_at = time.monotonic()
        if lead != self.leading:
            log.info("alerts: this supervisor %s sending alerts", "starts" if lead else "stops")
        self.leading = lead
        if not lead:
            await self._stop_channels()
            return
        await self._apply_telegram(settings, telegram)
        await self._apply_webhooks(hooks)

    async def _telegram_secrets(self, settings: AlertSettings) -> tuple[Any, dict[str, Secret]] | None:
        section = settings.telegram
        if not section or not section.get("token_ms"):
            return None
        identity = ("telegram", section["token_ms"])
        values = await self._load(identity, "telegram", TELEGRAM_ENTRY)
        return (identity, values) if values is not None else None

    async def _webhook_secrets(self, settings: AlertSettings) -> dict[str, tuple[Any, dict[str, Secret]]]:
        found = {}
        for name, hook in settings.webhooks.items():
            if not hook.enabled:
                continue
            identity = ("webhook", name, hook.secret_ms)
            values = await self._load(identity, "webhook", name)
            if values is not None:
                found[name] = (identity, values)
        return found

    async def _load(self, identity: Any, kind: str, name: str) -> dict[str, Secret] | None:
        if identity not in self._secrets:
            try:
                values = await asyncio.to_thread(self._read_vault, kind, name)
                self._secrets[identity] = (
                    values if values is not None else f"no {kind} entry {name!r} in this vault"
                )
            except VaultError as err:
                self._secrets[identity] = err.problem
            if isinstance(self._secrets[identity], str):
                log.error(
                    "alerts: the %s secret %r cannot be loaded on this machine (%s): %s stays off here",
                    kind, name, self._secrets[identity], kind,
                )  # fmt: skip
        loaded = self._secrets[identity]
        return loaded if isinstance(loaded, dict) else None

    def _read_vault(self, kind: str, name: str) -> dict[str, Secret] | None:
        from okxbot.vault.store import Vault

        return Vault(self.home, warn=log.warning).secrets.get(kind, name)

    def _profile_exists(self, profile: str) -> bool:
        from okxbot.vault.profiles import ProfileStore

        return ProfileStore(self.home).find(profile) is not None

    async def _apply_telegram(
        self, settings: AlertSettings, loaded: tuple[Any, dict[str, Secret]] | None
    ) -> None:
        identity = loaded[0] if loaded else None
        if identity == self._telegram_id:
            return
        if self.telegram is not None:
            await self.telegram.close()
            self.telegram = None
        self._telegram_id = identity
        if loaded is None:
            return
        values = loaded[1]
        o = self.options
        self.telegram = TelegramChannel(
            values["token"],
            values["api_url"].reveal() if "api_url" in values else DEFAULT_API_URL,
            self.commands,
            self.metrics,
            chat_id=lambda: self.settings.chat_id,
            poll_timeout_s=o.poll_timeout_s,
            min_interval_s=o.min_interval_s,
            maxsize=o.telegram_maxsize,
        )
        self.telegram.start()

    async def _apply_webhooks(self, hooks: dict[str, tuple[Any, dict[str, Secret]]]) -> None:
        for name in list(self.webhooks):
            if name not in hooks or hooks[name][0] != self._webhook_ids.get(name):
                await self.webhooks.pop(name).close()
                self._webhook_ids.pop(name, None)
        for name, (identity, values) in hooks.items():
            if name in self.webhooks:
                continue
            channel = WebhookChannel(
                name, values["url"], values["secret"], self.metrics,
                policy=self.options.webhook_policy, maxsize=self.options.webhook_maxsize,
            )  # fmt: skip
            channel.start()
            self.webhooks[name] = channel
            self._webhook_ids[name] = identity

    async def _stop_channels(self) -> None:
        if self.telegram is not None:
            await self.telegram.close()
            self.telegram = None
        self._telegram_id = None
        for channel in self.webhooks.values():
            await channel.close()
        self.webhooks.clear()
        self._webhook_ids.clear()
