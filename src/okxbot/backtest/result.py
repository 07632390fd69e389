"""What a backtest produces: the one shape the engine writes and the report, `compare` and
`optimize` read. Money is Decimal; times are UTC milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from okxbot.trading.parity import FillStep, OrderStep, sequence_hash


@dataclass(frozen=True)
class OrderRecord:
    ts_ms: int  # when the order reached the book (virtual time)
    client_order_id: str
    side: str
    order_type: str  # OKX ordType
    price: Decimal | None
    amount: Decimal  # base currency (spot) or contracts (swaps)
    state: str  # final journal state: filled, canceled, rejected, live (still open at the end)
    filled: Decimal
    avg_price: Decimal | None


@dataclass(frozen=True)
class FillRecord:
    ts_ms: int
    trade_id: str
    client_order_id: str
    side: str
    price: Decimal
    size: Decimal
    fee: Decimal  # OKX's sign: negative = paid
    fee_ccy: str
    liquidity: str  # "maker" | "taker"


@dataclass(frozen=True)
class EquityPoint:
    ts_ms: int
    equity: Decimal  # in the quote currency, marked at `price`
    position: Decimal  # base currency held by the bot (spot) or contracts (swaps)
    price: Decimal


@dataclass(frozen=True)
class PriceBar:
    ts_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass
class BacktestResult:
    bot: str
    strategy: str
    symbol: str  # ccxt form, e.g. BTC/USDT
    inst_id: str
    base_ccy: str
    quote_ccy: str
    start_ms: int
    end_ms: int
    bar: str  # the data's bar ("1m"), or "trades" when replayed from trades
    source: str  # "candles" | "trades" | "recorded"
    params: dict[str, Any]  # the strategy's settings used (what optimize varies)
    settings: dict[str, Any]  # fill model, latency, fee tier, slippage, queue model: all that shaped fills
    initial_balances: dict[str, Decimal]
    final_balances: dict[str, Decimal]
    orders: list[OrderRecord] = field(default_factory=list)
    fills: list[FillRecord] = field(default_factory=list)
    equity: list[EquityPoint] = field(default_factory=list)  # at least one point per bar close
    prices: list[PriceBar] = field(default_factory=list)  # for the report's chart (may be downsampled)
    refused: int = 0  # orders the risk guard or the pre-trade checks refused
    halted: str | None = None  # the risk rule that halted the bot, if any

    def parity_hash(self) -> str:
        """The same digest `okxbot run` prints for a live session (okxbot.trading.parity)."""
        return sequence_hash(
            (OrderStep(o.side, o.order_type, o.price, o.amount) for o in self.orders),
            (FillStep(f.side, f.price, f.size, f.fee) for f in self.fills),
        )
