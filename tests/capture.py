"""A capturing loopback HTTP + WebSocket proxy: every byte a client sends is recorded, then forwarded.

Stands in as the `--sim URL` of the key-destination tests: behind it runs a real simulator, so the
commands work end to end, and `requests` / `frames` hold exactly what reached "the simulator".
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from yarl import URL

_HOP = {"host", "content-length", "transfer-encoding", "connection", "upgrade", "keep-alive"}


@dataclass(frozen=True)
class Captured:
    """One HTTP request as received: method, path with query, raw header lines, body."""

    method: str
    path_qs: str
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.decode("latin-1").lower() == name.lower():
                return value.decode("latin-1")
        return None

    def raw(self) -> bytes:
        lines = [f"{self.method} {self.path_qs}".encode("latin-1")]
        lines += [key + b": " + value for key, value in self.headers]
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body


@dataclass
class CaptureProxy:
    upstream: str  # http://127.0.0.1:PORT of the real simulator
    url: str = ""
    requests: list[Captured] = field(default_factory=list)
    frames: list[bytes] = field(default_factory=list)  # WebSocket frames client -> upstream
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None
    _thread: threading.Thread | None = None

    def everything(self) -> bytes:
        """Every byte received so far, requests and WebSocket frames."""
        return b"\n".join([r.raw() for r in self.requests] + self.frames)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(Captured(request.method, request.raw_path, tuple(request.raw_headers), body))
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        assert self._session is not None
        # encoded=True: forward the path and query byte for byte (aiohttp would unquote %2C to ",",
        # and the simulator checks the signature over what arrives)
        target = URL(self.upstream + request.raw_path, encoded=True)
        async with self._session.request(request.method, target, headers=headers, data=body) as answer:
            content = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP | {"content-encoding"}}
            return web.Response(status=answer.status, body=content, headers=kept)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        upstream_url = "ws" + self.upstream[len("http") :] + request.raw_path
        try:
            upstream = await self._session.ws_connect(upstream_url, autoping=False)
        except aiohttp.WSServerHandshakeError as err:
            return web.Response(status=err.status, text=err.message)
        client = web.WebSocketResponse(autoping=False)
        await client.prepare(request)

        async def to_upstream() -> None:
            async for msg in client:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self.frames.append(msg.data.encode())
                    await upstream.send_str(msg.data)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    self.frames.append(msg.data)
                    await upstream.send_bytes(msg.data)
                elif msg.type == aiohttp.WSMsgType.PING:
                    await upstream.ping(msg.data)
            await upstream.close()

        async def to_client() -> None:
            async for msg in upstream:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    await client.send_str(msg.data)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    await client.send_bytes(msg.data)
                elif msg.type == aiohttp.WSMsgType.PONG:
                    await client.pong(msg.data)
            await client.close()

        await asyncio.gather(to_upstream(), to_client(), return_exceptions=True)
        return client

    def start(self) -> CaptureProxy:
        ready: Future[str] = Future()

        async def serve() -> None:
            self._session = aiohttp.ClientSession(auto_decompress=False)
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", 0).start()
            ready.set_result(f"http://127.0.0.1:{self._runner.addresses[0][1]}")

        def thread() -> None:
            assert self._loop is not None
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=thread, name="capture-proxy", daemon=True)
        self._thread.start()
        self.url = ready.result(timeout=10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return

        async def shutdown() -> None:
            if self._runner is not None:
                await self._runner.cleanup()
            if self._session is not None:
                await self._session.close()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> CaptureProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
