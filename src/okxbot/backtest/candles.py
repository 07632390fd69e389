"""Replaying candles (or trades): each becomes price points the synthetic market trades at.

A candle becomes four price points, in this order: the open, then whichever of the high and the low
is nearer to the open (the low when both are as near), then the other, then the close; they fall at
0, 1/4, 1/2 and 3/4 of the bar (the open at the bar's opening time, just after anything due then:
an order decided at a bar's close acts on the next bar's prices). The candle's volume is spread
over them: a quarter each (rounded down to the lot), the remainder with the close. A stored
trade is one point of its own, at its time, price and size. What a point does to the bot's orders
and what the strategy sees there: `okxbot.backtest.book`.

The strategy's candles (`candle_bar`, built from the stored bar: `history.CandleSeries.aggregate`)
close at their close time: on_candle gets the confirmed candle and the last 100 confirmed ones, as
the live runner passes them; at the start it gets the ones stored before the start (the warm-up).

Fast-forward (`fast=True`): a stretch of whole candles where no point can fill a resting order of
the bot (their range does not reach its best bid or ask, at-touch included), no ticker would wake
the strategy (it promised, `Strategy.quiet_ticker_band`, or it has no on_ticker), the daily loss
limit cannot trip, and no timer, bar close or hook is due, is jumped over in one step: the equity
of its bar closes is computed at once, and the market stands at its last close. on_candle is
called only where it may act when a trusted fast path knows it (`okxbot.backtest.fast`). Strategies
with on_book or on_trade get every point. Results are identical to the full run (tested).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from okxbot.backtest.book import SyntheticBook
from okxbot.backtest.equity import EquityCurve
from okxbot.backtest.fast import Wakeup, candle_wakeups
from okxbot.backtest.history import HISTORY_BARS, CandleSeries, TradeSeries
from okxbot.backtest.loop import VirtualClock
from okxbot.backtest.replay import END, Replay
from okxbot.backtest.venue import BacktestVenue
from okxbot.okx.models import Book, Ticker
from okxbot.sim.events import Event, TradeEvent
from okxbot.trading.core import BotCore
from okxbot.trading.strategy import Candle, Trade

ZERO = Decimal(0)
WINDOW = 64  # candles scanned at once by the fast-forward (doubling up to MAX_WINDOW)
MAX_WINDOW = 65_536
POINT_QUARTERS = (0, 1, 2, 3)


class _Points:
    """Where the market's price goes: candles (four points each) or trades (one each)."""

    def __init__(self, candles: CandleSeries | None, trades: TradeSeries | None, lot: Decimal) -> None:
        self.candles, self.trades, self.lot = candles, trades, lot
        self.i = 0  # candle (or trade) index
        self.k = 0  # point within the candle
        self._cache: tuple[int, list[Decimal], list[Decimal]] | None = None

    def __len__(self) -> int:
        return len(self.candles) if self.candles is not None else len(self.trades or ())

    def next_ms(self) -> int:
        if self.i >= len(self):
            return END
        if self.candles is not None:
            return int(self.candles.ts[self.i]) + self.candles.bar_ms * POINT_QUARTERS[self.k] // 4
        assert self.trades is not None
        return int(self.trades.ts[self.i])

    def take(self) -> tuple[Decimal, Decimal, str]:
        """The next point: (price, volume, taker side) and advance."""
        if self.candles is None:
            t = self.trades
            assert t is not None
            i, self.i = self.i, self.i + 1
            side = "buy" if t.side[i] > 0 else "sell"
            return Decimal(int(t.px[i])).scaleb(-t.px_scale), Decimal(int(t.sz[i])).scaleb(-t.sz_scale), side
        prices, volumes = self._candle(self.i)
        k = self.k
        px, vol = prices[k], volumes[k]
        side = "buy" if k == 0 or px >= prices[k - 1] else "sell"
        self.k += 1
        if self.k == 4:
            self.i, self.k = self.i + 1, 0
        return px, vol, side

    def _candle(self, i: int) -> tuple[list[Decimal], list[Decimal]]:
        if self._cache is not None and self._cache[0] == i:
            return self._cache[1], self._cache[2]
        c = self.candles
        assert c is not None
        o, h, low, close = (int(a[i]) for a in (c.open, c.high, c.low, c.close))
        first, second = (h, low) if h - o < o - low else (low, h)
        prices = [c.px(v) for v in (o, first, second, close)]
        total = c.qty(int(c.vol[i]))
        quarter = (total / 4 / self.lot).to_integral_value(rounding="ROUND_FLOOR") * self.lot
        volumes = [quarter, quarter, quarter, total - 3 * quarter]
        self._cache = (i, prices, volumes)
        return prices, volumes


class CandleReplay(Replay):
    """The market from stored candles or trades, through a `SyntheticBook`."""

    def __init__(
        self,
        core: BotCore,
        venue: BacktestVenue,
        clock: VirtualClock,
        start_ms: int,
        end_ms: int,
        book: SyntheticBook,
        *,
        candles: CandleSeries | None,
        trades: TradeSeries | None,
        bars: CandleSeries | None,
        first_bar: int,
        equity: EquityCurve,
        fast: bool,
    ) -> None:
        """`candles` / `trades`: the replayed range; `bars`: the strategy's candles (warm-up
        included), of which `first_bar` is the first to close after the start."""
        super().__init__(core, venue, clock, start_ms, end_ms)
        self.book = book
        self.points = _Points(candles, trades, book.lot)
        self.bars = bars
        self.next_bar = first_bar
        self.equity = equity
        self.fast = fast
        self.sample_i = 0  # the candle whose close is sampled next
        self._bar_cache: dict[int, Candle] = {}
        self._trades: list[dict[str, Any]] = []  # public trades since the last publication
        self._last_trade: tuple[Decimal, Decimal, str] | None = None
        self._serial = 0
        self._wakeup: Wakeup | None = None
        self._wakeup_at: tuple[int, int] | None = None  # (next_bar, hooks run) it was asked at
        self._wake_bar: int | None = None
        book.exchange.add_listener(self._on_event)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, TradeEvent) and self._wants_trades:
            self._trades.append(event.trade)

    # ---- start ---------------------------------------------------------------------------------------
    def start_ticker(self) -> dict[str, Any] | None:
        # the market stands at the first candle's open (or the first trade) when the bot starts
        if len(self.points) == 0:
            return None
        first = _Points(self.points.candles, self.points.trades, self.book.lot)
        px, vol, _ = first.take()
        self.book.px, self.book.volume = px, vol
        self.book.exchange.set_reference_price(self.book.inst_id, px)
        return self.book.ticker(self.clock.now_ms())

    def start_history(self) -> list[Candle]:
        strategy = self.core.strategy
        assert strategy is not None
        if self.bars is not None and self.fast:
            closes = self.bars.close
            self._wakeup = candle_wakeups(strategy, closes)
        if self.bars is None or self.next_bar == 0:
            return []
        return self._history(self.next_bar - 1)

    # ---- the market ----------------------------------------------------------------------------------
    def market_ms(self) -> int:
        return self.points.next_ms()

    def apply_market(self) -> None:
        px, vol, side = self.points.take()
        self.book.move(px, vol)
        self._last_trade = (px, vol, side)

    def public_data(self) -> tuple[dict[str, Any] | None, Book | None, list[Trade]]:
        now = self.clock.now_ms()
        book = None
        if self._wants_book:
            assert self.core.strategy is not None
            depth = self.core.strategy.book_depth
            book = Book.from_okx(self.book.books(depth), self.core.config.symbol, depth)
        trades: list[Trade] = []
        if self._wants_trades:
            from okxbot.backtest.replay import trades_of

            trades = trades_of(self._trades)
            self._trades = []
            if self._last_trade is not None:
                px, vol, side = self._last_trade
                self._serial += 1
                trades.append(Trade(f"p{self._serial}", px, vol, side, now))
        return self.book.ticker(now), book, trades

    # ---- equity --------------------------------------------------------------------------------------
    def sample_ms(self) -> int:
        c = self.points.candles
        if c is None:  # trades: a sample at each minute's end, at the last traded price
            return (self.start_ms // 60_000 + 1 + self.sample_i) * 60_000
        if self.sample_i >= len(c):
            return END
        return int(c.ts[self.sample_i]) + c.bar_ms

    def sample_start(self) -> None:
        if self.book.px is not None:
            base, quote = self._balances()
            self.equity.add_one(self.start_ms, self.book.px, base, quote)

    def sample(self) -> None:
        c = self.points.candles
        i = self.sample_i
        self.sample_i += 1
        base, quote = self._balances()
        if c is None:
            if self.book.px is not None:
                self.equity.add_one(self.clock.now_ms(), self.book.px, base, quote)
            return
        self.equity.add(c.ts[i : i + 1] + c.bar_ms, c.close[i : i + 1], base, quote)

    def _balances(self) -> tuple[Decimal, Decimal]:
        rules = self.venue.rules
        cash = {
            d["ccy"]: Decimal(d["cashBal"]) for d in self.venue.exchange.balances(self.venue.uid)["details"]
        }
        return cash.get(rules.base, ZERO), cash.get(rules.quote, ZERO)

    # ---- the strategy's candles ----------------------------------------------------------------------
    def bar_close_ms(self) -> int:
        bars = self.bars
        if bars is None:
            return END
        j = self.next_bar
        if self._wakeup is not None:
            asked = (j, self.core.hooks_run)
            if self._wakeup_at != asked:
                self._wakeup_at, self._wake_bar = asked, self._wakeup(j)
            j = self._wake_bar if self._wake_bar is not None else len(bars)
        if j >= len(bars):
            return END
        return int(bars.ts[j]) + bars.bar_ms

    def close_bar(self) -> list[Candle]:
        bars = self.bars
        assert bars is not None
        j = self._wake_bar if self._wakeup is not None and self._wake_bar is not None else self.next_bar
        self.next_bar = j + 1
        return self._history(j)

    def _history(self, j: int) -> list[Candle]:
        bars = self.bars
        assert bars is not None
        out = []
        for idx in range(max(0, j - HISTORY_BARS + 1), j + 1):
            candle = self._bar_cache.get(idx)
            if candle is None:
                candle = self._bar_cache[idx] = Candle(
                    int(bars.ts[idx]), bars.px(int(bars.open[idx])), bars.px(int(bars.high[idx])),
                    bars.px(int(bars.low[idx])), bars.px(int(bars.close[idx])), bars.qty(int(bars.vol[idx])), True,
                )  # fmt: skip
            out.append(candle)
        return out

    # ---- fast-forward --------------------------------------------------------------------------------
    def skip_quiet(self, until_ms: int) -> None:
        p, c = self.points, self.points.candles
        if not self.fast or c is None or p.k != 0 or p.i >= len(c) or self.sample_i != p.i:
            return
        if self._wants_book or self._wants_trades:
            return
        band = self._ticker_band()
        if band is False:
            return
        # hooks due at until_ms must see the market as it is then: only whole candles before it
        i = p.i
        j = self._first_busy(i, until_ms, band)
        if j <= i:
            return
        self.book.note_arrivals()
        base, quote = self._balances()
        self.equity.add(c.ts[i:j] + c.bar_ms, c.close[i:j], base, quote)
        self.sample_i = j
        # the market now stands at the last skipped close, as after its last point
        last = j - 1
        p.i, p.k = last, 3
        px, vol, side = p.take()
        self.book.withdraw()
        self.book.px, self.book.volume = px, vol
        self.book.exchange.set_reference_price(self.book.inst_id, px)
        self._last_trade = (px, vol, side)
        ticker = self.book.ticker(int(c.ts[last]) + c.bar_ms * 3 // 4)
        content = {k: v for k, v in ticker.items() if k != "ts"}
        if content != self._last_ticker:
            self._last_ticker = content
            self.core.on_ticker(Ticker.from_okx(ticker, self.core.config.symbol, "ws"), quiet=True)
        self.events += 4 * (j - i)

    def _ticker_band(self) -> tuple[int, int] | bool | None:
        """The strategy's quiet band in scaled price units (widened by the book's half spread and a
        tick each side), None when it does not care about tickers, False when it gives no promise."""
        core = self.core
        if not core.wants("on_ticker"):
            return None
        assert core.strategy is not None
        band = core.strategy.quiet_ticker_band()
        if band is None:
            return False
        c = self.points.candles
        assert c is not None
        scale = c.px_scale
        low, high = band
        lo = (
            -(1 << 62)
            if not low.is_finite()
            else int((low * 10**scale).to_integral_value(rounding="ROUND_CEILING"))
        )
        hi = (
            (1 << 62)
            if not high.is_finite()
            else int((high * 10**scale).to_integral_value(rounding="ROUND_FLOOR"))
        )
        return lo, hi

    def _first_busy(self, i: int, until_ms: int, band: tuple[int, int] | None) -> int:
        """The first candle from `i` that must be played point by point."""
        c = self.points.candles
        assert c is not None
        n = len(c)
        scale = c.px_scale
        tick = int(self.book.tick.scaleb(scale))
        spread = self.book.settings.spread_bps
        bids = [int(o.px.scaleb(scale)) for o in self.book.bot.values() if o.side == "buy"]
        asks = [int(o.px.scaleb(scale)) for o in self.book.bot.values() if o.side == "sell"]
        best_bid = max(bids) if bids else None
        best_ask = min(asks) if asks else None
        touch = not self.book.through
        halt = self._halt_check()
        window = WINDOW
        while i < n:
            hi_idx = min(n, i + window)
            ts = c.ts[i:hi_idx]
            low, high = c.low[i:hi_idx], c.high[i:hi_idx]
            busy = ts + c.bar_ms > until_ms
            if best_bid is not None:
                busy |= (low <= best_bid) if touch else (low < best_bid)
            if best_ask is not None:
                busy |= (high >= best_ask) if touch else (high > best_ask)
            if band is not None:
                lo, hi = band
                # the mid is within half the spread (and a tick of rounding) of the point
                widen = (high * int(spread * 100) // 2_000_000) + 2 * tick
                busy |= (low - widen <= lo) | (high + widen >= hi)
            if halt is not None:
                busy |= halt(ts, low, high)
            hits = np.flatnonzero(busy)
            if len(hits):
                return i + int(hits[0])
            i = hi_idx
            window = min(window * 2, MAX_WINDOW)
        return n

    def _halt_check(self) -> Any:
        """None when the daily loss limit cannot trip before the next fill; else a function marking
        the candles where it might (today's fills marked at the candle's worst price, a tick of
        margin: a candle marked for nothing is only played in full)."""
        risk = self.core.manager.risk
        limit = risk.config.daily_loss_limit
        if limit is None or risk.halted:
            return None
        from okxbot.trading.pnl import utc_day

        today = utc_day(self.clock.now_ms())
        sums = self.core.manager._day_sums.get(today)
        if sums is None:
            return None  # nothing traded today: today's PnL is zero until the next fill
        c = self.points.candles
        assert c is not None
        scale = c.px_scale
        pos, cash = sums.position, sums.cash

        def check(ts: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
            same_day = (ts // 86_400_000) == today
            if pos == 0:
                return same_day & (cash <= -limit)
            # cash + pos x price <= -limit  <=>  price <= (or >= when short) this threshold
            threshold = int(((-limit - cash) / pos).scaleb(scale).to_integral_value())
            if pos > 0:
                return same_day & (low <= threshold + 1)
            return same_day & (high >= threshold - 1)

        return check
