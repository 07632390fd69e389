"""DCA: buy a fixed quote amount every interval, skipping any interval where the price is above the ceiling."""

from __future__ import annotations

from okxbot.trading.config import BotConfig
from okxbot.trading.strategy import Context, Strategy, round_amount


class DcaStrategy(Strategy):
    def __init__(self, ctx: Context, config: BotConfig) -> None:
        super().__init__(ctx, config)
        assert config.dca is not None
        self.dca = config.dca
        self.timer_seconds = config.dca.interval_seconds
        self.buys = 0
        self.skipped = 0

    async def on_timer(self) -> None:
        mid = self.ctx.mid()
        if mid is None:
            return
        if self.dca.max_price is not None and mid > self.dca.max_price:
            self.skipped += 1
            self.ctx.log("dca: price above the ceiling, skipping this buy", mid=str(mid))
            return
        amount = round_amount(self.ctx.rules, self.dca.quote_amount / mid)
        if amount < self.ctx.rules.min_size:
            self.ctx.log("dca: quote_amount buys less than the minimum size, skipping", amount=str(amount))
            return
        if await self.ctx.place("buy", amount) is not None:
            self.buys += 1
