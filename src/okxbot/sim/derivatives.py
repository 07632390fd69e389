"""Swap positions of the accounts: settling swap fills into positions and balances, and the
account settings OKX gates them with (account level, position mode, leverage).

Fill settlement (one fill of `qty` contracts at `px`, direction +1 buy / -1 sell):
* net_mode: a fill against the position closes first (realised pnl = pnl(entry -> px)), the rest
  opens the other way; long_short_mode: buy+long / sell+short open, sell+long / buy+short close.
* Isolated positions get margin `value(opened, px) / lever` (rounded, held out of the cash balance)
  and give back `margin * closed / |pos|`; cross positions hold `value(mark) / lever` while open.
* cashBal changes by realised pnl + fee (fee = -value(qty, px) * fee rate, in the settle currency).
* One bill (type 2, subType 1/2 or 3-6) and one fill per fill; `fillPnl` is the realised pnl.
* When a position goes flat, its pending reduce-only / closing orders are canceled (cancelSource 17).
Settings refusals raise `ParamError` with OKX's codes (the HTTP layer answers them top-level).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from okxbot.sim.accounts import Account
from okxbot.sim.bus import EventBus, Ids
from okxbot.sim.clock import Clock
from okxbot.sim.contracts import money, tier_for, value
from okxbot.sim.filters import ParamError, UnknownInstrument, param_str
from okxbot.sim.instruments import ZERO, Instrument, fmt
from okxbot.sim.ledger import Ledger
from okxbot.sim.margin import Margin, lever_key
from okxbot.sim.marketdata import Markets
from okxbot.sim.marks import Marks
from okxbot.sim.order import Order
from okxbot.sim.positions import Position
from okxbot.sim.records import account_bill, swap_fill_record, swap_sub_type

POS_ID_TTL_MS = 30 * 24 * 3600 * 1000  # a closed position's posId expires 30 days after the close
MIN_LEVER = Decimal("0.01")


def _mode_error() -> ParamError:
    return ParamError("51010", "You can't complete this request under your current account mode.")


class Derivatives:
    def __init__(
        self,
        clock: Clock,
        bus: EventBus,
        ids: Ids,
        ledger: Ledger,
        markets: Markets,
        marks: Marks,
        margin: Margin,
    ) -> None:
        self.clock = clock
        self.bus = bus
        self.ids = ids
        self.ledger = ledger
        self.markets = markets
        self.marks = marks
        self.margin = margin
        # Set by the exchange: cancels a resting order with a cancelSource (the matcher's).
        self.cancel: Callable[[Order, str], None] = lambda order, source: None

    # -- positions ------------------------------------------------------------------------------

    def position(self, acct: Account, inst: Instrument, mgn_mode: str, pos_side: str) -> Position:
        key = (inst.inst_id, mgn_mode, pos_side)
        now = self.clock.now_ms()
        p = acct.positions.get(key)
        if p is not None and not p.pos and p.closed_at and now - p.closed_at > POS_ID_TTL_MS:
            p = None  # the old posId has expired: a new one
        if p is None:
            p = acct.positions[key] = Position(
                acct.uid, inst, mgn_mode, pos_side, self.ids.position(), now, now
            )
        return p

    def find(self, acct: Account, inst: Instrument, mgn_mode: str, pos_side: str) -> Position | None:
        return acct.positions.get((inst.inst_id, mgn_mode, pos_side))

    @staticmethod
    def closes(order: Order, p: Position | None) -> bool:
        """Whether the order reduces the position it trades against (before it fills)."""
        if order.pos_side in ("long", "short"):
            return (order.side == "sell") == (order.pos_side == "long")
        return p is not None and p.direction == (-1 if order.side == "buy" else 1)

    def closable(self, order: Order) -> Decimal | None:
        """Contracts a reduce-only (or long/short closing) order may still fill; None when uncapped."""
        if not order.inst.is_swap or order.internal:
            return None
        closing_side = order.pos_side in ("long", "short") and self.closes(order, None)
        if not order.reduce_only and not closing_side:
            return None
        acct = self.ledger.accounts[order.uid]
        p = self.find(acct, order.inst, order.td_mode, order.pos_side)
        if p is None or not self.closes(order, p):
            return ZERO
        return p.size

    def pending_on(self, acct: Account, inst_id: str, mgn_mode: str | None = None) -> list[Order]:
        return [
            o
            for o in acct.pending.values()
            if o.inst.inst_id == inst_id and (mgn_mode is None or o.td_mode == mgn_mode)
        ]

    # -- settling fills -------------------------------------------------------------------------

    def settle_fill(
        self, order: Order, qty: Decimal, px: Decimal, px_str: str, fee: Decimal, exec_type: str,
        trade_id: str, now: int,
    ) -> None:  # fmt: skip
        acct = self.ledger.accounts[order.uid]
        inst = order.inst
        ccy = inst.settle_ccy
        b = acct.bal(ccy)
        fill_dir = 1 if order.side == "buy" else -1
        p = self.position(acct, inst, order.td_mode, order.pos_side)
        lever = self.margin.lever(acct, inst, order.td_mode, order.pos_side)
        # The order's held margin goes back in proportion to its progress (order.remaining is
        # already lowered by this fill).
        if order.frozen:
            release = min(order.frozen, money(order.frozen * qty / (order.remaining + qty)))
            order.frozen -= release
            b.frozen -= release
        closed = min(qty, p.size) if self.closes(order, p) else ZERO
        realised = margin_chg = ZERO
        if closed:
            if p.mgn_mode == "isolated":
                freed = money(p.margin * closed / p.size)
                p.margin -= freed
                margin_chg -= freed
            realised = p.close(closed, px, now)
            p.fee += money(fee * closed / qty)
            self._record_close(acct, p, "2" if not p.pos else "1", lever)
        opened = qty - closed
        if opened and (order.pos_side == "net" or not self.closes(order, p)):
            p.open(opened, px, fill_dir, now)
            if p.mgn_mode == "isolated":
                added = money(value(inst, opened, px) / lever)
                p.margin += added
                margin_chg += added
            p.fee += fee - money(fee * closed / qty)
        p.trade_id = trade_id
        b.cash += realised + fee
        b.u_time = now
        order.pnl += realised
        order.fill_pnl = realised
        mark_px, idx_px = fmt(self.marks.mark_px(inst)), fmt(self.marks.index_of(inst))
        bill_id = self.ids.bill()
        acct.bills.append(
            account_bill(
                bill_id=bill_id, ccy=ccy, bal=b.cash, bal_chg=realised + fee, typ="2",
                sub_type=swap_sub_type(order), ts=now, inst_id=inst.inst_id, inst_type=inst.inst_type,
                mgn_mode=order.td_mode, pnl=realised, fee=fee, sz=fmt(qty), px=px_str,
                pos_bal=p.margin, pos_bal_chg=margin_chg, ord_id=order.ord_id, cl_ord_id=order.cl_ord_id,
                tag=order.tag, trade_id=trade_id, exec_type=exec_type, fill_time=str(now),
                fill_mark_px=mark_px, fill_idx_px=idx_px,
            )
        )  # fmt: skip
        acct.fills.append(
            swap_fill_record(
                order, bill_id=bill_id, qty=qty, px_str=px_str, fee=fee, fill_pnl=realised, exec_type=exec_type,
                trade_id=trade_id, ts=now, mark_px=mark_px, idx_px=idx_px,
            )
        )  # fmt: skip
        acct.prune_records(now)
        self.ledger.touch(acct, ccy)
        self.bus.position_changed(
            acct.uid, p.pos_id, ccy, "filled", {"instId": inst.inst_id, "tradeId": trade_id}
        )
        if not p.pos:
            p.closed_at = now
            self.cancel_closing_orders(acct, p, except_order=order)

    def _record_close(
        self, acct: Account, p: Position, close_type: str, lever: Decimal, trigger: str = ""
    ) -> None:
        fresh = p.history is None
        row = p.history_row(close_type, lever, trigger)
        if fresh:
            acct.position_history.append(row)

    def cancel_closing_orders(self, acct: Account, p: Position, except_order: Order | None = None) -> None:
        """The position is flat: its reduce-only and closing orders have nothing left to close."""
        for o in list(acct.pending.values()):
            if (
                o is except_order
                or o.inst is not p.inst
                or o.td_mode != p.mgn_mode
                or o.pos_side != p.pos_side
            ):
                continue
            if o.reduce_only or (o.pos_side != "net" and self.closes(o, None)):
                self.cancel(o, "17")

    # -- available margin -----------------------------------------------------------------------

    def available(self, acct: Account, ccy: str) -> Decimal:
        """What a new order of the account may use in `ccy` (availBal in Spot mode, availEq in Futures mode)."""
        b = acct.bal(ccy)
        if acct.acct_lv == "1":
            return b.avail
        m = self.margin.currency(acct, ccy)
        # Spot spends cash, never unrealised profit: the lower of the two.
        return min(m.avail_eq, b.avail - m.iso_margin - m.cross_imr)

    # -- settings -------------------------------------------------------------------------------

    def set_account_level(self, uid: str, level: str) -> list[dict[str, str]]:
        acct = self.ledger.account(uid)
        _check_level(acct, level)
        if level != acct.acct_lv:
            if acct.pending:
                raise ParamError(
                    "59132",
                    "Unable to switch. Please close or cancel all open orders and refer to the pre-check "
                    "endpoint to stop any incompatible bots.",
                )
            if any(p.pos for p in acct.positions.values()):
                raise ParamError(
                    "59134",
                    "Unable to switch. Refer to the pre-check endpoint and close any incompatible positions.",
                )
            acct.acct_lv = level
            self.ledger.touch(acct, *acct.balances)
            self.bus.flush()
        return [{"acctLv": level}]

    def switch_precheck(self, uid: str, level: str) -> list[dict[str, Any]]:
        """GET account/set-account-switch-precheck: what stands in the way of `set_account_level`."""
        acct = self.ledger.account(uid)
        _check_level(acct, level)
        unmatched: list[dict[str, Any]] = []
        if level != acct.acct_lv:
            if acct.pending:
                unmatched.append({"type": "pending_orders", "totalAsset": "", "posList": []})
            open_ids = [p.pos_id for p in acct.positions.values() if p.pos]
            if open_ids:
                unmatched.append({"type": "all_positions", "totalAsset": "", "posList": open_ids})
        return [{
            "acctLv": level, "curAcctLv": acct.acct_lv, "mgnAft": None, "mgnBf": None, "posList": [],
            "posTierCheck": [], "riskOffsetType": "", "sCode": "1" if unmatched else "0",
            "unmatchedInfoCheck": unmatched,
        }]  # fmt: skip

    def set_position_mode(self, uid: str, mode: str) -> list[dict[str, str]]:
        acct = self.ledger.account(uid)
        if mode not in ("long_short_mode", "net_mode"):
            raise ParamError("51000", "Parameter posMode error")
        if acct.acct_lv == "1":
            raise _mode_error()
        if mode != acct.pos_mode:
            any_order = self.margin.rules.position_mode_blocked_by_spot_orders
            blocking = [o for o in acct.pending.values() if any_order or o.inst.is_swap]
            if blocking or any(p.pos for p in acct.positions.values()):
                raise ParamError("59000", SETTINGS_BLOCKED)
            acct.pos_mode = mode
        return [{"posMode": mode}]

    def _swap_inst(self, acct: Account, inst_id: str) -> Instrument:
        if acct.acct_lv == "1":
            raise _mode_error()
        inst = self.markets.instruments.get(inst_id)
        if inst is None:
            raise UnknownInstrument(inst_id)
        if not inst.is_swap:
            raise ParamError("54000", "Margin trading is not supported.")
        return inst

    def set_leverage(self, uid: str, params: Mapping[str, Any]) -> list[dict[str, str]]:
        acct = self.ledger.account(uid)
        inst_id, ccy = param_str(params.get("instId")), param_str(params.get("ccy"))
        lever_text, mgn_mode = param_str(params.get("lever")), param_str(params.get("mgnMode"))
        pos_side = param_str(params.get("posSide"))
        if not lever_text:
            raise ParamError("50014", "Parameter lever can not be empty.")
        if not mgn_mode:
            raise ParamError("50014", "Parameter mgnMode can not be empty.")
        if not inst_id:
            if ccy:
                raise ParamError("54000", "Margin trading is not supported.")
            raise ParamError("50015", "Either parameter instId or ccy is required")
        if mgn_mode not in ("cross", "isolated"):
            raise ParamError("51000", "Parameter mgnMode error")
        lever = _decimal(lever_text, "lever")
        if lever <= 0:
            raise ParamError("51000", "Parameter lever error")
        inst = self._swap_inst(acct, inst_id)
        long_short = acct.pos_mode == "long_short_mode"
        if mgn_mode == "isolated":
            if long_short and pos_side not in ("long", "short"):
                raise ParamError("51000", "Parameter posSide error")
            if not long_short and pos_side not in ("", "net"):
                raise ParamError("51000", "Parameter posSide error")
        if lever < MIN_LEVER:
            raise ParamError(
                "59105", f"Leverage can't be less than {fmt(MIN_LEVER)}. Please increase the leverage."
            )
        sides = self._sides(mgn_mode, pos_side, long_short)
        held = [p for s in sides if (p := self.find(acct, inst, mgn_mode, s)) is not None and p.pos]
        biggest = max((p.size for p in held), default=ZERO)
        if lever > inst.max_lever or lever > tier_for(inst, biggest).max_lever:
            raise ParamError("59102", "Leverage exceeds the maximum limit. Please lower the leverage.")
        any_mode = None if self.margin.rules.leverage_blocked_by_any_order else mgn_mode
        if self.pending_on(acct, inst.inst_id, any_mode):
            raise ParamError("59000", SETTINGS_BLOCKED)
        self._check_margin_for(acct, inst, held, lever)
        for s in ("net", "long", "short") if (mgn_mode == "cross" or not long_short) else (pos_side,):
            acct.leverage[lever_key(inst.inst_id, mgn_mode, s)] = lever
        for p in held:
            if p.mgn_mode == "isolated":
                p.margin = money(value(inst, p.size, p.avg_px) / lever)
            self.bus.position_changed(uid, p.pos_id, p.ccy, "set_leverage")
        if held:
            self.ledger.touch(acct, inst.settle_ccy)
        self.bus.flush()
        return [{"lever": fmt(lever), "mgnMode": mgn_mode, "instId": inst.inst_id, "posSide": pos_side}]

    @staticmethod
    def _sides(mgn_mode: str, pos_side: str, long_short: bool) -> tuple[str, ...]:
        if mgn_mode == "isolated" and long_short:
            return (pos_side,)
        return ("long", "short") if long_short else ("net",)

    def _check_margin_for(
        self, acct: Account, inst: Instrument, held: list[Position], lever: Decimal
    ) -> None:
        """Changing the leverage of open positions: the new margin must fit the available equity."""
        if not held:
            return
        extra = ZERO
        for p in held:
            r = self.margin.risk(acct, p)
            if p.mgn_mode == "isolated":
                extra += money(value(inst, p.size, p.avg_px) / lever) - p.margin
            else:
                extra += money(r.value / lever) - r.imr
        if extra > 0 and extra > self.margin.currency(acct, inst.settle_ccy).avail_eq:
            raise ParamError(
                "59103",
                "Account margin is insufficient and leverage is too low. Please increase the leverage.",
            )

    def leverage_info(self, uid: str, inst_ids: list[str], mgn_mode: str) -> list[dict[str, str]]:
        acct = self.ledger.account(uid)
        if mgn_mode not in ("cross", "isolated"):
            raise ParamError("51000", "Parameter mgnMode error")
        long_short = acct.pos_mode == "long_short_mode"
        rows = []
        for inst_id in inst_ids:
            inst = self._swap_inst(acct, inst_id)
            for side in ("long", "short") if long_short else ("net",):
                rows.append({
                    "ccy": "", "instId": inst.inst_id, "mgnMode": mgn_mode, "posSide": side,
                    "lever": fmt(self.margin.lever(acct, inst, mgn_mode, side)),
                })  # fmt: skip
        return rows


def _check_level(acct: Account, level: str) -> None:
    """An account mode the API may switch to: 1 or 2, and one this account has used on the web."""
    if level not in ("1", "2", "3", "4"):
        raise ParamError("51000", "Parameter acctLv error")
    if level not in acct.levels or level in ("3", "4"):
        # Multi-currency and portfolio margin are not modelled; a mode never used before must be
        # chosen on the web first.
        raise ParamError(
            "51070",
            "You do not meet the requirements for switching to this account mode. Please upgrade the "
            "account mode on the OKX website or App",
        )


SETTINGS_BLOCKED = "Setting failed. Cancel any open orders, close positions, and stop trading bots first."


def _decimal(text: str, name: str) -> Decimal:
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ParamError("51000", f"Parameter {name} error") from None
    if not number.is_finite():
        raise ParamError("51000", f"Parameter {name} error")
    return number
