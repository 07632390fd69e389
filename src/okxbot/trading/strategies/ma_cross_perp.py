"""Moving-average crossover on a perpetual swap, long and short, every entry protected on the exchange.

Fast average above the slow: long; below: short. On a crossing the bot closes what it holds the other
way (reduce-only market) and opens `size` in the new direction with a stop-loss `stop_atr` average true
ranges away (and a take-profit `take_profit_atr` ATRs away when set) attached to the order
(attachAlgoOrds): OKX creates them when the entry fills, so the position is protected even if the bot
dies. Like `ma_cross`, the first computed signal only sets the baseline. A stop that fires leaves the
bot flat until the next crossing.
"""

from __future__ import annotations

from decimal import Decimal

from okxbot.okx.swap_models import Position
from okxbot.trading.config import BotConfig, MaCrossPerpConfig
from okxbot.trading.strategies.ma_cross import Crossing
from okxbot.trading.strategy import Candle, Context, Strategy, round_price
from okxbot.trading.swap_journal import FundingPayment

MIN_STOP = Decimal("0.005")  # the stop is never closer than 0.5 % of the price (an ATR of a quiet tape)


def atr(bars: list[Candle], n: int) -> Decimal | None:
    """Average true range of the last `n` bars (simple average; needs n + 1 bars)."""
    if len(bars) < n + 1:
        return None
    ranges = [
        max(b.high - b.low, abs(b.high - prev.close), abs(b.low - prev.close))
        for prev, b in zip(bars[-n - 1 : -1], bars[-n:], strict=True)
    ]
    return sum(ranges, Decimal(0)) / n


class MaCrossPerpStrategy(Crossing, Strategy):
    cfg: MaCrossPerpConfig

    def __init__(self, ctx: Context, config: BotConfig) -> None:
        super().__init__(ctx, config)
        assert config.ma_cross_perp is not None
        self.cfg = config.ma_cross_perp
        self.candle_bar = self.cfg.bar
        self.trend: str | None = None  # "up" | "down"
        self.funding_paid = Decimal(0)
        self.stops_hit = 0

    async def on_candle(self, candle: Candle, history: list[Candle]) -> None:
        trend = self.crossing(history)
        if trend is not None:
            bars = self.bars(history)
            await self.enter(
                "buy" if trend == "up" else "sell", bars[-1].close, atr(bars, self.cfg.atr_period)
            )

    async def enter(self, side: str, price: Decimal, range_: Decimal | None) -> None:
        held = self.ctx.position()
        if (side == "buy" and held < 0) or (side == "sell" and held > 0):
            await self.ctx.close_position()
        elif held:
            return  # already that way
        distance = max((range_ or Decimal(0)) * self.cfg.stop_atr, price * MIN_STOP)
        sign = -1 if side == "buy" else 1
        stop = round_price(self.ctx.rules, price + sign * distance)
        take = None
        if self.cfg.take_profit_atr is not None:
            tp_distance = max((range_ or Decimal(0)) * self.cfg.take_profit_atr, price * MIN_STOP)
            take = round_price(self.ctx.rules, price - sign * tp_distance)
        self.ctx.log(f"{'long' if side == 'buy' else 'short'} {self.cfg.size} {self.cfg.unit}, stop {stop}")
        await self.ctx.place(side, self.cfg.size, unit=self.cfg.unit, stop_loss=stop, take_profit=take)

    async def on_position(self, positions: list[Position]) -> None:
        held = sum((p.contracts for p in positions), Decimal(0))
        self.ctx.log(f"position now {held} contracts")

    async def on_funding(self, payment: FundingPayment) -> None:
        self.funding_paid -= payment.amount
        self.ctx.log(f"funding {payment.amount} at {payment.ts_ms}")
