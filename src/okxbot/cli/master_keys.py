"""`okxbot keys list --master PROFILE`: every API key of every sub-account, as OKX lists them, with
what okxbot knows of each: made by okxbot (its own record, `vault.made_keys`, not the label anyone can
copy), the vault profile holding it, and flags for what deserves a look: a key okxbot did not make, a
key that can withdraw, a key without IP binding (OKX deletes those with Trade after 14 days unused),
a key okxbot made that no profile holds any more (left over by an interrupted rotation)."""

from __future__ import annotations

import time
from typing import Any


async def inventory(master_name: str) -> dict[str, Any]:
    from okxbot.cli.key_rotation import EXPIRY_DAYS
    from okxbot.cli.master_account import masked, open_master
    from okxbot.vault.made_keys import MadeKeys
    from okxbot.vault.profiles import ProfileStore

    made = MadeKeys()
    profiles = [p for p in ProfileStore().all() if p.provisioned and p.master == master_name]
    rows: list[dict[str, Any]] = []
    async with open_master(master_name, manage_keys=False, need_trade=False) as m:  # reading: Read is enough
        subs = await m.api.subaccounts()
        for sub in sorted(subs, key=lambda s: s.name):
            for key in await m.api.keys(sub.name):
                entry = made.find(key.api_key)
                hint = masked(key.api_key)
                holder = next(
                    (p.name for p in profiles if p.sub_acct == sub.name and p.key_hint == hint), None
                )
                flags = []
                if "withdraw" in key.permissions:
                    flags.append("CAN WITHDRAW")
                if entry is None:
                    flags.append("not made by okxbot")
                elif holder is None:
                    flags.append(
                        "made by okxbot but in no profile (left over): `keys rotate --auto` deletes it"
                    )
                if not key.ips:
                    flags.append(
                        f"no IP binding (expires after {EXPIRY_DAYS} days unused)"
                        if "trade" in key.permissions
                        else "no IP binding"
                    )
                age = (time.time() * 1000 - key.created_ms) / 86_400_000 if key.created_ms else None
                rows.append(
                    {
                        "subAccount": sub.name,
                        "uid": sub.uid,
                        "key": hint,
                        "label": key.label,
                        "perm": key.perm_string,
                        "ip": ",".join(key.ips),
                        "created": key.created_ms,
                        "ageDays": None if age is None else round(age, 1),
                        "madeByOkxbot": entry is not None,
                        "profile": holder,
                        "flags": flags,
                    }
                )
        empty = sorted(s.name for s in subs if not any(r["subAccount"] == s.name for r in rows))
    return {"master": master_name, "uid": m.config.uid, "keys": rows, "subAccountsWithoutKeys": empty}


def render(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"API keys of the sub-accounts of {result['master']} (uid {result['uid']})")
    for col in (
        "sub-account",
        "key",
        "label",
        "permission",
        "IP binding",
        "age",
        "okxbot",
        "profile",
        "flags",
    ):
        table.add_column(col, no_wrap=col in ("sub-account", "key"))
    for row in result["keys"]:
        age = "?" if row["ageDays"] is None else f"{row['ageDays']:g} d"
        flags = "; ".join(row["flags"])
        table.add_row(
            row["subAccount"],
            row["key"],
            row["label"],
            row["perm"],
            row["ip"] or "none",
            age,
            "yes" if row["madeByOkxbot"] else "NO",
            row["profile"] or "-",
            f"[bold red]{flags}[/]"
            if any(f.startswith(("CAN", "not made")) for f in row["flags"])
            else flags,
        )
    console = Console()
    console.print(table)
    if result["subAccountsWithoutKeys"]:
        console.print(f"sub-accounts without keys: {', '.join(result['subAccountsWithoutKeys'])}")
    flagged = [r for r in result["keys"] if not r["madeByOkxbot"] or "withdraw" in r["perm"]]
    if flagged:
        console.print(
            f"[bold red]{len(flagged)} key(s) need a look[/]: keys okxbot did not make, or that can withdraw, "
            "are not okxbot's bots' keys. If you do not know them, delete them on OKX (or `okxbot panic "
            "--master NAME --all-keys`).",
            soft_wrap=True,
        )
