"""`POST asset/transfer` types 1-4: money between a master account and its sub-accounts.

OKX (docs "Funds transfer"):
  1  master -> sub-account      only a master account's key; `subAcct` names the receiver
  2  sub-account -> master      only a master account's key; `subAcct` names the payer
  3  sub-account -> master      only a sub-account's key (58127 for a master key)
  4  sub-account -> sub-account only a sub-account's key, to another sub-account of the same master
A master key using 3 / 4 answers 58127, a sub-account key using 1 / 2 answers 58128. A sub-account
moves money out on its own (3, 4) only while its transfer-out permission is on (`set-transfer-out`,
58119 otherwise): the simulator applies the permission to both, the harsher reading of "Sub-account
can transfer out to master account by default". A master pulling from its sub-account (2) always
works. `from` / `to` name the funding ("6") or trading ("18") account on each side.
"""

from __future__ import annotations

from decimal import Decimal

from okxbot.sim.context import SimContext
from okxbot.sim.filters import ParamError
from okxbot.sim.funding_account import (
    BILL_FROM_SUB,
    BILL_SUB_IN,
    BILL_SUB_OUT,
    BILL_TO_SUB,
    FundingError,
    Transfer,
    check_accounts,
)
from okxbot.sim.subaccounts import MASTER_TO_SUB, SUB_TO_MASTER, SubAccount

_MASTER_TYPES = ("1", "2")
_SUB_TYPES = ("3", "4")


def transfer(
    ctx: SimContext,
    caller_uid: str,
    transfer_type: str,
    ccy: str,
    amt: Decimal,
    from_: str,
    to: str,
    sub_acct: str,
    client_id: str,
) -> Transfer:
    """One master / sub-account transfer; raises ParamError (FundingError) with OKX's code."""
    check_accounts(from_, to)
    if transfer_type not in _MASTER_TYPES + _SUB_TYPES:
        raise FundingError("51000", "Parameter type error")
    subs = ctx.subaccounts
    caller_is_sub = subs.is_sub(caller_uid)
    if transfer_type in _MASTER_TYPES and caller_is_sub:
        raise FundingError(
            "58128",
            "Sub-account API key does not support current transfer 'type' parameter. "
            "Please refer to the API documentation.",
        )
    if transfer_type in _SUB_TYPES and not caller_is_sub:
        raise FundingError(
            "58127",
            "Main account API key does not support current transfer 'type' parameter. "
            "Please refer to the API documentation.",
        )
    now = ctx.clock.now_ms()
    if transfer_type in _MASTER_TYPES:
        sub = _named(ctx, caller_uid, sub_acct)
        if transfer_type == "1":
            record = ctx.funding.move(
                caller_uid, from_, sub.uid, to, ccy, amt, caller=caller_uid, transfer_type="1",
                sub_acct=sub.name, client_id=client_id, out_bill=BILL_TO_SUB, in_bill=BILL_SUB_IN,
            )  # fmt: skip
            subs.record_bill(caller_uid, sub, ccy, amt, MASTER_TO_SUB, now)
        else:
            record = ctx.funding.move(
                sub.uid, from_, caller_uid, to, ccy, amt, caller=caller_uid, transfer_type="2",
                sub_acct=sub.name, client_id=client_id, out_bill=BILL_SUB_OUT, in_bill=BILL_FROM_SUB,
            )  # fmt: skip
            subs.record_bill(caller_uid, sub, ccy, amt, SUB_TO_MASTER, now)
        return record
    me = subs.by_uid[caller_uid]
    if not me.can_trans_out:
        raise FundingError(
            "58119", f"{me.name} Sub-account has no permission to transfer out, please set first."
        )
    if transfer_type == "3":
        record = ctx.funding.move(
            caller_uid, from_, me.master_uid, to, ccy, amt, caller=caller_uid, transfer_type="3",
            sub_acct=sub_acct, client_id=client_id, out_bill=BILL_SUB_OUT, in_bill=BILL_FROM_SUB,
        )  # fmt: skip
        subs.record_bill(me.master_uid, me, ccy, amt, SUB_TO_MASTER, now)
        return record
    target = _named(ctx, me.master_uid, sub_acct)
    if target.uid == caller_uid:
        raise FundingError(
            "59507",
            "The two accounts involved in a transfer must be 2 different sub-accounts under the same main account.",
        )
    return ctx.funding.move(
        caller_uid, from_, target.uid, to, ccy, amt, caller=caller_uid, transfer_type="4",
        sub_acct=target.name, client_id=client_id, out_bill=BILL_SUB_OUT, in_bill=BILL_SUB_IN,
    )  # fmt: skip


def between_subs(
    ctx: SimContext,
    master_uid: str,
    ccy: str,
    amt: Decimal,
    from_: str,
    to: str,
    from_sub: str,
    to_sub: str,
) -> Transfer:
    """`POST asset/subaccount/transfer`: the master moves money from one of its sub-accounts to another
    (docs "Master accounts manage the transfers between sub-accounts"). The sub-account's own
    transfer-out permission (`set-transfer-out`) governs what its own key may do, not its master."""
    check_accounts(from_, to)
    if not from_sub or not to_sub:
        raise FundingError(
            "50014", f"Parameter {'fromSubAccount' if not from_sub else 'toSubAccount'} can not be empty."
        )
    src = _named(ctx, master_uid, from_sub)
    dst = _named(ctx, master_uid, to_sub)
    if src.uid == dst.uid:
        raise FundingError(
            "59507",
            "The two accounts involved in a transfer must be 2 different sub-accounts under the same main account.",
        )
    return ctx.funding.move(
        src.uid, from_, dst.uid, to, ccy, amt, caller=master_uid, transfer_type="4",
        sub_acct=dst.name, out_bill=BILL_SUB_OUT, in_bill=BILL_SUB_IN,
    )  # fmt: skip


def _named(ctx: SimContext, master_uid: str, sub_acct: str) -> SubAccount:
    if not sub_acct:
        raise FundingError("50014", "Parameter subAcct can not be empty.")
    try:
        return ctx.subaccounts.get(master_uid, sub_acct, code="58115")
    except ParamError as err:
        raise FundingError(err.code, err.msg) from None
