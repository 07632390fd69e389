"""`okxbot keys ...`: store, list, rotate and remove OKX API keys (the vault)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

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
"""

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode=None)

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
def list_(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Stored keys: masked key, environment, permissions and IP binding as of the last check, last use."""
    import json

    from okxbot.cli.target import cli_errors
    from okxbot.vault.profiles import ProfileStore

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
    name: str = typer.Argument(..., help="Profile name."),
    from_env: bool = typer.Option(
        False, "--from-env", help="Read OKX_API_KEY, OKX_SECRET_KEY, OKX_PASSPHRASE."
    ),
) -> None:
    """Replace a profile's three values after re-creating the key on OKX (old values are overwritten).

    Also re-enables a profile disabled by `okxbot panic`.
    """
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
        vault.rotate(name, creds)
        new = vault.profiles.get(name)
    typer.echo(
        f"Rotated profile {name!r}: key {old.key_hint} -> {new.key_hint}; the old values are overwritten."
    )
    if old.disabled:
        typer.echo("The profile is enabled again.")
    typer.echo(f"Make sure the old key is deleted on OKX, then run `okxbot doctor --profile {name}`.")
