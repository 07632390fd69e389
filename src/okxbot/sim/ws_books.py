"""The `books` channel's incremental stream for one instrument (reference §5.5).

Every subscriber of an instrument shares one stream: the 400 levels per side last sent and the seqId
of the last message. `update()` emits only the difference between what was sent and the live top
400 (changed sizes, new levels, removed levels as size "0"), so a client that merges every update
holds exactly the simulator's own top 400. The checksum covers the top 25 of that merged book, built
from the same price and size strings that were sent.

Finding the difference by rescanning 2 x 400 levels costs ~0.3 ms per update in Python, which caps a
connection far below the 5,000 updates/s goal. So the stream taps the book instead (`BookTap`): the
engine reports every change to the book through `add` / `reduce` / `remove`, and the tap records
which prices were touched and keeps a price-sorted mirror of level totals and order counts. An
update then costs what the change costs. Tests compare the merged client book with the engine's own
`OrderBook.levels` after every update, so a mirror that drifted would fail them.

New subscribers get a snapshot of the *sent* state, not of the live book: the next update is a diff
against what was sent, so a snapshot of anything else would leave them out of step.
"""

from __future__ import annotations

from bisect import bisect_left
from decimal import Decimal
from typing import Any, Literal, Protocol

from okxbot.sim.checksum import okx_checksum
from okxbot.sim.instruments import fmt

DEPTH = 400
HEARTBEAT_MS = 60_000  # OKX sends an empty update with prevSeqId == seqId after a minute of no change
_ALL = 1 << 30

Side = Literal["bids", "asks"]


class Resting(Protocol):
    ord_id: str
    side: str
    px: Decimal
    remaining: Decimal


class TappableBook(Protocol):
    def add(self, order: Any) -> None: ...

    def reduce(self, order: Any, qty: Decimal) -> None: ...

    def remove(self, order: Any) -> None: ...

    def contains(self, order: Any) -> bool: ...

    def levels(self, side: Side, depth: int = 400) -> list[tuple[str, str, int]]: ...


class _Level:
    __slots__ = ("count", "px", "px_str", "size", "total")

    def __init__(self, px: Decimal, px_str: str, total: Decimal, count: int, size: str) -> None:
        self.px = px
        self.px_str = px_str
        self.total = total
        self.count = count
        self.size = size  # fmt(total), kept so that an unchanged level keeps its exact spelling


class _MirrorSide:
    """All levels of one side: by price, and best first (`keys` and `ordered` are parallel lists)."""

    def __init__(self, descending: bool, rows: list[tuple[str, str, int]]) -> None:
        self.sign = Decimal(-1) if descending else Decimal(1)
        self.levels: dict[Decimal, _Level] = {}
        for px_str, size, count in rows:
            px = Decimal(px_str)
            self.levels[px] = _Level(px, px_str, Decimal(size), count, size)
        self.ordered = sorted(self.levels.values(), key=lambda lv: self.sign * lv.px)
        self.keys = [self.sign * lv.px for lv in self.ordered]  # ascending: index 0 is the best level

    def change(self, px: Decimal, qty: Decimal, orders: int) -> None:
        level = self.levels.get(px)
        if level is None:
            level = self.levels[px] = _Level(px, fmt(px), qty, orders, "")
            key = self.sign * px
            i = bisect_left(self.keys, key)
            self.keys.insert(i, key)
            self.ordered.insert(i, level)
        else:
            level.total += qty
            level.count += orders
        if level.count <= 0:
            del self.levels[px]
            i = bisect_left(self.keys, self.sign * px)
            del self.keys[i]
            del self.ordered[i]
        else:
            level.size = fmt(level.total)

    def top(self, n: int) -> list[tuple[str, str]]:
        return [(lv.px_str, lv.size) for lv in self.ordered[:n]]


class BookTap:
    """Observes one OrderBook's mutators and keeps a mirror of its levels plus the prices touched."""

    def __init__(self, book: TappableBook) -> None:
        self.book = book
        self.sides = {
            "bids": _MirrorSide(True, book.levels("bids", _ALL)),
            "asks": _MirrorSide(False, book.levels("asks", _ALL)),
        }
        self.touched: dict[str, set[Decimal]] = {"bids": set(), "asks": set()}
        original_add, original_reduce, original_remove = book.add, book.reduce, book.remove

        def add(order: Resting) -> None:
            original_add(order)
            self._record(order, order.remaining, 1)

        def reduce(order: Resting, qty: Decimal) -> None:
            original_reduce(order, qty)
            self._record(order, -qty, 0)

        def remove(order: Resting) -> None:
            if not book.contains(order):
                original_remove(order)
                return
            remaining = order.remaining
            original_remove(order)
            self._record(order, -remaining, -1)

        # Instance attributes shadow the class's methods for this one book; `close` removes them.
        book.add, book.reduce, book.remove = add, reduce, remove  # type: ignore[method-assign]

    def _record(self, order: Resting, qty: Decimal, orders: int) -> None:
        side = "bids" if order.side == "buy" else "asks"
        self.sides[side].change(order.px, qty, orders)
        self.touched[side].add(order.px)

    def close(self) -> None:
        for name in ("add", "reduce", "remove"):
            self.book.__dict__.pop(name, None)


class _SentSide:
    """What the subscribers hold for one side: price -> (price string, size string, order count)."""

    def __init__(self, descending: bool) -> None:
        self.descending = descending
        self.levels: dict[Decimal, tuple[str, str, int]] = {}

    def load(self, mirror: _MirrorSide) -> None:
        self.levels = {}
        for level in mirror.ordered[:DEPTH]:
            self.levels[level.px] = (level.px_str, level.size, level.count)

    def diff(self, mirror: _MirrorSide, touched: set[Decimal]) -> list[list[str]]:
        """Bring the sent state to the mirror's top 400; return the rows that changed, best first."""
        sent = self.levels
        changed: dict[Decimal, list[str]] = {}
        depth = len(mirror.keys)
        # Touched levels, plus the levels that crossed the 400 boundary because of them: the boundary
        # moves by at most one position per touched level.
        window = range(max(0, DEPTH - len(touched) - 1), min(depth, DEPTH + len(touched) + 1))
        candidates = set(touched)
        candidates.update(mirror.ordered[rank].px for rank in window)
        # A level is inside the top 400 when it is no worse than the 400th level (if there is one).
        last = mirror.ordered[DEPTH - 1].px if depth > DEPTH else None
        descending = self.descending
        for px in candidates:
            level = mirror.levels.get(px)
            if level is not None and (last is None or (px >= last if descending else px <= last)):
                row = (level.px_str, level.size, level.count)
                if sent.get(px) != row:
                    sent[px] = row
                    changed[px] = [row[0], row[1], "0", str(row[2])]
            elif px in sent:
                px_str = sent.pop(px)[0]
                changed[px] = [px_str, "0", "0", "0"]
        # OKX lists bids high to low and asks low to high, in updates as in snapshots.
        return [changed[px] for px in sorted(changed, reverse=self.descending)]

    def rows(self) -> list[list[str]]:
        ordered = sorted(self.levels, reverse=self.descending)
        return [[px_str, size, "0", str(n)] for px_str, size, n in (self.levels[px] for px in ordered)]


class BookStream:
    """What the subscribers of one instrument's `books` channel have been sent."""

    def __init__(self, inst_id: str, book: TappableBook, first_seq_id: int = 1) -> None:
        self.inst_id = inst_id
        self.tap = BookTap(book)
        self.seq_id = first_seq_id
        self.bids = _SentSide(descending=True)
        self.asks = _SentSide(descending=False)
        self.bids.load(self.tap.sides["bids"])
        self.asks.load(self.tap.sides["asks"])
        self.last_sent_ms = 0
        # Admin faults, each applied to the next update only.
        self.corrupt_next = False
        self.skip_next = False

    def close(self) -> None:
        """Stop observing the book (the last subscriber left)."""
        self.tap.close()

    def _checksum(self) -> int:
        return okx_checksum(self.tap.sides["bids"].top(25), self.tap.sides["asks"].top(25))

    def snapshot(self, ts_ms: int) -> dict[str, Any]:
        """The first message for a new subscriber: the state last sent, as of the last seqId."""
        if not self.last_sent_ms:
            self.last_sent_ms = ts_ms  # the heartbeat minute runs from the first message
        bids, asks = self.bids.rows(), self.asks.rows()
        return {
            "asks": asks,
            "bids": bids,
            "ts": str(ts_ms),
            "checksum": okx_checksum(bids, asks),
            "prevSeqId": -1,
            "seqId": self.seq_id,
        }

    def update(self, ts_ms: int) -> dict[str, Any] | None:
        """The next incremental update, or None when the top 400 did not change (and no heartbeat is due)."""
        touched = self.tap.touched
        if not touched["bids"] and not touched["asks"]:
            return self._heartbeat(ts_ms)
        bid_changes = self.bids.diff(self.tap.sides["bids"], touched["bids"])
        ask_changes = self.asks.diff(self.tap.sides["asks"], touched["asks"])
        touched["bids"].clear()
        touched["asks"].clear()
        if not bid_changes and not ask_changes:
            return self._heartbeat(ts_ms)
        prev = self.seq_id
        self.seq_id += 1
        if self.skip_next:
            # A lost message, as the client sees it: the update's prevSeqId names a seqId never sent.
            self.skip_next = False
            prev = self.seq_id
            self.seq_id += 1
        checksum = self._checksum()
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
            "checksum": self._checksum(),
            "prevSeqId": self.seq_id,
            "seqId": self.seq_id,
        }


def top_levels(book: TappableBook, depth: int) -> dict[str, Any]:
    """A full-depth snapshot message body for books5 (depth 5) and bbo-tbt (depth 1)."""
    return {
        "asks": [[px, sz, "0", str(n)] for px, sz, n in book.levels("asks", depth)],
        "bids": [[px, sz, "0", str(n)] for px, sz, n in book.levels("bids", depth)],
    }
