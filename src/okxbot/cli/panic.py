"""`okxbot panic`: my key may be compromised. Stop, cancel, disable, export, and say what to do next."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer

from okxbot.cli.panic_export import DAYS

if TYPE_CHECKING:
    from okxbot.cli.panic_withdrawals import WithdrawalAlert
    from okxbot.cli.target import Target
    from okxbot.okx.client import OkxClient

LABELS = {
    "funding_bills": "funding-account bills",
    "bills": "trading-account bills",
    "algo_orders": "algo orders",
    "positions_history": "closed positions",
}

CHECKLIST = """\
What to do now:
  1. DELETE THE KEY ON OKX NOW (Profile > API keys > Delete): until then anyone holding it can trade.
  2. Review the report: withdrawals first, then orders okxbot did not place (flagged) and their fills.
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
    close_positions: bool = typer.Option(
        False,
        "--close-positions",
        help="Also close every perpetual-swap position with reduce-only market orders (after canceling "
        "every order and algo order), saying what was done for each; with --master, in every sub-account "
        "(before its keys are deleted).",
    ),
    master: str | None = typer.Option(
        None,
        "--master",
        metavar="PROFILE",
        help="Lock down every bot's sub-account through this master profile instead (see below).",
    ),
    all_keys: bool = typer.Option(
        False, "--all-keys", help="With --master: delete every sub-account key, not only those okxbot made."
    ),
    return_funds: bool = typer.Option(
        False, "--return-funds", help="With --master: move the sub-accounts' free money back to the master."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="With --all-keys: do not ask for confirmation."),
    bot_wait: float = typer.Option(
        30.0, "--bot-wait", help="With --master: seconds to wait for bots to stop."
    ),
) -> None:
    """Compromise response: stop okxbot bots here, disable the profile, cancel EVERY open order and
    EVERY algo order (TP/SL, trailing stops, triggers: they fire on their own), with --close-positions
    close every swap position, then export the last 7 days: withdrawals (shown first: amount,
    currency, address, time, state and what to do), deposits, funding-account bills, orders (those
    okxbot did not place are flagged), fills, trading-account bills, algo orders, positions and their
    history, to OKXBOT_HOME/reports/panic-<time>/ (CSV files, report.json, summary.txt), then print the
    checklist. Works with a read-only key (it cannot cancel or close, and says so).
    Exit status 1 when something could not be done.

    With --master PROFILE (bots made by `okxbot keys provision`): stop this master's bots, then for
    each sub-account, with its own key while it still works, cancel every algo order and every open
    order (with --close-positions also close its swap positions; otherwise they are named as left
    open), delete every API key okxbot made there (--all-keys: every key, after confirmation),
    disable the bots' profiles, optionally move the money back (--return-funds), and report per
    sub-account what was done and what could not be.
    """
    import asyncio
    import json

    from okxbot.cli.target import cli_errors, resolve_target

    if master is not None:
        _panic_master(master, profile, sim, all_keys, return_funds, yes, bot_wait, json_out, close_positions)
        return
    with cli_errors():
        if all_keys or return_funds:
            from okxbot.vault.errors import VaultError

            raise VaultError("--all-keys and --return-funds go with --master", "add --master PROFILE")
        target = resolve_target(profile, sim, need="data", allow_disabled=True)
    outcome = asyncio.run(respond(target, close_positions=close_positions))
    if json_out:
        typer.echo(json.dumps(outcome.as_dict(), indent=2))
    else:
        typer.echo(outcome.text())
    if outcome.not_done:
        raise typer.Exit(1)


def _panic_master(
    master: str,
    profile: str | None,
    sim: str | None,
    all_keys: bool,
    return_funds: bool,
    yes: bool,
    bot_wait: float,
    json_out: bool,
    close_positions: bool = False,
) -> None:
    import asyncio
    import json

    from okxbot.cli.master_account import SetupError, master_target, working
    from okxbot.cli.panic_master import respond_master, text
    from okxbot.cli.target import cli_errors
    from okxbot.okx.errors import OkxError

    with cli_errors():
        if profile is not None or sim is not None:
            raise SetupError(
                "--master goes alone", "drop --profile / --sim (the master profile knows its host)"
            )
        if bot_wait < 0:
            raise SetupError("--bot-wait must be >= 0", "give a number of seconds, e.g. --bot-wait 30")
        master_target(master, allow_disabled=True)
    if all_keys and not yes:
        typer.confirm(
            "Delete EVERY API key of every sub-account of this master, including keys okxbot did not make?",
            abort=True,
            err=True,
        )
    try:
        with working(f"panic --master {master}: stopping bots, canceling orders, deleting keys ..."):
            report = asyncio.run(
                respond_master(
                    master,
                    all_keys=all_keys,
                    return_funds=return_funds,
                    bot_wait=bot_wait,
                    close_positions=close_positions,
                )
            )
    except (SetupError, OkxError) as err:
        report = {"master": master, "subAccounts": [], "done": [], "notDone": [
            str(err) if isinstance(err, SetupError) else err.describe()
        ]}  # fmt: skip
    typer.echo(json.dumps(report, indent=2) if json_out else text(report))
    if report["notDone"]:
        raise typer.Exit(1)


@dataclass
class Outcome:
    """What panic found and did; every line is meant for the user."""

    done: list[str] = field(default_factory=list)
    not_done: list[str] = field(default_factory=list)
    report_dir: str = ""
    canceled: int = 0
    foreign_orders: int = 0
    withdrawals: list[WithdrawalAlert] | None = None  # None: they could not be read
    alert: list[str] = field(default_factory=list)  # the report's first lines: the withdrawals
    algos_canceled: int = 0
    positions_closed: list[dict[str, Any]] = field(default_factory=list)  # per position: what was done

    def as_dict(self) -> dict[str, Any]:
        return {
            "withdrawals": None if self.withdrawals is None else [w.as_dict() for w in self.withdrawals],
            "alert": self.alert,
            "done": self.done,
            "not_done": self.not_done,
            "report_dir": self.report_dir,
            "canceled": self.canceled,
            "foreign_orders": self.foreign_orders,
            "algos_canceled": self.algos_canceled,
            "positions_closed": self.positions_closed,
            "checklist": CHECKLIST.splitlines()[1:],
        }

    def text(self) -> str:
        """The report as the console and summary.txt show it: withdrawals first, the checklist last."""
        lines = [*self.alert, ""]
        lines += [f"done:      {line}" for line in self.done]
        lines += [f"NOT DONE:  {line}" for line in self.not_done]
        if self.report_dir:
            lines.append(f"report:    {self.report_dir}")
        return "\n".join([*lines, "", CHECKLIST])


async def respond(target: Target, *, close_positions: bool = False) -> Outcome:
    """Each step runs even when an earlier one failed: a partial response beats none."""
    from okxbot.cli import panic_swaps
    from okxbot.cli.panic_export import export, paged, write_report
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
            open_before = await paged(client, "privateGetTradeOrdersPending", {}, "ordId")
        except OkxError as err:
            outcome.not_done.append(f"could not list open orders ({err.describe()})")
        swaps = panic_swaps.SwapSteps()
        await panic_swaps.snapshot(client, swaps)
        if "trade" in perms:
            # algo orders first: a TP/SL or trailing stop could otherwise fire while the rest is canceled
            await panic_swaps.cancel_algos(client, swaps)
            await _cancel_everything(client, outcome)
            if close_positions:
                await panic_swaps.close_positions(client, swaps)
        elif perms:
            outcome.not_done.append(
                f"could not cancel the {len(open_before)} open order(s)"
                + (f" and {len(swaps.algos_before)} algo order(s)" if swaps.algos_before else "")
                + ": the key is read-only. Cancel them on OKX's website or app, or delete the key there "
                "(its orders stay open)"
            )
            if close_positions and swaps.positions_before:
                outcome.not_done.append(
                    f"could not close the {len(swaps.positions_before)} position(s): the key is read-only"
                )
        outcome.done += swaps.done
        outcome.not_done += swaps.not_done
        outcome.algos_canceled = swaps.algos_canceled
        outcome.positions_closed = swaps.closed
        found = await export(client, open_before, client.clock.now_ms())
        more, problems = await panic_swaps.export_sections(client, swaps, client.clock.now_ms())
        found.sections.update(more)
        found.problems += problems
    outcome.withdrawals = found.withdrawals
    outcome.alert = found.alert_lines()
    outcome.foreign_orders = found.foreign_orders
    outcome.not_done += found.problems
    if found.sections:
        counts = ", ".join(f"{len(rows)} {LABELS.get(name, name)}" for name, rows in found.sections.items())
        outcome.done.append(
            f"exported the last {DAYS} days ({counts}); {outcome.foreign_orders} order(s) not placed by okxbot flagged"
        )
        summary = {"done": outcome.done, "not_done": outcome.not_done}
        outcome.report_dir = str(write_report(target, found, summary, outcome.text()))
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
