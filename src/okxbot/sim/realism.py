"""The realism settings: how much of OKX's asynchrony the simulator plays (all off by default).

    lateExecMs     an ambiguous answer (timeout, 50001, 50004, 50013, 50026, HTTP 5xx) is followed by the
                   request's execution up to this many ms later (a share of them; the others never run)
    lateExecShare  that share, 0..1 (default 0.5)
    cancelLagMs    a cancel is acknowledged at once and takes effect up to this many ms later
    amendLagMs     the same for an amend
    readLagMs      an order or fill stays missing from the GET endpoints up to this many ms
    fixedLags      every lag is exactly its maximum instead of uniform in [0, max] (deterministic tests)

Each lag is drawn uniformly from [0, N] by the simulator's seeded RNG. Off by default because OKX's
documented contract ("sCode 0 = accepted") is what unmodified ccxt flows such as create_order followed
at once by fetch_order rely on, and they pass against OKX almost always; the realism makes the rare
case the common one, which only code written for it survives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_LAG_MS = 600_000  # ten minutes: longer is a typo, not a model of OKX
LAGS = {
    "lateExecMs": "late_exec_ms",
    "cancelLagMs": "cancel_lag_ms",
    "amendLagMs": "amend_lag_ms",
    "readLagMs": "read_lag_ms",
}
KNOWN = (*LAGS, "lateExecShare", "fixedLags")

# `okxbot sim serve --realism`: harsh but within what OKX users report (hundreds of ms).
PRESET: dict[str, Any] = {
    "lateExecMs": 400,
    "lateExecShare": "0.5",
    "cancelLagMs": 150,
    "amendLagMs": 150,
    "readLagMs": 200,
}


@dataclass(frozen=True)
class Realism:
    late_exec_ms: int = 0
    late_exec_share: Decimal = Decimal("0.5")
    cancel_lag_ms: int = 0
    amend_lag_ms: int = 0
    read_lag_ms: int = 0
    fixed_lags: bool = False

    def updated(self, raw: Mapping[str, Any]) -> Realism:
        """These settings with the fields of `raw` (admin / CLI spelling) changed; ValueError says what to fix."""
        unknown = set(raw) - set(KNOWN)
        if unknown:
            raise ValueError(f"unknown realism setting(s) {sorted(unknown)}; known: {', '.join(KNOWN)}")
        changes: dict[str, Any] = {}
        for name, attr in LAGS.items():
            if name in raw:
                changes[attr] = _lag(name, raw[name])
        if "lateExecShare" in raw:
            changes["late_exec_share"] = _share(raw["lateExecShare"])
        if "fixedLags" in raw:
            if not isinstance(raw["fixedLags"], bool):
                raise ValueError(f"fixedLags must be true or false, got {raw['fixedLags']!r}")
            changes["fixed_lags"] = raw["fixedLags"]
        return replace(self, **changes)

    def wire(self) -> dict[str, Any]:
        return {
            "lateExecMs": self.late_exec_ms,
            "lateExecShare": str(self.late_exec_share),
            "cancelLagMs": self.cancel_lag_ms,
            "amendLagMs": self.amend_lag_ms,
            "readLagMs": self.read_lag_ms,
            "fixedLags": self.fixed_lags,
        }


def _lag(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LAG_MS:
        raise ValueError(
            f"{name} must be an integer number of milliseconds, 0..{MAX_LAG_MS} (0 = off), got {value!r}"
        )
    return value


def _share(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"lateExecShare must be a number from 0 to 1, got {value!r}")
    try:
        share = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"lateExecShare must be a number from 0 to 1, got {value!r}") from None
    if not share.is_finite() or not 0 <= share <= 1:
        raise ValueError(f"lateExecShare must be a number from 0 to 1, got {value!r}")
    return share
