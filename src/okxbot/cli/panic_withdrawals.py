"""Withdrawals in plain words: after a leaked key they are the first thing to check.

OKX's withdrawal states (docs "Get withdrawal history") grouped by what the user can still do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# state -> (what it means, what to do now)
_CANCEL_NOW = (
    "CANCEL IT NOW on OKX's website or app (Assets > History > Withdrawals > Cancel): it has not left OKX yet"
)
_STOP_NOW = (
    "contact OKX support NOW and ask them to stop it: it has not left OKX yet but cannot be canceled by you"
)
_GONE = (
    "contact OKX support NOW with the withdrawal id and transaction id, and report it to the police; "
    "the funds have left OKX"
)
_TRIED = "it did not leave OKX, but someone tried: make sure the key is deleted"
STATES: dict[str, tuple[str, str]] = {
    "0": ("waiting to be sent", _CANCEL_NOW),
    "17": ("waiting for the Travel Rule check", _CANCEL_NOW),
    "19": ("waiting: OKX's hot wallet is short", _CANCEL_NOW),
    "10": ("waiting for the transfer", _STOP_NOW),
    "7": ("approved, about to be sent", _STOP_NOW),
    **{s: ("waiting for OKX's manual review", _STOP_NOW) for s in ("4", "5", "6", "8", "9", "12")},
    "1": ("being broadcast to the blockchain", _GONE),
    "15": ("sent, pending validation on the blockchain", _GONE),
    "16": ("sent, may take up to 24 h to arrive", _GONE),
    "-3": ("being canceled", "check on OKX's website that it ends canceled; " + _TRIED),
    "2": ("SENT: the funds have left OKX", _GONE),
    "-1": ("failed", _TRIED),
    "-2": ("canceled", _TRIED),
}
SELF_MADE = "If you made this withdrawal yourself, it needs nothing more."


@dataclass(frozen=True)
class WithdrawalAlert:
    """One withdrawal as the report shows it (console, report.json, summary.txt)."""

    wd_id: str
    amount: str
    fee: str
    ccy: str
    address: str
    chain: str
    time: str  # UTC, "YYYY-MM-DD HH:MM:SS UTC"
    state: str
    meaning: str
    action: str
    tx_id: str

    @classmethod
    def from_okx(cls, row: dict[str, Any]) -> WithdrawalAlert:
        state = str(row.get("state", ""))
        meaning, action = STATES.get(
            state, (f"state {state} (not documented by OKX)", "contact OKX support NOW: " + _STOP_NOW)
        )
        return cls(
            wd_id=str(row.get("wdId", "")),
            amount=str(row.get("amt", "")),
            fee=str(row.get("fee") or "0"),
            ccy=str(row.get("ccy", "")),
            address=str(row.get("to", "")),
            chain=str(row.get("chain", "")),
            time=_utc(row.get("ts")),
            state=state,
            meaning=meaning,
            action=action,
            tx_id=str(row.get("txId", "")),
        )

    def lines(self) -> list[str]:
        """Plain text, one fact a line: amount, currency, address, time, state, what to do."""
        fee = f" (+ fee {self.fee} {self.ccy})" if self.fee not in ("", "0") else ""
        via = f" on {self.chain}" if self.chain else " (internal transfer to another OKX account)"
        ids = f"withdrawal id {self.wd_id}" + (f", transaction {self.tx_id}" if self.tx_id else "")
        return [
            f"{self.amount} {self.ccy}{fee} to {self.address}{via}",
            f"at {self.time}; state {self.state}: {self.meaning} ({ids})",
            f"what to do: {self.action}",
        ]

    def as_dict(self) -> dict[str, str]:
        return {
            "wdId": self.wd_id,
            "amount": self.amount,
            "fee": self.fee,
            "ccy": self.ccy,
            "address": self.address,
            "chain": self.chain,
            "time": self.time,
            "state": self.state,
            "meaning": self.meaning,
            "what_to_do": self.action,
            "txId": self.tx_id,
        }


def alert_lines(alerts: list[WithdrawalAlert] | None, days: int, problem: str = "") -> list[str]:
    """The report's first lines: every withdrawal, none, or that they could not be checked."""
    if alerts is None:
        return [
            f"!!! WITHDRAWALS NOT CHECKED ({problem}) !!!",
            "    Look at OKX's website or app NOW: Assets > History > Withdrawals.",
        ]
    if not alerts:
        return [f"withdrawals: none in the last {days} days"]
    lines = [f"!!! {len(alerts)} WITHDRAWAL(S) IN THE LAST {days} DAYS: CHECK THESE FIRST !!!"]
    for number, alert in enumerate(alerts, 1):
        first, *rest = alert.lines()
        lines.append(f"  {number}. {first}")
        lines += [f"     {line}" for line in rest]
    lines.append(f"  {SELF_MADE}")
    return lines


def _utc(ts: Any) -> str:
    try:
        return datetime.fromtimestamp(int(ts) / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError, OverflowError):
        return f"unknown time ({ts!r})"
