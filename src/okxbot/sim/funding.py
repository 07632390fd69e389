"""Funding of the perpetual swaps: the rate, the schedule, the settlement and its history.

Rate (OKX's noRate formula, interest rate 0):
    fundingRate = clamp(average of the minute premium samples of the last N hours, min, max)
N = the instrument's funding interval (8 h, or 4 h / 1 h); min / max = -/+ 0.375 % for BTC and ETH,
-/+ 2 % for the others; rounded to 16 decimal places. The admin API may pin the rate.
Deviation from OKX: a minute's sample is the premium of the swap's book mid at that minute (OKX
uses impact prices and averages within the minute); before the first sample the rate is 0.

Schedule: settlements at multiples of the interval since the epoch (00:00 / 08:00 / 16:00 UTC for
8 h); `fundingTime` is the next one, `nextFundingTime` the one after. A settlement missed while the
simulator was not running happens once, at the next tick.

Settlement, for every position held at the funding time (OKX help 360053909272):
    amount = -direction x value(|pos|, mark) x rate, rounded to 16 places (direction +1 long, -1 short)
    (linear value = |pos| x ctVal x ctMult x mark in USDT; inverse |pos| x ctVal x ctMult / mark in coin)
so with a positive rate longs pay shorts. It moves cashBal (isolated margin untouched), adds to the
position's fundingFee, and writes a bill: type 8, subType 173 (expense) / 174 (income), px = mark,
sz = |pos|, pnl = balChg = amount. The history keeps `realizedRate` = the rate settled.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from okxbot.sim.bus import EventBus, Ids
from okxbot.sim.clock import Clock
from okxbot.sim.contracts import MONEY, money, value
from okxbot.sim.filters import ParamError
from okxbot.sim.instruments import ZERO, Instrument, InstrumentSet, fmt
from okxbot.sim.ledger import Ledger
from okxbot.sim.marks import Marks
from okxbot.sim.records import account_bill

HOUR_MS = 3_600_000
HISTORY_DAYS = 90  # OKX serves three months of funding-rate history
CAPS = {"BTC": Decimal("0.00375"), "ETH": Decimal("0.00375")}
DEFAULT_CAP = Decimal("0.02")


@dataclass
class FundingState:
    inst: Instrument
    funding_time: int  # the next settlement
    pinned: Decimal | None = None
    settled_rate: Decimal | None = None
    history: deque[dict[str, str]] = field(default_factory=deque)  # oldest first

    @property
    def interval_ms(self) -> int:
        return self.inst.funding_hours * HOUR_MS

    @property
    def cap(self) -> Decimal:
        return CAPS.get(self.inst.base_ccy, DEFAULT_CAP)


def next_slot(now_ms: int, interval_ms: int) -> int:
    return (now_ms // interval_ms + 1) * interval_ms


class Funding:
    def __init__(
        self, clock: Clock, bus: EventBus, ids: Ids, ledger: Ledger, marks: Marks, instruments: InstrumentSet,
        seed: int,
    ) -> None:  # fmt: skip
        self.clock = clock
        self.bus = bus
        self.ids = ids
        self.ledger = ledger
        self.marks = marks
        now = clock.now_ms()
        self.states: dict[str, FundingState] = {}
        for inst in instruments.of_type("SWAP"):
            state = FundingState(inst, next_slot(now, inst.funding_hours * HOUR_MS))
            self._backfill(state, seed)
            self.states[inst.inst_id] = state

    def state(self, inst_id: str) -> FundingState:
        state = self.states.get(inst_id)
        if state is None:
            raise ParamError("51001", "Instrument ID or Spread ID doesn't exist.")
        return state

    # -- the rate -------------------------------------------------------------------------------

    def rate(self, state: FundingState) -> Decimal:
        if state.pinned is not None:
            raw = state.pinned
        else:
            raw = self.marks.average_premium(state.inst, state.inst.funding_hours * 60)
        return max(-state.cap, min(state.cap, raw)).quantize(MONEY, rounding=ROUND_HALF_EVEN)

    def pin(self, inst_id: str, rate: Decimal | None) -> None:
        self.state(inst_id).pinned = rate

    def wire(self, inst_id: str) -> dict[str, str]:
        """The public/funding-rate item."""
        state = self.state(inst_id)
        samples = self.marks.samples[inst_id]
        settled = state.settled_rate
        return {
            "formulaType": "noRate", "fundingRate": fmt(self.rate(state)), "fundingTime": str(state.funding_time),
            "impactValue": "", "instId": inst_id, "instType": "SWAP", "interestRate": "0",
            "maxFundingRate": fmt(state.cap), "method": "current_period", "minFundingRate": fmt(-state.cap),
            "nextFundingRate": "", "nextFundingTime": str(state.funding_time + state.interval_ms),
            "premium": fmt(samples[-1]) if samples else "0", "settFundingRate": fmt(settled) if settled is not None else "",
            "settState": "settled", "ts": str(self.clock.now_ms()),
        }  # fmt: skip

    def history(
        self, inst_id: str, after: int | None = None, before: int | None = None, limit: int = 400
    ) -> list[dict[str, str]]:
        """public/funding-rate-history, newest first; after / before are fundingTimes (exclusive)."""
        out = []
        for row in reversed(self.state(inst_id).history):
            ts = int(row["fundingTime"])
            if after is not None and ts >= after:
                continue
            if before is not None and ts <= before:
                break
            out.append(row)
            if len(out) >= limit:
                break
        return out

    # -- settlement -----------------------------------------------------------------------------

    def settle_due(self, now_ms: int) -> list[str]:
        """Settle every swap whose funding time has come; returns their instIds."""
        done = []
        for inst_id, state in self.states.items():
            if state.funding_time <= now_ms:
                self.settle(inst_id)
                done.append(inst_id)
        return done

    def settle(self, inst_id: str) -> Decimal:
        """Settle the coming funding of `inst_id` now (admin: "advance to the next settlement")."""
        state = self.state(inst_id)
        inst = state.inst
        rate = self.rate(state)
        now = self.clock.now_ms()
        mark = self.marks.mark_px(inst)
        for acct in self.ledger.accounts.values():
            if acct.internal:
                continue
            for p in acct.positions.values():
                if p.inst is not inst or not p.pos:
                    continue
                amount = money(-p.direction * value(inst, p.size, mark) * rate)
                if not amount:
                    continue
                b = acct.bal(inst.settle_ccy)
                b.cash += amount
                b.u_time = now
                p.funding_fee += amount
                p.u_time = now
                acct.bills.append(
                    account_bill(
                        bill_id=self.ids.bill(), ccy=inst.settle_ccy, bal=b.cash, bal_chg=amount, typ="8",
                        sub_type="173" if amount < 0 else "174", ts=now, inst_id=inst_id, inst_type="SWAP",
                        mgn_mode=p.mgn_mode, pnl=amount, sz=fmt(p.size), px=fmt(mark), pos_bal=p.margin,
                    )
                )  # fmt: skip
                self.ledger.touch(acct, inst.settle_ccy)
                self.bus.position_changed(acct.uid, p.pos_id, inst.settle_ccy, "funding_fee")
        state.history.append(self._row(inst_id, state.funding_time, rate))
        self._prune(state, now)
        state.settled_rate = rate
        state.funding_time = next_slot(max(now, state.funding_time), state.interval_ms)
        self.bus.flush()
        return rate

    @staticmethod
    def _row(inst_id: str, funding_time: int, rate: Decimal) -> dict[str, str]:
        return {
            "formulaType": "noRate", "fundingRate": fmt(rate), "fundingTime": str(funding_time),
            "instId": inst_id, "instType": "SWAP", "method": "current_period", "realizedRate": fmt(rate),
        }  # fmt: skip

    @staticmethod
    def _prune(state: FundingState, now: int) -> None:
        while state.history and now - int(state.history[0]["fundingTime"]) > HISTORY_DAYS * 24 * HOUR_MS:
            state.history.popleft()

    def _backfill(self, state: FundingState, seed: int) -> None:
        """Three months of past rates before the simulator started, seeded (a plausible small premium)."""
        rng = random.Random(f"{seed}:{state.inst.inst_id}:funding")
        interval = state.interval_ms
        count = HISTORY_DAYS * 24 // state.inst.funding_hours
        rates = []
        for _ in range(count):
            raw = Decimal(f"{rng.gauss(0.0001, 0.00008):.10f}")
            rates.append(max(-state.cap, min(state.cap, raw)))
        first = state.funding_time - interval * count
        for k, rate in enumerate(rates):
            state.history.append(self._row(state.inst.inst_id, first + k * interval, rate))
        state.settled_rate = rates[-1] if rates else ZERO
