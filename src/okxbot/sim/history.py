"""Years of deterministic market history for `market/history-candles` and `market/history-trades`.

OKX serves 1m candles back to an instrument's listing and trades for the last 3 months. The
simulator's tape keeps one week; the older past comes from `history_past` (generated on request, one
price path with the tape). This module answers the two endpoints from both, as OKX documents them:
newest first; candles `after` = older than that open time, `before` = newer (alone: the latest);
trades `type=1` (default) `after`/`before` = tradeId, `type=2` `after` = a timestamp (`before` is
always a tradeId). Candle `limit` up to 300 (a larger one is cut to 300, as OKX does), trades up to
100. Minutes the tape holds whose live trades the engine no longer keeps (it keeps the last 500) get
trades derived from their candle, so pagination by tradeId runs from the past into the live tape.

Test knobs (`POST /__sim__/history`): a page cap (OKX has been seen answering 100 rows when asked
for 300), missing minutes (an outage: no candles, no trades) and duplicated candle rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from okxbot.sim.filters import count_param, is_digits
from okxbot.sim.history_past import DAY, Series
from okxbot.sim.instruments import fmt
from okxbot.sim.rest import Call, endpoint
from okxbot.sim.tape import BARS, MINUTE, UnknownBar, bar_close, bar_open
from okxbot.sim.wire import SimError

if TYPE_CHECKING:
    from okxbot.sim.context import SimContext
    from okxbot.sim.engine import Exchange

TRADES_DAYS = 90  # OKX: history-trades covers the last 3 months
RECENT_BARS = 1440  # OKX: market/candles serves the latest 1,440 bars of any size
CANDLE_LIMIT_MAX = 300
TRADE_LIMIT_MAX = 100
DEFAULT_LIMIT = 100
LEVEL_USD = Decimal(2000)  # the market's typical level size; trades are 1-4 of these
_TRADE_FIELDS = ("instId", "side", "sz", "px", "tradeId", "ts")  # the documented history-trades item


@dataclass
class Knobs:
    """Test knobs of one instrument (admin API)."""

    missing: list[tuple[int, int]] = field(default_factory=list)  # [from, to) ms: no candles, no trades
    duplicates: set[int] = field(default_factory=set)  # candle open times answered twice

    def gone(self, ts: int) -> bool:
        return any(lo <= ts < hi for lo, hi in self.missing)


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
        quote_usd = Decimal(1)
        if inst.quote_ccy not in ("USDT", "USDC", "USD"):
            ref = self.exchange.instrument(f"{inst.quote_ccy}-USDT")
            quote_usd = ref.start_px if ref is not None else Decimal(1)
        # a typical trade is worth LEVEL_USD; swaps trade contracts (getattr: spot-only instruments)
        swap = getattr(inst, "inst_type", "SPOT") == "SWAP"
        contract = (
            getattr(inst, "ct_val", Decimal(0)) * getattr(inst, "ct_mult", Decimal(1)) if swap else Decimal(0)
        )
        inverse = swap and getattr(inst, "ct_type", "") == "inverse"
        one = Decimal(1) if not contract else (contract / inst.start_px if inverse else contract)
        unit = max(inst.min_sz, LEVEL_USD / (inst.start_px * quote_usd * one))
        series = Series(inst, self.seed, join_ms, join_open, unit, bool(tape), contract, inverse)
        return series

    # ---------------------------------------------------------------- candles

    def candles(
        self, inst_id: str, bar: str, after: int | None, before: int | None, limit: int, recent: bool = False
    ) -> list[list[str]]:
        """Rows newest first; `recent`: only among the latest 1,440 bars (market/candles)."""
        if recent:
            floor = self.recent_floor(bar)
            before = floor - 1 if before is None else max(before, floor - 1)
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

    def recent_floor(self, bar: str) -> int:
        """The open of the oldest of the latest RECENT_BARS bars (the current one included)."""
        opened = bar_open(self.exchange.clock.now_ms(), bar)
        size = bar_close(opened, bar) - opened
        if bar.rstrip("utc")[-1:] != "M":
            return opened - (RECENT_BARS - 1) * size
        for _ in range(RECENT_BARS - 1):
            opened = bar_open(opened - 1, bar)
        return opened

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
    if not isinstance(raw, str) or not is_digits(raw):
        raise SimError("51000", name)
    return int(raw)


def _limit(params: dict[str, Any], most: int) -> int:
    # OKX cuts a larger limit to its maximum rather than refusing it (obs. freqtrade PR#6174).
    return count_param(str(params.get("limit") or ""), "limit", default=DEFAULT_LIMIT, maximum=most)


def _instrument(call: Call) -> str:
    inst_id = call.params.get("instId")
    if not inst_id:
        raise SimError("50014", "instId")
    if not isinstance(inst_id, str) or call.ctx.exchange.instrument(inst_id) is None:
        raise SimError("51001")
    return inst_id


@endpoint("GET", "/api/v5/market/candles")
def market_candles(call: Call) -> list[Any]:
    return _candles(call, recent=True)


@endpoint("GET", "/api/v5/market/history-candles")
def market_history_candles(call: Call) -> list[Any]:
    return _candles(call, recent=False)


def _candles(call: Call, recent: bool) -> list[Any]:
    inst_id = _instrument(call)
    bar = call.params.get("bar") or "1m"
    if bar not in BARS:
        raise SimError("51000", "bar")
    limit = _limit(call.params, CANDLE_LIMIT_MAX)
    after, before = _number(call.params, "after"), _number(call.params, "before")
    try:
        return history_of(call.ctx).candles(inst_id, bar, after, before, limit, recent)
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
