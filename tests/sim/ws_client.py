"""A bare OKX WebSocket client for simulator tests: raw frames, hand-signed login, and a book merger.

The book merger and its checksum are written here from the reference (§5.5), independently of the
simulator's `okxbot.sim.checksum`, so that a mistake on one side shows up as a failure.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import zlib
from decimal import Decimal
from typing import Any

import aiohttp


def login_args(key: dict[str, Any], *, timestamp: str | None = None, **override: str) -> dict[str, str]:
    ts = timestamp if timestamp is not None else str(int(time.time()))
    secret = override.pop("secret", key["secretKey"])
    message = (ts + "GET" + "/users/self/verify").encode()
    sign = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()
    args = {"apiKey": key["apiKey"], "passphrase": key["passphrase"], "timestamp": ts, "sign": sign}
    args.update(override)
    return args


class Conn:
    """One WebSocket connection with helpers to send OKX requests and wait for matching messages."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self.ws = ws

    @classmethod
    async def open(cls, url: str) -> Conn:
        session = aiohttp.ClientSession()
        try:
            ws = await session.ws_connect(url, autoping=True)
        except BaseException:
            await session.close()
            raise
        return cls(session, ws)

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()

    async def __aenter__(self) -> Conn:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def send(self, body: Any) -> None:
        await self.ws.send_str(body if isinstance(body, str) else json.dumps(body))

    async def recv(self, timeout: float = 5) -> Any:
        """The next message: decoded JSON, or the raw text when it is not JSON (e.g. "pong")."""
        message = await self.ws.receive(timeout=timeout)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"expected a text frame, got {message.type!r} {message.data!r}")
        try:
            return json.loads(message.data)
        except ValueError:
            return message.data

    async def expect(self, timeout: float = 5, **fields: Any) -> dict[str, Any]:
        """Skip messages until one has all `fields` (nested `arg__channel=` style not needed)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no message with {fields} within {timeout} s")
            message = await self.recv(timeout=left)
            if isinstance(message, dict) and all(message.get(k) == v for k, v in fields.items()):
                return message

    async def push(self, channel: str, timeout: float = 5) -> dict[str, Any]:
        """The next data push of `channel`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no {channel} push within {timeout} s")
            message = await self.recv(timeout=left)
            if (
                isinstance(message, dict)
                and "data" in message
                and message.get("arg", {}).get("channel") == channel
            ):
                return message

    async def login(self, key: dict[str, Any], **override: str) -> dict[str, Any]:
        await self.send({"op": "login", "args": [login_args(key, **override)]})
        return await self.expect_event(("login", "error"))

    async def expect_event(self, events: tuple[str, ...], timeout: float = 5) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no {events} event within {timeout} s")
            message = await self.recv(timeout=left)
            if isinstance(message, dict) and message.get("event") in events:
                return message


def okx_checksum(bids: list[list[str]], asks: list[list[str]]) -> int:
    parts: list[str] = []
    for i in range(25):
        if i < len(bids):
            parts += bids[i][:2]
        if i < len(asks):
            parts += asks[i][:2]
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= (1 << 31) else value


class MergedBook:
    """The client side of the `books` channel: snapshot, merge of updates, seqId and checksum checks."""

    def __init__(self) -> None:
        self.bids: dict[str, list[str]] = {}
        self.asks: dict[str, list[str]] = {}
        self.seq_id: int | None = None
        self.updates = 0

    def sorted_side(self, side: str) -> list[list[str]]:
        levels = self.bids if side == "bids" else self.asks
        ordered = sorted(levels.values(), key=lambda row: Decimal(row[0]), reverse=side == "bids")
        return ordered

    def apply(self, message: dict[str, Any]) -> None:
        """Merge one books message; raise ValueError on a sequence gap or a checksum mismatch."""
        data = message["data"][0]
        if message["action"] == "snapshot":
            self.bids = {row[0]: row for row in data["bids"]}
            self.asks = {row[0]: row for row in data["asks"]}
        else:
            if data["prevSeqId"] != self.seq_id:
                raise ValueError(f"sequence gap: prevSeqId {data['prevSeqId']} after seqId {self.seq_id}")
            for side, levels in (("bids", self.bids), ("asks", self.asks)):
                for row in data[side]:
                    if row[1] == "0":
                        levels.pop(row[0], None)
                    else:
                        levels[row[0]] = row
            self.updates += 1
        self.seq_id = data["seqId"]
        expected = okx_checksum(self.sorted_side("bids")[:25], self.sorted_side("asks")[:25])
        if expected != data["checksum"]:
            raise ValueError(f"checksum mismatch at seqId {self.seq_id}: {data['checksum']} != {expected}")

    def top(self, depth: int = 400) -> dict[str, list[list[str]]]:
        return {
            "bids": [[*row[:2], row[3]] for row in self.sorted_side("bids")[:depth]],
            "asks": [[*row[:2], row[3]] for row in self.sorted_side("asks")[:depth]],
        }
