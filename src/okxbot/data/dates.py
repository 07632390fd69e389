"""Dates on the command line: `2024-01-31`, `2024-01-31T12:00`, `2024-01-31 12:00:00Z`, `now`, or an
age such as `30d`, `12h`, `90m` (that long before now). Everything is UTC; values are epoch ms."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from okxbot.data.errors import DataError

_AGE = re.compile(r"^(\d+)\s*([dhmw])$")
_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def parse_date(text: str, option: str, *, now: int | None = None) -> int:
    """Epoch ms of a user-given date; DataError naming `option` if it is not one."""
    raw = text.strip()
    now = now_ms() if now is None else now
    if raw.lower() == "now":
        return now
    age = _AGE.match(raw.lower())
    if age:
        return now - int(age.group(1)) * _UNIT_MS[age.group(2)]
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        raise DataError(
            f"{option} {text!r} is not a date",
            f"write {option} as 2024-01-31, 2024-01-31T12:00 (UTC), now, or an age such as 30d / 12h",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def fmt_ms(ms: int) -> str:
    """A UTC timestamp for people: 2024-01-31 12:00 (seconds only when not zero)."""
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    return dt.strftime("%Y-%m-%d %H:%M:%S" if dt.second or ms % 1000 else "%Y-%m-%d %H:%M")
