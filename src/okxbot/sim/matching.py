"""Matching: an accepted order meets the book in price-time priority, trades, rests or ends.

`Matcher.accept` takes an order that passed validation (funds already checked, `order.frozen` set):
it freezes, indexes, applies post_only / FOK / IOC / market rules, matches, and rests what is left.
Each trade prints on the instrument's tape, then fills the maker and the taker; a fill updates the
order and hands the money to the `Ledger`. Self-trade prevention follows the taker's `stpMode`.
Every change to a book goes through `OrderBook.add` / `reduce` / `remove` (the `books` stream
shadows those three calls), with `reduce` before `remaining` is lowered.

Swaps: sizes are contracts; a fill's fee is `value(qty, px) * rate` in the settle currency (maker
0.02 %, taker 0.05 %) and the position side of the money goes to `Derivatives.settle_fill`. A
reduce-only (or long/short closing) order never fills more than the position it closes; market
orders of swaps carry the price limit as their price and stop there.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from okxbot.sim.accounts import Account
from okxbot.sim.book import OrderBook
from okxbot.sim.bus import EventBus, Ids
from okxbot.sim.clock import Clock
from okxbot.sim.contracts import money, value
from okxbot.sim.derivatives import Derivatives
from okxbot.sim.events import OrderEvent, TradeEvent
from okxbot.sim.instruments import ZERO, floor_to, fmt
from okxbot.sim.ledger import Ledger
from okxbot.sim.marketdata import Markets
from okxbot.sim.order import Order, event_fields

MAKER_FEE = Decimal("0.0008")
TAKER_FEE = Decimal("0.001")
SWAP_MAKER_FEE = Decimal("0.0002")
SWAP_TAKER_FEE = Decimal("0.0005")
MARKETABLE = frozenset({"market", "optimal_limit_ioc"})


class Matcher:
    def __init__(
        self, clock: Clock, bus: EventBus, ids: Ids, ledger: Ledger, markets: Markets, derivs: Derivatives
    ) -> None:
        self.clock = clock
        self.bus = bus
        self.ids = ids
        self.ledger = ledger
        self.markets = markets
        self.derivs = derivs

    # -- accepting ------------------------------------------------------------------------------

    def accept(self, acct: Account, order: Order) -> None:
        self.ledger.freeze(acct, order)
        acct.index_new(order)
        self.order_event(order)
        book = self.markets.books[order.inst.inst_id]
        if order.ord_type == "post_only" and self.crosses(order, book):
            self.finish(acct, order, "canceled", "31")
            return
        if order.ord_type == "fok" and self.fillable(order, book) < order.sz:
            self.finish(acct, order, "canceled", "13")
            return
        self.match(acct, order, book)
        if not order.pending:
            return
        if order.ord_type == "optimal_limit_ioc":
            self.finish(acct, order, "canceled", "14")
        elif order.ord_type == "market":
            if order.acc_fill_sz and order.sz_in_quote:
                self.finish(acct, order, "filled", "")  # what is left cannot buy one more lot
            else:
                self.finish(acct, order, "canceled", "0")  # the book ran dry
        elif order.ord_type in ("ioc", "fok"):
            self.finish(acct, order, "canceled", "14" if order.ord_type == "ioc" else "13")
        else:
            self.rest(order, book)

    def rest(self, order: Order, book: OrderBook) -> None:
        book.add(order)
        self.bus.book_changed(order.inst.inst_id)

    @staticmethod
    def crosses(order: Order, book: OrderBook) -> bool:
        if order.side == "buy":
            ask = book.best_px("asks")
            return ask is not None and ask <= order.px
        bid = book.best_px("bids")
        return bid is not None and bid >= order.px

    @staticmethod
    def fillable(order: Order, book: OrderBook) -> Decimal:
        """Size available at or better than the order's price (other accounts' orders only)."""
        total = ZERO
        side = "asks" if order.side == "buy" else "bids"
        for level in book.iter_levels(side):
            if (side == "asks" and level.px > order.px) or (side == "bids" and level.px < order.px):
                break
            total += sum((o.remaining for o in level.orders.values() if o.uid != order.uid), ZERO)
            if total >= order.sz:
                break
        return total

    # -- matching -------------------------------------------------------------------------------

    def match(self, acct: Account, taker: Order, book: OrderBook) -> None:
        opposite = "asks" if taker.side == "buy" else "bids"
        swap = taker.inst.is_swap
        # A swap market order carries its price limit as px (0 for the synthetic market's own).
        limit = taker.px if (taker.ord_type not in MARKETABLE or swap) and taker.px else None
        lot = taker.inst.lot_sz
        while taker.pending and taker.remaining > 0:
            level = book.best(opposite)
            if level is None:
                return
            if limit is not None and (
                (opposite == "asks" and level.px > limit) or (opposite == "bids" and level.px < limit)
            ):
                return
            for maker in level:
                if not maker.pending:
                    continue  # canceled while this level was being walked (a reduce-only order)
                if maker.uid == taker.uid:
                    # Self-trade prevention: OKX's default cancel_maker removes the resting order.
                    if taker.stp_mode == "cancel_maker":
                        self.remove_resting(maker, "32")
                        continue
                    if taker.stp_mode == "cancel_both":
                        self.remove_resting(maker, "32")
                    self.finish(acct, taker, "canceled", "32")
                    return
                if swap:
                    qty = min(taker.remaining, maker.remaining)
                    cap = self.derivs.closable(taker)
                    if cap is not None and cap < qty:
                        qty = cap
                        if qty <= 0:
                            self.finish(acct, taker, "canceled", "17")
                            return
                    maker_cap = self.derivs.closable(maker)
                    if maker_cap is not None and maker_cap < qty:
                        if maker_cap <= 0:
                            self.remove_resting(maker, "17")
                            continue
                        qty = maker_cap
                elif taker.sz_in_quote:
                    if taker.side == "buy":
                        qty = min(floor_to(taker.remaining / level.px, lot), maker.remaining)
                        if taker.frozen and qty * level.px > taker.frozen:
                            qty = floor_to(taker.frozen / level.px, lot)
                    else:
                        qty = min(floor_to(taker.remaining / level.px, lot), maker.remaining)
                        if not taker.internal:
                            qty = min(qty, floor_to(taker.frozen, lot))  # never sell base not frozen
                    if qty <= 0:
                        return
                else:
                    qty = min(taker.remaining, maker.remaining)
                    if taker.ord_type == "market" and taker.side == "buy" and taker.frozen:
                        # The frozen estimate bounds what a base-sized market buy may spend.
                        afford = floor_to(taker.frozen / level.px, lot)
                        if afford <= 0:
                            return
                        qty = min(qty, afford)
                self._trade(taker, maker, qty, level.px, level.px_str, book)
                if not taker.pending or taker.remaining <= 0:
                    return

    def _trade(
        self, taker: Order, maker: Order, qty: Decimal, px: Decimal, px_str: str, book: OrderBook
    ) -> None:
        now = self.clock.now_ms()
        trade_id = self.ids.trade()
        inst_id = taker.inst.inst_id
        # Print the trade first so that the fills' lastPx already shows it.
        trade = self.markets.tapes[inst_id].record(trade_id, px, qty, taker.side, now, px_str)
        self.markets.ref_px[inst_id] = px
        book.reduce(maker, qty)
        self._fill(maker, qty, px, px_str, "M", trade_id, now)
        if not maker.pending:
            book.remove(maker)
        self._fill(taker, qty, px, px_str, "T", trade_id, now)
        self.bus.book_changed(inst_id)
        self.bus.emit(TradeEvent(inst_id, trade))

    def _fill(
        self, order: Order, qty: Decimal, px: Decimal, px_str: str, exec_type: str, trade_id: str, now: int
    ) -> None:
        cost = qty * px
        swap = order.inst.is_swap
        if swap:
            rate = SWAP_TAKER_FEE if exec_type == "T" else SWAP_MAKER_FEE
            fee = -money(value(order.inst, qty, px) * rate)
        else:
            rate = TAKER_FEE if exec_type == "T" else MAKER_FEE
            fee = -(qty * rate if order.side == "buy" else cost * rate)
        order.acc_fill_sz += qty
        order.notional += cost
        order.fee += fee
        order.remaining -= cost if order.sz_in_quote else qty
        order.fill_px, order.fill_sz, order.fill_time, order.trade_id = px_str, fmt(qty), str(now), trade_id
        order.u_time = now
        done = order.remaining <= 0 or (
            order.sz_in_quote and order.remaining < order.inst.lot_sz * px and order.side == "buy"
        )
        order.state = "filled" if done else "partially_filled"
        acct = self.ledger.accounts[order.uid]
        if order.internal:
            if done:
                acct.retire(order)
            return
        if swap:
            self.derivs.settle_fill(order, qty, px, px_str, fee, exec_type, trade_id, now)
        else:
            self.ledger.settle_spot(order, qty, px_str, cost, fee, exec_type, trade_id, now, rate)
        if done:
            self.complete(acct, order)
        self.order_event(order, fill=(px_str, fmt(qty), str(now), trade_id, fee, exec_type))

    # -- completing and canceling ---------------------------------------------------------------

    def finish(self, acct: Account, order: Order, state: str, cancel_source: str) -> None:
        """End a pending order that is not resting in the book (taker remainder, post_only, FOK)."""
        order.state = state
        order.cancel_source = cancel_source
        order.u_time = self.clock.now_ms()
        if order.internal:
            acct.retire(order)
            return
        self.complete(acct, order)
        self.order_event(order)

    def remove_resting(self, order: Order, cancel_source: str) -> None:
        acct = self.ledger.accounts[order.uid]
        book = self.markets.books[order.inst.inst_id]
        book.remove(order)
        self.bus.book_changed(order.inst.inst_id)
        self.finish(acct, order, "canceled", cancel_source)

    def complete(self, acct: Account, order: Order) -> None:
        """Release what the order still holds and move it from pending to history."""
        self.ledger.release(acct, order)
        acct.retire(order)

    def order_event(self, order: Order, **kw: Any) -> None:
        if order.internal or not self.bus.listeners:
            return
        inst = order.inst
        last_px = fmt(self.markets.last_px(inst.inst_id))
        if inst.is_swap and "fill" in kw:
            marks = self.derivs.marks
            kw.update(mark_px=fmt(marks.mark_px(inst)), idx_px=fmt(marks.index_of(inst)))
        self.bus.emit(OrderEvent(order.uid, event_fields(order, last_px=last_px, **kw)))
