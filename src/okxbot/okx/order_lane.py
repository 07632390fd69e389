"""The order lane: order requests written straight to kept-alive HTTP/1.1 connections to OKX.

Why it exists: between the journal's commit and an order's bytes on the socket, ccxt's generic path
took 0.63 ms (median, bench/bench_latency.py "send -> written"): ccxt's `sign` and `fetch` (dict
merging, URL and header building), aiohttp's request machinery, and aiohttp writing the body from a
task scheduled for the event loop's next turn, behind whatever else was ready by then. The lane
takes an idle connection, has the request signed and writes it in one synchronous step, so nothing
runs between the limiter's grant and the bytes leaving.

The lane is transport only: `OkxExchange` decides which requests ride it (order endpoints, no proxy
configured) and signs them; it reads the answer the way ccxt does. A connection that drops before
its answer is complete raises `LaneConnectionError` (an OSError), one that does not answer in time
`TimeoutError`: the exchange turns them into ccxt's ExchangeNotAvailable / RequestTimeout, exactly
what ccxt's own path raises, so "outcome unknown" handling above is unchanged.

HTTP/1.1 only, one request at a time per connection (no pipelining), identity or gzip/deflate bodies,
Content-Length or chunked framing; `Connection: close` or HTTP/1.0 answers retire the connection.
Idle connections are retired after `IDLE_S` (servers close theirs, and a request written on a
connection the server is closing has an unknown outcome).
"""

from __future__ import annotations

import asyncio
import ssl
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from okxbot.okx.wire import WireProbe, _TimedTransport

IDLE_S = 10.0  # below aiohttp's client keep-alive (15 s) and the usual server ones
MAX_CONNECTIONS = 64  # beyond this many requests in flight the caller uses ccxt's path
_MAX_HEAD = 64 * 1024
_MAX_BODY = 16 * 1024 * 1024  # an order answer is a few hundred bytes: more is a broken stream


class LaneConnectionError(ConnectionError):
    """The connection closed (or sent nonsense) before the answer was complete."""


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    headers: dict[str, str]  # as ccxt builds them: repeated headers joined with ", "
    text: str


class OrderLane:
    """Kept-alive connections to one origin (`https://www.okx.com`, a simulator's `http://...`)."""

    def __init__(self, base_url: str, *, ssl_context: Any = None, probe: WireProbe | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the order lane needs an http(s) URL (got {base_url!r})")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        default_port = (parts.scheme == "https" and self.port == 443) or (
            parts.scheme == "http" and self.port == 80
        )
        self.host_header = self.host if default_port else f"{self.host}:{self.port}"
        self.origin = f"{self.scheme}://{self.host_header}"
        self._ssl = (ssl_context or ssl.create_default_context()) if parts.scheme == "https" else None
        self._probe = probe
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        self.opened = 0  # connections opened so far (tests, diagnostics)

    def has_room(self) -> bool:
        """A request can go now or after opening one more connection."""
        return bool(self._idle) or len(self._open) < MAX_CONNECTIONS

    async def post(
        self, path: str, build: Callable[[], tuple[str, dict[str, str]]], *, timeout_s: float
    ) -> Answer:
        """POST to `path`; `build()` -> (body, headers) is called right before the bytes are written
        (so a signature's timestamp is taken then), with no await between it and the write."""
        conn = self._take()
        if conn is None:
            conn = await self._connect(timeout_s)
        try:
            body, headers = build()
            payload = body.encode()
            head = [f"POST {path} HTTP/1.1", f"Host: {self.host_header}", f"Content-Length: {len(payload)}"]
            for name, value in headers.items():
                if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                    raise ValueError(f"header {name!r} holds a line break: refused before sending")
                head.append(f"{name}: {value}")
            request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload
        except BaseException:
            conn.close()  # nothing was written: the connection is fine, but keep the pool simple
            raise
        waiter = conn.send(request)
        try:
            async with asyncio.timeout(timeout_s):
                answer = await waiter
        except BaseException:
            conn.close()  # its answer may still come: never reuse it
            raise
        if conn.reusable and not conn.closed:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()
        return answer

    def _take(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed and now - conn.idle_since < IDLE_S:
                return conn
            conn.close()
        return None

    async def _connect(self, timeout_s: float) -> _Connection:
        loop = asyncio.get_running_loop()
        conn = _Connection(self._probe, self._forget)
        async with asyncio.timeout(timeout_s):
            await loop.create_connection(
                lambda: conn,
                self.host,
                self.port,
                ssl=self._ssl,
                server_hostname=self.host if self._ssl is not None else None,
            )
        self._open.add(conn)
        self.opened += 1
        return conn

    def _forget(self, conn: _Connection) -> None:
        self._open.discard(conn)

    def close(self) -> None:
        for conn in [*self._open, *self._idle]:
            conn.close()
        self._idle.clear()
        self._open.clear()


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: writes a request, parses its answer into `Answer`."""

    def __init__(self, probe: WireProbe | None, on_lost: Callable[[_Connection], None]) -> None:
        self._probe = probe
        self._on_lost = on_lost
        self.transport: Any = None
        self.closed = False
        self.reusable = True
        self.idle_since = 0.0
        self._waiter: asyncio.Future[Answer] | None = None
        self._buf = bytearray()
        self._head: tuple[int, str, dict[str, str], dict[str, str]] | None = None
        self._length: int | None = None  # Content-Length; None: chunked or until close
        self._chunked = False
        self._chunks = bytearray()

    # ---- asyncio.Protocol ------------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        self.transport = _TimedTransport(transport, self._probe) if self._probe is not None else transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self.close()  # bytes nobody asked for: the connection is out of step
            return
        self._buf += data
        try:
            if len(self._buf) + len(self._chunks) > _MAX_BODY:
                raise ValueError("answer too long")
            self._parse()
        except (ValueError, zlib.error) as exc:
            self._fail(LaneConnectionError(f"unreadable HTTP answer: {exc}"))
            self.close()

    def eof_received(self) -> bool:
        return False  # close the transport: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._on_lost(self)
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if exc is None and self._head is not None and self._length is None and not self._chunked:
            try:
                self._finish(bytes(self._buf))  # framed by the close itself
            except (ValueError, zlib.error) as bad:
                self._fail(LaneConnectionError(f"unreadable HTTP answer: {bad}"))
            return
        self._fail(LaneConnectionError(f"connection closed before the answer was complete ({exc or 'EOF'})"))

    # ---- requests ----------------------------------------------------------------------------------
    def send(self, data: bytes) -> asyncio.Future[Answer]:
        self._waiter = asyncio.get_running_loop().create_future()
        self._buf.clear()
        self._chunks.clear()
        self._head, self._length, self._chunked = None, None, False
        self.transport.write(data)
        return self._waiter

    def close(self) -> None:
        self.reusable = False
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()
            self._on_lost(self)

    # ---- parsing -----------------------------------------------------------------------------------
    def _parse(self) -> None:
        while self._head is None:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > _MAX_HEAD:
                    raise ValueError("response head too long")
                return
            lines = bytes(self._buf[:end]).decode("latin-1").split("\r\n")
            del self._buf[: end + 4]
            version, _, rest = lines[0].partition(" ")
            code, _, reason = rest.partition(" ")
            status = int(code)
            if 100 <= status < 200:
                continue  # an interim answer (100 Continue): the real one follows
            headers: dict[str, str] = {}
            lower: dict[str, str] = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if not sep:
                    raise ValueError(f"bad header line {line[:40]!r}")
                name, value = name.strip(), value.strip()
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
                lower[name.lower()] = headers[name]
            connection = lower.get("connection", "").lower()
            if connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive"):
                self.reusable = False
            if "chunked" in lower.get("transfer-encoding", "").lower():
                self._chunked = True
            elif "content-length" in lower:
                self._length = int(lower["content-length"])
                if not 0 <= self._length <= _MAX_BODY:
                    raise ValueError(f"Content-Length {self._length}")
            elif status in (204, 304):
                self._length = 0
            else:
                self.reusable = False  # the body ends when the server closes
            self._head = (status, reason, headers, lower)
        if self._chunked:
            self._parse_chunks()
        elif self._length is not None and len(self._buf) >= self._length:
            if len(self._buf) > self._length:
                self.reusable = False  # more than the answer: out of step
            self._finish(bytes(self._buf[: self._length]))

    def _parse_chunks(self) -> None:
        buf = self._buf
        while True:
            end = buf.find(b"\r\n")
            if end < 0:
                return
            size = int(bytes(buf[:end]).split(b";")[0].strip() or b"x", 16)
            if size == 0:
                trailer_end = buf.find(b"\r\n\r\n", end)
                if buf[end + 2 : end + 4] == b"\r\n":
                    rest = end + 4
                elif trailer_end >= 0:
                    rest = trailer_end + 4
                else:
                    return
                if len(buf) > rest:
                    self.reusable = False  # more than the answer: out of step
                self._finish(bytes(self._chunks))
                return
            if len(buf) < end + 2 + size + 2:
                return
            self._chunks += buf[end + 2 : end + 2 + size]
            del buf[: end + 2 + size + 2]

    def _finish(self, body: bytes) -> None:
        assert self._head is not None and self._waiter is not None
        status, reason, headers, lower = self._head
        encoding = lower.get("content-encoding", "").lower()
        if encoding == "gzip":
            body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        if not self._waiter.done():
            self._waiter.set_result(Answer(status, reason, headers, body.decode("utf-8", errors="replace")))

    def _fail(self, exc: BaseException) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
