"""`okxbot panic`: my key may be compromised. Stop, cancel, disable, export, and say what to do next."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from pathlib import Path

    from okxbot.cli.target import Target
    from okxbot.okx.client import OkxClient

DAYS = 7

CHECKLIST = """\
What to do now:
  1. DELETE THE KEY ON OKX NOW (Profile > API keys > Delete): until then anyone holding it can trade.
  2. Review the flagged activity in the report: orders okxbot did not place, and their fills.
  3. Contact OKX support if you see activity you did not make (or any withdrawal).
  4. Change your OKX account password and check 2FA (authenticator, anti-phishing code, devices).
  5. Create a new key (Read + Trade only, bound to your server's IP) and run `okxbot keys rotate NAME`."""


def panic(
    profile: str | None = typer.Option(None, "--profile", "-p", help="Vault profile of the compromised key."),
    sim: str | None = typer.Option(
        None,
        "--sim",
        help="Act on the okxbot simulator at this URL instead of OKX (a drill). With no --profile: a funded simulator account okxbot keeps for that URL (fetched on first use); --profile must then name a simulator key of that URL (`okxbot keys add NAME --sim URL`). An OKX key is never sent to a --sim URL.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Compromise response: stop okxbot bots here, disable the profile, cancel EVERY open order,
    export the last 7 days of orders, fills and bills (orders okxbot did not place are flagged),
    then print the checklist. Does as much as the key's permissions allow and says what it could not.
    Exit status 1 when something could not be done.
    """
    import asyncio
    import json

    from okxbot.cli.target import cli_errors, resolve_target

    with cli_errors():
        target = resolve_target(profile, sim, need="data", allow_disabled=True)
    outcome = asyncio.run(respond(target))
    if json_out:
        typer.echo(json.dumps(outcome.as_dict(), indent=2))
    else:
        for line in outcome.done:
            typer.echo(f"done:      {line}")
        for line in outcome.not_done:
            typer.echo(f"NOT DONE:  {line}")
        if outcome.report_dir:
            typer.echo(f"report:    {outcome.report_dir}")
        typer.echo("")
        typer.echo(CHECKLIST)
    if outcome.not_done:
        raise typer.Exit(1)


@dataclass
class Outcome:
    """What panic did and did not manage; every line is meant for the user."""

    done: list[str] = field(default_factory=list)
    not_done: list[str] = field(default_factory=list)
    report_dir: str = ""
    canceled: int = 0
    foreign_orders: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "not_done": self.not_done,
            "report_dir": self.report_dir,
            "canceled": self.canceled,
            "foreign_orders": self.foreign_orders,
            "checklist": CHECKLIST.splitlines()[1:],
        }


async def respond(target: Target) -> Outcome:
    """Each step runs even when an earlier one failed: a partial response beats none."""
    from okxbot.okx.client import ClientConfig, OkxClient
    from okxbot.okx.errors import OkxError

    outcome = Outcome()
    _stop_bots(outcome)
    _disable(target, outcome)
    config = ClientConfig(rest_url=target.base_url, demo=target.demo, disk_cache=False)
    async with OkxClient(config, target.credentials) as client:
        perms: frozenset[str] = frozenset()
        try:
            perms = (await client.account_config()).permissions
        except OkxError as err:
            outcome.not_done.append(f"could not reach the account with this key ({err.describe()})")
        open_before: list[dict[str, Any]] = []
        try:
            open_before = await _paged(client, "privateGetTradeOrdersPending", {"instType": "SPOT"}, "ordId")
        except OkxError as err:
            outcome.not_done.append(f"could not list open orders ({err.describe()})")
        if "trade" in perms:
            await _cancel_everything(client, outcome)
        elif perms:
            outcome.not_done.append(
                f"could not cancel the {len(open_before)} open order(s): the key is read-only. Cancel them on "
                "OKX's website or app, or delete the key there (its orders stay open)"
            )
        await _export(client, target, open_before, outcome)
    return outcome


def _stop_bots(outcome: Outcome) -> None:
    import os
    import signal

    from okxbot.runstate import pid_file, running_bots, unregister_bot

    bots = running_bots()
    for bot in bots:
        try:
            os.kill(bot.pid, signal.SIGTERM)
            outcome.done.append(f"sent SIGTERM to bot {bot.bot!r} (pid {bot.pid})")
        except ProcessLookupError:
            unregister_bot(pid_file(bot.bot))
        except PermissionError:
            outcome.not_done.append(
                f"could not stop bot {bot.bot!r} (pid {bot.pid}): not allowed; kill it as its owner"
            )
    if not bots:
        outcome.done.append("no okxbot bot was running on this machine")


def _disable(target: Target, outcome: Outcome) -> None:
    from okxbot.vault.errors import VaultError
    from okxbot.vault.profiles import now_iso
    from okxbot.vault.store import Vault

    if target.profile is None:
        outcome.not_done.append(
            "no vault profile to disable (the key came from the environment or the simulator): remove "
            "OKX_API_KEY, OKX_SECRET_KEY and OKX_PASSPHRASE from wherever they are set"
        )
        return
    try:
        Vault().disable(target.profile, f"okxbot panic at {now_iso()}: key may be compromised")
        outcome.done.append(
            f"profile {target.profile!r} disabled until `okxbot keys rotate {target.profile}`"
        )
    except VaultError as err:
        outcome.not_done.append(f"could not disable profile {target.profile!r}: {err.problem}")


async def _cancel_everything(client: OkxClient, outcome: Outcome) -> None:
    from okxbot.okx.errors import OkxError

    # A second round catches orders placed by someone else while the first was running.
    failed: list[str] = []
    for _ in range(3):
        try:
            results = await client.cancel_all()
        except OkxError as err:
            outcome.not_done.append(f"cancel failed: {err.describe()}")
            return
        if not results:
            break
        outcome.canceled += sum(1 for r in results if r.ok)
        failed = [f"{r.symbol} {r.order_id} ({r.code} {r.message})" for r in results if not r.ok]
    if failed:
        outcome.not_done.append(f"could not cancel {len(failed)} order(s): {'; '.join(failed[:10])}")
    outcome.done.append(f"canceled {outcome.canceled} open order(s) on every instrument")


async def _paged(client: OkxClient, method: str, params: dict[str, str], cursor: str) -> list[dict[str, Any]]:
    """Every row of a paginated OKX list endpoint (newest first, 100 a page, `after` = last id)."""
    from okxbot.okx.errors import OkxError, explain

    rows: list[dict[str, Any]] = []
    query = dict(params, limit="100")
    for _ in range(1000):  # 100k rows: more than 7 days of any retail account
        try:
            response = await getattr(client.raw, method)(dict(query))
        except OkxError:
            raise
        except Exception as exc:
            raise explain(exc) from None
        page = response.get("data") or []
        rows += page
        if len(page) < 100:
            break
        query["after"] = str(page[-1][cursor])
    return rows


def _okxbot_ids() -> set[str] | None:
    """The clOrdIds in this machine's order journal, or None when there is no journal yet."""
    from okxbot.trading.journal import default_url, journaled_client_ids
    from okxbot.vault.home import okxbot_home

    home = okxbot_home()
    if not (home / "journal.sqlite").exists():
        return None
    return journaled_client_ids(default_url(home))


def _is_okxbot_order(order: dict[str, Any], journaled: set[str] | None) -> bool:
    """Placed by okxbot on this machine: its clOrdId is in the journal (every okxbot order is journaled
    before it is sent). Without a journal, fall back to okxbot's clOrdId format (`okxb` + 28 hex)."""
    import re

    from okxbot.okx.ids import DEFAULT_PREFIX, MAX_LENGTH

    cl = str(order.get("clOrdId") or "")
    if journaled is not None:
        return cl in journaled
    return len(cl) == MAX_LENGTH and re.fullmatch(re.escape(DEFAULT_PREFIX) + "[0-9a-f]+", cl) is not None


async def _export(
    client: OkxClient, target: Target, open_before: list[dict[str, Any]], outcome: Outcome
) -> None:
    import time

    from okxbot.okx.errors import OkxError

    begin = str(int(time.time() * 1000) - DAYS * 86_400_000)
    spot = {"instType": "SPOT", "begin": begin}
    sections: dict[str, list[dict[str, Any]]] = {}
    try:
        history = await _paged(client, "privateGetTradeOrdersHistory", spot, "ordId")
        pending = await _paged(client, "privateGetTradeOrdersPending", {"instType": "SPOT"}, "ordId")
        merged: dict[str, dict[str, Any]] = {}
        for order in [*open_before, *pending, *history]:
            merged[str(order.get("ordId"))] = order  # later (fresher) states win
        orders = sorted(merged.values(), key=lambda o: int(o.get("cTime") or 0), reverse=True)
        journaled = _okxbot_ids()
        for order in orders:
            order["placedByOkxbot"] = "yes" if _is_okxbot_order(order, journaled) else "NO - FLAGGED"
        sections["orders"] = orders
        outcome.foreign_orders = sum(1 for o in orders if o["placedByOkxbot"] != "yes")
    except OkxError as err:
        outcome.not_done.append(f"could not export orders ({err.describe()})")
    foreign_ids = {str(o["ordId"]) for o in sections.get("orders", []) if o["placedByOkxbot"] != "yes"}
    try:
        try:
            fills = await _paged(client, "privateGetTradeFillsHistory", spot, "billId")
        except OkxError:
            # fills-history (3 months) may be missing where trade/fills (3 days) exists.
            fills = await _paged(client, "privateGetTradeFills", spot, "billId")
            outcome.not_done.append("fills older than 3 days were not exported (fills-history unavailable)")
        for fill in fills:
            fill["placedByOkxbot"] = "NO - FLAGGED" if str(fill.get("ordId")) in foreign_ids else "yes"
        sections["fills"] = fills
    except OkxError as err:
        outcome.not_done.append(f"could not export fills ({err.describe()})")
    try:
        sections["bills"] = await _paged(client, "privateGetAccountBills", {"begin": begin}, "billId")
    except OkxError as err:
        outcome.not_done.append(f"could not export bills ({err.describe()})")
    if sections:
        path = _write_report(target, sections, outcome)
        outcome.report_dir = str(path)
        counts = ", ".join(f"{len(rows)} {name}" for name, rows in sections.items())
        outcome.done.append(
            f"exported the last {DAYS} days ({counts}); {outcome.foreign_orders} order(s) not placed by okxbot flagged"
        )


def _write_report(target: Target, sections: dict[str, list[dict[str, Any]]], outcome: Outcome) -> Path:
    import csv
    import io
    import json
    from datetime import UTC, datetime

    from okxbot.vault.atomic import write_atomic
    from okxbot.vault.home import okxbot_home

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    directory = okxbot_home() / "reports" / f"panic-{stamp}"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, rows in sections.items():
        columns: list[str] = ["placedByOkxbot"] if rows and "placedByOkxbot" in rows[0] else []
        for row in rows:
            columns += [k for k in row if k not in columns]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
        write_atomic(directory / f"{name}.csv", buffer.getvalue().encode())
    report = {
        "generated": stamp,
        "profile": target.profile,
        "key": target.credentials.api_key.masked(),
        "base_url": target.base_url,
        "demo": target.demo,
        "days": DAYS,
        "summary": {"done": outcome.done, "not_done": outcome.not_done},
        **sections,
    }
    write_atomic(directory / "report.json", json.dumps(report, indent=2, default=str).encode())
    return directory


def _cell(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value)
