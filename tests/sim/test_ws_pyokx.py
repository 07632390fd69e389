"""python-okx's WsPublicAsync / WsPrivateAsync, unmodified, against the simulator.

python-okx always connects with a TLS context (`websockets.connect(url, ssl=...)`), which a `ws://`
URL refuses, so its sockets reach the simulator through a small TLS terminator on loopback whose
self-signed certificate the test trusts via SSL_CERT_FILE: exactly what a `wss://` OKX host looks like.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from okx.websocket.WsPrivateAsync import WsPrivateAsync
from okx.websocket.WsPublicAsync import WsPublicAsync

from okxbot.sim.server import RunningSim
from tests.sim.okx_http import signed


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "okx-sim.local")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "sim.crt", directory / "sim.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(autouse=True)
def generous_limits(sim: RunningSim) -> Iterator[None]:
    sim.admin("POST", "/__sim__/ws-config", {"connectionsPerSecond": 1000})
    yield


@pytest.fixture
async def wss(
    sim: RunningSim, tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    """A `wss://127.0.0.1:PORT/ws/v5` base URL that forwards to the simulator."""
    cert_path, key_path = tls_files
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_path, key_path)
    target = urlsplit(sim.rest)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def forward(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        sim_reader, sim_writer = await asyncio.open_connection(target.hostname, target.port)
        await asyncio.gather(pipe(client_reader, sim_writer), pipe(sim_reader, client_writer))

    server = await asyncio.start_server(forward, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"wss://127.0.0.1:{port}/ws/v5"
    finally:
        server.close()


class Inbox:
    """Collects python-okx callback messages and waits for the one a test needs."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[Any] = asyncio.Queue()

    def __call__(self, raw: str) -> None:
        self.messages.put_nowait(json.loads(raw) if raw.startswith("{") else raw)

    async def wait(self, predicate: Any, timeout: float = 10) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                message = await self.messages.get()
                if isinstance(message, dict) and predicate(message):
                    return message

    async def wait_all(self, timeout: float = 15, **wanted: Any) -> dict[str, dict[str, Any]]:
        """The first message each predicate accepts, whatever order they arrive in."""
        found: dict[str, dict[str, Any]] = {}
        async with asyncio.timeout(timeout):
            while len(found) < len(wanted):
                message = await self.messages.get()
                for name, predicate in wanted.items():
                    if name not in found and isinstance(message, dict) and predicate(message):
                        found[name] = message
        return found


def channel_is(name: str) -> Any:
    return lambda m: m.get("arg", {}).get("channel") == name and "data" in m


async def test_ws_public_async_receives_books_and_tickers(wss: str, sim: RunningSim) -> None:
    client = WsPublicAsync(url=wss + "/public")
    await client.start()
    inbox = Inbox()
    try:
        await client.subscribe(
            [{"channel": "books", "instId": "BTC-USDT"}, {"channel": "tickers", "instId": "BTC-USDT"}], inbox
        )
        snapshot = await inbox.wait(channel_is("books"))
        assert snapshot["action"] == "snapshot" and len(snapshot["data"][0]["bids"]) > 0
        update = await inbox.wait(lambda m: channel_is("books")(m) and m.get("action") == "update")
        assert update["data"][0]["prevSeqId"] == snapshot["data"][0]["seqId"]
        ticker = await inbox.wait(channel_is("tickers"))
        assert ticker["data"][0]["instId"] == "BTC-USDT" and ticker["data"][0]["last"]
    finally:
        await client.stop()


async def test_ws_private_async_logs_in_and_receives_order_updates(wss: str, sim: RunningSim) -> None:
    key = sim.keys[0]
    client = WsPrivateAsync(
        apiKey=key["apiKey"], passphrase=key["passphrase"], secretKey=key["secretKey"], url=wss + "/private"
    )
    await client.start()
    inbox = Inbox()
    try:
        # python-okx logs in, sleeps 5 s, then subscribes.
        await client.subscribe([{"channel": "orders", "instType": "ANY"}], inbox)
        login = await inbox.wait(lambda m: m.get("event") in ("login", "error"))
        assert login["event"] == "login" and login["code"] == "0"
        await inbox.wait(lambda m: m.get("event") == "subscribe")

        body = {
            "instId": "BTC-USDT",
            "tdMode": "cash",
            "side": "buy",
            "ordType": "limit",
            "px": "30000",
            "sz": "0.001",
        }
        placed = signed(sim.rest, key, "POST", "/api/v5/trade/order", json.dumps(body).encode()).json()
        ord_id = placed["data"][0]["ordId"]
        live = await inbox.wait(channel_is("orders"))
        assert (live["data"][0]["ordId"], live["data"][0]["state"]) == (ord_id, "live")

        await client.cancel_order([{"instId": "BTC-USDT", "ordId": ord_id}], id="c1")
        answer = await inbox.wait(lambda m: m.get("id") == "c1")
        assert answer["code"] == "0"
        canceled = await inbox.wait(channel_is("orders"))
        assert (canceled["data"][0]["state"], canceled["data"][0]["cancelSource"]) == ("canceled", "1")
    finally:
        await client.stop()


async def test_ws_private_async_follows_a_protected_swap_position(wss: str, sim: RunningSim) -> None:
    key = sim.admin("POST", "/__sim__/keys", {"balances": {"USDT": "20000"}, "label": "pyokx-ws-swap"})
    sim.admin("POST", "/__sim__/account-level", {"uid": key["uid"], "acctLv": "2"})
    client = WsPrivateAsync(
        apiKey=key["apiKey"], passphrase=key["passphrase"], secretKey=key["secretKey"], url=wss + "/private"
    )
    business = WsPrivateAsync(  # OKX serves orders-algo on /business only (60018 elsewhere)
        apiKey=key["apiKey"], passphrase=key["passphrase"], secretKey=key["secretKey"], url=wss + "/business"
    )
    public = WsPublicAsync(url=wss + "/public")
    for ws in (client, business, public):
        await ws.start()
    inbox, marks = Inbox(), Inbox()
    try:
        await public.subscribe([{"channel": "mark-price", "instId": "BTC-USDT-SWAP"},
                                {"channel": "funding-rate", "instId": "BTC-USDT-SWAP"}], marks)  # fmt: skip
        mark = await marks.wait(channel_is("mark-price"))
        assert float(mark["data"][0]["markPx"]) > 0
        rate = await marks.wait(channel_is("funding-rate"))
        assert rate["data"][0]["instId"] == "BTC-USDT-SWAP" and rate["data"][0]["fundingTime"]
        await asyncio.gather(  # python-okx logs in, then sleeps 5 s before subscribing: both at once
            client.subscribe([{"channel": "positions", "instType": "SWAP"}], inbox),
            business.subscribe([{"channel": "orders-algo", "instType": "SWAP"}], inbox),
        )
        logins = await inbox.wait_all(
            positions=lambda m: m.get("event") == "subscribe" and m["arg"]["channel"] == "positions",
            algos=lambda m: m.get("event") == "subscribe" and m["arg"]["channel"] == "orders-algo",
            snapshot=lambda m: channel_is("positions")(m) and m.get("eventType") == "snapshot",
        )
        assert logins["snapshot"]["data"] == []

        last = float(
            signed(sim.rest, key, "GET", "/api/v5/market/ticker?instId=BTC-USDT-SWAP").json()["data"][0][
                "last"
            ]
        )
        stop = f"{last * 0.97:.1f}"
        body = {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "5",
                "attachAlgoOrds": [{"slTriggerPx": stop, "slOrdPx": "-1"}]}  # fmt: skip
        placed = signed(sim.rest, key, "POST", "/api/v5/trade/order", json.dumps(body).encode()).json()
        assert placed["data"][0]["sCode"] == "0", placed
        # The position and the new algo order arrive on two channels, in either order.
        opened = await inbox.wait_all(
            positions=lambda m: channel_is("positions")(m) and m["data"] and m["data"][0]["pos"] == "5",
            algo=channel_is("orders-algo"),
        )
        row, algo = opened["positions"]["data"][0], opened["algo"]["data"][0]
        assert (row["posSide"], row["mgnMode"]) == ("net", "cross")
        assert (algo["state"], algo["slTriggerPx"], algo["sz"], algo["side"]) == ("live", stop, "5", "sell")

        sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "movePct": "-4"})
        closed = await inbox.wait_all(
            fired=lambda m: channel_is("orders-algo")(m) and m["data"][0]["state"] == "effective",
            flat=lambda m: channel_is("positions")(m) and m["data"] and m["data"][0]["pos"] == "0",
        )
        fired = closed["fired"]["data"][0]
        assert (fired["actualSide"], fired["actualSz"]) == ("sl", "5")
    finally:
        for ws in (client, business, public):
            await ws.stop()
