"""The parity hash: one digest of a bot's order and fill sequence, printed by live runs and backtests.

Two runs that placed the same orders (side, type, price, amount, in order) and got the same fills
(side, price, size, fee, in order) print the same hash, whatever their clOrdIds, ordIds, tradeIds and
timestamps: those differ between venues by construction. Amounts and prices are normalised Decimals
(`1.0` and `1` hash alike), so a venue that formats numbers differently cannot break parity.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class OrderStep:
    side: str  # "buy" | "sell"
    order_type: str  # OKX ordType: limit, post_only, market, ioc, fok
    price: Decimal | None  # None for market orders
    amount: Decimal


@dataclass(frozen=True)
class FillStep:
    side: str
    price: Decimal
    size: Decimal
    fee: Decimal


def _num(value: Decimal | None) -> str:
    if value is None:
        return "-"
    normal = value.normalize()
    return format(normal, "f") if normal != 0 else "0"


def sequence_hash(orders: Iterable[OrderStep], fills: Iterable[FillStep]) -> str:
    """sha256 over the orders then the fills, each in the order given (placement / fill time)."""
    digest = hashlib.sha256()
    for o in orders:
        digest.update(f"O|{o.side}|{o.order_type}|{_num(o.price)}|{_num(o.amount)}\n".encode())
    for f in fills:
        digest.update(f"F|{f.side}|{_num(f.price)}|{_num(f.size)}|{_num(f.fee)}\n".encode())
    return digest.hexdigest()
