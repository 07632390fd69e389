"""Fills in a candle backtest: the fill model (through / at-touch, queue), the synthetic book's
slippage, OKX's fee tiers in the currency OKX charges, and the latency model."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.backtest.btkit import MINUTE, T0, backtest, candles, flat, strategy_file

D = Decimal

ORDERS_AT_START = """
from decimal import Decimal
from okxbot.trading.orders import OrderSpec
from okxbot.trading.strategy import Strategy

class Probe(Strategy):
    async def on_start(self):
        for side, amount, price in self.params["orders"]:
            await self.ctx.place(side, Decimal(amount), None if price is None else Decimal(price))
"""

RISK = {"max_order_notional": "1000000", "price_band_pct": "50", "max_orders_per_minute": 1000}


def probe(tmp: Path, orders: list[tuple[str, str, str | None]]) -> dict[str, object]:
    return {"strategy": strategy_file(tmp, ORDERS_AT_START), "params": {"orders": orders}, "risk": RISK}


def test_fees_follow_the_okx_tier_in_the_currency_okx_charges(tmp_path: Path) -> None:
    candles(tmp_path, [*flat(3), (60000, 60200, 60000, 60100, 4), *flat(2, 60100)])
    config = probe(tmp_path, [("buy", "0.5", None), ("sell", "0.2", "60100")])
    result = backtest(tmp_path, config, 6, fee_tier="vip2")  # maker 0.05 %, taker 0.07 %
    buy, sell = result.fills
    # the market buy took the synthetic book's best ask (P + half the 2 bp spread) and paid in BTC
    assert (buy.side, buy.price, buy.size, buy.liquidity) == ("buy", D("60006.0"), D("0.5"), "taker")
    assert (buy.fee, buy.fee_ccy) == (D("-0.00035"), "BTC")
    # the resting sell filled at its price when the price went through it, and paid in USDT
    assert (sell.side, sell.price, sell.size, sell.liquidity) == ("sell", D("60100"), D("0.2"), "maker")
    assert (sell.fee, sell.fee_ccy) == (D("-6.01"), "USDT")
    assert result.final_balances["BTC"] == D("1") + D("0.5") - D("0.00035") - D("0.2")
    assert result.final_balances["USDT"] == D("100000") - D("30003") + D("12020") - D("6.01")


def test_a_resting_order_fills_when_the_price_trades_through_it_not_when_it_touches(tmp_path: Path) -> None:
    touch, through = 3, 6
    rows = flat(9)
    rows[touch] = (60000, 60000, 59990, 60000, 4)  # the low touches the bid
    rows[through] = (60000, 60000, 59980, 60000, 4)  # the low goes through it
    candles(tmp_path, rows)
    config = probe(tmp_path, [("buy", "0.5", "59990")])
    for fill, minute in (("through", through), ("at-touch", touch)):
        result = backtest(tmp_path, config, 9, fill=fill, queue=False)
        (f,) = result.fills
        assert (f.price, f.size, f.liquidity) == (D("59990"), D("0.5"), "maker")
        assert T0 + minute * MINUTE <= f.ts_ms < T0 + (minute + 1) * MINUTE, fill


def test_at_touch_an_order_waits_for_the_queue_ahead_of_it(tmp_path: Path) -> None:
    # the synthetic book around 60000: best bid 59994, then a level every 6 USDT (1 bp): 59988 is
    # its second level, 2 BTC ahead of an order joining it (level_size); each touch trades 1 BTC
    rows = flat(12)
    for minute in (2, 5, 8):
        rows[minute] = (60000, 60000, 59988, 60000, 4)  # 1 BTC traded at each of the four points
    candles(tmp_path, rows)
    config = probe(tmp_path, [("buy", "0.5", "59988")])
    queued = backtest(tmp_path, config, 12, fill="at-touch", queue=True, level_size="2")
    (f,) = queued.fills
    assert T0 + 8 * MINUTE <= f.ts_ms < T0 + 9 * MINUTE  # the third touch: 2 BTC ahead traded first
    first = backtest(tmp_path, config, 12, fill="at-touch", queue=False, level_size="2")
    assert T0 + 2 * MINUTE <= first.fills[0].ts_ms < T0 + 3 * MINUTE


def test_a_market_order_walks_the_synthetic_book(tmp_path: Path) -> None:
    candles(tmp_path, flat(3))
    config = probe(tmp_path, [("buy", "2.5", None)])
    rich = {"USDT": "1000000"}
    result = backtest(tmp_path, config, 3, level_size="1", balances=rich)
    assert [(f.price, f.size) for f in result.fills] == [
        (D("60006.0"), D("1")),
        (D("60012.0"), D("1")),
        (D("60018.0"), D("0.5")),
    ]
    (order,) = result.orders
    assert order.avg_price == D("60010.8") and order.state == "filled"
    wide = backtest(tmp_path, config, 3, level_size="1", spread_bps="20", level_gap_bps="5", balances=rich)
    assert [f.price for f in wide.fills] == [D("60060.0"), D("60090.0"), D("60120.0")]


AT_CLOSE = """
from decimal import Decimal
from okxbot.trading.strategy import Strategy

class Probe(Strategy):
    candle_bar = "1m"

    async def on_candle(self, candle, history):
        if candle.ts == self.params["signal_bar"]:
            await self.ctx.place("buy", Decimal("0.1"))
"""


def test_an_order_reaches_the_book_after_its_latency_and_acts_on_later_prices(tmp_path: Path) -> None:
    # the signal comes at the close of minute 2; minute 3 opens at 61000, dips to 60900 (15 s in),
    # rallies to 61300 (30 s), closes at 61100 (45 s)
    candles(tmp_path, [*flat(3), (61000, 61300, 60900, 61100, 4), *flat(2, 61100)])
    config = {
        "strategy": strategy_file(tmp_path, AT_CLOSE),
        "params": {"signal_bar": T0 + 2 * MINUTE},
        "risk": RISK,
    }
    close = T0 + 3 * MINUTE
    for latency, ask in ((50, "61006.1"), (20_000, "60906.1"), (35_000, "61306.2")):
        result = backtest(tmp_path, config, 6, latency_ms=latency)
        (order,) = result.orders
        assert order.ts_ms == close + latency  # when it reached the book
        # never a price of the minute that gave the signal: the book of the latest point it met
        assert [f.price for f in result.fills] == [D(ask)], latency


def _trades(tmp: Path, points: list[tuple[int, str, str, str]]) -> None:
    """Store trades (ms after T0, price, size, taker side), as `data download --trades` does."""
    from okxbot.data import schema
    from okxbot.data.store import Store

    items = [
        {"tradeId": str(1000 + i), "px": px, "sz": sz, "side": side, "ts": str(T0 + at)}
        for i, (at, px, sz, side) in enumerate(points)
    ]
    Store(tmp).trades("BTC-USDT").merge(schema.trades_table(items))


def test_a_trade_replay_fills_a_resting_order_at_the_trade_that_goes_through_it(tmp_path: Path) -> None:
    # stored trades, one point each at its own time: the price touches the bid at 20 s, goes
    # through it at 50 s, and only a 0.2 BTC trade goes through at 70 s (at-touch: from its size)
    second = 1000
    points = [
        (0, "60000", "1", "buy"),
        (10 * second, "60000", "1", "sell"),
        (20 * second, "59990", "0.3", "sell"),
    ]
    points += [(35 * second, "60000", "1", "buy"), (50 * second, "59985", "1", "sell")]
    points += [(70 * second, "59980", "0.2", "sell"), (90 * second, "60000", "1", "buy")]
    _trades(tmp_path, points)
    candles(tmp_path, flat(3))  # the strategy's candle warm-up; the replay uses the trades
    config = probe(tmp_path, [("buy", "0.5", "59990")])

    def run(**settings: object) -> list[tuple[int, Decimal, Decimal, str]]:
        result = backtest(tmp_path, config, 2, trades=True, **settings)
        assert result.source == "trades"
        return [(f.ts_ms - T0, f.price, f.size, f.liquidity) for f in result.fills]

    # through: whole, at its own price, at the first trade below it
    assert run() == [(50 * second, D("59990"), D("0.5"), "maker")]
    # at touch without a queue: the touching trade's 0.3 BTC, the rest at the next trade through
    assert run(fill="at-touch", queue=False) == [
        (20 * second, D("59990"), D("0.3"), "maker"),
        (50 * second, D("59990"), D("0.2"), "maker"),
    ]
