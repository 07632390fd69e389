"""A loopback HTTP proxy in front of the simulator: records every request signature it forwards, and can
answer chosen requests with hostile responses (truncated JSON, wrong types, HTML error pages ...).

The simulator checks signatures over method, path and body only, so forwarding them unchanged keeps
every request valid; the proxy is a second real HTTP hop, not a mock.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

# What a broken or hostile exchange (or a captive portal, or a CDN error page) can answer.
HOSTILE: dict[str, tuple[int, str, str]] = {
    "truncated-json": (200, "application/json", '{"code":"0","msg":"","data":[{"ordId":"12'),
    "html-502": (
        502,
        "text/html",
        "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    ),
    "html-200": (
        200,
        "text/html",
        "<!DOCTYPE html><html><body><h1>Please log in to the Wi-Fi</h1></body></html>",
    ),
    "empty-200": (200, "application/json", ""),
    "not-an-object": (200, "application/json", '["code", 0]'),
    "missing-fields": (200, "application/json", "{}"),
    "data-wrong-type": (200, "application/json", '{"code":"0","msg":"","data":"surprise"}'),
    "data-items-wrong-type": (200, "application/json", '{"code":"0","msg":"","data":[7, null, "x"]}'),
    "code-wrong-type": (200, "application/json", '{"code":{"nested":1},"msg":[],"data":[]}'),
    "numbers-as-objects": (
        200,
        "application/json",
        '{"code":"0","msg":"","data":[{"instId":"BTC-USDT","ordId":{"a":1},"px":[1],"sz":null,'
        '"state":5,"side":"buy","clOrdId":"x","accFillSz":"lots","avgPx":"NaN"}]}',
    ),
    "unknown-error-code": (
        200,
        "application/json",
        '{"code":"99999","msg":"<script>alert(1)</script>","data":[]}',
    ),
    "huge-number": (200, "application/json", '{"code":"0","msg":"","data":[{"ts":"1' + "0" * 400 + '"}]}'),
}


@dataclass
class Proxy:
    upstream: str
    url: str = ""
    signatures: set[str] = field(default_factory=set)
    # (method, path) -> (kind, after_forward) for its next requests; after_forward: the request is
    # executed by the simulator and only its answer is replaced (the order exists, the client can't tell)
    hostile: dict[tuple[str, str], deque[tuple[str, bool]]] = field(default_factory=dict)
    served_hostile: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None
    _thread: threading.Thread | None = None

    def arm(self, method: str, path: str, kind: str, *, after_forward: bool = False) -> None:
        if kind not in HOSTILE:
            raise ValueError(f"unknown hostile response {kind!r}; one of {', '.join(HOSTILE)}")
        self.hostile.setdefault((method, path), deque()).append((kind, after_forward))

    def disarm(self) -> None:
        self.hostile.clear()

    async def _handle(self, request: web.Request) -> web.Response:
        sign = request.headers.get("OK-ACCESS-SIGN")
        if sign:
            self.signatures.add(sign)
        queue = self.hostile.get((request.method, request.path))
        if queue:
            kind, after_forward = queue.popleft()
            if after_forward:
                await self._forward(request)
            status, content_type, body = HOSTILE[kind]
            self.served_hostile += 1
            return web.Response(status=status, body=body.encode(), content_type=content_type)
        return await self._forward(request)

    async def _forward(self, request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        assert self._session is not None
        async with self._session.request(
            request.method, self.upstream + request.path_qs, headers=headers, data=await request.read()
        ) as upstream:
            body = await upstream.read()
            return web.Response(
                status=upstream.status,
                body=body,
                headers={"Content-Type": upstream.headers.get("Content-Type", "")},
            )

    def start(self) -> Proxy:
        ready: Future[str] = Future()

        async def serve() -> None:
            self._session = aiohttp.ClientSession()
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            port = self._runner.addresses[0][1]
            ready.set_result(f"http://127.0.0.1:{port}")

        def thread() -> None:
            assert self._loop is not None
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=thread, name="reliability-proxy", daemon=True)
        self._thread.start()
        self.url = ready.result(timeout=10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return

        async def shutdown() -> None:
            if self._session is not None:
                await self._session.close()
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> Proxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
