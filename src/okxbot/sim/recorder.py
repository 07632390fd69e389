"""A recording of the synthetic market around a bot: its starting state and its own order flow.

A backtest can replay it into the same matching engine with a bot's orders arriving on a latency
model, and must then produce the very orders and fills the bot made live (okxbot.backtest; the
parity test). Public trades alone cannot give that: a resting order fills when the market's flow
sweeps it, and where it stood in the queue is not on the tape. So the recorder keeps what the
market itself did, which the bot never decides:

* at the start: each instrument's resting market orders level by level in queue order, its tape
  (1m candles, recent trades, last trade) and its reference price;
* then every operation the synthetic market makes through its accounts: orders placed (the
  request as sent), canceled, amended, and reference-price moves, stamped with the simulator's
  clock and grouped as they happened: one market step (or admin price move) is one batch, applied
  at once, with nobody else's request in between. The recorder sees them by standing between the
  market and the engine (`MarketTap`), so the engine itself is not touched.

The bot's own requests are not recorded: the backtest makes them. Other users must not trade the
recorded instruments meanwhile (their orders would be missing from the replay); a recording does
not start while any non-market order rests on them. Admin API: `POST /__sim__/record` starts,
`GET /__sim__/record` returns it so far, `DELETE /__sim__/record` stops and returns it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okxbot.sim.instruments import fmt

if TYPE_CHECKING:
    from okxbot.sim.engine import Exchange

FORMAT = "okxbot-sim-recording/1"
# events: [[t_ms, [op, ...]], ...], op one of
#   ["place", t_ms, account, ordId, params]   ["cancel", t_ms, account, ordId, instId]
#   ["amend", t_ms, account, ordId, params]   ["ref", t_ms, instId, px]
PARAMS = (
    "instId",
    "tdMode",
    "side",
    "ordType",
    "px",
    "sz",
    "tgtCcy",
    "stpMode",
    "newPx",
    "newSz",
    "cxlOnFail",
)


class RecordingRefused(ValueError):
    """A recording that would not replay faithfully; the message says why."""


class Recorder:
    """Attached to an `Exchange` as `exchange.recorder` while it records `inst_ids`."""

    def __init__(self, exchange: Exchange, inst_ids: Iterable[str], seed: int) -> None:
        self.inst_ids = list(dict.fromkeys(inst_ids))
        for inst_id in self.inst_ids:
            if not exchange.has_instrument(inst_id):
                raise RecordingRefused(f"unknown instrument {inst_id!r}")
        self._labels: dict[str, str] = {}  # internal uid -> "m0", "m1", ... (stable in the file)
        self._depth = 0
        self._batch: list[list[Any]] | None = None
        self._batch_at = 0
        self.events: list[list[Any]] = []  # [t_ms, [op, ...]], in order
        self.start_ms = exchange.clock.now_ms()
        self.seed = seed
        self.snapshot = {inst_id: self._snapshot(exchange, inst_id) for inst_id in self.inst_ids}
        self.instruments = [_instrument(exchange, inst_id) for inst_id in self.inst_ids]

    # ---- the starting state -------------------------------------------------------------------------
    def _label(self, uid: str) -> str:
        label = self._labels.get(uid)
        if label is None:
            label = self._labels[uid] = f"m{len(self._labels)}"
        return label

    def _snapshot(self, exchange: Exchange, inst_id: str) -> dict[str, Any]:
        book = exchange.book(inst_id)
        resting: list[list[str]] = []
        for side in ("bids", "asks"):
            for level in book.iter_levels(side):
                for order in level.orders.values():
                    if not getattr(order, "internal", False):
                        raise RecordingRefused(
                            f"an order of another account rests on {inst_id} ({order.ord_id}); a recording "
                            "holds only the market's own flow: start it before any bot trades there"
                        )
                    resting.append(
                        [
                            self._label(order.uid),
                            order.side,
                            fmt(order.px),
                            fmt(order.remaining),
                            order.ord_id,
                        ]
                    )
        return {
            "refPx": fmt(exchange.reference_price(inst_id)),
            "book": resting,  # each level's orders in queue order
            "tape": exchange.tape_snapshot(inst_id),
        }

    # ---- what the market does ------------------------------------------------------------------
    def begin(self, now_ms: int) -> None:
        if self._depth == 0:
            self._batch, self._batch_at = [], now_ms
        self._depth += 1

    def end(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._close()

    def _close(self) -> None:
        if self._batch:
            self.events.append([self._batch_at, self._batch])
        self._batch = None

    def _add(self, op: list[Any], now_ms: int) -> None:
        """Each operation keeps its own time (`[kind, t_ms, ...]`): a step can span milliseconds,
        and its trades are stamped with the time they happened."""
        op.insert(1, now_ms)
        if self._batch is None:  # an operation on its own: a batch of one
            self.events.append([now_ms, [op]])
        else:
            self._batch.append(op)

    def place(self, uid: str, inst_id: str, ord_id: str, params: Mapping[str, Any], now_ms: int) -> None:
        if inst_id in self.snapshot:
            self._add(["place", self._label(uid), ord_id, _params(params)], now_ms)

    def cancel(self, uid: str, inst_id: str, ord_id: str, now_ms: int) -> None:
        if inst_id in self.snapshot:
            self._add(["cancel", self._label(uid), ord_id, inst_id], now_ms)

    def amend(self, uid: str, inst_id: str, ord_id: str, params: Mapping[str, Any], now_ms: int) -> None:
        if inst_id in self.snapshot:
            self._add(["amend", self._label(uid), ord_id, _params(params)], now_ms)

    def reference(self, inst_id: str, px: Decimal, now_ms: int) -> None:
        if inst_id in self.snapshot:
            self._add(["ref", inst_id, fmt(px)], now_ms)

    # ---- out ---------------------------------------------------------------------------------------
    def wire(self, now_ms: int) -> dict[str, Any]:
        """The recording as JSON-ready data (okxbot.backtest.recording reads it)."""
        return {
            "format": FORMAT,
            "seed": self.seed,
            "startMs": self.start_ms,
            "endMs": now_ms,
            "instruments": self.instruments,
            "accounts": sorted(set(self._labels.values())),
            "snapshot": self.snapshot,
            "events": list(self.events),
        }


def _params(params: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(params[k]) for k in PARAMS if params.get(k) not in (None, "")}


def _instrument(exchange: Exchange, inst_id: str) -> dict[str, str]:
    inst = exchange.instrument(inst_id)
    assert inst is not None
    return {
        "instId": inst.inst_id,
        "baseCcy": inst.base_ccy,
        "quoteCcy": inst.quote_ccy,
        "tickSz": fmt(inst.tick_sz),
        "lotSz": fmt(inst.lot_sz),
        "minSz": fmt(inst.min_sz),
    }


class MarketTap:
    """The engine as the synthetic market sees it while a recording runs: every call goes through,
    and the ones that change the market are told to the recorder, in the order they were made."""

    def __init__(self, exchange: Exchange, recorder: Recorder) -> None:
        self.exchange = exchange
        self.recorder = recorder

    def __getattr__(self, name: str) -> Any:
        return getattr(self.exchange, name)

    @contextmanager
    def batch(self) -> Iterator[None]:
        self.recorder.begin(self.exchange.clock.now_ms())
        try:
            with self.exchange.batch():
                yield
        finally:
            self.recorder.end()

    # each operation is stamped with the time it started (its trades are stamped from there)
    def place_order(self, uid: str, params: Mapping[str, Any]) -> dict[str, str]:
        at = _now(self)
        result = self.exchange.place_order(uid, params)
        if result.get("sCode") == "0":
            self.recorder.place(uid, str(params.get("instId")), result["ordId"], params, at)
        return result

    def cancel_order(self, uid: str, params: Mapping[str, Any]) -> dict[str, str]:
        at = _now(self)
        result = self.exchange.cancel_order(uid, params)
        if result.get("sCode") == "0":
            self.recorder.cancel(uid, str(params.get("instId")), result["ordId"], at)
        return result

    def amend_order(self, uid: str, params: Mapping[str, Any]) -> dict[str, str]:
        # recorded whatever the answer: a refused amendment may still cancel (cxlOnFail)
        at = _now(self)
        result = self.exchange.amend_order(uid, params)
        self.recorder.amend(uid, str(params.get("instId")), result.get("ordId", ""), params, at)
        return result

    def set_reference_price(self, inst_id: str, px: Decimal) -> None:
        at = _now(self)
        self.exchange.set_reference_price(inst_id, px)
        self.recorder.reference(inst_id, px, at)


def _now(tap: MarketTap) -> int:
    return tap.exchange.clock.now_ms()


def start_recording(market: Any, exchange: Exchange, inst_ids: Iterable[str], seed: int) -> Recorder:
    """Record `market`'s flow on `inst_ids` from now (replacing a recording already running)."""
    recorder = Recorder(exchange, inst_ids, seed)
    market.exchange = MarketTap(exchange, recorder)
    return recorder


def recording_of(market: Any) -> Recorder | None:
    tap = getattr(market, "exchange", None)
    return tap.recorder if isinstance(tap, MarketTap) else None


def stop_recording(market: Any) -> Recorder | None:
    tap = market.exchange
    if not isinstance(tap, MarketTap):
        return None
    market.exchange = tap.exchange
    return tap.recorder
