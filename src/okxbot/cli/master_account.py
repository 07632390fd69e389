"""What the master-account commands share (`keys provision`, `keys rotate --auto`, `keys list --master`,
`budget`, `panic --master`): the master profile and its checks, sub-account names, key labels,
passphrases, IP choice and `CCY=AMOUNT` budgets. Everything here that can refuse does so before any
request is sent.

What OKX requires of the master key (docs "Sub-account"): it must belong to the main account (a
sub-account's key gets 59500), it needs Trade (creating sub-accounts and keys, moving money), and it
must be bound to an IP address to create sub-accounts and to create, modify or delete their keys
(50035). okxbot adds: it must not have Withdraw (a leaked master key with Withdraw empties the whole
account; nothing okxbot does needs it).
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import re
import secrets
import string
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Literal

from okxbot.vault.errors import VaultError

if TYPE_CHECKING:
    from okxbot.cli.target import Target
    from okxbot.okx.client import OkxClient
    from okxbot.okx.models import AccountConfig
    from okxbot.okx.subaccounts import MasterAccount
    from okxbot.vault.profiles import Profile
    from okxbot.vault.secret import Secret

LABEL_PREFIX = "okxbot"
_SUB_NAME = re.compile(r"[A-Za-z0-9]{6,20}")
_CCY = re.compile(r"[A-Z0-9]{1,12}")
MAX_IPS = 20


class SetupError(VaultError):
    """A refusal of a master-account command; nothing was sent (or nothing more)."""


# -- names, labels, passphrases ----------------------------------------------------------------


def sub_name_for(bot: str) -> str:
    """The sub-account name okxbot uses for `bot`: its letters and digits, plus 4 digits of a hash of
    the bot name (OKX: 6-20 letters and digits; the digits also keep `grid-btc` and `gridbtc` apart)."""
    base = re.sub(r"[^A-Za-z0-9]", "", bot)[:16] or "bot"
    digits = str(int(hashlib.sha256(bot.encode()).hexdigest(), 16))[-4:]
    name = base + digits
    if not any(c.isalpha() for c in name):
        name = "bot" + name[:17]
    return name


def check_sub_name(name: str) -> str:
    if not (_SUB_NAME.fullmatch(name) and any(c.isalpha() for c in name) and any(c.isdigit() for c in name)):
        raise SetupError(
            f"{name!r} is not a valid OKX sub-account name",
            "use 6-20 letters and digits, with at least one of each (e.g. gridbtc01)",
        )
    return name


def key_label(bot: str, now: str) -> str:
    """The key's note on OKX: letters and digits only (<= 50), unique per creation time."""
    stamp = re.sub(r"[^0-9]", "", now)[:14]
    return f"{LABEL_PREFIX}{re.sub(r'[^A-Za-z0-9]', '', bot)[:24]}{stamp}"


def new_passphrase() -> Secret:
    """A random passphrase OKX accepts: 8-32 characters with a digit, upper, lower and a special one."""
    from okxbot.vault.secret import Secret

    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(24))
    return Secret(f"Ok{body}7-")


def masked(api_key: str) -> str:
    """How okxbot shows an API key: its last 4 characters (the key itself is never printed)."""
    from okxbot.vault.secret import Secret

    return Secret(api_key).masked()


@contextlib.contextmanager
def working(text: str) -> Iterator[None]:
    """A spinner with `text` on stderr while a master-account command talks to OKX (a terminal only:
    scripts and --json readers get the report alone)."""
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        yield
        return
    with console.status(text):
        yield


# -- input -------------------------------------------------------------------------------------


def parse_amounts(values: Iterable[str], option: str) -> dict[str, Decimal]:
    """`["USDT=500", "BTC=0.01"]` -> {"USDT": Decimal("500"), ...}; each amount > 0, each currency once."""
    amounts: dict[str, Decimal] = {}
    for value in values:
        ccy, sep, text = value.partition("=")
        ccy = ccy.strip().upper()
        fix = f"write {option} CURRENCY=AMOUNT, e.g. {option} USDT=500 (repeat it for more currencies)"
        if not sep or not _CCY.fullmatch(ccy):
            raise SetupError(f"{option} {value!r} is not CURRENCY=AMOUNT", fix)
        try:
            amount = Decimal(text.strip())
        except InvalidOperation:
            raise SetupError(f"{option} {value!r}: {text.strip()!r} is not a number", fix) from None
        if not amount.is_finite() or amount <= 0:
            raise SetupError(f"{option} {value!r}: the amount must be more than 0", fix)
        if ccy in amounts:
            raise SetupError(f"{option} names {ccy} twice", "give each currency once")
        amounts[ccy] = amount
    return amounts


def parse_ips(text: str) -> tuple[str, ...]:
    entries = tuple(e for e in re.split(r"[,\s]+", text.strip()) if e)
    fix = "give IPv4 / IPv6 addresses (or networks like 203.0.113.0/24), separated by commas"
    if not entries:
        raise SetupError("--ip is empty", fix)
    if len(entries) > MAX_IPS:
        raise SetupError(f"--ip names {len(entries)} addresses; OKX binds a key to at most {MAX_IPS}", fix)
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SetupError(f"--ip: {entry!r} is not an IP address or network", fix) from None
    return entries


def single_hosts(ips: Iterable[str]) -> list[str]:
    """The entries of a key's IP binding that name one host (not a network)."""
    hosts = []
    for entry in ips:
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if network.num_addresses == 1:
            hosts.append(str(network.network_address))
    return hosts


def choose_ips(given: str | None, master_ips: tuple[str, ...], *, yes: bool) -> tuple[str, ...]:
    """The IP binding of a new bot key: --ip, else this host's address as OKX sees it.

    OKX accepted the master key from this host, and the master key is bound to `master_ips`: this
    host's public address is one of them. One address: proposed, and confirmed at a terminal unless
    --yes (without a terminal, e.g. from a script or cron, it is taken: it is the address OKX just
    accepted the master key from, so the binding can only be too narrow, never too wide); several:
    the user picks (or passes --ip when there is no terminal).
    """
    import sys

    import typer

    if given:
        return parse_ips(given)
    hosts = single_hosts(master_ips)
    if len(hosts) == 1 and len(master_ips) == 1:
        if not yes and sys.stdin is not None and sys.stdin.isatty():
            typer.confirm(
                f"Bind the bot's key to {hosts[0]}? (the master key is bound to it and OKX just accepted "
                "it from this host)",
                default=True,
                abort=True,
                err=True,
            )
        return (hosts[0],)
    shown = ", ".join(master_ips)
    if yes or not hosts or sys.stdin is None or not sys.stdin.isatty():
        raise SetupError(
            f"the master key is bound to {shown}: okxbot cannot tell which address is this host",
            "pass --ip ADDRESS (this server's public IP address)",
        )
    import click

    picked = typer.prompt(
        f"The master key is bound to {shown}. Which address is this host?",
        type=click.Choice(hosts),
        err=True,
    )
    return (str(picked),)


# -- the master profile ------------------------------------------------------------------------


def master_problems(
    config: AccountConfig, profile: str, *, manage_keys: bool, need_trade: bool = True
) -> list[tuple[str, str]]:
    """(problem, fix) for each way the master key is unfit for what okxbot will do with it (reading
    only, `need_trade=False`, is fine with a read-only key)."""
    problems = []
    if config.main_uid and config.uid != config.main_uid:
        problems.append(
            (
                f"profile {profile!r} holds the key of a sub-account (uid {config.uid}, master {config.main_uid})",
                "pass --master with a profile holding a key of the MAIN account (OKX answers 59500 to a "
                "sub-account's key on these endpoints)",
            )
        )
    if "withdraw" in config.permissions:
        problems.append(
            (
                f"the master key of profile {profile!r} can WITHDRAW; okxbot refuses it: whoever gets this key "
                "could move all the account's money out, and nothing okxbot does needs Withdraw",
                "create a master key with Read + Trade only (Trade is what creating sub-accounts and keys "
                f"and moving money between your accounts needs), bound to this server's IP, delete the old "
                f"one on OKX, and store the new one with `okxbot keys rotate {profile}`",
            )
        )
    if need_trade and "trade" not in config.permissions:
        problems.append(
            (
                f"the master key of profile {profile!r} is read-only",
                "creating sub-accounts and keys and moving money needs Read + Trade: edit the key on OKX",
            )
        )
    if manage_keys and not config.ips:
        problems.append(
            (
                f"the master key of profile {profile!r} is not bound to an IP address",
                "OKX lets a master key create sub-accounts and create or delete their API keys only when it "
                "is bound to IP addresses (error 50035): edit the key on OKX's API page and bind it to this "
                "server's public IP",
            )
        )
    return problems


@dataclass
class Master:
    target: Target
    profile: Profile
    client: OkxClient
    api: MasterAccount
    config: AccountConfig
    problems: list[tuple[str, str]]


def master_target(
    profile: str, *, allow_disabled: bool = False, need: Literal["data", "trade"] = "trade"
) -> tuple[Target, Profile]:
    """The master profile's target (before anything is sent); a profile is required."""
    from okxbot.cli.target import resolve_target
    from okxbot.vault.profiles import ProfileStore, check_name

    check_name(profile)
    stored = ProfileStore().get(profile)
    if stored.provisioned:
        raise SetupError(
            f"profile {profile!r} is a bot's sub-account key (made by `okxbot keys provision`)",
            f"pass --master {stored.master} (the master account's profile)",
        )
    return resolve_target(profile, None, need=need, allow_disabled=allow_disabled), stored


@contextlib.asynccontextmanager
async def open_master(
    profile: str, *, manage_keys: bool, strict: bool = True, need_trade: bool = True
) -> AsyncIterator[Master]:
    """The master account, checked: one signed read (account/config), then `master_problems` refuse
    (with `strict=False`, for `panic --master`, they are kept in `Master.problems` instead: an
    emergency goes ahead with the key it has)."""
    from okxbot.okx.client import ClientConfig, OkxClient
    from okxbot.okx.subaccounts import MasterAccount

    target, stored = master_target(profile, allow_disabled=not strict, need="trade" if need_trade else "data")
    config = ClientConfig(rest_url=target.base_url, demo=target.demo, disk_cache=False)
    async with OkxClient(config, target.credentials) as client:
        account = await client.account_config()
        problems = master_problems(account, profile, manage_keys=manage_keys, need_trade=need_trade)
        if problems and strict:
            raise SetupError("; ".join(p for p, _ in problems), "; ".join(f for _, f in problems))
        yield Master(target, stored, client, MasterAccount(client), account, problems)


def bot_profile(name: str) -> Profile:
    """A profile made by `okxbot keys provision` (its master and sub-account are known)."""
    from okxbot.vault.profiles import ProfileStore

    stored = ProfileStore().get(name)
    if not stored.provisioned:
        raise SetupError(
            f"profile {name!r} was not made by `okxbot keys provision` (okxbot does not know its "
            "sub-account or master)",
            f"provision the bot with `okxbot keys provision {name} --master MASTER`, or manage this key "
            "on OKX's website",
        )
    return stored
