"""OKX's order-book checksum on the client side (reference §5.5), and the string mirror it needs.

ccxt keeps book levels as floats, which cannot give back the exact strings OKX hashed ("3366.10" and
"3366.1" differ), so `StringBook` keeps the price and size strings as received, sorted by price.
The simulator's `okxbot.sim.checksum` is an independent twin; this layer must not import it.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from decimal import Decimal

DEPTH = 25
_KEEP = 400  # the deepest OKX incremental channel
_KEEP_MAX = 2 * _KEEP


def okx_checksum(bids: Sequence[Sequence[str]], asks: Sequence[Sequence[str]]) -> int:
    """Signed CRC32 of "bid1px:bid1sz:ask1px:ask1sz:..." over the best 25 levels a side (as sent)."""
    parts: list[str] = []
    for i in range(DEPTH):
        if i < len(bids):
            parts.append(bids[i][0])
            parts.append(bids[i][1])
        if i < len(asks):
            parts.append(asks[i][0])
            parts.append(asks[i][1])
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= (1 << 31) else value


class _Side:
    """One side as price string -> size string, plus its prices sorted best first.

    Sort keys are the exact Decimal values of the price strings (negated for bids), so each update is
    a bisect into the sorted keys, with no rounding whatever the price's digits.
    """

    __slots__ = ("descending", "keys", "prices", "sizes")

    def __init__(self, descending: bool) -> None:
        self.descending = descending
        self.keys: list[Decimal] = []
        self.prices: list[str] = []
        self.sizes: dict[str, str] = {}

    def apply(self, levels: Iterable[Sequence[str]]) -> None:
        for level in levels:
            px, sz = level[0], level[1]
            known = px in self.sizes
            if Decimal(sz).is_zero():
                if known:
                    del self.sizes[px]
                    i = bisect_left(self.keys, self._key(px))
                    del self.keys[i]
                    del self.prices[i]
                continue
            self.sizes[px] = sz
            if not known:
                key = self._key(px)
                i = bisect_left(self.keys, key)
                self.keys.insert(i, key)
                self.prices.insert(i, px)

        if len(self.prices) > _KEEP_MAX:
            # OKX sends no delete for a level pushed below its 400: trim the tail (never the top 25)
            for px in self.prices[_KEEP:]:
                del self.sizes[px]
            del self.prices[_KEEP:]
            del self.keys[_KEEP:]

    def _key(self, px: str) -> Decimal:
        price = Decimal(px)
        return -price if self.descending else price

    def top(self) -> list[tuple[str, str]]:
        sizes = self.sizes
        return [(px, sizes[px]) for px in self.prices[:DEPTH]]


class StringBook:
    """The merged book of one `books` subscription in OKX's own strings, for checksum checks."""

    __slots__ = ("asks", "bids")

    def __init__(self) -> None:
        self.bids = _Side(descending=True)
        self.asks = _Side(descending=False)

    def apply(self, bids: Iterable[Sequence[str]], asks: Iterable[Sequence[str]]) -> None:
        """Merge a snapshot (into an empty book) or an update: size "0" deletes, others replace."""
        self.bids.apply(bids)
        self.asks.apply(asks)

    def checksum(self) -> int:
        return okx_checksum(self.bids.top(), self.asks.top())
