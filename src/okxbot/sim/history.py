"""Years of deterministic market history for `market/history-candles` and `market/history-trades`.

OKX serves 1m candles back to an instrument's listing and trades for the last 3 months. The
simulator's tape keeps one week, so the older past is generated on request, a day ("block") at a
time, from the seed alone: nothing is generated at start and memory stays bounded (a small cache of
blocks), however deep a download goes.

One price path. The tape's earliest minute (the synthetic market's backfill) is the join: the
generated past walks backwards from that minute's open with the law the synthetic market uses
(a mean-reverting deviation from the listing price, time-reversible, see `market._backfill`), so
the close of the last generated minute is the open of the first minute the tape holds.

Candles are made of trades. Each generated minute is a list of trades (the first at the open, one
at the high, one at the low, the last at the close); the candle's volume is the sum of their sizes
and its quote volume the sum of price x size, exactly. Trade ids are per instrument, increasing with
time, and far below the engine's live ids, so pagination by tradeId runs through the generated past
into the live tape. Minutes the tape holds whose live trades the engine no longer keeps (it keeps
the last 500) get trades derived from their candle the same way.

Pagination as OKX documents it: newest first; candles `after` = older than that open time, `before`
= newer (alone: the latest); trades `type=1` (default) `after`/`before` = tradeId, `type=2` `after` =
a timestamp (`before` is always a tradeId). Candle `limit` up to 300 (a larger one is cut to 300, as
OKX does), trades up to 100. Test knobs (`POST /__sim__/history`): a page cap (OKX has been seen
answering 100 rows when asked for 300), missing minutes (an outage) and duplicated rows.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import numpy as np

from okxbot.sim.instruments import Instrument, fmt
from okxbot.sim.market import MEAN_REVERSION, STEPS_PER_MINUTE
from okxbot.sim.rest import Call, endpoint
from okxbot.sim.tape import BARS, MINUTE, UnknownBar, bar_close, bar_open
from okxbot.sim.wire import SimError

if TYPE_CHECKING:
    from okxbot.sim.context import SimContext
    from okxbot.sim.engine import Exchange

DAY_MINUTES = 1440
DAY = DAY_MINUTES * MINUTE
HISTORY_DAYS = 3 * 365  # generated depth of 1m candles before the join
TRADES_DAYS = 90  # OKX: history-trades covers the last 3 months
CANDLE_LIMIT_MAX = 300
TRADE_LIMIT_MAX = 100
DEFAULT_LIMIT = 100
MAX_TRADES_PER_MINUTE = 32  # trade ids reserve this many per minute
TRADE_ID_BASE = 1_000_000_000  # generated ids: TRADE_ID_BASE + minute number x 32 + k
VOLATILITY = 0.0001  # the synthetic market's default per-step volatility
LEVEL_USD = Decimal(2000)  # the market's typical level size; trades are 1-4 of these
CACHED_BLOCKS = 48
_TRADE_FIELDS = ("instId", "side", "sz", "px", "tradeId", "ts")  # the documented history-trades item


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


@dataclass
class Knobs:
    """Test knobs of one instrument (admin API)."""

    missing: list[tuple[int, int]] = field(default_factory=list)  # [from, to) ms: no candles, no trades
    duplicates: set[int] = field(default_factory=set)  # candle open times answered twice

    def gone(self, ts: int) -> bool:
        return any(lo <= ts < hi for lo, hi in self.missing)


class Series:
    """The generated past of one instrument, before `join_ms` (the tape's first minute)."""

    def __init__(
        self, inst: Instrument, seed: int, join_ms: int, join_open: Decimal, unit: Decimal, tape_joined: bool
    ) -> None:
        self.inst = inst
        self.tape_joined = tape_joined  # the tape holds the minutes from join_ms on
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
        lots = sum(p[4] for p in parts)
        quote = fmt(Decimal(sum(p[5] for p in parts)) * self.tick * self.lot)
        tick = self.tick
        return [
            str(opened), fmt(o * tick), fmt(h * tick), fmt(low * tick), fmt(c * tick),
            fmt(Decimal(lots) * self.lot), quote, quote, "1",
        ]  # fmt: skip


class History:
    """The deep past of every instrument of one simulator (created on the first history request)."""

    def __init__(self, exchange: Exchange, seed: int) -> None:
        self.exchange = exchange
        self.seed = seed
        self._series: dict[str, Series] = {}
        self.knobs: dict[str, Knobs] = {}
        self.page_cap: int | None = None  # answer at most this many candles, whatever the limit

    def knobs_of(self, inst_id: str) -> Knobs:
        return self.knobs.setdefault(inst_id, Knobs())

    def series(self, inst_id: str) -> Series:
        found = self._series.get(inst_id)
        if found is None:
            found = self._series[inst_id] = self._new_series(inst_id)
        return found

    def _new_series(self, inst_id: str) -> Series:
        inst = self.exchange.instrument(inst_id)
        assert inst is not None
        tape = self.exchange.candles(inst_id, "1m", limit=10**7)  # the whole tape, newest first
        if tape:
            join_ms, join_open = int(tape[-1][0]), Decimal(tape[-1][1])
        else:  # no synthetic market: the past ends now, at the listing price
            now = self.exchange.clock.now_ms()
            join_ms, join_open = now - now % MINUTE, inst.start_px
        quote = inst.quote_ccy
        quote_usd = Decimal(1)
        if quote not in ("USDT", "USDC", "USD"):
            ref = self.exchange.instrument(f"{quote}-USDT")
            quote_usd = ref.start_px if ref is not None else Decimal(1)
        unit = max(inst.min_sz, LEVEL_USD / (inst.start_px * quote_usd))
        return Series(inst, self.seed, join_ms, join_open, unit, tape_joined=bool(tape))

    # ---------------------------------------------------------------- candles

    def candles(
        self, inst_id: str, bar: str, after: int | None, before: int | None, limit: int
    ) -> list[list[str]]:
        series = self.series(inst_id)
        knobs = self.knobs_of(inst_id)
        if self.page_cap is not None:
            limit = min(limit, self.page_cap)
        rows: list[list[str]] = []
        join = series.join_ms
        straddle = bar_open(join, bar)  # the bar holding the join minute: part generated, part tape
        # 1. the bars the tape holds (from the straddling one on), newest first
        cursor = after
        while series.tape_joined and len(rows) < limit:
            page = self.exchange.candles(inst_id, bar, after=cursor, before=before, limit=limit)
            for row in page:
                opened = cursor = int(row[0])
                if opened == straddle and straddle < join:
                    older = self._generated_bar(series, knobs, straddle, join)
                    if older:
                        row = _merge(series.row(straddle, older), row)
                if not knobs.gone(opened):
                    rows.append(row)
                    if len(rows) >= limit:
                        break
            if len(page) < limit:
                break
        # 2. the generated bars before it
        upper = join if after is None else min(after, join)
        opened = bar_open(upper - 1, bar)
        if series.tape_joined and opened >= straddle:
            opened = bar_open(straddle - 1, bar)
        now = self.exchange.clock.now_ms()
        while len(rows) < limit and bar_close(opened, bar) > series.listing_ms:
            if before is not None and opened <= before:
                break
            parts = self._generated_bar(series, knobs, opened, min(bar_close(opened, bar), join))
            if parts:
                row = series.row(opened, parts)
                if bar_close(opened, bar) > now:
                    row[8] = "0"
                rows.append(row)
            opened = bar_open(opened - 1, bar)
        return _with_duplicates(rows, knobs)

    def _generated_bar(
        self, series: Series, knobs: Knobs, lo: int, hi: int
    ) -> list[tuple[int, int, int, int, int, int]]:
        parts = [series.candle(blk, i) for minute, blk, i in series.minutes(lo, hi) if not knobs.gone(minute)]
        parts.reverse()
        return parts

    # ---------------------------------------------------------------- trades

    def trades(
        self, inst_id: str, *, after_id: int | None, after_ts: int | None, before_id: int | None, limit: int
    ) -> list[dict[str, str]]:
        series = self.series(inst_id)
        knobs = self.knobs_of(inst_id)
        now = self.exchange.clock.now_ms()
        floor = max(series.listing_ms, now - TRADES_DAYS * DAY)
        live = self.exchange.trades(inst_id, 500)  # newest first
        real_from = self._real_from(live)
        out: list[dict[str, str]] = []

        def take(trade: dict[str, str]) -> bool:
            """Add if it passes the filters; False once nothing older can pass."""
            ts, tid = int(trade["ts"]), int(trade["tradeId"])
            if ts < floor or (before_id is not None and tid <= before_id):
                return False
            if (after_id is not None and tid >= after_id) or (after_ts is not None and ts >= after_ts):
                return True
            if not knobs.gone(ts):
                out.append(trade)
            return len(out) < limit

        for kept in live:
            if int(kept["ts"]) < real_from:
                break
            trade = {name: kept[name] for name in _TRADE_FIELDS}
            if not take(trade):
                return out
        top = real_from
        if after_ts is not None:
            top = min(top, after_ts - after_ts % MINUTE + MINUTE)
        if after_id is not None and after_id <= series.max_trade_id():
            top = min(top, series.minute_of_id(after_id) + MINUTE)
        # tape minutes whose live trades are gone: trades derived from their candles
        join = series.join_ms
        minute = top - MINUTE
        if minute >= join:
            tape = self.exchange.candles(inst_id, "1m", after=top, before=max(join, floor) - 1, limit=10**7)
            for row in tape:
                opened = int(row[0])
                for trade in reversed(series.derived_trades(opened, row)):
                    if not take(trade):
                        return out
        for minute, blk, i in series.minutes(floor - floor % MINUTE, min(top, join)):
            for trade in reversed(series.trades_of(minute, blk, i)):
                if not take(trade):
                    return out
        return out

    @staticmethod
    def _real_from(live: list[dict[str, str]]) -> int:
        """The first minute whose live trades are all still kept by the engine."""
        if not live:
            return 2**62
        oldest = int(live[-1]["ts"])
        minute = oldest - oldest % MINUTE
        return minute + MINUTE if len(live) >= 500 else minute


def _merge(older: list[str], newer: list[str]) -> list[str]:
    """One bar from its older part (generated) and its newer part (the tape's row)."""
    o, h, low, vol, ccy, quote = (Decimal(older[i]) for i in (1, 2, 3, 5, 6, 7))
    return [
        newer[0], fmt(o), fmt(max(h, Decimal(newer[2]))), fmt(min(low, Decimal(newer[3]))), newer[4],
        fmt(vol + Decimal(newer[5])), fmt(ccy + Decimal(newer[6])), fmt(quote + Decimal(newer[7])), newer[8],
    ]  # fmt: skip


def _with_duplicates(rows: list[list[str]], knobs: Knobs) -> list[list[str]]:
    if not knobs.duplicates:
        return rows
    out: list[list[str]] = []
    for row in rows:
        out.append(row)
        if int(row[0]) in knobs.duplicates:
            out.append(list(row))
    return out


# ---------------------------------------------------------------------- wiring

_HISTORIES: WeakKeyDictionary[Any, History] = WeakKeyDictionary()


def history_of(ctx: SimContext) -> History:
    """The simulator's history (made on first use, so that starting a simulator costs nothing)."""
    found = _HISTORIES.get(ctx.exchange)
    if found is None:
        found = _HISTORIES[ctx.exchange] = History(ctx.exchange, ctx.seed)
    return found


def _number(params: dict[str, Any], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not raw.isdigit():
        raise SimError("51000", name)
    return int(raw)


def _limit(params: dict[str, Any], most: int) -> int:
    # OKX cuts a larger limit to its maximum rather than refusing it (obs. freqtrade PR#6174).
    value = _number(params, "limit")
    if value is None:
        return DEFAULT_LIMIT
    if value < 1:
        raise SimError("51000", "limit")
    return min(value, most)


def _instrument(call: Call) -> str:
    inst_id = call.params.get("instId")
    if not inst_id:
        raise SimError("50014", "instId")
    if not isinstance(inst_id, str) or call.ctx.exchange.instrument(inst_id) is None:
        raise SimError("51001")
    return inst_id


@endpoint("GET", "/api/v5/market/history-candles")
def market_history_candles(call: Call) -> list[Any]:
    inst_id = _instrument(call)
    bar = call.params.get("bar") or "1m"
    if bar not in BARS:
        raise SimError("51000", "bar")
    limit = _limit(call.params, CANDLE_LIMIT_MAX)
    after, before = _number(call.params, "after"), _number(call.params, "before")
    try:
        return history_of(call.ctx).candles(inst_id, bar, after, before, limit)
    except UnknownBar:
        raise SimError("51000", "bar") from None


@endpoint("GET", "/api/v5/market/history-trades")
def market_history_trades(call: Call) -> list[Any]:
    inst_id = _instrument(call)
    kind = call.params.get("type") or "1"
    if kind not in ("1", "2"):
        raise SimError("51000", "type")
    after = _number(call.params, "after")
    return history_of(call.ctx).trades(
        inst_id,
        after_id=after if kind == "1" else None,
        after_ts=after if kind == "2" else None,
        before_id=_number(call.params, "before"),  # a tradeId whatever the type (OKX: no ts for before)
        limit=_limit(call.params, TRADE_LIMIT_MAX),
    )


def admin_history(ctx: SimContext, body: dict[str, Any]) -> dict[str, Any]:
    """`POST /__sim__/history`: test knobs. {"pageCap": 100 | null, "instId", "missing": [[fromMs, toMs]],
    "duplicates": [openMs], "reset": true}; answers the knobs in force."""
    history = history_of(ctx)
    if body.get("reset"):
        history.knobs.clear()
        history.page_cap = None
    if "pageCap" in body:
        cap = body["pageCap"]
        if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
            raise ValueError("pageCap must be a positive integer or null")
        history.page_cap = cap
    inst_id = body.get("instId")
    if "missing" in body or "duplicates" in body:
        if not isinstance(inst_id, str) or ctx.exchange.instrument(inst_id) is None:
            raise ValueError("instId must name a listed instrument")
        knobs = history.knobs_of(inst_id)
        for span in body.get("missing", []):
            if not (isinstance(span, list) and len(span) == 2 and all(isinstance(v, int) for v in span)):
                raise ValueError("missing must be a list of [fromMs, toMs] pairs")
            knobs.missing.append((span[0], span[1]))
        for ts in body.get("duplicates", []):
            if not isinstance(ts, int):
                raise ValueError("duplicates must be a list of candle open times (ms)")
            knobs.duplicates.add(ts)
    return {
        "pageCap": history.page_cap,
        "knobs": {
            k: {"missing": [list(m) for m in v.missing], "duplicates": sorted(v.duplicates)}
            for k, v in history.knobs.items()
        },
    }
