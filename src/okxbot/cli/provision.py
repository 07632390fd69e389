"""`okxbot keys provision BOT --master PROFILE`: a bot's own sub-account, trade-only IP-bound key and budget.

Steps (each reported; the first failure stops, and what was done is said):
  1. refuse bad input before any request (names, --budget, --ip);
  2. check the master key (main account, Read + Trade, no Withdraw, IP-bound: `master_account`);
  3. choose the key's IP binding (--ip, else this host's address as the master key's binding shows it);
  4. reuse the bot's sub-account or create it; turn its own transfer-out off (a leaked bot key can then
     move no money anywhere, only trade);
  5. create the key: `read_only,trade`, bound to the IP, a random passphrase; remember that okxbot
     made it (`vault.made_keys`) and store it in the vault as the trade profile BOT (a failure to store
     it deletes the key on OKX again);
  6. move the budget from the master to the sub-account's trading account;
  7. run `doctor`'s checks on the new key.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import typer

from okxbot.cli.master_account import SetupError


def provision(
    bot: str = typer.Argument(..., help="The bot's name: becomes the vault profile (use it with --profile)."),
    master: str = typer.Option(..., "--master", "-m", help="Vault profile of the MAIN account's key."),
    budget: list[str] = typer.Option(
        [],
        "--budget",
        metavar="CCY=AMOUNT",
        help="Money to move from the master to the bot's sub-account, e.g. USDT=500 (repeatable).",
    ),
    ip: str | None = typer.Option(
        None,
        "--ip",
        metavar="ADDR[,ADDR...]",
        help="Bind the key to these addresses (default: this host's, as the master key's binding shows).",
    ),
    sub_account: str | None = typer.Option(
        None,
        "--sub-account",
        metavar="NAME",
        help="The OKX sub-account to use or create (default: derived from BOT, e.g. gridbtc0427).",
    ),
    from_account: str = typer.Option(
        "trading", "--from-account", help="Where the budget comes from on the master: trading or funding."
    ),
    yes: bool = typer.Option(
        False,
        "--yes",
        "-y",
        help="Do not ask to confirm the IP address (it is asked only at a terminal; scripts get the master "
        "key's address).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable report."),
) -> None:
    """Give BOT its own sub-account, its own key (Read + Trade only, bound to this host's IP) and its own
    budget, all through the master key; the key is stored as profile BOT.

    A bug or a leaked key of this bot can then reach no more than its budget: OKX itself enforces it
    (orders beyond it fail with 51008, master-only endpoints with 59500, and the sub-account may not
    move money out). The master key must belong to the main account, have Read + Trade but not
    Withdraw, and be bound to this server's IP (OKX requires it to manage sub-account keys).

    Example: okxbot keys provision grid-btc --master main --budget USDT=500
    then:    okxbot run examples/grid.toml --profile grid-btc
    """
    import asyncio

    from okxbot.cli.master_account import (
        check_sub_name,
        master_target,
        parse_amounts,
        parse_ips,
        sub_name_for,
        working,
    )
    from okxbot.cli.target import cli_errors
    from okxbot.okx.errors import OkxError
    from okxbot.vault.profiles import ProfileStore, check_name

    with cli_errors():
        check_name(bot)
        amounts = parse_amounts(budget, "--budget")
        if ip is not None:
            parse_ips(ip)
        if from_account not in ("trading", "funding"):
            raise SetupError(f"--from-account {from_account!r}", "use trading or funding")
        sub = check_sub_name(sub_account) if sub_account else sub_name_for(bot)
        existing = ProfileStore().find(bot)
        if existing is not None:
            fix = (
                f"add money with `okxbot budget {bot} --add CCY=AMOUNT`, replace its key with "
                f"`okxbot keys rotate {bot} --auto`"
                if existing.provisioned
                else "choose another bot name, or remove the profile first (`okxbot keys remove NAME`)"
            )
            raise SetupError(f"a profile named {bot!r} already exists", fix)
        master_target(master)  # the master profile exists and is usable: checked before any request
    report: dict[str, Any] = {"bot": bot, "master": master, "subAccount": sub, "done": [], "notDone": []}
    try:
        with working(f"provisioning {bot}: sub-account {sub}, key, budget, doctor ..."):
            asyncio.run(_provision(bot, master, sub, amounts, ip, from_account, yes, report))
    except (SetupError, OkxError) as err:
        report["notDone"].append(str(err) if isinstance(err, SetupError) else err.describe())
    except typer.Abort:
        report["notDone"].append("stopped: the IP address was not confirmed; pass --ip ADDRESS")
    _print(report, json_out)
    if report["notDone"]:
        raise typer.Exit(1)


async def _provision(
    bot: str,
    master_name: str,
    sub: str,
    amounts: dict[str, Decimal],
    ip: str | None,
    from_account: str,
    yes: bool,
    report: dict[str, Any],
) -> None:
    from okxbot.cli.master_account import choose_ips, key_label, new_passphrase, open_master
    from okxbot.okx.errors import OkxError
    from okxbot.okx.posture import audit
    from okxbot.okx.subaccounts import FUNDING, TRADING
    from okxbot.vault.made_keys import MadeKeys
    from okxbot.vault.profiles import Profile, now_iso
    from okxbot.vault.store import Vault

    done: list[str] = report["done"]
    async with open_master(master_name, manage_keys=True) as m:
        done.append(f"master key checked: main account uid {m.config.uid}, {_perm(m.config.permissions)}, "
                    f"bound to {', '.join(m.config.ips)}")  # fmt: skip
        ips = choose_ips(ip, m.config.ips, yes=yes)
        if ip is None:
            done.append(f"the key will be bound to {', '.join(ips)}: the address the master key is bound to, "
                        "which OKX just accepted from this host (pass --ip to choose another)")  # fmt: skip
        found = await m.api.subaccounts(sub)
        if found:
            report["subAccountUid"] = found[0].uid
            done.append(f"reusing sub-account {sub} (uid {found[0].uid})")
        else:
            made = await m.api.create_subaccount(
                sub, label=("okxbot" + re.sub(r"[^A-Za-z0-9]", "", bot))[:32]
            )
            report["subAccountUid"] = made.uid
            done.append(f"created sub-account {sub} (uid {made.uid})")
        await m.api.set_transfer_out(sub, False)
        done.append(f"sub-account {sub} may not move money out by itself (only the master moves it)")
        label = key_label(bot, now_iso())
        new = await m.api.create_key(sub, label=label, passphrase=new_passphrase(), ips=ips)
        MadeKeys().record(new.key.api_key, master=master_name, sub_acct=sub, profile=bot, label=label)
        profile = Profile(
            name=bot,
            demo=m.profile.demo,
            region=m.profile.region,
            purpose="trade",
            notes=f"bot {bot}: sub-account {sub} of master profile {master_name}",
            sim_url=m.profile.sim_url,
            master=master_name,
            sub_acct=sub,
            key_label=label,
            key_created=now_iso(),
        )
        try:
            where = Vault().add(profile, new.credentials)
        except BaseException:
            # the key must not outlive a failed store: nobody could use or rotate it
            try:
                await m.api.delete_key(sub, new.key.api_key)
            except OkxError as err:
                report["notDone"].append(f"the new key {new.credentials.api_key.masked()} could not be deleted "
                                         f"again on OKX: {err.describe()}; delete it on OKX's website")  # fmt: skip
            raise
        report.update(
            key=new.credentials.api_key.masked(), perm=new.key.perm_string, ip=",".join(ips), label=label
        )
        done.append(f"created key {new.credentials.api_key.masked()} ({new.key.perm_string}, bound to "
                    f"{', '.join(ips)}), stored as profile {bot!r}. {where}")  # fmt: skip
        moved = []
        source = TRADING if from_account == "trading" else FUNDING
        for ccy, amount in amounts.items():
            try:
                await m.api.to_sub(sub, ccy, amount, master_account=source)
            except OkxError as err:
                report["notDone"].append(f"budget {format(amount, 'f')} {ccy} not moved: {err.describe()}")
                continue
            moved.append(f"{format(amount, 'f')} {ccy}")
        if moved:
            done.append(
                f"moved {', '.join(moved)} from the master's {from_account} account to {sub}'s trading account"
            )
        report["budget"] = moved
    posture = await audit(
        profile.base_url, new.credentials, demo=profile.demo, purpose="trade", sim=profile.is_sim
    )
    report["doctor"] = [c.as_dict() for c in posture.checks]
    if posture.perm:
        Vault().record_check(bot, posture.perm, posture.ip)
    flagged = [c for c in posture.checks if c.status in ("warn", "fail")]
    if flagged:
        report["notDone"] += [f"doctor: {c.name} {c.status}: {c.detail} ({c.fix})" for c in flagged]
    else:
        done.append(f"doctor: all {len(posture.checks)} checks pass on the new key")


def _perm(perms: frozenset[str]) -> str:
    return ",".join(p for p in ("read_only", "trade", "withdraw") if p in perms)


def _print(report: dict[str, Any], json_out: bool) -> None:
    import json

    if json_out:
        typer.echo(json.dumps(report, indent=2))
        return
    for line in report["done"]:
        typer.echo(f"done:      {line}")
    for line in report["notDone"]:
        typer.echo(f"NOT DONE:  {line}")
    if not report["notDone"]:
        typer.echo(f"\nNext: okxbot run CONFIG.toml --profile {report['bot']}")
