"""Each risk rule refuses the order that breaks it; the daily loss limit halts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from okxbot.trading.config import RiskConfig
from okxbot.trading.risk import ProposedOrder, RiskGuard, RiskRefused, RiskView

D = Decimal
VIEW = RiskView(mid=D("43000"), open_orders=0, position=D(0), open_buy_amount=D(0), pnl_today=D(0))


def guard(**rules: object) -> RiskGuard:
    return RiskGuard(RiskConfig.model_validate(rules), "BTC/USDT", clock=lambda: 0.0)


def order(side: str = "buy", amount: str = "0.001", price: str | None = "43000", symbol: str = "BTC/USDT"):
    return ProposedOrder(symbol, side, D(amount), None if price is None else D(price))


@pytest.mark.parametrize(
    ("rules", "proposed", "view", "rule"),
    [
        ({}, order(symbol="ETH/USDT"), VIEW, "allowed_symbols"),
        ({"max_order_notional": "40"}, order(), VIEW, "max_order_notional"),
        (
            {"max_position": {"BTC": "0.01"}},
            order(amount="0.005"),
            RiskView(D("43000"), 0, D("0.004"), D("0.002"), D(0)),
            "max_position",
        ),
        ({"max_open_orders": 3}, order(), RiskView(D("43000"), 3, D(0), D(0), D(0)), "max_open_orders"),
        ({"price_band_pct": "5"}, order(price="4300"), VIEW, "price_band"),  # a missing zero
        (
            {"daily_loss_limit": "100"},
            order(),
            RiskView(D("43000"), 0, D(0), D(0), D("-100")),
            "daily_loss_limit",
        ),
    ],
)
def test_each_rule_refuses_the_order_that_breaks_it(
    rules: dict[str, object], proposed: ProposedOrder, view: RiskView, rule: str
) -> None:
    g = guard(**rules)
    with pytest.raises(RiskRefused) as refused:
        g.check(proposed, view)
    assert refused.value.rule == rule
    assert g.refusals[-1][0] == rule
    g2 = guard(price_band_pct="100")  # the same order passes a guard without that rule
    if rule != "allowed_symbols":
        g2.check(proposed, VIEW)


def test_orders_per_minute() -> None:
    now = [0.0]
    g = RiskGuard(RiskConfig(max_orders_per_minute=2), "BTC/USDT", clock=lambda: now[0])
    g.check(order(), VIEW)
    g.check(order(), VIEW)
    with pytest.raises(RiskRefused) as refused:
        g.check(order(), VIEW)
    assert refused.value.rule == "max_orders_per_minute"
    now[0] = 61.0
    g.check(order(), VIEW)


def test_sells_are_not_limited_by_max_position() -> None:
    g = guard(max_position={"BTC": "0.001"})
    g.check(order(side="sell", amount="0.1"), RiskView(D("43000"), 0, D("1"), D(0), D(0)))


def test_daily_loss_limit_halts_every_later_order() -> None:
    g = guard(daily_loss_limit="50")
    assert not g.check_loss(D("-49.99"))
    assert g.check_loss(D("-50"))
    assert g.halted is not None and "daily_loss_limit 50" in g.halted
    with pytest.raises(RiskRefused) as refused:
        g.check(order(), VIEW)  # even with the loss recovered, the halt holds
    assert refused.value.rule == "daily_loss_limit"
