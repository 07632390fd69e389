"""Each instrument's public state: its order book, its trade tape (trades, candles, 24 h stats) and
the reference price that bounds limit prices (OKX's price-limit band, 51006).

`Markets` answers the public market-data queries in wire form; the matcher prints trades into it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from okxbot.sim.book import OrderBook
from okxbot.sim.clock import Clock
from okxbot.sim.filters import ParamError, UnknownInstrument
from okxbot.sim.instruments import ZERO, Instrument, InstrumentSet, ceil_to, floor_to, fmt
from okxbot.sim.tape import Candle, Tape, UnknownBar

PRICE_BAND = Decimal("0.2")  # limit buys above ref*1.2 or sells below ref*0.8 are refused (51006)
STABLECOINS = ("USDT", "USDC", "USD")


class Markets:
    def __init__(self, instruments: InstrumentSet, clock: Clock) -> None:
        self.instruments = instruments
        self.clock = clock
        self.books = {i.inst_id: OrderBook(i.inst_id) for i in instruments}
        self.tapes = {
            i.inst_id: Tape(i.inst_id, i.start_px, i.inst_type, i.contract_size, i.inverse)
            for i in instruments
        }
        self.ref_px: dict[str, Decimal] = {i.inst_id: i.start_px for i in instruments}

    def inst(self, inst_id: str) -> Instrument:
        inst = self.instruments.get(inst_id)
        if inst is None:
            raise UnknownInstrument(inst_id)
        return inst

    def book(self, inst_id: str) -> OrderBook:
        self.inst(inst_id)
        return self.books[inst_id]

    def last_px(self, inst_id: str) -> Decimal:
        return self.tapes[inst_id].last_px

    def usd_price(self, ccy: str) -> Decimal:
        """A currency's value in USD(T), from the last trade of CCY-USDT (stablecoins are 1)."""
        if ccy in STABLECOINS:
            return Decimal(1)
        tape = self.tapes.get(f"{ccy}-USDT")
        return tape.last_px if tape is not None else ZERO

    # -- the price-limit band -------------------------------------------------------------------

    def reference_price(self, inst_id: str) -> Decimal:
        self.inst(inst_id)
        return self.ref_px[inst_id]

    def set_reference_price(self, inst_id: str, px: Decimal) -> None:
        self.inst(inst_id)
        self.ref_px[inst_id] = px

    def price_limits(self, inst: Instrument) -> tuple[Decimal, Decimal]:
        """(highest buy price, lowest sell price) accepted now."""
        ref = self.ref_px[inst.inst_id]
        return floor_to(ref * (1 + PRICE_BAND), inst.tick_sz), ceil_to(ref * (1 - PRICE_BAND), inst.tick_sz)

    # -- wire forms -----------------------------------------------------------------------------

    def best(self, inst_id: str) -> dict[str, str]:
        book = self.books[inst_id]
        bid, ask = book.best("bids"), book.best("asks")
        return {
            "bidPx": bid.px_str if bid else "",
            "bidSz": fmt(bid.total) if bid else "",
            "askPx": ask.px_str if ask else "",
            "askSz": fmt(ask.total) if ask else "",
        }

    def ticker(self, inst_id: str) -> dict[str, str]:
        self.inst(inst_id)
        return self.tapes[inst_id].ticker(self.clock.now_ms(), self.best(inst_id))

    def tickers(self, inst_type: str = "SPOT") -> list[dict[str, str]]:
        return [self.ticker(i) for i in self.instruments.ids(inst_type)]

    def books_wire(self, inst_id: str, depth: int = 1) -> dict[str, Any]:
        book = self.book(inst_id)
        return {
            "asks": [[px, sz, "0", str(n)] for px, sz, n in book.levels("asks", depth)],
            "bids": [[px, sz, "0", str(n)] for px, sz, n in book.levels("bids", depth)],
            "ts": str(self.clock.now_ms()),
        }

    def trades(self, inst_id: str, limit: int = 100) -> list[dict[str, str]]:
        self.inst(inst_id)
        return self.tapes[inst_id].recent_trades(limit)

    def candles(
        self,
        inst_id: str,
        bar: str = "1m",
        after: int | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[list[str]]:
        self.inst(inst_id)
        return self.tape_candles(self.tapes[inst_id], bar, after, before, limit)

    def tape_candles(
        self,
        tape: Tape,
        bar: str,
        after: int | None,
        before: int | None,
        limit: int,
        prices_only: bool = False,
    ) -> list[list[str]]:
        """A tape's candles, newest first; `prices_only` gives index / mark rows [ts,o,h,l,c,confirm]."""
        now = self.clock.now_ms()
        try:
            if prices_only:
                return tape.price_candles(bar, now, after, before, limit)
            return tape.candles(bar, now, after, before, limit)
        except UnknownBar:
            raise ParamError("51000", "Parameter bar error") from None

    # -- history backfill -----------------------------------------------------------------------

    def seed_candle(self, inst_id: str, minute_ms: int, o: Decimal, h: Decimal, low: Decimal, c: Decimal,
                    vol: Decimal) -> None:  # fmt: skip
        self.inst(inst_id)
        tape = self.tapes[inst_id]
        quote, ccy = tape.volumes((o + c) / 2, vol)
        tape.seed_minute(minute_ms, Candle(o, h, low, c, vol, quote, ccy))

    def set_last_price(self, inst_id: str, px: Decimal) -> None:
        self.inst(inst_id)
        self.tapes[inst_id].last_px = px
        self.ref_px[inst_id] = px
