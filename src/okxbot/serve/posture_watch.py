"""The key posture (okxbot doctor's checks) of every key the supervisor's bots trade with.

Checked when a bot on the key first runs, every `every_s` after that, and on demand (the dashboard's
"check now"). A check that starts failing is published as a "posture" event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from okxbot.okx.errors import OkxError
from okxbot.okx.posture import audit

if TYPE_CHECKING:
    from okxbot.serve.supervisor import Supervisor

log = logging.getLogger("okxbot.serve.posture")


class PostureWatch:
    def __init__(self, sup: Supervisor, every_s: float = 900.0) -> None:
        self.sup = sup
        self.every_s = every_s
        self.results: dict[str, dict[str, Any]] = {}  # profile -> posture.as_dict() + checked_ms
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._loop())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def profiles(self) -> dict[str, Any]:
        """profile -> the Target of a running bot on it (one per key)."""
        found: dict[str, Any] = {}
        for slot in self.sup.slots.values():
            runner = slot.runner
            if runner is not None and runner.target.profile and slot.state == "running":
                found.setdefault(runner.target.profile, runner.target)
        return found

    async def _loop(self) -> None:
        while True:
            for profile, target in self.profiles().items():
                checked = self.results.get(profile, {}).get("checked_ms", 0)
                if time.time() * 1000 - checked > self.every_s * 1000:
                    await self.check(profile, target)
            await asyncio.sleep(5.0)  # a new bot's key is checked within seconds of its start

    async def check(self, profile: str, target: Any = None) -> dict[str, Any]:
        target = target or self.profiles().get(profile)
        if target is None:
            raise KeyError(profile)
        async with self._lock:
            before = {
                c["check"] for c in self.results.get(profile, {}).get("checks", []) if c["status"] == "fail"
            }
            try:
                posture = await audit(
                    target.base_url,
                    target.credentials,
                    demo=target.demo,
                    purpose=target.purpose,
                    sim=target.sim,
                )
                result = posture.as_dict()
            except OkxError as err:
                result = {
                    "ok": False,
                    "checks": [{"check": "reach OKX", "status": "fail", "detail": err.describe(), "fix": ""}],
                }
            result["checked_ms"] = int(time.time() * 1000)
            result["sim"] = bool(target.sim)
            self.results[profile] = result
            failing = [c for c in result["checks"] if c["status"] == "fail" and c["check"] not in before]
            if failing:
                self.sup.bus.publish("posture", "", {"profile": profile, "checks": failing})
            return result
