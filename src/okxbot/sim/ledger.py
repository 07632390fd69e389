"""The accounts: who holds what. Creating accounts, deposits, freezing for orders, settling fills into
balances with their fill and bill records, and the balance endpoints' wire form.

The synthetic market's own accounts (`internal`) have unlimited balances: nothing is frozen or
settled for them and they emit no events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from okxbot.sim.accounts import Account, balance_detail
from okxbot.sim.bus import EventBus, Ids
from okxbot.sim.clock import Clock
from okxbot.sim.instruments import ZERO, fmt
from okxbot.sim.marketdata import Markets
from okxbot.sim.order import Order
from okxbot.sim.records import Fill, bill_records, fill_record, transfer_bill


class Ledger:
    def __init__(self, clock: Clock, bus: EventBus, ids: Ids, markets: Markets) -> None:
        self.clock = clock
        self.bus = bus
        self.ids = ids
        self.markets = markets
        self.accounts: dict[str, Account] = {}

    # -- accounts -------------------------------------------------------------------------------

    def create(
        self, balances: Mapping[str, Decimal | str] | None = None, demo: bool = False, internal: bool = False
    ) -> str:
        uid = self.ids.uid()
        acct = self.accounts[uid] = Account(uid, demo, internal)
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

    def account(self, uid: str) -> Account:
        acct = self.accounts.get(uid)
        if acct is None:
            raise KeyError(f"no simulator account with uid {uid!r}; create one with create_account()")
        return acct

    def touch(self, acct: Account, *ccys: str) -> None:
        if not acct.internal:
            self.bus.touch(acct.uid, *ccys)

    def deposit(self, uid: str, ccy: str, amount: Decimal | str) -> None:
        acct = self.account(uid)
        b = acct.bal(ccy)
        b.cash += Decimal(amount)
        b.u_time = self.clock.now_ms()
        self.touch(acct, ccy)

    def transfer(self, acct: Account, ccy: str, change: Decimal, counterpart: str) -> dict[str, str]:
        """Move `change` into or out of the trading account (the caller checked what may leave)."""
        now = self.clock.now_ms()
        b = acct.bal(ccy)
        b.cash += change
        b.u_time = now
        bill = transfer_bill(self.ids.bill(), ccy, change, b.cash, now, counterpart)
        acct.bills.append(bill)
        self.touch(acct, ccy)
        return bill

    # -- freezing for orders --------------------------------------------------------------------

    def freeze(self, acct: Account, order: Order) -> None:
        """Hold what the order may spend (set in `order.frozen` by validation)."""
        if order.frozen:
            b = acct.bal(order.frozen_ccy)
            b.frozen += order.frozen
            b.u_time = order.c_time
            self.touch(acct, order.frozen_ccy)

    def refreeze(self, acct: Account, order: Order, new_frozen: Decimal, now: int) -> None:
        b = acct.bal(order.frozen_ccy)
        b.frozen += new_frozen - order.frozen
        b.u_time = now
        order.frozen = new_frozen
        self.touch(acct, order.frozen_ccy)

    def release(self, acct: Account, order: Order) -> None:
        """Give back whatever the order still holds (it completed)."""
        if order.frozen:
            b = acct.bal(order.frozen_ccy)
            b.frozen -= order.frozen
            b.u_time = order.u_time
            order.frozen = ZERO
            self.touch(acct, order.frozen_ccy)

    # -- settling fills -------------------------------------------------------------------------

    def settle_spot(
        self, order: Order, qty: Decimal, px_str: str, cost: Decimal, fee: Decimal, exec_type: str,
        trade_id: str, now: int, rate: Decimal,
    ) -> None:  # fmt: skip
        """Move base and quote for one spot fill, then write its fill and bills."""
        acct = self.accounts[order.uid]
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
        self.touch(acct, base, quote)
        fill = Fill(order, qty, px_str, fee, exec_type, trade_id, now, rate, cost)
        pay_bill, recv_bill = self.ids.bill(), self.ids.bill()
        acct.bills.extend(bill_records(fill, pay_bill, recv_bill, lambda ccy: acct.bal(ccy).cash))
        acct.fills.append(fill_record(fill, recv_bill))
        acct.prune_records(now)

    # -- wire forms -----------------------------------------------------------------------------

    def balances(self, uid: str, ccys: Iterable[str] | None = None) -> dict[str, Any]:
        """GET /api/v5/account/balance data[0] in Spot mode (acctLv "1": the *Eq margin fields are "")."""
        acct = self.account(uid)
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
            usd = self.markets.usd_price(ccy)
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
