"""Instrument ids as OKX spells them, from what a user types (BTC-USDT, btc/usdt, BTC/USDT:USDT)."""

from __future__ import annotations

import re

from okxbot.data.errors import DataError

_INST_ID = re.compile(r"^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}(-SWAP|-\d{6})?$")


def normalize(symbol: str) -> str:
    """OKX's instId for `symbol`; ccxt's forms are accepted (BTC/USDT, BTC/USDT:USDT for the swap).

    Raises DataError for anything that cannot be an instId, before any request is sent.
    """
    text = symbol.strip().upper()
    if "/" in text:
        pair, _, settle = text.partition(":")
        base, _, quote = pair.partition("/")
        text = f"{base}-{quote}" + ("-SWAP" if settle else "")
    if not _INST_ID.match(text):
        raise DataError(
            f"{symbol!r} is not an OKX instrument id",
            "write it as OKX does: BTC-USDT (spot), BTC-USDT-SWAP (perpetual swap), or ccxt's BTC/USDT",
        )
    return text


def inst_type(inst_id: str) -> str:
    """SPOT, SWAP or FUTURES, from the shape of the id (OKX names them that way)."""
    if inst_id.endswith("-SWAP"):
        return "SWAP"
    if inst_id.count("-") == 2:
        return "FUTURES"
    return "SPOT"
