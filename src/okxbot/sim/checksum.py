"""OKX's order-book checksum (reference §5.5): signed CRC32 over the top 25 levels, interleaved.

The string is built from the price and size strings exactly as sent, never re-formatted numbers:
"3366.1" and "3366.10" hash differently, which is why a client that re-renders floats fails it.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

DEPTH = 25


def checksum_string(bids: Sequence[Sequence[str]], asks: Sequence[Sequence[str]]) -> str:
    """The string OKX hashes, "bid1px:bid1sz:ask1px:ask1sz:bid2px:...", over the best 25 a side."""
    parts: list[str] = []
    for i in range(DEPTH):
        if i < len(bids):
            parts.append(bids[i][0])
            parts.append(bids[i][1])
        if i < len(asks):
            parts.append(asks[i][0])
            parts.append(asks[i][1])
    return ":".join(parts)


def okx_checksum(bids: Sequence[Sequence[str]], asks: Sequence[Sequence[str]]) -> int:
    """CRC32 of `checksum_string`, as a signed 32-bit integer (what OKX sends in `checksum`)."""
    value = zlib.crc32(checksum_string(bids, asks).encode())
    return value - (1 << 32) if value >= (1 << 31) else value
