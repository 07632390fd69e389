"""Round trips from a backtest's fills: FIFO lot matching, fees converted to the quote currency.

A fill in the direction of the open lots (or from flat) opens a lot; a fill the other way closes the
oldest lots first (FIFO) and, if larger than all of them, opens a lot the other way with the rest. So
a spot grid that sells inventory it started with opens a "short" lot that a later buy closes: each
matched piece (entry lot x closing fill) is one trade, and the per-trade table sums exactly to the
bot's realised PnL.

Fees: OKX reports a fee as a signed amount in some currency (negative = paid, positive = rebate). A fee
in the quote currency counts as it is; a fee in the base currency (OKX charges spot buys in the
currency received) is converted at the fill's own price. A fill's fee is split over the trades the
fill takes part in by size; the last piece takes the remainder, so the pieces add up exactly.

Sizes are the fill sizes (a fee taken in base does not shrink the lot: the fee is counted as a cost
instead, once). Swaps: sizes are contracts and PnL is linear, (exit - entry) x size x ct_val, with
ct_val from the result's settings (`settings["ct_val"]`, 1 for spot).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from okxbot.backtest.result import BacktestResult, FillRecord

ZERO = Decimal(0)


@dataclass(frozen=True)
class Trade:
    direction: str  # "long" (bought first) | "short" (sold first)
    size: Decimal  # base currency (spot) or contracts (swaps)
    entry_ms: int
    entry_price: Decimal
    exit_ms: int | None  # None: still open at the end of the backtest
    exit_price: Decimal | None  # None while open; `mark_price` gives the unrealised PnL
    gross_pnl: Decimal  # quote currency, before fees (open trades: marked at the last price)
    fees: Decimal  # quote currency paid for this trade's share of its fills (a rebate is negative)
    net_pnl: Decimal  # gross_pnl - fees
    entry_order: str  # clOrdId
    exit_order: str | None

    @property
    def is_open(self) -> bool:
        return self.exit_ms is None

    @property
    def duration_ms(self) -> int | None:
        return None if self.exit_ms is None else self.exit_ms - self.entry_ms

    @property
    def return_pct(self) -> float | None:
        """Net PnL as a fraction of the entry notional (a ratio: float)."""
        notional = self.entry_price * self.size
        return None if notional == 0 else float(self.net_pnl / notional)


def fee_in_quote(fill: FillRecord, base_ccy: str, quote_ccy: str) -> Decimal | None:
    """The fee paid for a fill in the quote currency (positive = paid); None for any other currency."""
    paid = -fill.fee
    if fill.fee_ccy == quote_ccy:
        return paid
    if fill.fee_ccy == base_ccy:
        return paid * fill.price
    return None


def contract_value(result: BacktestResult) -> Decimal:
    """Quote value of one unit of size per unit of price: 1 for spot, ct_val for linear swaps."""
    raw = result.settings.get("ct_val")
    return Decimal(str(raw)) if raw not in (None, "") else Decimal(1)


@dataclass
class _Lot:
    direction: str
    size: Decimal  # what is left open
    price: Decimal
    ts_ms: int
    order: str
    fee_left: Decimal  # the part of the opening fill's fee not yet given to a trade


def round_trips(result: BacktestResult) -> list[Trade]:
    """Closed trades in the order they closed, then the lots still open (marked at the last price)."""
    multiplier = contract_value(result)
    lots: deque[_Lot] = deque()
    trades: list[Trade] = []
    for fill in sorted(result.fills, key=lambda f: f.ts_ms):  # stable: same-ms fills keep their order
        fee = fee_in_quote(fill, result.base_ccy, result.quote_ccy) or ZERO
        direction = "long" if fill.side == "buy" else "short"
        remaining, fee_left = fill.size, fee
        while remaining > 0 and lots and lots[0].direction != direction:
            lot = lots[0]
            piece = min(lot.size, remaining)
            entry_fee = lot.fee_left if piece == lot.size else lot.fee_left * piece / lot.size
            exit_fee = fee_left if piece == remaining else fee_left * piece / remaining
            sign = 1 if lot.direction == "long" else -1
            gross = (fill.price - lot.price) * piece * multiplier * sign
            trades.append(
                Trade(
                    direction=lot.direction,
                    size=piece,
                    entry_ms=lot.ts_ms,
                    entry_price=lot.price,
                    exit_ms=fill.ts_ms,
                    exit_price=fill.price,
                    gross_pnl=gross,
                    fees=entry_fee + exit_fee,
                    net_pnl=gross - entry_fee - exit_fee,
                    entry_order=lot.order,
                    exit_order=fill.client_order_id,
                )
            )
            lot.size -= piece
            lot.fee_left -= entry_fee
            remaining -= piece
            fee_left -= exit_fee
            if lot.size == 0:
                lots.popleft()
        if remaining > 0:
            lots.append(_Lot(direction, remaining, fill.price, fill.ts_ms, fill.client_order_id, fee_left))
    mark = last_price(result)
    for lot in lots:
        sign = 1 if lot.direction == "long" else -1
        gross = (mark - lot.price) * lot.size * multiplier * sign if mark is not None else ZERO
        trades.append(
            Trade(
                direction=lot.direction,
                size=lot.size,
                entry_ms=lot.ts_ms,
                entry_price=lot.price,
                exit_ms=None,
                exit_price=None,
                gross_pnl=gross,
                fees=lot.fee_left,
                net_pnl=gross - lot.fee_left,
                entry_order=lot.order,
                exit_order=None,
            )
        )
    return trades


def last_price(result: BacktestResult) -> Decimal | None:
    """The price open trades are marked at: the last equity mark (else the last bar's close)."""
    if result.equity:
        return result.equity[-1].price
    return result.prices[-1].close if result.prices else None
