"""Pre-trade checks of swap orders and leverage changes: refused here, before any request is sent.

Each check raises the OkxError OKX would answer (same code and family) marked `local=True`, with a
message that names what is wrong in the user's terms and a hint that says what to do:

* `account_mode`: Spot mode (acctLv 1) cannot trade swaps (OKX: 51010); multi-currency and
  portfolio margin have no isolated margin (51000 tdMode); portfolio margin has no long/short mode.
* `position_side`: posSide against the position mode (51000 posSide): none / net in net mode,
  long or short (required) in long/short mode.
* `reduce_only`: a reduce-only order with no position (51169), in the position's direction (51170),
  or larger than the position (51148); in long/short mode the closing side plays that role.
* `leverage_for_size`: the leverage in force must be allowed by the position tier the resulting
  position falls in (OKX: 51004 for orders, 59102 for set-leverage), and within the instrument's range.
* `liquidation_distance`: the estimated liquidation price (okxbot.okx.liquidation) must stay at least
  the configured fraction of the mark away.
"""

from __future__ import annotations

from decimal import Decimal

from okxbot.okx.contracts import ContractSpec, plain
from okxbot.okx.errors import OkxBadRequest, OkxError, OkxInvalidOrder, OkxPermissionError, OkxSettingsRefused
from okxbot.okx.swap_models import AccountSettings, Tier, tier_for

MIN_LEVERAGE = Decimal("0.01")
MARGIN_MODES = ("cross", "isolated")
POSITION_MODES = ("net_mode", "long_short_mode")


def _invalid(code: str, message: str, hint: str, ccxt_class: str = "InvalidOrder") -> OkxInvalidOrder:
    return OkxInvalidOrder(code, message, hint, ccxt_class, local=True)


def margin_mode(value: str) -> str:
    if value not in MARGIN_MODES:
        raise OkxBadRequest(
            "51000",
            f"margin mode {value!r}",
            "Use cross (the settle currency's whole balance backs every cross position) or isolated "
            "(each position has its own margin).",
            "BadRequest",
            local=True,
        )
    return value


def account_mode(settings: AccountSettings, mgn_mode: str, symbol: str) -> None:
    """The account must be able to trade swaps in `mgn_mode`."""
    if not settings.trades_swaps:
        raise OkxPermissionError(
            "51010",
            f"this account is in Spot mode (acctLv {settings.account_level or '?'}): it cannot trade "
            f"perpetual swaps such as {symbol}",
            "Switch the account to Futures mode (acctLv 2) on OKX: Trade > Settings > Account mode "
            "(okxbot never switches it for you). `okxbot doctor` shows the mode.",
            "AccountNotEnabled",
            local=True,
        )
    if mgn_mode == "isolated" and settings.account_level in ("3", "4"):
        raise _invalid(
            "51000",
            f"isolated margin is not available in this account mode (acctLv {settings.account_level})",
            "Multi-currency and portfolio margin accounts trade swaps in cross margin only: use --margin cross.",
            "BadRequest",
        )


def position_side(settings: AccountSettings, pos_side: str | None, side: str) -> str:
    """The posSide to send ("" for none), or the refusal OKX would answer with 51000."""
    given = (pos_side or "").strip()
    if settings.hedged:
        if given not in ("long", "short"):
            raise _invalid(
                "51000",
                "the account is in long/short mode: a swap order must say which position it is for "
                f"(posSide long or short){f', not {given!r}' if given else ''}",
                f"Add --pos-side long or --pos-side short: {side} + long "
                f"{'opens or adds to' if side == 'buy' else 'closes'} the long position, {side} + short "
                f"{'closes' if side == 'buy' else 'opens or adds to'} the short one.",
                "BadRequest",
            )
        return given
    if given not in ("", "net"):
        raise _invalid(
            "51000",
            f"the account is in net mode (one position per instrument): posSide {given!r} is refused by OKX",
            "Leave --pos-side out (buy adds to a long or reduces a short, sell the reverse), or switch "
            "the account to long/short mode first.",
            "BadRequest",
        )
    return ""


def reduce_only(
    settings: AccountSettings,
    side: str,
    pos_side: str,
    contracts: Decimal,
    held: Decimal,
    symbol: str,
) -> bool:
    """Check a reduce-only order against the position it would reduce; returns whether to send
    `reduceOnly` (never in long/short mode, where a closing order reduces by itself).

    `held` is the position it acts on: signed net position in net mode, the long or short side's
    size (>= 0) in long/short mode."""
    if settings.hedged:
        closing = (side == "sell") == (pos_side == "long")
        if not closing:
            raise _invalid(
                "51170",
                f"a reduce-only {side} on the {pos_side} side would open or add to that position",
                f"To reduce the {pos_side} position {'sell' if pos_side == 'long' else 'buy'} with "
                f"--pos-side {pos_side}.",
            )
        direction = 1 if pos_side == "long" else -1
        signed_held = held * direction
    else:
        signed_held = held
    if not signed_held:
        raise _invalid(
            "51169",
            f"reduce-only {side} of {plain(contracts)} contracts: there is no {symbol} position to reduce",
            "Check `okxbot positions`; drop --reduce-only to open a position.",
        )
    if (signed_held > 0) == (side == "buy"):
        raise _invalid(
            "51170",
            f"reduce-only {side}: the {symbol} position is {'long' if signed_held > 0 else 'short'} "
            f"{plain(abs(signed_held))} contracts, and a {side} would increase it",
            f"To reduce it, {'sell' if signed_held > 0 else 'buy'}.",
        )
    if contracts > abs(signed_held):
        raise _invalid(
            "51148",
            f"reduce-only {side} of {plain(contracts)} contracts is larger than the "
            f"{plain(abs(signed_held))}-contract position of {symbol}",
            f"Reduce at most {plain(abs(signed_held))} contracts.",
        )
    return not settings.hedged


def leverage_for_size(
    spec: ContractSpec,
    tiers: tuple[Tier, ...],
    leverage: Decimal,
    contracts: Decimal,
    *,
    setting: bool,
) -> None:
    """`leverage` must be allowed for a position of `contracts` (absolute) by the tiers.

    `setting`: a set-leverage request (OKX 59102) rather than an order (OKX 51004)."""
    if leverage < MIN_LEVERAGE or leverage > spec.max_lever:
        err: OkxError = OkxSettingsRefused(
            "59102" if leverage > spec.max_lever else "59105",
            f"leverage {plain(leverage)}x is outside {plain(MIN_LEVERAGE)}..{plain(spec.max_lever)}x "
            f"allowed on {spec.symbol}",
            f"Pick a leverage from {plain(MIN_LEVERAGE)} to {plain(spec.max_lever)}.",
            local=True,
        )
        raise err
    if not tiers:
        return
    tier = tier_for(tiers, contracts)
    if leverage <= tier.max_leverage:
        return
    allowed = [t for t in tiers if t.max_leverage >= leverage]
    biggest = max((t.max_size for t in allowed), default=Decimal(0))
    what = "the position" if setting else "the position after this order"
    hint = f"Lower the leverage to at most {plain(tier.max_leverage)}x"
    hint += (
        f", or keep the position at most {plain(biggest)} contracts (tier {max(t.tier for t in allowed)})."
        if allowed
        else "."
    )
    if setting:
        raise OkxSettingsRefused(
            "59102",
            f"{plain(leverage)}x is above the {plain(tier.max_leverage)}x maximum of position tier "
            f"{tier.tier} that {what} ({plain(contracts)} contracts of {spec.symbol}) falls in",
            hint,
            local=True,
        )
    raise _invalid(
        "51004",
        f"at {plain(leverage)}x, {what} ({plain(contracts)} contracts of {spec.symbol}) falls in "
        f"position tier {tier.tier}, whose maximum leverage is {plain(tier.max_leverage)}x",
        hint,
    )


def liquidation_distance(
    symbol: str,
    mark: Decimal,
    liquidation: Decimal | None,
    minimum: Decimal,
    side: str,
) -> None:
    """Refuse when the estimated liquidation price is within `minimum` (a fraction) of the mark."""
    if liquidation is None or minimum <= 0:
        return
    gap = abs(mark - liquidation) / mark
    below = liquidation < mark
    if (side == "long" and not below) or (side == "short" and below) or gap < minimum:
        pct = (gap * 100).quantize(Decimal("0.01"))
        raise _invalid(
            "51004",
            f"the {side} {symbol} position after this order would be liquidated at about "
            f"{plain(liquidation.quantize(Decimal('0.01')))} (mark {plain(mark)}), only {plain(pct)} % away; "
            f"the minimum distance is {plain((minimum * 100).normalize())} %",
            "Lower the leverage (`okxbot leverage`), the size, or use isolated margin with a stop-loss "
            "(--sl); --min-liq-distance 0 turns this check off.",
        )
