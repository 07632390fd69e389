"""The master account's sub-account endpoints (OKX "Sub-account" section), registered into `rest.ENDPOINTS`.

    GET  users/subaccount/list              Read   master only
    POST users/subaccount/create-subaccount Trade  master only, IP-bound master key
    POST users/subaccount/apikey            Trade  master only, IP-bound master key
    GET  users/subaccount/apikey            Read   master only
    POST users/subaccount/modify-apikey     Trade  master only, IP-bound master key
    POST users/subaccount/delete-apikey     Trade  master only, IP-bound master key
    POST users/subaccount/set-transfer-out  Trade  master only
    GET  account/subaccount/balances        Read   master only (the sub-account's trading account)
    GET  asset/subaccount/balances          Read   master only (the sub-account's funding account)
    GET  asset/subaccount/bills             Read   master only (transfers master <-> sub-accounts)
    POST asset/subaccount/transfer          Trade  master only (one sub-account -> another)
    GET  users/entrust-subaccount-list      Read   master only (custody sub-accounts: none here)

Refusals, as OKX's error table words them: 59500 a sub-account's key on a master-only endpoint;
50035 (HTTP 403) a master key without IP binding where the docs say "master accounts API Key must be
linked to IP addresses"; 59510 unknown sub-account; 59501 more than 50 keys on one account; 59502 a
label already used by another key of the sub-account; 59503 more than 20 IP addresses; 59505 a
passphrase that is not 8-32 characters with a digit, an upper-case and a lower-case letter and a
special character; 59506 an API key the sub-account does not have. Sub-account keys get `read_only`
and `trade` only: the docs offer no `withdraw` for them, so asking for it is a parameter error (51000).
A deleted key is refused from the next request on (50111) and its WebSocket sessions are closed
(4007); a modified key's sessions are closed too, as OKX does ("API key has been updated or deleted").
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from okxbot.sim.auth import ApiKey, parse_ip
from okxbot.sim.endpoints import _opt, _req
from okxbot.sim.rest import Call, endpoint
from okxbot.sim.subaccounts import SubAccount
from okxbot.sim.wire import SimError

SUB_PERMISSIONS = ("read_only", "trade")
_LABEL = re.compile(r"[A-Za-z0-9]{1,50}")
_PASSPHRASE_SPECIAL = re.compile(r"[^A-Za-z0-9]")
_SUB_TYPES = {"1": "Standard sub-account", "5": "Custody trading sub-account - Copper", "12": "Komainu"}
MAX_TRANSFER_OUT_NAMES = 20


# -- who may call ------------------------------------------------------------------------------


def _master(call: Call, *, ip_bound: bool = False) -> str:
    """The caller's uid when it is a master account; 59500 for a sub-account's key, 50035 for a master
    key without IP binding where OKX requires one."""
    key = call.key
    assert key is not None
    if call.ctx.subaccounts.is_sub(key.uid):
        raise SimError("59500")
    if ip_bound and not key.ip:
        raise SimError("50035")
    return key.uid


def _sub(call: Call, master_uid: str) -> SubAccount:
    # a ParamError becomes the top-level error in `rest.dispatch`
    return call.ctx.subaccounts.get(master_uid, _req(call.params, "subAcct"))


# -- parameters --------------------------------------------------------------------------------


def _bool(call: Call, name: str, default: bool) -> bool:
    value = call.params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise SimError("51000", name)


def check_passphrase(passphrase: str) -> str:
    """8-32 characters with at least one digit, one upper-case, one lower-case letter and one special
    character (docs "Create an API Key for a sub-account"); else 59505."""
    ok = (
        8 <= len(passphrase) <= 32
        and passphrase.isascii()
        and passphrase.isprintable()
        and " " not in passphrase
        and any(c.isdigit() for c in passphrase)
        and any(c.isupper() for c in passphrase)
        and any(c.islower() for c in passphrase)
        and _PASSPHRASE_SPECIAL.search(passphrase) is not None
    )
    if not ok:
        raise SimError("59505")
    return passphrase


def _perm(text: str) -> str:
    parts = {p.strip() for p in re.split(r"[,\s]+", text) if p.strip()}
    if not parts or not parts <= set(SUB_PERMISSIONS):
        raise SimError("51000", "perm")
    return ",".join(p for p in SUB_PERMISSIONS if p in parts | {"read_only"})


def _ip(text: str) -> str:
    entries = [e for e in re.split(r"[,\s]+", text) if e]
    if len(entries) > 20:
        raise SimError("59503")
    try:
        return ",".join(parse_ip(",".join(entries)))
    except ValueError:
        raise SimError("51000", "ip") from None


def _label(call: Call, sub: SubAccount, *, required: bool, exclude: str = "") -> str:
    label = _req(call.params, "label") if required else _opt(call.params, "label")
    if not label:
        return ""
    if not _LABEL.fullmatch(label):
        raise SimError("51000", "label")
    if any(k.label == label and k.api_key != exclude for k in call.ctx.keystore.of_uid(sub.uid)):
        raise SimError("59502")
    return label


def _key_of(call: Call, sub: SubAccount) -> ApiKey:
    api_key = _req(call.params, "apiKey")
    key = call.ctx.keystore.get(api_key)
    if key is None or key.uid != sub.uid:
        raise SimError("59506")
    return key


def _key_row(key: ApiKey, sub: SubAccount | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "apiKey": key.api_key,
        "ip": key.ip_string(),
        "label": key.label,
        "perm": key.perm_string(),
        "ts": str(key.ts),
    }
    if sub is not None:
        row["subAcct"] = sub.name
    return row


def _revoke(call: Call, api_key: str) -> None:
    from okxbot.sim.ws import hub_of

    try:
        hub = hub_of(call.ctx)
    except KeyError:
        return  # no WebSocket side (an engine-only test)
    hub.revoke_key(api_key)


# -- sub-accounts ------------------------------------------------------------------------------


@endpoint("GET", "/api/v5/users/subaccount/list", perm="read_only")
def subaccount_list(call: Call) -> list[Any]:
    return call.ctx.subaccounts.listing(_master(call), call.params)


@endpoint("POST", "/api/v5/users/subaccount/create-subaccount", perm="trade")
def create_subaccount(call: Call) -> list[Any]:
    master = _master(call, ip_bound=True)
    ctx = call.ctx
    name = _req(call.params, "subAcct")
    sub_type = _req(call.params, "type")
    label = _opt(call.params, "label")
    if sub_type not in _SUB_TYPES:
        raise SimError("51000", "type")
    if sub_type != "1":
        raise SimError.with_message(
            "59515",
            "You are currently not on the custody whitelist. Please contact customer service for assistance.",
        )
    if not ctx.subaccounts.api_create:
        raise SimError.with_message(
            "59518", "You can't create a sub-account using the API; please use the app or web."
        )
    if label and not 6 <= len(label) <= 32:
        raise SimError("51000", "label")
    ctx.subaccounts.check_new(master, name)  # before the engine account exists: nothing left behind
    uid = ctx.exchange.create_account({}, demo=ctx.exchange.is_demo(master))
    sub = ctx.subaccounts.add(master, name, uid, label, ctx.clock.now_ms())
    return [{"label": sub.label, "subAcct": sub.name, "ts": str(sub.ts), "uid": sub.uid}]


@endpoint("POST", "/api/v5/users/subaccount/set-transfer-out", perm="trade")
def set_transfer_out(call: Call) -> list[Any]:
    master = _master(call)
    names = [n for n in _req(call.params, "subAcct").split(",") if n]
    if len(names) > MAX_TRANSFER_OUT_NAMES:
        raise SimError("50025", "subAcct", str(MAX_TRANSFER_OUT_NAMES))
    allowed = _bool(call, "canTransOut", True)
    subs = [call.ctx.subaccounts.get(master, name) for name in names]
    for sub in subs:
        sub.can_trans_out = allowed
    return [{"canTransOut": sub.can_trans_out, "subAcct": sub.name} for sub in subs]


# -- sub-account API keys ----------------------------------------------------------------------


@endpoint("POST", "/api/v5/users/subaccount/apikey", perm="trade")
def create_apikey(call: Call) -> list[Any]:
    sub = _sub(call, _master(call, ip_bound=True))
    ctx = call.ctx
    label = _label(call, sub, required=True)
    passphrase = check_passphrase(_req(call.params, "passphrase"))
    perm = _perm(_opt(call.params, "perm") or "read_only")
    ip = _ip(_opt(call.params, "ip"))
    if len(ctx.keystore.of_uid(sub.uid)) >= ctx.subaccounts.max_keys:
        raise SimError("59501")
    key = ctx.keystore.create(
        sub.uid, perm=perm, ip=ip, label=label, demo=ctx.exchange.is_demo(sub.uid), passphrase=passphrase
    )
    return [_key_row(key, sub) | {"passphrase": key.passphrase, "secretKey": key.secret_key}]


@endpoint("GET", "/api/v5/users/subaccount/apikey", perm="read_only")
def query_apikey(call: Call) -> list[Any]:
    sub = _sub(call, _master(call))
    if _opt(call.params, "apiKey"):
        return [_key_row(_key_of(call, sub))]
    return [_key_row(k) for k in call.ctx.keystore.of_uid(sub.uid)]


@endpoint("POST", "/api/v5/users/subaccount/modify-apikey", perm="trade")
def modify_apikey(call: Call) -> list[Any]:
    sub = _sub(call, _master(call, ip_bound=True))
    key = _key_of(call, sub)
    changes: dict[str, Any] = {}
    label = _label(call, sub, required=False, exclude=key.api_key)
    if label:
        changes["label"] = label
    if _opt(call.params, "perm"):
        changes["perm"] = frozenset(_perm(_opt(call.params, "perm")).split(","))
    if "ip" in call.params and call.params["ip"] is not None:
        # OKX: "If ip is set to "", then no IP addresses is linked to the APIKey."
        changes["ip"] = tuple(e for e in _ip(_opt(call.params, "ip")).split(",") if e)
    if changes:
        key = dataclasses.replace(key, **changes)
        call.ctx.keystore.replace(key)
        _revoke(call, key.api_key)
    return [_key_row(key, sub)]


@endpoint("POST", "/api/v5/users/subaccount/delete-apikey", perm="trade")
def delete_apikey(call: Call) -> list[Any]:
    sub = _sub(call, _master(call, ip_bound=True))
    key = _key_of(call, sub)
    call.ctx.keystore.delete(key.api_key)
    _revoke(call, key.api_key)
    return [{"subAcct": sub.name}]


# -- a sub-account's money, seen by the master ------------------------------------------------


@endpoint("GET", "/api/v5/account/subaccount/balances", perm="read_only")
def subaccount_trading_balances(call: Call) -> list[Any]:
    sub = _sub(call, _master(call))
    return [call.ctx.exchange.balances(sub.uid)]


@endpoint("GET", "/api/v5/asset/subaccount/balances", perm="read_only")
def subaccount_funding_balances(call: Call) -> list[Any]:
    sub = _sub(call, _master(call))
    ccys = [c for c in _opt(call.params, "ccy").split(",") if c]
    if len(ccys) > 20:
        raise SimError("50025", "ccy", "20")
    return call.ctx.funding.balances(sub.uid, ccys or None)


@endpoint("GET", "/api/v5/asset/subaccount/bills", perm="read_only")
def subaccount_bills(call: Call) -> list[Any]:
    return call.ctx.subaccounts.bill_rows(_master(call), call.params)


@endpoint("POST", "/api/v5/asset/subaccount/transfer", perm="trade")
def subaccount_transfer(call: Call) -> list[Any]:
    from okxbot.sim.asset_endpoints import _amount, _flag, _known_ccy
    from okxbot.sim.subaccount_transfers import between_subs

    master = _master(call)
    ccy = _known_ccy(call)
    amt = _amount(call)
    if amt <= 0:
        raise SimError("58114")
    _flag(call, "loanTrans")
    _flag(call, "omitPosRisk")
    record = between_subs(
        call.ctx,
        master,
        ccy,
        amt,
        _req(call.params, "from"),
        _req(call.params, "to"),
        _opt(call.params, "fromSubAccount"),
        _opt(call.params, "toSubAccount"),
    )
    return [{"transId": record.trans_id}]


@endpoint("GET", "/api/v5/users/entrust-subaccount-list", perm="read_only")
def entrust_subaccount_list(call: Call) -> list[Any]:
    # Custody (entrusted) sub-accounts are made by a custodian, never by the API: the simulator has none.
    _master(call)
    return []
