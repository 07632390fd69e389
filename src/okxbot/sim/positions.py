"""A swap position: its record, how a fill changes it, and its rows in positions-history.

One `Position` per (instId, mgnMode, posSide): posSide `net` holds a signed `pos` (net_mode);
`long` / `short` hold `pos >= 0` (long_short_mode). A position keeps its posId while it is closed,
so `GET account/positions?instId=` can still show it with `pos "0"`.

The counters (`pnl`, `fee`, `funding_fee`, `liq_penalty`, `open_max_pos`, `close_total_pos`) run
over one cycle: from the fill that opens the position from flat to the one that closes it. The
cycle's positions-history row is created at its first close and updated by every later one
(`type` 1 partial close, 2 close all, 3 liquidation, 4 partial liquidation, 5 ADL).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from okxbot.sim.contracts import average_entry, money, pnl
from okxbot.sim.instruments import ZERO, Instrument, fmt


@dataclass(slots=True, eq=False)
class Position:
    uid: str
    inst: Instrument
    mgn_mode: str  # cross | isolated
    pos_side: str  # net | long | short
    pos_id: str
    c_time: int
    u_time: int
    pos: Decimal = ZERO  # contracts; signed in net mode
    avg_px: Decimal = ZERO
    margin: Decimal = ZERO  # isolated: the margin allocated to the position (settle currency)
    trade_id: str = ""
    pnl: Decimal = ZERO
    fee: Decimal = ZERO
    funding_fee: Decimal = ZERO
    liq_penalty: Decimal = ZERO
    open_max_pos: Decimal = ZERO
    close_total_pos: Decimal = ZERO
    close_notional: Decimal = ZERO  # sum of close price x contracts, for closeAvgPx
    open_avg_px: Decimal = ZERO  # the cycle's average entry (kept for history after the close)
    history: dict[str, str] | None = field(default=None)  # this cycle's positions-history row
    closed_at: int = 0  # when the position last went flat (posId expires 30 days later)
    cycle_dir: int = 0  # the direction the current (or last) cycle opened in

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.inst.inst_id, self.mgn_mode, self.pos_side)

    @property
    def size(self) -> Decimal:
        return abs(self.pos)

    @property
    def direction(self) -> int:
        """+1 long, -1 short, 0 flat."""
        if self.pos_side == "long":
            return 1 if self.pos else 0
        if self.pos_side == "short":
            return -1 if self.pos else 0
        return (self.pos > 0) - (self.pos < 0)

    @property
    def ccy(self) -> str:
        return self.inst.settle_ccy

    @property
    def realized(self) -> Decimal:
        return self.pnl + self.fee + self.funding_fee + self.liq_penalty

    def reset_cycle(self, now: int) -> None:
        self.pnl = self.fee = self.funding_fee = self.liq_penalty = ZERO
        self.open_max_pos = self.close_total_pos = self.close_notional = ZERO
        self.margin = ZERO
        self.history = None
        self.c_time = now

    def close(self, qty: Decimal, px: Decimal, now: int) -> Decimal:
        """Close `qty` contracts (at most the position) at `px`; returns the realised pnl, rounded."""
        realised = money(pnl(self.inst, qty, self.avg_px, px, self.direction))
        self.pnl += realised
        self.close_total_pos += qty
        self.close_notional += qty * px
        if self.pos_side == "net":
            self.pos -= qty if self.pos > 0 else -qty
        else:
            self.pos -= qty
        self.u_time = now
        return realised

    def open(self, qty: Decimal, px: Decimal, fill_dir: int, now: int) -> None:
        """Add `qty` contracts at `px` in direction `fill_dir` (+1 buy, -1 sell) to a position that
        is flat or already points that way."""
        held = self.size
        if not held:
            if self.open_max_pos or self.close_total_pos:
                self.reset_cycle(now)  # a new cycle: the last one's history row is final
            self.c_time = now
            self.cycle_dir = fill_dir if self.pos_side == "net" else (1 if self.pos_side == "long" else -1)
            self.avg_px = px
        else:
            self.avg_px = average_entry(self.inst, held, self.avg_px, qty, px)
        self.pos += qty * fill_dir if self.pos_side == "net" else qty
        self.open_avg_px = self.avg_px
        self.open_max_pos = max(self.open_max_pos, self.size)
        self.u_time = now

    def history_row(self, close_type: str, lever: Decimal, trigger_px: str = "") -> dict[str, str]:
        """Create or update this cycle's positions-history row after a close."""
        close_avg = self.close_notional / self.close_total_pos if self.close_total_pos else ZERO
        initial = self.open_avg_px * self.open_max_pos * self.inst.contract_size
        if self.inst.inverse and self.open_avg_px:
            initial = self.open_max_pos * self.inst.contract_size / self.open_avg_px
        ratio = self.realized / (initial / lever) if initial and lever else ZERO
        row = {
            "cTime": str(self.c_time), "ccy": self.ccy, "closeAvgPx": fmt(close_avg),
            "closeTotalPos": fmt(self.close_total_pos), "direction": "long" if self.cycle_dir > 0 else "short",
            "fee": fmt(self.fee), "fundingFee": fmt(self.funding_fee), "instId": self.inst.inst_id,
            "instType": self.inst.inst_type, "lever": fmt(lever), "liqPenalty": fmt(self.liq_penalty),
            "mgnMode": self.mgn_mode, "nonSettleAvgPx": "", "openAvgPx": fmt(self.open_avg_px),
            "openMaxPos": fmt(self.open_max_pos), "pnl": fmt(self.pnl), "pnlRatio": fmt(money(ratio)),
            "posId": self.pos_id, "posSide": self.pos_side, "realizedPnl": fmt(self.realized),
            "settledPnl": "", "triggerPx": trigger_px, "type": close_type, "uTime": str(self.u_time),
            "uly": self.inst.uly,
        }  # fmt: skip
        if self.history is None:
            self.history = row
        else:
            self.history.update(row)
        return self.history


def position_wire(p: Position, numbers: dict[str, Any]) -> dict[str, Any]:
    """The GET account/positions item; `numbers` holds the mark-dependent fields (margin.py)."""
    row = {
        "adl": "1" if p.pos else "", "availPos": fmt(p.size) if p.pos else "", "avgPx": fmt(p.avg_px) if p.pos else "",
        "baseBal": "", "baseBorrowed": "", "baseInterest": "", "bePx": "", "bizRefId": "", "bizRefType": "",
        "cTime": str(p.c_time), "ccy": p.ccy, "clSpotInUseAmt": "", "closeOrderAlgo": [], "deltaBS": "",
        "deltaPA": "", "fee": fmt(p.fee), "fundingFee": fmt(p.funding_fee), "gammaBS": "", "gammaPA": "",
        "idxPx": "", "imr": "", "instId": p.inst.inst_id, "instType": p.inst.inst_type, "interest": "",
        "last": "", "lever": "", "liab": "", "liabCcy": "", "liqPenalty": fmt(p.liq_penalty), "liqPx": "",
        "margin": "", "markPx": "", "maxSpotInUseAmt": "", "mgnMode": p.mgn_mode, "mgnRatio": "", "mmr": "",
        "nonSettleAvgPx": "", "notionalUsd": "", "optVal": "", "pendingCloseOrdLiabVal": "",
        "pnl": fmt(p.pnl), "pos": fmt(p.pos), "posCcy": "", "posId": p.pos_id, "posSide": p.pos_side,
        "quoteBal": "", "quoteBorrowed": "", "quoteInterest": "", "realizedPnl": fmt(p.realized),
        "settledPnl": "", "spotInUseAmt": "", "spotInUseCcy": "", "thetaBS": "", "thetaPA": "",
        "tradeId": p.trade_id, "uTime": str(p.u_time), "upl": "", "uplLastPx": "", "uplRatio": "",
        "uplRatioLastPx": "", "usdPx": "", "vegaBS": "", "vegaPA": "",
    }  # fmt: skip
    row.update(numbers)
    return row
