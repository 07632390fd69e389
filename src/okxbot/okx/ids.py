"""Client order ids (OKX `clOrdId`): the one place that knows their format.

OKX accepts up to 32 case-sensitive alphanumerics and rejects anything else with 51000
"Parameter clOrdId error". An id is generated *before* an order is sent so that it can be journaled
and, after a timeout, used to look the order up instead of sending it again.
"""

from __future__ import annotations

import re
import secrets
import time

MAX_LENGTH = 32
DEFAULT_PREFIX = "okxb"
_VALID = re.compile(r"[A-Za-z0-9]{1,32}")
_PREFIX = re.compile(r"[A-Za-z0-9]{0,12}")


class InvalidClientOrderId(ValueError):
    """A client order id OKX would reject; the message says how to fix it."""


def new_client_order_id(
    prefix: str = DEFAULT_PREFIX, *, now_ms: int | None = None, serial: int | None = None
) -> str:
    """A fresh clOrdId: `prefix` + the time in ms (hex, so ids sort by creation) + random hex.

    Always exactly 32 characters; the random part (>= 64 bits with the default prefix) makes a
    collision between two processes on the same key practically impossible. A backtest, which
    reads no wall clock and must repeat itself exactly, gives its virtual time (`now_ms`) and a
    counter (`serial`, in place of the random part).
    """
    if not _PREFIX.fullmatch(prefix):
        raise InvalidClientOrderId(
            f"clOrdId prefix {prefix!r} must be 0-12 letters or digits (OKX allows only alphanumerics)"
        )
    stamp = format(time.time_ns() // 1_000_000 if now_ms is None else now_ms, "011x")
    head = prefix + stamp
    width = MAX_LENGTH - len(head)
    if serial is not None:
        return head + format(serial, "x").rjust(width, "0")[-width:]
    return head + secrets.token_hex(MAX_LENGTH)[:width]


def validate_client_order_id(value: object) -> str:
    """Return `value` if OKX would accept it as a clOrdId, else raise InvalidClientOrderId."""
    if not isinstance(value, str):
        raise InvalidClientOrderId(f"clOrdId must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidClientOrderId("clOrdId is empty: give 1-32 letters or digits, or omit it")
    if len(value) > MAX_LENGTH:
        raise InvalidClientOrderId(
            f"clOrdId {value!r} is {len(value)} characters long; OKX allows at most {MAX_LENGTH}"
        )
    if not _VALID.fullmatch(value):
        bad = sorted({c for c in value if not (c.isascii() and c.isalnum())})
        raise InvalidClientOrderId(
            f"clOrdId {value!r} contains {''.join(bad)!r}; OKX allows only letters and digits "
            "(no '-', '_' or spaces)"
        )
    return value
