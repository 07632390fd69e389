"""A user strategy: quote one bid `params.offset_pct` percent below the mid, and keep it there.

Use it with examples/custom.toml (`strategy = "my_strategy.py"`).
"""

from decimal import Decimal

from okxbot.okx.models import Ticker
from okxbot.trading.strategy import Strategy, round_price


class OneBid(Strategy):
    async def on_ticker(self, ticker: Ticker) -> None:
        mid = self.ctx.mid()
        if mid is None or self.ctx.open_orders():
            return
        offset = Decimal(str(self.params.get("offset_pct", "1"))) / 100
        price = round_price(self.ctx.rules, mid * (1 - offset))
        await self.ctx.place("buy", Decimal(str(self.params.get("size", "0.001"))), price)
