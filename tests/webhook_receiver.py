"""A webhook receiver on loopback, as the README tells users to write one: it verifies okxbot's
signature (HMAC-SHA256 over "<timestamp>.<raw body>", written here from the documentation, not with
okxbot's own code), rejects stale timestamps and replayed deliveries, and can misbehave on purpose:
answer 500, hang (never answer until released), or answer 400.

`script` is the list of behaviours for the next requests ("ok", "500", "400", "hang"); when it is
empty, `default` applies. Every request is recorded (`deliveries`), verified or not.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOLERANCE_S = 300


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    verified: bool
    why: str
    answered: str
    at: float = field(default_factory=time.monotonic)

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


class Receiver:
    def __init__(self, secret: str, path: str = "/hooks/okxbot") -> None:
        self.secret = secret
        self.path = path
        self.script: list[str] = []
        self.default = "ok"
        self.deliveries: list[Delivery] = []
        self.accepted_ids: dict[str, float] = {}
        self.url = ""
        self._lock = threading.Lock()
        self._release: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def start(self) -> Receiver:
        ready = threading.Event()

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self._serve())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup() if self._runner else asyncio.sleep(0))
            loop.close()

        self._thread = threading.Thread(target=main, name="webhook-receiver", daemon=True)
        self._thread.start()
        assert ready.wait(30)
        return self

    async def _serve(self) -> None:
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_post(self.path, self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}{self.path}"

    def release(self) -> None:
        """Let every hanging request go (answered 503)."""
        assert self._loop is not None and self._release is not None
        self._loop.call_soon_threadsafe(self._release.set)

    def stop(self) -> None:
        if self._loop is not None:
            self.release()
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def verified(self) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.verified and d.answered == "ok"]

    def all(self) -> list[Delivery]:
        with self._lock:
            return list(self.deliveries)

    def check(self, headers: dict[str, str], body: bytes) -> tuple[bool, str]:
        """The receiver's side of the contract (README "Webhooks")."""
        ts, signature = headers.get("X-Okxbot-Timestamp", ""), headers.get("X-Okxbot-Signature", "")
        if not ts.isdigit():
            return False, "no timestamp"
        if abs(time.time() - int(ts)) > TOLERANCE_S:
            return False, "stale timestamp"
        expected = (
            "v1=" + hmac.new(self.secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        )
        if not hmac.compare_digest(expected, signature):
            return False, "bad signature"
        return True, ""

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items()}
        ok, why = self.check(headers, body)
        with self._lock:
            behaviour = self.script.pop(0) if self.script else self.default
        delivery_id = headers.get("X-Okxbot-Delivery", "")
        if ok and behaviour == "ok" and delivery_id in self.accepted_ids:
            ok, why = False, "replayed delivery"
        record = Delivery(headers, body, ok, why, behaviour)
        with self._lock:
            self.deliveries.append(record)
        if not ok:
            return web.Response(status=401, text=why)
        if behaviour == "hang":
            assert self._release is not None
            await self._release.wait()
            return web.Response(status=503)
        if behaviour in ("500", "400"):
            return web.Response(status=int(behaviour))
        self.accepted_ids[delivery_id] = time.time()
        return web.json_response({"received": True})
