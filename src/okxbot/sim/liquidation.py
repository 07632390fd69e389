"""Liquidation at the maintenance-margin level, checked at every tick against the mark price.

Trigger (margin.py): an isolated position when (margin + upl) / (mmr + liquidation fee) <= 1; all
cross positions of a settle currency when cross equity / sum(mmr + liquidation fee) <= 1.

What happens (the harsher of OKX's plausible behaviours; partial liquidation tier by tier is not
modelled, nor is ADL: the liquidation engine always takes the whole position):
1. the pending orders that use the margin are canceled, cancelSource 3 (isolated: the position's
   orders; cross: every pending order whose held currency is the settle currency);
2. the position is closed at its bankruptcy price: the price at which the owner's equity in it is 0.
   Isolated: the owner loses exactly the position's margin. Cross: the currency's cross equity E goes
   to 0: each position realises its upl at the mark (`pnl`) and a share of -E weighted by its
   requirement (`liqPenalty`); a negative E (a gap past bankruptcy) is not charged (the insurance
   fund's loss, `bkLoss` on the public channel);
3. records: a filled order of category `full_liquidation` (ordType market, at the bankruptcy price,
   no fee), one bill type 5 (subType 104 / 105 liquidation long / short in long/short mode, 107 / 106
   liquidation sell / buy in net mode; px = bankruptcy price; pnl = balChg = what the owner lost),
   the positions-history row with type 3 and triggerPx = the mark, and a public `liquidation-orders`
   item {side, posSide, bkPx, sz, bkLoss, ccy, ts}.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from okxbot.sim.accounts import Account
from okxbot.sim.bus import EventBus, Ids
from okxbot.sim.clock import Clock
from okxbot.sim.contracts import money, price_for_pnl
from okxbot.sim.derivatives import Derivatives
from okxbot.sim.events import LiquidationEvent, OrderEvent
from okxbot.sim.instruments import ZERO, fmt
from okxbot.sim.ledger import Ledger
from okxbot.sim.margin import Margin, PositionRisk
from okxbot.sim.order import Order, event_fields
from okxbot.sim.positions import Position
from okxbot.sim.records import account_bill

RECENT = 200  # liquidation-orders items kept per instrument type


class Liquidator:
    def __init__(
        self, clock: Clock, bus: EventBus, ids: Ids, ledger: Ledger, margin: Margin, derivs: Derivatives,
        cancel: Callable[[Order, str], None],
    ) -> None:  # fmt: skip
        self.clock = clock
        self.bus = bus
        self.ids = ids
        self.ledger = ledger
        self.margin = margin
        self.derivs = derivs
        self.cancel = cancel
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT)

    def check(self) -> int:
        """Liquidate whatever is at or below its maintenance level; returns the positions closed."""
        closed = 0
        for acct in list(self.ledger.accounts.values()):
            if acct.internal or not acct.positions:
                continue
            for p in list(acct.positions.values()):
                if p.pos and p.mgn_mode == "isolated":
                    r = self.margin.risk(acct, p)
                    ratio = self.margin.isolated_ratio(p, r)
                    if ratio is not None and ratio <= 1:
                        self._isolated(acct, p, r)
                        closed += 1
            for ccy in sorted({p.ccy for p in acct.positions.values() if p.pos and p.mgn_mode == "cross"}):
                ratio = self.margin.currency(acct, ccy).mgn_ratio
                if ratio is not None and ratio <= 1:
                    closed += self._cross(acct, ccy)
        if closed:
            self.bus.flush()
        return closed

    def _isolated(self, acct: Account, p: Position, r: PositionRisk) -> None:
        for o in list(acct.pending.values()):
            if o.inst is p.inst and o.td_mode == "isolated" and o.pos_side == p.pos_side:
                self.cancel(o, "3")
        lost = -p.margin
        at_mark = max(r.upl, lost)
        self._close(acct, p, r, at_mark, lost - at_mark, bk_loss=max(ZERO, lost - r.upl))

    def _cross(self, acct: Account, ccy: str) -> int:
        for o in list(acct.pending.values()):
            if o.frozen_ccy == ccy and (not o.inst.is_swap or o.td_mode == "cross"):
                self.cancel(o, "3")
        cm = self.margin.currency(acct, ccy)
        equity = cm.cross_eq
        risks = [(p, self.margin.risk(acct, p)) for p in cm.cross]
        total_req = sum((r.requirement for _, r in risks), ZERO) or Decimal(1)
        for i, (p, r) in enumerate(risks):
            weight = r.requirement / total_req
            share = money(equity * weight) if i < len(risks) - 1 else equity - sum(
                (money(equity * (q.requirement / total_req)) for _, q in risks[:-1]), ZERO
            )  # fmt: skip
            if equity >= 0:
                self._close(acct, p, r, r.upl, -share, bk_loss=ZERO)
            else:
                # A gap past bankruptcy: the owner loses the cross equity it had, no more.
                self._close(acct, p, r, r.upl - share, ZERO, bk_loss=-share)
        return len(risks)

    def _close(self, acct: Account, p: Position, r: PositionRisk, pnl: Decimal, penalty: Decimal,
               bk_loss: Decimal) -> None:  # fmt: skip
        inst = p.inst
        now = self.clock.now_ms()
        size, direction = p.size, p.direction
        realised = pnl + penalty
        bankruptcy = price_for_pnl(inst, size, p.avg_px, realised, direction)
        # An inverse short can lose more than any price makes up for: no finite bankruptcy price.
        bk_px = money(bankruptcy) if bankruptcy.is_finite() and bankruptcy > 0 else r.mark
        lever = r.lever
        p.pnl += pnl
        p.liq_penalty += penalty
        p.close_total_pos += size
        p.close_notional += size * bk_px
        p.pos = ZERO
        margin_chg = -p.margin
        p.margin = ZERO
        p.u_time = p.closed_at = now
        fresh = p.history is None
        row = p.history_row("3", lever, fmt(r.mark))
        if fresh:
            acct.position_history.append(row)
        b = acct.bal(p.ccy)
        b.cash += realised
        b.u_time = now
        side = "sell" if direction > 0 else "buy"
        order = self._order(acct, p, side, size, bk_px, realised, now)
        if p.pos_side == "net":
            sub_type = "107" if side == "sell" else "106"
        else:
            sub_type = "104" if p.pos_side == "long" else "105"
        acct.bills.append(
            account_bill(
                bill_id=self.ids.bill(), ccy=p.ccy, bal=b.cash, bal_chg=realised, typ="5", sub_type=sub_type,
                ts=now, inst_id=inst.inst_id, inst_type=inst.inst_type, mgn_mode=p.mgn_mode, pnl=realised,
                sz=fmt(size), px=fmt(bk_px), pos_bal_chg=margin_chg, ord_id=order.ord_id,
                fill_time=str(now), fill_mark_px=fmt(r.mark),
            )
        )  # fmt: skip
        self.ledger.touch(acct, p.ccy)
        self.bus.position_changed(acct.uid, p.pos_id, p.ccy, "liquidation")
        self.derivs.cancel_closing_orders(acct, p)
        item = {
            "instType": inst.inst_type, "instId": inst.inst_id, "instFamily": inst.uly, "uly": inst.uly,
            "details": [{
                "side": side, "posSide": p.pos_side, "bkPx": fmt(bk_px), "sz": fmt(size), "bkLoss": fmt(bk_loss),
                "ccy": p.ccy, "ts": str(now),
            }],
        }  # fmt: skip
        self.recent.append(item)
        self.bus.emit(LiquidationEvent(inst.inst_type, item))

    def _order(
        self, acct: Account, p: Position, side: str, size: Decimal, px: Decimal, realised: Decimal, now: int
    ) -> Order:
        """The liquidation engine's order on the owner's account (category full_liquidation)."""
        order = Order(
            uid=acct.uid, inst=p.inst, ord_id=self.ids.order(), cl_ord_id="", tag="", side=side, ord_type="market",
            td_mode=p.mgn_mode, tgt_ccy="", px=ZERO, sz=size, remaining=ZERO, c_time=now, u_time=now,
            state="filled", acc_fill_sz=size, notional=size * px, pos_side=p.pos_side, reduce_only=True,
            category="full_liquidation", pnl=realised, fill_px=fmt(px), fill_sz=fmt(size), fill_time=str(now),
        )  # fmt: skip
        acct.every.append(order)
        acct.visible[order.ord_id] = order
        acct.done_filled.append(order)
        if self.bus.listeners:
            self.bus.emit(
                OrderEvent(acct.uid, event_fields(order, fill=(fmt(px), fmt(size), str(now), "", ZERO, "T")))
            )
        return order
