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
    ("rules", "at_limit", "past_limit", "rule"),
    [
        # (the order / view that is just allowed, the one just past it)
        ({}, (order(), VIEW), (order(symbol="ETH/USDT"), VIEW), "allowed_symbols"),
        (
            {"max_order_notional": "43"},
            (order(), VIEW),
            (order(amount="0.00100001"), VIEW),
            "max_order_notional",
        ),
        (
            {"max_position": {"BTC": "0.01"}},
            (order(amount="0.004"), RiskView(D("43000"), 0, D("0.004"), D("0.002"), D(0))),
            (order(amount="0.00400001"), RiskView(D("43000"), 0, D("0.004"), D("0.002"), D(0))),
            "max_position",
        ),
        (
            {"max_open_orders": 3},
            (order(), RiskView(D("43000"), 2, D(0), D(0), D(0))),
            (order(), RiskView(D("43000"), 3, D(0), D(0), D(0))),
            "max_open_orders",
        ),
        ({"price_band_pct": "5"}, (order(price="40850"), VIEW), (order(price="40849.9"), VIEW), "price_band"),
        ({"price_band_pct": "5"}, (order(price="45150"), VIEW), (order(price="4300"), VIEW), "price_band"),
        (
            {"daily_loss_limit": "100"},
            (order(), RiskView(D("43000"), 0, D(0), D(0), D("-99.99"))),
            (order(), RiskView(D("43000"), 0, D(0), D(0), D("-100"))),
            "daily_loss_limit",
        ),
    ],
)
def test_each_rule_allows_its_limit_and_refuses_past_it(
    rules: dict[str, object],
    at_limit: tuple[ProposedOrder, RiskView],
    past_limit: tuple[ProposedOrder, RiskView],
    rule: str,
) -> None:
    g = guard(**rules)
    g.check(*at_limit)
    assert g.refusals == []
    with pytest.raises(RiskRefused) as refused:
        g.check(*past_limit)
    assert refused.value.rule == rule
    assert [name for name, _ in g.refusals] == [rule]
    if rule != "allowed_symbols":
        # the same order passes a guard without that rule (the refusal was this rule's alone)
        g2 = guard(price_band_pct="100")
        g2.check(past_limit[0], VIEW)
        assert g2.refusals == []


def test_orders_per_minute() -> None:
    now = [0.0]
    g = RiskGuard(RiskConfig(max_orders_per_minute=2), "BTC/USDT", clock=lambda: now[0])
    g.check(order(), VIEW)
    g.check(order(), VIEW)
    with pytest.raises(RiskRefused) as refused:
        g.check(order(), VIEW)
    assert refused.value.rule == "max_orders_per_minute"
    now[0] = 60.0  # a minute after the first two: they no longer count, two more may go
    g.check(order(), VIEW)
    g.check(order(), VIEW)
    assert [name for name, _ in g.refusals] == ["max_orders_per_minute"]
    with pytest.raises(RiskRefused):
        g.check(order(), VIEW)  # and no third


def test_sells_are_not_limited_by_max_position() -> None:
    g = guard(max_position={"BTC": "0.001"})
    held = RiskView(D("43000"), 0, D("1"), D(0), D(0))
    g.check(order(side="sell", amount="0.1"), held)
    assert g.refusals == []
    with pytest.raises(RiskRefused, match="max_position"):
        g.check(order(side="buy", amount="0.00000001"), held)  # while any buy is refused


def test_daily_loss_limit_halts_every_later_order() -> None:
    g = guard(daily_loss_limit="50")
    assert not g.check_loss(D("-49.99"))
    assert g.check_loss(D("-50"))
    assert g.halted is not None and "daily_loss_limit 50" in g.halted
    with pytest.raises(RiskRefused) as refused:
        g.check(order(), VIEW)  # even with the loss recovered, the halt holds
    assert refused.value.rule == "daily_loss_limit"
