"""What the client returns: small dataclasses with exact Decimals, parsed from OKX's wire strings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

ZERO = Decimal(0)


def dec(value: Any) -> Decimal | None:
    """OKX's number string as a Decimal; None for "" / missing (OKX's "not applicable")."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def dec0(value: Any) -> Decimal:
    return dec(value) or ZERO


def jsonable(value: Any) -> Any:
    """Dataclasses, Decimals and containers as JSON-ready data (Decimals as strings, like OKX)."""
    if hasattr(value, "__dataclass_fields__"):
        return {k: jsonable(v) for k, v in asdict(value).items() if k != "raw"}
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [jsonable(v) for v in value]
    return value


OPEN_STATES = frozenset({"live", "partially_filled"})
# Not an OKX state: the order was acknowledged, and its fill state was not read back
# (`OkxClient.place(confirm=False)`); the orders channel or a lookup tells the rest.
ACCEPTED = "accepted"


@dataclass(frozen=True)
class Order:
    symbol: str
    inst_id: str
    client_order_id: str
    order_id: str
    side: str
    order_type: str  # OKX ordType: limit, market, post_only, ioc, fok
    amount: Decimal
    price: Decimal | None
    state: str  # live, partially_filled, filled, canceled, mmp_canceled; or ACCEPTED
    filled: Decimal = ZERO
    average_price: Decimal | None = None
    fee: Decimal = ZERO  # OKX convention: negative = charged
    fee_ccy: str = ""
    created_ms: int | None = None
    updated_ms: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @classmethod
    def from_okx(cls, raw: Mapping[str, Any], symbol: str) -> Order:
        return cls(
            symbol=symbol,
            inst_id=str(raw.get("instId", "")),
            client_order_id=str(raw.get("clOrdId", "")),
            order_id=str(raw.get("ordId", "")),
            side=str(raw.get("side", "")),
            order_type=str(raw.get("ordType", "")),
            amount=dec0(raw.get("sz")),
            price=dec(raw.get("px")),
            state=str(raw.get("state", "")),
            filled=dec0(raw.get("accFillSz")),
            average_price=dec(raw.get("avgPx")),
            fee=dec0(raw.get("fee")),
            fee_ccy=str(raw.get("feeCcy", "")),
            created_ms=_int(raw.get("cTime")),
            updated_ms=_int(raw.get("uTime")),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class Balance:
    ccy: str
    total: Decimal
    available: Decimal
    frozen: Decimal
    updated_ms: int | None = None  # OKX's uTime: the currency's last change (dates the figures)

    @classmethod
    def from_okx(cls, detail: Mapping[str, Any]) -> Balance:
        available = dec0(detail.get("availBal"))
        frozen = dec0(detail.get("frozenBal"))
        total = dec(detail.get("eq")) or dec(detail.get("cashBal")) or available + frozen
        return cls(str(detail.get("ccy", "")), total, available, frozen, _int(detail.get("uTime")))


@dataclass(frozen=True)
class Ticker:
    symbol: str
    last: Decimal | None
    bid: Decimal | None
    bid_size: Decimal | None
    ask: Decimal | None
    ask_size: Decimal | None
    open_24h: Decimal | None
    high_24h: Decimal | None
    low_24h: Decimal | None
    volume_24h: Decimal | None  # base currency
    ts: int | None
    source: str = "rest"  # "rest" or "ws" (served from a live subscription)

    @classmethod
    def from_okx(cls, raw: Mapping[str, Any], symbol: str, source: str = "rest") -> Ticker:
        return cls(
            symbol=symbol,
            last=dec(raw.get("last")),
            bid=dec(raw.get("bidPx")),
            bid_size=dec(raw.get("bidSz")),
            ask=dec(raw.get("askPx")),
            ask_size=dec(raw.get("askSz")),
            open_24h=dec(raw.get("open24h")),
            high_24h=dec(raw.get("high24h")),
            low_24h=dec(raw.get("low24h")),
            volume_24h=dec(raw.get("vol24h")),
            ts=_int(raw.get("ts")),
            source=source,
        )


@dataclass(frozen=True)
class BookLevel:
    price: Decimal
    size: Decimal


@dataclass(frozen=True)
class Book:
    symbol: str
    bids: tuple[BookLevel, ...]  # best first
    asks: tuple[BookLevel, ...]
    ts: int | None
    source: str = "rest"

    @classmethod
    def from_okx(cls, raw: Mapping[str, Any], symbol: str, depth: int) -> Book:
        def side(levels: Any) -> tuple[BookLevel, ...]:
            return tuple(BookLevel(Decimal(str(lv[0])), Decimal(str(lv[1]))) for lv in (levels or [])[:depth])

        return cls(symbol, side(raw.get("bids")), side(raw.get("asks")), _int(raw.get("ts")))

    @classmethod
    def from_ccxt(cls, book: Mapping[str, Any], symbol: str, depth: int) -> Book:
        """A ccxt.pro order book (WebSocket) as a Book.

        ccxt keeps WS levels as floats; repr() of a float parsed from OKX's string gives that string
        back for the <= 15 significant digits prices and sizes have, so the Decimals are exact.
        """

        def side(levels: Any) -> tuple[BookLevel, ...]:
            return tuple(BookLevel(Decimal(repr(px)), Decimal(repr(sz))) for px, sz, *_ in levels[:depth])

        return cls(symbol, side(book["bids"]), side(book["asks"]), _int(book.get("timestamp")), source="ws")


@dataclass(frozen=True)
class Fill:
    symbol: str
    trade_id: str
    order_id: str
    client_order_id: str
    side: str
    price: Decimal
    size: Decimal
    fee: Decimal
    fee_ccy: str
    liquidity: str  # "maker" or "taker"
    ts: int | None

    @classmethod
    def from_okx(cls, raw: Mapping[str, Any], symbol: str) -> Fill:
        return cls(
            symbol=symbol,
            trade_id=str(raw.get("tradeId", "")),
            order_id=str(raw.get("ordId", "")),
            client_order_id=str(raw.get("clOrdId", "")),
            side=str(raw.get("side", "")),
            price=dec0(raw.get("fillPx")),
            size=dec0(raw.get("fillSz")),
            fee=dec0(raw.get("fee")),
            fee_ccy=str(raw.get("feeCcy", "")),
            liquidity={"M": "maker", "T": "taker"}.get(str(raw.get("execType", "")), ""),
            ts=_int(raw.get("ts") or raw.get("fillTime")),
        )


@dataclass(frozen=True)
class CancelResult:
    """One cancel request's answer. `ok` means OKX accepted the cancel, not that the order is
    canceled: it can still fill until its state says canceled. `unknown`: the answer was lost."""

    symbol: str
    order_id: str
    client_order_id: str
    ok: bool
    code: str
    message: str
    unknown: bool = False


@dataclass(frozen=True)
class AmendResult:
    """One amend request's answer. `ok` means OKX accepted the amendment, which applies later (or
    not: the orders channel's amendResult, or the order's px / sz, say so). `unknown`: the answer
    was lost; `settle_at_ms` (OKX's clock) is when the amendment can no longer apply."""

    symbol: str
    order_id: str
    client_order_id: str
    req_id: str
    ok: bool
    code: str
    message: str
    unknown: bool = False
    settle_at_ms: int | None = None


@dataclass(frozen=True)
class AccountConfig:
    """GET account/config: who this key is and what it may do (used by the posture check)."""

    uid: str
    main_uid: str
    account_level: str  # "1" spot, "2" futures, "3" multi-currency margin, "4" portfolio margin
    position_mode: str
    permissions: frozenset[str]  # read_only, trade, withdraw
    ips: tuple[str, ...]  # the key's IP binding; empty = not bound
    label: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_okx(cls, raw: Mapping[str, Any]) -> AccountConfig:
        perm = str(raw.get("perm", ""))
        ip = str(raw.get("ip", ""))
        return cls(
            uid=str(raw.get("uid", "")),
            main_uid=str(raw.get("mainUid", "")),
            account_level=str(raw.get("acctLv", "")),
            position_mode=str(raw.get("posMode", "")),
            permissions=frozenset(p.strip() for p in perm.split(",") if p.strip()),
            ips=tuple(p.strip() for p in ip.replace(" ", ",").split(",") if p.strip()),
            label=str(raw.get("label", "")),
            raw=dict(raw),
        )


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
