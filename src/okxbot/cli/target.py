"""Which OKX (or simulator) a command talks to, and with which key: `resolve_target`.

Every command that talks to OKX takes `--profile NAME` and `--sim URL` and calls

    target = resolve_target(profile, sim, need="trade")   # or need="data"

Credentials come from the first of:
  1. `--profile NAME` (or OKXBOT_PROFILE): a profile in the vault (`okxbot keys add NAME`);
  2. OKX_API_KEY / OKX_SECRET_KEY / OKX_PASSPHRASE (all three), for containers; OKX_DEMO=1 marks a
     demo key and OKX_REGION=www|eea|us picks the host;
  3. the only profile in the vault, when exactly one exists;
  4. with `--sim URL` and nothing else: a fresh funded key from the simulator's admin API.
`--sim URL` replaces OKX's host in every case, so any command can be aimed at a simulator.

Refusals raise `TargetError` (a `VaultError`: `.problem` and `.fix`): a disabled profile (after
`okxbot panic`, until `okxbot keys rotate`), a `data` profile asked for trading, no credentials at
all. CLI commands wrap their body in `with cli_errors():` to turn it into a message and exit status 2.
The loaded secrets are registered for log scrubbing before this returns.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import typer

from okxbot.vault.env_backend import credentials_from_env
from okxbot.vault.errors import VaultError
from okxbot.vault.profiles import REGION_HOSTS, check_region
from okxbot.vault.secret import Credentials, Secret

Need = Literal["data", "trade"]

# The balances of a key the simulator hands out when nothing else was given.
SIM_BALANCES = {"USDT": "100000", "BTC": "2", "ETH": "20"}


class TargetError(VaultError):
    """The command cannot run with the chosen key; `fix` says what to do."""


@dataclass(frozen=True)
class Target:
    """Where and as whom a command acts.

    base_url: "https://www.okx.com" | "https://eea.okx.com" | "https://us.okx.com" | the --sim URL.
    demo: the key is a demo-trading key (requests carry `x-simulated-trading: 1`).
    purpose: "data" (read-only uses) or "trade".
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
    """The target for a command needing `need`; see the module docstring for the order.

    `allow_disabled` is for `okxbot panic` only, which must still reach a disabled key's account.
    """
    from okxbot.vault import redact
    from okxbot.vault.store import Vault

    sim_url = sim.rstrip("/") if sim else None
    if sim_url is not None and not sim_url.startswith(("http://", "https://")):
        raise TargetError(
            f"--sim {sim!r} is not a URL", "pass the simulator's REST URL, e.g. http://127.0.0.1:8080"
        )
    profile = profile or os.environ.get("OKXBOT_PROFILE") or None
    env_creds = None if profile else credentials_from_env()

    if profile is None and env_creds is not None:
        redact.register(env_creds.values())
        region = check_region(os.environ.get("OKX_REGION", "www").strip() or "www")
        return Target(
            credentials=env_creds,
            profile=None,
            demo=os.environ.get("OKX_DEMO", "").strip().lower() in ("1", "true", "yes"),
            base_url=sim_url or REGION_HOSTS[region],
            purpose="trade",
            sim=sim_url is not None,
        )

    vault = Vault()
    if profile is None:
        profiles = vault.profiles.all()
        if sim_url is not None and not profiles:
            return _sim_key(sim_url)
        if len(profiles) == 1:
            profile = profiles[0].name
        else:
            names = ", ".join(p.name for p in profiles)
            raise TargetError(
                "no API key chosen" + (f" (profiles: {names})" if names else ""),
                "pass --profile NAME, add a key with `okxbot keys add NAME`, set OKX_API_KEY, OKX_SECRET_KEY "
                "and OKX_PASSPHRASE, or use --sim URL to work against a simulator",
            )

    stored = vault.profiles.get(profile)
    if stored.disabled and not allow_disabled:
        raise TargetError(
            f"profile {profile!r} is disabled: {stored.disabled_reason or 'disabled by okxbot panic'}",
            f"delete the key on OKX, create a new one, then run `okxbot keys rotate {profile}`",
        )
    if need == "trade" and stored.purpose == "data":
        raise TargetError(
            f"profile {profile!r} is a data profile (read-only uses) and cannot trade",
            "use a trade profile (`okxbot keys add NAME --purpose trade`) with a key that has only the "
            "Read and Trade permissions",
        )
    credentials = vault.credentials(profile)
    if not stored.disabled:
        vault.mark_used(profile)
    return Target(
        credentials=credentials,
        profile=profile,
        demo=stored.demo,
        base_url=sim_url or stored.base_url,
        purpose=stored.purpose,
        sim=sim_url is not None,
    )


def _sim_key(sim_url: str) -> Target:
    from okxbot.vault import redact

    body = json.dumps(
        {"perm": "read_only,trade", "ip": "127.0.0.1", "label": "okxbot", "balances": SIM_BALANCES}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - the URL was checked to be http(s)
        f"{sim_url}/__sim__/keys", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            key = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise TargetError(
            f"could not get a key from the simulator at {sim_url} ({reason})",
            "start one with `okxbot sim serve` and pass the URL it prints (its admin API answers loopback only)",
        ) from None
    credentials = Credentials(Secret(key["apiKey"]), Secret(key["secretKey"]), Secret(key["passphrase"]))
    redact.register(credentials.values())
    print(
        f"Using a fresh funded simulator key {credentials.api_key.masked()} (uid {key.get('uid')}) from {sim_url}.",
        file=sys.stderr,
    )
    return Target(
        credentials=credentials,
        profile=None,
        demo=bool(key.get("demo", False)),
        base_url=sim_url,
        purpose="trade",
        sim=True,
    )


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Turn a VaultError (TargetError included) into its message on stderr and exit status 2."""
    try:
        yield
    except VaultError as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(2) from None
