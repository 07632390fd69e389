"""Section 4, per-trade table: FIFO round trips from fills, fees split exactly, open lots marked."""

from __future__ import annotations

from decimal import Decimal

from okxbot.backtest.metrics import fees_paid
from okxbot.backtest.trades import round_trips
from tests.backtest.factory import HOUR, at, curve, fill, four_days, result

D = Decimal


def test_fifo_round_trips_of_the_worked_example() -> None:
    trades = round_trips(four_days())
    rows = [
        (t.direction, t.size, t.entry_price, t.exit_price, t.gross_pnl, t.fees, t.net_pnl, t.duration_ms)
        for t in trades
    ]
    assert rows == [
        # bought 0.01 @ 50000 (fee 0.00001 BTC = 0.5 USDT), sold @ 52000 (fee 0.52)
        ("long", D("0.01"), D("50000"), D("52000"), D("20"), D("1.02"), D("18.98"), 29 * HOUR),
        # half of the 0.02 bought @ 51000 (half its 1.02 fee) sold @ 50000 (fee 0.5)
        ("long", D("0.01"), D("51000"), D("50000"), D("-10"), D("1.01"), D("-11.01"), 10 * HOUR),
        # the other half sold @ 53000 with 0.01 of a 0.015 sell: 2/3 of its 0.795 fee
        ("long", D("0.01"), D("51000"), D("53000"), D("20"), D("1.04"), D("18.96"), 40 * HOUR),
        # the last 0.005 of that sell is a short lot still open, marked at 53500
        ("short", D("0.005"), D("53000"), None, D("-2.5"), D("0.265"), D("-2.765"), None),
    ]
    assert trades[0].entry_ms == at(1) and trades[0].exit_ms == at(30)
    assert trades[1].entry_order == "o50" and trades[1].exit_order == "o60"
    assert trades[3].is_open and trades[3].exit_order is None
    # the pieces' fees add up to exactly what the fills paid
    assert sum((t.fees for t in trades), D(0)) == fees_paid(four_days())[0]


def test_a_sell_before_any_buy_opens_a_short_lot_closed_by_the_next_buy() -> None:
    fills = [
        fill(1, "sell", "110", "2", "-0.22", "USDT"),
        fill(2, "buy", "100", "3", "-0.003", "BTC"),
    ]
    trades = round_trips(result(hours=24, equity=curve([(0, "1000"), (24, "1000")], "100"), fills=fills))
    assert [(t.direction, t.size, t.gross_pnl, t.is_open) for t in trades] == [
        ("short", D("2"), D("20"), False),
        ("long", D("1"), D("0"), True),
    ]
    # the buy's fee (0.003 BTC x 100 = 0.3 USDT) is split 2/3 to the closed trade, 1/3 to the open lot
    assert trades[0].fees == D("0.22") + D("0.2") and trades[1].fees == D("0.1")


def test_swap_pnl_uses_the_contract_value() -> None:
    fills = [fill(1, "buy", "100", "5", "-0.01", "USDT"), fill(2, "sell", "101", "5", "-0.01", "USDT")]
    swap = result(
        hours=24, equity=curve([(0, "1000"), (24, "1000")]), fills=fills, settings={"ct_val": "0.01"}
    )
    (trade,) = round_trips(swap)
    assert trade.gross_pnl == D("0.05") and trade.net_pnl == D("0.03")


def test_no_fills_no_trades() -> None:
    assert round_trips(result(hours=24, equity=[])) == []
