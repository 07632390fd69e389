"""The risk guard's swap rules: every order of a perpetual-swap bot passes them (after OKX's own pre-trade
checks, `okxbot.okx.pretrade`) or is refused with the rule's name, the reason, and nothing sent.

Rules (config `[risk]`, defaults in `okxbot.trading.config.RiskConfig`), checked on orders that open or
increase a position (an order that only reduces one is always allowed, so a bot can always get out):
    max_leverage                  the leverage in force on the exchange for that position
    min_liquidation_distance_pct  the estimated liquidation price after the order, as % of the mark
    max_position_notional         the position after the order, valued at the mark (settle currency;
                                  inverse swaps: USD)
    max_funding_per_day           funding paid today + what the position after the order would pay in a
                                  day at the current rate (only when it pays)
    require_stop                  the order's attached stop-loss or trailing stop (sized to the order)
                                  and the bot's live exchange-side stops (trailing ones count) on that
                                  side cover the position after it
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from okxbot.okx.contracts import plain
from okxbot.okx.swap_orders import SwapOrderPlan
from okxbot.trading.config import RiskConfig
from okxbot.trading.risk import RiskRefused

ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class SwapRiskView:
    """What the swap rules look at, besides the plan (the order as OKX's checks left it)."""

    funding_rate: Decimal | None  # the current period's rate
    settlements_per_day: Decimal  # 24 h / the funding interval
    funding_paid_today: Decimal  # >= 0, settle currency
    covered_by_stops: Decimal  # contracts of the position side the bot's live stops close


def increases(plan: SwapOrderPlan) -> bool:
    """The order opens, increases or flips a position (not only reduces one)."""
    before, after = plan.position_before, plan.position_after
    return abs(after) > abs(before) or (before != 0 and after != 0 and (before > 0) != (after > 0))


def check_swap(plan: SwapOrderPlan, view: SwapRiskView, config: RiskConfig) -> None:
    """Raise RiskRefused when a swap rule refuses `plan`."""
    if not increases(plan):
        return
    symbol = plan.spec.symbol
    if plan.leverage > config.max_leverage:
        raise RiskRefused(
            "max_leverage",
            f"{symbol} trades at {plain(plan.leverage)}x on the exchange, above max_leverage "
            f"{plain(config.max_leverage)}x: lower it (okxbot leverage {symbol} N, or [swap] leverage)",
        )
    mark, liq = plan.mark, plan.estimated_liquidation
    if liq is not None and mark > 0 and config.min_liquidation_distance_pct > 0:
        distance = abs(mark - liq) / mark * HUNDRED
        if distance < config.min_liquidation_distance_pct:
            raise RiskRefused(
                "min_liquidation_distance",
                f"the position would be liquidated at about {plain(liq.quantize(Decimal('0.01')))}, "
                f"{plain(distance.quantize(Decimal('0.01')))}% from the mark {plain(mark)}; "
                f"min_liquidation_distance_pct is {plain(config.min_liquidation_distance_pct)}",
            )
    size_after = abs(plan.position_after)
    notional = plan.spec.amount(size_after, "quote", mark)
    if notional > config.max_position_notional:
        raise RiskRefused(
            "max_position_notional",
            f"the {symbol} position would be worth {plain(notional.quantize(Decimal('0.01')))} "
            f"{plan.spec.quote} at the mark {plain(mark)} ({plain(size_after)} contracts), above "
            f"max_position_notional {plain(config.max_position_notional)}",
        )
    rate = view.funding_rate
    if rate is not None:
        pays = (rate > 0 and plan.position_after > 0) or (rate < 0 and plan.position_after < 0)
        day = (
            plan.spec.amount(size_after, "quote", mark) * abs(rate) * view.settlements_per_day
            if pays
            else ZERO
        )
        total = view.funding_paid_today + day
        if total > config.max_funding_per_day:
            raise RiskRefused(
                "max_funding_per_day",
                f"funding would cost {plain(total.quantize(Decimal('0.0001')))} today (paid "
                f"{plain(view.funding_paid_today)}, the position after the order pays "
                f"{plain(day.quantize(Decimal('0.0001')))} a day at the rate {plain(rate)}), above "
                f"max_funding_per_day {plain(config.max_funding_per_day)}",
            )
    # the order's own stop covers what it trades; the bot's live stops on that side cover the rest
    own_stop = plan.stop_loss is not None or plan.trailing is not None
    protected = view.covered_by_stops + (plan.contracts if own_stop else ZERO)
    if config.require_stop and protected < size_after:
        raise RiskRefused(
            "require_stop",
            f"the order would leave {plain(size_after - protected)} of the {plain(size_after)} contracts of "
            f"{symbol} without an exchange-side stop (the bot's live stops cover "
            f"{plain(view.covered_by_stops)}{', the order carries none' if not own_stop else ''}): "
            "pass stop_loss=... or trailing=..., protect the position first, or set require_stop = false in [risk]",
        )
