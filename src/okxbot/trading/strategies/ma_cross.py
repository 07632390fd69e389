"""Moving-average crossover on candles: buy when the fast average crosses above the slow, sell when below.

The first computed signal only sets the baseline: the bot trades on crossings it sees, not on the
state it finds at start.
"""

from __future__ import annotations

from decimal import Decimal

from okxbot.trading.config import BotConfig, MaCrossConfig, MaCrossPerpConfig
from okxbot.trading.strategy import Candle, Context, Strategy, round_amount


def sma(values: list[Decimal], n: int) -> Decimal | None:
    if len(values) < n:
        return None
    return sum(values[-n:], Decimal(0)) / n


class Crossing:
    """The crossing rule both MA strategies share: `trend` follows the sign of fast - slow; a change of
    it after the first (baseline) signal is a crossing."""

    cfg: MaCrossConfig | MaCrossPerpConfig
    trend: str | None

    def bars(self, history: list[Candle]) -> list[Candle]:
        return history if self.cfg.use_forming_bar else [c for c in history if c.confirmed]

    def crossing(self, history: list[Candle]) -> str | None:
        """ "up" / "down" when the averages just crossed that way, else None."""
        closes = [c.close for c in self.bars(history)]
        fast, slow = sma(closes, self.cfg.fast), sma(closes, self.cfg.slow)
        if fast is None or slow is None or fast == slow:
            return None
        trend = "up" if fast > slow else "down"
        previous, self.trend = self.trend, trend
        return None if previous is None or previous == trend else trend


class MaCrossStrategy(Crossing, Strategy):
    def __init__(self, ctx: Context, config: BotConfig) -> None:
        super().__init__(ctx, config)
        assert config.ma_cross is not None
        self.cfg = config.ma_cross
        self.candle_bar = config.ma_cross.bar
        self.trend: str | None = None  # "up" | "down"

    async def on_candle(self, candle: Candle, history: list[Candle]) -> None:
        trend = self.crossing(history)
        if trend is None:
            return
        if trend == "up":
            await self.ctx.place("buy", self.cfg.size)
        else:
            # the buy's fee was charged in the base currency: sell what the bot holds, up to size
            amount = round_amount(self.ctx.rules, min(self.ctx.position(), self.cfg.size))
            if amount >= self.ctx.rules.min_size:
                await self.ctx.place("sell", amount)
