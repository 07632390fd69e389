"""The order lane (okx.order_lane): order requests written straight to a kept-alive connection.

Against the simulator over real HTTP: orders ride one reused connection, signed and carrying their
expTime; what the lane cannot read or loses is reported like ccxt's path reports it (outcome unknown,
never resent); answers framed the other ways HTTP/1.1 allows (chunked, gzip, Connection: close) are
read by a real aiohttp server standing in for OKX; a proxy or `order_lane=False` sends orders through
ccxt instead."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt
import pytest
from aiohttp import web

from okxbot.okx.client import ClientConfig, OkxClient
from okxbot.okx.errors import OkxError, OkxNetworkError, OkxOutcomeUnknown, explain
from okxbot.okx.order_entry import OrderIntent
from okxbot.okx.order_lane import LaneConnectionError, OrderLane
from tests.okx.simkit import client, credentials, hits, new_key, sim_orders

D = Decimal
ORDER_PATH = "/api/v5/trade/order"


async def test_orders_ride_one_kept_alive_connection_signed_and_with_their_exptime(
    sim: Any, tmp_path: Path
) -> None:
    key = new_key(sim)
    async with client(sim, key, tmp_path) as okx:
        placed = []
        for _ in range(5):
            intent = await okx.prepare_order("BTC/USDT", "buy", D("0.001"), D("30000"))
            placed.append(await okx.place(intent, confirm=False))
        lane = okx.raw.okx_lane
        assert isinstance(lane, OrderLane)
        assert lane.opened == 1  # five orders, one connection
        cancel = await okx.cancel_order("BTC/USDT", client_order_id=placed[0].client_order_id)
        assert cancel.client_order_id == placed[0].client_order_id
        assert lane.opened == 1
    for order in placed:
        (on_exchange,) = sim_orders(sim, key["uid"], order.client_order_id)
        assert on_exchange["ordId"] == order.order_id
    # the simulator refuses a request whose expTime has passed (its own check of the header):
    # sent on the lane with an expTime already in the past, the order is refused, not placed
    async with client(sim, key, tmp_path) as okx:
        intent = await okx.prepare_order("BTC/USDT", "buy", D("0.001"), D("30000"))
        okx.raw.okx_exp_time_ms = -60_000
        with pytest.raises(OkxError) as info:
            await okx.place(intent, confirm=False)
        assert info.value.code == "50036"  # OKX's "expired": refused before anything was executed
        assert sim_orders(sim, key["uid"], intent.client_order_id) == []


async def test_a_connection_dropped_after_executing_leaves_the_order_unknown_never_resent(
    sim: Any, tmp_path: Path
) -> None:
    key = new_key(sim)
    async with client(sim, key, tmp_path) as okx:
        intent = await okx.prepare_order("BTC/USDT", "buy", D("0.001"), D("30000"))
        sim.admin("POST", "/__sim__/faults", {"path": ORDER_PATH, "kind": "drop", "count": 1})
        before = hits(sim, ORDER_PATH)
        with pytest.raises(OkxOutcomeUnknown) as info:
            await okx.place(intent, confirm=False, wait=False)
        assert isinstance(info.value.cause, OkxNetworkError)
        assert hits(sim, ORDER_PATH) - before == 1  # nothing sent again
        # the simulator executed it: the lookup finds it, the next order gets a fresh connection
        found = await okx.find_order("BTC/USDT", intent.client_order_id)
        assert found is not None and found.state == "live"
        again = await okx.prepare_order("BTC/USDT", "buy", D("0.001"), D("30000"))
        assert (await okx.place(again, confirm=False)).order_id
        assert okx.raw.okx_lane is not None and okx.raw.okx_lane.opened == 2


async def test_orders_go_through_ccxt_when_the_lane_is_off_or_a_proxy_is_set(
    sim: Any, tmp_path: Path
) -> None:
    key = new_key(sim)
    async with client(sim, key, tmp_path, order_lane=False) as okx:
        intent = await okx.prepare_order("BTC/USDT", "buy", D("0.001"), D("30000"))
        assert (await okx.place(intent, confirm=False)).order_id
        assert okx.raw.okx_lane is None
    async with client(sim, key, tmp_path) as okx:
        # proxies from the environment (ccxt's aiohttp_trust_env): the lane would bypass them
        okx.raw.aiohttp_trust_env = True
        intent = await okx.prepare_order("BTC/USDT", "buy", D("0.001"), D("30000"))
        assert (await okx.place(intent, confirm=False)).order_id
        assert okx.raw.okx_lane is None


async def test_an_order_whose_connection_cannot_open_is_settled_after_its_exptime(tmp_path: Path) -> None:
    """Nothing listens: the connection fails before the request is built. The order is unknown (as on
    ccxt's path) but with a settle time, so it is resolved after its expTime instead of never."""
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cfg = ClientConfig(
        rest_url=f"http://127.0.0.1:{port}", rate_limit=False, disk_cache=False, clock_samples=1
    )
    okx = OkxClient(cfg, credentials({"apiKey": "k", "secretKey": "s", "passphrase": "p"}))
    okx.raw.okx_clock = None
    try:
        intent = OrderIntent(
            "BTC/USDT", "BTC-USDT", "buy", D("0.001"), D("30000"), "limit", "lane0closed0port"
        )
        with pytest.raises(OkxOutcomeUnknown) as info:
            await okx.place(intent, confirm=False, wait=False)
        assert info.value.settle_at_ms is not None
        assert okx.raw.okx_lane is not None and okx.raw.okx_lane.opened == 0
    finally:
        await okx.close()


def test_decimals_in_a_body_are_written_plainly_and_other_objects_refused() -> None:
    from okxbot.okx.lane_requests import _compact_json

    assert _compact_json({"sz": "1", "px": "2"}) == '{"sz":"1","px":"2"}'
    assert _compact_json({"sz": D("0.00000001")}) == '{"sz":"0.00000001"}'
    with pytest.raises(TypeError):
        _compact_json({"sz": object()})


# ---- answers framed as OKX's gateway may frame them ------------------------------------------------
@asynccontextmanager
async def fake_okx(answer: str, *, chunked: bool = False, gzipped: bool = False, close: bool = False,
                   status: int = 200) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:  # fmt: skip
    """A real HTTP server answering every order POST with `answer`, framed as asked; yields its URL
    and the requests it saw (headers and body)."""
    seen: list[dict[str, Any]] = []

    async def order(request: web.Request) -> web.StreamResponse:
        seen.append({"headers": dict(request.headers), "body": await request.text()})
        data = answer.encode()
        headers = {"Content-Type": "application/json"}
        if gzipped:
            data = gzip.compress(data)
            headers["Content-Encoding"] = "gzip"
        if close:
            headers["Connection"] = "close"
        if chunked:
            response = web.StreamResponse(status=status, headers=headers)
            response.enable_chunked_encoding()
            await response.prepare(request)
            for i in range(0, len(data), 7):
                await response.write(data[i : i + 7])
            await response.write_eof()
            return response
        return web.Response(status=status, body=data, headers=headers)

    app = web.Application()
    app.router.add_post(ORDER_PATH, order)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


ACK = {
    "code": "0",
    "msg": "",
    "data": [{"clOrdId": "c1", "ordId": "42", "sCode": "0", "sMsg": "", "ts": "1"}],
}


@pytest.mark.parametrize(
    "framing",
    [{}, {"chunked": True}, {"gzipped": True}, {"chunked": True, "gzipped": True}, {"close": True}],
    ids=["length", "chunked", "gzip", "chunked-gzip", "connection-close"],
)
async def test_answers_in_every_http_framing_are_read(framing: dict[str, bool]) -> None:
    async with fake_okx(json.dumps(ACK), **framing) as (url, seen):
        lane = OrderLane(url)
        for n in range(3):
            answer = await lane.post(ORDER_PATH, lambda: ('{"clOrdId":"c1"}', {"X-Test": "1"}), timeout_s=5)
            assert answer.status == 200 and json.loads(answer.text) == ACK
            assert seen[n]["body"] == '{"clOrdId":"c1"}' and seen[n]["headers"]["X-Test"] == "1"
        # kept alive unless the server said close
        assert lane.opened == (3 if framing.get("close") else 1)
        lane.close()


async def test_okx_errors_on_the_lane_are_okx_errors() -> None:
    refused = {"code": "1", "msg": "", "data": [{"clOrdId": "c1", "ordId": "", "sCode": "51008",
                                                  "sMsg": "Order failed. Insufficient USDT balance"}]}  # fmt: skip
    async with fake_okx(json.dumps(refused)) as (url, _):
        okx = OkxClient(ClientConfig(rest_url=url, rate_limit=False, disk_cache=False, clock_samples=1),
                        credentials({"apiKey": "k", "secretKey": "s", "passphrase": "p"}))  # fmt: skip
        okx.raw.okx_clock = None
        try:
            with pytest.raises(ccxt.InsufficientFunds) as info:  # the class ccxt's own path raises
                await okx.raw.privatePostTradeOrder({"instId": "BTC-USDT", "clOrdId": "c1", "side": "buy"})
            assert explain(info.value).code == "51008"
            assert okx.raw.okx_lane is not None and okx.raw.okx_lane.opened == 1
        finally:
            await okx.close()
    # a gateway's HTML error page: ccxt's ExchangeNotAvailable, an outcome nobody knows
    async with fake_okx("<html>bad gateway</html>", status=502) as (url, _):
        okx = OkxClient(ClientConfig(rest_url=url, rate_limit=False, disk_cache=False, clock_samples=1),
                        credentials({"apiKey": "k", "secretKey": "s", "passphrase": "p"}))  # fmt: skip
        okx.raw.okx_clock = None
        try:
            with pytest.raises(ccxt.ExchangeNotAvailable) as gateway:
                await okx.raw.privatePostTradeOrder({"instId": "BTC-USDT", "clOrdId": "c1", "side": "buy"})
            assert explain(gateway.value).outcome_unknown
            assert okx.raw.okx_lane is not None and okx.raw.okx_lane.opened == 1
        finally:
            await okx.close()
        # closed by its user: the lane does not open the exchange again (ccxt's rule)
        with pytest.raises(ccxt.ExchangeClosedByUser):
            await okx.raw.privatePostTradeOrder({"instId": "BTC-USDT", "clOrdId": "c2", "side": "buy"})
        assert okx.raw.okx_lane is None and okx.raw.session is None


async def test_a_silent_server_times_out_and_a_header_with_a_line_break_is_refused_unsent() -> None:
    hold = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await hold.wait()  # never answers
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    lane = OrderLane(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(TimeoutError):
            await lane.post(ORDER_PATH, lambda: ("{}", {}), timeout_s=0.3)
        assert lane._idle == [] and not lane._open  # its answer may still come: never reused
        with pytest.raises(ValueError, match="line break"):
            await lane.post(ORDER_PATH, lambda: ("{}", {"OK-ACCESS-KEY": "k\r\nX-Evil: 1"}), timeout_s=1)
    finally:
        hold.set()
        lane.close()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", "{}"),
        (
            b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\n{"a\r\n3\r\n":1\r\n1\r\n}\r\n0\r\n'
            b"X-Trailer: 1\r\n\r\n",
            '{"a":1}',
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}", "{}"),  # framed by the close
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", LaneConnectionError),  # cut short
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}", LaneConnectionError),
    ],
    ids=["interim-100", "chunked-extension-trailer", "close-framed", "truncated", "negative-length"],
)
async def test_answers_arriving_a_byte_at_a_time_are_read_or_refused(raw: bytes, expected: object) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        for i in range(len(raw)):  # one byte per write: every split point of the parser is met
            writer.write(raw[i : i + 1])
            await writer.drain()
            await asyncio.sleep(0)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    lane = OrderLane(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    try:
        if isinstance(expected, str):
            answer = await lane.post(ORDER_PATH, lambda: ("", {}), timeout_s=5)
            assert answer.status == 200 and answer.text == expected
        else:
            with pytest.raises(LaneConnectionError):
                await lane.post(ORDER_PATH, lambda: ("", {}), timeout_s=5)
            assert lane._idle == [] and not lane._open  # discarded, never handed out again
    finally:
        lane.close()
        server.close()
        await server.wait_closed()
