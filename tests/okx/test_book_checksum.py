"""The order-book checksum okxbot restores on top of ccxt.pro okx (reference §5.5).

The checksum function is checked against OKX's documented vectors and a plain reimplementation;
`OkxExchange` is driven against the simulator's `books` channel over real loopback WebSocket.
"""

from __future__ import annotations

import asyncio
import random
import zlib
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import pytest
from ccxt.base.errors import ChecksumError
from hypothesis import given, settings
from hypothesis import strategies as st

from okxbot.okx.book_checksum import StringBook, okx_checksum
from okxbot.okx.exchange import OkxExchange
from okxbot.sim.server import RunningSim
from tests.sim.book_driver import BookDriver, quiet_simulator

SYMBOL = "BTC/USDT"


# ---- the function ---------------------------------------------------------------------------------
def test_documented_vectors() -> None:
    assert okx_checksum([["3366.1", "7"], ["3366", "6"]], [["3366.8", "9"], ["3368", "8"]]) == -1881014294
    assert okx_checksum([["3366.1", "7"]], [["3366.8", "9"], ["3368", "8"], ["3372", "8"]]) == 831078360


def _plain_checksum(bids: list[list[str]], asks: list[list[str]]) -> int:
    """Straight from the reference's prose: sort by value, interleave the best 25, signed CRC32."""
    best_bids = sorted(bids, key=lambda lvl: Decimal(lvl[0]), reverse=True)[:25]
    best_asks = sorted(asks, key=lambda lvl: Decimal(lvl[0]))[:25]
    text = []
    for i in range(25):
        for side in (best_bids, best_asks):
            if i < len(side):
                text.append(f"{side[i][0]}:{side[i][1]}")
    value = zlib.crc32(":".join(text).encode()) & 0xFFFFFFFF
    return value - 2**32 if value > 2**31 - 1 else value


# one tick size, so every price value has one spelling, as on OKX; sizes include "0.0000" (delete)
_px = st.builds(lambda n: str(Decimal(n).scaleb(-1)), st.integers(1, 2000))
_sz = st.builds(lambda n: str(Decimal(n).scaleb(-4)), st.integers(0, 10**6) | st.just(0))
_updates = st.lists(st.tuples(st.sampled_from(("bids", "asks")), _px, _sz), min_size=1, max_size=120)


@settings(max_examples=150, deadline=None)
@given(_updates)
def test_merged_string_book_matches_a_plain_rebuild(updates: list[tuple[str, str, str]]) -> None:
    book = StringBook()
    plain: dict[str, dict[Decimal, list[str]]] = {"bids": {}, "asks": {}}
    for side, px, sz in updates:
        book.apply([[px, sz]] if side == "bids" else [], [[px, sz]] if side == "asks" else [])
        levels = plain[side]
        if Decimal(sz) == 0:
            levels.pop(Decimal(px), None)
        else:
            levels[Decimal(px)] = [px, sz]
        assert book.checksum() == _plain_checksum(list(plain["bids"].values()), list(plain["asks"].values()))


# ---- against the simulator ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def quiet_sim() -> Iterator[RunningSim]:
    with quiet_simulator(seed=3, connections_per_second=100) as sim:
        yield sim


@pytest.fixture(scope="module")
def driver(quiet_sim: RunningSim) -> BookDriver:
    book_driver = BookDriver(quiet_sim, seed=23)
    book_driver.fill(2500)
    return book_driver


@pytest.fixture
async def okx(quiet_sim: RunningSim) -> AsyncIterator[OkxExchange]:
    exchange = OkxExchange({})
    exchange.urls["api"]["rest"] = quiet_sim.rest
    exchange.urls["api"]["ws"] = quiet_sim.ws
    try:
        yield exchange
    finally:
        await exchange.close()


def floats(levels: list[list[str]]) -> list[list[float]]:
    return [[float(px), float(sz)] for px, sz, *_ in levels]


async def follow(okx: OkxExchange, driver: BookDriver, steps: int) -> None:
    """Move the simulator's book `steps` times; after each update ccxt's book equals the simulator's."""
    book = okx.orderbooks.get(SYMBOL) or await asyncio.wait_for(okx.watch_order_book(SYMBOL), 5)
    for _ in range(steps):
        seq_id, expected = driver.step()
        while book["nonce"] != seq_id:
            book = await asyncio.wait_for(okx.watch_order_book(SYMBOL), 5)
        assert book["bids"] == floats(expected["bids"])
        assert book["asks"] == floats(expected["asks"])


async def test_every_update_of_a_moving_book_passes_the_checksum(
    okx: OkxExchange, driver: BookDriver
) -> None:
    await follow(okx, driver, 220)
    assert okx.okx_checksums_verified >= 221  # the snapshot and each update


async def test_a_corrupted_update_is_reported_and_the_next_watch_recovers(
    okx: OkxExchange, quiet_sim: RunningSim, driver: BookDriver
) -> None:
    await follow(okx, driver, 3)
    quiet_sim.admin("POST", "/__sim__/ws-faults", {"kind": "bad-checksum", "instId": "BTC-USDT"})
    driver.step()
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        for _ in range(5):
            await asyncio.wait_for(okx.watch_order_book(SYMBOL), 5)
    assert SYMBOL not in okx.orderbooks  # the corrupted book is not left around for readers

    # The next watch resubscribes, gets a fresh snapshot and follows the book again, exactly.
    await follow(okx, driver, 30)


async def test_the_check_can_be_turned_off(
    okx: OkxExchange, quiet_sim: RunningSim, driver: BookDriver
) -> None:
    okx.options["okxChecksum"] = False
    await follow(okx, driver, 2)
    quiet_sim.admin("POST", "/__sim__/ws-faults", {"kind": "bad-checksum", "instId": "BTC-USDT"})
    await follow(okx, driver, 5)  # no error: plain ccxt behaviour
    assert okx.okx_checksums_verified == 0


def test_string_book_follows_a_long_random_stream_like_a_plain_rebuild() -> None:
    rng = random.Random(5)
    book = StringBook()
    plain: dict[str, dict[Decimal, list[str]]] = {"bids": {}, "asks": {}}
    for _ in range(3000):
        side = rng.choice(("bids", "asks"))
        px = str(Decimal(rng.randint(1000, 1600) if side == "bids" else rng.randint(1500, 2100)).scaleb(-1))
        sz = "0" if rng.random() < 0.4 else str(Decimal(rng.randint(1, 9999)).scaleb(-3))
        book.apply([[px, sz]] if side == "bids" else [], [[px, sz]] if side == "asks" else [])
        if sz == "0":
            plain[side].pop(Decimal(px), None)
        else:
            plain[side][Decimal(px)] = [px, sz]
    assert book.checksum() == _plain_checksum(list(plain["bids"].values()), list(plain["asks"].values()))
