"""The `books` channel's incremental stream for one instrument (reference §5.5).

Every subscriber of an instrument shares one stream: the 400 levels per side last sent, the seqId of
the last message and the book version they were taken at. `update()` compares the live top 400
with what was sent and emits only the difference (changed sizes, new levels, removed levels as size
"0"), so a client that merges every update holds exactly the simulator's own top 400. The checksum
covers the top 25 of that merged book, built from the same price and size strings that were sent.

New subscribers get a snapshot of the *sent* state, not of the live book: the next update is a diff
against what was sent, so a snapshot of anything else would leave them out of step.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from okxbot.sim.checksum import okx_checksum

DEPTH = 400
HEARTBEAT_MS = 60_000  # OKX sends an empty update with prevSeqId == seqId after a minute of no change

LevelRow = tuple[str, str, int]  # (price string, size string, number of orders)


class LeveledBook(Protocol):
    version: int

    def levels(self, side: Any, depth: int = 400) -> list[LevelRow]: ...


def _wire(rows: list[LevelRow]) -> list[list[str]]:
    return [[px, sz, "0", str(n)] for px, sz, n in rows]


def _diff(old: dict[str, tuple[str, int]], new_rows: list[LevelRow], descending: bool) -> list[list[str]]:
    changes: list[tuple[Decimal, list[str]]] = []
    seen: set[str] = set()
    for px, sz, n in new_rows:
        seen.add(px)
        if old.get(px) != (sz, n):
            changes.append((Decimal(px), [px, sz, "0", str(n)]))
    for px in old:
        if px not in seen:
            changes.append((Decimal(px), [px, "0", "0", "0"]))
    # OKX lists bids high to low and asks low to high, in updates as in snapshots.
    changes.sort(key=lambda item: item[0], reverse=descending)
    return [row for _, row in changes]


class BookStream:
    """What the subscribers of one instrument's `books` channel have been sent."""

    def __init__(self, inst_id: str, first_seq_id: int = 1) -> None:
        self.inst_id = inst_id
        self.seq_id = first_seq_id - 1
        self.primed = False
        self.version = -1
        self.bids: list[LevelRow] = []
        self.asks: list[LevelRow] = []
        self._bid_map: dict[str, tuple[str, int]] = {}
        self._ask_map: dict[str, tuple[str, int]] = {}
        self.last_sent_ms = 0
        # Admin faults, each applied to the next update only.
        self.corrupt_next = False
        self.skip_next = False

    def _take(self, book: LeveledBook) -> None:
        self.version = book.version
        self.bids = book.levels("bids", DEPTH)
        self.asks = book.levels("asks", DEPTH)
        self._bid_map = {px: (sz, n) for px, sz, n in self.bids}
        self._ask_map = {px: (sz, n) for px, sz, n in self.asks}

    def snapshot(self, book: LeveledBook, ts_ms: int) -> dict[str, Any]:
        """The first message for a new subscriber: the state last sent (taken now if nothing was)."""
        if not self.primed:
            self._take(book)
            self.seq_id += 1
            self.primed = True
            self.last_sent_ms = ts_ms
        return {
            "asks": _wire(self.asks),
            "bids": _wire(self.bids),
            "ts": str(ts_ms),
            "checksum": okx_checksum(self.bids, self.asks),
            "prevSeqId": -1,
            "seqId": self.seq_id,
        }

    def update(self, book: LeveledBook, ts_ms: int) -> dict[str, Any] | None:
        """The next incremental update, or None when the top 400 did not change (and no heartbeat is due)."""
        if not self.primed:
            return None
        if book.version == self.version:
            return self._heartbeat(ts_ms)
        old_bids, old_asks = self._bid_map, self._ask_map
        self._take(book)
        bid_changes = _diff(old_bids, self.bids, descending=True)
        ask_changes = _diff(old_asks, self.asks, descending=False)
        if not bid_changes and not ask_changes:
            return self._heartbeat(ts_ms)
        prev = self.seq_id
        self.seq_id += 1
        if self.skip_next:
            # A lost message, as the client sees it: the update's prevSeqId names a seqId never sent.
            self.skip_next = False
            prev = self.seq_id
            self.seq_id += 1
        checksum = okx_checksum(self.bids, self.asks)
        if self.corrupt_next:
            self.corrupt_next = False
            checksum = checksum - 1 if checksum > -(1 << 31) else checksum + 1
        self.last_sent_ms = ts_ms
        return {
            "asks": ask_changes,
            "bids": bid_changes,
            "ts": str(ts_ms),
            "checksum": checksum,
            "prevSeqId": prev,
            "seqId": self.seq_id,
        }

    def _heartbeat(self, ts_ms: int) -> dict[str, Any] | None:
        if ts_ms - self.last_sent_ms < HEARTBEAT_MS:
            return None
        self.last_sent_ms = ts_ms
        return {
            "asks": [],
            "bids": [],
            "ts": str(ts_ms),
            "checksum": okx_checksum(self.bids, self.asks),
            "prevSeqId": self.seq_id,
            "seqId": self.seq_id,
        }


def top_levels(book: LeveledBook, depth: int) -> dict[str, Any]:
    """A full-depth snapshot message body for books5 (depth 5) and bbo-tbt (depth 1)."""
    return {"asks": _wire(book.levels("asks", depth)), "bids": _wire(book.levels("bids", depth))}
