"""Section 4: every metric against figures computed by hand on small synthetic results.

The worked example (tests/backtest/factory.py `four_days`): 4 days from 2024-01-01 00:00 UTC, equity
1000 -> 1050 (12h) -> 1100 (24h) -> 950 (36h) -> 990 (48h) -> 1089 (72h) -> 1099 (84h) -> 1197.9 (96h).
Daily samples at midnight: 1000, 1100, 990, 1089, 1197.9: returns +10 %, -10 %, +10 %, +10 %.
mean 0.05, sample stdev sqrt(0.03 / 3) = 0.1, Sharpe = 0.5 x sqrt(365); downside deviation
sqrt(0.01 / 4) = 0.05, Sortino = 1 x sqrt(365). Max drawdown: peak 1100 (24h) -> 950 (36h) = 150/1100,
recovered at 96h. Five fills make three closed FIFO trades (+18.98, -11.01, +18.96 after fees) and a
short lot of 0.005 left open.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest

from okxbot.backtest.metrics import BY_KEY, METRICS, metrics, objectives, to_json
from tests.backtest.factory import HOUR, T0, at, bar, curve, fill, four_days, result

D = Decimal


def test_returns_and_risk_ratios_match_the_hand_computation() -> None:
    m = metrics(four_days())
    assert m["start_equity"] == D("1000") and m["end_equity"] == D("1197.9")
    assert m["net_profit"] == D("197.9")
    assert m["total_return"] == pytest.approx(0.1979)
    assert m["days"] == 4
    assert m["sharpe"] == pytest.approx(0.5 * math.sqrt(365))
    assert m["sortino"] == pytest.approx(math.sqrt(365))
    assert m["volatility"] == pytest.approx(0.1 * math.sqrt(365))
    assert m["cagr"] == pytest.approx(1.1979 ** (365 / 4) - 1)
    assert m["buy_and_hold_return"] == pytest.approx(53500 / 50000 - 1)


def test_max_drawdown_uses_every_point_with_start_end_duration_recovery() -> None:
    m = metrics(four_days())
    assert m["max_drawdown"] == pytest.approx(150 / 1100)
    assert m["max_drawdown_amount"] == D("150")
    assert m["max_drawdown_start_ms"] == at(24)
    assert m["max_drawdown_end_ms"] == at(36)
    assert m["max_drawdown_duration_ms"] == 12 * HOUR
    assert m["max_drawdown_recovery_ms"] == at(96)
    assert m["max_drawdown_underwater_ms"] == 72 * HOUR
    assert m["calmar"] == pytest.approx((1.1979 ** (365 / 4) - 1) / (150 / 1100))


def test_trade_statistics_from_fifo_round_trips() -> None:
    m = metrics(four_days())
    assert m["trades"] == 3 and m["open_trades"] == 1
    assert m["win_rate"] == pytest.approx(2 / 3)
    assert m["profit_factor"] == pytest.approx((18.98 + 18.96) / 11.01)
    assert m["expectancy"] == D("8.97666667")  # 26.93 / 3, 8 places half even
    assert m["avg_win"] == D("18.97000000") and m["avg_loss"] == D("-11.01000000")
    assert m["best_trade"] == D("18.98") and m["worst_trade"] == D("-11.01")
    assert m["avg_trade_duration_ms"] == round((29 + 10 + 40) * HOUR / 3)


def test_exposure_fees_turnover_and_counts() -> None:
    m = metrics(four_days())
    # in a position 1h..30h and 50h..96h (the short lot stays open to the end): 75h of 96h
    assert m["exposure"] == pytest.approx(75 / 96)
    # base-currency fees converted at the fill price: 0.00001 BTC x 50000 + 0.00002 BTC x 51000
    assert m["fees_paid"] == D("3.335")
    assert m["fees_other"] == {}
    assert m["turnover"] == D("3335")
    assert m["turnover_ratio"] == pytest.approx(3.335)
    assert (m["orders"], m["fills"], m["refused"]) == (5, 5, 0)


def test_risk_free_rate_is_subtracted_per_day() -> None:
    rf_day = 1.05 ** (1 / 365) - 1
    m = metrics(four_days(), risk_free=0.05)
    assert m["sharpe"] == pytest.approx((0.05 - rf_day) / 0.1 * math.sqrt(365))


def test_no_trades_and_flat_equity_give_defined_values() -> None:
    flat = result(hours=72, equity=curve([(0, "1000"), (24, "1000"), (48, "1000"), (72, "1000")]))
    m = metrics(flat)
    assert m["total_return"] == 0.0 and m["cagr"] == 0.0
    assert m["sharpe"] is None and m["sortino"] is None  # zero variance, no down day
    assert m["max_drawdown"] == 0.0 and m["max_drawdown_start_ms"] is None and m["calmar"] is None
    assert m["trades"] == 0 and m["win_rate"] is None and m["profit_factor"] is None
    assert m["expectancy"] is None and m["exposure"] == 0.0 and m["fees_paid"] == D(0)
    json.dumps(to_json(m), allow_nan=False)


def test_one_day_has_no_sharpe_and_less_than_a_day_no_cagr() -> None:
    one_day = metrics(result(hours=24, equity=curve([(0, "1000"), (12, "990"), (24, "1010")])))
    assert one_day["sharpe"] is None and one_day["sortino"] is None  # a single daily return
    assert one_day["cagr"] == pytest.approx(1.01**365 - 1)
    hours = metrics(result(hours=6, equity=curve([(0, "1000"), (6, "1010")])))
    assert hours["cagr"] is None and hours["calmar"] is None
    assert hours["total_return"] == pytest.approx(0.01)


def test_all_losing_trades() -> None:
    fills = [
        fill(1, "buy", "100", "1", "-0.1", "USDT"),
        fill(2, "sell", "90", "1", "-0.09", "USDT"),
        fill(3, "buy", "100", "1", "-0.1", "USDT"),
        fill(4, "sell", "95", "1", "-0.095", "USDT"),
    ]
    m = metrics(result(hours=48, equity=curve([(0, "1000"), (24, "990"), (48, "985")]), fills=fills))
    assert m["trades"] == 2 and m["win_rate"] == 0.0 and m["profit_factor"] == 0.0
    assert m["avg_win"] is None and m["avg_loss"] == D("-7.69250000")
    assert m["sortino"] is not None and m["sharpe"] is not None  # two negative days: defined


def test_no_equity_and_no_prices_crash_nothing() -> None:
    m = metrics(result(hours=24, equity=[]))
    assert m["total_return"] is None and m["sharpe"] is None and m["max_drawdown"] is None
    payload = json.dumps(to_json(m), allow_nan=False)
    assert list(json.loads(payload)) == [*BY_KEY, "fees_other"]


def test_start_equity_from_initial_balances_when_the_curve_starts_later() -> None:
    later = result(
        hours=48,
        equity=curve([(24, "1100"), (48, "1210")]),
        prices=[bar(0, "50000", "50000", "50000", "50000")],
        initial={"USDT": "500", "BTC": "0.01"},
    )
    m = metrics(later)
    assert m["start_equity"] == D("1000.00")  # 500 + 0.01 x 50000 (first bar's open)
    assert m["total_return"] == pytest.approx(0.21)
    # daily samples 1000 (start), 1100 (midnight), 1210: +10 % twice, zero variance
    assert m["sharpe"] is None and m["volatility"] == 0.0


def test_fee_in_a_third_currency_is_listed_apart() -> None:
    fills = [fill(1, "buy", "100", "1", "-0.5", "OKB")]
    m = metrics(result(hours=24, equity=curve([(0, "1000"), (24, "1000")]), fills=fills))
    assert m["fees_paid"] == D(0) and m["fees_other"] == {"OKB": D("0.5")}
    assert to_json(m)["fees_other"] == {"OKB": "0.5"}


def test_json_keys_are_stable_and_money_is_a_string() -> None:
    data = to_json(metrics(four_days()))
    assert list(data) == [m.key for m in METRICS] + ["fees_other"]
    assert data["fees_paid"] == "3.335" and data["expectancy"] == "8.97666667"
    assert isinstance(data["sharpe"], float) and data["trades"] == 3
    assert T0 < data["max_drawdown_end_ms"]


def test_objectives_are_the_scored_metrics() -> None:
    names = objectives()
    assert "sharpe" in names and "max_drawdown" in names and "orders" not in names
    assert BY_KEY["max_drawdown"].better == "lower" and BY_KEY["sharpe"].better == "higher"
