"""The simulator's exchange core: accounts, balances, orders, matching, fees, fills, bills, events.

Everything is pure Python and single-threaded (call it from the simulator's event-loop thread only).
Every value handed out is already in OKX wire form: numbers as strings, "" where not applicable,
order booleans as "true"/"false", ms timestamps as strings, 18-digit numeric ids.

Public API (used by sim.rest, sim.ws, sim.admin, sim.market)
-------------------------------------------------------------
    ex = Exchange(clock: Clock | None = None, instruments: InstrumentSet | None = None, seed: int = 7)

Accounts
    ex.create_account(balances: Mapping[str, Decimal | str], demo: bool = False,
                      fee_rates: (maker, taker) | None = None) -> uid: str
            # fee_rates: positive fractions charged (negative maker = rebate); default MAKER / TAKER_FEE
    ex.has_account(uid) -> bool;  ex.is_demo(uid) -> bool
    ex.deposit(uid, ccy, amount: Decimal | str) -> None        # admin top-up
    ex.balances(uid, ccys: Iterable[str] | None = None) -> dict  # GET /account/balance data[0]
    ex.transfer(uid, ccy, change: Decimal, counterpart="6") -> bill  # asset/transfer's trading side

Orders (params = the raw JSON object of one order; "" and None count as absent)
    ex.place_order(uid, params) -> {"clOrdId","ordId","tag","ts","sCode","sMsg"}
    ex.cancel_order(uid, params) -> {"clOrdId","ordId","ts","sCode","sMsg"}
    ex.amend_order(uid, params)  -> {"clOrdId","ordId","ts","reqId","sCode","sMsg"}
    ex.cancel_all(uid, inst_id: str | None = None, source: str = "1", tag: str | None = None)
            -> list[order dict]   # source "20" for cancel-all-after; returns the orders it canceled
    ex.mass_cancel(uid, inst_id=None) -> list[order dict]       # same, cancelSource "1"
    ex.get_order(uid, inst_id, ord_id=None, cl_ord_id=None) -> order dict | None
            # ordId wins over clOrdId; a clOrdId reused after completion returns the latest order
    ex.pending_orders(uid, filters) -> list[order dict]   # instType instId ordType state after before limit
    ex.order_history(uid, filters) -> list[order dict]    # + state (filled|canceled), begin, end;
            # completed orders 7 days, canceled-without-fill 2 hours; instType required
    ex.fills(uid, filters) -> list[dict]   # instType instId ordId subType after before (billId) begin end limit
    ex.bills(uid, filters) -> list[dict]   # instType instId ccy type subType after before begin end limit
    ex.all_orders(uid) -> list[order dict]               # every order ever, any state (admin)
  Filters are Mapping[str, str] of query parameters; a bad value raises ParamError(code, msg)
  (e.g. ("51000", "Parameter limit error")); the HTTP layer turns it into a top-level error.
  Lists are newest first; limit defaults to 100, and a larger one is answered with 100.

Market data
    ex.book(inst_id) -> OrderBook; OrderBook.levels("bids"|"asks", depth) -> [(px_str, sz_str, n_orders)]
    ex.books(inst_id, depth) -> {"asks": [[px, sz, "0", n]], "bids": [...], "ts": str}
    ex.ticker(inst_id) -> dict;  ex.tickers() -> list[dict]
    ex.trades(inst_id, limit=100) -> list[dict]      # {instId,tradeId,px,sz,side,ts,count,source}
    ex.candles(inst_id, bar="1m", after=None, before=None, limit=100) -> list[list[str]]  # newest first
    ex.instrument(inst_id) -> Instrument | None;  ex.instruments -> InstrumentSet
    ex.has_instrument(inst_id) -> bool;  ex.currencies() -> set[str]
    ex.fee_rates() -> (maker, taker) Decimal fractions, positive (0.0008, 0.001)
    ex.reference_price(inst_id) -> Decimal;  ex.set_reference_price(inst_id, px)  # price-limit band
  Unknown instId raises UnknownInstrument; a bad bar raises ParamError("51000", "Parameter bar error").

    ex.batch() -> context manager: BalanceEvent / BookEvent of everything inside go out once, at the end
    ex.tape_snapshot(inst_id) -> dict;  ex.restore_tape(inst_id, snapshot)   # 1m candles, trades, last
    ex.is_pending(uid, ord_id) -> bool;  ex.pending_ids(uid) -> read-only live Mapping of ordIds

Events: ex.add_listener(fn) / ex.remove_listener(fn); fn(event) is called synchronously, in order:
    OrderEvent(uid, order)       # orders-channel object: wire order + fillFee, fillFeeCcy, execType,
                                 # fillSz/fillPx/fillTime/tradeId of this update, amendResult, reqId, code, msg
    BalanceEvent(uid, ccys)      # balances of these currencies changed (once per operation)
    BookEvent(inst_id)           # the book changed (once per operation)
    TradeEvent(inst_id, trade)   # one public trade (the trades-endpoint item)
The synthetic market's own accounts (create_account(..., internal=True)) have unlimited balances and
produce no OrderEvent / BalanceEvent, fills, bills or history: they only move books and print trades.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from itertools import count
from types import MappingProxyType
from typing import Any

from okxbot.sim.accounts import Account, balance_detail
from okxbot.sim.book import OrderBook
from okxbot.sim.clock import Clock
from okxbot.sim.events import BalanceEvent, BookEvent, Event, Listener, OrderEvent, TradeEvent
from okxbot.sim.filters import ListFilters, ParamError, UnknownInstrument, param_str
from okxbot.sim.instruments import ZERO, Instrument, InstrumentSet, ceil_to, floor_to, fmt, is_multiple
from okxbot.sim.order import Order, event_fields
from okxbot.sim.records import Fill, bill_records, fill_record, transfer_bill
from okxbot.sim.tape import Candle, Tape, UnknownBar

__all__ = [
    "BalanceEvent", "BookEvent", "Event", "Exchange", "Listener", "OrderEvent", "ParamError", "TradeEvent",
    "UnknownInstrument",
]  # fmt: skip

log = logging.getLogger("okxbot.sim.engine")

MAKER_FEE = Decimal("0.0008")
TAKER_FEE = Decimal("0.001")
MARKET_BUFFER = Decimal("1.05")  # market orders freeze 5% more than their estimate (OKX risk check)
PRICE_BAND = Decimal("0.2")  # limit buys above last*1.2 or sells below last*0.8 are refused (51006)
MAX_PENDING_ACCOUNT = 4000
MAX_PENDING_INSTRUMENT = 500
HISTORY_MS = 7 * 24 * 3600 * 1000
UNFILLED_CANCELED_MS = 2 * 3600 * 1000
FILLS_MS = 3 * 24 * 3600 * 1000
ORDER_TYPES = frozenset({"market", "limit", "post_only", "ioc", "fok"})
REQUIRED = ("instId", "tdMode", "side", "ordType", "sz")
_CL_ORD_ID = re.compile(r"[A-Za-z0-9]{1,32}")
_TAG = re.compile(r"[A-Za-z0-9]{1,16}")


class _Reject(Exception):
    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def _dec(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        raise _Reject("51000", f"Parameter {name} error") from None
    if not value.is_finite() or value <= 0:
        raise _Reject("51000", f"Parameter {name} error")
    return value


class Exchange:
    def __init__(
        self, clock: Clock | None = None, instruments: InstrumentSet | None = None, seed: int = 7
    ) -> None:
        self.clock = clock or Clock()
        self.instruments = instruments or InstrumentSet()
        self.seed = seed
        self._books = {i.inst_id: OrderBook(i.inst_id) for i in self.instruments}
        self._tapes = {i.inst_id: Tape(i.inst_id, i.start_px) for i in self.instruments}
        self._ref_px: dict[str, Decimal] = {i.inst_id: i.start_px for i in self.instruments}
        self._accounts: dict[str, Account] = {}
        # 18-digit numeric ids like OKX's; the seed shifts them so two simulators don't collide.
        base = 600_000_000_000_000_000 + (seed % 1000) * 1_000_000_000_000
        self._ord_ids = count(base + 1)
        self._trade_ids = count(base + 500_000_000_001)
        self._bill_ids = count(base + 700_000_000_001)
        self._uids = count(100_000_000_000_001 + (seed % 1000) * 1_000_000)
        self._listeners: list[Listener] = []
        self._dirty_bal: dict[str, set[str]] = {}
        self._dirty_books: set[str] = set()
        self._batch_depth = 0

    # ------------------------------------------------------------------ listeners and flushing

    def add_listener(self, fn: Listener) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _emit(self, event: Event) -> None:
        for fn in list(self._listeners):
            try:
                fn(event)
            except Exception:
                # A broken subscriber must not corrupt the matching engine's state mid-operation.
                log.exception("simulator listener %r failed on %s", fn, type(event).__name__)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group many operations (a market step) so balance and book events go out once, at the end."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            self._flush()

    def _flush(self) -> None:
        """Emit the per-operation aggregate events (balances, books) once the operation is done."""
        if self._batch_depth:
            return
        dirty, self._dirty_bal = self._dirty_bal, {}
        for uid, ccys in dirty.items():
            self._emit(BalanceEvent(uid, sorted(ccys)))
        books, self._dirty_books = self._dirty_books, set()
        for inst_id in sorted(books):
            self._emit(BookEvent(inst_id))

    # ------------------------------------------------------------------ accounts and balances

    def create_account(
        self,
        balances: Mapping[str, Decimal | str] | None = None,
        demo: bool = False,
        internal: bool = False,
        fee_rates: tuple[Decimal, Decimal] | None = None,
    ) -> str:
        uid = str(next(self._uids))
        acct = self._accounts[uid] = Account(uid, demo, internal, fee_rates=fee_rates)
        now = self.clock.now_ms()
        for ccy, amount in (balances or {}).items():
            try:
                value = Decimal(amount)
            except (InvalidOperation, ValueError, TypeError):
                raise ValueError(f"balance of {ccy} must be a decimal number, got {amount!r}") from None
            b = acct.bal(ccy)
            b.cash = value
            b.u_time = now
        return uid

    def has_account(self, uid: str) -> bool:
        return uid in self._accounts

    def is_demo(self, uid: str) -> bool:
        return self._account(uid).demo

    def _account(self, uid: str) -> Account:
        acct = self._accounts.get(uid)
        if acct is None:
            raise KeyError(f"no simulator account with uid {uid!r}; create one with create_account()")
        return acct

    def deposit(self, uid: str, ccy: str, amount: Decimal | str) -> None:
        acct = self._account(uid)
        b = acct.bal(ccy)
        b.cash += Decimal(amount)
        b.u_time = self.clock.now_ms()
        self._touch(acct, ccy)
        self._flush()

    def _touch(self, acct: Account, *ccys: str) -> None:
        if not acct.internal:
            self._dirty_bal.setdefault(acct.uid, set()).update(ccys)

    def usd_price(self, ccy: str) -> Decimal:
        """A currency's value in USD(T), from the last trade of CCY-USDT (stablecoins are 1)."""
        if ccy in ("USDT", "USDC", "USD"):
            return Decimal(1)
        tape = self._tapes.get(f"{ccy}-USDT")
        return tape.last_px if tape is not None else ZERO

    def balances(self, uid: str, ccys: Iterable[str] | None = None) -> dict[str, Any]:
        """GET /api/v5/account/balance data[0] in Spot mode (acctLv "1": the *Eq margin fields are "")."""
        acct = self._account(uid)
        wanted = set(ccys) if ccys else None
        details = []
        total_usd = ZERO
        frozen_usd = ZERO
        u_time = 0
        for ccy in sorted(acct.balances):
            b = acct.balances[ccy]
            if wanted is not None and ccy not in wanted:
                continue
            if not b.cash and not b.frozen:
                continue  # OKX omits currencies with nothing in them
            usd = self.usd_price(ccy)
            total_usd += b.cash * usd
            frozen_usd += b.frozen * usd
            u_time = max(u_time, b.u_time)
            details.append(balance_detail(ccy, b, usd))
        return {
            "adjEq": "", "availEq": "", "borrowFroz": "", "details": details, "imr": "", "isoEq": "",
            "mgnRatio": "", "mmr": "", "notionalUsd": "", "notionalUsdForBorrow": "",
            "notionalUsdForFutures": "", "notionalUsdForOption": "", "notionalUsdForSwap": "",
            "ordFroz": fmt(frozen_usd), "totalEq": fmt(total_usd), "uTime": str(u_time or self.clock.now_ms()),
            "upl": "",
        }  # fmt: skip

    def transfer(self, uid: str, ccy: str, change: Decimal, counterpart: str = "6") -> dict[str, str]:
        """Move `change` into (> 0) or out of (< 0) the trading account for `asset/transfer` (the funding
        side lives in sim.funding_account): one bill, type "1". ParamError 58116 if the available balance is short."""
        acct = self._account(uid)
        b = acct.bal(ccy)
        if change < 0 and b.avail < -change:
            raise ParamError("58116", "Transfer exceeds the available amount.")
        now = self.clock.now_ms()
        b.cash += change
        b.u_time = now
        bill = transfer_bill(str(next(self._bill_ids)), ccy, change, b.cash, now, counterpart)
        acct.bills.append(bill)
        self._touch(acct, ccy)
        self._flush()
        return bill

    # ------------------------------------------------------------------ instruments and ids

    def instrument(self, inst_id: str) -> Instrument | None:
        return self.instruments.get(inst_id)

    def has_instrument(self, inst_id: str) -> bool:
        return inst_id in self.instruments

    def currencies(self) -> set[str]:
        return self.instruments.currencies()

    @staticmethod
    def fee_rates() -> tuple[Decimal, Decimal]:
        """(maker, taker) as positive fractions; OKX shows them negated on the wire."""
        return MAKER_FEE, TAKER_FEE

    def _inst(self, inst_id: str) -> Instrument:
        inst = self.instruments.get(inst_id)
        if inst is None:
            raise UnknownInstrument(inst_id)
        return inst

    def book(self, inst_id: str) -> OrderBook:
        self._inst(inst_id)
        return self._books[inst_id]

    def reference_price(self, inst_id: str) -> Decimal:
        self._inst(inst_id)
        return self._ref_px[inst_id]

    def set_reference_price(self, inst_id: str, px: Decimal) -> None:
        self._inst(inst_id)
        self._ref_px[inst_id] = px

    def _price_limits(self, inst: Instrument) -> tuple[Decimal, Decimal]:
        ref = self._ref_px[inst.inst_id]
        return floor_to(ref * (1 + PRICE_BAND), inst.tick_sz), ceil_to(ref * (1 - PRICE_BAND), inst.tick_sz)

    # ------------------------------------------------------------------ placing

    def place_order(self, uid: str, params: Mapping[str, Any]) -> dict[str, str]:
        acct = self._account(uid)
        now = self.clock.now_ms()
        cl = param_str(params.get("clOrdId"))
        tag = param_str(params.get("tag"))
        try:
            order = self._validate(acct, params, cl, tag, now)
        except _Reject as r:
            return {"clOrdId": cl, "ordId": "", "tag": tag, "ts": str(now), "sCode": r.code, "sMsg": r.msg}
        self._accept(acct, order)
        self._flush()
        return {
            "clOrdId": cl,
            "ordId": order.ord_id,
            "tag": tag,
            "ts": str(now),
            "sCode": "0",
            "sMsg": "Order placed",
        }

    def _validate(self, acct: Account, params: Mapping[str, Any], cl: str, tag: str, now: int) -> Order:
        for name in REQUIRED:
            if not param_str(params.get(name)):
                raise _Reject("50014", f"Parameter {name} can not be empty.")
        if cl and not _CL_ORD_ID.fullmatch(cl):
            raise _Reject("51000", "Parameter clOrdId error")
        if tag and not _TAG.fullmatch(tag):
            raise _Reject("51000", "Parameter tag error")
        inst = self.instruments.get(param_str(params["instId"]))
        if inst is None:
            raise _Reject("51001", "Instrument ID or Spread ID doesn't exist.")
        td_mode = param_str(params["tdMode"])
        if td_mode in ("cross", "isolated", "spot_isolated"):
            raise _Reject("51010", "You can't complete this request under your current account mode.")
        if td_mode != "cash":
            raise _Reject("51000", "Parameter tdMode error")
        side = param_str(params["side"])
        if side not in ("buy", "sell"):
            raise _Reject("51000", "Parameter side error")
        ord_type = param_str(params["ordType"])
        if ord_type not in ORDER_TYPES:
            raise _Reject("51000", "Parameter ordType error")
        sz = _dec(param_str(params["sz"]), "sz")
        stp_mode = param_str(params.get("stpMode")) or "cancel_maker"
        if stp_mode not in ("cancel_maker", "cancel_taker", "cancel_both"):
            raise _Reject("51000", "Parameter stpMode error")

        tgt = param_str(params.get("tgtCcy"))
        if ord_type == "market":
            if tgt not in ("", "base_ccy", "quote_ccy"):
                raise _Reject("51000", "Parameter tgtCcy error")
            tgt = tgt or ("quote_ccy" if side == "buy" else "base_ccy")
            px = ZERO
        else:
            tgt = ""
            px_text = param_str(params.get("px"))
            if not px_text:
                raise _Reject("51204", "The price for the limit order cannot be empty.")
            px = _dec(px_text, "px")
            if not is_multiple(px, inst.tick_sz):
                raise _Reject("51000", "Parameter px error")

        if cl and cl in acct.pending_by_cl:
            raise _Reject("51016", "Client order ID already exists.")

        ref = self._ref_px[inst.inst_id]
        if tgt == "quote_ccy":
            # sz is an amount of quote currency: the base it buys must still meet minSz.
            if sz / ref < inst.min_sz:
                raise _Reject("51020", "Your order should meet or exceed the minimum order amount.")
        else:
            if not is_multiple(sz, inst.lot_sz):
                raise _Reject("51121", "Order quantity must be a multiple of the lot size.")
            if sz < inst.min_sz:
                raise _Reject("51020", "Your order should meet or exceed the minimum order amount.")

        if ord_type != "market" and not acct.internal:
            max_buy, min_sell = self._price_limits(inst)
            if (side == "buy" and px > max_buy) or (side == "sell" and px < min_sell):
                raise _Reject(
                    "51006",
                    f"Order price is not within the price limit (max buy price: {fmt(max_buy)} , "
                    f"min sell price: {fmt(min_sell)} )",
                )

        if not acct.internal:
            if len(acct.pending) >= MAX_PENDING_ACCOUNT or (
                acct.pending_per_inst.get(inst.inst_id, 0) >= MAX_PENDING_INSTRUMENT
            ):
                raise _Reject("51025", "Order count exceeds the limit.")

        order = Order(
            uid=acct.uid, inst=inst, ord_id="", cl_ord_id=cl, tag=tag, side=side, ord_type=ord_type,
            td_mode=td_mode, tgt_ccy=tgt, px=px, sz=sz, remaining=sz, c_time=now, u_time=now,
            internal=acct.internal, stp_mode=stp_mode,
        )  # fmt: skip
        if not acct.internal:
            need = self._freeze_amount(order)
            ccy = order.frozen_ccy
            if acct.bal(ccy).avail < need:
                raise _Reject("51008", f"Order failed. Insufficient {ccy} balance in account")
            order.frozen = need
        order.ord_id = str(next(self._ord_ids))
        return order

    def _freeze_amount(self, order: Order) -> Decimal:
        book = self._books[order.inst.inst_id]
        if order.ord_type != "market":
            return order.px * order.sz if order.side == "buy" else order.sz
        if order.side == "buy":
            if order.sz_in_quote:
                return order.sz * MARKET_BUFFER
            ask = book.best_px("asks") or self._ref_px[order.inst.inst_id]
            return order.sz * ask * MARKET_BUFFER
        if order.sz_in_quote:
            bid = book.best_px("bids") or self._ref_px[order.inst.inst_id]
            # Rounded to the lot: an inexact quotient would leave dust frozen after release.
            return ceil_to(order.sz / bid * MARKET_BUFFER, order.inst.lot_sz)
        return order.sz

    def _accept(self, acct: Account, order: Order) -> None:
        if order.frozen:
            b = acct.bal(order.frozen_ccy)
            b.frozen += order.frozen
            b.u_time = order.c_time
            self._touch(acct, order.frozen_ccy)
        self._index_new(acct, order)
        self._order_event(order)
        book = self._books[order.inst.inst_id]
        if order.ord_type == "post_only" and self._crosses(order, book):
            self._finish(acct, order, "canceled", "31")
            return
        if order.ord_type == "fok" and self._fillable(order, book) < order.sz:
            self._finish(acct, order, "canceled", "13")
            return
        self._match(acct, order, book)
        if not order.pending:
            return
        if order.ord_type == "market":
            if order.acc_fill_sz and order.sz_in_quote:
                self._finish(acct, order, "filled", "")  # what is left cannot buy one more lot
            else:
                self._finish(acct, order, "canceled", "0")  # the book ran dry
        elif order.ord_type in ("ioc", "fok"):
            self._finish(acct, order, "canceled", "14" if order.ord_type == "ioc" else "13")
        else:
            book.add(order)
            self._dirty_books.add(order.inst.inst_id)

    def _index_new(self, acct: Account, order: Order) -> None:
        if acct.internal:
            acct.pending[order.ord_id] = order
            return
        acct.pending[order.ord_id] = order
        acct.visible[order.ord_id] = order
        acct.every.append(order)
        inst_id = order.inst.inst_id
        acct.pending_per_inst[inst_id] = acct.pending_per_inst.get(inst_id, 0) + 1
        if order.cl_ord_id:
            acct.pending_by_cl[order.cl_ord_id] = order
            acct.latest_by_cl[order.cl_ord_id] = order

    @staticmethod
    def _crosses(order: Order, book: OrderBook) -> bool:
        if order.side == "buy":
            ask = book.best_px("asks")
            return ask is not None and ask <= order.px
        bid = book.best_px("bids")
        return bid is not None and bid >= order.px

    @staticmethod
    def _fillable(order: Order, book: OrderBook) -> Decimal:
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

    # ------------------------------------------------------------------ matching

    def _match(self, acct: Account, taker: Order, book: OrderBook) -> None:
        opposite = "asks" if taker.side == "buy" else "bids"
        limit = taker.px if taker.ord_type != "market" else None
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
                if maker.uid == taker.uid:
                    # Self-trade prevention: OKX's default cancel_maker removes the resting order.
                    if taker.stp_mode == "cancel_maker":
                        self._remove_resting(maker, "32")
                        continue
                    if taker.stp_mode == "cancel_both":
                        self._remove_resting(maker, "32")
                    self._finish(acct, taker, "canceled", "32")
                    return
                if taker.sz_in_quote:
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
        trade_id = str(next(self._trade_ids))
        inst_id = taker.inst.inst_id
        # Print the trade first so that the fills' lastPx already shows it.
        trade = self._tapes[inst_id].record(trade_id, px, qty, taker.side, now, px_str)
        self._ref_px[inst_id] = px
        book.reduce(maker, qty)
        self._fill(maker, qty, px, px_str, "M", trade_id, now)
        if not maker.pending:
            book.remove(maker)
        self._fill(taker, qty, px, px_str, "T", trade_id, now)
        self._dirty_books.add(inst_id)
        self._emit(TradeEvent(inst_id, trade))

    def _fill(
        self, order: Order, qty: Decimal, px: Decimal, px_str: str, exec_type: str, trade_id: str, now: int
    ) -> None:
        cost = qty * px
        rates = self._accounts[order.uid].fee_rates
        if rates is None:
            rate = TAKER_FEE if exec_type == "T" else MAKER_FEE
        else:
            rate = rates[1] if exec_type == "T" else rates[0]
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
        if order.internal:
            if done:
                self._accounts[order.uid].pending.pop(order.ord_id, None)
            return
        acct = self._accounts[order.uid]
        base, quote = order.inst.base_ccy, order.inst.quote_ccy
        b_base, b_quote = acct.bal(base), acct.bal(quote)
        if order.side == "buy":
            release = qty * order.px if order.ord_type != "market" else cost
            release = min(release, order.frozen)
            order.frozen -= release
            b_quote.frozen -= release
            b_quote.cash -= cost
            b_base.cash += qty + fee
        else:
            release = min(qty, order.frozen)
            order.frozen -= release
            b_base.frozen -= release
            b_base.cash -= qty
            b_quote.cash += cost + fee
        b_base.u_time = b_quote.u_time = now
        self._touch(acct, base, quote)
        self._record_fill(acct, order, qty, px_str, fee, exec_type, trade_id, now, rate, cost)
        if done:
            self._complete(acct, order)
        self._order_event(order, fill=(px_str, fmt(qty), str(now), trade_id, fee, exec_type))

    def _record_fill(
        self, acct: Account, order: Order, qty: Decimal, px_str: str, fee: Decimal, exec_type: str,
        trade_id: str, now: int, rate: Decimal, cost: Decimal,
    ) -> None:  # fmt: skip
        fill = Fill(order, qty, px_str, fee, exec_type, trade_id, now, rate, cost)
        pay_bill, recv_bill = str(next(self._bill_ids)), str(next(self._bill_ids))
        acct.bills.extend(bill_records(fill, pay_bill, recv_bill, lambda ccy: acct.bal(ccy).cash))
        acct.fills.append(fill_record(fill, recv_bill))
        self._prune_records(acct, now)

    # ------------------------------------------------------------------ completing and canceling

    def _finish(self, acct: Account, order: Order, state: str, cancel_source: str) -> None:
        """End a pending order that is not resting in the book (taker remainder, post_only, FOK)."""
        order.state = state
        order.cancel_source = cancel_source
        order.u_time = self.clock.now_ms()
        if order.internal:
            acct.pending.pop(order.ord_id, None)
            return
        self._complete(acct, order)
        self._order_event(order)

    def _remove_resting(self, order: Order, cancel_source: str) -> None:
        acct = self._accounts[order.uid]
        book = self._books[order.inst.inst_id]
        book.remove(order)
        self._dirty_books.add(order.inst.inst_id)
        self._finish(acct, order, "canceled", cancel_source)

    def _complete(self, acct: Account, order: Order) -> None:
        """Release what the order still holds and move it from pending to history."""
        if order.frozen:
            b = acct.bal(order.frozen_ccy)
            b.frozen -= order.frozen
            b.u_time = order.u_time
            order.frozen = ZERO
            self._touch(acct, order.frozen_ccy)
        if acct.pending.pop(order.ord_id, None) is None:
            return
        inst_id = order.inst.inst_id
        acct.pending_per_inst[inst_id] -= 1
        if order.cl_ord_id and acct.pending_by_cl.get(order.cl_ord_id) is order:
            del acct.pending_by_cl[order.cl_ord_id]
        if order.acc_fill_sz:
            acct.done_filled.append(order)
        else:
            acct.done_unfilled.append(order)
        self._prune_history(acct, order.u_time)

    def _prune_history(self, acct: Account, now: int) -> None:
        for queue, keep in ((acct.done_filled, HISTORY_MS), (acct.done_unfilled, UNFILLED_CANCELED_MS)):
            while queue and now - queue[0].u_time > keep:
                old = queue.popleft()
                acct.visible.pop(old.ord_id, None)
                if old.cl_ord_id and acct.latest_by_cl.get(old.cl_ord_id) is old:
                    del acct.latest_by_cl[old.cl_ord_id]

    def _prune_records(self, acct: Account, now: int) -> None:
        while acct.fills and now - int(acct.fills[0]["ts"]) > FILLS_MS:
            acct.fills.popleft()
        while acct.bills and now - int(acct.bills[0]["ts"]) > HISTORY_MS:
            acct.bills.popleft()

    def _order_event(self, order: Order, **kw: Any) -> None:
        if order.internal or not self._listeners:
            return
        last_px = fmt(self._tapes[order.inst.inst_id].last_px)
        self._emit(OrderEvent(order.uid, event_fields(order, last_px=last_px, **kw)))

    def _find(self, acct: Account, params: Mapping[str, Any]) -> tuple[Order | None, str, str]:
        ord_id = param_str(params.get("ordId"))
        cl = param_str(params.get("clOrdId"))
        if ord_id:
            return acct.pending.get(ord_id), ord_id, cl
        return acct.pending_by_cl.get(cl), ord_id, cl

    def cancel_order(self, uid: str, params: Mapping[str, Any]) -> dict[str, str]:
        acct = self._account(uid)
        now = str(self.clock.now_ms())
        order, ord_id, cl = self._find(acct, params)

        def result(code: str, msg: str) -> dict[str, str]:
            return {"clOrdId": cl, "ordId": ord_id, "ts": now, "sCode": code, "sMsg": msg}

        if not param_str(params.get("instId")):
            return result("50014", "Parameter instId can not be empty.")
        if not ord_id and not cl:
            return result("51003", "Either client order ID or order ID is required.")
        if param_str(params["instId"]) not in self.instruments:
            return result("51001", "Instrument ID or Spread ID doesn't exist.")
        if order is None or order.inst.inst_id != param_str(params["instId"]):
            return result(
                "51400", "Order cancellation failed as the order has been filled, canceled or does not exist."
            )
        ord_id, cl = order.ord_id, order.cl_ord_id
        self._remove_resting(order, "1")
        self._flush()
        return result("0", "")

    def cancel_all(
        self, uid: str, inst_id: str | None = None, source: str = "1", tag: str | None = None
    ) -> list[dict[str, Any]]:
        """Cancel every pending order of the account (of one instrument / one tag if given); oldest first."""
        acct = self._account(uid)
        victims = [
            o
            for o in acct.pending.values()
            if (inst_id is None or o.inst.inst_id == inst_id) and (tag is None or o.tag == tag)
        ]
        for order in victims:
            self._remove_resting(order, source)
        self._flush()
        return [o.to_wire() for o in victims]

    def mass_cancel(self, uid: str, inst_id: str | None = None) -> list[dict[str, Any]]:
        return self.cancel_all(uid, inst_id, "1")

    # ------------------------------------------------------------------ amending

    def amend_order(self, uid: str, params: Mapping[str, Any]) -> dict[str, str]:
        acct = self._account(uid)
        now = self.clock.now_ms()
        order, ord_id, cl = self._find(acct, params)
        req_id = param_str(params.get("reqId"))

        def result(code: str, msg: str) -> dict[str, str]:
            return {
                "clOrdId": cl,
                "ordId": ord_id,
                "ts": str(now),
                "reqId": req_id,
                "sCode": code,
                "sMsg": msg,
            }

        inst_id = param_str(params.get("instId"))
        if not inst_id:
            return result("50014", "Parameter instId can not be empty.")
        if not ord_id and not cl:
            return result("51003", "Either client order ID or order ID is required.")
        if inst_id not in self.instruments:
            return result("51001", "Instrument ID or Spread ID doesn't exist.")
        new_sz_text, new_px_text = param_str(params.get("newSz")), param_str(params.get("newPx"))
        if not new_sz_text and not new_px_text:
            return result("50015", "Either parameter newSz or newPx is required")
        if order is None or order.inst.inst_id != inst_id:
            return result("51503", "Your order has already been filled or canceled.")
        ord_id, cl = order.ord_id, order.cl_ord_id
        if order.ord_type == "market":
            return result("51506", "Order modification unavailable for the order type.")
        try:
            new_sz = _dec(new_sz_text, "newSz") if new_sz_text else order.sz
            new_px = _dec(new_px_text, "newPx") if new_px_text else order.px
        except _Reject as r:
            return result(r.code, r.msg)
        inst = order.inst
        if not is_multiple(new_px, inst.tick_sz):
            return result("51000", "Parameter newPx error")
        if not is_multiple(new_sz, inst.lot_sz):
            return result("51121", "Order quantity must be a multiple of the lot size.")
        cancel_on_fail = param_str(params.get("cxlOnFail")) == "true"

        def fail(code: str, msg: str) -> dict[str, str]:
            if cancel_on_fail:
                self._remove_resting(order, "0")
            amend_result = "1" if cancel_on_fail else "-1"
            self._order_event(order, amend_result=amend_result, req_id=req_id, code=code, msg=msg)
            self._flush()
            return result(code, msg)

        book = self._books[inst.inst_id]
        if new_px != order.px:
            max_buy, min_sell = self._price_limits(inst)
            if (order.side == "buy" and new_px > max_buy) or (order.side == "sell" and new_px < min_sell):
                return fail(
                    "51006",
                    f"Order price is not within the price limit (max buy price: {fmt(max_buy)} , "
                    f"min sell price: {fmt(min_sell)} )",
                )
        if new_sz <= order.acc_fill_sz:
            # Amending the size down to what already filled completes the order (OKX: state filled).
            book.remove(order)
            self._dirty_books.add(inst.inst_id)
            order.sz, order.remaining = new_sz, ZERO
            order.state = "filled"
            order.u_time = now
            self._complete(acct, order)
            self._order_event(order, amend_result="0", req_id=req_id)
            self._flush()
            return result("0", "")
        new_remaining = new_sz - order.acc_fill_sz
        new_frozen = new_remaining * new_px if order.side == "buy" else new_remaining
        b = acct.bal(order.frozen_ccy)
        if new_frozen - order.frozen > b.avail:
            return fail("51502", "Unable to edit order: insufficient balance or margin.")
        probe = Order(
            uid=order.uid, inst=inst, ord_id=order.ord_id, cl_ord_id="", tag="", side=order.side,
            ord_type=order.ord_type, td_mode=order.td_mode, tgt_ccy="", px=new_px, sz=new_remaining,
            remaining=new_remaining, c_time=now, u_time=now,
        )  # fmt: skip
        if order.ord_type == "post_only" and self._crosses(probe, book):
            return fail(
                "51511", "Modification failed as the order price did not meet the requirement for Post Only."
            )
        # Keep time priority only when the price is unchanged and the size does not grow.
        keep_priority = new_px == order.px and new_remaining <= order.remaining
        if keep_priority:
            book.reduce(order, order.remaining - new_remaining)
        else:
            book.remove(order)
        b.frozen += new_frozen - order.frozen
        b.u_time = now
        self._touch(acct, order.frozen_ccy)
        order.frozen = new_frozen
        order.sz, order.px, order.remaining, order.u_time = new_sz, new_px, new_remaining, now
        self._dirty_books.add(inst.inst_id)
        self._order_event(order, amend_result="0", req_id=req_id)
        if not keep_priority:
            self._match(acct, order, book)
            if order.pending:
                book.add(order)
        self._flush()
        return result("0", "")

    # ------------------------------------------------------------------ queries

    def get_order(
        self, uid: str, inst_id: str, ord_id: str | None = None, cl_ord_id: str | None = None
    ) -> dict[str, Any] | None:
        acct = self._account(uid)
        self._prune_history(acct, self.clock.now_ms())
        order = acct.visible.get(ord_id) if ord_id else acct.latest_by_cl.get(cl_ord_id or "")
        if order is None or order.inst.inst_id != inst_id:
            return None
        return order.to_wire()

    def is_pending(self, uid: str, ord_id: str) -> bool:
        return ord_id in self._account(uid).pending

    def pending_ids(self, uid: str) -> Mapping[str, object]:
        """A live read-only view of the account's pending ordIds (cheap membership tests)."""
        return MappingProxyType(self._account(uid).pending)

    def all_orders(self, uid: str) -> list[dict[str, Any]]:
        return [o.to_wire() for o in self._account(uid).every]

    def pending_orders(self, uid: str, filters: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        f = ListFilters(filters or {})
        state = f.choice("state", ("live", "partially_filled"))
        acct = self._account(uid)
        return f.page(
            (
                o
                for o in reversed(acct.pending.values())
                if f.order_matches(o) and (not state or o.state == state)
            ),
            key=lambda o: int(o.ord_id),
            render=Order.to_wire,
        )

    def order_history(self, uid: str, filters: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        f = ListFilters(filters or {})
        if not f.get("instType"):
            raise ParamError("50014", "Parameter instType can not be empty.")
        state = f.choice("state", ("canceled", "filled"))
        begin, end = f.integer("begin"), f.integer("end")
        acct = self._account(uid)
        self._prune_history(acct, self.clock.now_ms())
        done = sorted((*acct.done_filled, *acct.done_unfilled), key=lambda o: int(o.ord_id), reverse=True)
        return f.page(
            (
                o
                for o in done
                if f.order_matches(o)
                and (not state or o.state == state)
                and (begin is None or o.c_time >= begin)
                and (end is None or o.c_time <= end)
            ),
            key=lambda o: int(o.ord_id),
            render=Order.to_wire,
        )

    def fills(self, uid: str, filters: Mapping[str, str] | None = None) -> list[dict[str, str]]:
        f = ListFilters(filters or {})
        acct = self._account(uid)
        self._prune_records(acct, self.clock.now_ms())
        ord_id, sub_type = f.get("ordId"), f.get("subType")
        return f.page(
            (
                r
                for r in reversed(acct.fills)
                if f.record_matches(r)
                and (not ord_id or r["ordId"] == ord_id)
                and (not sub_type or r["subType"] == sub_type)
            ),
            key=lambda r: int(r["billId"]),
        )

    def bills(self, uid: str, filters: Mapping[str, str] | None = None) -> list[dict[str, str]]:
        f = ListFilters(filters or {})
        acct = self._account(uid)
        self._prune_records(acct, self.clock.now_ms())
        ccy, typ, sub_type = f.get("ccy"), f.get("type"), f.get("subType")
        return f.page(
            (
                r
                for r in reversed(acct.bills)
                if f.record_matches(r)
                and (not ccy or r["ccy"] == ccy)
                and (not typ or r["type"] == typ)
                and (not sub_type or r["subType"] == sub_type)
            ),
            key=lambda r: int(r["billId"]),
        )

    # ------------------------------------------------------------------ market data

    def _best(self, inst_id: str) -> dict[str, str]:
        book = self._books[inst_id]
        bid, ask = book.best("bids"), book.best("asks")
        return {
            "bidPx": bid.px_str if bid else "",
            "bidSz": fmt(bid.total) if bid else "",
            "askPx": ask.px_str if ask else "",
            "askSz": fmt(ask.total) if ask else "",
        }

    def ticker(self, inst_id: str) -> dict[str, str]:
        self._inst(inst_id)
        return self._tapes[inst_id].ticker(self.clock.now_ms(), self._best(inst_id))

    def tickers(self) -> list[dict[str, str]]:
        return [self.ticker(i) for i in self.instruments.ids()]

    def books(self, inst_id: str, depth: int = 1) -> dict[str, Any]:
        book = self.book(inst_id)
        return {
            "asks": [[px, sz, "0", str(n)] for px, sz, n in book.levels("asks", depth)],
            "bids": [[px, sz, "0", str(n)] for px, sz, n in book.levels("bids", depth)],
            "ts": str(self.clock.now_ms()),
        }

    def trades(self, inst_id: str, limit: int = 100) -> list[dict[str, str]]:
        self._inst(inst_id)
        return self._tapes[inst_id].recent_trades(limit)

    def candles(
        self,
        inst_id: str,
        bar: str = "1m",
        after: int | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[list[str]]:
        self._inst(inst_id)
        try:
            return self._tapes[inst_id].candles(bar, self.clock.now_ms(), after, before, limit)
        except UnknownBar:
            raise ParamError("51000", "Parameter bar error") from None

    def seed_candle(self, inst_id: str, minute_ms: int, o: Decimal, h: Decimal, low: Decimal, c: Decimal,
                    vol: Decimal) -> None:  # fmt: skip
        """Backfill one minute of synthetic history (the market does this at start)."""
        self._inst(inst_id)
        self._tapes[inst_id].seed_minute(minute_ms, Candle(o, h, low, c, vol, vol * (o + c) / 2))

    def tape_snapshot(self, inst_id: str) -> dict[str, Any]:
        """What the tape holds (1m candles, recent trades, last trade), in wire strings, so that
        `restore_tape` on another exchange serves the same candles, trades and tickers."""
        self._inst(inst_id)
        return self._tapes[inst_id].snapshot()

    def restore_tape(self, inst_id: str, snapshot: Mapping[str, Any]) -> None:
        self._inst(inst_id)
        self._tapes[inst_id].restore(snapshot)

    def seed_trade(self, inst_id: str, px: Decimal, sz: Decimal, side: str, ts: int) -> None:
        """Backfill one historical trade (oldest first); like a live one, it builds its minute's candle."""
        self._inst(inst_id)
        self._tapes[inst_id].record(str(next(self._trade_ids)), px, sz, side, ts, fmt(px))

    def set_last_price(self, inst_id: str, px: Decimal) -> None:
        """Make `px` the last price without a trade (history backfill ends at the live price)."""
        self._inst(inst_id)
        self._tapes[inst_id].last_px = px
        self._ref_px[inst_id] = px
