"""`okxbot keys rotate BOT --auto`: a new key for a provisioned bot, the running bot moved onto it, the
old key deleted on OKX and in the vault, and the old key shown to be refused.

Order (so that no request of a running bot ever goes out with a deleted key):
  1. the master creates the new key on the bot's sub-account (same permissions, same IP binding);
  2. the vault gets it (profile generation + 1) and every bot running on the profile gets SIGHUP;
  3. each bot moves onto the new key between two requests, reconciles, and acknowledges
     (`trading.key_swap`, `runstate.ack_key`); a bot that does not within --wait seconds keeps the
     old key working: nothing is deleted and the command fails (run it again later);
  4. the old key, and any other key okxbot made on that sub-account, is deleted on OKX; keys okxbot
     did not make are kept and named;
  5. a request signed with the old key must now be refused (50111), and `doctor`'s checks run on the
     new key.
Usable from cron or a systemd timer: `okxbot keys rotate --auto --all --older-than 7 --yes --json`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from okxbot.okx.subaccounts import SubKey
    from okxbot.runstate import BotRecord
    from okxbot.vault.profiles import Profile
    from okxbot.vault.secret import Credentials

EXPIRY_DAYS = 14  # OKX: keys with Trade and no IP binding expire after 14 days unused


def notify_bots(profile: str) -> list[BotRecord]:
    """SIGHUP to every bot running on `profile`: they look at the vault now."""
    import os
    import signal

    from okxbot.runstate import bots_on

    told = []
    for record in bots_on(profile):
        try:
            os.kill(record.pid, signal.SIGHUP)
        except (ProcessLookupError, PermissionError):
            continue
        told.append(record)
    return told


async def wait_for_acks(bots: list[BotRecord], generation: int, within: float) -> list[BotRecord]:
    """The bots that did not say they sign with `generation` within `within` s (exited ones count as done)."""
    from okxbot.runstate import acked_generation, running_bots

    deadline = time.monotonic() + within
    pending = list(bots)
    while pending:
        alive = {b.pid for b in running_bots()}
        pending = [b for b in pending if b.pid in alive and _behind(acked_generation(b), generation)]
        if not pending or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)  # a bot process acknowledges through a file: polled, bounded by `within`
    return pending


def _behind(acked: int | None, generation: int) -> bool:
    return acked is None or acked < generation


def age_days(iso: str) -> float | None:
    try:
        then = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return (datetime.now(UTC) - then).total_seconds() / 86400


def expiry_warnings(sub: str, keys: list[SubKey]) -> list[str]:
    """OKX expires keys with Trade (or Withdraw) and without IP binding after 14 days unused; OKX does
    not say when a key was last used, so each such key is named with its age."""
    from okxbot.cli.master_account import masked

    now_ms = time.time() * 1000
    warnings = []
    for k in keys:
        if k.ips or not k.permissions & {"trade", "withdraw"}:
            continue
        age = f"{(now_ms - k.created_ms) / 86_400_000:.0f} days old" if k.created_ms else "age unknown"
        warnings.append(
            f"key {masked(k.api_key)} ({k.label}, {age}) of sub-account {sub} has {k.perm_string} and no IP "
            f"binding: OKX deletes it after {EXPIRY_DAYS} days unused; bind it to an IP or replace it"
        )
    return warnings


async def rotate_auto(name: str, *, wait: float, older_than: float | None, ip: str | None) -> dict[str, Any]:
    """Rotate one provisioned profile; returns its report (done / notDone / warnings / skipped)."""
    from okxbot.cli.master_account import (
        SetupError,
        bot_profile,
        choose_ips,
        key_label,
        masked,
        new_passphrase,
        open_master,
    )
    from okxbot.okx.errors import OkxError
    from okxbot.vault.errors import VaultError
    from okxbot.vault.made_keys import MadeKeys
    from okxbot.vault.profiles import now_iso
    from okxbot.vault.store import Vault

    report: dict[str, Any] = {"profile": name, "rotated": False, "done": [], "notDone": [], "warnings": []}
    done, not_done = report["done"], report["notDone"]
    try:
        profile = bot_profile(name)
        age = age_days(profile.key_created) if profile.key_created else None
        if older_than is not None and not profile.disabled and age is not None and age < older_than:
            report["skipped"] = f"key is {age:.1f} days old (< {older_than:g})"
            # a timer run still looks at the sub-account's keys: one OKX will expire deserves a word
            async with open_master(profile.master, manage_keys=False, need_trade=False) as m:
                report["warnings"] += expiry_warnings(profile.sub_acct, await m.api.keys(profile.sub_acct))
            return report
        vault = Vault()
        old: Credentials | None
        try:
            old = vault.credentials(name)
        except VaultError:
            old = None  # lost: the old key is found on OKX as the okxbot key that is not the new one
        async with open_master(profile.master, manage_keys=True) as m:
            sub = profile.sub_acct
            before = await m.api.keys(sub)
            old_key = next((k for k in before if old is not None and k.api_key == old.api_key.reveal()), None)
            ips = (
                old_key.ips
                if old_key is not None and old_key.ips and not ip
                else choose_ips(ip, m.config.ips, yes=True)
            )
            label = key_label(name, now_iso())
            new = await m.api.create_key(sub, label=label, passphrase=new_passphrase(), ips=ips)
            made = MadeKeys()
            made.record(new.key.api_key, master=profile.master, sub_acct=sub, profile=name, label=label)

            def describe(p: Profile) -> None:
                p.key_label, p.key_created = label, now_iso()

            try:
                stored = vault.rotate(name, new.credentials, describe)
            except BaseException:
                await m.api.delete_key(sub, new.key.api_key)
                raise
            done.append(f"created key {new.credentials.api_key.masked()} ({new.key.perm_string}, bound to "
                        f"{', '.join(ips)}) on sub-account {sub}; the vault holds it (generation {stored.generation})")  # fmt: skip
            bots = notify_bots(name)
            pending = await wait_for_acks(bots, stored.generation, wait)
            for bot in bots:
                if bot not in pending:
                    done.append(f"bot {bot.bot!r} (pid {bot.pid}) moved onto the new key and reconciled")
            if pending:
                names = ", ".join(f"{b.bot!r} (pid {b.pid})" for b in pending)
                not_done.append(f"bot {names} did not confirm the new key within {wait:g} s: the old key was "
                                "kept so that it keeps trading; run this command again (see the bot's log)")  # fmt: skip
                report["rotated"] = True
                return report
            if not bots:
                done.append("no bot was running on this profile")
            for key in before:
                ours = made.find(key.api_key) is not None or (
                    old_key is not None and key.api_key == old_key.api_key
                )
                if not ours:
                    report["warnings"].append(f"key {masked(key.api_key)} ({key.label}, {key.perm_string}) on "
                                              f"sub-account {sub} was not made by okxbot: kept")  # fmt: skip
                    continue
                try:
                    await m.api.delete_key(sub, key.api_key)
                except OkxError as err:
                    not_done.append(f"old key {masked(key.api_key)} not deleted on OKX: {err.describe()}")
                    continue
                made.retire(key.api_key)
                done.append(f"deleted the old key {masked(key.api_key)} on OKX")
            report["warnings"] += expiry_warnings(sub, await m.api.keys(sub))
        report["rotated"] = True
        if old is not None:
            done.append("the old values in the vault were overwritten")
            refusal = await _old_key_refused(profile, old)
            (done if refusal.startswith("the old key is refused") else not_done).append(refusal)
        await _doctor(name, new.credentials, report)
    except (SetupError, OkxError) as err:
        not_done.append(str(err) if isinstance(err, SetupError) else err.describe())
    except VaultError as err:
        not_done.append(str(err))
    return report


async def _old_key_refused(profile: Profile, old: Credentials) -> str:
    from okxbot.okx.client import ClientConfig, OkxClient
    from okxbot.okx.errors import OkxError

    config = ClientConfig(rest_url=profile.base_url, demo=profile.demo, disk_cache=False)
    async with OkxClient(config, old) as client:
        try:
            await client.account_config()
        except OkxError as err:
            if err.code in ("50111", "50119"):
                return f"the old key is refused by OKX ({err.code})"
            return f"could not check that the old key is refused: {err.describe()}"
    return "the old key still works on OKX: delete it on OKX's website"


async def _doctor(name: str, creds: Credentials, report: dict[str, Any]) -> None:
    from okxbot.okx.posture import audit
    from okxbot.vault.profiles import ProfileStore
    from okxbot.vault.store import Vault

    profile = ProfileStore().get(name)
    posture = await audit(profile.base_url, creds, demo=profile.demo, purpose="trade", sim=profile.is_sim)
    if posture.perm:
        Vault().record_check(name, posture.perm, posture.ip)
    flagged = [c for c in posture.checks if c.status in ("warn", "fail")]
    for c in flagged:
        report["notDone" if c.status == "fail" else "warnings"].append(
            f"doctor: {c.name}: {c.detail} ({c.fix})"
        )
    if not flagged:
        report["done"].append(f"doctor: all {len(posture.checks)} checks pass on the new key")
