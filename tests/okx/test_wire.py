"""Socket timestamps: every message of a chunk gets the chunk's arrival; only the POST carrying an
awaited clOrdId is timed on the way out."""

from __future__ import annotations

from collections import deque
from typing import Any

from okxbot.okx.wire import WireProbe, _TimedReader, _TimedTransport


class Reader:
    """Stands in for aiohttp's WebSocketReader: parses a chunk into messages on the queue's buffer."""

    def __init__(self, buffer: deque[tuple[Any, int]]) -> None:
        self.buffer = buffer

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        for part in data.split(b"|"):
            self.buffer.append((("TEXT", part.decode()), len(part)))
        return False, b""


class Transport:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    def is_closing(self) -> bool:
        return False


def test_messages_of_one_chunk_share_its_arrival_and_the_next_chunk_gets_its_own() -> None:
    buffer: deque[tuple[Any, int]] = deque()
    stamps: dict[int, int] = {}
    reader = _TimedReader(Reader(buffer), buffer, stamps)
    reader.feed_data(b"a|b")
    reader.feed_data(b"c")
    a, b, c = (buffer[i][0] for i in range(3))
    assert stamps[id(a)] == stamps[id(b)] < stamps[id(c)]


def test_only_the_post_carrying_an_awaited_client_order_id_is_timed() -> None:
    probe = WireProbe()
    inner = Transport()
    transport = _TimedTransport(inner, probe)
    transport.write(b'POST /api/v5/trade/order HTTP/1.1\r\n\r\n{"clOrdId":"other"}')
    probe.expect("okxb1")
    transport.write(b"GET /api/v5/trade/order?clOrdId=okxb1 HTTP/1.1\r\n\r\n")  # a lookup, not the order
    assert probe.written("okxb1") == 0
    probe.expect("okxb1")
    transport.write(b'POST /api/v5/trade/order HTTP/1.1\r\n\r\n{"clOrdId":"okxb1"}')
    at = probe.written("okxb1")
    assert at > 0
    assert probe.written("okxb1") == 0  # taken once
    assert len(inner.sent) == 3  # every write still reaches the socket


def test_a_frame_being_handled_dates_its_channel() -> None:
    probe = WireProbe()
    probe.frame_ns = 123
    probe.note_message({"arg": {"channel": "tickers", "instId": "BTC-USDT"}, "data": [{}]})
    probe.note_message({"event": "subscribe", "arg": {"channel": "books5", "instId": "BTC-USDT"}})
    assert probe.arrival("tickers", "BTC-USDT") == 123
    assert probe.arrival("books5", "BTC-USDT") == 0  # an event, not data
