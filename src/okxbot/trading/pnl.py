"""A bot's profit and loss from its fills: running sums, so that the risk view stays O(1) in fills."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from okxbot.trading.journal import JournalFill

ZERO = Decimal(0)


@dataclass(frozen=True)
class Pnl:
    position: Decimal  # base bought minus sold by the bot
    cash: Decimal  # quote received minus paid, fees included
    fees_quote: Decimal  # fees in quote terms (positive = paid)
    total: Decimal  # cash + position at the mid: realised + mark-to-mid

    @classmethod
    def from_fills(
        cls, fills: list[JournalFill], base: str, mid: Decimal | None, factor: Decimal = Decimal(1)
    ) -> Pnl:
        sums = PnlSums(base, factor=factor)
        for f in fills:
            sums.add(f)
        return sums.at(mid)


@dataclass
class PnlSums:
    """Running totals of a set of fills, so that the risk check before each order costs O(1),
    however many fills the bot has made."""

    base: str
    position: Decimal = ZERO
    cash: Decimal = ZERO
    fees: Decimal = ZERO
    # base per unit of fill size: 1 for spot; a linear swap's ctVal x ctMult (fills count contracts)
    factor: Decimal = Decimal(1)

    def add(self, f: JournalFill) -> None:
        signed = (f.size if f.side == "buy" else -f.size) * self.factor
        self.position += signed
        self.cash -= signed * f.price
        # OKX fee sign: negative = charged (a rebate is positive), in fee_ccy
        if f.fee_ccy == self.base:
            self.position += f.fee
            self.fees -= f.fee * f.price
        else:
            self.cash += f.fee
            self.fees -= f.fee

    def at(self, mid: Decimal | None) -> Pnl:
        total = self.cash + (self.position * mid if mid is not None else ZERO)
        return Pnl(self.position, self.cash, self.fees, total)


def utc_day(ts_ms: int) -> int:
    return ts_ms // 86_400_000
