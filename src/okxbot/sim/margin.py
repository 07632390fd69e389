"""Margin in Futures mode (acctLv 2, single-currency margin): what each position and each settle
currency requires and holds, at the mark price. Read-only: nothing here changes an account.

Per position (S = |pos| x ctVal x ctMult, value V = S x mark linear or S / mark inverse):
    upl = pnl(entry -> mark);  imr (cross) = V / lever;  mmr = V x mmr of the tier holding |pos|
    liquidation fee = V x taker fee rate;  isolated mgnRatio = (margin + upl) / (mmr + liquidation fee)
Per settle currency (cash = cashBal, isolated margin stays in cash but is held for the position):
    eq = cash + upl (all positions);  isoEq = isolated margin + isolated upl
    cross equity = cash - isolated margin + cross upl
    availEq = cross equity - cross imr - ordFrozen (margin held for pending orders, spot holds too)
    frozenBal = ordFrozen + isolated margin + cross imr;  availBal = cash - frozenBal
    cross mgnRatio = cross equity / sum over cross positions of (mmr + liquidation fee)
A position (isolated) or a currency's cross positions are liquidated when that ratio is <= 1.
Estimated liquidation price: the mark price at which the ratio reaches 1, other positions held at
their current requirement (reference §2.7: OKX's third-party-copied formulas, UNCONFIRMED).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from okxbot.sim.accounts import Account, Balance
from okxbot.sim.contracts import money, pnl, price_for_pnl, tier_for, value, value_usd
from okxbot.sim.instruments import ZERO, Instrument, fmt
from okxbot.sim.marketdata import Markets
from okxbot.sim.marks import Marks
from okxbot.sim.positions import Position, position_wire
from okxbot.sim.swap_rules import SwapRules

DEFAULT_LEVER = Decimal(10)  # leverage of an instrument never set (UNCONFIRMED)


def lever_key(inst_id: str, mgn_mode: str, pos_side: str) -> tuple[str, str, str]:
    """Leverage is per instrument for cross, per instrument and side for isolated."""
    return (inst_id, mgn_mode, "" if mgn_mode == "cross" else pos_side)


@dataclass
class PositionRisk:
    mark: Decimal
    value: Decimal  # settle currency, at mark
    upl: Decimal
    imr: Decimal  # value / lever (rounded)
    mmr: Decimal
    liq_fee: Decimal
    lever: Decimal

    @property
    def requirement(self) -> Decimal:
        return self.mmr + self.liq_fee


@dataclass
class CurrencyMargin:
    ccy: str
    cash: Decimal
    ord_frozen: Decimal
    iso_margin: Decimal = ZERO
    iso_upl: Decimal = ZERO
    cross_upl: Decimal = ZERO
    cross_imr: Decimal = ZERO
    cross_mmr: Decimal = ZERO
    cross_req: Decimal = ZERO  # cross mmr + liquidation fees
    notional: Decimal = ZERO  # settle currency, every position
    cross: list[Position] = field(default_factory=list)
    isolated: list[Position] = field(default_factory=list)

    @property
    def upl(self) -> Decimal:
        return self.iso_upl + self.cross_upl

    @property
    def eq(self) -> Decimal:
        return self.cash + self.upl

    @property
    def iso_eq(self) -> Decimal:
        return self.iso_margin + self.iso_upl

    @property
    def cross_eq(self) -> Decimal:
        return self.cash - self.iso_margin + self.cross_upl

    @property
    def avail_eq(self) -> Decimal:
        return max(ZERO, self.cross_eq - self.cross_imr - self.ord_frozen)

    @property
    def frozen_bal(self) -> Decimal:
        return self.ord_frozen + self.iso_margin + self.cross_imr

    @property
    def mgn_ratio(self) -> Decimal | None:
        if not self.cross or not self.cross_req:
            return None
        return self.cross_eq / self.cross_req


class Margin:
    def __init__(self, markets: Markets, marks: Marks, taker_fee: Decimal, rules: SwapRules) -> None:
        self.markets = markets
        self.marks = marks
        self.taker_fee = taker_fee
        self.rules = rules

    @property
    def liq_fee_rate(self) -> Decimal:
        """The closing fee counted in the maintenance requirement (0 when the rule is switched off)."""
        return self.taker_fee if self.rules.liquidation_fee_in_ratio else ZERO

    def lever(self, acct: Account, inst: Instrument, mgn_mode: str, pos_side: str) -> Decimal:
        default = min(DEFAULT_LEVER, inst.max_lever)
        return acct.leverage.get(lever_key(inst.inst_id, mgn_mode, pos_side), default)

    def risk(self, acct: Account, p: Position, mark: Decimal | None = None) -> PositionRisk:
        inst = p.inst
        mark = self.marks.mark_px(inst) if mark is None else mark
        lever = self.lever(acct, inst, p.mgn_mode, p.pos_side)
        size = p.size
        val = value(inst, size, mark)
        upl = money(pnl(inst, size, p.avg_px, mark, p.direction)) if size else ZERO
        mmr = money(val * tier_for(inst, size).mmr)
        return PositionRisk(mark, val, upl, money(val / lever), mmr, money(val * self.liq_fee_rate), lever)

    def currency(self, acct: Account, ccy: str) -> CurrencyMargin:
        b = acct.balances.get(ccy) or Balance()
        m = CurrencyMargin(ccy, b.cash, b.frozen)
        for p in acct.positions.values():
            if not p.pos or p.ccy != ccy:
                continue
            r = self.risk(acct, p)
            m.notional += r.value
            if p.mgn_mode == "isolated":
                m.iso_margin += p.margin
                m.iso_upl += r.upl
                m.isolated.append(p)
            else:
                m.cross_upl += r.upl
                m.cross_imr += r.imr
                m.cross_mmr += r.mmr
                m.cross_req += r.requirement
                m.cross.append(p)
        return m

    def isolated_ratio(self, p: Position, r: PositionRisk) -> Decimal | None:
        return (p.margin + r.upl) / r.requirement if r.requirement else None

    def liquidation_price(self, p: Position, r: PositionRisk, margin: Decimal) -> Decimal | None:
        """The mark at which `margin` + pnl equals the maintenance requirement (mmr + liquidation fee)."""
        inst = p.inst
        size = p.size * inst.contract_size
        if not size:
            return None
        rate = tier_for(inst, p.size).mmr + self.liq_fee_rate
        avg = p.avg_px
        if inst.inverse:
            if p.direction > 0:
                den = margin + size / avg
                px = size * (1 + rate) / den if den > 0 else None
            else:
                den = size / avg - margin
                px = size * (1 - rate) / den if den > 0 else None
        elif p.direction > 0:
            px = (avg * size - margin) / (size * (1 - rate))
        else:
            px = (margin + avg * size) / (size * (1 + rate))
        return money(px) if px is not None and px > 0 else None

    def position_fields(self, acct: Account, p: Position, cm: CurrencyMargin | None = None) -> dict[str, Any]:
        """The GET account/positions item of `p`, mark-dependent fields included."""
        inst = p.inst
        idx = self.marks.index_of(inst)
        last = self.markets.last_px(inst.inst_id)
        numbers: dict[str, Any] = {
            "idxPx": fmt(idx),
            "last": fmt(last),
            "markPx": fmt(self.marks.mark_px(inst)),
        }
        r = self.risk(acct, p)
        numbers["lever"] = fmt(r.lever)
        if not p.pos:
            return position_wire(p, numbers)
        initial = value(inst, p.size, p.avg_px) / r.lever
        upl_last = money(pnl(inst, p.size, p.avg_px, last, p.direction))
        numbers.update(
            upl=fmt(r.upl), uplRatio=fmt(money(r.upl / initial)) if initial else "0",
            uplLastPx=fmt(upl_last), uplRatioLastPx=fmt(money(upl_last / initial)) if initial else "0",
            mmr=fmt(r.mmr),
        )  # fmt: skip
        usd = value_usd(inst, p.size, r.mark)
        numbers["notionalUsd"] = fmt(
            money(usd if inst.inverse else usd * self.markets.usd_price(inst.quote_ccy))
        )
        if p.mgn_mode == "isolated":
            numbers["margin"] = fmt(p.margin)
            ratio = self.isolated_ratio(p, r)
            numbers["mgnRatio"] = fmt(money(ratio)) if ratio is not None else ""
            liq = self.liquidation_price(p, r, p.margin)
        else:
            cm = cm or self.currency(acct, p.ccy)
            numbers["imr"] = fmt(r.imr)
            ratio = cm.mgn_ratio
            numbers["mgnRatio"] = fmt(money(ratio)) if ratio is not None else ""
            liq = self.liquidation_price(p, r, cm.cross_eq - r.upl - (cm.cross_req - r.requirement))
        numbers["liqPx"] = fmt(liq) if liq is not None else ""
        costs = p.fee + p.funding_fee
        if costs and p.size:
            numbers["bePx"] = fmt(money(price_for_pnl(inst, p.size, p.avg_px, -costs, p.direction)))
        else:
            numbers["bePx"] = fmt(p.avg_px)
        return position_wire(p, numbers)

    # -- the balance endpoint in Futures mode ---------------------------------------------------

    def balances(self, acct: Account, ccys: Iterable[str] | None, now_ms: int) -> dict[str, Any]:
        """GET account/balance data[0] at acctLv 2 (reference §2.4: the fields Futures mode fills)."""
        wanted = set(ccys) if ccys else None
        held = {p.ccy for p in acct.positions.values() if p.pos}
        details = []
        total_usd = iso_usd = ZERO
        u_time = 0
        for ccy in sorted(set(acct.balances) | held):
            if wanted is not None and ccy not in wanted:
                continue
            b = acct.balances.get(ccy) or Balance()
            m = self.currency(acct, ccy)
            if not m.cash and not m.eq and not b.frozen:
                continue  # OKX omits currencies with nothing in them
            usd = self.markets.usd_price(ccy)
            total_usd += m.eq * usd
            iso_usd += m.iso_eq * usd
            u_time = max(u_time, b.u_time, *(p.u_time for p in (*m.cross, *m.isolated)))
            details.append(self.detail(ccy, b, m, usd))
        return {
            "adjEq": "", "availEq": "", "borrowFroz": "", "details": details, "imr": "", "isoEq": fmt(money(iso_usd)),
            "mgnRatio": "", "mmr": "", "notionalUsd": "", "notionalUsdForBorrow": "",
            "notionalUsdForFutures": "", "notionalUsdForOption": "", "notionalUsdForSwap": "",
            "ordFroz": "", "totalEq": fmt(money(total_usd)), "uTime": str(u_time or now_ms), "upl": "",
        }  # fmt: skip

    @staticmethod
    def detail(ccy: str, b: Balance, m: CurrencyMargin, usd: Decimal) -> dict[str, Any]:
        ratio = m.mgn_ratio
        cross = bool(m.cross)
        lever = m.notional / m.eq if m.notional and m.eq > 0 else ZERO
        return {
            "accAvgPx": "", "autoLendMtAmt": "0", "autoLendStatus": "off", "availBal": fmt(max(ZERO, m.cash - m.frozen_bal)),
            "availEq": fmt(m.avail_eq), "borrowFroz": "", "cashBal": fmt(m.cash), "ccy": ccy, "clSpotInUseAmt": "",
            "colBorrAutoConversion": "0", "colRes": "0", "collateralEnabled": False, "collateralRestrict": False,
            "crossLiab": "", "disEq": "", "eq": fmt(m.eq), "eqUsd": fmt(money(m.eq * usd)), "fixedBal": "0",
            "frozenBal": fmt(m.frozen_bal), "imr": fmt(m.cross_imr) if cross else "", "interest": "",
            "isoEq": fmt(m.iso_eq), "isoLiab": "", "isoUpl": fmt(m.iso_upl), "liab": "", "maxLoan": "",
            "maxSpotInUse": "", "mgnRatio": fmt(money(ratio)) if ratio is not None else "",
            "mmr": fmt(m.cross_mmr) if cross else "", "notionalLever": fmt(money(lever)), "openAvgPx": "",
            "ordFrozen": fmt(m.ord_frozen), "rewardBal": "0", "smtSyncEq": "0", "spotBal": "",
            "spotCopyTradingEq": "0", "spotInUseAmt": "", "spotIsoBal": "0", "spotUpl": "", "spotUplRatio": "",
            "stgyEq": "0", "totalPnl": "", "totalPnlRatio": "", "twap": "", "uTime": str(b.u_time),
            "upl": fmt(m.upl), "uplLiab": "",
        }  # fmt: skip
