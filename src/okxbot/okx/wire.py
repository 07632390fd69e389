"""Timestamps at the socket: when a WebSocket frame arrived, when an order request's bytes were written.

Tick-to-order latency is measured from wire to wire (docs/architecture.md, "Latency"): the clock
starts when the bytes of a market-data frame come out of the socket, before aiohttp parses the frame
and before ccxt decodes its JSON, and stops when the transport has written the POST that carries
the order. Both ends hook aiohttp one level above the socket:

* frames in: the connection's WebSocket reader is wrapped, so each chunk `data_received` hands it
  is timed (`time.perf_counter_ns`) before parsing, and every message parsed from that chunk gets
  the chunk's time; ccxt's client then hands that time to `OkxExchange.handle_message`, which keeps
  the latest per (channel, instId): `arrival("tickers", "BTC-USDT")`.
* bytes out: the connector's protocols get a transport wrapper whose `write` notes the time right
  after the data went to the socket, when the data carries a clOrdId someone `expect`s.

Cost when nobody waits for a write: one `perf_counter_ns()` and a dict store per received chunk and
message, one attribute test per write. It is always on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

perf_ns = time.perf_counter_ns


class WireProbe:
    """The socket timestamps of one `OkxExchange` (its REST connector and WebSocket clients)."""

    def __init__(self) -> None:
        self.frame_ns = 0  # arrival of the frame being handled right now (0 outside handling)
        self.arrivals: dict[tuple[str, str], int] = {}  # (channel, instId) -> latest frame's arrival
        self._expected: dict[bytes, str] = {}  # clOrdId bytes -> clOrdId
        self._written: dict[str, int] = {}

    # ---- frames in --------------------------------------------------------------------------------
    def arrival(self, channel: str, inst_id: str = "") -> int:
        """perf_counter_ns at which the latest frame of this channel reached the socket (0: unknown)."""
        return self.arrivals.get((channel, inst_id), 0)

    def note_message(self, message: Any) -> None:
        """Called with each decoded message while its frame is being handled."""
        if self.frame_ns and type(message) is dict and "data" in message:
            arg = message.get("arg")
            if type(arg) is dict:
                self.arrivals[(str(arg.get("channel")), str(arg.get("instId") or ""))] = self.frame_ns

    def watch_client(self, ws_client: Any) -> None:
        """Time every message a ccxt WebSocket client handles, from its frame's arrival."""
        ws_client.okx_stamps = {}
        original = ws_client.handle_message

        def handle_message(message: Any) -> Any:
            self.frame_ns = ws_client.okx_stamps.pop(id(message), 0)
            try:
                return original(message)
            finally:
                self.frame_ns = 0

        ws_client.handle_message = handle_message

    def watch_connection(self, ws_client: Any, connection: Any) -> None:
        """Wrap a new WebSocket connection's frame reader (aiohttp), so chunks are timed on arrival."""
        stamps: dict[int, int] = {}
        ws_client.okx_stamps = stamps
        try:
            protocol = connection._conn.protocol
            reader, queue = protocol._payload_parser, protocol._payload
            buffer = queue._buffer
        except AttributeError:
            return  # another aiohttp: no timestamps, everything else works
        if reader is not None and not isinstance(reader, _TimedReader):
            protocol._payload_parser = _TimedReader(reader, buffer, stamps)

    # ---- bytes out ----------------------------------------------------------------------------------
    def watch_connector(self, connector: Any) -> None:
        """Give every connection `connector` opens from now on a timed transport (aiohttp)."""
        if getattr(connector, "okx_timed", False) or not hasattr(connector, "_factory"):
            return
        factory: Callable[[], Any] = connector._factory
        probe = self

        def timed_factory() -> Any:
            protocol = factory()
            made = protocol.connection_made

            def connection_made(transport: Any) -> None:
                made(transport)
                if protocol.transport is not None:
                    protocol.transport = _TimedTransport(protocol.transport, probe)

            protocol.connection_made = connection_made
            return protocol

        connector._factory = timed_factory
        connector.okx_timed = True

    def expect(self, client_order_id: str) -> None:
        """Note when the request carrying this clOrdId is written (then `written(cid)`)."""
        self._expected[client_order_id.encode()] = client_order_id

    def written(self, client_order_id: str) -> int:
        """perf_counter_ns right after the request carrying it left (0: not seen); forgets both."""
        self._expected.pop(client_order_id.encode(), None)
        return self._written.pop(client_order_id, 0)

    def _wrote(self, data: Any, at_ns: int) -> None:
        chunk = data if isinstance(data, bytes | bytearray) else bytes(data)
        if not chunk.startswith(b"POST "):
            return
        for needle in [n for n in self._expected if n in chunk]:
            self._written[self._expected.pop(needle)] = at_ns


class _TimedReader:
    """aiohttp's WebSocketReader, with each chunk's arrival given to the messages parsed from it."""

    __slots__ = ("_buffer", "_reader", "_stamps")

    def __init__(self, reader: Any, buffer: Any, stamps: dict[int, int]) -> None:
        self._reader, self._buffer, self._stamps = reader, buffer, stamps

    def feed_data(self, data: bytes) -> Any:
        at = perf_ns()
        buffer = self._buffer
        before = len(buffer)
        result = self._reader.feed_data(data)
        for i in range(before, len(buffer)):
            self._stamps[id(buffer[i][0])] = at
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


class _TimedTransport:
    """A transport whose writes are timed (right after the socket took them) when awaited."""

    __slots__ = ("_probe", "_transport")

    def __init__(self, transport: Any, probe: WireProbe) -> None:
        self._transport, self._probe = transport, probe

    def write(self, data: Any) -> None:
        self._transport.write(data)
        if self._probe._expected:
            self._probe._wrote(data, perf_ns())

    def writelines(self, chunks: Any) -> None:
        chunks = list(chunks)
        self._transport.writelines(chunks)
        if self._probe._expected:
            self._probe._wrote(b"".join(chunks), perf_ns())

    def is_closing(self) -> bool:
        return bool(self._transport.is_closing())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
