"""`okxbot panic --master PROFILE`: every bot's sub-account locked down through the master key.

For each sub-account of the master, in this order (each step runs even when an earlier one failed,
and the report says per sub-account what was done and what could not be):
  1. the bots of this master running on this machine are stopped (SIGTERM; they cancel their own
     orders) and awaited, so that none places an order after step 2;
  2. with the sub-account's own key from the vault, while it still works (OKX has no way for the
     master to cancel a sub-account's orders): every pending algo order (TP/SL, trailing stops,
     triggers: they fire on their own) is canceled first, then every open order (spot and swaps),
     and both lists are read back; with --close-positions every swap position is closed with
     reduce-only market orders, otherwise the positions left open are named (once the keys are gone,
     only a new key can close them);
  3. every API key okxbot made on the sub-account is deleted (with --all-keys, every key, after a
     confirmation); the vault profiles of the sub-account are disabled until `okxbot keys rotate
     BOT --auto`;
  4. with --return-funds, the sub-account's free money goes back to the master's trading account.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from okxbot.cli.master_account import Master
    from okxbot.okx.client import OkxClient
    from okxbot.okx.subaccounts import SubAccount
    from okxbot.runstate import BotRecord
    from okxbot.vault.profiles import Profile

CANCEL_ROUNDS = 3


async def stop_bots(bots: list[BotRecord], wait: float) -> tuple[list[str], list[str]]:
    """SIGTERM each bot and wait (bounded) until its process is gone: (stopped, still running)."""
    from okxbot.runstate import running_bots

    for bot in bots:
        try:
            os.kill(bot.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            continue
    deadline = time.monotonic() + wait
    alive = {b.pid for b in running_bots()}
    while any(b.pid in alive for b in bots) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)  # another process's exit: polled, bounded by `wait`
        alive = {b.pid for b in running_bots()}
    return [b.bot for b in bots if b.pid not in alive], [
        f"{b.bot} (pid {b.pid})" for b in bots if b.pid in alive
    ]


async def respond_master(
    master_name: str, *, all_keys: bool, return_funds: bool, bot_wait: float, close_positions: bool = False
) -> dict[str, Any]:
    from okxbot.cli.master_account import open_master
    from okxbot.runstate import running_bots
    from okxbot.vault.profiles import ProfileStore

    report: dict[str, Any] = {"master": master_name, "subAccounts": [], "done": [], "notDone": []}
    profiles = [p for p in ProfileStore().all() if p.provisioned and p.master == master_name]
    ours = {p.name for p in profiles}
    bots = [b for b in running_bots() if b.profile in ours]
    stopped, still = await stop_bots(bots, bot_wait)
    report["botsStopped"] = stopped
    if stopped:
        report["done"].append(f"stopped bot(s) {', '.join(stopped)}")
    if still:
        report["notDone"].append(f"bot(s) still running after {bot_wait:g} s: {', '.join(still)}; kill them")
    if not bots:
        report["done"].append("no bot of this master was running on this machine")
    async with open_master(master_name, manage_keys=True, strict=False) as m:
        report["notDone"] += [f"master key: {problem}" for problem, _ in m.problems]
        for sub in sorted(await m.api.subaccounts(), key=lambda s: s.name):
            mine = [p for p in profiles if p.sub_acct == sub.name]
            report["subAccounts"].append(
                await _lock_down(
                    m,
                    sub,
                    mine,
                    all_keys=all_keys,
                    return_funds=return_funds,
                    close_positions=close_positions,
                )
            )
    if any(s["notDone"] for s in report["subAccounts"]):
        report["notDone"].append("some sub-accounts could not be fully locked down (see above)")
    return report


async def _lock_down(
    m: Master,
    sub: SubAccount,
    profiles: list[Profile],
    *,
    all_keys: bool,
    return_funds: bool,
    close_positions: bool = False,
) -> dict[str, Any]:
    from okxbot.cli.master_account import masked
    from okxbot.okx.errors import OkxError
    from okxbot.vault.made_keys import MadeKeys
    from okxbot.vault.profiles import now_iso
    from okxbot.vault.store import Vault

    entry: dict[str, Any] = {
        "subAccount": sub.name, "uid": sub.uid, "profiles": [p.name for p in profiles], "ordersCanceled": 0,
        "ordersLeft": None, "algosCanceled": 0, "algosLeft": None, "positionsClosed": [], "positionsLeft": None,
        "keysDeleted": [], "keysKept": [], "fundsMoved": [], "done": [], "notDone": [],
    }  # fmt: skip
    done, not_done = entry["done"], entry["notDone"]
    await _cancel_orders(m, sub, profiles, entry, close_positions=close_positions)
    made = MadeKeys()
    try:
        keys = await m.api.keys(sub.name)
    except OkxError as err:
        keys = []
        not_done.append(f"could not list its API keys: {err.describe()}")
    for key in keys:
        hint = masked(key.api_key)
        if made.find(key.api_key) is None and not all_keys:
            extra = ", CAN WITHDRAW" if "withdraw" in key.permissions else ""
            entry["keysKept"].append(hint)
            not_done.append(f"key {hint} ({key.label}, {key.perm_string}{extra}) was not made by okxbot: kept "
                            "(use --all-keys to delete every key)")  # fmt: skip
            continue
        try:
            await m.api.delete_key(sub.name, key.api_key)
        except OkxError as err:
            not_done.append(f"key {hint} NOT deleted: {err.describe()}")
            continue
        made.retire(key.api_key)
        entry["keysDeleted"].append(hint)
    if entry["keysDeleted"]:
        done.append(f"deleted {len(entry['keysDeleted'])} API key(s): {', '.join(entry['keysDeleted'])}")
    elif not keys:
        done.append("it has no API key")
    vault = Vault()
    for profile in profiles:
        vault.disable(profile.name, f"okxbot panic --master at {now_iso()}: its key was deleted")
        done.append(f"profile {profile.name!r} disabled until `okxbot keys rotate {profile.name} --auto`")
    if return_funds:
        await _return_funds(m, sub, entry)
    return entry


async def _cancel_orders(
    m: Master, sub: SubAccount, profiles: list[Profile], entry: dict[str, Any], *, close_positions: bool
) -> None:
    """Cancel with the sub-account's own key (the master cannot): algo orders, then orders, a few
    rounds each, then read back; positions closed (--close-positions) or named."""
    from okxbot.okx.client import ClientConfig, OkxClient
    from okxbot.okx.errors import OkxError
    from okxbot.vault.errors import VaultError
    from okxbot.vault.made_keys import MadeKeys
    from okxbot.vault.store import Vault

    not_done = entry["notDone"]
    if not profiles:
        not_done.append("no key of this sub-account is in the vault: its open orders and algo orders (if any) "
                        "could not be checked or canceled; cancel them on OKX's website")  # fmt: skip
        return
    last_error = ""
    made = MadeKeys()
    for profile in profiles:
        try:
            creds = Vault().credentials(profile.name)
        except VaultError as err:
            last_error = f"profile {profile.name!r}: {err.problem}"
            continue
        retired = made.find(creds.api_key.reveal())
        if retired is not None and retired.deleted:
            # an earlier panic (or rotation) deleted it after canceling what it had placed
            entry["done"].append(f"the key of {profile.name!r} was already deleted by okxbot ({retired.deleted}): "
                                 "no okxbot key can have placed orders since")  # fmt: skip
            return
        config = ClientConfig(rest_url=profile.base_url, demo=profile.demo, disk_cache=False)
        async with OkxClient(config, creds) as client:
            try:
                await client.account_config()
            except OkxError as err:
                last_error = f"profile {profile.name!r}: {err.describe()}"
                continue
            await _clear_account(client, profile.name, entry, close_positions=close_positions)
        return
    not_done.append(f"could not cancel its open orders ({last_error}); cancel them on OKX's website")


async def _clear_account(
    client: OkxClient, profile: str, entry: dict[str, Any], *, close_positions: bool
) -> None:
    """Algo orders first (a TP/SL or trailing stop could fire while the rest is canceled), then orders;
    then the positions: closed, or named as left open."""
    from okxbot.cli import panic_swaps
    from okxbot.okx.errors import OkxError

    done, not_done = entry["done"], entry["notDone"]
    steps = panic_swaps.SwapSteps()
    await panic_swaps.snapshot(client, steps)
    if steps.algos_before:
        await panic_swaps.cancel_algos(client, steps)
        entry["algosCanceled"] = steps.algos_canceled
        try:
            entry["algosLeft"] = len(await client.algos.pending())
        except OkxError as err:
            not_done.append(f"could not read its algo orders back ({err.describe()})")
        if entry["algosLeft"]:
            not_done.append(
                f"{entry['algosLeft']} algo order(s) are still pending: cancel them on OKX's website"
            )
    elif not steps.not_done:
        entry["algosLeft"] = 0
    try:
        for _ in range(CANCEL_ROUNDS):
            results = await client.cancel_all()
            entry["ordersCanceled"] += sum(1 for r in results if r.ok)
            if not results:
                break
        entry["ordersLeft"] = len(await client.fetch_open_orders())
    except OkxError as err:
        not_done.append(f"could not cancel its open orders with the key of {profile!r}: {err.describe()}; "
                        "cancel them on OKX's website")  # fmt: skip
    else:
        algos = f" and {entry['algosCanceled']} algo order(s)" if entry["algosCanceled"] else ""
        done.append(f"canceled {entry['ordersCanceled']} open order(s){algos} with the key of {profile!r}; "
                    f"{entry['ordersLeft']} order(s) left")  # fmt: skip
        if entry["ordersLeft"]:
            not_done.append(f"{entry['ordersLeft']} order(s) are still open: cancel them on OKX's website")
    if close_positions and steps.positions_before:
        closing = panic_swaps.SwapSteps()
        await panic_swaps.close_positions(client, closing)
        entry["positionsClosed"] = closing.closed
        done.extend(closing.done)
        not_done.extend(closing.not_done)
    try:
        left = await client.derivatives.positions() if steps.positions_before else []
    except OkxError as err:
        not_done.append(f"could not read its positions back ({err.describe()})")
        left = None
    if left is not None:
        entry["positionsLeft"] = [
            {
                "symbol": p.symbol,
                "side": p.side,
                "contracts": format(p.size, "f"),
                "marginMode": p.margin_mode,
            }
            for p in left
        ]
        if left and not close_positions:
            shown = "; ".join(f"{p.side} {format(p.size, 'f')} contracts of {p.symbol}" for p in left)
            done.append(f"left {len(left)} swap position(s) open ({shown}): its key is deleted next, so only a "
                        "new key (or OKX's website) can close them; --close-positions closes them first")  # fmt: skip
    not_done.extend(steps.not_done)


async def _return_funds(m: Master, sub: SubAccount, entry: dict[str, Any]) -> None:
    from okxbot.okx.errors import OkxError
    from okxbot.okx.subaccounts import FUNDING, TRADING

    try:
        sides = [
            (TRADING, await m.api.trading_balances(sub.name)),
            (FUNDING, await m.api.funding_balances(sub.name)),
        ]
    except OkxError as err:
        entry["notDone"].append(f"could not read its balances: {err.describe()}")
        return
    for side, balances in sides:
        for ccy, balance in sorted(balances.items()):
            amount: Decimal = balance.available
            if amount <= 0:
                continue
            try:
                await m.api.from_sub(sub.name, ccy, amount, sub_account=side)
            except OkxError as err:
                entry["notDone"].append(f"{format(amount, 'f')} {ccy} not moved back: {err.describe()}")
                continue
            entry["fundsMoved"].append(f"{format(amount, 'f')} {ccy}")
    if entry["fundsMoved"]:
        entry["done"].append(f"moved {', '.join(entry['fundsMoved'])} back to the master's trading account")


def text(report: dict[str, Any]) -> str:
    lines = [f"panic --master {report['master']}"]
    lines += [f"done:      {line}" for line in report["done"]]
    for sub in report["subAccounts"]:
        lines.append(f"\nsub-account {sub['subAccount']} (uid {sub['uid']}):")
        lines += [f"  done:      {line}" for line in sub["done"]]
        lines += [f"  NOT DONE:  {line}" for line in sub["notDone"]]
    if not report["subAccounts"]:
        lines.append("the master has no sub-account")
    lines += [f"NOT DONE:  {line}" for line in report["notDone"]]
    lines.append(
        "\nNext: check the master account on OKX's website; give each bot a new key with "
        "`okxbot keys rotate BOT --auto` once you know what happened."
    )
    return "\n".join(lines)
