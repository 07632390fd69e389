"""Which WebSocket channel lives on which URL, and the checks OKX applies to a subscription argument.

`check_arg` turns one `args[]` item into a `Sub` or the error OKX answers: 60018 for an unknown
channel or instrument (or a channel on the wrong URL), 64001 for a candle channel on /public, 64002
for a public channel on /business, 60011 for a private channel before login, 60013 for bad args.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from okxbot.sim.tape import BARS

PUBLIC = frozenset({"tickers", "trades", "books", "books5", "bbo-tbt"})
VIP_BOOKS = {"books-l2-tbt": ("60029", "VIP5"), "books50-l2-tbt": ("60030", "VIP4")}
PRIVATE = frozenset({"orders", "account"})
CANDLES = {f"candle{bar}": bar for bar in BARS}
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

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.channel, self.inst_id, self.inst_type, self.ccy)

    def arg(self, uid: str = "") -> dict[str, str]:
        """The `arg` object of this subscription's pushes (private pushes echo the uid)."""
        out = {"channel": self.channel}
        if self.inst_type:
            out["instType"] = self.inst_type
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
    raw: Any, endpoint: str, logged_in: bool, known_instrument: Callable[[str], bool]
) -> Sub | ArgError:
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
