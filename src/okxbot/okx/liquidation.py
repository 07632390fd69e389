"""Estimated liquidation price of a swap position, before or after an order (no request sent).

OKX liquidates when a position's margin ratio falls to 100 %: its margin plus unrealised pnl at the
mark price no longer covers the maintenance margin (value at mark x the `mmr` of the position tier
holding its size) plus the liquidation fee (value at mark x the taker fee rate) (derivatives
reference §2.7; OKX's help pages state the ratio, the third-party-copied formula is UNCONFIRMED and
the simulator implements the same one, `okxbot.sim.margin`). Solving "margin + pnl(P) = value(P) x r"
for the mark price P, with

    S = |pos| x ctVal x ctMult     E = average entry price     r = tier mmr + taker fee rate
    M = the margin standing behind the position:
        isolated: the position's own margin (OKX's `margin`)
        cross:    the settle currency's cross equity (eq - isoEq), minus this position's unrealised
                  pnl (the formula adds it back at P), minus the other cross positions' maintenance
                  margin and liquidation fees (they are held at their current requirement)

gives
    linear long:   P = (E x S - M) / (S x (1 - r))
    linear short:  P = (E x S + M) / (S x (1 + r))
    inverse long:  P = S x (1 + r) / (M + S / E)
    inverse short: P = S x (1 - r) / (S / E - M)
and no liquidation price when P would not be positive (the margin covers any move). Counting the
liquidation fee is the harsher reading (the simulator's `SwapRules.liquidation_fee_in_ratio` can drop
it): the estimate is then never farther from the mark than a fee-less one.

`after_fill` builds the position an order would leave (sizes in contracts, average entry as OKX
averages it: arithmetic for linear, harmonic for inverse; isolated margin + value at the fill price /
leverage), so the pre-trade check can refuse an order whose liquidation price would be too close.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from okxbot.okx.contracts import ContractSpec
from okxbot.okx.swap_models import Tier, tier_for

ZERO = Decimal(0)
ONE = Decimal(1)
PRICE_PLACES = Decimal("1E-16")  # OKX's liqPx and margin strings never carry more


@dataclass(frozen=True)
class PositionShape:
    """What the formula needs of a position: signed contracts, entry, and the margin behind it."""

    contracts: Decimal  # signed: > 0 long, < 0 short
    average_price: Decimal
    margin: Decimal  # M above (isolated margin, or cross margin available to this position)


def value(spec: ContractSpec, contracts: Decimal, price: Decimal) -> Decimal:
    """A position's value in the settle currency at `price` (linear S x P, inverse S / P)."""
    size = abs(contracts) * spec.contract_size
    return size / price if spec.inverse else size * price


def liquidation_price(
    spec: ContractSpec, shape: PositionShape, tiers: tuple[Tier, ...], taker_fee: Decimal
) -> Decimal | None:
    """The mark price at which `shape` is liquidated (module docstring); None if there is none."""
    if not shape.contracts or shape.average_price <= ZERO:
        return None
    size = abs(shape.contracts) * spec.contract_size
    rate = tier_for(tiers, abs(shape.contracts)).mmr + abs(taker_fee)
    avg, margin = shape.average_price, shape.margin
    px: Decimal | None
    if spec.inverse:
        if shape.contracts > 0:
            den = margin + size / avg
            px = size * (1 + rate) / den if den > 0 else None
        else:
            den = size / avg - margin
            px = size * (1 - rate) / den if den > 0 else None
    elif shape.contracts > 0:
        px = (avg * size - margin) / (size * (1 - rate))
    else:
        px = (margin + avg * size) / (size * (1 + rate))
    if px is None or px <= 0:
        return None
    return px.quantize(PRICE_PLACES, rounding=ROUND_HALF_EVEN)


def average_entry(spec: ContractSpec, held: Decimal, avg: Decimal, added: Decimal, px: Decimal) -> Decimal:
    """The average entry after adding `added` contracts at `px` to `held` at `avg` (both >= 0):
    arithmetic for linear contracts, harmonic for inverse ones (their coin value is what adds up)."""
    if not held:
        return px
    if spec.inverse:
        return (held + added) / (held / avg + added / px)
    return (held * avg + added * px) / (held + added)


def after_fill(
    spec: ContractSpec,
    held: Decimal,
    average: Decimal | None,
    held_margin: Decimal,
    signed_order: Decimal,
    fill_price: Decimal,
    *,
    isolated: bool,
    leverage: Decimal,
    cross_margin: Decimal = ZERO,
    fee_rate: Decimal = ZERO,
) -> PositionShape | None:
    """The position left after an order of `signed_order` contracts (> 0 buys) fills at `fill_price`.

    `held` is the current signed position (net mode, or one side of long/short mode with its sign),
    `held_margin` its isolated margin. For cross margin, `cross_margin` is M of the current position
    (see the module docstring); the order's fee comes out of it. None when the order leaves no position.
    """
    new = held + signed_order
    if not new:
        return None
    fee = (value(spec, signed_order, fill_price) * abs(fee_rate)).quantize(PRICE_PLACES, ROUND_HALF_EVEN)
    same_way = held and (held > 0) == (new > 0)
    if same_way and abs(new) >= abs(held):  # adding to the position
        avg = average_entry(spec, abs(held), average or fill_price, abs(signed_order), fill_price)
        opened = abs(signed_order)
        kept = held_margin
    elif same_way:  # reducing it: entry unchanged, isolated margin freed pro rata
        avg = average or fill_price
        opened = ZERO
        kept = held_margin * abs(new) / abs(held)
    else:  # opening from flat, or flipping through zero
        avg = fill_price
        opened = abs(new)
        kept = ZERO
    if isolated:
        # money amounts as OKX writes them: at most 16 decimals
        margin = kept + (value(spec, opened, fill_price) / leverage).quantize(PRICE_PLACES, ROUND_HALF_EVEN)
    else:
        margin = cross_margin - fee
    return PositionShape(new, avg, margin)


def distance(mark: Decimal, liquidation: Decimal | None) -> Decimal | None:
    """How far the liquidation price is from the mark, as a fraction of the mark (None: no liq price)."""
    if liquidation is None or mark <= 0:
        return None
    return abs(mark - liquidation) / mark
