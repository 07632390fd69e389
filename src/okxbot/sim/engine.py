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

Algo orders (okxbot.sim.algos; params as sent, "" = absent; per-item results like OKX's data[])
    ex.place_algo(uid, params) -> {"algoClOrdId","algoId","clOrdId","sCode","sMsg","tag"}
    ex.cancel_algos(uid, items) -> [{"algoClOrdId","algoId","clOrdId","sCode","sMsg","tag"}]
    ex.amend_algo(uid, params) -> {"algoClOrdId","algoId","reqId","sCode","sMsg"}
    ex.get_algo(uid, algo_id="", algo_cl_ord_id="") -> algo dict | None
    ex.algos_pending(uid, filters) / ex.algos_history(uid, filters) -> [algo dict]  # ParamError on bad filters
  attachAlgoOrds on place_order / amend_order are handled by the same book (order entry's hooks).

Market data
    ex.book(inst_id) -> OrderBook; OrderBook.levels("bids"|"asks", depth) -> [(px_str, sz_str, n_orders)]
    ex.books(inst_id, depth) -> {"asks": [[px, sz, "0", n]], "bids": [...], "ts": str}
    ex.ticker(inst_id) -> dict;  ex.tickers() -> list[dict]
    ex.trades(inst_id, limit=100) -> list[dict]      # {instId,tradeId,px,sz,side,ts,count,source}
    ex.candles(inst_id, bar="1m", after=None, before=None, limit=100) -> list[list[str]]  # newest first
    ex.instrument(inst_id) -> Instrument | None;  ex.instruments -> InstrumentSet
    ex.has_instrument(inst_id) -> bool;  ex.currencies() -> set[str]
    ex.fee_rates(inst_type="SPOT") -> (maker, taker) fractions, positive (SPOT 0.0008 / 0.001, SWAP 0.0002 / 0.0005)
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
    AlgoEvent(uid, channel, data)  # an algo order changed: its orders-algo / algo-advance push item
The synthetic market's own accounts (create_account(..., internal=True)) have unlimited balances and
produce no OrderEvent / BalanceEvent, fills, bills or history: they only move books and print trades.

Perpetual swaps (SWAP instruments; see okxbot.sim.contracts, margin, funding, liquidation)
    ex.tick() -> None                      # premium samples, index/mark candles, due funding, liquidations
    ex.account_settings(uid) -> (acctLv, posMode)
    ex.set_account_level(uid, level) / ex.set_position_mode(uid, mode) -> [{...}]   # ParamError on refusal
    ex.force_account_level(uid, level); ex.allow_account_levels(uid, levels)          # admin
    ex.set_leverage(uid, params) -> [{lever, mgnMode, instId, posSide}]
    ex.leverage_info(uid, inst_ids, mgn_mode) -> [{instId, ccy, mgnMode, posSide, lever}]
    ex.positions(uid, params) / ex.positions_history(uid, params) / ex.position_rows(uid, pos_ids)
    ex.max_size(uid, params) / ex.max_avail_size(uid, params)
    ex.mark_price(inst_id) / ex.index_price(index_id) -> Decimal; ex.price_limit(inst_id) -> (buy, sell)
    ex.position_tiers(inst_id) / ex.funding_rate(inst_id) / ex.funding_history(inst_id, after, before, limit)
    ex.settle_funding(inst_id) -> rate     # the coming settlement, now
    ex.mark_candles(...) / ex.index_candles(...) / ex.index_ticker(index_id) / ex.recent_liquidations()
    ex.position_actions.close(uid, params) / .adjust_margin(uid, params)   # close-position, margin-balance
    PositionEvent(uid, pos_ids, ccys, event_type, trades); LiquidationEvent(inst_type, item)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from okxbot.sim.accounts import Account
from okxbot.sim.algo_checks import AlgoChecks
from okxbot.sim.algos import AlgoBook
from okxbot.sim.book import OrderBook
from okxbot.sim.bus import EventBus, Ids
from okxbot.sim.clock import Clock
from okxbot.sim.contracts import tiers
from okxbot.sim.derivatives import Derivatives
from okxbot.sim.events import BalanceEvent, BookEvent, Event, Listener, OrderEvent, TradeEvent
from okxbot.sim.filters import ListFilters, ParamError, UnknownInstrument
from okxbot.sim.funding import Funding
from okxbot.sim.instruments import Instrument, InstrumentSet, fmt
from okxbot.sim.ledger import Ledger
from okxbot.sim.liquidation import Liquidator
from okxbot.sim.margin import Margin
from okxbot.sim.marketdata import Markets
from okxbot.sim.marks import Marks
from okxbot.sim.matching import MAKER_FEE, SWAP_MAKER_FEE, SWAP_TAKER_FEE, TAKER_FEE, Matcher
from okxbot.sim.order import Order
from okxbot.sim.order_entry import OrderEntry
from okxbot.sim.position_actions import PositionActions
from okxbot.sim.swap_orders import SwapOrders
from okxbot.sim.swap_queries import SwapQueries
from okxbot.sim.swap_rules import SwapRules
from okxbot.sim.tape import Tape

# What the read side shows of a listed row (an order's or a fill's wire form): read lag hides some.
Visible = Callable[[dict[str, Any]], bool]

__all__ = [
    "BalanceEvent", "BookEvent", "Event", "Exchange", "Listener", "OrderEvent", "ParamError", "TradeEvent",
    "UnknownInstrument",
]  # fmt: skip


class Exchange:
    """The exchange core, assembled from its parts (see the module table in docs/architecture.md)."""

    def __init__(
        self, clock: Clock | None = None, instruments: InstrumentSet | None = None, seed: int = 7
    ) -> None:
        self.clock = clock or Clock()
        self.instruments = instruments or InstrumentSet()
        self.seed = seed
        self.ids = Ids(seed)
        self.bus = EventBus()
        self.markets = Markets(self.instruments, self.clock)
        self.rules = SwapRules()
        self.marks = Marks(self.instruments, self.markets, self.rules)
        self.margin = Margin(self.markets, self.marks, SWAP_TAKER_FEE, self.rules)
        self.ledger = Ledger(self.clock, self.bus, self.ids, self.markets)
        self.derivs = Derivatives(
            self.clock, self.bus, self.ids, self.ledger, self.markets, self.marks, self.margin
        )
        self.matcher = Matcher(self.clock, self.bus, self.ids, self.ledger, self.markets, self.derivs)
        self.derivs.cancel = self.matcher.remove_resting
        self.swap_orders = SwapOrders(self.derivs, self.marks, self.margin)
        self.entry = OrderEntry(
            self.clock, self.bus, self.ids, self.ledger, self.markets, self.matcher, self.swap_orders
        )
        self.funding = Funding(
            self.clock, self.bus, self.ids, self.ledger, self.marks, self.instruments, seed
        )
        self.liquidator = Liquidator(
            self.clock, self.bus, self.ids, self.ledger, self.margin, self.derivs, self.matcher.remove_resting
        )
        self.swap_queries = SwapQueries(self.markets, self.marks, self.margin, self.derivs)
        checks = AlgoChecks(
            self.instruments, self.markets, self.marks, self.margin, self.derivs, self.swap_orders
        )
        self.algos = AlgoBook(self.clock, self.bus, self.ids, self.ledger, self.entry, checks)
        self.entry.algos = self.algos
        self.position_actions = PositionActions(
            self.clock, self.bus, self.ids, self.ledger, self.derivs, self.margin, self.entry
        )
        self.bus.after_flush(self.algos.check)  # triggers fire once an operation's prices are final

    # ------------------------------------------------------------------ time

    def tick(self) -> None:
        """Advance what time drives (the server calls it every market step, ~100 ms): sample the
        premium and print index / mark prices, settle funding that is due, liquidate what is under
        its maintenance margin."""
        now = self.clock.now_ms()
        self.marks.refresh(now)
        self.funding.settle_due(now)
        self.liquidator.check()
        self.bus.flush()

    # ------------------------------------------------------------------ listeners

    def add_listener(self, fn: Listener) -> None:
        self.bus.add_listener(fn)

    def remove_listener(self, fn: Listener) -> None:
        self.bus.remove_listener(fn)

    def batch(self) -> AbstractContextManager[None]:
        """Group many operations (a market step) so balance and book events go out once, at the end."""
        return self.bus.batch()

    # ------------------------------------------------------------------ accounts and balances

    def create_account(
        self,
        balances: Mapping[str, Decimal | str] | None = None,
        demo: bool = False,
        internal: bool = False,
        fee_rates: tuple[Decimal, Decimal] | None = None,
    ) -> str:
        uid = self.ledger.create(balances, demo, internal)
        if fee_rates is not None:
            self.ledger.account(uid).fee_rates = fee_rates
        return uid

    def has_account(self, uid: str) -> bool:
        return uid in self.ledger.accounts

    def is_demo(self, uid: str) -> bool:
        return self.ledger.account(uid).demo

    def _account(self, uid: str) -> Account:
        # Test-only inspection (reliability/) reads records through this.
        return self.ledger.account(uid)

    def deposit(self, uid: str, ccy: str, amount: Decimal | str) -> None:
        self.ledger.deposit(uid, ccy, amount)
        self.bus.flush()

    def usd_price(self, ccy: str) -> Decimal:
        return self.markets.usd_price(ccy)

    def balances(self, uid: str, ccys: Iterable[str] | None = None) -> dict[str, Any]:
        acct = self.ledger.account(uid)
        if acct.acct_lv == "1":
            return self.ledger.balances(uid, ccys)
        return self.margin.balances(acct, ccys, self.clock.now_ms())

    def transfer(self, uid: str, ccy: str, change: Decimal, counterpart: str = "6") -> dict[str, str]:
        """Move `change` into (> 0) or out of (< 0) the trading account for `asset/transfer` (the funding
        side lives in sim.funding_account): one bill, type "1". ParamError 58116 if the available balance
        is short (in Futures mode: the available equity, so margin in use cannot leave)."""
        acct = self.ledger.account(uid)
        if change < 0 and self.derivs.available(acct, ccy) < -change:
            raise ParamError("58116", "Transfer exceeds the available amount.")
        bill = self.ledger.transfer(acct, ccy, change, counterpart)
        self.bus.flush()
        return bill

    # ------------------------------------------------------------------ instruments

    def instrument(self, inst_id: str) -> Instrument | None:
        return self.instruments.get(inst_id)

    def has_instrument(self, inst_id: str) -> bool:
        return inst_id in self.instruments

    def currencies(self) -> set[str]:
        return self.instruments.currencies()

    @staticmethod
    def fee_rates(inst_type: str = "SPOT") -> tuple[Decimal, Decimal]:
        """(maker, taker) as positive fractions; OKX shows them negated on the wire."""
        if inst_type == "SWAP":
            return SWAP_MAKER_FEE, SWAP_TAKER_FEE
        return MAKER_FEE, TAKER_FEE

    def book(self, inst_id: str) -> OrderBook:
        return self.markets.book(inst_id)

    def reference_price(self, inst_id: str) -> Decimal:
        return self.markets.reference_price(inst_id)

    def set_reference_price(self, inst_id: str, px: Decimal) -> None:
        self.markets.set_reference_price(inst_id, px)

    # ------------------------------------------------------------------ orders

    def place_order(self, uid: str, params: Mapping[str, Any]) -> dict[str, str]:
        return self.entry.place(uid, params)

    def cancel_order(self, uid: str, params: Mapping[str, Any]) -> dict[str, str]:
        return self.entry.cancel(uid, params)

    def amend_order(self, uid: str, params: Mapping[str, Any]) -> dict[str, str]:
        return self.entry.amend(uid, params)

    def cancel_all(
        self, uid: str, inst_id: str | None = None, source: str = "1", tag: str | None = None
    ) -> list[dict[str, Any]]:
        """Cancel every pending order of the account (of one instrument / one tag if given); oldest first."""
        return self.entry.cancel_all(uid, inst_id, source, tag)

    def mass_cancel(self, uid: str, inst_id: str | None = None) -> list[dict[str, Any]]:
        return self.entry.cancel_all(uid, inst_id, "1")

    # ------------------------------------------------------------------ algo orders (okxbot.sim.algos)

    def place_algo(self, uid: str, params: Mapping[str, Any]) -> dict[str, str]:
        return self.algos.place(uid, params)

    def cancel_algos(self, uid: str, items: list[Mapping[str, Any]]) -> list[dict[str, str]]:
        return self.algos.cancel(uid, items)

    def amend_algo(self, uid: str, params: Mapping[str, Any]) -> dict[str, str]:
        return self.algos.amend(uid, params)

    def get_algo(self, uid: str, algo_id: str = "", algo_cl_ord_id: str = "") -> dict[str, Any] | None:
        return self.algos.get(uid, algo_id, algo_cl_ord_id)

    def algos_pending(self, uid: str, filters: Mapping[str, str]) -> list[dict[str, Any]]:
        return self.algos.pending(uid, filters)

    def algos_history(self, uid: str, filters: Mapping[str, str]) -> list[dict[str, Any]]:
        return self.algos.history(uid, filters)

    # ------------------------------------------------------------------ queries

    def get_order(
        self, uid: str, inst_id: str, ord_id: str | None = None, cl_ord_id: str | None = None
    ) -> dict[str, Any] | None:
        acct = self.ledger.account(uid)
        acct.prune_history(self.clock.now_ms())
        order = acct.visible.get(ord_id) if ord_id else acct.latest_by_cl.get(cl_ord_id or "")
        if order is None or order.inst.inst_id != inst_id:
            return None
        return order.to_wire()

    def is_pending(self, uid: str, ord_id: str) -> bool:
        return ord_id in self.ledger.account(uid).pending

    def pending_ids(self, uid: str) -> Mapping[str, object]:
        """A live read-only view of the account's pending ordIds (cheap membership tests)."""
        return MappingProxyType(self.ledger.account(uid).pending)

    def all_orders(self, uid: str) -> list[dict[str, Any]]:
        return [o.to_wire() for o in self.ledger.account(uid).every]

    def pending_orders(
        self, uid: str, filters: Mapping[str, str] | None = None, visible: Visible | None = None
    ) -> list[dict[str, Any]]:
        f = ListFilters(filters or {})
        state = f.choice("state", ("live", "partially_filled"))
        acct = self.ledger.account(uid)
        return f.page(
            (
                o
                for o in reversed(acct.pending.values())
                if f.order_matches(o) and (not state or o.state == state)
            ),
            key=lambda o: int(o.ord_id),
            render=Order.to_wire,
            visible=visible,
        )

    def order_history(
        self, uid: str, filters: Mapping[str, str] | None = None, visible: Visible | None = None
    ) -> list[dict[str, Any]]:
        f = ListFilters(filters or {})
        if not f.get("instType"):
            raise ParamError("50014", "Parameter instType can not be empty.")
        state = f.choice("state", ("canceled", "filled"))
        begin, end = f.integer("begin"), f.integer("end")
        acct = self.ledger.account(uid)
        acct.prune_history(self.clock.now_ms())
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
            visible=visible,
        )

    def fills(
        self, uid: str, filters: Mapping[str, str] | None = None, visible: Visible | None = None
    ) -> list[dict[str, str]]:
        f = ListFilters(filters or {})
        acct = self.ledger.account(uid)
        acct.prune_records(self.clock.now_ms())
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
            visible=visible,
        )

    def bills(self, uid: str, filters: Mapping[str, str] | None = None) -> list[dict[str, str]]:
        f = ListFilters(filters or {})
        acct = self.ledger.account(uid)
        acct.prune_records(self.clock.now_ms())
        ccy, typ, sub_type = f.get("ccy"), f.get("type"), f.get("subType")
        mgn_mode, ct_type = f.get("mgnMode"), f.get("ctType")
        return f.page(
            (
                r
                for r in reversed(acct.bills)
                if f.record_matches(r)
                and (not ccy or r["ccy"] == ccy)
                and (not typ or r["type"] == typ)
                and (not sub_type or r["subType"] == sub_type)
                and (not mgn_mode or r["mgnMode"] == mgn_mode)
                and (not ct_type or self._ct_type(r["instId"]) == ct_type)
            ),
            key=lambda r: int(r["billId"]),
        )

    def _ct_type(self, inst_id: str) -> str:
        inst = self.instruments.get(inst_id)
        return inst.ct_type if inst is not None else ""

    # ------------------------------------------------------------------ market data

    def ticker(self, inst_id: str) -> dict[str, str]:
        return self.markets.ticker(inst_id)

    def tickers(self, inst_type: str = "SPOT") -> list[dict[str, str]]:
        return self.markets.tickers(inst_type)

    def books(self, inst_id: str, depth: int = 1) -> dict[str, Any]:
        return self.markets.books_wire(inst_id, depth)

    def trades(self, inst_id: str, limit: int = 100) -> list[dict[str, str]]:
        return self.markets.trades(inst_id, limit)

    def candles(
        self,
        inst_id: str,
        bar: str = "1m",
        after: int | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[list[str]]:
        return self.markets.candles(inst_id, bar, after, before, limit)

    def seed_candle(self, inst_id: str, minute_ms: int, o: Decimal, h: Decimal, low: Decimal, c: Decimal,
                    vol: Decimal) -> None:  # fmt: skip
        """Backfill one minute of synthetic history (the market does this at start)."""
        self.markets.seed_candle(inst_id, minute_ms, o, h, low, c, vol)

    def tape_snapshot(self, inst_id: str) -> dict[str, Any]:
        """What the tape holds (1m candles, recent trades, last trade), in wire strings, so that
        `restore_tape` on another exchange serves the same candles, trades and tickers."""
        self.markets.inst(inst_id)
        return self.markets.tapes[inst_id].snapshot()

    def restore_tape(self, inst_id: str, snapshot: Mapping[str, Any]) -> None:
        self.markets.inst(inst_id)
        self.markets.tapes[inst_id].restore(snapshot)

    def seed_trade(self, inst_id: str, px: Decimal, sz: Decimal, side: str, ts: int) -> None:
        """Backfill one historical trade (oldest first); like a live one, it builds its minute's candle."""
        self.markets.inst(inst_id)
        self.markets.tapes[inst_id].record(self.ids.trade(), px, sz, side, ts, fmt(px))

    def set_last_price(self, inst_id: str, px: Decimal) -> None:
        """Make `px` the last price without a trade (history backfill ends at the live price)."""
        self.markets.set_last_price(inst_id, px)

    # ------------------------------------------------------------------ swaps: account settings

    def account_settings(self, uid: str) -> tuple[str, str]:
        """(acctLv, posMode) for account/config."""
        acct = self.ledger.account(uid)
        return acct.acct_lv, acct.pos_mode

    def set_account_level(self, uid: str, level: str) -> list[dict[str, str]]:
        return self.derivs.set_account_level(uid, level)

    def force_account_level(self, uid: str, level: str) -> None:
        """Admin (what the web does): switch without the API's checks and allow the mode by API later."""
        acct = self.ledger.account(uid)
        acct.levels = acct.levels | {level}
        acct.acct_lv = level
        self.ledger.touch(acct, *acct.balances)
        self.bus.flush()

    def allow_account_levels(self, uid: str, levels: Iterable[str]) -> None:
        self.ledger.account(uid).levels = frozenset(levels)

    def set_position_mode(self, uid: str, mode: str) -> list[dict[str, str]]:
        return self.derivs.set_position_mode(uid, mode)

    def set_leverage(self, uid: str, params: Mapping[str, Any]) -> list[dict[str, str]]:
        return self.derivs.set_leverage(uid, params)

    def leverage_info(self, uid: str, inst_ids: list[str], mgn_mode: str) -> list[dict[str, str]]:
        return self.derivs.leverage_info(uid, inst_ids, mgn_mode)

    # ------------------------------------------------------------------ swaps: account queries

    def positions(self, uid: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        acct = self.ledger.account(uid)
        return self.algos.show_close_orders(
            uid, self.swap_queries.positions(acct, params or {}, self.clock.now_ms())
        )

    def positions_history(self, uid: str, params: Mapping[str, str] | None = None) -> list[dict[str, str]]:
        acct = self.ledger.account(uid)
        return self.swap_queries.history(acct, params or {}, self.clock.now_ms())

    def position_rows(self, uid: str, pos_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Wire rows of these positions (zero ones included), for the WebSocket pushes."""
        acct = self.ledger.account(uid)
        wanted = set(pos_ids)
        rows = [self.margin.position_fields(acct, p) for p in acct.positions.values() if p.pos_id in wanted]
        return self.algos.show_close_orders(uid, rows)

    def max_size(self, uid: str, params: Mapping[str, Any]) -> list[dict[str, str]]:
        return self.swap_queries.max_size(self.ledger.account(uid), params)

    def max_avail_size(self, uid: str, params: Mapping[str, Any]) -> list[dict[str, str]]:
        return self.swap_queries.max_avail_size(self.ledger.account(uid), params)

    # ------------------------------------------------------------------ swaps: public data

    def swap(self, inst_id: str) -> Instrument:
        inst = self.markets.inst(inst_id)
        if not inst.is_swap:
            raise ParamError("51000", "Parameter instId error")
        return inst

    def mark_price(self, inst_id: str) -> Decimal:
        return self.marks.mark_px(self.swap(inst_id))

    def index_price(self, index_id: str) -> Decimal:
        if index_id not in self.marks.index_tapes:
            raise UnknownInstrument(index_id)
        return self.marks.index_px(index_id)

    def index_ids(self) -> list[str]:
        return list(self.marks.index_tapes)

    def price_limit(self, inst_id: str) -> tuple[Decimal, Decimal]:
        inst = self.markets.inst(inst_id)
        if inst.is_swap:
            return self.marks.price_limits(inst)
        return self.markets.price_limits(inst)

    def position_tiers(self, inst_id: str) -> list[dict[str, str]]:
        inst = self.swap(inst_id)
        return [t.wire(inst) for t in tiers(inst)]

    def funding_rate(self, inst_id: str) -> dict[str, str]:
        self.swap(inst_id)
        return self.funding.wire(inst_id)

    def funding_history(
        self, inst_id: str, after: int | None = None, before: int | None = None, limit: int = 400
    ) -> list[dict[str, str]]:
        self.swap(inst_id)
        return self.funding.history(inst_id, after, before, limit)

    def settle_funding(self, inst_id: str) -> Decimal:
        """Settle the coming funding of a swap now (admin: a deterministic settlement for tests)."""
        self.swap(inst_id)
        rate = self.funding.settle(inst_id)
        self.liquidator.check()
        return rate

    def mark_candles(
        self,
        inst_id: str,
        bar: str = "1m",
        after: int | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[list[str]]:
        self.swap(inst_id)
        return self._price_candles(self.marks.mark_tapes[inst_id], bar, after, before, limit)

    def index_candles(
        self,
        index_id: str,
        bar: str = "1m",
        after: int | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[list[str]]:
        tape = self.marks.index_tapes.get(index_id)
        if tape is None:
            raise UnknownInstrument(index_id)
        return self._price_candles(tape, bar, after, before, limit)

    def _price_candles(
        self, tape: Tape, bar: str, after: int | None, before: int | None, limit: int
    ) -> list[list[str]]:
        return self.markets.tape_candles(tape, bar, after, before, limit, prices_only=True)

    def index_ticker(self, index_id: str) -> dict[str, str]:
        tape = self.marks.index_tapes.get(index_id)
        if tape is None:
            raise UnknownInstrument(index_id)
        now = self.clock.now_ms()
        stats = tape.day_stats(now)
        return {
            "instId": index_id, "idxPx": fmt(self.marks.index_px(index_id)), "high24h": fmt(stats["high24h"]),
            "low24h": fmt(stats["low24h"]), "open24h": fmt(stats["open24h"]), "sodUtc0": fmt(stats["sodUtc0"]),
            "sodUtc8": fmt(stats["sodUtc8"]), "ts": str(now),
        }  # fmt: skip

    def recent_liquidations(self) -> list[dict[str, Any]]:
        return list(self.liquidator.recent)
