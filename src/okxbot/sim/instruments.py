"""The simulator's instruments (tickSz / lotSz / minSz close to OKX's) and number formatting.

`Instrument` describes SPOT pairs and perpetual SWAP contracts alike; the swap list and the contract
arithmetic live in `okxbot.sim.contracts`.

Every number the simulator hands out goes through `fmt` so that one value always renders as one
string: OKX strips trailing zeros ("51858", "0.001") and never uses exponent notation, and the
order-book checksum hashes level prices verbatim, so a level must never change its spelling.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

ZERO = Decimal(0)
ONE = Decimal(1)


def fmt(value: Decimal) -> str:
    """The OKX wire spelling of a decimal: no exponent, no trailing zeros, "0" for zero."""
    if not value:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return value % step == ZERO


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


@dataclass(frozen=True, slots=True)
class Instrument:
    """One SPOT pair or SWAP contract. `start_px` seeds the synthetic market's fair price.

    For SWAP, sizes (lotSz, minSz, maxLmtSz, maxMktSz) are in contracts; one contract is worth
    `ct_val * ct_mult` of `ct_val_ccy`; margin and settlement are in `settle_ccy`; `index_id` is the
    spot pair whose price is the underlying index; funding settles every `funding_hours`.
    """

    inst_id: str
    tick_sz: Decimal
    lot_sz: Decimal
    min_sz: Decimal
    start_px: Decimal
    list_time: str = "1606468572000"
    max_lmt_sz: Decimal = Decimal("9999999999")
    max_mkt_sz: Decimal = Decimal("1000000")
    max_lmt_amt: Decimal = Decimal("20000000")
    max_mkt_amt: Decimal = Decimal("1000000")
    inst_id_code: int = 0
    inst_type: str = "SPOT"
    ct_val: Decimal = ZERO
    ct_mult: Decimal = ONE
    ct_val_ccy: str = ""
    settle_ccy: str = ""
    ct_type: str = ""  # linear | inverse
    max_lever: Decimal = Decimal(10)
    index_id: str = ""
    funding_hours: int = 0
    base_ccy: str = field(init=False)
    quote_ccy: str = field(init=False)

    def __post_init__(self) -> None:
        base, quote = self.inst_id.split("-")[:2]
        object.__setattr__(self, "base_ccy", base)
        object.__setattr__(self, "quote_ccy", quote)

    @property
    def is_swap(self) -> bool:
        return self.inst_type == "SWAP"

    @property
    def inverse(self) -> bool:
        return self.ct_type == "inverse"

    @property
    def uly(self) -> str:
        """The underlying / instrument family (BTC-USDT, BTC-USD); "" for SPOT."""
        return f"{self.base_ccy}-{self.quote_ccy}" if self.is_swap else ""

    @property
    def contract_size(self) -> Decimal:
        return self.ct_val * self.ct_mult

    def px_str(self, px: Decimal) -> str:
        return fmt(px)

    def to_wire(self) -> dict[str, Any]:
        """The /api/v5/public/instruments item; fields that do not apply to the type are ""."""
        if self.is_swap:
            return self._swap_wire()
        return {
            "alias": "",
            "auctionEndTime": "",
            "baseCcy": self.base_ccy,
            "category": "1",
            "contTdSwTime": "",
            "ctMult": "",
            "ctType": "",
            "ctVal": "",
            "ctValCcy": "",
            "expTime": "",
            "futureSettlement": False,
            "instFamily": "",
            "instId": self.inst_id,
            "instIdCode": self.inst_id_code,
            "instType": "SPOT",
            "lever": "10",
            "listTime": self.list_time,
            "lotSz": fmt(self.lot_sz),
            "maxIcebergSz": fmt(self.max_lmt_sz),
            "maxLmtAmt": fmt(self.max_lmt_amt),
            "maxLmtSz": fmt(self.max_lmt_sz),
            "maxMktAmt": fmt(self.max_mkt_amt),
            "maxMktSz": fmt(self.max_mkt_sz),
            "maxStopSz": fmt(self.max_mkt_sz),
            "maxTriggerSz": fmt(self.max_lmt_sz),
            "maxTwapSz": fmt(self.max_lmt_sz),
            "minSz": fmt(self.min_sz),
            "openType": "",
            "optType": "",
            "quoteCcy": self.quote_ccy,
            "ruleType": "normal",
            "settleCcy": "",
            "state": "live",
            "stk": "",
            "tickSz": fmt(self.tick_sz),
            "tradeQuoteCcyList": [self.quote_ccy],
            "uly": "",
        }

    def _swap_wire(self) -> dict[str, Any]:
        return {
            "alias": "",
            "auctionEndTime": "",
            "baseCcy": "",
            "category": "1",
            "contTdSwTime": "",
            "ctMult": fmt(self.ct_mult),
            "ctType": self.ct_type,
            "ctVal": fmt(self.ct_val),
            "ctValCcy": self.ct_val_ccy,
            "expTime": "",
            "futureSettlement": False,
            "instFamily": self.uly,
            "instId": self.inst_id,
            "instIdCode": self.inst_id_code,
            "instType": "SWAP",
            "lever": fmt(self.max_lever),
            "listTime": self.list_time,
            "lotSz": fmt(self.lot_sz),
            "maxIcebergSz": fmt(self.max_lmt_sz),
            "maxLmtAmt": fmt(self.max_lmt_amt),
            "maxLmtSz": fmt(self.max_lmt_sz),
            "maxMktAmt": "",
            "maxMktSz": fmt(self.max_mkt_sz),
            "maxStopSz": fmt(self.max_mkt_sz),
            "maxTriggerSz": fmt(self.max_lmt_sz),
            "maxTwapSz": fmt(self.max_lmt_sz),
            "minSz": fmt(self.min_sz),
            "openType": "",
            "optType": "",
            "quoteCcy": "",
            "ruleType": "normal",
            "settleCcy": self.settle_ccy,
            "state": "live",
            "stk": "",
            "tickSz": fmt(self.tick_sz),
            "tradeQuoteCcyList": [],
            "uly": self.uly,
        }


def _spot(inst_id: str, tick: str, lot: str, min_sz: str, px: str, code: int) -> Instrument:
    return Instrument(inst_id, Decimal(tick), Decimal(lot), Decimal(min_sz), Decimal(px), inst_id_code=code)


# Precision as OKX lists these pairs (tickSz, lotSz, minSz); prices are a plausible starting point.
DEFAULT_INSTRUMENTS: tuple[Instrument, ...] = (
    _spot("BTC-USDT", "0.1", "0.00000001", "0.00001", "61000", 10001),
    _spot("ETH-USDT", "0.01", "0.000001", "0.0001", "2300", 10002),
    _spot("SOL-USDT", "0.01", "0.000001", "0.001", "95", 10003),
    _spot("XRP-USDT", "0.0001", "0.000001", "0.1", "0.6", 10004),
    _spot("DOGE-USDT", "0.00001", "0.000001", "10", "0.08", 10005),
    _spot("LTC-USDT", "0.01", "0.000001", "0.001", "70", 10006),
    _spot("ADA-USDT", "0.0001", "0.000001", "1", "0.5", 10007),
    _spot("OKB-USDT", "0.001", "0.000001", "0.01", "50", 10008),
    _spot("DOT-USDT", "0.001", "0.000001", "0.1", "7", 10009),
    _spot("LINK-USDT", "0.001", "0.000001", "0.1", "15", 10010),
    _spot("TRX-USDT", "0.00001", "0.000001", "1", "0.1", 10011),
    _spot("BTC-USDC", "0.1", "0.00000001", "0.00001", "61000", 10012),
    _spot("ETH-BTC", "0.00001", "0.000001", "0.001", "0.0535", 10013),
    _spot("AVAX-USDT", "0.01", "0.000001", "0.1", "35", 10014),
    _spot("ATOM-USDT", "0.001", "0.000001", "0.1", "9", 10015),
    _spot("NEAR-USDT", "0.001", "0.000001", "1", "3", 10016),
    _spot("APT-USDT", "0.001", "0.000001", "0.1", "8", 10017),
    _spot("ARB-USDT", "0.0001", "0.000001", "1", "1.1", 10018),
    _spot("OP-USDT", "0.001", "0.000001", "1", "2.5", 10019),
    _spot("FIL-USDT", "0.001", "0.000001", "0.1", "5", 10020),
)


class InstrumentSet:
    """The instruments an exchange lists, by instId, in listing order (default: spot + swaps)."""

    def __init__(self, instruments: Iterable[Instrument] | None = None) -> None:
        if instruments is None:
            from okxbot.sim.contracts import DEFAULT_SWAPS

            instruments = (*DEFAULT_INSTRUMENTS, *DEFAULT_SWAPS)
        self._by_id: dict[str, Instrument] = {i.inst_id: i for i in instruments}

    def get(self, inst_id: str) -> Instrument | None:
        return self._by_id.get(inst_id)

    def __getitem__(self, inst_id: str) -> Instrument:
        return self._by_id[inst_id]

    def __contains__(self, inst_id: object) -> bool:
        return inst_id in self._by_id

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def ids(self, inst_type: str | None = None) -> list[str]:
        return [i.inst_id for i in self if inst_type is None or i.inst_type == inst_type]

    def of_type(self, inst_type: str) -> list[Instrument]:
        return [i for i in self if i.inst_type == inst_type]

    def currencies(self) -> set[str]:
        # A swap's quote (USD for inverse contracts) is a unit of account, not a currency held.
        return {c for i in self for c in ((i.settle_ccy,) if i.is_swap else (i.base_ccy, i.quote_ccy))}
