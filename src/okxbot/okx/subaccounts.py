"""A master account's view of its sub-accounts: create them, manage their API keys, move money.

    master = MasterAccount(client)          # an OkxClient holding the master account's key
    await master.subaccounts(name=None) -> [SubAccount]
    await master.create_subaccount(name, label="") -> SubAccount
    await master.set_transfer_out(name, allowed) -> None
    await master.keys(name) -> [SubKey]                     # every API key of one sub-account
    await master.create_key(name, label=, passphrase=, perm="read_only,trade", ips=()) -> NewKey
    await master.delete_key(name, api_key) -> None
    await master.to_sub(name, ccy, amount, master_account="18") / from_sub(...)   # asset/transfer 1 / 2
    await master.trading_balances(name) -> {ccy: Balance};  await master.funding_balances(name)

OKX's rules (docs "Sub-account"): only a master account's key may call these (59500), and the master
key must be bound to an IP address to create sub-accounts and to create, modify or delete their keys
(50035). A sub-account key can have `read_only` and `trade`, never `withdraw`. Every failure is an
OkxError (`okx.errors`), with OKX's code and a hint.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okxbot.okx.errors import bad_response
from okxbot.okx.models import Balance, dec0
from okxbot.vault.secret import Credentials, Secret

if TYPE_CHECKING:
    from okxbot.okx.client import OkxClient

FUNDING = "6"
TRADING = "18"
PERMISSIONS = ("read_only", "trade", "withdraw")


def _split(text: Any) -> tuple[str, ...]:
    return tuple(p.strip() for p in str(text or "").replace(" ", ",").split(",") if p.strip())


@dataclass(frozen=True)
class SubAccount:
    name: str
    uid: str
    label: str
    created_ms: int
    can_transfer_out: bool
    enabled: bool

    @classmethod
    def from_okx(cls, raw: dict[str, Any]) -> SubAccount:
        return cls(
            name=str(raw.get("subAcct", "")),
            uid=str(raw.get("uid", "")),
            label=str(raw.get("label", "")),
            created_ms=_ms(raw.get("ts")),
            can_transfer_out=bool(raw.get("canTransOut", False)),
            enabled=bool(raw.get("enable", True)),
        )


@dataclass(frozen=True)
class SubKey:
    """One API key of a sub-account as the master sees it (no secret)."""

    api_key: str
    label: str
    permissions: frozenset[str]
    ips: tuple[str, ...]
    created_ms: int

    @classmethod
    def from_okx(cls, raw: dict[str, Any]) -> SubKey:
        # OKX's own example of modify-apikey answers "read,trade": both spellings mean Read
        perms = {"read_only" if p == "read" else p for p in _split(raw.get("perm"))}
        return cls(
            api_key=str(raw.get("apiKey", "")),
            label=str(raw.get("label", "")),
            permissions=frozenset(perms),
            ips=_split(raw.get("ip")),
            created_ms=_ms(raw.get("ts")),
        )

    @property
    def perm_string(self) -> str:
        return ",".join(p for p in PERMISSIONS if p in self.permissions) + "".join(
            f",{p}" for p in sorted(self.permissions - set(PERMISSIONS))
        )


@dataclass(frozen=True)
class NewKey:
    """A key just created: the only moment OKX hands out its secret."""

    key: SubKey
    credentials: Credentials


class MasterAccount:
    """The sub-account endpoints over an OkxClient that holds a master account's key."""

    def __init__(self, client: OkxClient) -> None:
        self.client = client
        self.raw = client.raw

    async def _data(self, awaitable: Any) -> list[dict[str, Any]]:
        response = await self.client._call(awaitable)
        data = response.get("data") if isinstance(response, dict) else None
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise bad_response(ValueError(f"not an OKX list answer: {str(response)[:120]!r}"))
        return data

    # -- sub-accounts ---------------------------------------------------------------------------
    async def subaccounts(self, name: str | None = None) -> list[SubAccount]:
        """Every sub-account of the master (or the one called `name`), newest first."""
        found: list[SubAccount] = []
        params: dict[str, str] = {"limit": "100"}
        if name:
            params["subAcct"] = name
        while True:
            page = [
                SubAccount.from_okx(r)
                for r in await self._data(self.raw.privateGetUsersSubaccountList(params))
            ]
            fresh = [s for s in page if s.name not in {f.name for f in found}]
            found += fresh
            if len(page) < 100 or not fresh:
                return found
            params["after"] = str(min(s.created_ms for s in page))

    async def create_subaccount(self, name: str, label: str = "") -> SubAccount:
        body = {"subAcct": name, "type": "1"}
        if label:
            body["label"] = label
        row = (await self._data(self.raw.privatePostUsersSubaccountCreateSubaccount(body)))[0]
        return SubAccount.from_okx({"canTransOut": True, "enable": True, **row})

    async def set_transfer_out(self, name: str, allowed: bool) -> None:
        await self._data(
            self.raw.privatePostUsersSubaccountSetTransferOut({"subAcct": name, "canTransOut": allowed})
        )

    # -- API keys -------------------------------------------------------------------------------
    async def keys(self, name: str) -> list[SubKey]:
        rows = await self._data(self.raw.privateGetUsersSubaccountApikey({"subAcct": name}))
        return [SubKey.from_okx(r) for r in rows]

    async def create_key(
        self,
        name: str,
        *,
        label: str,
        passphrase: Secret,
        perm: str = "read_only,trade",
        ips: tuple[str, ...] = (),
    ) -> NewKey:
        body = {"subAcct": name, "label": label, "passphrase": passphrase.reveal(), "perm": perm}
        if ips:
            body["ip"] = ",".join(ips)
        row = (await self._data(self.raw.privatePostUsersSubaccountApikey(body)))[0]
        api_key, secret = str(row.get("apiKey") or ""), str(row.get("secretKey") or "")
        if not api_key or not secret:
            raise bad_response(ValueError("the new key's answer holds no apiKey / secretKey"))
        from okxbot.vault import redact

        redact.register([api_key, secret, passphrase.reveal()])
        creds = Credentials(Secret(api_key), Secret(secret), passphrase)
        return NewKey(SubKey.from_okx(row), creds)

    async def delete_key(self, name: str, api_key: str) -> None:
        await self._data(
            self.raw.privatePostUsersSubaccountDeleteApikey({"subAcct": name, "apiKey": api_key})
        )

    # -- money ------------------------------------------------------------------------------------
    async def to_sub(self, name: str, ccy: str, amount: Decimal, *, master_account: str = TRADING) -> str:
        """Master (`master_account`) -> the sub-account's trading account; returns the transfer id."""
        return await self._transfer("1", name, ccy, amount, master_account, TRADING)

    async def from_sub(
        self,
        name: str,
        ccy: str,
        amount: Decimal,
        *,
        master_account: str = TRADING,
        sub_account: str = TRADING,
    ) -> str:
        """The sub-account's trading (or funding) account -> the master (`master_account`)."""
        return await self._transfer("2", name, ccy, amount, sub_account, master_account)

    async def _transfer(self, kind: str, name: str, ccy: str, amount: Decimal, from_: str, to: str) -> str:
        body = {
            "type": kind,
            "subAcct": name,
            "ccy": ccy,
            "amt": format(amount, "f"),
            "from": from_,
            "to": to,
        }
        row = (await self._data(self.raw.privatePostAssetTransfer(body)))[0]
        return str(row.get("transId", ""))

    async def trading_balances(self, name: str) -> dict[str, Balance]:
        rows = await self._data(self.raw.privateGetAccountSubaccountBalances({"subAcct": name}))
        details = (rows[0] if rows else {}).get("details") or []
        return {b.ccy: b for b in (Balance.from_okx(d) for d in details)}

    async def funding_balances(self, name: str) -> dict[str, Balance]:
        rows = await self._data(self.raw.privateGetAssetSubaccountBalances({"subAcct": name}))
        return {
            str(r.get("ccy")): Balance(
                str(r.get("ccy")), dec0(r.get("bal")), dec0(r.get("availBal")), dec0(r.get("frozenBal"))
            )
            for r in rows
        }


def _ms(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
