"""Index and mark prices of the swaps, the premium that drives funding, and their price limits.

* Index (`BTC-USDT`, `BTC-USD`): the mid of the spot pair's best bid and ask (the last spot trade
  when a side is empty), rounded to the spot tick. OKX averages several exchanges; the simulator has
  one spot market, so a USD index is the coin's USDT price.
* Premium index: `((best bid + best ask) / 2 of the swap - index) / index` (OKX's noRate formula
  with interest 0), sampled once a minute from the swap's book (`refresh`).
* Mark price: `index * (1 + basis)`, rounded to the swap's tick, where the basis is the average of
  the last 5 minute samples of the premium (OKX: index plus a moving average of the basis), or a
  fixed basis set by the admin API (`set_basis`).
* Price limit: buys at most mark * 1.02, sells at least mark * 0.98 (`SwapRules.price_band`, 51006).

Index and mark prices are also printed to minute candles (`index_tapes`, `mark_tapes`) for the
index / mark-price candle endpoints; at start those copy the spot pair's backfilled history.
"""

from __future__ import annotations

from collections import deque
from decimal import ROUND_HALF_EVEN, Decimal

from okxbot.sim.contracts import MONEY
from okxbot.sim.instruments import ZERO, Instrument, InstrumentSet, ceil_to, floor_to
from okxbot.sim.marketdata import Markets
from okxbot.sim.swap_rules import SwapRules
from okxbot.sim.tape import MINUTE, Tape

BASIS_SAMPLES = 5  # minutes averaged into the mark price's basis
MAX_SAMPLES = 8 * 60  # the longest funding interval's worth of minute samples


def _round(px: Decimal, tick: Decimal) -> Decimal:
    return (px / tick).to_integral_value(rounding=ROUND_HALF_EVEN) * tick


class Marks:
    def __init__(self, instruments: InstrumentSet, markets: Markets, rules: SwapRules) -> None:
        self.markets = markets
        self.rules = rules
        self.swaps = instruments.of_type("SWAP")
        self.index_ids = sorted({i.index_id for i in self.swaps}) + sorted(
            {i.uly for i in self.swaps if i.uly != i.index_id}
        )
        self.fixed_basis: dict[str, Decimal] = {}
        self.samples: dict[str, deque[Decimal]] = {i.inst_id: deque(maxlen=MAX_SAMPLES) for i in self.swaps}
        self._sampled_minute: dict[str, int] = {}
        self.index_tapes = {ix: Tape(ix, self.index_px(ix), "INDEX") for ix in self.index_ids}
        self.mark_tapes = {i.inst_id: Tape(i.inst_id, i.start_px, "SWAP") for i in self.swaps}

    # -- prices ---------------------------------------------------------------------------------

    def source(self, index_id: str) -> str:
        """The spot pair behind an index (`BTC-USD` is priced from `BTC-USDT`)."""
        base = index_id.split("-")[0]
        return f"{base}-USDT"

    def index_px(self, index_id: str) -> Decimal:
        spot_id = self.source(index_id)
        inst = self.markets.inst(spot_id)
        book = self.markets.books[spot_id]
        bid, ask = book.best_px("bids"), book.best_px("asks")
        px = (bid + ask) / 2 if bid is not None and ask is not None else self.markets.last_px(spot_id)
        return _round(px, inst.tick_sz)

    def index_of(self, inst: Instrument) -> Decimal:
        return self.index_px(inst.uly)

    def premium(self, inst: Instrument) -> Decimal | None:
        """The swap's premium index now, or None while its book lacks a side."""
        book = self.markets.books[inst.inst_id]
        bid, ask = book.best_px("bids"), book.best_px("asks")
        if bid is None or ask is None:
            return None
        index = self.index_of(inst)
        return ((bid + ask) / 2 - index) / index

    def basis(self, inst: Instrument) -> Decimal:
        fixed = self.fixed_basis.get(inst.inst_id)
        if fixed is not None:
            return fixed
        recent = list(self.samples[inst.inst_id])[-BASIS_SAMPLES:]
        return sum(recent, ZERO) / len(recent) if recent else ZERO

    def mark_px(self, inst: Instrument) -> Decimal:
        return _round(self.index_of(inst) * (1 + self.basis(inst)), inst.tick_sz)

    def set_basis(self, inst_id: str, basis: Decimal | None) -> None:
        """Fix the mark price at index * (1 + basis); None returns to the sampled premium."""
        if basis is None:
            self.fixed_basis.pop(inst_id, None)
        else:
            self.fixed_basis[inst_id] = basis

    def price_limits(self, inst: Instrument) -> tuple[Decimal, Decimal]:
        mark = self.mark_px(inst)
        band = self.rules.price_band
        return floor_to(mark * (1 + band), inst.tick_sz), ceil_to(mark * (1 - band), inst.tick_sz)

    # -- sampling -------------------------------------------------------------------------------

    def refresh(self, now_ms: int) -> None:
        """Sample each swap's premium once a minute and print index and mark prices to their candles."""
        minute = now_ms - now_ms % MINUTE
        for ix, tape in self.index_tapes.items():
            tape.sample(self.index_px(ix), now_ms)
        for inst in self.swaps:
            if self._sampled_minute.get(inst.inst_id) != minute:
                premium = self.premium(inst)
                if premium is not None:
                    self.samples[inst.inst_id].append(premium.quantize(MONEY, rounding=ROUND_HALF_EVEN))
                    self._sampled_minute[inst.inst_id] = minute
            self.mark_tapes[inst.inst_id].sample(self.mark_px(inst), now_ms)

    def backfill(self) -> None:
        """Index and mark candles before the simulator started: the spot pair's history."""
        for ix, tape in self.index_tapes.items():
            tape.copy_prices(self.markets.tapes[self.source(ix)])
        for inst in self.swaps:
            self.mark_tapes[inst.inst_id].copy_prices(self.markets.tapes[self.source(inst.uly)])

    def average_premium(self, inst: Instrument, minutes: int) -> Decimal:
        recent = list(self.samples[inst.inst_id])[-minutes:]
        return sum(recent, ZERO) / len(recent) if recent else ZERO
