"""`okxbot keys ...`: store, list, rotate and remove OKX API keys (the vault)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from okxbot.cli.provision import provision

if TYPE_CHECKING:
    from okxbot.vault.profiles import Profile
    from okxbot.vault.secret import Credentials

HELP = """Store and manage OKX API keys safely (OS keyring, or an encrypted vault file).

An OKX API key is three values, all shown when you create the key on OKX:

  * API key      - the public identifier of the key (like a user name). Shown masked by okxbot.
  * Secret key   - signs every request. OKX shows it ONCE, at creation; if it is lost, delete the key
                   on OKX and create a new one.
  * Passphrase   - the password YOU chose when creating the key; sent with every request. OKX cannot
                   recover it either.

okxbot asks for them with hidden input (or reads OKX_API_KEY, OKX_SECRET_KEY, OKX_PASSPHRASE with
--from-env) and never accepts them as command-line arguments, which would land in shell history and
`ps`. Give a key the least permission it needs (Read, or Read + Trade; never Withdraw) and bind it to
your server's IP address.

Every key is bound to one host: an OKX key to OKX's host for its region, a simulator key (`keys add
NAME --sim URL`) to that simulator. okxbot never sends a key anywhere else.

The safest setup needs only ONE key made by hand, the master account's (Read + Trade, no Withdraw,
bound to your server's IP): `okxbot keys provision BOT --master NAME --budget USDT=500` then gives
each bot its own sub-account, its own trade-only IP-bound key and its own budget; `keys rotate BOT
--auto` replaces that key while the bot runs, `keys list --master NAME` shows every sub-account key,
and `okxbot panic --master NAME` revokes them all.
"""

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode=None)
app.command("provision")(provision)

_LOST = (
    "A lost secret key or passphrase cannot be recovered (not by okxbot, not by OKX): delete the key on "
    "OKX, create a new one, and store it with `okxbot keys rotate NAME`."
)


def _read_credentials(from_env: bool) -> Credentials:
    from okxbot.vault.env_backend import ENV_NAMES, credentials_from_env
    from okxbot.vault.errors import VaultError
    from okxbot.vault.secret import Credentials, Secret

    if from_env:
        creds = credentials_from_env()
        if creds is None:
            raise VaultError(
                "--from-env was given but OKX_API_KEY, OKX_SECRET_KEY, OKX_PASSPHRASE are not set",
                f"export {', '.join(ENV_NAMES)} first, or drop --from-env to be prompted",
            )
        return creds
    typer.echo("Paste the values from OKX (input stays hidden).", err=True)
    api_key = typer.prompt("API key (public identifier)", hide_input=True, err=True).strip()
    secret_key = typer.prompt("Secret key (shown once by OKX)", hide_input=True, err=True).strip()
    passphrase = typer.prompt(
        "Passphrase (chosen when you created the key)", hide_input=True, err=True
    ).strip()
    return Credentials(Secret(api_key), Secret(secret_key), Secret(passphrase))


def _validate(creds: Credentials) -> list[str]:
    """Errors for values that cannot be an OKX key; warnings (returned) for unusual shapes."""
    import re

    from okxbot.vault.errors import VaultError

    api_key, secret_key, passphrase = creds.values()
    for label, value in (("API key", api_key), ("secret key", secret_key), ("passphrase", passphrase)):
        if not value:
            raise VaultError(
                f"the {label} is empty", "copy it again from OKX (the passphrase is the one you chose)"
            )
        if any(ch.isspace() for ch in value):
            raise VaultError(
                f"the {label} contains spaces or line breaks", "copy it again without surrounding text"
            )
    uuid = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
    hex32 = re.compile(r"^[0-9A-F]{32}$")
    if hex32.match(api_key) and uuid.match(secret_key):
        raise VaultError(
            "the API key and the secret key look swapped",
            "enter the identifier (xxxxxxxx-xxxx-...) as API key and the 32-character value as secret key",
        )
    warnings = []
    if not uuid.match(api_key):
        warnings.append(
            "the API key does not look like an OKX API key (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
        )
    if not hex32.match(secret_key):
        warnings.append("the secret key does not look like an OKX secret key (32 hexadecimal characters)")
    return warnings


@app.command()
def add(
    name: str = typer.Argument(..., help="Profile name, e.g. main or data."),
    demo: bool = typer.Option(
        False, "--demo", help="The key is a demo-trading key (created in OKX's demo mode)."
    ),
    region: str = typer.Option(
        "www", help="Where the key was created: www (okx.com), eea (my.okx.com), us (app.okx.com)."
    ),
    purpose: str = typer.Option(
        "trade", help="trade (bots, orders) or data (read-only uses, e.g. market data)."
    ),
    notes: str = typer.Option("", help="Free text shown by `keys list`."),
    from_env: bool = typer.Option(
        False, "--from-env", help="Read OKX_API_KEY, OKX_SECRET_KEY, OKX_PASSPHRASE."
    ),
    sim: str | None = typer.Option(
        None,
        "--sim",
        metavar="URL",
        help="The key belongs to the okxbot simulator at URL (e.g. a key from the `okxbot sim serve` "
        "ready line): the profile is bound to that URL and its key is sent nowhere else; "
        "`--profile NAME` then works without --sim. Never store an OKX key this way.",
    ),
) -> None:
    """Store a new key under NAME (prompts for the three values with hidden input).

    An OKX key is only ever sent to OKX's host for its --region; a simulator key (--sim URL) only to
    that simulator.
    """
    from okxbot.cli.target import cli_errors
    from okxbot.vault.errors import VaultError
    from okxbot.vault.profiles import Profile, check_name, check_purpose, check_region, check_sim_url
    from okxbot.vault.store import Vault

    with cli_errors():
        if sim is not None and region != "www":
            raise VaultError(
                "--region applies to OKX keys, and --sim stores a simulator key",
                "drop --region (a simulator key is bound to its --sim URL)",
            )
        profile = Profile(
            name=check_name(name),
            demo=demo,
            region=check_region(region),
            purpose=check_purpose(purpose),
            notes=notes,
            sim_url=check_sim_url(sim) if sim is not None else "",
        )
        vault = Vault()
        if vault.profiles.find(name) is not None:
            vault.profiles.add(profile)  # raises "already exists" with the fix
        creds = _read_credentials(from_env)
        for warning in _validate(creds):
            typer.echo(f"warning: {warning}", err=True)
        if profile.is_sim:
            _refuse_okx_key_as_sim(vault.profiles.all(), creds)
        where = vault.add(profile, creds)
        bound = f"bound to {profile.sim_url}" if profile.is_sim else region
        typer.echo(
            f"Added profile {name!r} ({profile.environment}, {bound}, {purpose}), key {profile.key_hint}. {where}"
        )
        typer.echo(f"Next: `okxbot doctor --profile {name}` checks what this key can do.")


def _refuse_okx_key_as_sim(profiles: list[Profile], creds: Credentials) -> None:
    """A simulator profile holding the API key of a stored OKX profile would send it to the simulator."""
    from okxbot.vault.errors import VaultError

    hint = creds.api_key.masked()
    same = [p.name for p in profiles if not p.is_sim and p.key_hint == hint]
    if same:
        raise VaultError(
            f"this key ends like the OKX key of profile {same[0]!r}: a simulator profile must hold a key "
            "the simulator gave you, never an OKX key (it would be sent to the simulator URL)",
            "use a key from the `okxbot sim serve` ready line, or drop --sim to store an OKX key",
        )


@app.command("list")
def list_(
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
    master: str | None = typer.Option(
        None,
        "--master",
        metavar="PROFILE",
        help="Instead: every API key of every sub-account of this master, as OKX lists them.",
    ),
) -> None:
    """Stored keys: masked key, environment, permissions and IP binding as of the last check, last use.

    With --master PROFILE: every sub-account key on OKX with its permission, IP binding, age, whether
    okxbot made it and which profile holds it; keys okxbot did not make, keys that can withdraw and keys
    without IP binding are flagged.
    """
    import json

    from okxbot.cli.target import cli_errors
    from okxbot.vault.profiles import ProfileStore

    if master is not None:
        _list_master(master, json_out)
        return
    with cli_errors():
        profiles = ProfileStore().all()
    if json_out:
        typer.echo(json.dumps([_public(p) for p in profiles], indent=2))
        return
    if not profiles:
        typer.echo("No keys stored yet. Add one with `okxbot keys add NAME`.")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="okxbot keys")
    for col in (
        "profile",
        "key",
        "env",
        "purpose",
        "permissions",
        "IP binding",
        "checked",
        "last used",
        "status",
    ):
        table.add_column(col, no_wrap=col in ("profile", "key", "env"))
    for p in profiles:
        check = p.last_check
        table.add_row(
            p.name,
            p.key_hint,
            _where(p),
            p.purpose,
            check.get("perm", "not checked"),
            (check.get("ip") or "none") if check else "not checked",
            check.get("checked_at", "-"),
            p.last_used or "never",
            "DISABLED" if p.disabled else "ok",
        )
    Console().print(table)


def _list_master(master: str, json_out: bool) -> None:
    import asyncio
    import json

    from okxbot.cli.master_account import master_target, working
    from okxbot.cli.master_keys import inventory, render
    from okxbot.cli.target import cli_errors
    from okxbot.okx.errors import OkxError

    with cli_errors():
        master_target(master, need="data")
        try:
            with working(f"reading every sub-account key of {master} ..."):
                result = asyncio.run(inventory(master))
        except OkxError as err:
            typer.echo(f"Error: {err.describe()}", err=True)
            raise typer.Exit(1) from None
    if json_out:
        typer.echo(json.dumps(result, indent=2))
    else:
        render(result)


def _where(p: Profile) -> str:
    if p.is_sim:
        return f"{p.environment} ({p.sim_url})"
    return p.environment if p.region == "www" else f"{p.environment} ({p.region})"


_STORED_IN = {"keyring": "OS keyring", "file": "encrypted vault file", "simfile": "simulator key file"}


def _public(p: Profile) -> dict[str, object]:
    data = p.to_json()
    data["environment"] = p.environment
    return data


@app.command()
def show(
    name: str = typer.Argument(..., help="Profile name."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """One key's details (the key is masked; the secret and passphrase are never shown)."""
    import json

    from okxbot.cli.target import cli_errors
    from okxbot.vault.profiles import ProfileStore

    with cli_errors():
        p = ProfileStore().get(name)
    if json_out:
        typer.echo(json.dumps(_public(p), indent=2))
        return
    check = p.last_check
    lines = [
        f"profile      {p.name}",
        f"API key      {p.key_hint}   (secret key and passphrase: stored, never shown)",
        f"environment  {p.environment}   "
        + (f"bound to {p.sim_url}" if p.is_sim else f"region {p.region} ({p.base_url})"),
        f"purpose      {p.purpose}",
        f"stored in    {_STORED_IN[p.backend]}",
        f"permissions  {check.get('perm', 'not checked yet: run okxbot doctor')}",
        f"IP binding   {(check.get('ip') or 'none') if check else 'not checked yet'}",
        f"created      {p.created}   last used {p.last_used or 'never'}",
        f"status       {'DISABLED: ' + p.disabled_reason if p.disabled else 'enabled'}",
    ]
    if p.provisioned:
        lines.append(
            f"bot key      sub-account {p.sub_acct} of master profile {p.master}; made by okxbot "
            f"{p.key_created or '?'} (label {p.key_label}); rotate with `okxbot keys rotate {p.name} --auto`"
        )
    if p.notes:
        lines.append(f"notes        {p.notes}")
    typer.echo("\n".join(lines))


@app.command()
def remove(
    name: str = typer.Argument(..., help="Profile name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a key from this machine (it stays valid on OKX until you delete it there)."""
    from okxbot.cli.target import cli_errors
    from okxbot.vault.store import Vault

    with cli_errors():
        vault = Vault()
        vault.profiles.get(name)
        if not yes:
            typer.confirm(
                f"Remove profile {name!r} and its secrets from this machine? " + _LOST, abort=True, err=True
            )
        vault.remove(name)
    typer.echo(
        f"Removed profile {name!r}. The key still works on OKX: delete it there if you no longer use it."
    )


@app.command()
def rotate(
    name: str | None = typer.Argument(None, help="Profile name (a bot's name for --auto)."),
    from_env: bool = typer.Option(
        False, "--from-env", help="Read OKX_API_KEY, OKX_SECRET_KEY, OKX_PASSPHRASE."
    ),
    auto: bool = typer.Option(
        False, "--auto", help="okxbot makes the new key itself (profiles made by `keys provision`)."
    ),
    all_: bool = typer.Option(False, "--all", help="With --auto: every profile made by `keys provision`."),
    older_than: float | None = typer.Option(
        None, "--older-than", metavar="DAYS", help="With --auto: only keys older than this (for timers)."
    ),
    wait: float = typer.Option(60.0, "--wait", help="Seconds to wait for running bots to take the new key."),
    ip: str | None = typer.Option(None, "--ip", help="With --auto: bind the new key to these addresses."),
    json_out: bool = typer.Option(False, "--json", help="With --auto: machine-readable report."),
) -> None:
    """Replace a profile's key. A bot running on the profile moves onto the new key between two requests
    (its journal and open orders carry over). Also re-enables a profile disabled by `okxbot panic`.

    Without --auto: you re-created the key on OKX; paste the three new values (old ones are overwritten).

    With --auto (profiles made by `okxbot keys provision`): the master key creates the new key (same
    permissions and IP binding), running bots move onto it, then the old key is deleted on OKX and in
    the vault, and a request with it must be refused. From cron or a systemd timer:
    `okxbot keys rotate --auto --all --older-than 7 --json` (exit status 1 if anything failed). Keys
    with Trade and no IP binding, which OKX deletes after 14 days unused, are warned about.
    """
    from okxbot.cli.target import cli_errors
    from okxbot.vault.errors import VaultError

    with cli_errors():
        if auto:
            if from_env:
                raise VaultError("--from-env and --auto exclude each other", "--auto makes the key itself")
            if (name is None) == (not all_):
                raise VaultError(
                    "name one profile, or pass --all", "e.g. `okxbot keys rotate grid-btc --auto`"
                )
            if older_than is not None and older_than < 0:
                raise VaultError("--older-than must be >= 0 days", "e.g. --older-than 7")
        else:
            if all_ or older_than is not None or ip is not None or json_out:
                raise VaultError("--all, --older-than, --ip and --json go with --auto", "add --auto")
            if name is None:
                raise VaultError("which profile?", "pass its name: `okxbot keys rotate NAME`")
        if wait < 0:
            raise VaultError("--wait must be >= 0 seconds", "e.g. --wait 60")
    if auto:
        _rotate_auto(name, all_, older_than, wait, ip, json_out)
        return
    assert name is not None
    _rotate_by_hand(name, from_env, wait)


def _rotate_auto(
    name: str | None, all_: bool, older_than: float | None, wait: float, ip: str | None, json_out: bool
) -> None:
    import asyncio
    import json

    from okxbot.cli.key_rotation import rotate_auto
    from okxbot.cli.master_account import bot_profile, parse_ips, working
    from okxbot.cli.target import cli_errors
    from okxbot.vault.profiles import ProfileStore

    with cli_errors():
        if ip is not None:
            parse_ips(ip)
        names = [name] if name else [p.name for p in ProfileStore().all() if p.provisioned]
        if name:
            bot_profile(name)
    reports = []
    for n in names:
        with working(f"rotating the key of {n}: new key, running bots moved onto it, old key deleted ..."):
            reports.append(asyncio.run(rotate_auto(n, wait=wait, older_than=older_than, ip=ip)))
    if json_out:
        typer.echo(json.dumps(reports, indent=2))
    else:
        if not reports:
            typer.echo("No profile made by `okxbot keys provision`: nothing to rotate.")
        for report in reports:
            typer.echo(
                f"{report['profile']}:" + (f" skipped, {report['skipped']}" if "skipped" in report else "")
            )
            for line in report["done"]:
                typer.echo(f"  done:      {line}")
            for line in report["warnings"]:
                typer.echo(f"  warning:   {line}")
            for line in report["notDone"]:
                typer.echo(f"  NOT DONE:  {line}")
    if any(r["notDone"] for r in reports):
        raise typer.Exit(1)


def _rotate_by_hand(name: str, from_env: bool, wait: float) -> None:
    import asyncio

    from okxbot.cli.key_rotation import notify_bots, wait_for_acks
    from okxbot.cli.target import cli_errors
    from okxbot.vault.store import Vault

    with cli_errors():
        vault = Vault()
        old = vault.profiles.get(name)
        creds = _read_credentials(from_env)
        for warning in _validate(creds):
            typer.echo(f"warning: {warning}", err=True)
        if old.is_sim:
            _refuse_okx_key_as_sim(vault.profiles.all(), creds)
        new = vault.rotate(name, creds)
    typer.echo(
        f"Rotated profile {name!r}: key {old.key_hint} -> {new.key_hint}; the old values are overwritten."
    )
    if old.disabled:
        typer.echo("The profile is enabled again.")
    bots = notify_bots(name)
    pending = asyncio.run(wait_for_acks(bots, new.generation, wait)) if bots else []
    for bot in bots:
        state = "did NOT confirm it yet (see its log)" if bot in pending else "moved onto the new key"
        typer.echo(f"Bot {bot.bot!r} (pid {bot.pid}) {state}.")
    if old.provisioned:
        typer.echo(f"Next time `okxbot keys rotate {name} --auto` makes and deletes the keys for you.")
    typer.echo(f"Make sure the old key is deleted on OKX, then run `okxbot doctor --profile {name}`.")
    if pending:
        raise typer.Exit(1)
