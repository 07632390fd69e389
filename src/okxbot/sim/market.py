"""A seeded synthetic market: a fair price that random-walks, a market maker quoting a deep book around
it, and taker flow that trades against the best levels.

Resting user orders fill the way they would on a real book: when the fair price walks through them,
the market maker's re-quotes cross them (it takes their liquidity), and taker flow hits whoever is at
the top of the book, user orders included. Everything random comes from `random.Random`s seeded
from `seed` and consumed in a fixed order, so two markets with the same seed and the same number of
`step()` calls produce the same books, trades and candles (timestamps come from the exchange's clock).

Perpetual swaps are quoted the same way around `index * (1 + premium)`: their fair price follows the
spot pair behind their index (the premium is 0 unless the admin API sets one, and drives funding).
They draw from their own generator, so adding swaps changed no spot price of a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

from okxbot.sim.engine import Exchange
from okxbot.sim.instruments import ZERO, Instrument, ceil_to, floor_to
from okxbot.sim.tape import MINUTE

DEEP_BOOK = "BTC-USDT"  # the one book with >= 400 levels a side (the `books` channel's full depth)
DEEP_LEVELS = 420
SHALLOW_LEVELS = 60
LEVEL_USD = Decimal(2000)  # typical size of one market-maker level, in USD
LEVEL_GAP = Decimal("0.0001")  # distance between ladder levels, as a fraction of the price (deep book)
SHALLOW_GAP = Decimal("0.0003")  # the other books: fewer, wider levels keep each step cheap
MEAN_REVERSION = Decimal("0.0005")  # per step, towards the listing price: long runs stay plausible
REFRESH_PROB = 0.3  # chance per step that a top level is re-sized (1.0 on the deep book): books flicker
STEPS_PER_MINUTE = 600  # the server steps every ~100 ms
TOP_CHECK = 12  # levels checked for fills every step; takers rarely reach deeper
FULL_CHECK_EVERY = 20  # steps between full ladder checks (a big sweep can empty deep levels)


@dataclass(slots=True)
class _Quoting:
    inst: Instrument
    fair: Decimal
    anchor: Decimal
    gap: Decimal  # ladder spacing, a multiple of tickSz, fixed so that most levels survive a step
    levels: int
    unit: Decimal  # typical level size in base currency (swaps: contracts)
    trade_prob: float
    refresh_prob: float
    rng: random.Random
    spot: str = ""  # swaps: the spot pair whose fair price is the index
    orders: dict[str, dict[Decimal, str]] = field(default_factory=lambda: {"buy": {}, "sell": {}})
    top: dict[str, Decimal | None] = field(default_factory=lambda: {"buy": None, "sell": None})


class SyntheticMarket:
    """Drives every instrument of `exchange`. Call `step()` periodically (the server: every ~100 ms)."""

    def __init__(
        self,
        exchange: Exchange,
        seed: int = 7,
        *,
        volatility: Decimal | str = "0.0001",
        history_minutes: int = 1440,
    ) -> None:
        self.exchange = exchange
        self.seed = seed
        self.steps = 0
        # Per-step standard deviation of the fair price's return. 1 bp per 100 ms with the mean
        # reversion below keeps the price within about +-1% of its anchor, while orders 0.1-0.2% from
        # the price usually fill within seconds to a few minutes: lively enough for a grid demo.
        self.volatility = Decimal(volatility)
        self._rng = random.Random(seed)
        self._maker = exchange.create_account({}, internal=True)
        self._taker = exchange.create_account({}, internal=True)
        self._live = exchange.pending_ids(self._maker)
        self._quoting: dict[str, _Quoting] = {}
        self._swaps: dict[str, _Quoting] = {}
        self._swap_rng = random.Random(f"{seed}:swaps")
        self.premium: dict[str, Decimal] = {}
        for inst in exchange.instruments:
            if inst.is_swap:
                self._swaps[inst.inst_id] = self._setup(inst)
            else:
                self._quoting[inst.inst_id] = self._setup(inst)
        if history_minutes > 0:
            self._backfill(history_minutes)
            self._backfill_swaps()
        with exchange.batch():
            for q in self._quoting.values():
                exchange.set_reference_price(q.inst.inst_id, q.fair)
                self._requote(q)
            for q in self._swaps.values():
                self._follow(q)
                self._requote(q)
        exchange.tick()

    # ------------------------------------------------------------------ setup

    def _all(self) -> list[_Quoting]:
        return [*self._quoting.values(), *self._swaps.values()]

    def _usd(self, ccy: str) -> Decimal:
        if ccy in ("USDT", "USDC", "USD"):
            return Decimal(1)
        inst = self.exchange.instrument(f"{ccy}-USDT")
        return inst.start_px if inst is not None else Decimal(1)

    def _setup(self, inst: Instrument) -> _Quoting:
        px = inst.start_px
        deep = inst.inst_id == DEEP_BOOK
        gap = max(inst.tick_sz, floor_to(px * (LEVEL_GAP if deep else SHALLOW_GAP), inst.tick_sz))
        if inst.is_swap:
            # A contract is worth ctVal of the base (linear) or ctVal USD (inverse).
            contract_usd = inst.contract_size if inst.inverse else inst.contract_size * px
            unit = max(inst.min_sz, floor_to(LEVEL_USD / contract_usd, inst.lot_sz))
            spot = f"{inst.base_ccy}-USDT"
        else:
            base_usd = px * self._usd(inst.quote_ccy)
            unit = max(inst.min_sz, floor_to(LEVEL_USD / base_usd, inst.lot_sz))
            spot = ""
        return _Quoting(
            inst=inst,
            fair=px,
            anchor=px,
            gap=gap,
            levels=DEEP_LEVELS if deep else SHALLOW_LEVELS,
            unit=unit,
            trade_prob=0.5 if deep else 0.2,
            refresh_prob=1.0 if deep else REFRESH_PROB,
            rng=self._swap_rng if inst.is_swap else self._rng,
            spot=spot,
        )

    def _backfill(self, minutes: int) -> None:
        """Synthetic 1m history ending at the listing price, so charts and indicators work at once.

        It samples the live process minute by minute: the fair price's deviation from its anchor is
        mean-reverting (Ornstein-Uhlenbeck), which is time-reversible, so walking backwards from the
        listing price draws from the same law as walking forwards.
        """
        now = self.exchange.clock.now_ms()
        this_minute = now - now % MINUTE
        keep = (1 - MEAN_REVERSION) ** STEPS_PER_MINUTE  # how much of a deviation survives a minute
        stationary = self.volatility / (2 * MEAN_REVERSION).sqrt()
        noise = stationary * (1 - keep * keep).sqrt()
        for q in self._quoting.values():
            tick = q.inst.tick_sz
            close = q.fair
            dev = ZERO  # (price / anchor - 1) at the close of the minute being drawn
            for i in range(1, minutes + 1):
                dev = dev * keep + self._gauss() * noise
                open_ = max(tick, (q.anchor * (1 + dev)).quantize(tick))
                high = ceil_to(max(open_, close) * (1 + abs(self._gauss()) * noise / 2), tick)
                low = max(tick, floor_to(min(open_, close) * (1 - abs(self._gauss()) * noise / 2), tick))
                vol = floor_to(q.unit * q.rng.randint(5, 60), q.inst.lot_sz)
                minute = this_minute - i * MINUTE
                if i == 1:
                    # The last full minute is made of trades (GET /market/trades), which build its
                    # candle; the draws above still happen so that every later draw is unchanged.
                    self._backfill_trades(q, minute, open_, high, low, close)
                else:
                    self.exchange.seed_candle(q.inst.inst_id, minute, open_, high, low, close, vol)
                close = open_
            self.exchange.set_last_price(q.inst.inst_id, q.fair)

    def _backfill_trades(
        self, q: _Quoting, minute: int, open_: Decimal, high: Decimal, low: Decimal, close: Decimal
    ) -> None:
        """The trades of one backfilled minute, from its open to its close, within its high and low.

        A real instrument always has recent trades, so a client that starts by reading them (ccxt's
        fetch_trades, a strategy warming up) must not find an empty tape. A separate generator keeps
        the live process's draws, and so every seeded market's prices, as they were.
        """
        rng = random.Random(f"{self.seed}:{q.inst.inst_id}:trades")
        tick, lot = q.inst.tick_sz, q.inst.lot_sz
        n_trades = rng.randint(8, 20)
        times = sorted(rng.sample(range(minute, minute + MINUTE), n_trades))
        span = int((high - low) / tick)
        for n, ts in enumerate(times):
            if n == 0:
                px = open_
            elif n == n_trades - 1:
                px = close  # the last trade is the live last price
            else:
                px = low + tick * rng.randint(0, span)
            sz = max(q.inst.min_sz, floor_to(q.unit * rng.randint(1, 4), lot))
            side = "buy" if rng.random() < 0.5 else "sell"
            self.exchange.seed_trade(q.inst.inst_id, px, sz, side, ts)

    def _backfill_swaps(self) -> None:
        """A swap's history is its spot pair's, in contracts, with a few trades in the last minute."""
        for q in self._swaps.values():
            inst = q.inst
            spot_tape = self.exchange.markets.tapes[q.spot]
            tick = inst.tick_sz
            for minute, c in spot_tape.history():
                px = (c.o + c.c) / 2
                per_contract = inst.contract_size if inst.inverse else inst.contract_size * px
                vol = floor_to(c.vol * px / per_contract, inst.lot_sz) if per_contract else ZERO
                o, h, low, close = (max(tick, floor_to(v, tick)) for v in (c.o, c.h, c.low, c.c))
                self.exchange.seed_candle(inst.inst_id, minute, o, h, low, close, vol)
            now = self.exchange.clock.now_ms()
            last_minute = now - now % MINUTE - MINUTE
            for k in range(q.rng.randint(8, 20)):
                side = "buy" if q.rng.random() < 0.5 else "sell"
                sz = max(inst.min_sz, floor_to(q.unit * q.rng.randint(1, 4), inst.lot_sz))
                self.exchange.seed_trade(inst.inst_id, q.fair, sz, side, last_minute + 1000 + k * 2000)
            self.exchange.set_last_price(inst.inst_id, q.fair)
        self.exchange.marks.backfill()

    def _gauss(self, rng: random.Random | None = None) -> Decimal:
        # The draw is a float; the price arithmetic stays Decimal (rounded so digits don't pile up).
        return Decimal(f"{(rng or self._rng).gauss(0.0, 1.0):.9f}")

    # ------------------------------------------------------------------ stepping

    def step(self, now_ms: int | None = None) -> None:
        """Advance every instrument by one tick of the synthetic process (now_ms is informational)."""
        self.steps += 1
        with self.exchange.batch():
            for q in self._quoting.values():
                self._walk(q)
                self._requote(q)
                self._refresh(q)
                self._take(q)
            for q in self._swaps.values():
                self._follow(q)
                self._requote(q)
                self._refresh(q)
                self._take(q)

    def _walk(self, q: _Quoting) -> None:
        ret = self._gauss() * self.volatility - MEAN_REVERSION * (q.fair / q.anchor - 1)
        q.fair = max(q.inst.tick_sz, (q.fair * (1 + ret)).quantize(q.inst.tick_sz / 100))
        self.exchange.set_reference_price(q.inst.inst_id, q.fair)

    def _follow(self, q: _Quoting) -> None:
        """A swap's fair price: its index's fair price times (1 + premium), on a fine grid."""
        index = self._quoting[q.spot].fair
        q.fair = max(
            q.inst.tick_sz,
            (index * (1 + self.premium.get(q.inst.inst_id, ZERO))).quantize(q.inst.tick_sz / 100),
        )
        q.anchor = q.fair
        self.exchange.set_reference_price(q.inst.inst_id, q.fair)

    def _tops(self, q: _Quoting) -> tuple[Decimal, Decimal]:
        """The best bid and ask of the ladder for the current fair price (both on the gap grid)."""
        half = q.gap / 2
        top_bid = floor_to(q.fair - half, q.gap)
        top_ask = ceil_to(q.fair + half, q.gap)
        if top_ask <= top_bid:
            top_ask = top_bid + q.gap
        return top_bid, top_ask

    def _requote(self, q: _Quoting) -> None:
        """Move the ladder with the fair price, touching only the levels that changed.

        Stale quotes on both sides go first, so the maker never crosses itself; then missing levels
        are placed best first, and a new bid above a user's ask (or ask below a user's bid) takes it.
        """
        top_bid, top_ask = self._tops(q)
        wanted = {"buy": (top_bid, -q.gap), "sell": (top_ask, q.gap)}
        for side, (top, step) in wanted.items():
            bottom = top + step * (q.levels - 1)
            lo, hi = (bottom, top) if side == "buy" else (top, bottom)
            resting = q.orders[side]
            moved = q.top[side] is None or abs(top - q.top[side]) > q.gap * q.levels
            stale = (
                list(resting)
                if moved or self.steps % FULL_CHECK_EVERY == 0
                else self._edges(q, side, top, bottom)
            )
            for px in stale:
                if px in resting and not lo <= px <= hi:
                    self._withdraw(q, side, px)
        for side, (top, step) in wanted.items():
            resting = q.orders[side]
            full = q.top[side] is None or self.steps % FULL_CHECK_EVERY == 0
            depth = q.levels if full else min(q.levels, TOP_CHECK + self._shift(q, side, top))
            for k in range(depth):
                px = top + step * k
                if px <= 0:
                    break
                ord_id = resting.get(px)
                if ord_id is not None and ord_id in self._live:
                    continue
                resting.pop(px, None)
                self._quote(q, side, px)
            if not full:
                # The far end of the ladder moves too when the price walks: fill it in.
                for k in range(max(depth, q.levels - self._shift(q, side, top) - 1), q.levels):
                    px = top + step * k
                    if px > 0 and px not in resting:
                        self._quote(q, side, px)
            q.top[side] = top

    def _shift(self, q: _Quoting, side: str, top: Decimal) -> int:
        old = q.top[side]
        return 0 if old is None else int(abs(top - old) / q.gap)

    def _edges(self, q: _Quoting, side: str, top: Decimal, bottom: Decimal) -> list[Decimal]:
        """Grid prices between the old and new ends of the ladder: the only ones that can be stale."""
        old_top = q.top[side]
        assert old_top is not None
        step = -q.gap if side == "buy" else q.gap
        old_bottom = old_top + step * (q.levels - 1)
        out: list[Decimal] = []
        for a, b in ((old_top, top), (old_bottom, bottom)):
            n = int(abs(b - a) / q.gap)
            direction = q.gap if b > a else -q.gap
            out.extend(a + direction * i for i in range(n + 1))
        return out

    def _withdraw(self, q: _Quoting, side: str, px: Decimal) -> None:
        ord_id = q.orders[side].pop(px)
        if ord_id in self._live:
            self.exchange.cancel_order(self._maker, {"instId": q.inst.inst_id, "ordId": ord_id})

    def _quote(self, q: _Quoting, side: str, px: Decimal) -> None:
        scale = Decimal(str(round(q.rng.uniform(0.2, 3.0), 3)))
        sz = max(q.inst.min_sz, floor_to(q.unit * scale, q.inst.lot_sz))
        td_mode = "cross" if q.inst.is_swap else "cash"
        result = self.exchange.place_order(
            self._maker,
            {"instId": q.inst.inst_id, "tdMode": td_mode, "side": side, "ordType": "limit", "px": str(px),
             "sz": str(sz)},
        )  # fmt: skip
        ord_id = result["ordId"]
        if result["sCode"] == "0" and ord_id in self._live:
            q.orders[side][px] = ord_id

    def _refresh(self, q: _Quoting) -> None:
        """Re-size one of the top levels now and then: real books flicker even when the price stands still."""
        if q.rng.random() >= q.refresh_prob:
            return
        side = "buy" if q.rng.random() < 0.5 else "sell"
        depth = q.rng.randrange(min(20, q.levels))
        top = q.top[side]
        if top is None:
            return
        px = top - depth * q.gap if side == "buy" else top + depth * q.gap
        if px in q.orders[side]:
            self._withdraw(q, side, px)
            self._quote(q, side, px)

    def _take(self, q: _Quoting) -> None:
        """Taker flow: now and then a market order of random side and size against the best levels."""
        if q.rng.random() >= q.trade_prob:
            return
        side = "buy" if q.rng.random() < 0.5 else "sell"
        sz = max(
            q.inst.min_sz,
            floor_to(q.unit * Decimal(str(round(q.rng.expovariate(2.0), 4))), q.inst.lot_sz),
        )
        order = {"instId": q.inst.inst_id, "tdMode": "cash", "side": side, "ordType": "market", "sz": str(sz)}
        if q.inst.is_swap:
            order["tdMode"] = "cross"
        else:
            order["tgtCcy"] = "base_ccy"
        self.exchange.place_order(self._taker, order)

    # ------------------------------------------------------------------ admin

    def fair_price(self, inst_id: str) -> Decimal:
        return self._get(inst_id).fair

    def jump(self, inst_id: str, px: Decimal | str) -> None:
        """Move the fair price to `px` at once; the maker re-quotes (crossing any orders in the way).

        A spot pair's swaps follow it (their index moved); a swap jumps by taking a premium over its
        index (which its funding rate then reflects).
        """
        q = self._get(inst_id)
        price = Decimal(px)
        if price <= ZERO:
            raise ValueError(f"price must be > 0, got {px}")
        with self.exchange.batch():
            if q.inst.is_swap:
                index = self._quoting[q.spot].fair
                self.premium[inst_id] = price / index - 1
                self._rejump(q)
            else:
                q.fair = price
                q.anchor = price  # the new level is where the price now mean-reverts to
                self.exchange.set_reference_price(inst_id, price)
                q.top = {"buy": None, "sell": None}  # a jump re-checks the whole ladder
                self._requote(q)
                for swap in self._swaps.values():
                    if swap.spot == inst_id:
                        self._rejump(swap)

    def _rejump(self, q: _Quoting) -> None:
        self._follow(q)
        q.top = {"buy": None, "sell": None}
        self._requote(q)

    def set_premium(self, inst_id: str, premium: Decimal) -> None:
        """Quote a swap at index * (1 + premium) from now on."""
        q = self._get(inst_id)
        if not q.inst.is_swap:
            raise ValueError(f"{inst_id} is not a swap; a premium applies to perpetual swaps only")
        self.premium[inst_id] = premium
        with self.exchange.batch():
            self._rejump(q)

    def move_pct(self, inst_id: str, pct: Decimal | str) -> None:
        q = self._get(inst_id)
        self.jump(inst_id, (q.fair * (1 + Decimal(pct) / 100)).quantize(q.inst.tick_sz))

    set_price = jump

    def _get(self, inst_id: str) -> _Quoting:
        q = self._quoting.get(inst_id) or self._swaps.get(inst_id)
        if q is None:
            known = ", ".join([*self._quoting, *self._swaps])
            raise KeyError(f"unknown instId {inst_id!r}; the simulator lists {known}")
        return q


Market = SyntheticMarket
