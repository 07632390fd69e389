"""The generated past of one instrument: years of 1m candles and their trades, a day at a time.

Nothing is generated until asked for, one day ("block") at a time from (seed, instId, day), and a
few dozen blocks are cached, so memory stays bounded however deep a download goes.

One price path. The tape's earliest minute (the synthetic market's backfill) is the join: the past
walks backwards from that minute's open with the law the synthetic market uses (a mean-reverting
deviation from the listing price, time-reversible, see `market._backfill`), so the close of the last
generated minute is the open of the first minute the tape holds. Walking back needs the state at the
end of each newer day: only that (two numbers a day) is kept for every day walked.

Candles are made of trades. Each generated minute is a list of trades (the first at the open, one at
the high, one at the low, the last at the close); the candle's volume is the sum of their sizes and
its quote volume the sum of price x size, exactly (integers of ticks and lots until formatted).
Trade ids rise with time: TRADE_ID_BASE + minute number x 32 + k, far below the engine's live ids.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from okxbot.sim.instruments import Instrument, fmt
from okxbot.sim.market import MEAN_REVERSION, STEPS_PER_MINUTE
from okxbot.sim.tape import MINUTE

DAY_MINUTES = 1440
DAY = DAY_MINUTES * MINUTE
HISTORY_DAYS = 3 * 365  # generated depth of 1m candles before the join
MAX_TRADES_PER_MINUTE = 32  # trade ids reserve this many per minute
TRADE_ID_BASE = 1_000_000_000  # generated ids: TRADE_ID_BASE + minute number x 32 + k
VOLATILITY = 0.0001  # the synthetic market's default per-step volatility
CACHED_BLOCKS = 48


@dataclass(slots=True)
class _Block:
    """One generated day of one instrument, ascending in time (1440 minutes)."""

    opens: np.ndarray  # int64 ticks
    highs: np.ndarray
    lows: np.ndarray
    closes: np.ndarray
    vol: np.ndarray  # int64 lots
    quote: np.ndarray  # int64 ticks x lots
    first: np.ndarray  # index of each minute's first trade; len 1441
    t_ts: np.ndarray  # int64 ms, ascending
    t_px: np.ndarray  # int64 ticks
    t_lots: np.ndarray  # int64 lots
    t_buy: np.ndarray  # bool


class Series:
    """The generated past of one instrument, before `join_ms` (the tape's first minute)."""

    def __init__(
        self,
        inst: Instrument,
        seed: int,
        join_ms: int,
        join_open: Decimal,
        unit: Decimal,
        tape_joined: bool,
        contract: Decimal = Decimal(0),
        inverse: bool = False,
    ) -> None:
        self.inst = inst
        self.tape_joined = tape_joined  # the tape holds the minutes from join_ms on
        # swaps: sizes are contracts of `contract` (ctVal x ctMult) base (linear) or quote (inverse)
        self.contract = contract
        self.inverse = inverse
        self.tick = inst.tick_sz
        self.lot = inst.lot_sz
        self.join_ms = join_ms
        self.listing_ms = join_ms - HISTORY_DAYS * DAY
        self._code = zlib.crc32(inst.inst_id.encode())
        self._seed = seed
        self._anchor = float(inst.start_px / self.tick)  # the mean level, in ticks
        keep = (1 - MEAN_REVERSION) ** STEPS_PER_MINUTE
        self._keep = float(keep)
        stationary = VOLATILITY / (2 * float(MEAN_REVERSION)) ** 0.5
        self._noise = stationary * (1 - self._keep**2) ** 0.5
        self._unit_lots = max(1, int(unit / self.lot))
        start_ticks = int(join_open / self.tick)
        # (deviation, open in ticks) at the open of each block's oldest minute, filled as blocks are made
        self._states: list[tuple[float, int]] = [(start_ticks / self._anchor - 1, start_ticks)]
        self._blocks: OrderedDict[int, _Block] = OrderedDict()
        self._check_int64()

    def _check_int64(self) -> None:
        # quote = sum(px x lots) over <= 32 trades must fit int64 for prices up to 10x the anchor.
        bound = int(self._anchor * 10 + 1) * self._unit_lots * 4 * MAX_TRADES_PER_MINUTE
        if bound >= 2**62:
            raise ValueError(f"{self.inst.inst_id}: tick/lot sizes too fine for the history generator")

    # ---------------------------------------------------------------- generation

    def _rng(self, block: int, stream: int) -> np.random.Generator:
        return np.random.default_rng([self._seed, self._code, block, stream])

    def _path(self, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Opens, highs, lows, closes (ticks, ascending) of one block; walks back from its newest close."""
        while len(self._states) <= block:
            self._path_of(len(self._states) - 1, store_next=True)
        return self._path_of(block, store_next=False)

    def _path_of(self, block: int, store_next: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        dev, close = self._states[block]
        rng = self._rng(block, 0)
        shocks = rng.standard_normal(DAY_MINUTES) * self._noise
        up = np.abs(rng.standard_normal(DAY_MINUTES)) * self._noise / 2
        down = np.abs(rng.standard_normal(DAY_MINUTES)) * self._noise / 2
        opens = np.empty(DAY_MINUTES, dtype=np.int64)
        closes = np.empty(DAY_MINUTES, dtype=np.int64)
        anchor, keep = self._anchor, self._keep
        for k in range(DAY_MINUTES):  # newest minute first
            j = DAY_MINUTES - 1 - k
            dev = dev * keep + float(shocks[k])
            open_ = max(1, round(anchor * (1 + dev)))
            opens[j] = open_
            closes[j] = close
            close = open_
        if store_next:
            self._states.append((dev, close))
        top = np.maximum(opens, closes)
        bottom = np.minimum(opens, closes)
        highs = np.maximum(top, np.ceil(top * (1 + up)).astype(np.int64))
        lows = np.maximum(1, np.minimum(bottom, np.floor(bottom * (1 - down)).astype(np.int64)))
        return opens, highs, lows, closes

    def block(self, block: int) -> _Block:
        cached = self._blocks.get(block)
        if cached is not None:
            self._blocks.move_to_end(block)
            return cached
        made = self._make(block)
        self._blocks[block] = made
        if len(self._blocks) > CACHED_BLOCKS:
            self._blocks.popitem(last=False)
        return made

    def _make(self, block: int) -> _Block:
        opens, highs, lows, closes = self._path(block)
        rng = self._rng(block, 1)
        counts = rng.integers(8, 21, DAY_MINUTES)
        first = np.zeros(DAY_MINUTES + 1, dtype=np.int64)
        np.cumsum(counts, out=first[1:])
        total = int(first[-1])
        minute_of = np.repeat(np.arange(DAY_MINUTES), counts)
        start = self.block_start(block)
        offsets = np.sort(minute_of * MINUTE + rng.integers(0, MINUTE, total))
        t_ts = start + offsets
        span = (highs - lows)[minute_of]
        t_px = lows[minute_of] + np.minimum(span, (rng.random(total) * (span + 1)).astype(np.int64))
        inner = counts - 2
        at_high = 1 + rng.integers(0, inner)
        at_low = 1 + (at_high - 1 + 1 + rng.integers(0, inner - 1)) % inner
        head = first[:-1]
        t_px[head] = opens
        t_px[head + counts - 1] = closes
        t_px[head + at_high] = highs
        t_px[head + at_low] = lows
        t_lots = self._unit_lots * rng.integers(1, 5, total)
        t_buy = rng.random(total) < 0.5
        vol = np.add.reduceat(t_lots, head)
        quote = np.add.reduceat(t_px * t_lots, head)
        return _Block(opens, highs, lows, closes, vol, quote, first, t_ts, t_px, t_lots, t_buy)

    # ---------------------------------------------------------------- addressing

    def block_start(self, block: int) -> int:
        return self.join_ms - (block + 1) * DAY

    def locate(self, minute: int) -> tuple[int, int]:
        """(block, index in block) of a generated minute (listing_ms <= minute < join_ms)."""
        back = (self.join_ms - minute) // MINUTE - 1
        block = back // DAY_MINUTES
        return block, DAY_MINUTES - 1 - back % DAY_MINUTES

    def minute_number(self, minute: int) -> int:
        return (minute - self.listing_ms) // MINUTE

    def minute_of_id(self, trade_id: int) -> int:
        return self.listing_ms + (trade_id - TRADE_ID_BASE) // MAX_TRADES_PER_MINUTE * MINUTE

    def trade_id(self, minute: int, k: int) -> int:
        return TRADE_ID_BASE + self.minute_number(minute) * MAX_TRADES_PER_MINUTE + k

    def max_trade_id(self) -> int:
        """Ids above this are the engine's (live trades)."""
        return TRADE_ID_BASE + (HISTORY_DAYS + 400) * DAY_MINUTES * MAX_TRADES_PER_MINUTE

    # ---------------------------------------------------------------- reading

    def minutes(self, lo: int, hi: int) -> Iterator[tuple[int, _Block, int]]:
        """(minute, block, index) of the generated minutes in [lo, hi), newest first."""
        lo = max(lo, self.listing_ms)
        hi = min(hi, self.join_ms)
        minute = hi - MINUTE - (hi - self.join_ms) % MINUTE if hi > lo else lo - MINUTE
        while minute >= lo:
            block, index = self.locate(minute)
            blk = self.block(block)
            while index >= 0 and minute >= lo:
                yield minute, blk, index
                minute -= MINUTE
                index -= 1

    def candle(self, blk: _Block, i: int) -> tuple[int, int, int, int, int, int]:
        return (
            int(blk.opens[i]), int(blk.highs[i]), int(blk.lows[i]), int(blk.closes[i]),
            int(blk.vol[i]), int(blk.quote[i]),
        )  # fmt: skip

    def trades_of(self, minute: int, blk: _Block, i: int) -> list[dict[str, str]]:
        """The minute's trades, oldest first, in the wire form of history-trades."""
        a, b = int(blk.first[i]), int(blk.first[i + 1])
        out = []
        for k in range(b - a):
            j = a + k
            out.append(self._trade(self.trade_id(minute, k), int(blk.t_px[j]), int(blk.t_lots[j]),
                                   bool(blk.t_buy[j]), int(blk.t_ts[j])))  # fmt: skip
        return out

    def derived_trades(self, minute: int, row: list[str]) -> list[dict[str, str]]:
        """Trades for a tape minute whose live trades are gone, built from its candle (sizes sum to vol)."""
        o, h, low, c = (int(Decimal(x) / self.tick) for x in row[1:5])
        lots = int(Decimal(row[5]) / self.lot)
        if lots <= 0:
            return []
        rng = np.random.default_rng([self._seed, self._code, 2, self.minute_number(minute)])
        n = int(min(lots, rng.integers(8, 21)))
        weights = rng.random(n) + 0.2
        sizes = [1 + int(w) for w in np.floor(weights / weights.sum() * (lots - n))]
        sizes[-1] += lots - sum(sizes)
        prices = [int(low + rng.integers(0, h - low + 1)) for _ in range(n)]
        prices[0] = o
        if n >= 4:
            prices[1], prices[2] = h, low
        prices[-1] = c
        times = sorted(int(t) for t in rng.integers(0, MINUTE, n))
        buys = rng.random(n) < 0.5
        return [
            self._trade(self.trade_id(minute, k), prices[k], sizes[k], bool(buys[k]), minute + times[k])
            for k in range(n)
        ]

    def _trade(self, trade_id: int, px: int, lots: int, buy: bool, ts: int) -> dict[str, str]:
        return {
            "instId": self.inst.inst_id,
            "side": "buy" if buy else "sell",
            "sz": fmt(Decimal(lots) * self.lot),
            "px": fmt(Decimal(px) * self.tick),
            "tradeId": str(trade_id),
            "ts": str(ts),
        }

    def row(self, opened: int, parts: list[tuple[int, int, int, int, int, int]]) -> list[str]:
        """A candle row from minute aggregates, oldest first (o, h, l, c, lots, quote)."""
        o = parts[0][0]
        h = max(p[1] for p in parts)
        low = min(p[2] for p in parts)
        c = parts[-1][3]
        vol = Decimal(sum(p[4] for p in parts)) * self.lot
        turnover = Decimal(sum(p[5] for p in parts)) * self.tick * self.lot  # sum of px x sz
        if not self.contract:  # spot: vol in base, volCcy and volCcyQuote in quote
            ccy = quote = turnover
        elif not self.inverse:  # linear swap: vol in contracts, volCcy in base, volCcyQuote in quote
            ccy, quote = vol * self.contract, turnover * self.contract
        else:  # inverse: contracts worth `contract` quote each; base = quote / price (at the VWAP)
            quote = vol * self.contract
            ccy = (quote * vol / turnover).quantize(Decimal("0.00000001")) if turnover else Decimal(0)
        tick = self.tick
        return [
            str(opened), fmt(o * tick), fmt(h * tick), fmt(low * tick), fmt(c * tick),
            fmt(vol), fmt(ccy), fmt(quote), "1",
        ]  # fmt: skip
