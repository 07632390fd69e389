"""The rest of the market in a replay of candles or trades: who trades with the bot, and at what price.

History gives prices and volumes, not the order book. The replay moves a price through a sequence of
points (`okxbot.backtest.points`) and the simulator's matching engine does every fill, through two
accounts of its own (the synthetic market, `create_account(internal=True)`: no balances, no fees):

Fill model (resting orders). At each point P the market first trades through the bot's resting
orders that P crossed: with `fill = "through"` a buy resting above P (a sell below P) fills, whole,
at its own price, as maker; one resting exactly at P does not (the price only touched it). With
`fill = "at-touch"` an order at exactly P fills too, but only from the point's volume left once the
queue ahead of it has traded (`queue = true`: the synthetic book's size at that price when the order
arrived; `queue = false`: no queue, the point's volume fills it). The market does this by sending
IOC orders at P +- one tick (through) and at P (at-touch) sized to the orders crossed, so the fills,
fees and order states are the engine's own.

Slippage model (market and crossing orders). Around the latest point P the market quotes a ladder:
`depth` levels a side, the best bid and ask `spread_bps` apart (at least one tick from P each), then
one level every `level_gap_bps` (at least a tick), each of `level_size` (the point's volume, at least
the instrument's minimum, or a fixed amount). A market order, or a limit order that crosses, walks
that ladder in the engine: the more it takes, the worse its average price. The ladder is quoted
when something can meet it (a request that could trade with it, a strategy reading the book), and
withdrawn before the price moves again, so it never trades with a resting order.

Market data. The ticker a strategy sees is this book's top (the ladder's best bid and ask, or the
bot's own order where it is better), the last price P and its volume; 24 h statistics are not
replayed (empty, as OKX sends for a field that does not apply). The book (`on_book`) is the engine's
book with the ladder quoted, at most `depth` levels deep. Public trades are the point itself (the
rest of the market trading at P) after the bot's own fills at that point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from okxbot.sim.instruments import fmt

if TYPE_CHECKING:
    from okxbot.backtest.settings import BacktestSettings
    from okxbot.sim.engine import Exchange
    from okxbot.sim.instruments import Instrument
    from okxbot.sim.order import Order

ZERO = Decimal(0)
BPS = Decimal(10_000)


def _floor(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def _ceil(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


class SyntheticBook:
    """The synthetic market around one instrument: sweeps, the ladder, the top of the book."""

    def __init__(
        self, exchange: Exchange, inst: Instrument, bot_uid: str, settings: BacktestSettings
    ) -> None:
        self.exchange = exchange
        self.inst = inst
        self.inst_id = inst.inst_id
        self.tick, self.lot, self.min_sz = inst.tick_sz, inst.lot_sz, inst.min_sz
        self.settings = settings
        self.through = settings.fill == "through"
        self.queue = settings.queue
        self.maker = exchange.create_account({}, internal=True)
        self.taker = exchange.create_account({}, internal=True)
        self.bot = exchange.pending_ids(bot_uid)  # the bot's resting orders (live view of the engine)
        self.px: Decimal | None = None  # the latest point
        self.volume = ZERO
        self._ladder: list[str] = []  # the ladder's ordIds while it is quoted
        self._ladder_px: Decimal | None = None
        self._quoted = {"buy": 0, "sell": 0}  # levels quoted on each side around _ladder_px
        self._queue_ahead: dict[str, Decimal] = {}  # ordId -> size ahead of it at its price (at-touch)

    # ---- shape -----------------------------------------------------------------------------------
    def _tops(self, px: Decimal) -> tuple[Decimal, Decimal, Decimal]:
        """(best bid, best ask, gap) of the ladder around `px`."""
        half = px * self.settings.spread_bps / BPS / 2
        bid = min(_floor(px - half, self.tick), px - self.tick)
        ask = max(_ceil(px + half, self.tick), px + self.tick)
        gap = max(self.tick, _floor(px * self.settings.level_gap_bps / BPS, self.tick))
        return bid, ask, gap

    def level_size(self) -> Decimal:
        size = self.settings.level_size
        if isinstance(size, Decimal):
            return max(self.min_sz, _floor(size, self.lot))
        return max(self.min_sz, _floor(self.volume, self.lot))

    def _ladder_size_at(self, px: Decimal, side: str) -> Decimal:
        """The ladder's size at `px` on `side` (the queue an order arriving there stands behind)."""
        if self.px is None:
            return ZERO
        bid, ask, gap = self._tops(self.px)
        top, sign = (bid, -1) if side == "buy" else (ask, 1)
        steps = (px - top) / gap * sign
        if steps < 0 or steps != steps.to_integral_value() or steps >= self.settings.depth:
            return ZERO
        return self.level_size()

    # ---- the price moves ---------------------------------------------------------------------------
    def move(self, px: Decimal, volume: Decimal) -> None:
        """A price point: the ladder goes, the bot's orders P crossed fill, the price limit follows."""
        self.withdraw()
        self.note_arrivals()
        self.px, self.volume = px, volume
        self.exchange.set_reference_price(self.inst_id, px)
        buys = [o for o in self.bot.values() if o.side == "buy"]
        sells = [o for o in self.bot.values() if o.side == "sell"]
        if buys:
            self._sweep(buys, "sell", px)
        if sells:
            self._sweep(sells, "buy", px)

    def crossed(self, low: Decimal, high: Decimal) -> bool:
        """Whether any point within [low, high] could fill a resting order of the bot."""
        for o in self.bot.values():
            if o.side == "buy" and (low < o.px or (not self.through and low <= o.px)):
                return True
            if o.side == "sell" and (high > o.px or (not self.through and high >= o.px)):
                return True
        return False

    def _sweep(self, resting: list[Order], taker_side: str, px: Decimal) -> None:
        buy = taker_side == "sell"  # the bot's orders being swept are buys
        through = [o for o in resting if (o.px > px if buy else o.px < px)]
        if through:
            size = sum((o.remaining for o in through), ZERO)
            limit = px + self.tick if buy else px - self.tick
            self._ioc(taker_side, limit, size)
        if self.through:
            return
        at = sorted((o for o in resting if o.px == px and o.pending), key=lambda o: int(o.ord_id))
        if not at:
            return
        left = self.volume
        size = ZERO
        for o in at:  # in queue order: the volume reaches the earlier order first
            ahead = self._queue_ahead.pop(o.ord_id, ZERO) if self.queue else ZERO
            used = min(ahead, left)
            left -= used
            if ahead > used:
                self._queue_ahead[o.ord_id] = ahead - used
                break
            take = min(o.remaining, _floor(left, self.lot))
            size += take
            left -= take
            if take < o.remaining:
                break
        if size > 0:
            self._ioc(taker_side, px, size)

    def _ioc(self, side: str, px: Decimal, size: Decimal) -> None:
        self.exchange.place_order(
            self.taker,
            {
                "instId": self.inst_id,
                "tdMode": "cash",
                "side": side,
                "ordType": "ioc",
                "px": fmt(px),
                "sz": fmt(size),
            },
        )

    def note_arrivals(self) -> None:
        """An order that arrived since the last point stands behind the ladder's size at its price."""
        if self.through or not self.queue:
            return
        for o in self.bot.values():
            if o.ord_id not in self._queue_ahead and o.remaining == o.sz and o.acc_fill_sz == 0:
                self._queue_ahead.setdefault(o.ord_id, self._ladder_size_at(o.px, o.side))

    # ---- the ladder -------------------------------------------------------------------------------
    def before_request(self, bodies: Sequence[Mapping[str, str]]) -> None:
        """Quote the ladder's levels that these orders (or amendments) could trade with: a market
        order's side as deep as its size reaches, a limit order's down to its price. An order
        resting on its own side never meets the ladder (it is withdrawn before the price moves), so
        nothing is quoted for it: the fills are the same, the work far less."""
        if self.px is None or not bodies:
            return
        bid, ask, gap = self._tops(self.px)
        size = self.level_size()
        need = {"buy": 0, "sell": 0}  # ladder levels wanted on the bid ("buy") and ask ("sell") side
        depth = self.settings.depth
        for body in bodies:
            side, px_text = body.get("side"), body.get("newPx") or body.get("px")
            if side is None:  # an amendment: its side is not in the body; quote both, whole
                need = {"buy": depth, "sell": depth}
                break
            ladder_side = "sell" if side == "buy" else "buy"
            top = ask if side == "buy" else bid
            if body.get("ordType") == "market":
                amount = Decimal(body.get("sz", "0"))
                levels = (
                    depth
                    if size <= 0
                    else min(depth, int((amount / size).to_integral_value(rounding=ROUND_CEILING)))
                )
            elif px_text is not None:
                px = Decimal(px_text)
                reach = (px - top) if side == "buy" else (top - px)
                if reach < 0:
                    continue  # rests on its own side
                levels = min(depth, int(reach / gap) + 1)
            else:
                continue
            need[ladder_side] = max(need[ladder_side], levels)
        if need["buy"] or need["sell"]:
            self.ensure(need)

    def ensure(self, levels: Mapping[str, int] | None = None) -> None:
        """Quote the ladder around the latest point, `levels` deep per side (default: all of it)."""
        if self.px is None:
            return
        if self._ladder_px != self.px:
            self.withdraw()
            self.note_arrivals()
            self._ladder_px = self.px
        depth = self.settings.depth
        want = levels if levels is not None else {"buy": depth, "sell": depth}
        bid, ask, gap = self._tops(self.px)
        size = fmt(self.level_size())
        for side, top, step in (("buy", bid, -gap), ("sell", ask, gap)):
            for k in range(self._quoted[side], want.get(side, 0)):
                px = top + step * k
                if px > 0:
                    ack = self.exchange.place_order(
                        self.maker,
                        {
                            "instId": self.inst_id,
                            "tdMode": "cash",
                            "side": side,
                            "ordType": "limit",
                            "px": fmt(px),
                            "sz": size,
                        },
                    )
                    if ack["sCode"] == "0":
                        self._ladder.append(ack["ordId"])
            self._quoted[side] = max(self._quoted[side], want.get(side, 0))

    def withdraw(self) -> None:
        self._quoted = {"buy": 0, "sell": 0}
        if not self._ladder:
            self._ladder_px = None
            return
        live = self.exchange.pending_ids(self.maker)
        for ord_id in self._ladder:
            if ord_id in live:
                self.exchange.cancel_order(self.maker, {"instId": self.inst_id, "ordId": ord_id})
        self._ladder, self._ladder_px = [], None

    # ---- market data -------------------------------------------------------------------------------
    def ticker(self, now_ms: int) -> dict[str, Any]:
        """The ticker at the latest point, in OKX's wire form (24 h fields empty: not replayed)."""
        assert self.px is not None
        bid, ask, _ = self._tops(self.px)
        size = self.level_size()
        bid_sz, ask_sz = size, size
        for o in self.bot.values():
            if o.side == "buy" and o.px >= bid:
                bid, bid_sz = (o.px, o.remaining) if o.px > bid else (bid, bid_sz + o.remaining)
            elif o.side == "sell" and o.px <= ask:
                ask, ask_sz = (o.px, o.remaining) if o.px < ask else (ask, ask_sz + o.remaining)
        return {
            "instType": "SPOT", "instId": self.inst_id, "last": fmt(self.px), "lastSz": fmt(self.volume),
            "askPx": fmt(ask), "askSz": fmt(ask_sz), "bidPx": fmt(bid), "bidSz": fmt(bid_sz),
            "open24h": "", "high24h": "", "low24h": "", "volCcy24h": "", "vol24h": "",
            "sodUtc0": "", "sodUtc8": "", "ts": str(now_ms),
        }  # fmt: skip

    def books(self, depth: int) -> dict[str, Any]:
        """The engine's book with the ladder quoted (OKX's books wire form)."""
        self.ensure()
        return self.exchange.books(self.inst_id, depth)
