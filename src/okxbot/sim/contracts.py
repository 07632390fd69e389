"""Perpetual swaps: the contracts the simulator lists, their position tiers, and contract arithmetic.

Sizes are contracts. One contract is worth `ctVal * ctMult` of `ctValCcy`:
* linear (USDT-margined, e.g. BTC-USDT-SWAP, ctVal 0.01 BTC): value in USDT = size * price;
* inverse (coin-margined, e.g. BTC-USD-SWAP, ctVal 100 USD): value in BTC = size / price.
Profit and loss follow from those values: linear `(exit - entry) * size * dir`, inverse
`size * (1/entry - 1/exit) * dir` (dir = +1 long, -1 short). An inverse position's average entry
price is the harmonic mean of its fills (the price at which its coin value is unchanged).

Money amounts of swaps (fees, pnl, funding, margins) are rounded to 16 decimal places, half-even
(`money`); prices keep Decimal's 28 significant digits (an average entry has endless digits).

Position tiers: OKX publishes them per instrument family; the simulator's tables are synthetic but
shaped like OKX's (tier imr = 1 / maxLever, mmr = imr / 2, larger positions get lower leverage).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from functools import cache

from okxbot.sim.instruments import DEFAULT_INSTRUMENTS, ZERO, Instrument, fmt

MONEY = Decimal("1E-16")
# (maxLever of the tier, tier size multiple of the instrument's first tier)
_LADDER = ((125, 1), (100, 2), (50, 4), (20, 10), (10, 20), (5, 40), (4, 80), (2, 160), (1, 400))


def money(value: Decimal) -> Decimal:
    return value.quantize(MONEY, rounding=ROUND_HALF_EVEN)


def _start(spot_id: str) -> Decimal:
    return next(i.start_px for i in DEFAULT_INSTRUMENTS if i.inst_id == spot_id)


def _swap(inst_id: str, tick: str, lot: str, ct_val: str, lever: int, hours: int, code: int,
          max_mkt: int, *, inverse: bool = False) -> Instrument:  # fmt: skip
    base, quote = inst_id.split("-")[:2]
    spot = f"{base}-USDT"
    return Instrument(
        inst_id, Decimal(tick), Decimal(lot), Decimal(lot), _start(spot), inst_id_code=code, inst_type="SWAP",
        ct_val=Decimal(ct_val), ct_val_ccy=quote if inverse else base, settle_ccy=base if inverse else quote,
        ct_type="inverse" if inverse else "linear", max_lever=Decimal(lever), index_id=spot,
        funding_hours=hours, max_lmt_sz=Decimal(max_mkt) * 20, max_mkt_sz=Decimal(max_mkt),
        max_lmt_amt=Decimal("20000000"), max_mkt_amt=ZERO,
    )  # fmt: skip


# Contract values and steps after OKX's listings (lot / min sizes UNCONFIRMED, reference §1.1);
# DOGE settles funding every 4 h and ARB every hour, the others every 8 h. The index of a USD
# (inverse) contract is the coin's USDT spot price: the simulator has no USD market.
DEFAULT_SWAPS: tuple[Instrument, ...] = (
    _swap("BTC-USDT-SWAP", "0.1", "0.01", "0.01", 125, 8, 20001, 5000),
    _swap("ETH-USDT-SWAP", "0.01", "0.01", "0.1", 100, 8, 20002, 10000),
    _swap("SOL-USDT-SWAP", "0.01", "0.01", "1", 50, 8, 20003, 10000),
    _swap("DOGE-USDT-SWAP", "0.00001", "0.01", "1000", 50, 4, 20004, 10000),
    _swap("ARB-USDT-SWAP", "0.0001", "0.01", "10", 50, 1, 20005, 50000),
    _swap("BTC-USD-SWAP", "0.1", "1", "100", 125, 8, 20101, 10000, inverse=True),
    _swap("ETH-USD-SWAP", "0.01", "1", "10", 100, 8, 20102, 50000, inverse=True),
)
# Contracts in the first (highest-leverage) position tier of each instrument family.
FIRST_TIER: dict[str, Decimal] = {
    "BTC-USDT": Decimal(3000), "ETH-USDT": Decimal(5000), "SOL-USDT": Decimal(10000),
    "DOGE-USDT": Decimal(10000), "ARB-USDT": Decimal(50000), "BTC-USD": Decimal(10000),
    "ETH-USD": Decimal(50000),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Tier:
    tier: int
    min_sz: Decimal  # exclusive lower bound (contracts); 0 for tier 1
    max_sz: Decimal  # inclusive upper bound
    mmr: Decimal
    imr: Decimal
    max_lever: Decimal

    def wire(self, inst: Instrument) -> dict[str, str]:
        return {
            "baseMaxLoan": "", "imr": fmt(self.imr), "instFamily": inst.uly, "instId": "",
            "maxLever": fmt(self.max_lever), "maxSz": fmt(self.max_sz), "minSz": fmt(self.min_sz),
            "mmr": fmt(self.mmr), "optMgnFactor": "", "quoteMaxLoan": "", "tier": str(self.tier),
            "uly": inst.uly,
        }  # fmt: skip


@cache
def tiers(inst: Instrument) -> tuple[Tier, ...]:
    """The instrument's position tiers, smallest first (the first tier allows the most leverage)."""
    first = FIRST_TIER.get(inst.uly, inst.max_mkt_sz)
    out: list[Tier] = []
    low = ZERO
    for lever, multiple in _LADDER:
        if lever > inst.max_lever:
            continue
        imr = Decimal(1) / Decimal(lever)
        high = first * multiple
        out.append(Tier(len(out) + 1, low, high, imr / 2, imr, Decimal(lever)))
        low = high
    return tuple(out)


def tier_for(inst: Instrument, size: Decimal) -> Tier:
    """The tier holding a position of `size` contracts (the last tier beyond the table)."""
    table = tiers(inst)
    for t in table:
        if size <= t.max_sz:
            return t
    return table[-1]


def max_size_at(inst: Instrument, lever: Decimal) -> Decimal:
    """The largest position (contracts) the tiers allow at this leverage."""
    best = ZERO
    for t in tiers(inst):
        if t.max_lever >= lever:
            best = t.max_sz
    return best


def with_start(inst: Instrument, px: Decimal) -> Instrument:
    return replace(inst, start_px=px)


# -- arithmetic -----------------------------------------------------------------------------------


def value(inst: Instrument, qty: Decimal, px: Decimal) -> Decimal:
    """What `qty` contracts are worth at `px`, in the settle currency (unrounded)."""
    size = qty * inst.contract_size
    return size / px if inst.inverse else size * px


def value_usd(inst: Instrument, qty: Decimal, px: Decimal) -> Decimal:
    """The notional in USD: linear contracts at the price (USDT counted as USD), inverse at face."""
    size = qty * inst.contract_size
    return size if inst.inverse else size * px


def pnl(inst: Instrument, qty: Decimal, entry: Decimal, exit_px: Decimal, direction: int) -> Decimal:
    """Profit (settle currency, unrounded) of `qty` contracts opened at `entry`, valued at `exit_px`."""
    size = qty * inst.contract_size
    if inst.inverse:
        return size * (1 / entry - 1 / exit_px) * direction
    return (exit_px - entry) * size * direction


def average_entry(inst: Instrument, held: Decimal, avg: Decimal, qty: Decimal, px: Decimal) -> Decimal:
    """The entry price after adding `qty` at `px` to `held` contracts at `avg`."""
    if not held:
        return px
    if inst.inverse:
        return (held + qty) / (held / avg + qty / px)
    return (avg * held + px * qty) / (held + qty)


def price_for_pnl(inst: Instrument, qty: Decimal, entry: Decimal, target: Decimal, direction: int) -> Decimal:
    """The exit price at which `qty` contracts opened at `entry` realise `target` (bankruptcy price)."""
    size = qty * inst.contract_size
    if inst.inverse:
        inv = 1 / entry - target / (size * direction)
        return 1 / inv if inv > 0 else Decimal("Infinity")
    return entry + target / (size * direction)


def convert_contract_coin(
    inst: Instrument, kind: str, sz: Decimal, px: Decimal | None, unit: str, op_type: str
) -> Decimal:
    """public/convert-contract-coin: `kind` "1" turns an amount of `unit` (coin, or usds = the quote
    stablecoin of a linear swap; an inverse swap's coin needs the price) into contracts on the lot,
    rounded down to open and to the nearest lot to close; "2" turns contracts into that unit.
    Raises ValueError("px") when the conversion needs a price that was not given."""
    size = inst.contract_size
    needs_px = inst.inverse or unit == "usds"
    if needs_px and px is None:
        raise ValueError("px")
    if kind == "2":
        if inst.inverse:
            return money(sz * size / px) if px is not None else ZERO
        return sz * size * px if unit == "usds" and px is not None else sz * size
    if inst.inverse:
        contracts = sz * px / size if px is not None else ZERO
    else:
        contracts = sz / (size * px) if unit == "usds" and px is not None else sz / size
    lots = contracts / inst.lot_sz
    whole = lots.to_integral_value(rounding=ROUND_FLOOR if op_type == "open" else ROUND_HALF_UP)
    return whole * inst.lot_sz
