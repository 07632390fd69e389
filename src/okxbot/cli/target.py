"""Which host a command talks to, and with which key: `resolve_target`.

Every command that talks to an exchange takes `--profile NAME` and `--sim URL` and calls

    target = resolve_target(profile, sim, need="trade")   # or need="data"

The rule: a key is sent only to the host it belongs to. An OKX key (live or demo) goes only to OKX's
host for its region; a simulator key only to the simulator URL it is bound to. Nothing else decides
the host, so a mistyped or hostile `--sim` URL can never receive an OKX key, its passphrase, or a
request signed with it (which could be replayed on OKX within 30 s).

Without `--sim`, the key comes from the first of:
  1. `--profile NAME` (or OKXBOT_PROFILE): a vault profile; the host is the profile's own (OKX's host
     for its region, or the simulator URL a `keys add NAME --sim URL` profile is bound to);
  2. OKX_API_KEY / OKX_SECRET_KEY / OKX_PASSPHRASE (all three), for containers; OKX_DEMO=1 marks a
     demo key and OKX_REGION=www|eea|us picks OKX's host;
  3. the only profile in the vault (not counting the simulator keys okxbot keeps for itself).
With `--sim URL`:
  1. `--profile NAME` must be a simulator profile bound to that URL;
  2. no profile named: the simulator account okxbot keeps for that URL (`sim_account`: a fresh funded
     key on first use, kept encrypted, replaced if the simulator no longer knows it).
  An OKX profile, or OKX_* set with no profile named, is refused: nothing is sent.

Refusals raise `TargetError` (a `VaultError`: `.problem` and `.fix`): the refusals above, a disabled
profile (after `okxbot panic`, until `okxbot keys rotate`), a `data` profile asked for trading, no
credentials at all. CLI commands wrap their body in `with cli_errors():` to turn it into a message
and exit status 2. The loaded secrets are registered for log scrubbing before this returns.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import typer

from okxbot.vault.env_backend import ENV_NAMES, credentials_from_env
from okxbot.vault.errors import VaultError
from okxbot.vault.profiles import REGION_HOSTS, check_region, check_sim_url
from okxbot.vault.secret import Credentials

if TYPE_CHECKING:
    from okxbot.vault.profiles import Profile
    from okxbot.vault.store import Vault

Need = Literal["data", "trade"]

NOTHING_SENT = "nothing was sent"


class TargetError(VaultError):
    """The command cannot run with the chosen key; `fix` says what to do."""


@dataclass(frozen=True)
class Target:
    """Where and as whom a command acts.

    base_url: "https://www.okx.com" | "https://eea.okx.com" | "https://us.okx.com" for an OKX key,
        the simulator URL the key is bound to for a simulator key; never anything else.
    demo: the key is a demo-trading key (requests carry `x-simulated-trading: 1`).
    purpose: "data" (read-only uses) or "trade".
    sim: the key is a simulator key (base_url is a simulator).
    """

    credentials: Credentials
    profile: str | None
    demo: bool
    base_url: str
    purpose: Literal["data", "trade"]
    sim: bool


def resolve_target(
    profile: str | None, sim: str | None, *, need: Need, allow_disabled: bool = False
) -> Target:
    """The target for a command needing `need`; see the module docstring for the rules.

    `allow_disabled` is for `okxbot panic` only, which must still reach a disabled key's account.
    """
    from okxbot.vault import redact

    try:
        sim_url = check_sim_url(sim) if sim is not None else None
    except VaultError as err:
        raise TargetError(err.problem, err.fix) from None
    from_env_var = not profile and bool(os.environ.get("OKXBOT_PROFILE"))
    profile = profile or os.environ.get("OKXBOT_PROFILE") or None

    if profile is None:
        env_creds = credentials_from_env()
        if env_creds is not None and sim_url is not None:
            raise _env_with_sim(sim_url)
        if env_creds is not None:
            redact.register(env_creds.values())
            region = check_region(os.environ.get("OKX_REGION", "www").strip() or "www")
            return Target(
                credentials=env_creds,
                profile=None,
                demo=os.environ.get("OKX_DEMO", "").strip().lower() in ("1", "true", "yes"),
                base_url=REGION_HOSTS[region],
                purpose="trade",
                sim=False,
            )

    from okxbot.vault.store import Vault

    vault = Vault()
    if profile is None and sim_url is not None:
        from okxbot.cli.sim_account import sim_account

        kept, creds = sim_account(vault, sim_url)
        vault.mark_used(kept.name)
        return _target(kept, creds)
    if profile is None:
        profile = _only_profile(vault)

    stored = vault.profiles.get(profile)
    if sim_url is not None:
        _check_bound(stored, sim_url, from_env_var)
    _check_usable(stored, need, allow_disabled)
    credentials = vault.credentials(profile)
    if not stored.disabled:
        vault.mark_used(profile)
    return _target(stored, credentials)


def _target(stored: Profile, credentials: Credentials) -> Target:
    return Target(
        credentials=credentials,
        profile=stored.name,
        demo=stored.demo,
        base_url=stored.base_url,  # the profile's own host: the only place its key may go
        purpose=stored.purpose,
        sim=stored.is_sim,
    )


def _only_profile(vault: Vault) -> str:
    mine = [p for p in vault.profiles.all() if not p.auto]
    if len(mine) == 1:
        return mine[0].name
    names = ", ".join(p.name for p in mine)
    raise TargetError(
        "no API key chosen" + (f" (profiles: {names})" if names else ""),
        "pass --profile NAME, add a key with `okxbot keys add NAME`, set OKX_API_KEY, OKX_SECRET_KEY "
        "and OKX_PASSPHRASE, or use --sim URL to work against a simulator",
    )


def _env_with_sim(sim_url: str) -> TargetError:
    return TargetError(
        f"refused: {', '.join(ENV_NAMES)} are set and --sim {sim_url} was given. Those variables hold an "
        f"OKX key, and an OKX key is only ever sent to OKX: a mistyped or hostile --sim URL would "
        f"receive it, its passphrase and requests signed with it; {NOTHING_SENT}",
        "to use the simulator, unset them for this command (`env -u OKX_API_KEY -u OKX_SECRET_KEY -u "
        "OKX_PASSPHRASE okxbot ...`): okxbot then uses a funded simulator account of its own for that "
        "URL; or store a simulator key with `okxbot keys add NAME --sim URL` and pass --profile NAME. "
        "To use the key on OKX, drop --sim",
    )


def _check_bound(stored: Profile, sim_url: str, from_env_var: bool) -> None:
    """A profile named together with --sim must be a simulator key bound to that very URL."""
    named = f"profile {stored.name!r}" + (" (from OKXBOT_PROFILE)" if from_env_var else "")
    if not stored.is_sim:
        raise TargetError(
            f"refused: {named} holds an OKX key ({stored.environment}, {stored.base_url}) and --sim "
            f"{sim_url} was given. An OKX key is only ever sent to OKX's host for its region: a mistyped "
            f"or hostile --sim URL would receive it, its passphrase and requests signed with it; "
            f"{NOTHING_SENT}",
            f"drop --sim to use {stored.name!r} on OKX; to use the simulator, drop --profile (okxbot keeps a "
            "funded simulator account per URL) or store a simulator key with `okxbot keys add NAME --sim "
            f"{sim_url}`",
        )
    if stored.sim_url != sim_url:
        raise TargetError(
            f"refused: {named} is a simulator key bound to {stored.sim_url}, not to {sim_url}; "
            f"{NOTHING_SENT}",
            f"drop --sim (the profile knows its simulator), or store a key of {sim_url} with "
            f"`okxbot keys add NAME --sim {sim_url}`",
        )


def _check_usable(stored: Profile, need: Need, allow_disabled: bool) -> None:
    if stored.disabled and not allow_disabled:
        raise TargetError(
            f"profile {stored.name!r} is disabled: {stored.disabled_reason or 'disabled by okxbot panic'}",
            f"delete the key on OKX, create a new one, then run `okxbot keys rotate {stored.name}`",
        )
    if need == "trade" and stored.purpose == "data":
        raise TargetError(
            f"profile {stored.name!r} is a data profile (read-only uses) and cannot trade",
            "use a trade profile (`okxbot keys add NAME --purpose trade`) with a key that has only the "
            "Read and Trade permissions",
        )


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Turn a VaultError (TargetError included) into its message on stderr and exit status 2."""
    try:
        yield
    except VaultError as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(2) from None
