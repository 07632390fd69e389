"""Master accounts and their sub-accounts (OKX "Sub-account" section): who belongs to whom.

A sub-account is an engine account of its own (its own uid, balances, orders, fills and rate-limit
buckets, as on OKX) that a master account created; this registry only records the relation and the
sub-account's own settings (name, label, transfer-out permission). Keys live in `sim.auth.KeyStore`
like every key; a key belongs to a sub-account when its uid is one here.

Rules as OKX documents them (docs "Create sub-account", "Get sub-account list", "Set permission of
transfer out"; error table 59xxx):
  name         6-20 letters and digits (docs: "supports 6 to 20 characters that include numbers and
               letters"); the simulator takes the harsher reading and wants at least one of each
  label        optional, 6-32 characters
  per master   at most `max_subaccounts` (59603); a taken name answers 59601
  canTransOut  whether the sub-account's own key may move funds out to another sub-account (type 4);
               OKX: "Sub-account can transfer out to master account by default"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import count
from typing import Any

from okxbot.sim.filters import ListFilters, ParamError
from okxbot.sim.instruments import fmt

_NAME = re.compile(r"[A-Za-z0-9]{6,20}")
_LABEL_MAX = 32
MAX_SUBACCOUNTS = 1000  # OKX's cap depends on the VIP level; the admin API may lower it
MAX_KEYS_PER_ACCOUNT = 50  # 59501 "Each account can create up to 50 API keys"
SUB_TO_MASTER = "1"  # asset/subaccount/bills type
MASTER_TO_SUB = "0"


def check_name(name: str) -> str:
    """A valid sub-account name, or ParamError 51000 (the harsher reading: letters AND digits)."""
    if not (_NAME.fullmatch(name) and any(c.isalpha() for c in name) and any(c.isdigit() for c in name)):
        raise ParamError("51000", "Parameter subAcct error")
    return name


@dataclass(slots=True)
class SubAccount:
    name: str
    uid: str
    master_uid: str
    label: str
    ts: int
    can_trans_out: bool = True
    enable: bool = True

    def wire(self) -> dict[str, Any]:
        """One row of GET users/subaccount/list."""
        return {
            "canTransOut": self.can_trans_out,
            "enable": self.enable,
            "firstLvSubAcct": self.name,
            "frozenFunc": [],
            "gAuth": False,
            "ifDma": False,
            "label": self.label,
            "mobile": "",
            "subAcct": self.name,
            "subAcctLv": "1",
            "ts": str(self.ts),
            "type": "1",
            "uid": self.uid,
        }


@dataclass(slots=True)
class SubBill:
    """One row of GET asset/subaccount/bills (kept on the master)."""

    bill_id: str
    ccy: str
    amt: Decimal
    bill_type: str  # "0" master -> sub, "1" sub -> master
    sub_acct: str
    ts: int

    def wire(self) -> dict[str, str]:
        return {
            "amt": fmt(self.amt),
            "billId": self.bill_id,
            "ccy": self.ccy,
            "subAcct": self.sub_acct,
            "ts": str(self.ts),
            "type": self.bill_type,
        }


@dataclass
class SubAccounts:
    """Every master -> sub-account relation of one simulator (loop thread only, like the engine)."""

    by_uid: dict[str, SubAccount] = field(default_factory=dict)
    by_master: dict[str, dict[str, SubAccount]] = field(default_factory=dict)
    bills: dict[str, list[SubBill]] = field(default_factory=dict)  # master uid -> oldest first
    api_create: bool = True  # False: create-subaccount answers 59518 (use the website), switchable
    max_subaccounts: int = MAX_SUBACCOUNTS
    max_keys: int = MAX_KEYS_PER_ACCOUNT
    _bill_ids: Any = field(default_factory=lambda: count(550_000_000_001))

    def is_sub(self, uid: str) -> bool:
        return uid in self.by_uid

    def master_of(self, uid: str) -> str:
        """The master's uid of a sub-account; a main account is its own master."""
        sub = self.by_uid.get(uid)
        return sub.master_uid if sub is not None else uid

    def of_master(self, master_uid: str) -> list[SubAccount]:
        """Oldest first."""
        return list(self.by_master.get(master_uid, {}).values())

    def find(self, master_uid: str, name: str) -> SubAccount | None:
        return self.by_master.get(master_uid, {}).get(name)

    def get(self, master_uid: str, name: str, code: str = "59510") -> SubAccount:
        """The sub-account `name` of this master, or ParamError: 59510 (sub-account endpoints) or 58115
        (asset/transfer), the two codes OKX answers for a sub-account it does not know."""
        sub = self.find(master_uid, name)
        if sub is None:
            msg = "Sub-account does not exist" if code == "59510" else "Sub-account does not exist."
            raise ParamError(code, msg)
        return sub

    def check_new(self, master_uid: str, name: str) -> None:
        """ParamError unless `master_uid` may create a sub-account called `name` now."""
        check_name(name)
        if any(name == s.name for subs in self.by_master.values() for s in subs.values()):
            # OKX sub-account names are unique across the exchange, not only per master.
            raise ParamError("59601", "Subaccount name already exists.")
        if len(self.of_master(master_uid)) >= self.max_subaccounts:
            raise ParamError("59603", "Maximum number of subaccounts reached.")

    def add(self, master_uid: str, name: str, uid: str, label: str, ts: int) -> SubAccount:
        """Record a sub-account whose engine account `uid` exists already (`check_new` first)."""
        self.check_new(master_uid, name)
        if len(label) > _LABEL_MAX:
            raise ParamError("51000", "Parameter label error")
        sub = SubAccount(name=name, uid=uid, master_uid=master_uid, label=label, ts=ts)
        self.by_uid[uid] = sub
        self.by_master.setdefault(master_uid, {})[name] = sub
        return sub

    def listing(self, master_uid: str, filters: Mapping[str, str]) -> list[dict[str, Any]]:
        """GET users/subaccount/list: newest first, paged by creation time."""
        f = ListFilters(filters)
        enable = f.choice("enable", ("true", "false"))
        name = f.get("subAcct")
        return f.page(
            (
                s
                for s in reversed(self.of_master(master_uid))
                if (not name or s.name == name) and (not enable or s.enable == (enable == "true"))
            ),
            key=lambda s: s.ts,
            render=SubAccount.wire,
        )

    def record_bill(
        self, master_uid: str, sub: SubAccount, ccy: str, amt: Decimal, bill_type: str, ts: int
    ) -> None:
        self.bills.setdefault(master_uid, []).append(
            SubBill(str(next(self._bill_ids)), ccy, amt, bill_type, sub.name, ts)
        )

    def bill_rows(self, master_uid: str, filters: Mapping[str, str]) -> list[dict[str, str]]:
        """GET asset/subaccount/bills: newest first; after / before are ts (ms, exclusive)."""
        f = ListFilters(filters)
        ccy, name = f.get("ccy"), f.get("subAcct")
        bill_type = f.choice("type", (MASTER_TO_SUB, SUB_TO_MASTER))
        return f.page(
            (
                b
                for b in reversed(self.bills.get(master_uid, []))
                if (not ccy or b.ccy == ccy)
                and (not name or b.sub_acct == name)
                and (not bill_type or b.bill_type == bill_type)
            ),
            key=lambda b: b.ts,
            render=SubBill.wire,
        )
