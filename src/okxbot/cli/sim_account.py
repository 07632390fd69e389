"""The simulator account okxbot keeps for `--sim URL` when no profile is named.

The first command aimed at a simulator URL asks that simulator's admin API for a fresh funded key and
stores it like any other key, as an `auto` profile bound to that URL (`sim-HOST-PORT`, listed by
`okxbot keys list`); the next commands with the same URL use the same account, so an order placed by
`okxbot buy --sim URL` is there for `okxbot orders --sim URL`. Before reusing the key, one signed read
checks that the simulator still knows it: a restarted simulator has forgotten every key, and then a
fresh key replaces the stale one, with a line on stderr saying so. Where the key is stored is the
vault's choice (`Vault.choose_backend`): the OS keyring, else `sim-vault.bin`, never behind a
master-password prompt. One lock makes concurrent first commands share one account.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from okxbot.cli.target import TargetError

if TYPE_CHECKING:
    from okxbot.vault.profiles import Profile
    from okxbot.vault.secret import Credentials
    from okxbot.vault.store import Vault

# The balances of a key the simulator hands out when nothing else was given.
SIM_BALANCES = {"USDT": "100000", "BTC": "2", "ETH": "20"}
# A cheap signed read with a generous rate limit (60 / 2 s): it only has to reach the key check.
_PROBE_PATH = "/api/v5/trade/orders-pending?instType=SPOT&limit=1"
_UNKNOWN_KEY = "50111"  # OKX: "Invalid OK-ACCESS-KEY"
_TIMEOUT_S = 10


def sim_account(vault: Vault, sim_url: str) -> tuple[Profile, Credentials]:
    """The auto profile for `sim_url` and its key: the kept one if the simulator knows it, else fresh."""
    from okxbot.vault.atomic import exclusive

    with exclusive(vault.home / ".sim-account.lock", "simulator keys"):
        kept = next((p for p in vault.profiles.all() if p.auto and p.sim_url == sim_url), None)
        reason = ""
        if kept is not None and kept.disabled:
            reason = f"the key okxbot kept for it was disabled ({kept.disabled_reason or 'okxbot panic'})"
        elif kept is not None:
            creds = vault.credentials(kept.name)
            if _known(sim_url, creds, demo=kept.demo):
                return kept, creds
            reason = "the simulator there no longer knows the key okxbot kept for it (was it restarted?)"
        key = _fresh_key(sim_url)
        return _keep(vault, sim_url, kept, key, reason)


def _keep(
    vault: Vault, sim_url: str, kept: Profile | None, key: dict[str, Any], reason: str
) -> tuple[Profile, Credentials]:
    from okxbot.vault.profiles import Profile
    from okxbot.vault.secret import Credentials, Secret

    creds = Credentials(Secret(key["apiKey"]), Secret(key["secretKey"]), Secret(key["passphrase"]))
    demo = bool(key.get("demo", False))
    hint = creds.api_key.masked()
    if kept is not None:
        vault.rotate(kept.name, creds)

        def set_demo(p: Profile) -> None:
            p.demo = demo

        profile = vault.profiles.update(kept.name, set_demo)
        print(
            f"{sim_url}: {reason}; using a fresh funded simulator key {hint} (uid {key.get('uid')}) "
            f"instead, kept as profile {kept.name!r}.",
            file=sys.stderr,
        )
        return profile, creds
    profile = Profile(
        name=_free_name(vault, sim_url),
        demo=demo,
        purpose="trade",
        notes=f"kept by okxbot for --sim {sim_url}",
        sim_url=sim_url,
        auto=True,
    )
    where = vault.add(profile, creds)
    print(
        f"Using a fresh funded simulator key {hint} (uid {key.get('uid')}) from {sim_url}, kept as "
        f"profile {profile.name!r}: the next commands with --sim {sim_url} use the same account. {where}",
        file=sys.stderr,
    )
    return profile, creds


def _free_name(vault: Vault, sim_url: str) -> str:
    """`sim-HOST-PORT` (profile-name characters only), made unique with a hash of the URL if taken."""
    from urllib.parse import urlsplit

    parts = urlsplit(sim_url)
    base = "sim-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", parts.netloc).strip("-.")
    base = base[:40]
    if vault.profiles.find(base) is None:
        return base
    return f"{base[:31]}-{hashlib.sha256(sim_url.encode()).hexdigest()[:8]}"


def _fresh_key(sim_url: str) -> dict[str, Any]:
    body = json.dumps(
        {"perm": "read_only,trade", "ip": "127.0.0.1", "label": "okxbot", "balances": SIM_BALANCES}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - check_sim_url allowed http(s) only
        f"{sim_url}/__sim__/keys", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:  # noqa: S310
            key = json.loads(response.read())
        if not all(isinstance(key.get(k), str) and key[k] for k in ("apiKey", "secretKey", "passphrase")):
            raise ValueError("the answer holds no key")
    except (urllib.error.URLError, OSError, ValueError, AttributeError) as err:
        reason = getattr(err, "reason", err)
        raise TargetError(
            f"could not get a key from the simulator at {sim_url} ({reason})",
            "start one with `okxbot sim serve` and pass the URL it prints (its admin API answers loopback "
            "only); or store a key of that simulator with `okxbot keys add NAME --sim URL`",
        ) from None
    return dict(key)


def _known(sim_url: str, creds: Credentials, *, demo: bool) -> bool:
    """False when the simulator answers that it does not know this key (50111); True otherwise."""
    from okxbot.sim.auth import prehash, sign

    api_key, secret_key, passphrase = creds.values()
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    headers = {
        "OK-ACCESS-KEY": api_key,
        "OK-ACCESS-PASSPHRASE": passphrase,
        "OK-ACCESS-TIMESTAMP": stamp,
        "OK-ACCESS-SIGN": sign(secret_key, prehash(stamp, "GET", _PROBE_PATH)),
    }
    if demo:
        headers["x-simulated-trading"] = "1"
    request = urllib.request.Request(f"{sim_url}{_PROBE_PATH}", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as err:
        body = err.read()
    except (urllib.error.URLError, OSError) as err:
        raise TargetError(
            f"could not reach the simulator at {sim_url} ({getattr(err, 'reason', err)})",
            "check that it is running (`okxbot sim serve` prints its URL)",
        ) from None
    try:
        code = str(json.loads(body).get("code", ""))
    except (ValueError, AttributeError):
        return True  # not an OKX answer: let the command itself report what the host says
    return code != _UNKNOWN_KEY
