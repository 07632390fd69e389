"""The `/api/v5/asset/...` endpoints (OKX's "Funding account" section), registered into `rest.ENDPOINTS`.

Permissions as OKX documents them: the histories, bills, balances, currencies and deposit addresses
need Read; `asset/transfer` needs Trade ("Only API keys with Trade privilege can call this
endpoint"); `asset/withdrawal` needs Withdraw. The funding model itself lives in `sim.funding_account`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from okxbot.sim import subaccount_transfers
from okxbot.sim.endpoints import _opt, _req
from okxbot.sim.filters import ParamError
from okxbot.sim.funding_account import MIN_WITHDRAWAL, WITHDRAWAL_FEE, currency_name, main_chain
from okxbot.sim.instruments import fmt
from okxbot.sim.rest import Call, endpoint
from okxbot.sim.wire import SimError

_CLIENT_ID_MAX = 32


def _ccys(call: Call) -> list[str]:
    return [c for c in _opt(call.params, "ccy").split(",") if c]


def _known_ccy(call: Call, required: bool = True) -> str:
    ccy = _req(call.params, "ccy") if required else _opt(call.params, "ccy")
    if ccy and ccy not in call.ctx.exchange.currencies():
        raise SimError("51000", "ccy")
    return ccy


def _amount(call: Call, name: str = "amt") -> Decimal:
    text = _req(call.params, name)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise SimError("51000", name) from None
    if not value.is_finite():
        raise SimError("51000", name)
    return value


def _client_id(call: Call) -> str:
    client_id = _opt(call.params, "clientId")
    if client_id and not (client_id.isascii() and client_id.isalnum() and len(client_id) <= _CLIENT_ID_MAX):
        raise SimError("51000", "clientId")
    return client_id


@endpoint("GET", "/api/v5/asset/balances", perm="read_only")
def asset_balances(call: Call) -> list[Any]:
    return call.ctx.funding.balances(call.uid, _ccys(call) or None)


@endpoint("GET", "/api/v5/asset/currencies", perm="read_only")
def asset_currencies(call: Call) -> list[Any]:
    wanted = set(_ccys(call))
    rows = []
    for ccy in sorted(call.ctx.exchange.currencies()):
        if wanted and ccy not in wanted:
            continue
        rows.append(
            {
                "burningFeeRate": "",
                "canDep": True,
                "canInternal": True,
                "canWd": True,
                "ccy": ccy,
                "chain": main_chain(ccy),
                "ctAddr": "",
                "depEstOpenTime": "",
                "depQuotaFixed": "",
                "depQuoteDailyLayer2": "",
                "fee": fmt(WITHDRAWAL_FEE),
                "logoLink": "",
                "mainNet": True,
                "maxFee": fmt(WITHDRAWAL_FEE),
                "maxFeeForCtAddr": "",
                "maxWd": "1000000",
                "minDep": "0.00000001",
                "minDepArrivalConfirm": "1",
                "minFee": fmt(WITHDRAWAL_FEE),
                "minFeeForCtAddr": "",
                "minInternal": "0",
                "minWd": fmt(MIN_WITHDRAWAL),
                "minWdUnlockConfirm": "1",
                "name": currency_name(ccy),
                "needTag": False,
                "usedDepQuotaFixed": "",
                "usedWdQuota": "0",
                "wdEstOpenTime": "",
                "wdQuota": "10000000",
                "wdTickSz": "8",
            }
        )
    return rows


@endpoint("GET", "/api/v5/asset/deposit-address", perm="read_only")
def asset_deposit_address(call: Call) -> list[Any]:
    return call.ctx.funding.deposit_addresses(call.uid, _known_ccy(call))


@endpoint("GET", "/api/v5/asset/deposit-history", perm="read_only")
def asset_deposit_history(call: Call) -> list[Any]:
    return call.ctx.funding.deposit_history(call.uid, call.params)


@endpoint("GET", "/api/v5/asset/withdrawal-history", perm="read_only")
def asset_withdrawal_history(call: Call) -> list[Any]:
    return call.ctx.funding.withdrawal_history(call.uid, call.params)


@endpoint("GET", "/api/v5/asset/bills", perm="read_only")
def asset_bills(call: Call) -> list[Any]:
    return call.ctx.funding.bills(call.uid, call.params)


@endpoint("POST", "/api/v5/asset/transfer", perm="trade")
def asset_transfer(call: Call) -> list[Any]:
    ccy = _known_ccy(call)
    amt = _amount(call)
    if amt <= 0:
        raise SimError("58114")
    _flag(call, "loanTrans")
    _flag(call, "omitPosRisk")  # portfolio margin only: accepted, nothing to ignore in Spot mode
    transfer_type = _opt(call.params, "type") or "0"
    from_, to = _req(call.params, "from"), _req(call.params, "to")
    if transfer_type == "0":
        record = call.ctx.funding.transfer(call.uid, ccy, amt, from_, to, client_id=_client_id(call))
    else:
        record = subaccount_transfers.transfer(
            call.ctx,
            call.uid,
            transfer_type,
            ccy,
            amt,
            from_,
            to,
            _opt(call.params, "subAcct"),
            _client_id(call),
        )
    return [
        {
            "amt": fmt(record.amt),
            "ccy": record.ccy,
            "clientId": record.client_id,
            "from": record.from_,
            "to": record.to,
            "transId": record.trans_id,
        }
    ]


def _flag(call: Call, name: str) -> None:
    """A boolean parameter: JSON true / false, or the strings python-okx and the docs use."""
    value = call.params.get(name)
    if value is None or value == "" or isinstance(value, bool):
        return
    if value not in ("true", "false"):
        raise SimError("51000", name)


@endpoint("GET", "/api/v5/asset/transfer-state", perm="read_only")
def asset_transfer_state(call: Call) -> list[Any]:
    trans_id, client_id = _opt(call.params, "transId"), _opt(call.params, "clientId")
    if not trans_id and not client_id:
        raise SimError("50015", "transId", "clientId")
    return call.ctx.funding.transfer_state(call.uid, trans_id, client_id)


@endpoint("POST", "/api/v5/asset/withdrawal", perm="withdraw")
def asset_withdrawal(call: Call) -> list[Any]:
    ccy = _known_ccy(call)
    amt = _amount(call)
    dest = _req(call.params, "dest")
    to_addr = _req(call.params, "toAddr")
    if dest not in ("3", "4"):
        raise SimError("51000", "dest")
    chain = _opt(call.params, "chain")
    if dest == "4" and chain and chain != main_chain(ccy):
        raise ParamError("58010", f"Chain {chain} isn't supported")
    client_id = _client_id(call)
    assert call.key is not None
    if call.key.demo:
        raise SimError("50038")
    if call.ctx.subaccounts.is_sub(call.uid):
        raise ParamError(
            "59504", "Sub-accounts don't support withdrawals. Please use your main account for withdrawals."
        )
    if amt < MIN_WITHDRAWAL:
        raise ParamError("58206", "Withdrawal amount is less than the lower limit.")
    # A request is only the start: the withdrawal waits (state "0") until the admin API moves it on.
    withdrawal = call.ctx.funding.withdraw(
        call.uid, ccy, amt, to_addr, dest=dest, chain=chain, client_id=client_id, state="0"
    )
    return [
        {
            "amt": fmt(withdrawal.amt),
            "ccy": withdrawal.ccy,
            "chain": withdrawal.chain,
            "clientId": withdrawal.client_id,
            "wdId": withdrawal.wd_id,
        }
    ]
