"""OKX's order-book checksum: the documented vectors and the properties a client relies on."""

from __future__ import annotations

import zlib

from hypothesis import given
from hypothesis import strategies as st

from okxbot.sim.checksum import checksum_string, okx_checksum


def test_documented_vectors() -> None:
    bids = [["3366.1", "7"], ["3366", "6"]]
    asks = [["3366.8", "9"], ["3368", "8"]]
    assert checksum_string(bids, asks) == "3366.1:7:3366.8:9:3366:6:3368:8"
    assert okx_checksum(bids, asks) == -1881014294
    bids2 = [["3366.1", "7"]]
    asks2 = [["3366.8", "9"], ["3368", "8"], ["3372", "8"]]
    assert checksum_string(bids2, asks2) == "3366.1:7:3366.8:9:3368:8:3372:8"
    assert okx_checksum(bids2, asks2) == 831078360


def test_levels_carry_extra_fields_which_are_ignored() -> None:
    # Wire levels are [px, sz, "0", numOrders]; only px and sz enter the checksum.
    assert okx_checksum([["3366.1", "7", "0", "2"]], []) == okx_checksum([["3366.1", "7"]], [])


num = st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False).map(
    lambda d: format(d.normalize(), "f")
)
levels = st.lists(st.tuples(num, num).map(list), max_size=40)


@given(levels, levels)
def test_signed_crc32_of_the_interleaved_top_25(bids: list[list[str]], asks: list[list[str]]) -> None:
    value = okx_checksum(bids, asks)
    assert -(2**31) <= value < 2**31
    parts = []
    for i in range(25):
        parts += bids[i][:2] if i < len(bids) else []
        parts += asks[i][:2] if i < len(asks) else []
    assert value % 2**32 == zlib.crc32(":".join(parts).encode())


@given(levels, levels, st.lists(st.tuples(num, num).map(list), min_size=1, max_size=5))
def test_levels_beyond_25_do_not_count(
    bids: list[list[str]], asks: list[list[str]], extra: list[list[str]]
) -> None:
    padded = (bids + [["1", "1"]] * 25)[:25]
    assert okx_checksum(padded + extra, asks) == okx_checksum(padded, asks)


@given(levels.filter(bool), levels)
def test_respelling_a_price_changes_the_checksum(bids: list[list[str]], asks: list[list[str]]) -> None:
    # Why clients must hash the strings as sent: "3366" and "3366.0" are the same number.
    respelled = [[bids[0][0] + ("0" if "." in bids[0][0] else ".0"), bids[0][1]], *bids[1:]]
    assert okx_checksum(respelled, asks) != okx_checksum(bids, asks)
