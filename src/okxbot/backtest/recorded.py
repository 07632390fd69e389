"""Replaying a recorded simulator session (`okxbot.sim.recorder`): the market exactly as it was.

The engine is rebuilt as it stood when the recording started (the market's resting orders level by
level in queue order, the tape, the reference price), then the market's own operations are applied
at their recorded times, each recorded batch at once, and the bot's requests arrive on the latency
model between them (`okxbot.backtest.replay`). Nothing about the bot comes from the recording: its
orders and fills are made here, by its own code, so comparing them with the live session's
(`sequence_hash`) is a real check. The market's orders get new ids; recorded ids are mapped.
What the strategy sees is what the simulator would push: its ticker, book and public trades, and
candles from the replayed tape (confirmed ones, as the live runner polls them).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from okxbot.backtest.equity import EquityCurve
from okxbot.backtest.errors import BacktestError
from okxbot.backtest.history import HISTORY_BARS
from okxbot.backtest.loop import VirtualClock
from okxbot.backtest.replay import END, Replay, trades_of
from okxbot.backtest.venue import BacktestVenue
from okxbot.okx.models import Book, dec0
from okxbot.sim.engine import Exchange
from okxbot.sim.events import Event, TradeEvent
from okxbot.sim.instruments import Instrument, InstrumentSet
from okxbot.sim.recorder import FORMAT
from okxbot.trading.core import BotCore
from okxbot.trading.strategy import Candle, Trade

MINUTE = 60_000


def load_recording(path: Path) -> dict[str, Any]:
    """A recording file (`GET /__sim__/record` saved as JSON); BacktestError if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise BacktestError(f"cannot read the recording {path} ({err.strerror})", "check the path") from None
    except ValueError as err:
        raise BacktestError(
            f"{path} is not JSON ({err})", "give the file GET /__sim__/record returned"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BacktestError(
            f"{path} is not a simulator recording ({FORMAT})", "record one with POST /__sim__/record"
        )
    return data


def instrument_of(recording: dict[str, Any], inst_id: str) -> Instrument:
    for spec in recording["instruments"]:
        if spec["instId"] == inst_id:
            px = Decimal(recording["snapshot"][inst_id]["refPx"])
            return Instrument(
                inst_id, Decimal(spec["tickSz"]), Decimal(spec["lotSz"]), Decimal(spec["minSz"]), px
            )
    recorded = ", ".join(s["instId"] for s in recording["instruments"])
    raise BacktestError(
        f"the recording holds {recorded}, not {inst_id}", "backtest a bot on a recorded instrument"
    )


class RecordedMarket:
    """The recorded market's accounts and operations on an engine (ids mapped as it goes)."""

    def __init__(
        self, exchange: Exchange, recording: dict[str, Any], inst_id: str, clock: VirtualClock
    ) -> None:
        self.exchange = exchange
        self.clock = clock
        self.inst_id = inst_id
        self.accounts = {label: exchange.create_account({}, internal=True) for label in recording["accounts"]}
        self.ids: dict[str, str] = {}  # recorded ordId -> this engine's
        snap = recording["snapshot"][inst_id]
        exchange.set_reference_price(inst_id, Decimal(snap["refPx"]))
        exchange.restore_tape(inst_id, snap["tape"])
        for label, side, px, sz, ord_id in snap["book"]:
            self._place(
                label,
                {"instId": inst_id, "tdMode": "cash", "side": side, "ordType": "limit", "px": px, "sz": sz},
                ord_id,
            )
        self.events: list[list[Any]] = [e for e in recording["events"] if _touches(e, inst_id)]
        self.next = 0

    def _account(self, label: str) -> str:
        uid = self.accounts.get(label)
        if uid is None:
            uid = self.accounts[label] = self.exchange.create_account({}, internal=True)
        return uid

    def _place(self, label: str, params: dict[str, str], ord_id: str) -> None:
        ack = self.exchange.place_order(self._account(label), params)
        if ack.get("sCode") == "0":
            self.ids[ord_id] = ack["ordId"]

    def next_ms(self) -> int:
        return int(self.events[self.next][0]) if self.next < len(self.events) else END

    def apply(self) -> None:
        """The next recorded batch, at once."""
        _, ops = self.events[self.next]
        self.next += 1
        ex = self.exchange
        clock = self.clock
        with ex.batch():
            for kind, at, *rest in ops:
                # a batch is applied at once; each operation keeps the time it had (its trades too)
                clock.us = max(clock.us, int(at) * 1000 + clock.us % 1000)
                if kind == "place":
                    label, ord_id, params = rest
                    self._place(label, dict(params), ord_id)
                elif kind == "cancel":
                    label, ord_id, inst = rest
                    mine = self.ids.get(ord_id)
                    if mine is not None:
                        ex.cancel_order(self._account(label), {"instId": inst, "ordId": mine})
                elif kind == "amend":
                    label, ord_id, params = rest
                    mine = self.ids.get(ord_id)
                    if mine is not None:
                        body = {k: v for k, v in params.items() if k not in ("ordId", "clOrdId")}
                        ex.amend_order(self._account(label), {**body, "ordId": mine})
                elif kind == "ref":
                    inst, px = rest
                    ex.set_reference_price(inst, Decimal(px))


def _touches(event: list[Any], inst_id: str) -> bool:
    for op in event[1]:
        kind, rest = op[0], op[2:]
        if kind == "ref" and rest[0] == inst_id:
            return True
        if kind in ("place", "amend") and rest[2].get("instId") == inst_id:
            return True
        if kind == "cancel" and rest[2] == inst_id:
            return True
    return False


class RecordedReplay(Replay):
    """The bot against the recorded market."""

    def __init__(
        self,
        core: BotCore,
        venue: BacktestVenue,
        clock: VirtualClock,
        start_ms: int,
        end_ms: int,
        market: RecordedMarket,
        equity: EquityCurve,
    ) -> None:
        super().__init__(core, venue, clock, start_ms, end_ms)
        self.market = market
        self.exchange = market.exchange
        self.inst_id = market.inst_id
        self.equity = equity
        self._trades: list[dict[str, Any]] = []
        self._bar: str | None = None
        self._bar_ms = 0
        self._next_close = END
        self._next_sample = (start_ms // MINUTE + 1) * MINUTE
        self.exchange.add_listener(self._on_event)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, TradeEvent) and event.inst_id == self.inst_id:
            self._trades.append(event.trade)

    def catch_up(self) -> None:
        """The market before the bot started: applied as it was, nobody watching."""
        while self.market.next_ms() < self.start_ms:
            self.clock.us = self.market.next_ms() * 1000
            self.market.apply()
        self.clock.us = self.start_ms * 1000
        self._trades = []

    # ---- start -------------------------------------------------------------------------------------
    def start_ticker(self) -> dict[str, Any] | None:
        return self.exchange.ticker(self.inst_id)

    def start_history(self) -> list[Candle]:
        strategy = self.core.strategy
        assert strategy is not None
        if not strategy.candle_bar:
            return []
        from okxbot.data.bars import fixed_ms

        self._bar = strategy.candle_bar
        self._bar_ms = fixed_ms(strategy.candle_bar) or MINUTE
        self._next_close = (self.start_ms // self._bar_ms + 1) * self._bar_ms
        return self._candles()

    def _candles(self) -> list[Candle]:
        assert self._bar is not None
        rows = reversed(self.exchange.candles(self.inst_id, self._bar, limit=HISTORY_BARS))
        return [
            Candle(int(r[0]), dec0(r[1]), dec0(r[2]), dec0(r[3]), dec0(r[4]), dec0(r[5]), True)
            for r in rows
            if r[8] == "1"
        ]

    # ---- the market ----------------------------------------------------------------------------------
    def market_ms(self) -> int:
        return self.market.next_ms()

    def apply_market(self) -> None:
        self.market.apply()

    def public_data(self) -> tuple[dict[str, Any] | None, Book | None, list[Trade]]:
        book = None
        if self._wants_book:
            assert self.core.strategy is not None
            depth = self.core.strategy.book_depth
            book = Book.from_okx(self.exchange.books(self.inst_id, depth), self.core.config.symbol, depth)
        trades = trades_of(self._trades) if self._wants_trades else []
        self._trades = []
        return self.exchange.ticker(self.inst_id), book, trades

    # ---- candles and equity --------------------------------------------------------------------------
    def bar_close_ms(self) -> int:
        return self._next_close

    def close_bar(self) -> list[Candle]:
        self._next_close += self._bar_ms
        return self._candles()

    def sample_ms(self) -> int:
        return self._next_sample

    def sample_start(self) -> None:
        self._record()

    def sample(self) -> None:
        self._next_sample += MINUTE
        self._record()

    def _record(self) -> None:
        cash = self.venue.cash()
        rules = self.venue.rules
        last = Decimal(self.exchange.ticker(self.inst_id)["last"])
        self.equity.add_one(
            self.clock.now_ms(), last, cash.get(rules.base, Decimal(0)), cash.get(rules.quote, Decimal(0))
        )


def recording_range(recording: dict[str, Any]) -> tuple[int, int]:
    return int(recording["startMs"]), int(recording["endMs"])


def check_recorded_settings(overrides: dict[str, Any]) -> None:
    """Synthetic-book settings mean nothing against a recorded book: refuse them, say why."""
    moot = [
        k
        for k in ("fill", "queue", "spread_bps", "depth", "level_gap_bps", "level_size")
        if overrides.get(k) is not None
    ]
    if moot:
        raise BacktestError(
            f"{', '.join(moot)} shape the synthetic book of a candle or trade replay; a recorded session "
            "replays the simulator's own book",
            "leave them out with --recording",
        )


__all__ = ["InstrumentSet", "RecordedMarket", "RecordedReplay", "load_recording"]
