"""The funding account of every simulator account: balances, deposits, withdrawals, funding bills,
transfers to and from the trading account, and deposit addresses (OKX "Funding account" section).

OKX keeps two accounts per user: the trading account (the engine's `Account`, where orders freeze and
fill) and the funding account, where deposits land and withdrawals leave from. Money moves between the
two only through `POST /asset/transfer` ("6" funding, "18" trading). Each uid has one funding account
here; a sub-account is another uid, so master <-> sub-account transfers (transfer types 1-4) only need
the uid of the other side (`sim.subaccount_transfers` finds it and calls `move`), not a second model.

State codes, bill types and field names are OKX's (docs "Get deposit history", "Get withdrawal
history", "Asset bills details"):
  deposit state    0 waiting for confirmation, 1 credited, 2 successful, 8/11/12/13/14/17 held
                   (credited: 1 and 2)
  withdrawal state 0/4-10/12/17/19 pending, 1/15/16 being sent, -3 canceling, -2 canceled,
                   -1 failed, 2 success. The amount and fee leave the funding account when the
                   request is made (bill type 2); a canceled or failed one comes back (bill type 13).
  funding bill     1 deposit, 2 withdrawal, 13 canceled withdrawal, 130 transferred from the trading
                   account, 131 transferred to the trading account, 20 / 21 to / from a sub-account
                   (master), 22 / 23 out to / in from the master (sub-account)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import count
from typing import TYPE_CHECKING, Any

from okxbot.sim.accounts import Balance
from okxbot.sim.filters import ListFilters, ParamError
from okxbot.sim.instruments import ZERO, fmt

if TYPE_CHECKING:
    from okxbot.sim.engine import Exchange

FUNDING = "6"
TRADING = "18"

DEPOSIT_STATES = ("0", "1", "2", "8", "11", "12", "13", "14", "17")
CREDITED_DEPOSIT = ("1", "2")
WITHDRAWAL_STATES = (
    "0",
    "1",
    "2",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "10",
    "12",
    "15",
    "16",
    "17",
    "19",
    "-1",
    "-2",
    "-3",
)
RETURNED_WITHDRAWAL = ("-1", "-2")  # failed, canceled: the amount and fee come back
FINAL_WITHDRAWAL = ("2", "-1", "-2")
# Only these may still be canceled by the user (docs: "0, 17, 19 can be cancelled").
CANCELABLE_WITHDRAWAL = ("0", "17", "19")

BILL_DEPOSIT = "1"
BILL_WITHDRAWAL = "2"
BILL_WITHDRAWAL_CANCELED = "13"
BILL_FROM_TRADING = "130"
BILL_TO_TRADING = "131"
BILL_TO_SUB = "20"  # master: transfer to a sub-account
BILL_FROM_SUB = "21"  # master: transfer from a sub-account
BILL_SUB_OUT = "22"  # sub-account: transfer out to the master (or another sub-account)
BILL_SUB_IN = "23"  # sub-account: transfer in from the master (or another sub-account)

# Currency metadata for asset/currencies, deposit addresses and withdrawals: (name, main chain).
CHAINS = {
    "BTC": ("Bitcoin", "BTC-Bitcoin"),
    "ETH": ("Ethereum", "ETH-ERC20"),
    "USDT": ("Tether", "USDT-TRC20"),
}
MIN_WITHDRAWAL = Decimal("0.001")
WITHDRAWAL_FEE = ZERO  # the simulator charges no network fee unless a test sets one


def currency_name(ccy: str) -> str:
    return CHAINS.get(ccy, (ccy, ""))[0]


def main_chain(ccy: str) -> str:
    return CHAINS.get(ccy, (ccy, f"{ccy}-{ccy}"))[1]


class FundingError(ParamError):
    """An OKX error a funding operation answers (top level, e.g. 58350 insufficient balance)."""


@dataclass(slots=True)
class Deposit:
    dep_id: str
    ccy: str
    amt: Decimal
    chain: str
    to: str  # the deposit address (on-chain deposits)
    from_: str  # the sender's account (internal transfers)
    tx_id: str
    dep_type: str  # "3" internal transfer, "4" on-chain
    state: str
    ts: int
    from_wd_id: str = ""

    def wire(self) -> dict[str, str]:
        return {
            "actualDepBlkConfirm": "0" if self.state == "0" else "12",
            "amt": fmt(self.amt),
            "areaCodeFrom": "",
            "ccy": self.ccy,
            "chain": self.chain,
            "depId": self.dep_id,
            "from": self.from_,
            "fromWdId": self.from_wd_id,
            "state": self.state,
            "to": self.to,
            "ts": str(self.ts),
            "txId": self.tx_id,
        }


@dataclass(slots=True)
class Withdrawal:
    wd_id: str
    ccy: str
    amt: Decimal
    fee: Decimal
    chain: str
    to: str
    dest: str  # "3" internal transfer, "4" on-chain
    tx_id: str
    client_id: str
    state: str
    ts: int
    from_: str = ""

    def wire(self) -> dict[str, Any]:
        return {
            "amt": fmt(self.amt),
            "areaCodeFrom": "",
            "areaCodeTo": "",
            "ccy": self.ccy,
            "chain": self.chain,
            "clientId": self.client_id,
            "fee": fmt(self.fee),
            "feeCcy": self.ccy,
            "from": self.from_,
            "nonTradableAsset": False,
            "note": "",
            "state": self.state,
            "to": self.to,
            "toAddrType": "1",
            "ts": str(self.ts),
            "txId": self.tx_id,
            "wdId": self.wd_id,
        }


@dataclass(slots=True)
class Transfer:
    trans_id: str
    client_id: str
    ccy: str
    amt: Decimal
    from_: str
    to: str
    transfer_type: str
    sub_acct: str
    state: str
    ts: int

    def wire(self) -> dict[str, str]:
        return {
            "amt": fmt(self.amt),
            "ccy": self.ccy,
            "clientId": self.client_id,
            "from": self.from_,
            "instId": "",
            "state": self.state,
            "subAcct": self.sub_acct,
            "to": self.to,
            "toInstId": "",
            "transId": self.trans_id,
            "type": self.transfer_type,
        }


@dataclass(slots=True)
class FundingAccount:
    uid: str
    balances: dict[str, Balance] = field(default_factory=dict)
    deposits: list[Deposit] = field(default_factory=list)  # oldest first
    withdrawals: list[Withdrawal] = field(default_factory=list)
    bills: list[dict[str, str]] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)

    def bal(self, ccy: str) -> Balance:
        b = self.balances.get(ccy)
        if b is None:
            b = self.balances[ccy] = Balance()
        return b


class FundingLedger:
    """Every account's funding side. Call it on the simulator's loop thread only (as the engine)."""

    def __init__(self, exchange: Exchange, seed: int = 7) -> None:
        self.exchange = exchange
        self.clock = exchange.clock
        self._accounts: dict[str, FundingAccount] = {}
        # Numeric ids like OKX's, seed-shifted as the engine's so two simulators don't collide.
        shift = (seed % 1000) * 1_000_000
        self._dep_ids = count(150_000_000_001 + shift)
        self._wd_ids = count(250_000_000_001 + shift)
        self._trans_ids = count(350_000_000_001 + shift)
        self._bill_ids = count(450_000_000_001 + shift)

    # ------------------------------------------------------------------ accounts and balances

    def account(self, uid: str) -> FundingAccount:
        """The funding account of `uid` (every engine account has one, empty at first)."""
        acct = self._accounts.get(uid)
        if acct is None:
            if not self.exchange.has_account(uid):
                raise KeyError(
                    f"no simulator account with uid {uid!r}; create one with POST /__sim__/accounts"
                )
            acct = self._accounts[uid] = FundingAccount(uid)
        return acct

    def balances(self, uid: str, ccys: Iterable[str] | None = None) -> list[dict[str, str]]:
        """GET /asset/balances: only currencies with something in them."""
        wanted = set(ccys) if ccys else None
        rows = []
        for ccy, b in sorted(self.account(uid).balances.items()):
            if (wanted is not None and ccy not in wanted) or not b.cash:
                continue
            rows.append(
                {"availBal": fmt(b.avail), "bal": fmt(b.cash), "ccy": ccy, "frozenBal": fmt(b.frozen)}
            )
        return rows

    def _book(
        self,
        acct: FundingAccount,
        ccy: str,
        change: Decimal,
        bill_type: str,
        client_id: str = "",
        ts: int | None = None,
    ) -> None:
        """Change a balance and write its bill (at `ts` for a back-dated admin record; `bal` is then the
        balance right after the change as it was made)."""
        b = acct.bal(ccy)
        when = self.clock.now_ms() if ts is None else ts
        b.cash += change
        b.u_time = max(b.u_time, when)
        acct.bills.append(
            {
                "bal": fmt(b.cash),
                "balChg": fmt(change),
                "billId": str(next(self._bill_ids)),
                "ccy": ccy,
                "clientId": client_id,
                "notes": "",
                "ts": str(when),
                "type": bill_type,
            }
        )
        if ts is not None:
            acct.bills.sort(key=lambda r: (int(r["ts"]), int(r["billId"])))

    # ------------------------------------------------------------------ deposits

    def deposit(
        self,
        uid: str,
        ccy: str,
        amt: Decimal,
        *,
        state: str = "2",
        dep_type: str = "4",
        sender: str = "",
        tx_id: str = "",
        ts: int | None = None,
    ) -> Deposit:
        """A deposit arriving (admin hook). Credited states (1, 2) add to the funding balance."""
        if amt <= 0:
            raise ValueError(f"a deposit amount must be > 0, got {fmt(amt)}")
        if state not in DEPOSIT_STATES:
            raise ValueError(f"deposit state must be one of {', '.join(DEPOSIT_STATES)}, got {state!r}")
        if dep_type not in ("3", "4"):
            raise ValueError('deposit type must be "3" (internal transfer) or "4" (on-chain)')
        acct = self.account(uid)
        dep_id = str(next(self._dep_ids))
        on_chain = dep_type == "4"
        deposit = Deposit(
            dep_id=dep_id,
            ccy=ccy,
            amt=amt,
            chain=main_chain(ccy) if on_chain else "",
            to=self.address(uid, ccy) if on_chain else "",
            from_="" if on_chain else (sender or "sender@example.com"),
            tx_id=(tx_id or _hex(f"dep{dep_id}", 64)) if on_chain else "",
            dep_type=dep_type,
            state=state,
            ts=self._when(ts),
        )
        acct.deposits.append(deposit)
        acct.deposits.sort(key=lambda d: (d.ts, int(d.dep_id)))
        if state in CREDITED_DEPOSIT:
            self._book(acct, ccy, amt, BILL_DEPOSIT, ts=deposit.ts)
        return deposit

    def deposit_history(self, uid: str, filters: Mapping[str, str]) -> list[dict[str, str]]:
        f = ListFilters(filters)
        ccy, dep_id, wd_id, tx_id = f.get("ccy"), f.get("depId"), f.get("fromWdId"), f.get("txId")
        dep_type, state = f.choice("type", ("3", "4")), f.choice("state", DEPOSIT_STATES)
        return f.page(
            (
                d
                for d in reversed(self.account(uid).deposits)
                if (not ccy or d.ccy == ccy)
                and (not dep_id or d.dep_id == dep_id)
                and (not wd_id or d.from_wd_id == wd_id)
                and (not tx_id or d.tx_id == tx_id)
                and (not dep_type or d.dep_type == dep_type)
                and (not state or d.state == state)
            ),
            key=lambda d: d.ts,
            render=Deposit.wire,
        )

    def address(self, uid: str, ccy: str) -> str:
        """The account's deposit address for `ccy` on its main chain (stable for the account)."""
        digest = _hex(f"{self.exchange.seed}:{uid}:{ccy}", 40)
        chain = main_chain(ccy)
        if chain.endswith("ERC20"):
            return "0x" + digest
        if chain.endswith("TRC20"):
            return "T" + digest[:33]
        if ccy == "BTC":
            return "bc1q" + digest[:38]
        return f"{ccy.lower()}1" + digest[:38]

    def deposit_addresses(self, uid: str, ccy: str) -> list[dict[str, Any]]:
        """GET /asset/deposit-address."""
        self.account(uid)
        return [
            {
                "addr": self.address(uid, ccy),
                "ccy": ccy,
                "chain": main_chain(ccy),
                "ctAddr": "",
                "selected": True,
                "to": FUNDING,
                "verifiedName": "",
            }
        ]

    # ------------------------------------------------------------------ withdrawals

    def withdraw(
        self,
        uid: str,
        ccy: str,
        amt: Decimal,
        to: str,
        *,
        dest: str = "4",
        chain: str = "",
        fee: Decimal = WITHDRAWAL_FEE,
        client_id: str = "",
        state: str = "0",
        tx_id: str = "",
        ts: int | None = None,
    ) -> Withdrawal:
        """A withdrawal request: amount + fee leave the funding account now (bill type 2).

        Raises FundingError 58350 when the funding account's available balance does not cover it.
        """
        if state not in WITHDRAWAL_STATES:
            raise ValueError(f"withdrawal state must be one of {', '.join(WITHDRAWAL_STATES)}, got {state!r}")
        acct = self.account(uid)
        total = amt + fee
        if acct.bal(ccy).avail < total:
            raise FundingError("58350", "Insufficient balance.")
        wd_id = str(next(self._wd_ids))
        on_chain = dest == "4"
        withdrawal = Withdrawal(
            wd_id=wd_id,
            ccy=ccy,
            amt=amt,
            fee=fee,
            chain=(chain or main_chain(ccy)) if on_chain else "",
            to=to,
            dest=dest,
            tx_id="",
            client_id=client_id,
            state="0",
            ts=self._when(ts),
        )
        acct.withdrawals.append(withdrawal)
        acct.withdrawals.sort(key=lambda w: (w.ts, int(w.wd_id)))
        self._book(acct, ccy, -total, BILL_WITHDRAWAL, client_id, ts=withdrawal.ts)
        self.set_withdrawal_state(uid, wd_id, state, tx_id=tx_id)
        return withdrawal

    def set_withdrawal_state(self, uid: str, wd_id: str, state: str, *, tx_id: str = "") -> Withdrawal:
        """Move a withdrawal on (admin hook): a failed or canceled one gives the money back (bill 13)."""
        if state not in WITHDRAWAL_STATES:
            raise ValueError(f"withdrawal state must be one of {', '.join(WITHDRAWAL_STATES)}, got {state!r}")
        acct = self.account(uid)
        withdrawal = next((w for w in acct.withdrawals if w.wd_id == wd_id), None)
        if withdrawal is None:
            raise FundingError("58215", "Withdrawal ID does not exist.")
        if withdrawal.state in FINAL_WITHDRAWAL and state != withdrawal.state:
            raise ValueError(f"withdrawal {wd_id} is final (state {withdrawal.state}); it cannot change")
        withdrawal.state = state
        if state in ("1", "15", "16", "2") and withdrawal.dest == "4" and not withdrawal.tx_id:
            # Broadcast: the transaction hash is known from now on.
            withdrawal.tx_id = tx_id or "0x" + _hex(f"wd{wd_id}", 64)
        if state in RETURNED_WITHDRAWAL:
            self._book(acct, withdrawal.ccy, withdrawal.amt + withdrawal.fee, BILL_WITHDRAWAL_CANCELED)
        return withdrawal

    def withdrawal_history(self, uid: str, filters: Mapping[str, str]) -> list[dict[str, Any]]:
        f = ListFilters(filters)
        ccy, wd_id, client_id, tx_id = f.get("ccy"), f.get("wdId"), f.get("clientId"), f.get("txId")
        dest, state = f.choice("type", ("3", "4")), f.choice("state", WITHDRAWAL_STATES)
        return f.page(
            (
                w
                for w in reversed(self.account(uid).withdrawals)
                if (not ccy or w.ccy == ccy)
                and (not wd_id or w.wd_id == wd_id)
                and (not client_id or w.client_id == client_id)
                and (not tx_id or w.tx_id == tx_id)
                and (not dest or w.dest == dest)
                and (not state or w.state == state)
            ),
            key=lambda w: w.ts,
            render=Withdrawal.wire,
        )

    # ------------------------------------------------------------------ funding bills

    def bills(self, uid: str, filters: Mapping[str, str]) -> list[dict[str, str]]:
        """GET /asset/bills: newest first; after/before are ts (pagingType 1, default) or billId (2)."""
        f = ListFilters(filters)
        paging = f.choice("pagingType", ("1", "2")) or "1"
        ccy, bill_type, client_id = f.get("ccy"), f.get("type"), f.get("clientId")
        key: Callable[[dict[str, str]], int] = _ts if paging == "1" else (lambda r: int(r["billId"]))
        # Newest first in the paging key's order (bill ids grow with time on OKX; a back-dated admin
        # record is the only way the two orders differ).
        ordered = sorted(self.account(uid).bills, key=key, reverse=True)
        return f.page(
            (
                r
                for r in ordered
                if (not ccy or r["ccy"] == ccy)
                and (not bill_type or r["type"] == bill_type)
                and (not client_id or r["clientId"] == client_id)
            ),
            key=key,
        )

    # ------------------------------------------------------------------ transfers

    def transfer(
        self,
        uid: str,
        ccy: str,
        amt: Decimal,
        from_: str,
        to: str,
        *,
        transfer_type: str = "0",
        sub_acct: str = "",
        client_id: str = "",
    ) -> Transfer:
        """POST /asset/transfer type 0: between this uid's funding and trading accounts.

        Master / sub-account transfers (types 1-4) are resolved by `sim.subaccount_transfers`, which
        finds the other side's uid and calls `move`; here a non-zero type is a parameter error.
        """
        check_accounts(from_, to)
        if transfer_type != "0":
            raise FundingError("51000", "Parameter type error")
        if from_ == to:
            raise FundingError("58123", "The From parameter cannot be the same as the To parameter.")
        return self.move(uid, from_, uid, to, ccy, amt, caller=uid, client_id=client_id)

    def move(
        self,
        src_uid: str,
        from_: str,
        dst_uid: str,
        to: str,
        ccy: str,
        amt: Decimal,
        *,
        caller: str,
        transfer_type: str = "0",
        sub_acct: str = "",
        client_id: str = "",
        out_bill: str = BILL_TO_TRADING,
        in_bill: str = BILL_FROM_TRADING,
    ) -> Transfer:
        """Move `amt` from (src_uid, from_) to (dst_uid, to); the record is kept on `caller` (for
        transfer-state). Nothing moves when the source's available balance is short (58116).
        `out_bill` / `in_bill`: the funding-bill types written when a funding account pays / receives
        (131 / 130 within an account; 20, 21, 22, 23 between a master and its sub-accounts)."""
        src = self.account(src_uid)
        dst = self.account(dst_uid)
        if from_ == FUNDING:
            if src.bal(ccy).avail < amt:
                raise FundingError("58116", "Transfer exceeds the available amount.")
            self._book(src, ccy, -amt, out_bill, client_id)
        else:
            self.exchange.transfer(src_uid, ccy, -amt, to)  # raises 58116 when the trading account lacks it
        if to == FUNDING:
            self._book(dst, ccy, amt, in_bill, client_id)
        else:
            self.exchange.transfer(dst_uid, ccy, amt, from_)
        record = Transfer(
            trans_id=str(next(self._trans_ids)),
            client_id=client_id,
            ccy=ccy,
            amt=amt,
            from_=from_,
            to=to,
            transfer_type=transfer_type,
            sub_acct=sub_acct,
            state="success",
            ts=self.clock.now_ms(),
        )
        self.account(caller).transfers.append(record)
        return record

    def transfer_state(self, uid: str, trans_id: str, client_id: str) -> list[dict[str, str]]:
        """GET /asset/transfer-state: transId wins over clientId; unknown ids answer an empty list."""
        for record in reversed(self.account(uid).transfers):
            if (trans_id and record.trans_id == trans_id) or (not trans_id and record.client_id == client_id):
                return [record.wire()]
        return []

    def _when(self, ts: int | None) -> int:
        now = self.clock.now_ms()
        if ts is None:
            return now
        if ts > now:
            raise ValueError("ts may not be in the future")
        return ts


def check_accounts(from_: str, to: str) -> None:
    """`from` and `to` of asset/transfer: "6" funding or "18" trading, else 51000."""
    for name, value in (("from", from_), ("to", to)):
        if value not in (FUNDING, TRADING):
            raise FundingError("51000", f"Parameter {name} error")


def _ts(row: Mapping[str, Any]) -> int:
    return int(row["ts"])


def _hex(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]
