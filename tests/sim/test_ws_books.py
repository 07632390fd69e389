"""The `books`, `books5` and `bbo-tbt` channels against a raw client that merges and checks everything."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from okxbot.sim.book import OrderBook
from okxbot.sim.server import RunningSim
from okxbot.sim.ws_books import HEARTBEAT_MS, BookStream
from tests.sim.book_driver import BookDriver, quiet_simulator
from tests.sim.ws_client import Conn, MergedBook


@pytest.fixture(scope="module")
def quiet_sim() -> Iterator[RunningSim]:
    with quiet_simulator(seed=3, connections_per_second=100) as sim:
        yield sim


@pytest.fixture(scope="module")
def driver(quiet_sim: RunningSim) -> BookDriver:
    book_driver = BookDriver(quiet_sim)
    book_driver.fill(3000)
    return book_driver


def as_rows(levels: list[list[str]]) -> list[list[str]]:
    return [[px, sz, n] for px, sz, _, n in levels]


async def subscribe_books(sim: RunningSim, merged: MergedBook, inst_id: str = "BTC-USDT") -> Conn:
    conn = await Conn.open(sim.ws + "/public")
    await conn.send({"id": "b1", "op": "subscribe", "args": [{"channel": "books", "instId": inst_id}]})
    ack = await conn.expect(event="subscribe")
    assert ack["id"] == "b1"
    snapshot = await conn.push("books")
    assert snapshot["action"] == "snapshot" and snapshot["data"][0]["prevSeqId"] == -1
    merged.apply(snapshot)
    return conn


async def next_books(conn: Conn, seq_id: int) -> list[dict]:
    """Every books message up to and including the one with `seq_id`."""
    messages = []
    while True:
        message = await conn.push("books")
        messages.append(message)
        if message["data"][0]["seqId"] >= seq_id:
            return messages


async def test_merged_book_equals_the_simulators_top_400_after_every_update(
    quiet_sim: RunningSim, driver: BookDriver
) -> None:
    merged = MergedBook()
    async with await subscribe_books(quiet_sim, merged) as conn:
        snapshot_book = quiet_sim.call(lambda: quiet_sim.ctx.exchange.books("BTC-USDT", 400))
        assert len(snapshot_book["bids"]) == 400 and len(snapshot_book["asks"]) == 400
        assert merged.top() == {
            "bids": as_rows(snapshot_book["bids"]),
            "asks": as_rows(snapshot_book["asks"]),
        }
        removed_levels = 0
        for _ in range(600):
            seq_id, book = driver.step()
            for message in await next_books(conn, seq_id):
                merged.apply(message)  # raises on a sequence gap or a checksum mismatch
                data = message["data"][0]
                removed_levels += sum(row[1] == "0" for row in data["bids"] + data["asks"])
            assert merged.seq_id == seq_id
            assert merged.top() == {"bids": as_rows(book["bids"]), "asks": as_rows(book["asks"])}
        assert merged.updates >= 600
        assert removed_levels > 0  # levels leaving the top 400 (or emptied) were sent as size "0"


async def test_corrupted_update_fails_the_checksum_and_skipped_seq_breaks_the_chain(
    quiet_sim: RunningSim, driver: BookDriver
) -> None:
    merged = MergedBook()
    async with await subscribe_books(quiet_sim, merged) as conn:
        quiet_sim.admin("POST", "/__sim__/ws-faults", {"kind": "bad-checksum", "instId": "BTC-USDT"})
        seq_id, _ = driver.step()
        (message,) = await next_books(conn, seq_id)
        with pytest.raises(ValueError, match="checksum mismatch"):
            merged.apply(message)
        # Only that update was corrupted: the stream goes on and the client can check the next one.
        seq_id, book = driver.step()
        for message in await next_books(conn, seq_id):
            merged.apply(message)
        assert merged.top()["bids"] == as_rows(book["bids"])

        quiet_sim.admin("POST", "/__sim__/ws-faults", {"kind": "skip-seq", "instId": "BTC-USDT"})
        seq_id, _ = driver.step()
        (message,) = await next_books(conn, seq_id)
        with pytest.raises(ValueError, match="sequence gap"):
            merged.apply(message)


async def test_a_second_subscriber_joins_the_same_stream(quiet_sim: RunningSim, driver: BookDriver) -> None:
    first, second = MergedBook(), MergedBook()
    async with await subscribe_books(quiet_sim, first) as conn1:
        driver.step()
        async with await subscribe_books(quiet_sim, second) as conn2:
            for _ in range(20):
                seq_id, book = driver.step()
                for conn, merged in ((conn1, first), (conn2, second)):
                    for message in await next_books(conn, seq_id):
                        merged.apply(message)
                    assert merged.top()["asks"] == as_rows(book["asks"])


async def test_books5_and_bbo_tbt_are_full_snapshots_of_the_top(
    quiet_sim: RunningSim, driver: BookDriver
) -> None:
    async with await Conn.open(quiet_sim.ws + "/public") as conn:
        await conn.send(
            {
                "op": "subscribe",
                "args": [
                    {"channel": "books5", "instId": "BTC-USDT"},
                    {"channel": "bbo-tbt", "instId": "BTC-USDT"},
                ],
            }
        )
        books5 = await conn.push("books5")
        bbo = await conn.push("bbo-tbt")
        book = quiet_sim.call(lambda: quiet_sim.ctx.exchange.books("BTC-USDT", 5))
        assert books5["data"][0]["bids"] == book["bids"] and books5["data"][0]["asks"] == book["asks"]
        assert books5["data"][0]["instId"] == "BTC-USDT"
        assert "action" not in books5 and "checksum" not in books5["data"][0]
        assert bbo["data"][0]["bids"] == book["bids"][:1] and bbo["data"][0]["asks"] == book["asks"][:1]


@dataclass
class Resting:
    ord_id: str
    side: str
    px: Decimal
    remaining: Decimal


def test_stream_sends_nothing_for_an_unchanged_book_then_a_heartbeat_after_a_minute() -> None:
    book = OrderBook("BTC-USDT")
    bid = Resting("1", "buy", Decimal("100.5"), Decimal("2"))
    book.add(bid)
    book.add(Resting("2", "sell", Decimal("101"), Decimal("1.50")))
    stream = BookStream("BTC-USDT", book)
    snapshot = stream.snapshot(1_000)
    assert snapshot["bids"] == [["100.5", "2", "0", "1"]] and snapshot["asks"] == [["101", "1.5", "0", "1"]]
    assert stream.update(1_100) is None
    heartbeat = stream.update(1_000 + HEARTBEAT_MS)
    assert heartbeat is not None
    assert heartbeat["bids"] == [] and heartbeat["prevSeqId"] == heartbeat["seqId"] == snapshot["seqId"]
    book.remove(bid)
    update = stream.update(70_000)
    assert update is not None
    assert update["bids"] == [["100.5", "0", "0", "0"]] and update["asks"] == []
    assert update["prevSeqId"] == snapshot["seqId"] and update["seqId"] == snapshot["seqId"] + 1


def test_closed_stream_leaves_the_book_as_it_was() -> None:
    book = OrderBook("BTC-USDT")
    stream = BookStream("BTC-USDT", book)
    stream.close()
    book.add(Resting("1", "buy", Decimal("100"), Decimal("1")))
    assert stream.update(0) is None
    assert book.levels("bids") == [("100", "1", 1)]
