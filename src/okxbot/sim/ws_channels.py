"""Which WebSocket channel lives on which URL, and the checks OKX applies to a subscription argument.

`check_arg` turns one `args[]` item into a `Sub` or the error OKX answers: 60018 for an unknown
channel or instrument (or a channel on the wrong URL), 64001 for a candle channel on /public, 64002
for a public channel on /business, 60011 for a private channel before login, 60013 for bad args.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from okxbot.sim.tape import BARS

PUBLIC = frozenset({"tickers", "trades", "books", "books5", "bbo-tbt"})
# Perpetual-swap channels: per swap instId / per index / per instType.
SWAP_PUBLIC = frozenset({"mark-price", "funding-rate", "price-limit"})
INDEX_PUBLIC = frozenset({"index-tickers"})
LIQUIDATIONS = "liquidation-orders"
LIQUIDATION_TYPES = frozenset({"SWAP", "FUTURES", "MARGIN", "OPTION"})
VIP_BOOKS = {"books-l2-tbt": ("60029", "VIP5"), "books50-l2-tbt": ("60030", "VIP4")}
PRIVATE = frozenset({"orders", "account", "positions", "balance_and_position"})
POSITION_INST_TYPES = frozenset({"MARGIN", "SWAP", "FUTURES", "OPTION", "ANY"})
CANDLES = {f"candle{bar}": bar for bar in BARS}
MARK_CANDLES = {f"mark-price-candle{bar}": bar for bar in BARS}
INDEX_CANDLES = {f"index-candle{bar}": bar for bar in BARS}
ORDER_INST_TYPES = frozenset({"SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION", "ANY"})

ENDPOINTS = ("public", "private", "business")


@dataclass(frozen=True)
class Sub:
    """One subscription of a connection; `key` identifies it for unsubscribe and duplicates."""

    channel: str
    inst_id: str = ""  # public channels; orders filter
    inst_type: str = ""  # orders
    ccy: str = ""  # account filter
    bar: str = ""  # candles
    inst_family: str = ""  # positions filter
    period_ms: int = 5000  # positions: periodic pushes (extraParams updateInterval; 0 = events only)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.channel, self.inst_id or self.inst_family, self.inst_type, self.ccy)

    def arg(self, uid: str = "") -> dict[str, str]:
        """The `arg` object of this subscription's pushes (private pushes echo the uid)."""
        out = {"channel": self.channel}
        if self.inst_type:
            out["instType"] = self.inst_type
        if self.inst_family:
            out["instFamily"] = self.inst_family
        if self.inst_id:
            out["instId"] = self.inst_id
        if self.ccy:
            out["ccy"] = self.ccy
        if uid:
            out["uid"] = uid
        return out


@dataclass(frozen=True)
class ArgError:
    code: str
    msg: str


def _missing(channel: str, raw: Mapping[str, Any]) -> ArgError:
    inst = raw.get("instId")
    where = f"channel:{channel},instId:{inst}" if inst else f"channel:{channel}"
    return ArgError(
        "60018",
        f"Wrong URL or {where} doesn't exist. Please use the correct URL, channel and parameters "
        "referring to API document.",
    )


def check_arg(
    raw: Any,
    endpoint: str,
    logged_in: bool,
    known_instrument: Callable[[str], bool],
    kind_of: Callable[[str], str] = lambda inst_id: "",
) -> Sub | ArgError:
    """`kind_of(instId)` names what an id is: an instType ("SPOT", "SWAP"), "INDEX", or ""."""
    if not isinstance(raw, dict) or not isinstance(raw.get("channel"), str):
        return ArgError("60013", "Invalid args")
    if "uly" in raw:
        return ArgError("64000", "uly is no longer supported, please use instFamily instead")
    channel = raw["channel"]
    if channel in VIP_BOOKS:
        code, tier = VIP_BOOKS[channel]
        return ArgError(
            code, f"Only users who are {tier} and above in trading fee tier are allowed to subscribe"
        )
    if channel in MARK_CANDLES or channel in INDEX_CANDLES:
        if endpoint != "business":
            return _missing(channel, raw)
        wanted = "SWAP" if channel in MARK_CANDLES else "INDEX"
        bar = (MARK_CANDLES if channel in MARK_CANDLES else INDEX_CANDLES)[channel]
        return _instrument_sub(raw, channel, lambda i: kind_of(i) == wanted, bar=bar)
    if channel in SWAP_PUBLIC or channel in INDEX_PUBLIC or channel == LIQUIDATIONS:
        if endpoint != "public":
            return _missing(channel, raw)
        if channel == LIQUIDATIONS:
            inst_type = raw.get("instType")
            if inst_type not in LIQUIDATION_TYPES:
                return ArgError("60013", "Invalid args")
            return Sub(channel, inst_type=inst_type)
        if channel in INDEX_PUBLIC:
            return _instrument_sub(raw, channel, lambda i: kind_of(i) == "INDEX")
        if channel == "price-limit":
            return _instrument_sub(raw, channel, known_instrument)
        return _instrument_sub(raw, channel, lambda i: kind_of(i) == "SWAP")
    if channel in CANDLES:
        if endpoint == "public":
            return ArgError(
                "64001",
                "This channel has been migrated to the '/business' URL. Please subscribe using the new URL.",
            )
        if endpoint != "business":
            return _missing(channel, raw)
        return _instrument_sub(raw, channel, known_instrument, bar=CANDLES[channel])
    if channel in PUBLIC:
        if endpoint == "business":
            return ArgError(
                "64002", 'This channel is not supported by "/business" URL. Please use "/public" URL instead.'
            )
        if endpoint != "public":
            return _missing(channel, raw)
        return _instrument_sub(raw, channel, known_instrument)
    if channel in PRIVATE:
        if endpoint != "private":
            return _missing(channel, raw)
        if not logged_in:
            return ArgError("60011", "Please log in")
        if channel == "balance_and_position":
            return Sub(channel)
        if channel == "positions":
            return _positions_sub(raw, known_instrument)
        if channel == "orders":
            inst_type = raw.get("instType")
            if inst_type not in ORDER_INST_TYPES:
                return ArgError("60013", "Invalid args")
            inst_id = raw.get("instId") or ""
            if not isinstance(inst_id, str) or (inst_id and not known_instrument(inst_id)):
                return _missing(channel, raw)
            return Sub("orders", inst_id=inst_id, inst_type=inst_type)
        ccy = raw.get("ccy") or ""
        if not isinstance(ccy, str):
            return ArgError("60013", "Invalid args")
        return Sub("account", ccy=ccy.upper())
    return _missing(channel, raw)


def _instrument_sub(
    raw: Mapping[str, Any], channel: str, known_instrument: Callable[[str], bool], bar: str = ""
) -> Sub | ArgError:
    inst_id = raw.get("instId")
    if not isinstance(inst_id, str) or not inst_id:
        return ArgError("60013", "Invalid args")
    if not known_instrument(inst_id):
        return _missing(channel, raw)
    return Sub(channel, inst_id=inst_id, bar=bar)


def _positions_sub(raw: Mapping[str, Any], known_instrument: Callable[[str], bool]) -> Sub | ArgError:
    inst_type = raw.get("instType")
    if inst_type not in POSITION_INST_TYPES:
        return ArgError("60013", "Invalid args")
    inst_id, family = raw.get("instId") or "", raw.get("instFamily") or ""
    if not isinstance(inst_id, str) or not isinstance(family, str):
        return ArgError("60013", "Invalid args")
    if inst_id and not known_instrument(inst_id):
        return _missing("positions", raw)
    period = 5000
    extra = raw.get("extraParams")
    if extra:
        try:
            interval = json.loads(extra).get("updateInterval") if isinstance(extra, str) else None
            period = int(interval) if interval is not None else 5000
        except (ValueError, TypeError, AttributeError):
            return ArgError("60013", "Invalid args")
        if period not in (0, 2000, 3000, 4000):
            return ArgError("60013", "Invalid args")
    return Sub("positions", inst_id=inst_id, inst_type=inst_type, inst_family=family, period_ms=period)
