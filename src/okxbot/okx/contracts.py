"""Swap sizes: okxbot's amounts carry their unit, OKX's wire carries contracts; conversions are exact.

OKX counts every perpetual-swap size in contracts (`sz`, `pos`, fills, book sizes). One contract is
worth `ctVal x ctMult` of `ctValCcy` (reference derivatives §1.1):

* linear (USDT-margined, BTC-USDT-SWAP: ctVal 0.01, ctValCcy BTC):
      base  = contracts x ctVal x ctMult                      (no price needed)
      quote = contracts x ctVal x ctMult x price              (needs a price)
* inverse (coin-margined, BTC-USD-SWAP: ctVal 100, ctValCcy USD):
      quote = contracts x ctVal x ctMult                      (USD, no price needed)
      base  = contracts x ctVal x ctMult / price              (coin, needs a price)

`ContractSpec.contracts(Size(...), price)` turns an amount in any unit into contracts. The result must
be a whole multiple of `lotSz` and at least `minSz`; an amount that is not is REFUSED (a local
OkxInvalidOrder, code 51121 or 51020, nothing sent) with the nearest valid sizes in the caller's unit,
never rounded silently: users of every library mis-size swap orders because of this unit (ccxt
#13397, #23624, #24590). The arithmetic runs at 60 significant digits and traps inexact results, so a
conversion is either exact or refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal, Inexact, InvalidOperation
from typing import Any, Literal, get_args

from okxbot.okx.errors import OkxBadRequest, OkxInvalidOrder, info

Unit = Literal["contracts", "base", "quote"]
UNITS: tuple[str, ...] = get_args(Unit)
ZERO = Decimal(0)
# Exact arithmetic: 60 digits hold any product or quotient of OKX's numbers (<= 1e15, steps >= 1e-12)
# that terminates; a quotient that does not terminate raises Inexact instead of being rounded.
_EXACT = Context(prec=60, traps=[Inexact, InvalidOperation])


@dataclass(frozen=True)
class Size:
    """An amount and its unit: `Size(Decimal("0.5"), "base")` is 0.5 BTC of BTC/USDT:USDT."""

    value: Decimal
    unit: Unit

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise OkxBadRequest(
                None,
                f"unit {self.unit!r}",
                f"The unit must be one of {', '.join(UNITS)}.",
                "BadRequest",
                local=True,
            )
        if not isinstance(self.value, Decimal) or not self.value.is_finite():
            raise OkxBadRequest(
                None,
                f"amount {self.value!r}",
                "Give the amount as a finite Decimal.",
                "BadRequest",
                local=True,
            )


def _dec(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def plain(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros ("0.17", "600", "0.00001")."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


@dataclass(frozen=True)
class ContractSpec:
    """One swap instrument's contract terms, exact as OKX publishes them (GET public/instruments)."""

    symbol: str  # ccxt form, BTC/USDT:USDT
    inst_id: str  # BTC-USDT-SWAP
    inst_family: str  # BTC-USDT
    ct_type: str  # linear | inverse
    ct_val: Decimal
    ct_mult: Decimal
    ct_val_ccy: str  # BTC (linear) | USD (inverse)
    settle_ccy: str  # USDT (linear) | BTC (inverse): margin and settlement currency
    base: str  # BTC
    quote: str  # USDT | USD
    lot_size: Decimal  # contracts
    min_size: Decimal  # contracts
    tick_size: Decimal
    max_lever: Decimal
    max_limit_size: Decimal | None = None
    max_market_size: Decimal | None = None
    state: str = "live"

    @classmethod
    def from_market(cls, market: Mapping[str, Any]) -> ContractSpec:
        """From a ccxt swap market; the raw OKX strings in market['info'] keep the exact decimals."""
        raw = market.get("info") or {}
        return cls(
            symbol=str(market["symbol"]),
            inst_id=str(market["id"]),
            inst_family=str(raw.get("instFamily") or raw.get("uly") or ""),
            ct_type=str(raw.get("ctType") or ("inverse" if market.get("inverse") else "linear")),
            ct_val=_dec(raw.get("ctVal")) or Decimal(1),
            ct_mult=_dec(raw.get("ctMult")) or Decimal(1),
            ct_val_ccy=str(raw.get("ctValCcy") or ""),
            settle_ccy=str(raw.get("settleCcy") or market.get("settle") or ""),
            base=str(market["base"]),
            quote=str(market["quote"]),
            lot_size=_dec(raw.get("lotSz")) or ZERO,
            min_size=_dec(raw.get("minSz")) or ZERO,
            tick_size=_dec(raw.get("tickSz")) or ZERO,
            max_lever=_dec(raw.get("lever")) or Decimal(1),
            max_limit_size=_dec(raw.get("maxLmtSz")),
            max_market_size=_dec(raw.get("maxMktSz")),
            state=str(raw.get("state") or "live"),
        )

    @property
    def inverse(self) -> bool:
        return self.ct_type == "inverse"

    @property
    def contract_size(self) -> Decimal:
        """What one contract is worth, in `ct_val_ccy` (base for linear, USD for inverse)."""
        return _EXACT.multiply(self.ct_val, self.ct_mult)

    def unit_ccy(self, unit: Unit) -> str:
        return {"contracts": "contracts", "base": self.base, "quote": self.quote}[unit]

    def needs_price(self, unit: Unit) -> bool:
        """Whether converting `unit` to contracts depends on the price (linear quote, inverse base)."""
        return (unit == "quote" and not self.inverse) or (unit == "base" and self.inverse)

    # ---- contracts -> any unit ------------------------------------------------------------------
    def amount(self, contracts: Decimal, unit: Unit, price: Decimal | None = None) -> Decimal:
        """`contracts` expressed in `unit`; exact except an inverse contract's coin value, which is a
        quotient by the price (rounded to 28 digits: for display only, never sent)."""
        if unit == "contracts":
            return contracts
        worth = _EXACT.multiply(contracts, self.contract_size)  # in ct_val_ccy
        if not self.needs_price(unit):
            return worth
        price = self._price(price, unit)
        if self.inverse:
            return worth / price  # coin = USD / price: display value, may not terminate
        return _EXACT.multiply(worth, price)

    # ---- any unit -> contracts (exact or refused) -------------------------------------------------
    def contracts(self, size: Size, price: Decimal | None = None, *, market: bool = False) -> Decimal:
        """The contracts `size` is, exactly; refused (local OkxInvalidOrder) when it is not a whole
        number of lots, below the minimum or above the largest order (`market`: the market-order cap)."""
        if size.value <= ZERO:
            raise _refuse(
                "51000",
                f"amount {plain(size.value)} {self.unit_ccy(size.unit)} must be greater than 0",
                "Give a positive amount.",
            )
        exact = self._to_contracts(size, price)
        lot = self.lot_size
        if exact is None or (lot and exact % lot != ZERO):
            raise _refuse(
                "51121",
                f"{self._said(size, price)} is {self._contracts_said(size, price, exact)}, not a whole "
                f"multiple of the lot size {plain(lot)} contracts of {self.symbol} "
                f"(1 contract = {plain(self.contract_size)} {self.ct_val_ccy})",
                "Nothing was rounded: "
                + self._nearest(size, price, exact)
                + ". OKX counts swap sizes in contracts.",
            )
        if exact < self.min_size:
            floor_size = (
                self.amount(self.min_size, size.unit, price) if self._priceable(size, price) else None
            )
            shown = f" ({_approx(floor_size)} {self.unit_ccy(size.unit)})" if floor_size is not None else ""
            raise _refuse(
                "51020",
                f"{self._said(size, price)} is {plain(exact)} contracts, below the minimum order size "
                f"{plain(self.min_size)} contracts of {self.symbol}",
                f"Order at least {plain(self.min_size)} contracts{shown}.",
            )
        cap = self.max_market_size if market else self.max_limit_size
        if cap is not None and exact > cap:
            raise _refuse(
                "51000",
                f"{self._said(size, price)} is {plain(exact)} contracts, above the largest "
                f"{'market' if market else 'limit'} order of {self.symbol} ({plain(cap)} contracts)",
                "Split the order into smaller ones.",
            )
        return exact

    def _to_contracts(self, size: Size, price: Decimal | None) -> Decimal | None:
        """The exact contracts, or None when the quotient does not terminate (cannot be whole lots)."""
        if size.unit == "contracts":
            return size.value
        worth, divisor = size.value, self.contract_size
        try:
            if self.needs_price(size.unit):
                price = self._price(price, size.unit)
                if self.inverse:
                    worth = _EXACT.multiply(size.value, price)  # coin x price = USD
                else:
                    divisor = _EXACT.multiply(divisor, price)  # quote / (ctVal x ctMult x price)
            return _EXACT.divide(worth, divisor)
        except Inexact:
            return None

    def _price(self, price: Decimal | None, unit: Unit) -> Decimal:
        if price is None or not price.is_finite() or price <= ZERO:
            raise OkxBadRequest(
                None,
                f"converting {self.unit_ccy(unit)} to contracts of {self.symbol} needs a price",
                "Give the limit price, or a reference price for a market order.",
                "BadRequest",
                local=True,
            )
        return price

    def _priceable(self, size: Size, price: Decimal | None) -> bool:
        return not self.needs_price(size.unit) or (price is not None and price > ZERO)

    def _said(self, size: Size, price: Decimal | None) -> str:
        text = f"{plain(size.value)} {self.unit_ccy(size.unit)}"
        if self.needs_price(size.unit) and price is not None:
            text += f" at price {plain(price)}"
        return text

    def _contracts_said(self, size: Size, price: Decimal | None, exact: Decimal | None) -> str:
        if exact is not None:
            return f"{plain(exact)} contracts"
        approx = self._to_contracts_approx(size, price)
        return f"{_approx(approx)} contracts"

    def _to_contracts_approx(self, size: Size, price: Decimal | None) -> Decimal:
        if size.unit == "contracts":
            return size.value
        divisor = self.contract_size
        if self.needs_price(size.unit):
            price = self._price(price, size.unit)
            if self.inverse:
                return size.value * price / divisor
            divisor = divisor * price
        return size.value / divisor

    def _nearest(self, size: Size, price: Decimal | None, exact: Decimal | None) -> str:
        """The two valid sizes around the requested one, in contracts and in the caller's unit."""
        approx = exact if exact is not None else self._to_contracts_approx(size, price)
        lot = self.lot_size or Decimal(1)
        below = (approx / lot).to_integral_value(rounding=ROUND_FLOOR) * lot
        above = (approx / lot).to_integral_value(rounding=ROUND_CEILING) * lot
        if above == below:
            above = below + lot
        options = [c for c in (below, above) if c >= max(self.min_size, lot)]
        if not options:
            options = [max(self.min_size, lot)]
        parts = []
        for c in options:
            text = f"{plain(c.normalize())} contracts"
            if size.unit != "contracts":
                value = self.amount(c, size.unit, price)
                text += f" (= {_approx(value)} {self.unit_ccy(size.unit)})"
            parts.append(text)
        return "the nearest valid sizes are " + " or ".join(parts)


def _approx(value: Decimal | None) -> str:
    """A display value: exact when short, else rounded to 12 significant digits with a '~'."""
    if value is None:
        return "?"
    text = plain(value)
    digits = len(text.replace("-", "").replace(".", "").lstrip("0"))
    if digits <= 16:
        return text
    return "~" + plain(Context(prec=12).plus(value))


def _refuse(code: str, message: str, hint: str) -> OkxInvalidOrder:
    entry = info(code)
    return OkxInvalidOrder(code, message, hint, entry.ccxt_class if entry else "InvalidOrder", local=True)
