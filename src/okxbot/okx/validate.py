"""Pre-trade validation: refuse an order locally, before any request, when OKX would refuse it.

The errors raised are the ones OKX would have answered (same code, same family), marked
`local=True`, with the exact rule and a corrected value in the hint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from okxbot.okx.errors import OkxBadRequest, OkxInsufficientFunds, OkxInvalidOrder, from_code, info
from okxbot.okx.ids import InvalidClientOrderId, new_client_order_id, validate_client_order_id

ZERO = Decimal(0)


@dataclass(frozen=True)
class InstrumentRules:
    """The trading rules of one instrument, as OKX publishes them (exact decimals)."""

    symbol: str  # ccxt form, BTC/USDT
    inst_id: str  # OKX form, BTC-USDT
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal
    min_size: Decimal
    max_limit_size: Decimal | None = None
    max_market_size: Decimal | None = None
    state: str = "live"

    @classmethod
    def from_market(cls, market: Mapping[str, Any]) -> InstrumentRules:
        """From a ccxt market; the raw OKX strings in market['info'] keep the exact decimals."""
        raw = market.get("info") or {}
        return cls(
            symbol=str(market["symbol"]),
            inst_id=str(market["id"]),
            base=str(market["base"]),
            quote=str(market["quote"]),
            tick_size=_dec(raw.get("tickSz")) or ZERO,
            lot_size=_dec(raw.get("lotSz")) or ZERO,
            min_size=_dec(raw.get("minSz")) or ZERO,
            max_limit_size=_dec(raw.get("maxLmtSz")),
            max_market_size=_dec(raw.get("maxMktSz")),
            state=str(raw.get("state") or "live"),
        )


def plain(value: Decimal) -> str:
    """A decimal as people and OKX write it: no exponent ("0.00000001", not "1E-8")."""
    return format(value, "f")


def _dec(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def parse_decimal(value: Any, what: str) -> Decimal:
    """A user-given number as a finite Decimal, or a clear error naming `what`."""
    if isinstance(value, float):
        # a float has already lost the exact value the user meant
        raise OkxBadRequest(
            None, f"{what} given as float {value!r}", "Pass a Decimal or a string.", "BadRequest", local=True
        )
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise OkxBadRequest(
            None,
            f"{what} {value!r} is not a number",
            f"Give {what} as a plain number, e.g. 0.001.",
            "BadRequest",
            local=True,
        ) from None
    if not number.is_finite():
        raise OkxBadRequest(
            None, f"{what} {value!r} is not finite", f"Give a finite {what}.", "BadRequest", local=True
        )
    _check_magnitude(number, what)
    return number


# OKX's largest order sizes and prices are far below 10^15; beyond that, Decimal arithmetic at its
# default 28-digit precision would also stop being exact for lot and tick checks.
MAX_MAGNITUDE = Decimal("1e15")
MIN_STEP = Decimal("1e-12")


def _check_magnitude(number: Decimal, what: str) -> None:
    if abs(number) >= MAX_MAGNITUDE:
        raise OkxBadRequest(
            None,
            f"{what} {plain(number)} is too large",
            f"Give a {what} below {plain(MAX_MAGNITUDE)}.",
            "BadRequest",
            local=True,
        )
    if number and abs(number) < MIN_STEP:
        raise OkxBadRequest(
            None,
            f"{what} {number} is too small",
            f"Give a {what} of at least {plain(MIN_STEP)} (OKX's steps are far coarser).",
            "BadRequest",
            local=True,
        )


def round_down(value: Decimal, step: Decimal) -> Decimal:
    """`value` rounded down to a multiple of `step` (keeps `step`'s exponent, e.g. 0.001)."""
    if not step:
        return value
    return ((value / step).to_integral_value(rounding=ROUND_DOWN) * step).quantize(step)


def round_nearest(value: Decimal, step: Decimal) -> Decimal:
    if not step:
        return value
    return ((value / step).to_integral_value(rounding=ROUND_HALF_EVEN) * step).quantize(step)


@dataclass(frozen=True)
class OrderBasics:
    """What every order entry (spot client, swap client, backtest venue) checks first, the same way."""

    client_order_id: str
    amount: Decimal
    price: Decimal | None
    order_type: str  # OKX's ordType: market | limit | post_only | ioc | fok


def order_basics(
    side: str,
    amount: Decimal | str,
    price: Decimal | str | None,
    *,
    post_only: bool = False,
    ioc: bool = False,
    fok: bool = False,
    client_order_id: str | None = None,
    new_id: Callable[[], str] = new_client_order_id,
) -> OrderBasics:
    """Side, one order option at most, a valid clOrdId (or a new one from `new_id`), exact amounts,
    and OKX's ordType (an IOC without a price is a market order); refused locally, nothing sent."""
    if side not in ("buy", "sell"):
        raise OkxBadRequest(None, f"side {side!r}", "side must be 'buy' or 'sell'.", "BadRequest", local=True)
    if sum((post_only, ioc, fok)) > 1:
        raise OkxBadRequest(
            None,
            "conflicting order options",
            "Choose at most one of post-only, IOC, FOK.",
            "BadRequest",
            local=True,
        )
    try:
        cid = validate_client_order_id(client_order_id) if client_order_id is not None else new_id()
    except InvalidClientOrderId as exc:
        raise OkxInvalidOrder(
            "51000", str(exc), "Use okxbot.okx.ids.new_client_order_id().", "BadRequest", local=True
        ) from None
    qty = parse_decimal(amount, "amount")
    px = parse_decimal(price, "price") if price is not None else None
    if px is None and (post_only or fok):
        raise OkxInvalidOrder(
            "51204", "post-only and FOK orders need a price", "Pass a price.", "InvalidOrder", local=True
        )
    if post_only:
        order_type = "post_only"
    elif fok:
        order_type = "fok"
    elif ioc and px is not None:
        order_type = "ioc"
    else:
        order_type = "limit" if px is not None else "market"
    return OrderBasics(cid, qty, px, order_type)


def check_order(
    rules: InstrumentRules,
    side: str,
    amount: Decimal,
    price: Decimal | None,
    *,
    available: Mapping[str, Decimal] | None = None,
    reference_price: Decimal | None = None,
) -> None:
    """Raise the error OKX would return for this spot order, or return None if it passes.

    `available`: free balance per currency (skip the funds check when None). `reference_price`:
    the price a market buy is expected to pay (best ask), for its funds check.
    """
    if side not in ("buy", "sell"):
        raise OkxBadRequest(None, f"side {side!r}", "side must be 'buy' or 'sell'.", "BadRequest", local=True)
    if rules.state != "live":
        raise OkxInvalidOrder(
            None,
            f"{rules.symbol} is not trading now (state: {rules.state})",
            "Wait until the instrument is live again.",
            "BadSymbol",
            local=True,
        )
    _check_magnitude(amount, "amount")
    if price is not None:
        _check_magnitude(price, "price")
    if amount <= ZERO:
        raise _local("51000", f"amount {plain(amount)} must be greater than 0", "Give a positive amount.")
    if rules.lot_size and amount % rules.lot_size != ZERO:
        raise _local(
            "51121",
            f"amount {plain(amount)} is not a multiple of the lot size {plain(rules.lot_size)} {rules.base} for {rules.symbol}",
            f"Round the amount to the lot size {plain(rules.lot_size)}, e.g. {plain(round_down(amount, rules.lot_size))}.",
        )
    if amount < rules.min_size:
        raise _local(
            "51020",
            f"amount {plain(amount)} is below the minimum order size {plain(rules.min_size)} {rules.base} for {rules.symbol}",
            f"Order at least {plain(rules.min_size)} {rules.base}.",
        )
    limit = rules.max_limit_size if price is not None else rules.max_market_size
    if limit is not None and amount > limit:
        raise _local(
            "51000",
            f"amount {plain(amount)} is above the maximum {plain(limit)} {rules.base} for one order on {rules.symbol}",
            "Split the order into smaller ones.",
        )
    if price is not None:
        if price <= ZERO:
            raise _local("51000", f"price {plain(price)} must be greater than 0", "Give a positive price.")
        if rules.tick_size and price % rules.tick_size != ZERO:
            raise _local(
                "51000",
                f"price {plain(price)} is not a multiple of the tick size {plain(rules.tick_size)} {rules.quote} for {rules.symbol}",
                f"Round the price to the tick size {plain(rules.tick_size)}, e.g. {plain(round_nearest(price, rules.tick_size))}.",
            )
    if available is None:
        return
    if side == "buy":
        px = price if price is not None else reference_price
        if px is None:
            return
        need, ccy = amount * px, rules.quote
    else:
        need, ccy = amount, rules.base
    have = available.get(ccy, ZERO)
    if need > have:
        raise _insufficient(ccy, need, have)


def _local(code: str, message: str, hint: str) -> OkxInvalidOrder:
    entry = info(code)
    return OkxInvalidOrder(code, message, hint, entry.ccxt_class if entry else "InvalidOrder", local=True)


def _insufficient(ccy: str, need: Decimal, have: Decimal) -> OkxInsufficientFunds:
    err = from_code(
        "51008",
        f"Order needs {plain(need.normalize())} {ccy}, only {plain(have.normalize())} {ccy} available",
        local=True,
        ccy=ccy,
        available=plain(have.normalize()),
    )
    assert isinstance(err, OkxInsufficientFunds)
    return err
