"""The WebSocket protocol as OKX speaks it: URLs and channel placement, subscribe / unsubscribe, errors,
login failures, ping / pong, idle close and the connection and request limits."""

from __future__ import annotations

import time
from collections.abc import Iterator

import aiohttp
import pytest

from okxbot.sim.server import RunningSim
from tests.sim.ws_client import Conn


@pytest.fixture(autouse=True)
def generous_limits(sim: RunningSim) -> Iterator[None]:
    # Most tests open many sockets in a row; the connection limit has its own test below.
    sim.admin(
        "POST", "/__sim__/ws-config", {"connectionsPerSecond": 1000, "idleMs": 30000, "requestsPerHour": 480}
    )
    yield


async def test_text_ping_answers_pong(sim: RunningSim) -> None:
    async with await Conn.open(sim.ws + "/public") as conn:
        await conn.send("ping")
        assert await conn.recv() == "pong"


async def test_subscribe_echoes_id_and_arg_then_pushes_and_unsubscribe_stops(sim: RunningSim) -> None:
    async with await Conn.open(sim.ws + "/public") as conn:
        arg = {"channel": "tickers", "instId": "ETH-USDT"}
        await conn.send({"id": "abc123", "op": "subscribe", "args": [arg]})
        ack = await conn.recv()
        assert ack["id"] == "abc123" and ack["event"] == "subscribe" and ack["arg"] == arg
        assert len(ack["connId"]) == 8
        push = await conn.push("tickers")
        assert push["arg"] == arg and push["data"][0]["instId"] == "ETH-USDT"
        assert set(push["data"][0]) >= {"last", "bidPx", "askPx", "open24h", "vol24h", "ts"}
        await conn.send({"op": "unsubscribe", "args": [arg]})
        gone = await conn.expect(event="unsubscribe")
        assert gone["arg"] == arg and "id" not in gone


@pytest.mark.parametrize(
    ("path", "arg", "code"),
    [
        ("/public", {"channel": "candle1m", "instId": "BTC-USDT"}, "64001"),
        ("/business", {"channel": "tickers", "instId": "BTC-USDT"}, "64002"),
        ("/business", {"channel": "books", "instId": "BTC-USDT"}, "64002"),
        ("/private", {"channel": "tickers", "instId": "BTC-USDT"}, "60018"),
        ("/public", {"channel": "orders", "instType": "ANY"}, "60018"),
        ("/public", {"channel": "tickers", "instId": "NOPE-USDT"}, "60018"),
        ("/public", {"channel": "no-such-channel", "instId": "BTC-USDT"}, "60018"),
        ("/public", {"channel": "tickers"}, "60013"),
        ("/public", {"channel": "books-l2-tbt", "instId": "BTC-USDT"}, "60029"),
        ("/private", {"channel": "orders", "instType": "ANY"}, "60011"),
        ("/public", {"channel": "tickers", "uly": "BTC-USDT"}, "64000"),
    ],
)
async def test_wrong_url_or_bad_arg_answers_okx_error_codes(
    sim: RunningSim, path: str, arg: dict[str, str], code: str
) -> None:
    async with await Conn.open(sim.ws + path) as conn:
        await conn.send({"id": "7", "op": "subscribe", "args": [arg]})
        error = await conn.recv()
        assert (error["event"], error["code"], error["id"]) == ("error", code, "7")
        assert error["msg"]


async def test_malformed_requests(sim: RunningSim) -> None:
    async with await Conn.open(sim.ws + "/public") as conn:
        await conn.send("{not json")
        assert (await conn.recv())["code"] == "60012"
        await conn.send({"op": "subscribe", "args": "tickers"})
        assert (await conn.recv())["code"] == "60012"
        await conn.send({"op": "dance", "args": []})
        error = await conn.recv()
        assert error["code"] == "60019" and "dance" in error["msg"]
        await conn.send({"id": "not-alnum!", "op": "subscribe", "args": [{"channel": "tickers"}]})
        assert (await conn.recv())["code"] == "60012"
        # A trading op outside /private is a wrong URL; the connection stays usable.
        await conn.send({"id": "1", "op": "order", "args": [{"instId": "BTC-USDT"}]})
        assert (await conn.recv())["code"] == "60018"
        await conn.send("ping")
        assert await conn.recv() == "pong"


async def test_candles_live_on_business(sim: RunningSim) -> None:
    async with await Conn.open(sim.ws + "/business") as conn:
        await conn.send({"op": "subscribe", "args": [{"channel": "candle1H", "instId": "BTC-USDT"}]})
        await conn.expect(event="subscribe")
        push = await conn.push("candle1H")
        row = push["data"][0]
        assert len(row) == 9 and row[8] in ("0", "1")
        assert int(row[0]) % 3_600_000 == 0


async def test_login_succeeds_and_a_second_login_is_refused(sim: RunningSim) -> None:
    async with await Conn.open(sim.ws + "/private") as conn:
        ok = await conn.login(sim.keys[0])
        assert (ok["event"], ok["code"]) == ("login", "0")
        again = await conn.login(sim.keys[0])
        assert again["code"] == "60031"


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"apiKey": "00000000-0000-0000-0000-000000000000"}, "60005"),
        ({"passphrase": "wrong"}, "60024"),
        ({"secret": "WRONGSECRET"}, "60007"),
        ({"timestamp": str(int(time.time()) - 120)}, "60006"),
        ({"timestamp": "yesterday"}, "60004"),
        # not a number of seconds: each gets an error answer (once "inf" got none at all)
        ({"timestamp": "inf"}, "60004"),
        ({"timestamp": "nan"}, "60004"),
        ({"timestamp": "1e99"}, "60004"),
        ({"timestamp": ""}, "60004"),
        ({"timestamp": "-5"}, "60004"),
        ({"timestamp": "\uff11\uff15\uff13\uff18"}, "60004"),  # full-width digits
        ({"passphrase": "pässwörd€"}, "60024"),
        ({"sign": "ßïgñ✓="}, "60007"),
    ],
)
async def test_login_failures(sim: RunningSim, override: dict[str, str], code: str) -> None:
    async with await Conn.open(sim.ws + "/private") as conn:
        failed = await conn.login(sim.keys[0], **override)
        assert (failed["event"], failed["code"]) == ("error", code)
        # Not logged in: private channels stay closed.
        await conn.send({"op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]})
        assert (await conn.recv())["code"] == "60011"


async def test_login_checks_environment_and_ip_binding(sim: RunningSim) -> None:
    live, demo = sim.keys[0], sim.keys[1]
    async with await Conn.open(sim.ws + "/private") as conn:
        assert (await conn.login(demo))["code"] == "60032"  # a demo key on the live URL
    async with await Conn.open(sim.ws + "/private?brokerId=9999") as conn:
        assert (await conn.login(live))["code"] == "60032"  # a live key on the demo URL
    async with await Conn.open(sim.ws + "/private?brokerId=9999") as conn:
        assert (await conn.login(demo))["code"] == "0"
    elsewhere = sim.admin("POST", "/__sim__/keys", {"ip": "10.1.2.3"})
    async with await Conn.open(sim.ws + "/private") as conn:
        assert (await conn.login(elsewhere))["code"] == "60009"


async def test_private_channels_report_connection_counts(sim: RunningSim) -> None:
    key = sim.keys[0]
    async with await Conn.open(sim.ws + "/private") as first, await Conn.open(sim.ws + "/private") as second:
        for n, conn in enumerate((first, second), start=1):
            await conn.login(key)
            await conn.send(
                {"id": "s", "op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]}
            )
            await conn.expect(event="subscribe")
            count = await conn.expect(event="channel-conn-count")
            assert (count["channel"], count["connCount"]) == ("orders", str(n))
        stats = sim.admin("GET", "/__sim__/ws-stats")
        assert stats["subscriptions"]["orders"] == 2 and stats["connections"]["/ws/v5/private"] >= 2


async def test_idle_connection_is_closed_with_4004(sim: RunningSim) -> None:
    sim.admin("POST", "/__sim__/ws-config", {"idleMs": 300})
    async with await Conn.open(sim.ws + "/public") as conn:
        message = await conn.ws.receive(timeout=5)
        assert message.type == aiohttp.WSMsgType.CLOSE
        assert conn.ws.close_code == 4004


async def test_subscribe_and_login_requests_are_limited_per_connection(sim: RunningSim) -> None:
    sim.admin("POST", "/__sim__/ws-config", {"requestsPerHour": 3})
    async with await Conn.open(sim.ws + "/public") as conn:
        arg = {"channel": "tickers", "instId": "BTC-USDT"}
        for _ in range(3):
            await conn.send({"op": "subscribe", "args": [arg]})
            await conn.expect(event="subscribe")
        await conn.send({"op": "unsubscribe", "args": [arg]})
        refused = await conn.expect_event(("error",))
        assert refused["code"] == "60014"


async def test_fourth_connection_in_a_second_is_refused(sim: RunningSim) -> None:
    sim.admin("POST", "/__sim__/ws-config", {"connectionsPerSecond": 3})
    opened: list[Conn] = []
    try:
        for _ in range(3):
            opened.append(await Conn.open(sim.ws + "/public"))
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await Conn.open(sim.ws + "/public")
        assert refused.value.status == 429
    finally:
        for conn in opened:
            await conn.close()


async def test_admin_rejects_bad_fault_requests_with_a_fix(sim: RunningSim) -> None:
    with pytest.raises(RuntimeError, match="kind must be one of"):
        sim.admin("POST", "/__sim__/ws-faults", {"kind": "explode"})
    with pytest.raises(RuntimeError, match="subscribe first"):
        sim.admin("POST", "/__sim__/ws-faults", {"kind": "bad-checksum", "instId": "LINK-USDT"})
    with pytest.raises(RuntimeError, match="durationMs"):
        sim.admin("POST", "/__sim__/ws-faults", {"kind": "stall"})
    with pytest.raises(RuntimeError, match="positive integer"):
        sim.admin("POST", "/__sim__/ws-config", {"idleMs": -1})


async def test_stalled_connection_delivers_late_but_in_order(sim: RunningSim) -> None:
    async with await Conn.open(sim.ws + "/public") as conn:
        stalled = sim.admin("POST", "/__sim__/ws-faults", {"kind": "stall", "durationMs": 1500})
        assert stalled["connections"] >= 1
        await conn.send("ping")
        with pytest.raises(TimeoutError):
            await conn.recv(timeout=0.5)
        assert await conn.recv(timeout=5) == "pong"
